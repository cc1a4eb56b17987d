//! No input makes a macro panic: every combination of odd arguments and odd items comes back as
//! tokens, with a `compile_error!` whenever something is wrong, and otherwise as valid Rust.

use crate::attr::Macro;
use proc_macro2::TokenStream;
use std::str::FromStr;

const ARGS: &[&str] = &[
    "",
    ",",
    ",,",
    "name = \"typecheck\"",
    "name = \"\"",
    "name = 'c'",
    "name = async",
    "name = \"x\" \"y\"",
    "name =",
    "name: \"x\"",
    "nmae",
    "= 3",
    "\"typecheck\"",
    "123",
    "'a",
    "::",
    "#",
    "#[x]",
    "r#type = 1",
    "fields",
    "fields()",
    "fields = 3",
    "fields(=)",
    "fields(a)",
    "fields(a =)",
    "fields(,,,)",
    "fields(\"\" = 1)",
    "fields(\"a\" \"b\" = 1)",
    "fields(1 = 2)",
    "fields(a. = 1)",
    "fields(.a = 1)",
    "fields(a..b = 1)",
    "fields(A-B-C = 1, a.b.c = 2, a.b.c = 3)",
    "fields(r#type = 1, stage.name = 2, größe = 3)",
    "fields(a = |x| x, b = if c { 1 } else { 2 }, c = undefined)",
    "fields(a = 1) extra",
    "fields(a = 1), fields(b = 2)",
    "run_id",
    "run_id = ||",
    "provider = 3, model",
    "provider = \"openai\", model = \"m\"",
    "provider = \"openai\", model = \"m\", prompt = p, stream",
    "provider = \"openai\", model = \"m\", prompt = \"p\", stream = true",
    "provider = \"openai\", model = \"m\", usage = |r: &R| r.u, stream",
    "provider = \"openai\", model = \"m\", usage = , operation = 3",
    "operation = \"chat\", operation",
    "stream(x)",
    "id = , version = 2, remote = true, conversation_id",
    "name = \"coder\", id = self.id, version = \"1\", provider = p, model = \"m\", conversation_id = c, remote",
    "kind = \"fn\", call_id = , capture_content = 3",
    "kind = kind, kind = \"function\"",
    "name = \"edit\", kind = \"datastore\", call_id = c.id, capture_content",
];

const ITEMS: &[&str] = &[
    "",
    "fn",
    "fn f",
    "fn f()",
    "fn f();",
    "fn f() {}",
    "fn f() -> u32 { 1 }",
    "async",
    "async fn f() {}",
    "const fn f() {}",
    "pub(crate) unsafe extern \"C\" fn f(x: i32, ...) {}",
    "fn f() -> ! { loop {} }",
    "fn f(self) {}",
    "fn f(&mut self, p: &str) -> Result<(), E> { Ok(()) }",
    "fn f(a: u32, (b, c): (u8, u8), S { d, .. }: S, [e, f @ ..]: [u8; 3]) {}",
    "#[a] #[b] pub(crate) fn f<T: Copy, const N: usize>() where T: Clone {}",
    "fn f() -> impl Stream<Item = U> { s }",
    "async fn f() -> Result<impl Stream<Item = U>, E> { s }",
    "fn f() -> Pin<Box<dyn Future<Output = ()>>> { Box::pin(async move {}) }",
    "fn f() -> impl Future<Output = ()> { async move {} }",
    "fn f() { Box::pin }",
    "struct S;",
    "pub struct S { a: u32 }",
    "enum E { A }",
    "const C: u32 = 1;",
    "static S: u32 = 1;",
    "mod m;",
    "mod m { fn f() {} }",
    "type T = u32;",
    "trait T { fn f(); fn g(&self) {} }",
    "use a::b;",
    "extern \"C\" { fn f(); }",
    "extern crate alloc;",
    "macro_rules! m { () => {} }",
    "impl S {}",
    "impl<T> S<T> { fn a(&self) {} async fn b(&self) -> u32 { 1 } }",
    "impl S { #[skip_stage] #[skip_stage(x)] fn b() {} const fn c() {} #[pipeline_stage] #[skip_stage] fn d() {} }",
    "impl T for S { fn f() -> ! { loop {} } type X = u32; const C: u32 = 1; }",
    "|| 1",
    "move |x| x",
    "async move {}",
    "{ }",
    "#",
    "pub",
    "pub(crate)",
    "1 + 2",
];

fn tokens(text: &str) -> TokenStream {
    TokenStream::from_str(text).unwrap_or_else(|error| panic!("bad test input {text:?}: {error}"))
}

fn has_error(output: &TokenStream) -> bool {
    output.to_string().contains("compile_error")
}

#[test]
fn no_input_makes_a_macro_panic() {
    let macros = [
        Macro::PipelineRun,
        Macro::PipelineStage,
        Macro::LlmCall,
        Macro::Adjudicate,
        Macro::Handler,
        Macro::Agent,
        Macro::Tool,
    ];
    let mut accepted = 0;
    for args in ARGS {
        for item in ITEMS {
            for which in macros {
                let output = crate::expand_fn(which, tokens(args), tokens(item));
                if !has_error(&output) {
                    accepted += 1;
                    assert!(
                        syn::parse2::<syn::File>(output.clone()).is_ok(),
                        "{which:?}({args}) on `{item}` expands to invalid Rust: {output}"
                    );
                }
            }
            let output = crate::impl_block::expand(tokens(args), tokens(item));
            if !has_error(&output) {
                assert!(args.is_empty(), "#[pipeline({args})] on `{item}` accepted");
                assert!(syn::parse2::<syn::File>(output).is_ok());
            }
            assert!(has_error(&crate::impl_block::misplaced_skip(tokens(item))));
        }
    }
    assert!(accepted > 0, "some valid combinations expand");
}

#[test]
fn every_misuse_is_an_error() {
    for item in [
        "",
        "fn",
        "async",
        "struct S;",
        "fn f();",
        "fn f() -> ! { loop {} }",
        "|| 1",
    ] {
        let output = crate::expand_fn(Macro::PipelineStage, TokenStream::new(), tokens(item));
        assert!(has_error(&output), "`{item}` accepted: {output}");
    }
    for args in ["nmae", "fields(A = 1)", "name = 3", ","] {
        let output = crate::expand_fn(Macro::PipelineStage, tokens(args), tokens("fn f() {}"));
        assert!(has_error(&output), "`{args}` accepted: {output}");
    }
    let output = crate::expand_fn(Macro::LlmCall, TokenStream::new(), tokens("fn f() {}"));
    assert!(has_error(&output), "#[llm_call] without a model accepted");
}

#[test]
fn errors_are_combined_and_keep_the_item() {
    let output = crate::expand_fn(
        Macro::PipelineStage,
        tokens("nmae = 1, fields(Bad = 1, a = missing), name = 2"),
        tokens("const fn typecheck(files: u32) {}"),
    )
    .to_string();
    assert_eq!(output.matches("compile_error").count(), 5, "{output}");
    assert!(output.contains("fn typecheck"), "{output}");
}
