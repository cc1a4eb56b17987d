use factory_observability::agent;

/// Writes the code of a task.
#[agent(name = "coder", modle = "claude-opus-4-5")]
async fn coder(task: &str) -> Result<String, std::io::Error> {
    Ok(task.to_owned())
}

fn main() {}
