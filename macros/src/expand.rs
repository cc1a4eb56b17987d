//! Code generation shared by every macro: the function keeps its signature; its body runs inside
//! a `Call` of the runtime, as a closure (sync) or an async block (async), with one path for both.

use crate::attr::{Args, Macro};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Block, Expr, LitStr, ReturnType, Signature, Stmt, Token, Type, Visibility};

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
    let function = match &owner.type_name {
        Some(type_name) => {
            quote!(::core::concat!(::core::module_path!(), "::", #type_name, "::", #fn_name))
        }
        None => quote!(::core::concat!(::core::module_path!(), "::", #fn_name)),
    };
    let own = own_parts(which, &args, &item.sig, &fn_name)?;
    let start = start_call(&own, &function, &args);
    let completion = completion(&own, &args, &item.sig)?;
    let fake_return = fake_return(&item.sig.output);

    let body = if item.sig.asyncness.is_some() {
        let inner = quote!(async move { #fake_return #block });
        instrument_async(&start, inner, &completion)
    } else if let Some(instrumented) = instrument_returned_future(&block, &start, &completion) {
        instrumented
    } else {
        let call = ident("__fo_call");
        let Completion { sync, args, .. } = &completion;
        quote! {
            #start
            ::factory_observability::__private::Call::#sync(
                #call,
                move || { #fake_return #block },
                #args,
            )
        }
    };
    // The fake return comes first in the body so that a body returning the wrong type is
    // reported on the user's signature, not inside generated code.
    item.block = Some(syn::parse2(quote!({ #body }))?);
    Ok(item.into_token_stream())
}

/// What one macro adds to the shared expansion.
struct OwnParts {
    /// The runtime's `CallKind` variant.
    kind: TokenStream,
    /// `CallSite::name`: the run's or stage's name, or the LLM operation.
    name: String,
    /// Statements recording the macro's own arguments into the `Fields` recorder.
    records: TokenStream,
    /// An expression of what the kind reads from the returned value `__fo_ret`, paired with the
    /// outcome report into the call's `Ending`.
    ending: Option<TokenStream>,
}

fn own_parts(which: Macro, args: &Args, sig: &Signature, fn_name: &str) -> syn::Result<OwnParts> {
    let named = || {
        args.name
            .as_ref()
            .map_or_else(|| fn_name.to_owned(), |name| name.value())
    };
    Ok(match which {
        Macro::PipelineRun => OwnParts {
            kind: quote!(Run),
            name: named(),
            records: TokenStream::new(),
            ending: None,
        },
        Macro::PipelineStage => {
            // A stage returning a `TestReport` (directly or in a `Result`) records test signals.
            let value = ident("__fo_ret");
            OwnParts {
                kind: quote!(Stage),
                name: named(),
                records: TokenStream::new(),
                ending: Some(quote! {{
                    #[allow(unused_imports)]
                    use ::factory_observability::__private::{
                        ViaNoTests as _, ViaResultTests as _, ViaTests as _,
                    };
                    (&&&::factory_observability::__private::TestsOf(#value)).__fo_tests()
                }}),
            }
        }
        Macro::LlmCall => llm_parts(args, sig)?,
        Macro::Adjudicate => {
            let value = ident("__fo_ret");
            OwnParts {
                kind: quote!(Adjudicate),
                name: named(),
                records: TokenStream::new(),
                ending: Some(quote_spanned! {return_span(sig)=>
                    ::factory_observability::__private::Decision::of(::core::convert::identity(#value))
                }),
            }
        }
    })
}

/// Where to report a problem with the return type: the type, or the fn's name when it has none.
fn return_span(sig: &Signature) -> Span {
    match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    }
}

fn llm_parts(args: &Args, sig: &Signature) -> syn::Result<OwnParts> {
    let recorder = ident("__fo_fields");
    let value = ident("__fo_ret");
    let text = |expr: &Option<Expr>| match expr {
        Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(literal),
            ..
        })) => quote!(::factory_observability::__private::StringValue::from(#literal)),
        Some(expr) => {
            quote_spanned!(expr.span()=> ::factory_observability::__private::text(&(#expr)))
        }
        None => quote!(::factory_observability::__private::StringValue::from(
            "unknown"
        )),
    };
    let provider = text(&args.provider);
    let model = text(&args.model);
    let mut records = quote!(#recorder.llm(#provider, #model););
    if let Some(prompt) = &args.prompt {
        let arguments = argument_names(sig);
        if !arguments.iter().any(|name| prompt == name) {
            let list = if arguments.is_empty() {
                "it has no arguments".to_owned()
            } else {
                format!(
                    "its arguments are {}",
                    arguments
                        .iter()
                        .map(|a| format!("`{a}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            return Err(syn::Error::new_spanned(
                prompt,
                format!(
                    "`prompt = {prompt}` names no argument of `{}`: {list}",
                    sig.ident
                ),
            ));
        }
        records.extend(quote_spanned!(prompt.span()=> #recorder.prompt(&#prompt);));
    }
    let return_span = return_span(sig);
    let ending = match &args.usage {
        Some(usage) => quote_spanned! {usage.span()=>
            ::factory_observability::__private::LlmResponse::read_with(#value, #usage)
        },
        // The argument expression carries the return type's span, so a missing `TokenUsage`
        // impl is reported there, where the user reads the type.
        None => quote_spanned! {return_span=>
            ::factory_observability::__private::LlmResponse::of(::core::convert::identity(#value))
        },
    };
    Ok(OwnParts {
        kind: quote!(LlmCall),
        name: args
            .operation
            .as_ref()
            .map_or_else(|| "chat".to_owned(), LitStr::value),
        records,
        ending: Some(ending),
    })
}

/// The plain identifiers among the function's arguments (`self` included).
fn argument_names(sig: &Signature) -> Vec<syn::Ident> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Receiver(receiver) => {
                Some(syn::Ident::new("self", receiver.self_token.span))
            }
            syn::FnArg::Typed(typed) => match &*typed.pat {
                syn::Pat::Ident(pat) => Some(pat.ident.clone()),
                _ => None,
            },
        })
        .collect()
}

/// `let __fo_call = Call::start(&SITE, |fields| ...);`
fn start_call(own: &OwnParts, function: &TokenStream, args: &Args) -> TokenStream {
    let OwnParts {
        kind,
        name,
        records: own_records,
        ..
    } = own;
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
                #own_records
                #(#records)*
                #run_id
            },
        );
    }
}

fn instrument_async(
    start: &TokenStream,
    inner: TokenStream,
    completion: &Completion,
) -> TokenStream {
    let call = ident("__fo_call");
    let Completion { r#async, args, .. } = completion;
    quote! {
        #start
        ::factory_observability::__private::Call::#r#async(#call, #inner, #args).await
    }
}

/// Bodies that build and return a future: `Box::pin(async move { ... })` (what `#[async_trait]`
/// generates) or a trailing `async move { ... }` block. The future is instrumented, not its
/// creation, so the span covers the work.
fn instrument_returned_future(
    block: &Block,
    start: &TokenStream,
    completion: &Completion,
) -> Option<TokenStream> {
    let (last, rest) = block.stmts.split_last()?;
    let Stmt::Expr(tail, None) = last else {
        return None;
    };
    let rebuilt = match tail {
        Expr::Async(future) => {
            let wrapped = instrument_async(start, future.to_token_stream(), completion);
            quote!(async move { #wrapped })
        }
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => {
            let Some(Expr::Async(future)) = call.args.first() else {
                return None;
            };
            let func = &call.func;
            let wrapped = instrument_async(start, future.to_token_stream(), completion);
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

/// How the call ends with the returned value: the `Call` methods that run a sync and an async
/// body, and their arguments after the body. Most calls classify the value at once; a streaming
/// `#[llm_call]` hands the call to the stream it returns.
struct Completion {
    sync: TokenStream,
    r#async: TokenStream,
    args: TokenStream,
}

const STREAM_RETURN: &str = "a streaming #[llm_call] must return `impl Stream<Item = Chunk>` or `Result<impl Stream<Item = Chunk>, E>`, so that the call can stay open until the stream ends";

fn completion(own: &OwnParts, args: &Args, sig: &Signature) -> syn::Result<Completion> {
    let Some(flag) = &args.stream else {
        let classify = classify(own.ending.as_ref());
        return Ok(Completion {
            sync: quote!(run_sync),
            r#async: quote!(instrument),
            args: classify,
        });
    };
    if let Some(usage) = &args.usage {
        return Err(syn::Error::new_spanned(
            usage,
            "`usage = ...` does not apply to a streaming call: its chunks report usage through `TokenUsage`",
        ));
    }
    let output = match &sig.output {
        ReturnType::Type(_, ty) if contains_impl_trait(ty) => ty,
        ReturnType::Type(_, ty) => {
            return Err(syn::Error::new_spanned(ty, STREAM_RETURN));
        }
        ReturnType::Default => return Err(syn::Error::new(flag.span(), STREAM_RETURN)),
    };
    let chunk = classify(None);
    let is_result = matches!(&**output, Type::Path(path)
        if path.path.segments.last().is_some_and(|last| last.ident == "Result"));
    Ok(if is_result {
        let result = classify(None);
        Completion {
            sync: quote!(run_sync_stream_result),
            r#async: quote!(instrument_stream_result),
            args: quote!(#chunk, #result),
        }
    } else {
        Completion {
            sync: quote!(run_sync_stream),
            r#async: quote!(instrument_stream),
            args: chunk,
        }
    })
}

/// A closure turning `&ReturnType` into the call's ending: an outcome `Report` by autoref
/// specialisation on the value, paired with what the macro's kind reads from it.
fn classify(ending: Option<&TokenStream>) -> TokenStream {
    let value = ident("__fo_ret");
    let report = ident("__fo_report");
    let result = match ending {
        Some(ending) => quote!((#report, #ending)),
        None => quote!(#report),
    };
    quote! {
        |#value| {
            #[allow(unused_imports)]
            use ::factory_observability::__private::{
                ViaAnything as _, ViaOutcome as _, ViaResult as _, ViaResultDebug as _,
                ViaResultDisplay as _, ViaResultOutcome as _, ViaResultOutcomeDebug as _,
                ViaResultOutcomeDisplay as _,
            };
            let #report = (&&&&&&&&::factory_observability::__private::Classify(#value)).__fo_report();
            #result
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
