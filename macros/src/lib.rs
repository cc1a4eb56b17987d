//! Attribute macros of `factory-observability`. Depend on the `factory-observability` crate, which
//! re-exports them with their documentation; this crate only holds the entry points.
//!
//! Arguments are parsed in [`attr`], code is generated in [`expand`], and `#[pipeline]` on an
//! `impl` block is in [`impl_block`].

mod attr;
mod expand;
mod impl_block;

use proc_macro::TokenStream;

/// Root span `pipeline.run` of one pipeline run; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn pipeline_run(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::PipelineRun, args, item)
}

/// Span `pipeline.stage` of one stage attempt; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn pipeline_stage(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::PipelineStage, args, item)
}

/// Span `llm.call` of one LLM interaction; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn llm_call(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::LlmCall, args, item)
}

/// Span `pipeline.adjudicate` of one choice among candidates; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn adjudicate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::Adjudicate, args, item)
}

/// Makes every method of an `impl` block a stage; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn pipeline(args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Excludes a method from its `#[pipeline]` impl block; see the `factory-observability` crate.
#[proc_macro_attribute]
pub fn skip_stage(_args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::misplaced_skip(item.into()).into()
}

fn expand_fn(which: attr::Macro, args: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    let args = attr::parse(which, args.into());
    let parsed = syn::parse2::<expand::MaybeItemFn>(item.clone())
        .map_err(|_| impl_block::not_a_function(which.attribute(), &item));
    let result = match (args, parsed) {
        (Ok(args), Ok(function)) => {
            expand::instrument(which, args, function, &expand::Owner { type_name: None })
        }
        (Err(mut error), Err(other)) => {
            error.combine(other);
            Err(error)
        }
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    match result {
        Ok(tokens) => tokens.into(),
        // Keep the item so that the user sees only our error, not a cascade about a missing fn.
        Err(error) => {
            let error = error.into_compile_error();
            quote::quote!(#error #item).into()
        }
    }
}
