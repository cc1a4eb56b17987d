use factory_observability::tool;

/// Runs the test suite.
#[tool(name = "run_tests", kind = "functoin")]
fn run_tests() -> bool {
    true
}

/// Searches the index.
#[tool(kind = "retriever")]
fn search(query: &str) -> Vec<String> {
    vec![query.to_owned()]
}

#[tool(kind = function)]
fn edit() {}

fn main() {}
