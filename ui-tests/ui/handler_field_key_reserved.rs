use factory_observability::handler;

// The request's span, which a handler under HTTP enriches, records these itself.
#[handler(fields(http.route = "/tasks", handler.name = "x", app.ok = 1))]
fn get_task() {}

fn main() {}
