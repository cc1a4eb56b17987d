//! `#[pipeline]` on an `impl` block: every method with a body becomes a stage, except those marked
//! `#[skip_stage]` and those that carry their own `#[pipeline_stage(...)]`.

use crate::attr::{Errors, Macro};
use crate::expand::{self, MaybeItemFn, Owner};
use proc_macro2::{TokenStream, TokenTree};
use quote::{quote, ToTokens};
use syn::{Attribute, ImplItem, ItemImpl, Type};

/// `#[pipeline]` on `item`. On any mistake, the errors come with the block unchanged (less its
/// `#[skip_stage]` attributes), so that the user sees only them.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    if !args.is_empty() {
        errors.push(syn::Error::new_spanned(
            &args,
            "#[pipeline] takes no arguments; name a stage with `#[pipeline_stage(name = \"...\")]` on its method",
        ));
    }
    let Ok(mut block) = syn::parse2::<ItemImpl>(item.clone()) else {
        errors.push(not_an_impl(&item));
        return crate::with_errors(errors, item);
    };
    let mut original = block.clone();
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
        let own_stage = method.attrs.iter().find(|a| is_named(a, "pipeline_stage"));
        if let Some(second) = skips.get(1) {
            errors.push(syn::Error::new_spanned(
                second,
                "this method is already excluded by `#[skip_stage]`; remove this one",
            ));
        }
        if let (Some(skip), Some(stage)) = (skips.first(), own_stage) {
            errors.push(syn::Error::new_spanned(
                stage,
                format!(
                    "`{}` makes this method a stage, but `{}` excludes it; keep one",
                    stage.to_token_stream(),
                    skip.to_token_stream()
                ),
            ));
        }
        if !skips.is_empty() {
            for skip in &skips {
                if !matches!(skip.meta, syn::Meta::Path(_)) {
                    errors.push(syn::Error::new_spanned(
                        &skip.meta,
                        "#[skip_stage] takes no arguments: write `#[skip_stage]`",
                    ));
                }
            }
            method.attrs.retain(|a| !is_named(a, "skip_stage"));
            continue;
        }
        // A method's own `#[pipeline_stage(...)]` expands itself, told the block's type for
        // its `code.function.name`.
        if own_stage.is_some() {
            if let Some(type_name) = &owner.type_name {
                for attr in method
                    .attrs
                    .iter_mut()
                    .filter(|a| is_named(a, "pipeline_stage"))
                {
                    *attr = with_owner(attr, type_name);
                }
            }
            continue;
        }
        if let Some(constness) = &method.sig.constness {
            errors.push(syn::Error::new_spanned(
                constness,
                "#[pipeline] cannot make a `const fn` a stage: spans and metrics are recorded at run time; mark the method `#[skip_stage]`",
            ));
            continue;
        }
        let function: MaybeItemFn = match syn::parse2(method.to_token_stream()) {
            Ok(function) => function,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        match expand::instrument(Macro::PipelineStage, &Default::default(), function, &owner)
            .and_then(syn::parse2)
        {
            Ok(instrumented) => *impl_item = instrumented,
            Err(error) => errors.push(error),
        }
    }
    if errors.is_empty() {
        return block.into_token_stream();
    }
    for impl_item in &mut original.items {
        if let ImplItem::Fn(method) = impl_item {
            method.attrs.retain(|a| !is_named(a, "skip_stage"));
        }
    }
    crate::with_errors(errors, original.into_token_stream())
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

/// The error for a function attribute put on something that is not a function.
pub fn not_a_function(attribute: &str, item: &TokenStream) -> syn::Error {
    let (what, head) = describe(item);
    // Agents and tools are run by a function: say which one to put the attribute on.
    let runs = match attribute {
        "#[agent]" => Some("agent"),
        "#[tool]" => Some("tool"),
        _ => None,
    };
    let message = match what {
        Some("an impl block") if runs.is_some() => format!(
            "{attribute} can only be applied to a function with a body, not to an impl block: put {attribute} on each method that runs the {}",
            runs.unwrap_or_default()
        ),
        Some("an impl block") => format!(
            "{attribute} can only be applied to a function with a body, not to an impl block: put #[pipeline] on the impl block to make each method a stage, or {attribute} on one method"
        ),
        Some("a function") => format!(
            "{attribute} can only be applied to a function with a body, and this function does not parse; fix its syntax first"
        ),
        Some("an extern block") => format!(
            "{attribute} can only be applied to a function with a body, not to an extern block: instrument a Rust function that calls the foreign one"
        ),
        Some("a closure") => format!(
            "{attribute} can only be applied to a function with a body, not to a closure: move the closure's body into a fn and put {attribute} on the fn"
        ),
        Some(what) => match runs {
            Some(runs) => {
                let example = if runs == "tool" {
                    "fn read_file(&self, path: &str) -> std::io::Result<String>"
                } else {
                    "fn run(&self, task: &Task) -> Result<Patch, Error>"
                };
                format!(
                    "{attribute} can only be applied to a function with a body, not to {what}: put it on the function or method that runs the {runs}, e.g. `{example}`"
                )
            }
            None => {
                format!("{attribute} can only be applied to a function with a body, not to {what}")
            }
        },
        None => format!("{attribute} can only be applied to a function with a body"),
    };
    syn::Error::new_spanned(head, message)
}

/// The error for `#[pipeline]` on something that is not an `impl` block.
fn not_an_impl(item: &TokenStream) -> syn::Error {
    let (what, head) = describe(item);
    let without_body =
        matches!(item.clone().into_iter().last(), Some(TokenTree::Punct(p)) if p.as_char() == ';');
    let message = match what {
        Some("a function") if without_body => "#[pipeline] goes on an `impl` block, to make each of its methods a stage; a function without a body (of an `extern` block or a trait) cannot be instrumented".to_owned(),
        Some("a function") => "#[pipeline] goes on an `impl` block, to make each of its methods a stage; on a single function use #[pipeline_stage]".to_owned(),
        Some("a trait") => "#[pipeline] goes on an `impl` block, not on a trait: put it on the trait's `impl` for your type, whose methods have bodies".to_owned(),
        Some(what) => format!("#[pipeline] goes on an `impl` block, to make each of its methods a stage, not on {what}"),
        None => "#[pipeline] goes on an `impl` block, to make each of its methods a stage".to_owned(),
    };
    syn::Error::new_spanned(head, message)
}

/// What kind of item `item` is, from its keywords, and the tokens to point at: the keyword and
/// the name after it, not the whole item.
fn describe(item: &TokenStream) -> (Option<&'static str>, TokenStream) {
    let tokens: Vec<TokenTree> = item.clone().into_iter().collect();
    let mut i = 0;
    // Outer attributes: `#` `[...]`.
    while matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == '#') {
        i += 2;
    }
    // Visibility: `pub`, `pub(crate)`.
    if matches!(tokens.get(i), Some(TokenTree::Ident(id)) if id == "pub") {
        i += 1;
        if matches!(tokens.get(i), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Parenthesis)
        {
            i += 1;
        }
    }
    let start = i;
    let mut what = None;
    let closure = match (tokens.get(i), tokens.get(i + 1)) {
        (Some(TokenTree::Punct(p)), _) => p.as_char() == '|',
        (Some(TokenTree::Ident(id)), Some(TokenTree::Punct(p))) => {
            (id == "move" || id == "async") && p.as_char() == '|'
        }
        (Some(TokenTree::Ident(id)), Some(TokenTree::Ident(next))) => {
            id == "async" && next == "move"
        }
        _ => false,
    };
    if closure {
        what = Some("a closure");
    }
    while let (None, Some(token)) = (what, tokens.get(i)) {
        let TokenTree::Ident(ident) = token else {
            break;
        };
        let next = tokens.get(i + 1);
        let next_is_brace = matches!(next, Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace);
        what = match ident.to_string().as_str() {
            "struct" => Some("a struct"),
            "enum" => Some("an enum"),
            "union" => Some("a union"),
            "static" => Some("a static"),
            "const" if matches!(next, Some(TokenTree::Ident(n)) if n == "fn" || n == "unsafe" || n == "async" || n == "extern") => {
                None
            }
            "const" => Some("a const"),
            "mod" => Some("a module"),
            "type" => Some("a type alias"),
            "trait" => Some("a trait"),
            "impl" => Some("an impl block"),
            "use" => Some("a `use` declaration"),
            "macro_rules" => Some("a macro"),
            "fn" => Some("a function"),
            "crate" => Some("an `extern crate`"),
            "extern" if next_is_brace => Some("an extern block"),
            "extern" if matches!((next, tokens.get(i + 2)), (Some(TokenTree::Literal(_)), Some(TokenTree::Group(g))) if g.delimiter() == proc_macro2::Delimiter::Brace) => {
                Some("an extern block")
            }
            "let" => Some("a statement"),
            _ => None,
        };
        if what.is_some() {
            break;
        }
        i += 1;
    }
    let head: TokenStream = match what {
        Some("a closure") | None => tokens.iter().skip(start).take(2).cloned().collect(),
        Some(_) => tokens
            .iter()
            .skip(i)
            .take(if matches!(tokens.get(i + 1), Some(TokenTree::Ident(_))) {
                2
            } else {
                1
            })
            .cloned()
            .collect(),
    };
    let head = if head.is_empty() { item.clone() } else { head };
    (what, head)
}

/// `#[pipeline_stage(args)]` with the hidden owner argument added after `args`.
fn with_owner(attr: &Attribute, type_name: &str) -> Attribute {
    let path = attr.path();
    let key = syn::Ident::new(crate::attr::OWNER_KEY, proc_macro2::Span::call_site());
    let mut args = match &attr.meta {
        syn::Meta::List(list) => list.tokens.clone(),
        _ => TokenStream::new(),
    };
    let ends_with_comma = matches!(
        args.clone().into_iter().last(),
        Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ','
    );
    if !args.is_empty() && !ends_with_comma {
        args.extend(quote!(,));
    }
    args.extend(quote!(#key = #type_name));
    let mut attr_with_owner: Attribute = syn::parse_quote!(#[#path(#args)]);
    attr_with_owner.pound_token = attr.pound_token;
    attr_with_owner
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
