//! Attribute macros of `factory-observability`. Depend on the `factory-observability` crate, which
//! re-exports them with their documentation; this crate only holds the entry points.
//!
//! Arguments are parsed in `attr.rs`, code is generated in `expand.rs`, and `#[pipeline]` on an
//! `impl` block is in `impl_block.rs`. Every entry point works on `proc_macro2` streams so that
//! the unit tests (`robustness.rs`) and the expansion snapshots (`snapshots.rs`) can call it. None
//! of them panics: every mistake becomes a `compile_error!` at the offending tokens, next to the
//! unchanged item.

mod attr;
mod expand;
mod impl_block;
#[cfg(test)]
mod robustness;
#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// Root span `pipeline.run` of one pipeline run; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn pipeline_run(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::PipelineRun, args.into(), item.into()).into()
}

/// Span `pipeline.stage` of one stage attempt; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn pipeline_stage(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::PipelineStage, args.into(), item.into()).into()
}

/// Span `llm.call` of one LLM interaction; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn llm_call(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::LlmCall, args.into(), item.into()).into()
}

/// Span `pipeline.adjudicate` of one choice among candidates; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn adjudicate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::Adjudicate, args.into(), item.into()).into()
}

/// Makes every method of an `impl` block a stage; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn pipeline(args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::expand(args.into(), item.into()).into()
}

/// Excludes a method from its `#[pipeline]` impl block; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn skip_stage(_args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::misplaced_skip(item.into()).into()
}

/// `#[pipeline_run]`, `#[pipeline_stage]`, `#[llm_call]` and `#[adjudicate]` on `item`.
fn expand_fn(
    which: attr::Macro,
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let (args, mut errors) = attr::parse(which, args);
    let Ok(function) = syn::parse2::<expand::MaybeItemFn>(item.clone()) else {
        errors.push(impl_block::not_a_function(which.attribute(), &item));
        if syn::parse2::<syn::Item>(item.clone()).is_err()
            && syn::parse2::<syn::Expr>(item.clone()).is_ok()
        {
            // An expression, such as a closure (rustc rejects the attribute there too): the
            // output stays an expression, which the errors must not join.
            let errors = with_errors(errors, proc_macro2::TokenStream::new());
            return quote::quote!({ #errors; #item });
        }
        return with_errors(errors, item);
    };
    let owner = expand::Owner { type_name: None };
    match expand::instrument(which, &args, function.clone(), &owner) {
        Ok(tokens) if errors.is_empty() => tokens,
        result => {
            if let Err(error) = result {
                errors.push(error);
            }
            // Keep the item, so that the user sees only these errors and not a cascade about a
            // missing fn, and keep the checks of its field keys, so that they are reported too.
            // Arguments used only in `fields(...)` are not unused: no warning says they are.
            let mut function = function;
            function
                .attrs
                .push(syn::parse_quote!(#[allow(unused_variables)]));
            if let Some(block) = &mut function.block {
                let checks = expand::reserved_checks(which, &args.fields);
                block
                    .stmts
                    .insert(0, syn::Stmt::Item(syn::Item::Verbatim(checks)));
            }
            with_errors(errors, quote::ToTokens::into_token_stream(function))
        }
    }
}

/// The errors as `compile_error!`s, followed by `item`.
fn with_errors(errors: attr::Errors, item: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let errors = match errors.finish() {
        Ok(()) => proc_macro2::TokenStream::new(),
        Err(error) => error.into_compile_error(),
    };
    quote::quote!(#errors #item)
}
