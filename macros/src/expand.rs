//! Code generation shared by every macro: the function keeps its signature; its body runs inside
//! a `Call` of the runtime, as a closure (sync) or an async block (async), with one path for both.

use crate::attr::{Args, Macro};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Block, Expr, ReturnType, Signature, Stmt, Token, Type, Visibility};

/// A function with or without a body: free fns, impl methods, trait methods.
pub struct MaybeItemFn {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub defaultness: Option<Token![default]>,
    pub sig: Signature,
    pub block: Option<Block>,
    semi: Option<Token![;]>,
}

impl Parse for MaybeItemFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let defaultness = input.parse()?;
        let sig: Signature = input.parse()?;
        if input.peek(Token![;]) {
            return Ok(MaybeItemFn {
                attrs,
                vis,
                defaultness,
                sig,
                block: None,
                semi: Some(input.parse()?),
            });
        }
        Ok(MaybeItemFn {
            attrs,
            vis,
            defaultness,
            sig,
            block: Some(input.parse()?),
            semi: None,
        })
    }
}

impl ToTokens for MaybeItemFn {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        for attr in &self.attrs {
            attr.to_tokens(tokens);
        }
        self.vis.to_tokens(tokens);
        self.defaultness.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.block.to_tokens(tokens);
        self.semi.to_tokens(tokens);
    }
}

/// Where the instrumented function lives, for its `code.function.name`.
pub struct Owner {
    /// The `impl` block's type, for methods instrumented through `#[pipeline]`.
    pub type_name: Option<String>,
}

/// Rewrites `item` so that its body runs inside a call of kind `which`.
pub fn instrument(
    which: Macro,
    args: Args,
    mut item: MaybeItemFn,
    owner: &Owner,
) -> syn::Result<TokenStream> {
    if let Some(constness) = &item.sig.constness {
        return Err(syn::Error::new_spanned(
            constness,
            format!(
                "{} cannot instrument a `const fn`: spans and metrics are recorded at run time; remove `const` or the attribute",
                which.attribute()
            ),
        ));
    }
    let Some(block) = item.block.take() else {
        return Err(syn::Error::new_spanned(
            &item.sig,
            format!(
                "{} needs a function body: put it on the method of the `impl`, not on the trait's declaration",
                which.attribute()
            ),
        ));
    };
    let fn_name = item.sig.ident.to_string();
    let name = args
        .name
        .as_ref()
        .map_or_else(|| fn_name.clone(), |name| name.value());
    let function = match &owner.type_name {
        Some(type_name) => {
            quote!(::core::concat!(::core::module_path!(), "::", #type_name, "::", #fn_name))
        }
        None => quote!(::core::concat!(::core::module_path!(), "::", #fn_name)),
    };
    let kind = match which {
        Macro::PipelineRun => quote!(Run),
        Macro::PipelineStage => quote!(Stage),
    };
    let start = start_call(&kind, &name, &function, &args);
    let classify = classify();
    let fake_return = fake_return(&item.sig.output);

    let body = if item.sig.asyncness.is_some() {
        let inner = quote!(async move { #fake_return #block });
        instrument_async(&start, inner, &classify)
    } else if let Some(instrumented) = instrument_returned_future(&block, &start, &classify) {
        instrumented
    } else {
        let call = ident("__fo_call");
        quote! {
            #start
            ::factory_observability::__private::Call::run_sync(
                #call,
                move || { #fake_return #block },
                #classify,
            )
        }
    };
    // The fake return comes first in the body so that a body returning the wrong type is
    // reported on the user's signature, not inside generated code.
    item.block = Some(syn::parse2(quote!({ #body }))?);
    Ok(item.into_token_stream())
}

/// `let __fo_call = Call::start(&SITE, |fields| ...);`
fn start_call(kind: &TokenStream, name: &str, function: &TokenStream, args: &Args) -> TokenStream {
    let call = ident("__fo_call");
    let recorder = ident("__fo_fields");
    let site = ident("__FO_SITE");
    let records = args.fields.iter().map(|field| {
        let key = &field.key;
        let value = &field.value;
        quote_spanned!(value.span()=> #recorder.record(#key, &(#value));)
    });
    let run_id = args
        .run_id
        .as_ref()
        .map(|value| quote_spanned!(value.span()=> #recorder.run_id(&(#value));));
    quote! {
        static #site: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
            kind: ::factory_observability::__private::CallKind::#kind,
            name: #name,
            function: #function,
        };
        let #call = ::factory_observability::__private::Call::start(
            &#site,
            |#recorder: &mut ::factory_observability::__private::Fields| {
                let _ = &#recorder;
                #(#records)*
                #run_id
            },
        );
    }
}

fn instrument_async(
    start: &TokenStream,
    inner: TokenStream,
    classify: &TokenStream,
) -> TokenStream {
    let call = ident("__fo_call");
    quote! {
        #start
        ::factory_observability::__private::Call::instrument(#call, #inner, #classify).await
    }
}

/// Bodies that build and return a future: `Box::pin(async move { ... })` (what `#[async_trait]`
/// generates) or a trailing `async move { ... }` block. The future is instrumented, not its
/// creation, so the span covers the work.
fn instrument_returned_future(
    block: &Block,
    start: &TokenStream,
    classify: &TokenStream,
) -> Option<TokenStream> {
    let (last, rest) = block.stmts.split_last()?;
    let Stmt::Expr(tail, None) = last else {
        return None;
    };
    let rebuilt = match tail {
        Expr::Async(future) => {
            let wrapped = instrument_async(start, future.to_token_stream(), classify);
            quote!(async move { #wrapped })
        }
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => {
            let Some(Expr::Async(future)) = call.args.first() else {
                return None;
            };
            let func = &call.func;
            let wrapped = instrument_async(start, future.to_token_stream(), classify);
            quote!(#func(async move { #wrapped }))
        }
        _ => return None,
    };
    Some(quote!(#(#rest)* #rebuilt))
}

fn is_box_pin(func: &Expr) -> bool {
    let Expr::Path(path) = func else { return false };
    let segments: Vec<String> = path
        .path
        .segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect();
    segments.ends_with(&["Box".to_owned(), "pin".to_owned()])
}

/// A closure turning `&ReturnType` into a `Report`, by autoref specialisation on the value.
fn classify() -> TokenStream {
    let value = ident("__fo_ret");
    quote! {
        |#value| {
            #[allow(unused_imports)]
            use ::factory_observability::__private::{
                ViaAnything as _, ViaOutcome as _, ViaResult as _, ViaResultDebug as _,
                ViaResultDisplay as _, ViaResultOutcome as _, ViaResultOutcomeDebug as _,
                ViaResultOutcomeDisplay as _,
            };
            (&&&&&&&&::factory_observability::__private::Classify(#value)).__fo_report()
        }
    }
}

/// Never executed; gives the body's type inference the declared return type (so `?` works in
/// async bodies) and reports a mismatch at the signature. Omitted for `impl Trait` returns,
/// which cannot be named in a `let`.
fn fake_return(output: &ReturnType) -> TokenStream {
    let ty: Type = match output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    if contains_impl_trait(&ty) {
        return TokenStream::new();
    }
    let fake = ident("__fo_fake_return");
    let span = ty.span();
    quote_spanned! {span=>
        #[allow(
            unknown_lints,
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::let_with_type_underscore,
            clippy::needless_return,
            clippy::unreachable
        )]
        if false {
            let #fake: #ty = loop {};
            return #fake;
        }
    }
}

fn contains_impl_trait(ty: &Type) -> bool {
    fn scan(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|token| match token {
            proc_macro2::TokenTree::Ident(ident) => ident == "impl",
            proc_macro2::TokenTree::Group(group) => scan(group.stream()),
            _ => false,
        })
    }
    scan(ty.to_token_stream())
}

/// A local the user's code cannot name.
fn ident(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}
