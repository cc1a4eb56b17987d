//! Code generation shared by every macro: the function keeps its signature; its body runs inside
//! a `Call` of the runtime, as a closure (sync) or an async block (async), with one path for both.

mod capture;

use crate::attr::{edit_distance, Args, Errors, Field, Macro};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Attribute, Block, Expr, LitStr, ReturnType, Signature, Stmt, Token, Type, Visibility};

/// A function with or without a body: free fns, impl methods, trait methods, foreign fns.
#[derive(Clone)]
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

/// Rewrites `item` so that its body runs inside a call of kind `which`. Reports every problem
/// with the function and with the arguments that depend on it, together.
pub fn instrument(
    which: Macro,
    args: &Args,
    mut item: MaybeItemFn,
    owner: &Owner,
) -> syn::Result<TokenStream> {
    let mut errors = Errors::default();
    check_shape(which, &item, &mut errors);
    check_field_values(args, &item.sig, &mut errors);
    let fn_name = item.sig.ident.to_string();
    let function = match &owner.type_name {
        Some(type_name) => {
            quote!(::core::concat!(::core::module_path!(), "::", #type_name, "::", #fn_name))
        }
        None => quote!(::core::concat!(::core::module_path!(), "::", #fn_name)),
    };
    let captures = capture::records(&args.capture, args.capture_content, &item.sig, &mut errors);
    let description = doc_comment(&item.attrs);
    let own = own_parts(which, args, &item.sig, &fn_name, &description)
        .map_err(|error| errors.push(error));
    let completion = own
        .as_ref()
        .ok()
        .map(|own| completion(own, args, &item.sig).map_err(|error| errors.push(error)));
    errors.finish()?;
    let (Ok(mut own), Some(Ok(completion)), Some(block)) = (own, completion, item.block.take())
    else {
        // Unreachable: each missing part reported an error above.
        return Err(syn::Error::new(
            item.sig.ident.span(),
            "internal error in factory-observability's macros; please report it",
        ));
    };
    // What the call may capture is recorded first: a site's `capture_content` decides its prompt.
    let own_records = std::mem::take(&mut own.records);
    own.records = quote!(#captures #own_records);
    // A sync body that returns a value keeps its call's state off the stack (`SyncCall`); async
    // bodies and streams carry theirs (`Call`).
    let is_sync_value =
        item.sig.asyncness.is_none() && args.stream.is_none() && !returns_future(&block);
    let starter = if is_sync_value {
        quote!(SyncCall)
    } else {
        quote!(Call)
    };
    let start = start_call(which, &own, &function, args, &starter);
    let fake_return = fake_return(&item.sig.output);

    let body = if item.sig.asyncness.is_some() {
        // The body's statements, not its block: `{ expr }` as the tail of a block would be
        // reported to the user as unnecessary braces.
        let statements = &block.stmts;
        let inner = quote!(async move { #fake_return #(#statements)* });
        instrument_async(&start, inner, &completion)
    } else if let Some(instrumented) = instrument_returned_future(&block, &start, &completion) {
        instrumented
    } else {
        let call = ident("__fo_call");
        let statements = &block.stmts;
        let Completion { sync, args, .. } = &completion;
        quote! {
            #start
            ::factory_observability::__private::#starter::#sync(
                #call,
                move || { #fake_return #(#statements)* },
                #args,
            )
        }
    };
    // The fake return comes first in the body so that a body returning the wrong type is
    // reported on the user's signature, not inside generated code.
    item.block = Some(syn::parse2(quote!({ #body }))?);
    Ok(item.into_token_stream())
}

/// Functions the macros cannot instrument, each with the reason.
fn check_shape(which: Macro, item: &MaybeItemFn, errors: &mut Errors) {
    let attribute = which.attribute();
    let sig = &item.sig;
    if let Some(constness) = &sig.constness {
        errors.push(syn::Error::new_spanned(
            constness,
            format!(
                "{attribute} cannot instrument a `const fn`: spans and metrics are recorded at run time; remove `const` or the attribute"
            ),
        ));
    }
    if item.block.is_none() {
        let is_method = sig.receiver().is_some();
        let is_foreign = !matches!(item.vis, Visibility::Inherited) || sig.variadic.is_some();
        let message = if is_method && !is_foreign {
            format!("{attribute} needs a function body: put it on the method of the `impl`, not on the trait's declaration")
        } else if is_foreign {
            format!("{attribute} cannot instrument a function of an `extern` block: it has no Rust body to run inside a span; instrument a Rust function that calls it")
        } else {
            format!("{attribute} needs a function body: on a trait method, put it on the method of the `impl`; a function of an `extern` block cannot be instrumented, so instrument a Rust function that calls it")
        };
        errors.push(syn::Error::new_spanned(sig, message));
    } else if let Some(variadic) = &sig.variadic {
        errors.push(syn::Error::new_spanned(
            variadic,
            format!("{attribute} cannot instrument a C-variadic function: its `...` arguments cannot move into the instrumented body; instrument a function that it calls"),
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if let Type::Never(never) = &**ty {
            errors.push(syn::Error::new_spanned(
                never,
                format!("{attribute} cannot instrument a function that never returns (`-> !`): its span would never end; instrument the work it does in functions that return"),
            ));
        }
    }
}

/// `fields(key = value)` where the value is a lowercase name that is no argument: the fields are
/// recorded when the call starts, from the arguments. Uppercase names may be constants.
fn check_field_values(args: &Args, sig: &Signature, errors: &mut Errors) {
    for field in &args.fields {
        let Expr::Path(path) = &field.value else {
            continue;
        };
        let Some(name) = path.path.get_ident() else {
            continue;
        };
        let text = name.to_string();
        if path.qself.is_some() || !text.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        if let Some(error) = no_such_argument(name, &text, sig) {
            errors.push(error);
        }
    }
}

/// The error for `name` (written as `used`) when it is none of `sig`'s arguments.
pub(crate) fn no_such_argument(
    name: &syn::Ident,
    used: &str,
    sig: &Signature,
) -> Option<syn::Error> {
    let arguments = argument_names(sig);
    if arguments.iter().any(|argument| argument == name) {
        return None;
    }
    let list = arguments
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let target = name.to_string();
    let near = arguments
        .iter()
        .map(ToString::to_string)
        .find(|argument| edit_distance(argument, &target) <= 2);
    let message = match (near, arguments.is_empty()) {
        (_, true) => format!(
            "`{used}` names no argument of `{}`: it has no arguments",
            sig.ident
        ),
        (Some(near), false) => format!(
            "`{used}` names no argument of `{}`: did you mean `{near}`? Its arguments are {list}",
            sig.ident
        ),
        (None, false) => format!(
            "`{used}` names no argument of `{}`: its arguments are {list}",
            sig.ident
        ),
    };
    Some(syn::Error::new_spanned(name, message))
}

/// `const _: () = assert!(!reserved_key(kind, "key"), "...")` for every field, spanned at its
/// key: the runtime knows which keys each kind records itself, and a collision fails the build at
/// the key.
pub fn reserved_checks(which: Macro, fields: &[Field]) -> TokenStream {
    let kind = syn::Ident::new(which.call_kind(), Span::call_site());
    fields
        .iter()
        .filter(|field| field.key_is_valid)
        .map(|field| {
            let key = &field.key;
            let message = format!(
                "`{key}` is recorded by {} itself: choose another key, e.g. `app.{}`",
                which.attribute(),
                key.replace('.', "_")
            );
            let (first, last) = first_last(&field.key_tokens);
            let call = quote_spanned! {last=>
                (!::factory_observability::__private::reserved_key(
                    ::factory_observability::__private::CallKind::#kind,
                    #key,
                ), #message)
            };
            quote_spanned! {first=>
                const _: () = ::core::assert! #call;
            }
        })
        .collect()
}

/// What one macro adds to the shared expansion.
struct OwnParts {
    /// `CallSite::name`: the run's or stage's name, or the LLM operation.
    name: String,
    /// Statements recording the macro's own arguments into the `Fields` recorder.
    records: TokenStream,
    /// An expression of what the kind reads from the returned value `__fo_ret`, paired with the
    /// outcome report into the call's `Ending`.
    ending: Option<TokenStream>,
}

fn own_parts(
    which: Macro,
    args: &Args,
    sig: &Signature,
    fn_name: &str,
    description: &str,
) -> syn::Result<OwnParts> {
    let named = || {
        args.name
            .as_ref()
            .map_or_else(|| fn_name.to_owned(), |name| name.value())
    };
    Ok(match which {
        Macro::PipelineRun => OwnParts {
            name: named(),
            records: TokenStream::new(),
            ending: None,
        },
        Macro::PipelineStage => {
            // A stage returning a `TestReport` (directly or in a `Result`) records test signals.
            let value = ident("__fo_ret");
            OwnParts {
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
        Macro::Handler => OwnParts {
            name: named(),
            records: TokenStream::new(),
            ending: None,
        },
        Macro::Adjudicate => OwnParts {
            name: named(),
            records: TokenStream::new(),
            ending: Some(call_on_return_type(
                sig,
                quote!(::factory_observability::__private::Decision::of),
            )),
        },
        Macro::Agent => OwnParts {
            name: named(),
            records: agent_records(args, description),
            ending: None,
        },
        Macro::Tool => OwnParts {
            name: named(),
            records: tool_records(args, sig, description),
            ending: (args.capture_content == Some(true)).then(tool_result),
        },
    })
}

/// The fn's doc comment (`///` lines and `#[doc = "..."]`), its lines trimmed and joined: an
/// agent's `gen_ai.agent.description`, a tool's `gen_ai.tool.description`.
fn doc_comment(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value().trim().to_owned()),
            _ => None,
        })
        .collect();
    // Paragraphs stay apart; the lines of one paragraph join with spaces.
    let mut text = String::new();
    for line in lines {
        if line.is_empty() {
            if !text.is_empty() && !text.ends_with("\n\n") {
                text.push_str("\n\n");
            }
        } else {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push(' ');
            }
            text.push_str(&line);
        }
    }
    text.trim_end().to_owned()
}

/// A string literal or an expression evaluated at call time, as the runtime's `StringValue`.
fn text_value(expr: &Expr) -> TokenStream {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(literal),
            ..
        }) => quote!(::factory_observability::__private::StringValue::from(#literal)),
        expr => call_at(
            expr,
            quote!(::factory_observability::__private::text),
            reference_at(expr),
        ),
    }
}

/// `Fields::method(recorder, &(value))`, reported on all of `value` when it is not `Display`.
fn record_display(method: &str, value: &Expr) -> TokenStream {
    let recorder = ident("__fo_fields");
    let method = syn::Ident::new(method, Span::call_site());
    let reference = reference_at(value);
    let record = call_at(
        value,
        quote!(::factory_observability::__private::Fields::#method),
        quote!(#recorder, #reference),
    );
    quote!(#record;)
}

/// `#[agent]`: description, version and kind first (known at compile time), then what is
/// evaluated at call time.
fn agent_records(args: &Args, description: &str) -> TokenStream {
    let recorder = ident("__fo_fields");
    let version = match &args.version {
        Some(version) => quote!(::core::option::Option::Some(#version)),
        None => quote!(::core::option::Option::None),
    };
    let remote = args.remote.is_some();
    let mut records = quote!(#recorder.agent(#description, #version, #remote););
    if let Some(provider) = &args.provider {
        let provider = text_value(provider);
        records.extend(quote!(#recorder.agent_provider(#provider);));
    }
    if let Some(model) = &args.model {
        let model = text_value(model);
        records.extend(quote!(#recorder.agent_model(#model);));
    }
    if let Some(id) = &args.agent_id {
        records.extend(record_display("agent_id", id));
    }
    if let Some(conversation) = &args.conversation_id {
        records.extend(record_display("conversation_id", conversation));
    }
    records
}

/// `#[tool]`: description and kind, the call id, and with `capture_content` each argument by
/// name (a type that is not `serde::Serialize` is reported at the argument).
fn tool_records(args: &Args, sig: &Signature, description: &str) -> TokenStream {
    let recorder = ident("__fo_fields");
    let kind = args
        .tool_kind
        .as_ref()
        .map_or_else(|| "function".to_owned(), LitStr::value);
    let mut records = quote!(#recorder.tool(#description, #kind););
    if let Some(call_id) = &args.call_id {
        records.extend(record_display("tool_call_id", call_id));
    }
    if args.capture_content == Some(true) {
        for name in argument_names(sig).iter().filter(|name| *name != "self") {
            let key = name.to_string();
            let record = call_at(
                name,
                quote!(::factory_observability::__private::Fields::tool_argument),
                quote!(#recorder, #key, &#name),
            );
            records.extend(quote!(#record;));
        }
    }
    records
}

/// A `#[tool(capture_content)]`'s result: the value, or a `Result`'s `Ok` value, as JSON when its
/// type is `serde::Serialize` (decided by autoref specialisation), and only when the call
/// captures it (`__fo_capture`, read from the call when it starts).
fn tool_result() -> TokenStream {
    let value = ident("__fo_ret");
    let capture = ident("__fo_capture");
    quote! {{
        #[allow(unused_imports)]
        use ::factory_observability::__private::{
            ViaNotSerialize as _, ViaResultSerialize as _, ViaSerialize as _,
        };
        (&&&::factory_observability::__private::ToolResultOf(#value, #capture)).__fo_tool_result()
    }}
}

/// The spans of the first and the last token of `tokens`. An expression generated with its first
/// token at `first` and its last at `last` is reported on all of `tokens`: a `Span::join` that
/// works on stable Rust.
fn first_last(tokens: &dyn ToTokens) -> (Span, Span) {
    let mut tokens = tokens.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    (first, last)
}

/// `function(argument)`, reported on all of `at` when the argument does not fit the function.
/// `function` must be a path that resolves anywhere (`::crate::...`): it takes `at`'s span.
pub(crate) fn call_at(
    at: &dyn ToTokens,
    function: TokenStream,
    argument: TokenStream,
) -> TokenStream {
    let (first, last) = first_last(at);
    let function = respan(function, first);
    let argument = quote_spanned!(last=> (#argument));
    quote!(#function #argument)
}

/// `tokens` with every token at `span`.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}

/// `&(value)`, reported on all of `value`.
fn reference_at(value: &Expr) -> TokenStream {
    let (first, last) = first_last(value);
    let reference = quote_spanned!(first=> &);
    let group = quote_spanned!(last=> (#value));
    quote!(#reference #group)
}

/// `function(identity(value))`, reported on the return type (or on the fn's name when it has
/// none), where the user reads the type that does not fit. All its tokens take the type's first
/// span: spanning it over the whole type makes rustc add a second, redundant label.
fn call_on_return_type(sig: &Signature, function: TokenStream) -> TokenStream {
    let value = ident("__fo_ret");
    let span = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) => first_last(ty).0,
    };
    let function = respan(function, span);
    quote_spanned!(span=> #function(::core::convert::identity(#value)))
}

fn llm_parts(args: &Args, sig: &Signature) -> syn::Result<OwnParts> {
    let recorder = ident("__fo_fields");
    let value = ident("__fo_ret");
    let text = |expr: &Option<Expr>| match expr {
        Some(Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(literal),
            ..
        })) => quote!(::factory_observability::__private::StringValue::from(#literal)),
        Some(expr) => call_at(
            expr,
            quote!(::factory_observability::__private::text),
            reference_at(expr),
        ),
        None => quote!(::factory_observability::__private::StringValue::from(
            "unknown"
        )),
    };
    let provider = text(&args.provider);
    let model = text(&args.model);
    let mut records = quote!(#recorder.llm(#provider, #model););
    if let Some(prompt) = &args.prompt {
        if let Some(error) = no_such_argument(prompt, &format!("prompt = {prompt}"), sig) {
            return Err(error);
        }
        records.extend(quote_spanned!(prompt.span()=> #recorder.prompt(&#prompt);));
    }
    let ending = match &args.usage {
        // A function returning something else than usage is reported on all of it.
        Some(usage) => call_at(
            usage,
            quote!(::factory_observability::__private::usage_with),
            quote!(#value, #usage),
        ),
        // A missing `TokenUsage` impl is reported on the return type.
        None => call_on_return_type(
            sig,
            quote!(::factory_observability::__private::LlmResponse::of),
        ),
    };
    Ok(OwnParts {
        name: args
            .operation
            .as_ref()
            .map_or_else(|| "chat".to_owned(), LitStr::value),
        records,
        ending: Some(ending),
    })
}

/// The names the function's arguments bind (`self` included), also inside patterns.
fn argument_names(sig: &Signature) -> Vec<syn::Ident> {
    fn bound(pat: &syn::Pat, names: &mut Vec<syn::Ident>) {
        match pat {
            syn::Pat::Ident(pat) => {
                names.push(pat.ident.clone());
                if let Some((_, sub)) = &pat.subpat {
                    bound(sub, names);
                }
            }
            syn::Pat::Tuple(tuple) => tuple.elems.iter().for_each(|p| bound(p, names)),
            syn::Pat::TupleStruct(tuple) => tuple.elems.iter().for_each(|p| bound(p, names)),
            syn::Pat::Slice(slice) => slice.elems.iter().for_each(|p| bound(p, names)),
            syn::Pat::Or(or) => or.cases.iter().for_each(|p| bound(p, names)),
            syn::Pat::Struct(record) => record.fields.iter().for_each(|f| bound(&f.pat, names)),
            syn::Pat::Reference(reference) => bound(&reference.pat, names),
            syn::Pat::Paren(paren) => bound(&paren.pat, names),
            syn::Pat::Type(typed) => bound(&typed.pat, names),
            _ => {}
        }
    }
    let mut names = Vec::new();
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(receiver) => {
                names.push(syn::Ident::new("self", receiver.self_token.span));
            }
            syn::FnArg::Typed(typed) => bound(&typed.pat, &mut names),
        }
    }
    names
}

/// `let __fo_call = Call::start(&SITE, |fields| ...);` (`starter` is `Call` or `SyncCall`)
fn start_call(
    which: Macro,
    own: &OwnParts,
    function: &TokenStream,
    args: &Args,
    starter: &TokenStream,
) -> TokenStream {
    let OwnParts {
        name,
        records: own_records,
        ..
    } = own;
    let kind = syn::Ident::new(which.call_kind(), Span::call_site());
    let call = ident("__fo_call");
    let recorder = ident("__fo_fields");
    let site = ident("__FO_SITE");
    let records = args.fields.iter().map(|field| {
        let key = &field.key;
        let value = &field.value;
        // A string literal is recorded as a `&'static str`: no copy of it at each call.
        let is_literal = matches!(
            value,
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(_),
                ..
            })
        );
        let record = if is_literal {
            call_at(
                value,
                quote!(::factory_observability::__private::Fields::record_static),
                quote!(#recorder, #key, #value),
            )
        } else {
            let reference = reference_at(value);
            call_at(
                value,
                quote!(::factory_observability::__private::Fields::record),
                quote!(#recorder, #key, #reference),
            )
        };
        quote!(#record;)
    });
    let run_id = args.run_id.as_ref().map(|value| {
        let reference = reference_at(value);
        let record = call_at(
            value,
            quote!(::factory_observability::__private::Fields::run_id),
            quote!(#recorder, #reference),
        );
        quote!(#record;)
    });
    let checks = reserved_checks(which, &args.fields);
    // A tool's result is serialized only when the call captures it.
    let captures_result = (which == Macro::Tool && args.capture_content == Some(true)).then(|| {
        let capture = ident("__fo_capture");
        quote!(let #capture: bool = #call.captures_output();)
    });
    quote! {
        #checks
        static #site: ::factory_observability::__private::CallSite = ::factory_observability::__private::CallSite {
            kind: ::factory_observability::__private::CallKind::#kind,
            name: #name,
            function: #function,
            cache: ::factory_observability::__private::SiteCache::new(),
        };
        let #call = ::factory_observability::__private::#starter::start(
            &#site,
            |#recorder: &mut ::factory_observability::__private::Fields| {
                let _ = &#recorder;
                #own_records
                #(#records)*
                #run_id
            },
        );
        #captures_result
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

/// The future a body builds and returns: `Box::pin(async move { ... })` (what `#[async_trait]`
/// generates) or a trailing `async move { ... }` block.
enum ReturnedFuture<'a> {
    Async(&'a syn::ExprAsync),
    BoxPinned(&'a Expr, &'a syn::ExprAsync),
}

fn returned_future(block: &Block) -> Option<(ReturnedFuture<'_>, &[Stmt])> {
    let (last, rest) = block.stmts.split_last()?;
    let Stmt::Expr(tail, None) = last else {
        return None;
    };
    let future = match tail {
        Expr::Async(future) => ReturnedFuture::Async(future),
        Expr::Call(call) if is_box_pin(&call.func) && call.args.len() == 1 => {
            let Some(Expr::Async(future)) = call.args.first() else {
                return None;
            };
            ReturnedFuture::BoxPinned(&call.func, future)
        }
        _ => return None,
    };
    Some((future, rest))
}

fn returns_future(block: &Block) -> bool {
    returned_future(block).is_some()
}

/// Bodies that build and return a future (see [`returned_future`]): the future is
/// instrumented, not its creation, so the span covers the work.
fn instrument_returned_future(
    block: &Block,
    start: &TokenStream,
    completion: &Completion,
) -> Option<TokenStream> {
    let (future, rest) = returned_future(block)?;
    let rebuilt = match future {
        ReturnedFuture::Async(future) => {
            let wrapped = instrument_async(start, future.to_token_stream(), completion);
            quote!(async move { #wrapped })
        }
        ReturnedFuture::BoxPinned(func, future) => {
            let wrapped = instrument_async(start, future.to_token_stream(), completion);
            quote!(#func(async move { #wrapped }))
        }
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
            sync: quote!(run),
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
    match &sig.output {
        ReturnType::Type(_, ty) if contains_impl_trait(ty) => {}
        ReturnType::Type(_, ty) => {
            return Err(syn::Error::new_spanned(ty, STREAM_RETURN));
        }
        ReturnType::Default => return Err(syn::Error::new(flag.span(), STREAM_RETURN)),
    }
    // The value's type decides how the stream takes the call (a `Result` of a stream or a
    // stream), not the spelling of the return type: an alias of `Result` works.
    let chunk = classify(None);
    let result = classify(None);
    let call = ident("__fo_call");
    let value = ident("__fo_ret");
    let hand = quote! {
        |#call, #value| {
            #[allow(unused_imports)]
            use ::factory_observability::__private::{ViaPlainStream as _, ViaStreamInResult as _};
            (&&::factory_observability::__private::StreamShape(&#value))
                .__fo_stream_shape()
                .complete(#call, #value, #chunk, #result)
        }
    };
    Ok(Completion {
        sync: quote!(run_sync_stream),
        r#async: quote!(instrument_stream),
        args: hand,
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
