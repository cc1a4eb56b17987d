//! Expansion snapshots: what each macro generates for one typical input, pretty-printed, so that
//! reviewers see the generated code and a change to it shows in the diff.
//!
//! Each case expands a fixed input through the same functions as the compiler calls and compares
//! the result with `macros/tests/expand/<case>.expanded.rs` (the input, then its expansion). To
//! accept a changed expansion, regenerate and review the diff:
//!
//! ```sh
//! SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots
//! ```
//!
//! (This stands in for `macrotest`, which needs `cargo expand` and a nightly toolchain.)

use crate::attr::Macro;
use proc_macro2::TokenStream;
use quote::quote;
use std::path::PathBuf;

/// Which macro a case expands.
enum Entry {
    Fn(Macro, &'static str),
    Pipeline,
}

fn check(case: &str, entry: Entry, args: TokenStream, item: TokenStream) {
    let (attribute, output) = match entry {
        Entry::Fn(which, name) => (name, crate::expand_fn(which, args.clone(), item.clone())),
        Entry::Pipeline => (
            "pipeline",
            crate::impl_block::expand(args.clone(), item.clone()),
        ),
    };
    let attribute: syn::Ident = syn::Ident::new(attribute, proc_macro2::Span::call_site());
    let input = if args.is_empty() {
        quote!(#[#attribute] #item)
    } else {
        quote!(#[#attribute(#args)] #item)
    };
    let pretty = |tokens: TokenStream| match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(error) => panic!("{case}: not valid Rust ({error}): {tokens}"),
    };
    let text = format!(
        "// Expansion snapshot (macros/src/snapshots.rs); regenerate with\n\
         // `SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots`.\n\
         //\n\
         // Input:\n\
         //\n\
         {}\n\
         // Expansion:\n\n\
         {}",
        pretty(input)
            .lines()
            .map(|line| format!("// {line}").trim_end().to_owned())
            .collect::<Vec<_>>()
            .join("\n"),
        pretty(output)
    );
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expand")
        .join(format!("{case}.expanded.rs"));
    let overwrite = std::env::var("SNAPSHOTS").is_ok_and(|v| v == "overwrite");
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    if overwrite {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create tests/expand");
        }
        std::fs::write(&path, &text).expect("write the snapshot");
        return;
    }
    if stored != text {
        let line = stored
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| stored.lines().count().min(text.lines().count()));
        panic!(
            "the expansion of {case} differs from {} from line {}:\n  stored:    {:?}\n  generated: {:?}\n\
             review it and regenerate with SNAPSHOTS=overwrite cargo test -p factory-observability-macros snapshots",
            path.display(),
            line + 1,
            stored.lines().nth(line).unwrap_or("<end>"),
            text.lines().nth(line).unwrap_or("<end>"),
        );
    }
}

#[test]
fn pipeline_run() {
    check(
        "pipeline_run",
        Entry::Fn(Macro::PipelineRun, "pipeline_run"),
        quote!(
            name = "new_product",
            run_id = spec.id.as_str(),
            fields(app.spec = spec.title.as_str())
        ),
        quote! {
            async fn run(factory: &Factory, spec: &Spec) -> Result<Code, FactoryError> {
                let plan = factory.plan(spec)?;
                factory.implement(&plan).await
            }
        },
    );
}

#[test]
fn pipeline_stage() {
    check(
        "pipeline_stage",
        Entry::Fn(Macro::PipelineStage, "pipeline_stage"),
        quote!(name = "typecheck", fields(file_count = files.len())),
        quote! {
            fn typecheck(files: &[String]) -> Result<(), CheckError> {
                if files.is_empty() {
                    return Err(CheckError::NothingToCheck);
                }
                Ok(())
            }
        },
    );
}

#[test]
fn pipeline() {
    check(
        "pipeline",
        Entry::Pipeline,
        TokenStream::new(),
        quote! {
            impl Factory {
                #[skip_stage]
                fn new() -> Self {
                    Factory
                }

                fn plan(&self, spec: &Spec) -> Result<Plan, FactoryError> {
                    Ok(Plan::from(spec))
                }

                async fn implement(&self, plan: &Plan) -> Result<Code, FactoryError> {
                    self.llm.implement(plan).await
                }
            }
        },
    );
}

#[test]
fn llm_call() {
    check(
        "llm_call",
        Entry::Fn(Macro::LlmCall, "llm_call"),
        quote!(
            provider = "openai",
            model = self.model.as_str(),
            prompt = prompt
        ),
        quote! {
            async fn complete(&self, prompt: &str) -> Result<ChatResponse, ApiError> {
                self.client.chat(&self.model, prompt).await
            }
        },
    );
}

#[test]
fn llm_call_stream() {
    check(
        "llm_call_stream",
        Entry::Fn(Macro::LlmCall, "llm_call"),
        quote!(provider = "anthropic", model = "claude-opus-4.6", stream),
        quote! {
            fn stream_code(prompt: &str) -> Result<impl Stream<Item = Chunk>, ApiError> {
                connect(prompt)
            }
        },
    );
}

#[test]
fn adjudicate() {
    check(
        "adjudicate",
        Entry::Fn(Macro::Adjudicate, "adjudicate"),
        quote!(name = "pick_patch"),
        quote! {
            fn pick(codex: f64, claude: f64) -> Verdict<Patch> {
                Verdict::new(Patch::Codex, "codex", vec![
                    CandidateScore::new("codex", codex),
                    CandidateScore::new("claude", claude),
                ])
            }
        },
    );
}

#[test]
fn handler() {
    check(
        "handler",
        Entry::Fn(Macro::Handler, "handler"),
        quote!(
            name = "create_task",
            fields(task.title_length = body.title.len())
        ),
        quote! {
            async fn create_task(
                State(store): State<Store>,
                Json(body): Json<NewTask>,
            ) -> Result<(StatusCode, Json<Task>), ApiError> {
                let task = store.insert(body.title)?;
                Ok((StatusCode::CREATED, Json(task)))
            }
        },
    );
}
