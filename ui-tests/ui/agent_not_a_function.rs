use factory_observability::{agent, tool};

#[agent(name = "coder")]
struct Coder {
    model: String,
}

#[tool]
const READ_FILE: &str = "read_file";

fn main() {
    let _ = Coder { model: String::new() }.model;
    let _ = READ_FILE;
}
