//! Parsing of the macros' arguments into [`Args`], with one error per mistake, all combined: a
//! mistake in one argument does not hide the mistakes in the others.

pub mod capture;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Ident, LitStr, Token};

/// Which macro is parsing; each accepts its own keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Macro {
    PipelineRun,
    PipelineStage,
    LlmCall,
    Adjudicate,
    Handler,
    Agent,
    Tool,
}

impl Macro {
    pub fn attribute(self) -> &'static str {
        match self {
            Macro::PipelineRun => "#[pipeline_run]",
            Macro::PipelineStage => "#[pipeline_stage]",
            Macro::LlmCall => "#[llm_call]",
            Macro::Adjudicate => "#[adjudicate]",
            Macro::Handler => "#[handler]",
            Macro::Agent => "#[agent]",
            Macro::Tool => "#[tool]",
        }
    }

    /// The runtime's `CallKind` variant.
    pub fn call_kind(self) -> &'static str {
        match self {
            Macro::PipelineRun => "Run",
            Macro::PipelineStage => "Stage",
            Macro::LlmCall => "LlmCall",
            Macro::Adjudicate => "Adjudicate",
            Macro::Handler => "Handler",
            Macro::Agent => "Agent",
            Macro::Tool => "Tool",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Macro::PipelineRun => &["name", "run_id", "fields", "capture"],
            Macro::PipelineStage => &["name", "fields", "capture"],
            Macro::LlmCall => &[
                "provider",
                "model",
                "prompt",
                "operation",
                "usage",
                "stream",
                "fields",
                "capture",
                "capture_content",
            ],
            Macro::Adjudicate => &["name", "fields", "capture"],
            Macro::Handler => &["name", "fields"],
            Macro::Agent => &[
                "name",
                "id",
                "version",
                "provider",
                "model",
                "conversation_id",
                "remote",
                "fields",
                "capture",
            ],
            Macro::Tool => &["name", "kind", "call_id", "capture_content", "fields"],
        }
    }

    fn accepted(self) -> String {
        self.keys()
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How each argument is written, for the messages.
fn example(key: &str) -> &'static str {
    match key {
        "name" => "name = \"typecheck\"",
        "run_id" => "run_id = spec.id",
        "provider" => "provider = \"openai\"",
        "model" => "model = \"gpt-5.3-codex\"",
        "prompt" => "prompt = messages",
        "operation" => "operation = \"chat\"",
        "usage" => "usage = |reply: &Reply| reply.usage",
        "stream" => "stream",
        "capture" => "capture(args = [spec, files])",
        "capture_content" => "capture_content",
        "id" => "id = self.id",
        "version" => "version = \"2.1\"",
        "conversation_id" => "conversation_id = task.conversation.as_str()",
        "remote" => "remote",
        "kind" => "kind = \"function\"",
        "call_id" => "call_id = call.id.as_str()",
        _ => "fields(file_count = files.len())",
    }
}

/// One `fields(key = value)` entry.
pub struct Field {
    /// The attribute key, e.g. `stage.files` from `stage.files = ...` or `"stage.files" = ...`.
    pub key: String,
    /// The key as written, for errors that point at all of it.
    pub key_tokens: TokenStream,
    /// Whether the key follows the OpenTelemetry naming rules (else an error was reported).
    pub key_is_valid: bool,
    pub value: Expr,
}

/// The parsed arguments of one macro.
#[derive(Default)]
pub struct Args {
    pub name: Option<LitStr>,
    pub run_id: Option<Expr>,
    pub fields: Vec<Field>,
    /// `#[llm_call]`: a string literal or an expression evaluated at call time.
    pub provider: Option<Expr>,
    pub model: Option<Expr>,
    /// `#[llm_call]`: the argument holding the prompt.
    pub prompt: Option<Ident>,
    pub operation: Option<LitStr>,
    /// `#[llm_call]`: a function from `&ReturnType` to usage.
    pub usage: Option<Expr>,
    /// `#[llm_call(stream)]`: the function returns a stream of chunks.
    pub stream: Option<Ident>,
    /// `capture(args = [...])`: arguments whose `Debug` text is captured (see `capture.rs`).
    pub capture: capture::CaptureArgs,
    /// `#[llm_call(capture_content)]` or `capture_content = false`.
    pub capture_content: Option<bool>,
    /// The `impl` block's type, passed by `#[pipeline]` to a method's own `#[pipeline_stage]`.
    pub owner: Option<String>,
    /// `#[agent(id = expr)]`: `gen_ai.agent.id`, any `Display`.
    pub agent_id: Option<Expr>,
    /// `#[agent(version = "...")]`: `gen_ai.agent.version`.
    pub version: Option<LitStr>,
    /// `#[agent(conversation_id = expr)]`: `gen_ai.conversation.id`, any `Display`.
    pub conversation_id: Option<Expr>,
    /// `#[agent(remote)]`: the agent runs in another service (span kind CLIENT).
    pub remote: Option<Ident>,
    /// `#[tool(kind = "...")]`: `gen_ai.tool.type`, one of [`TOOL_KINDS`].
    pub tool_kind: Option<LitStr>,
    /// `#[tool(call_id = expr)]`: `gen_ai.tool.call.id`, any `Display`.
    pub call_id: Option<Expr>,
}

/// The values of `#[tool(kind = ...)]`: the tool types the GenAI conventions describe
/// (`gen_ai.tool.type`; the runtime's `names::agent::TOOL_TYPES`, which a test compares).
pub const TOOL_KINDS: &[&str] = &["function", "extension", "datastore"];

/// The hidden argument by which `#[pipeline]` tells a method's own `#[pipeline_stage(...)]` the
/// type of its `impl` block (the inner attribute still expands itself, so its import stays used).
pub const OWNER_KEY: &str = "__pipeline_owner";

/// One `key = value`, `key(...)` or `key` argument before it is checked against the macro's keys.
enum RawArg {
    Value(Ident, Expr),
    List(Ident, TokenStream),
    Bare(Ident),
}

impl RawArg {
    fn key(&self) -> &Ident {
        match self {
            RawArg::Value(key, _) | RawArg::List(key, _) | RawArg::Bare(key) => key,
        }
    }
}

fn parse_raw_arg(which: Macro, input: ParseStream) -> syn::Result<RawArg> {
    if !input.peek(Ident::peek_any) {
        let token: TokenTree = input.parse()?;
        let message = match syn::parse2::<LitStr>(token.to_token_stream()) {
            Ok(name) if which.keys().contains(&"name") => format!(
                "arguments are named: write `name = {}`",
                name.to_token_stream()
            ),
            _ => format!(
                "expected an argument such as `{}`: {} accepts {}",
                which
                    .keys()
                    .first()
                    .map_or("name = \"...\"", |key| example(key)),
                which.attribute(),
                which.accepted()
            ),
        };
        return Err(syn::Error::new(token.span(), message));
    }
    let key: Ident = input.call(Ident::parse_any)?;
    if input.peek(Token![=]) {
        let equals: Token![=] = input.parse()?;
        if input.is_empty() || input.peek(Token![,]) {
            return Err(syn::Error::new(
                equals.span,
                format!(
                    "`{key}` needs a value after `=`, e.g. `{}`",
                    example(&key.to_string())
                ),
            ));
        }
        Ok(RawArg::Value(key, input.parse()?))
    } else if input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in input);
        Ok(RawArg::List(key, content.parse()?))
    } else if input.is_empty() || input.peek(Token![,]) {
        Ok(RawArg::Bare(key))
    } else {
        let token: TokenTree = input.parse()?;
        Err(syn::Error::new(
            token.span(),
            format!(
                "expected `=` after `{key}`: write `{}`",
                example(&key.to_string())
            ),
        ))
    }
}

/// Parses a comma-separated list with `item`, reporting a mistake in one item and going on with
/// the next.
fn parse_list<T>(
    tokens: TokenStream,
    errors: &mut Errors,
    item: impl Fn(ParseStream) -> syn::Result<T>,
) -> Vec<T> {
    let mut items = Vec::new();
    let parser = |input: ParseStream| -> syn::Result<()> {
        while !input.is_empty() {
            match item(input) {
                Ok(parsed) => {
                    if input.is_empty() || input.peek(Token![,]) {
                        items.push(parsed);
                    } else {
                        let token: TokenTree = input.parse()?;
                        errors.push(syn::Error::new(
                            token.span(),
                            "expected `,` before this: separate the arguments with commas",
                        ));
                    }
                }
                Err(error) => errors.push(error),
            }
            while !input.is_empty() && !input.peek(Token![,]) {
                input.parse::<TokenTree>()?;
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(())
    };
    if let Err(error) = parser.parse2(tokens) {
        errors.push(error);
    }
    items
}

/// Parses `tokens` as the arguments of `which`. Returns what could be parsed, and every mistake.
pub fn parse(which: Macro, tokens: TokenStream) -> (Args, Errors) {
    let mut errors = Errors::default();
    let raw = parse_list(tokens, &mut errors, |input| parse_raw_arg(which, input));
    let mut args = Args::default();
    let mut seen: Vec<String> = Vec::new();
    for arg in raw {
        let key = arg.key().clone();
        let text = key.unraw().to_string();
        if text == OWNER_KEY && which == Macro::PipelineStage {
            if let RawArg::Value(
                _,
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(owner),
                    ..
                }),
            ) = arg
            {
                args.owner = Some(owner.value());
            }
            continue;
        }
        if !which.keys().contains(&text.as_str()) {
            errors.push(syn::Error::new(key.span(), unknown_key(which, &text)));
            continue;
        }
        if seen.contains(&text) {
            let message = if text == "fields" {
                "`fields` is given twice: put every field in one `fields(...)`, e.g. `fields(a = 1, b = 2)`".to_owned()
            } else {
                format!("`{text}` is given twice; keep one")
            };
            errors.push(syn::Error::new(key.span(), message));
            continue;
        }
        seen.push(text.clone());
        match (text.as_str(), arg) {
            ("name", RawArg::Value(_, value)) => match value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(name),
                    ..
                }) => {
                    if name.value().trim().is_empty() {
                        errors.push(syn::Error::new_spanned(
                            name,
                            "`name` cannot be empty: write a name, e.g. `name = \"typecheck\"`, or leave `name` out to use the function's name",
                        ));
                    } else {
                        args.name = Some(name);
                    }
                }
                Expr::Lit(other) => errors.push(syn::Error::new_spanned(
                    other,
                    "`name` takes a string literal, e.g. `name = \"typecheck\"`",
                )),
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "`name` takes a string literal, e.g. `name = \"typecheck\"`: names label metrics, so they are fixed at compile time; record a value known at run time with `fields(key = value)`",
                )),
            },
            ("run_id", RawArg::Value(_, value)) => args.run_id = Some(value),
            ("id", RawArg::Value(_, value)) => args.agent_id = Some(value),
            ("conversation_id", RawArg::Value(_, value)) => args.conversation_id = Some(value),
            ("call_id", RawArg::Value(_, value)) => args.call_id = Some(value),
            ("version", RawArg::Value(_, value)) => match value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(version),
                    ..
                }) if !version.value().trim().is_empty() => args.version = Some(version),
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "`version` takes a string literal, e.g. `version = \"2.1\"`: it is the agent's code version, fixed at compile time",
                )),
            },
            ("kind", RawArg::Value(_, value)) => match tool_kind(&value) {
                Ok(kind) => args.tool_kind = Some(kind),
                Err(error) => errors.push(error),
            },
            ("remote", RawArg::Bare(flag)) => args.remote = Some(flag),
            ("remote", _) => errors.push(syn::Error::new(
                key.span(),
                "`remote` takes no value: write `#[agent(..., remote)]` for an agent that runs in another service",
            )),
            ("provider" | "model", RawArg::Value(_, value)) => match non_string_literal(&value) {
                Some(literal) => errors.push(syn::Error::new_spanned(
                    literal,
                    format!("`{text}` takes a string literal or an expression evaluated at call time, e.g. `{}` or `{text} = self.{text}.as_str()`", example(&text)),
                )),
                None if text == "provider" => args.provider = Some(value),
                None => args.model = Some(value),
            },
            ("prompt", RawArg::Value(_, value)) => match value {
                Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
                    args.prompt = path.path.get_ident().cloned();
                }
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "`prompt` takes the name of an argument holding the prompt text, e.g. `prompt = messages`",
                )),
            },
            ("operation", RawArg::Value(_, value)) => match value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(operation),
                    ..
                }) if !operation.value().trim().is_empty() => args.operation = Some(operation),
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "`operation` takes a string literal, e.g. `operation = \"chat\"` or `operation = \"embeddings\"`",
                )),
            },
            ("usage", RawArg::Value(_, value)) => args.usage = Some(value),
            ("stream", RawArg::Bare(flag)) => args.stream = Some(flag),
            ("stream", _) => errors.push(syn::Error::new(
                key.span(),
                "`stream` takes no value: write `#[llm_call(..., stream)]` on a function returning `impl Stream`",
            )),
            ("capture", RawArg::List(_, tokens)) => {
                args.capture = capture::parse_capture(tokens, &mut errors);
            }
            ("capture", _) => errors.push(syn::Error::new(
                key.span(),
                "`capture` takes a list, e.g. `capture(args = [spec, files])`",
            )),
            ("capture_content", RawArg::Bare(_)) => args.capture_content = Some(true),
            ("capture_content", RawArg::Value(_, Expr::Lit(syn::ExprLit { lit: syn::Lit::Bool(on), .. }))) => {
                args.capture_content = Some(on.value);
            }
            ("capture_content", _) => errors.push(syn::Error::new(
                key.span(),
                "`capture_content` takes no value (capture this call's content: an LLM call's prompt and completion, a tool's arguments and result) or `= false` (never capture them here, whatever the process-wide setting)",
            )),
            ("fields", RawArg::List(_, tokens)) => args.fields = parse_fields(tokens, &mut errors),
            ("fields", _) => errors.push(syn::Error::new(
                key.span(),
                "`fields` takes a list, e.g. `fields(file_count = files.len())`",
            )),
            (_, _) => errors.push(syn::Error::new(
                key.span(),
                format!("`{text}` takes a value, e.g. `{}`", example(&text)),
            )),
        }
    }
    if which == Macro::LlmCall {
        let missing: Vec<&str> = ["provider", "model"]
            .into_iter()
            .filter(|key| !seen.iter().any(|k| k == key))
            .collect();
        if !missing.is_empty() {
            let needs = missing
                .iter()
                .map(|key| format!("`{key} = ...`"))
                .collect::<Vec<_>>()
                .join(" and ");
            errors.push(syn::Error::new(
                Span::call_site(),
                format!("#[llm_call] needs {needs}, e.g. #[llm_call(provider = \"openai\", model = \"gpt-5.3-codex\")]"),
            ));
        }
    }
    (args, errors)
}

/// `kind = "function"`: one of [`TOOL_KINDS`], else an error at the value saying which to write.
fn tool_kind(value: &Expr) -> syn::Result<LitStr> {
    let accepted = TOOL_KINDS
        .iter()
        .map(|k| format!("\"{k}\""))
        .collect::<Vec<_>>()
        .join(", ");
    match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(kind),
            ..
        }) => {
            let text = kind.value();
            if TOOL_KINDS.contains(&text.as_str()) {
                return Ok(kind.clone());
            }
            let near = TOOL_KINDS
                .iter()
                .find(|k| edit_distance(k, &text.to_lowercase()) <= 2)
                .map_or_else(String::new, |k| format!("did you mean `kind = \"{k}\"`? "));
            Err(syn::Error::new_spanned(
                kind,
                format!("`kind` is the tool's `gen_ai.tool.type`, one of {accepted}: {near}write e.g. `kind = \"function\"` for a tool this program runs"),
            ))
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!("`kind` takes a string literal, one of {accepted}, e.g. `kind = \"function\"`"),
        )),
    }
}

/// A literal that is not a string, where a string or an expression is expected.
fn non_string_literal(value: &Expr) -> Option<&Expr> {
    match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(_),
            ..
        }) => None,
        Expr::Lit(_) => Some(value),
        _ => None,
    }
}

fn parse_fields(tokens: TokenStream, errors: &mut Errors) -> Vec<Field> {
    let entries = parse_list(tokens, errors, parse_field);
    let mut fields: Vec<Field> = Vec::new();
    for field in entries {
        if fields.iter().any(|f| f.key == field.key) {
            errors.push(syn::Error::new_spanned(
                &field.key_tokens,
                format!("the field `{}` is given twice; keep one", field.key),
            ));
            continue;
        }
        if let Some(problem) = key_problem(&field.key) {
            errors.push(syn::Error::new_spanned(&field.key_tokens, problem));
            fields.push(Field {
                key_is_valid: false,
                ..field
            });
            continue;
        }
        fields.push(field);
    }
    fields
}

/// `key = value`, where the key is a dotted name (`stage.files`), a string literal
/// (`"stage.files"`), or anything else up to `=`, which is then checked against the naming rules.
fn parse_field(input: ParseStream) -> syn::Result<Field> {
    let mut key_tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) && !input.peek(Token![=]) {
        let token: TokenTree = input.parse()?;
        key_tokens.extend([token]);
    }
    let key = key_text(&key_tokens);
    if key_tokens.is_empty() {
        let message = "expected a field `key = value`, e.g. `fields(file_count = files.len())`";
        return Err(if input.is_empty() {
            syn::Error::new(Span::call_site(), message)
        } else {
            let token: TokenTree = input.fork().parse()?;
            syn::Error::new(token.span(), message)
        });
    }
    if !input.peek(Token![=]) {
        return Err(syn::Error::new_spanned(
            &key_tokens,
            format!("the field `{key}` needs a value: `{key} = <expression>`"),
        ));
    }
    let equals: Token![=] = input.parse()?;
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(
            equals.span,
            format!("the field `{key}` needs a value after `=`: `{key} = <expression>`"),
        ));
    }
    Ok(Field {
        key,
        key_tokens,
        key_is_valid: true,
        value: input.parse()?,
    })
}

/// The key as the attribute name it becomes: a string literal's value, or the tokens' text.
fn key_text(tokens: &TokenStream) -> String {
    if let Ok(literal) = syn::parse2::<LitStr>(tokens.clone()) {
        return literal.value();
    }
    tokens
        .clone()
        .into_iter()
        .map(|token| match token {
            TokenTree::Ident(ident) => ident.unraw().to_string(),
            other => other.to_string(),
        })
        .collect()
}

/// Longest attribute name accepted.
const MAX_KEY_LEN: usize = 255;

/// The OpenTelemetry attribute naming rule `key` breaks, with a key that follows them all.
pub fn key_problem(key: &str) -> Option<String> {
    let shown = if key.chars().count() > 40 {
        format!("{}...", key.chars().take(32).collect::<String>())
    } else {
        key.to_owned()
    };
    let rule = if key.is_empty() {
        "it is empty"
    } else if !key
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    {
        "attribute names use only lowercase ASCII letters, digits, `_` and `.`"
    } else if !key.as_bytes().first().is_some_and(u8::is_ascii_lowercase) {
        "attribute names start with a letter"
    } else if key.split('.').any(str::is_empty) {
        "attribute names have no empty segment (no leading, trailing or double `.`)"
    } else if key.len() > MAX_KEY_LEN {
        return Some(format!(
            "`{shown}` is not a valid OpenTelemetry attribute name: it has {} characters, and attribute names have at most {MAX_KEY_LEN}; use a shorter key",
            key.len()
        ));
    } else {
        return None;
    };
    Some(format!(
        "`{shown}` is not a valid OpenTelemetry attribute name: {rule}; use `{}`",
        fixed_key(key)
    ))
}

/// `key` made to follow the naming rules: `Stage-Files` → `stage_files`, `stageFiles` →
/// `stage_files`, `.files.` → `files`, `1st` → `app.1st`.
fn fixed_key(key: &str) -> String {
    let mut text = String::new();
    let mut previous: Option<char> = None;
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if previous.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit()) {
                text.push('_');
            }
            text.push(c.to_ascii_lowercase());
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
            text.push(c);
        } else {
            text.push('_');
        }
        previous = Some(c);
    }
    let segments: Vec<String> = text
        .split('.')
        .map(|segment| {
            segment
                .split('_')
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("_")
        })
        .filter(|segment| !segment.is_empty())
        .collect();
    let mut fixed = segments.join(".");
    if !fixed.starts_with(|c: char| c.is_ascii_lowercase()) {
        fixed = if fixed.is_empty() {
            "app.value".to_owned()
        } else {
            format!("app.{fixed}")
        };
    }
    if fixed.len() > MAX_KEY_LEN {
        fixed.truncate(MAX_KEY_LEN);
        let kept = fixed.trim_end_matches(['.', '_']).len();
        fixed.truncate(kept);
    }
    fixed
}

fn unknown_key(which: Macro, key: &str) -> String {
    let keys = which.keys();
    let list = which.accepted();
    let elsewhere = [
        Macro::PipelineRun,
        Macro::PipelineStage,
        Macro::LlmCall,
        Macro::Adjudicate,
        Macro::Handler,
        Macro::Agent,
        Macro::Tool,
    ]
    .into_iter()
    .find(|other| other.keys().contains(&key));
    if let Some(other) = elsewhere {
        return format!(
            "unknown argument `{key}` for {}: `{key}` is an argument of {}; {} accepts {list}",
            which.attribute(),
            other.attribute(),
            which.attribute()
        );
    }
    match keys.iter().find(|k| edit_distance(k, key) <= 2) {
        Some(near) => format!(
            "unknown argument `{key}` for {}: did you mean `{near}`? It accepts {list}",
            which.attribute()
        ),
        None => format!(
            "unknown argument `{key}` for {}: it accepts {list}",
            which.attribute()
        ),
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// Errors gathered while parsing and checking, returned together.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(edit_distance("nmae", "name"), 2);
        assert!(unknown_key(Macro::PipelineStage, "nmae").contains("did you mean `name`?"));
        assert!(unknown_key(Macro::LlmCall, "modle").contains("did you mean `model`?"));
        assert!(!unknown_key(Macro::PipelineStage, "timeout").contains("did you mean"));
    }

    #[test]
    fn valid_keys_pass() {
        for key in ["a", "stage.files", "app.count_2", "x.y.z", "file_count"] {
            assert_eq!(key_problem(key), None, "{key}");
        }
        assert_eq!(key_problem(&"a".repeat(255)), None);
    }

    #[test]
    fn each_rule_is_named_with_a_fix() {
        let cases = [
            ("Stage-Files", "only lowercase ASCII", "stage_files"),
            ("stageFiles", "only lowercase ASCII", "stage_files"),
            ("größe", "only lowercase ASCII", "gr_e"),
            ("1files", "start with a letter", "app.1files"),
            ("_files", "start with a letter", "files"),
            ("stage..files", "no empty segment", "stage.files"),
            ("stage.", "no empty segment", "stage"),
            ("", "it is empty", "app.value"),
        ];
        for (key, rule, fixed) in cases {
            let problem = key_problem(key).unwrap_or_default();
            assert!(problem.contains(rule), "{key}: {problem}");
            assert!(
                problem.ends_with(&format!("use `{fixed}`")),
                "{key}: {problem}"
            );
        }
        let long = key_problem(&"a".repeat(256)).unwrap_or_default();
        assert!(long.contains("at most 255"), "{long}");
    }

    #[test]
    fn fixed_keys_are_valid() {
        for key in [
            "Stage-Files",
            "...",
            "_",
            "9",
            "a..B..c",
            "ÄÖÜ",
            "x-y z",
            &"A".repeat(600),
            &"a.".repeat(300),
        ] {
            let fixed = fixed_key(key);
            assert_eq!(key_problem(&fixed), None, "{key} -> {fixed}");
        }
    }

    #[test]
    fn every_mistake_is_reported() {
        let (args, errors) = parse(
            Macro::PipelineStage,
            quote!("x", nmae = 1, name: "y", fields(Bad-Key = 1, ok = 2, = 3, c)),
        );
        let Err(error) = errors.finish() else {
            panic!("expected errors");
        };
        assert_eq!(error.into_iter().count(), 6);
        assert_eq!(args.fields.len(), 2);
    }
}
