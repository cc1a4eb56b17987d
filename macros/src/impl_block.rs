//! `#[pipeline]` on an `impl` block: every method with a body becomes a stage, except those marked
//! `#[skip_stage]` and those that carry their own `#[pipeline_stage(...)]`.

use crate::attr::{Errors, Macro};
use crate::expand::{self, MaybeItemFn, Owner};
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{Attribute, ImplItem, ItemImpl, Type};

pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(
            &args,
            "#[pipeline] takes no arguments; name a stage with `#[pipeline_stage(name = \"...\")]` on its method",
        ));
    }
    let mut block: ItemImpl = syn::parse2(item.clone()).map_err(|_| {
        syn::Error::new_spanned(
            first_tokens(&item),
            "#[pipeline] goes on an `impl` block; on a single function use #[pipeline_stage]",
        )
    })?;
    let owner = Owner {
        type_name: type_name(&block.self_ty),
    };
    for impl_item in &mut block.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let skips: Vec<&Attribute> = method
            .attrs
            .iter()
            .filter(|a| is_named(a, "skip_stage"))
            .collect();
        if skips.len() > 1 {
            errors.push(syn::Error::new_spanned(
                skips[1],
                "this method is already excluded by `#[skip_stage]`; remove this one",
            ));
        }
        if !skips.is_empty() {
            for skip in &skips {
                if !matches!(skip.meta, syn::Meta::Path(_)) {
                    errors.push(syn::Error::new_spanned(
                        &skip.meta,
                        "#[skip_stage] takes no arguments",
                    ));
                }
            }
            method.attrs.retain(|a| !is_named(a, "skip_stage"));
            continue;
        }
        if method.attrs.iter().any(|a| is_named(a, "pipeline_stage")) {
            continue;
        }
        if let Some(constness) = &method.sig.constness {
            errors.push(syn::Error::new_spanned(
                constness,
                "#[pipeline] cannot make a `const fn` a stage: mark it `#[skip_stage]`",
            ));
            continue;
        }
        let function: MaybeItemFn = syn::parse2(method.to_token_stream())?;
        match expand::instrument(Macro::PipelineStage, Default::default(), function, &owner) {
            Ok(tokens) => *impl_item = syn::parse2(tokens)?,
            Err(error) => errors.push(error),
        }
    }
    errors.finish()?;
    Ok(block.into_token_stream())
}

/// `#[skip_stage]` outside a `#[pipeline]` impl block.
pub fn misplaced_skip(item: TokenStream) -> TokenStream {
    // In an attribute macro, the call site is the attribute itself.
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        "#[skip_stage] only has meaning on a method of a `#[pipeline]` impl block; remove it, or add #[pipeline] to the impl block",
    )
    .into_compile_error();
    quote!(#error #item)
}

/// The error for an attribute put on something that is not a function.
pub fn not_a_function(attribute: &str, item: &TokenStream) -> syn::Error {
    let what = match syn::parse2::<syn::Item>(item.clone()) {
        Ok(syn::Item::Struct(_)) => "a struct",
        Ok(syn::Item::Enum(_)) => "an enum",
        Ok(syn::Item::Const(_)) => "a const",
        Ok(syn::Item::Static(_)) => "a static",
        Ok(syn::Item::Impl(_)) => "an impl block (use #[pipeline] to make each method a stage)",
        Ok(syn::Item::Trait(_)) => "a trait",
        Ok(syn::Item::Mod(_)) => "a module",
        Ok(syn::Item::Type(_)) => "a type alias",
        Ok(syn::Item::ForeignMod(_)) => "an extern block",
        _ => "this item",
    };
    syn::Error::new_spanned(
        first_tokens(item),
        format!("{attribute} can only be applied to a function with a body, not to {what}"),
    )
}

fn first_tokens(item: &TokenStream) -> TokenStream {
    // Point at the item's first tokens (its keyword and name), not the whole item.
    item.clone()
        .into_iter()
        .skip_while(|t| matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#'))
        .skip_while(|t| matches!(t, proc_macro2::TokenTree::Group(_)))
        .take(2)
        .collect()
}

fn is_named(attr: &Attribute, name: &str) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == name)
}

fn type_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
        Type::Reference(reference) => type_name(&reference.elem),
        _ => None,
    }
}
