//! Every shape `#[agent]` and `#[tool]` accept compiles: sync and async fns, methods whose ids
//! and models are evaluated at call time, remote agents, a `Box::pin(async move { .. })` body,
//! tools with `capture_content` whose result is a `Result` of a serialisable value, a
//! serialisable value, or a value that cannot be recorded (nothing is), and `fields`.
use factory_observability::{agent, tool};
use serde::Serialize;

#[derive(Serialize)]
struct Patch {
    path: String,
    lines: Vec<String>,
}

struct Opaque;

/// Reads a file.
#[tool]
fn read_file(path: &str) -> std::io::Result<String> {
    Ok(path.to_owned())
}

/// Applies a patch.
#[tool(name = "apply_patch", kind = "function", call_id = call_id, capture_content)]
fn apply_patch(call_id: &str, patch: &Patch, dry_run: bool) -> Result<Vec<String>, String> {
    let _ = (call_id, dry_run);
    Ok(patch.lines.clone())
}

/// Searches the index.
#[tool(kind = "datastore", capture_content, fields(app.index = "main"))]
async fn search(query: String) -> Vec<String> {
    vec![query]
}

/// Returns a handle that cannot be recorded: nothing of it is.
#[tool(kind = "extension", capture_content)]
fn open_session(user: u32) -> Opaque {
    let _ = user;
    Opaque
}

struct Coder {
    id: u64,
    model: String,
}

impl Coder {
    /// Writes the code.
    #[agent(name = "coder", id = self.id, version = "2.1", provider = "anthropic",
            model = self.model.as_str(), conversation_id = conversation)]
    async fn run(&self, conversation: &str) -> Result<usize, std::io::Error> {
        let text = read_file("src/main.rs")?;
        let found = search(text).await;
        Ok(found.len())
    }

    #[agent(name = "reviewer", remote)]
    fn review(&self) -> bool {
        let _ = open_session(7);
        apply_patch(
            "call_1",
            &Patch {
                path: "a.rs".into(),
                lines: vec![],
            },
            true,
        )
        .is_ok()
    }

    #[agent]
    fn boxed(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send + '_>> {
        Box::pin(async move { self.id })
    }
}

fn main() {
    let coder = Coder {
        id: 7,
        model: "claude-opus-4-5".into(),
    };
    assert!(coder.review());
    assert_eq!(futures::executor::block_on(coder.run("conv-1")).unwrap(), 1);
    assert_eq!(futures::executor::block_on(coder.boxed()), 7);
}
