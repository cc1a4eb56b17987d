use factory_observability::tool;

struct Workspace {
    root: std::path::PathBuf,
}

/// Edits a file of the workspace.
#[tool(name = "edit_file", capture_content)]
fn edit_file(workspace: &Workspace, path: &str, patch: String) -> Result<usize, std::io::Error> {
    let _ = (&workspace.root, path);
    Ok(patch.len())
}

fn main() {}
