use factory_observability::tool;

#[tool(name = "read_file", remote)]
fn read_file(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

fn main() {}
