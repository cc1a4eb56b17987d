use factory_observability::handler;

#[handler(nmae = "list_tasks")]
async fn list_tasks() -> String {
    String::new()
}

fn main() {}
