#![warn(missing_docs)]
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

/// Makes a function one pipeline run: root span `pipeline.run` (a child when a context is
/// active, such as a remote parent).
///
/// ```text
/// #[pipeline_run]                                   // pipeline.name = the fn name
/// #[pipeline_run(name = "new_product")]
/// #[pipeline_run(name = "nightly", run_id = job.id(), fields(app.branch = branch.as_str()))]
/// ```
///
/// Records `pipeline.name`, `run.id` (a UUID v7 unless `run_id = <Display expr>`), `run.timestamp`
/// (RFC 3339), `run.outcome`, `run.duration_ms`, the run's LLM totals (`run.llm.calls`,
/// `run.tokens.input`, `run.tokens.output`, `run.cost_usd`), `code.function.name`; status OK, or
/// ERROR with the error's message, `error.type` and an `exception` event; metrics
/// `pipeline.runs.total` and `pipeline.run.duration` {`pipeline.name`, `outcome`}. Every call under
/// it carries its `run.id`.
///
/// Works on sync and async fns and methods (`&self`, `&mut self`, `self`), generics, `impl Trait`
/// returns, async fns in traits and `#[async_trait]` methods; `?` and `return` keep their meaning;
/// a panic ends the span as `error` and keeps unwinding; a dropped future is a `cancellation`; an
/// async fn's future stays `Send`. Arguments are recorded only when named in `fields(...)`.
#[proc_macro_attribute]
pub fn pipeline_run(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::PipelineRun, args.into(), item.into()).into()
}

/// Makes a function one stage of a pipeline: span `pipeline.stage`.
///
/// ```text
/// #[pipeline_stage]                                 // stage.name = the fn name
/// #[pipeline_stage(name = "typecheck", fields(stage.files = files.len()))]
/// ```
///
/// Records `stage.name`, `stage.attempt` (see `retry_stage`), `stage.outcome`,
/// `stage.duration_ms`, `run.id`, `code.function.name`; the histogram `pipeline.stage.duration`
/// {`stage.name`, `outcome`} and, for attempts after the first, `pipeline.stage.retries.total`.
/// The outcome is read from the returned value at run time: `Ok` is `success`, `Err` is
/// `failure`, a type implementing `Outcome` says its own, anything else is `success`. A stage
/// returning a `TestReport` also records test counts, pass rate and flaky tests. Function shapes
/// and guarantees as for `#[pipeline_run]`.
#[proc_macro_attribute]
pub fn pipeline_stage(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::PipelineStage, args.into(), item.into()).into()
}

/// Makes a function one LLM interaction: span `llm.call`, kind CLIENT.
///
/// ```text
/// #[llm_call(provider = "openai", model = "gpt-5.3-codex")]
/// #[llm_call(provider = self.provider, model = self.model.as_str(), prompt = messages)]
/// #[llm_call(provider = "anthropic", model = "claude-opus-4-5", operation = "chat", stream)]
/// #[llm_call(provider = "openai", model = "m", usage = |reply: &Reply| Usage::new(reply.in_, reply.out))]
/// ```
///
/// `provider` and `model` are required: a literal, or any expression evaluated at call time.
/// The return type implements `TokenUsage` (or pass `usage = fn(&Return) -> Usage/Option<Usage>`);
/// `prompt = argument` names the argument whose text length is recorded and from which input
/// tokens are estimated when the response reports none; `operation` defaults to `chat`; `stream`
/// keeps the call open until the returned `impl Stream` (or `Result<impl Stream, E>`) ends.
/// Records the seed `llm.*` and the GenAI `gen_ai.*` attributes, the cost when the model is
/// priced, and the token, duration, time-to-first-chunk and cost metrics; adds to the run's
/// totals. `capture_content` captures this call's prompt and completion (redacted and cut) as
/// `gen_ai.input.messages` and `gen_ai.output.messages` unless capture is off process-wide;
/// `capture_content = false` never does, whatever the process-wide setting. Every macro also
/// takes `capture(args = [name, ...])`: those arguments' `Debug` text, as `argument.<name>`.
#[proc_macro_attribute]
pub fn llm_call(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::LlmCall, args.into(), item.into()).into()
}

/// Makes a function one adjudication among candidates: span `pipeline.adjudicate`.
///
/// ```text
/// #[adjudicate]                                     // adjudication.name = the fn name
/// #[adjudicate(name = "tournament")]
/// fn choose(candidates: Vec<(Code, TestReport)>) -> Verdict<Code> { ... }
/// ```
///
/// The return type implements `Adjudication` (`Verdict<T>`, `Result<Verdict<T>, E>`, or your own
/// type). Records `adjudication.candidates`, `adjudication.<candidate>_score`, `_tests_passed`,
/// `_tests_total`, `adjudication.selected`, `adjudication.margin`, `adjudication.tie`, one
/// `gen_ai.evaluation.result` event per candidate, and the metrics `adjudication.selected.total`,
/// `adjudication.score` {`candidate`} and `adjudication.margin`. A selected name that is not a
/// candidate is an error on the span, never a panic.
#[proc_macro_attribute]
pub fn adjudicate(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::Adjudicate, args.into(), item.into()).into()
}

/// Makes a function one handler of a product: an HTTP handler (axum extractors, `impl
/// IntoResponse` or `Result<_, E: IntoResponse>` returns), a background job, a CLI command.
///
/// ```text
/// #[handler]                                        // handler.name = the fn name
/// #[handler(name = "create_task", fields(task.title_length = body.title.len()))]
/// ```
///
/// Decided at run time by where it is called:
/// - directly under a request served through `HttpServerLayer`, it opens no span of its own: it
///   adds its `code.function.name`, its `fields(...)` and its error to the request's SERVER span,
///   so that each request stays one span (`{method} {http.route}`);
/// - anywhere else, an INTERNAL span named after the handler with `handler.name`,
///   `handler.outcome`, `code.function.name`, errors as on a stage, and the histogram
///   `handler.duration` {`handler.name`, `outcome`}.
///
/// Function shapes and guarantees as for `#[pipeline_run]`.
#[proc_macro_attribute]
pub fn handler(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::Handler, args.into(), item.into()).into()
}

/// Makes a function one invocation of an agent: span `invoke_agent {name}` (the OpenTelemetry
/// GenAI "Invoke agent internal span"; CLIENT with `remote`).
///
/// ```text
/// #[agent]                                          // gen_ai.agent.name = the fn name
/// #[agent(name = "coder", version = "2.1", provider = "anthropic", model = "claude-opus-4-5")]
/// #[agent(name = "reviewer", id = self.id, conversation_id = task.conversation.as_str(), remote)]
/// ```
///
/// Records `gen_ai.operation.name` = `invoke_agent`, `gen_ai.agent.name`, `gen_ai.agent.id`,
/// `gen_ai.agent.version`, `gen_ai.agent.description` (the fn's doc comment),
/// `gen_ai.provider.name`, `gen_ai.request.model`, `gen_ai.conversation.id` (also carried as
/// baggage to every call under it and to other processes), and at its end the totals of the LLM
/// and tool calls made under it (`gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`,
/// `agent.llm.calls`, `agent.cost_usd`, `agent.tool.calls`, `agent.tool.failures`); outcome and
/// errors as for a stage; the histogram `gen_ai.invoke_agent.duration`. Agents called under an
/// agent nest. Function shapes and guarantees as for `#[pipeline_run]`.
#[proc_macro_attribute]
pub fn agent(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::Agent, args.into(), item.into()).into()
}

/// Makes a function one tool call: span `execute_tool {name}` (the OpenTelemetry GenAI
/// "Execute tool span").
///
/// ```text
/// #[tool]                                           // gen_ai.tool.name = the fn name
/// #[tool(name = "edit_file", kind = "function", call_id = call.id.as_str())]
/// #[tool(name = "run_tests", capture_content)]
/// ```
///
/// Records `gen_ai.operation.name` = `execute_tool`, `gen_ai.tool.name`, `gen_ai.tool.type`
/// (`kind`: `function`, `extension` or `datastore`; default `function`), `gen_ai.tool.call.id`,
/// `gen_ai.tool.description` (the fn's doc comment), the conversation's `gen_ai.conversation.id`,
/// outcome and errors as for a stage, and the histogram `gen_ai.execute_tool.duration`
/// {`gen_ai.tool.name`, `gen_ai.tool.type`, `gen_ai.agent.name`, `outcome`}. With
/// `capture_content`, and unless content capture is off process-wide, the arguments (by name,
/// each `serde::Serialize`) and the result (when it is `Serialize`) as
/// `gen_ai.tool.call.arguments` and `gen_ai.tool.call.result`: JSON, redacted, cut so that it
/// stays valid JSON.
#[proc_macro_attribute]
pub fn tool(args: TokenStream, item: TokenStream) -> TokenStream {
    expand_fn(attr::Macro::Tool, args.into(), item.into()).into()
}

/// Makes every function of an `impl` block a stage, as `#[pipeline_stage]` would, with
/// `code.function.name` = `module::Type::method`.
///
/// ```text
/// #[pipeline]
/// impl Factory {
///     #[skip_stage]                                  // not a stage
///     fn new() -> Self { ... }
///     fn plan(&self) -> Result<Plan, Error> { ... }  // stage "plan"
///     #[pipeline_stage(name = "code")]               // its own arguments win
///     async fn implement(&self) -> Result<Code, Error> { ... }
/// }
/// ```
///
/// Works on inherent and trait impls, generic impls, and with `#[async_trait]` on either side.
#[proc_macro_attribute]
pub fn pipeline(args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::expand(args.into(), item.into()).into()
}

/// Excludes a function from the stages of its `#[pipeline]` impl block. Anywhere else it is a
/// compile error that says so.
#[proc_macro_attribute]
pub fn skip_stage(_args: TokenStream, item: TokenStream) -> TokenStream {
    impl_block::misplaced_skip(item.into()).into()
}

/// `#[pipeline_run]`, `#[pipeline_stage]`, `#[llm_call]`, `#[adjudicate]`, `#[handler]`,
/// `#[agent]` and `#[tool]` on `item`.
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
    let owner = expand::Owner {
        type_name: args.owner.clone(),
    };
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
