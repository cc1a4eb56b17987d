use factory_observability::handler;

#[handler]
const fn health() -> &'static str {
    "ok"
}

fn main() {}
