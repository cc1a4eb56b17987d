//! The compile-time contract: every `ui/*.rs` fails to compile with exactly its `.stderr`,
//! and every `ui/pass/*.rs` compiles. The `.stderr` files were written for the rustc named
//! in docs/macros.md ("Compile-time checks"); regenerate with `TRYBUILD=overwrite` only after reading
//! every changed line.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/pass/*.rs");
    cases.compile_fail("ui/*.rs");
}
