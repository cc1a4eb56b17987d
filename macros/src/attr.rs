//! Parsing of the macros' arguments into [`Args`], with one error per mistake, all combined.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, LitStr, Token};

/// Which macro is parsing; each accepts its own keys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Macro {
    PipelineRun,
    PipelineStage,
    LlmCall,
    Adjudicate,
}

impl Macro {
    pub fn attribute(self) -> &'static str {
        match self {
            Macro::PipelineRun => "#[pipeline_run]",
            Macro::PipelineStage => "#[pipeline_stage]",
            Macro::LlmCall => "#[llm_call]",
            Macro::Adjudicate => "#[adjudicate]",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            Macro::PipelineRun => &["name", "run_id", "fields"],
            Macro::PipelineStage => &["name", "fields"],
            Macro::LlmCall => &[
                "provider",
                "model",
                "prompt",
                "operation",
                "usage",
                "stream",
                "fields",
            ],
            Macro::Adjudicate => &["name", "fields"],
        }
    }
}

/// One `fields(key = value)` entry.
pub struct Field {
    /// The attribute key, e.g. `stage.files` from `stage.files = ...` or `"stage.files" = ...`.
    pub key: String,
    pub key_span: Span,
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
}

/// One `key = value` or `key(...)` argument before it is checked against the macro's keys.
enum RawArg {
    Value(Ident, Expr),
    List(Ident, proc_macro2::TokenStream),
    Bare(Ident),
}

impl Parse for RawArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.call(syn::ext::IdentExt::parse_any)?;
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Ok(RawArg::Value(key, input.parse()?))
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            Ok(RawArg::List(key, content.parse()?))
        } else {
            Ok(RawArg::Bare(key))
        }
    }
}

/// Parses `tokens` as the arguments of `which`, collecting every mistake.
pub fn parse(which: Macro, tokens: proc_macro2::TokenStream) -> syn::Result<Args> {
    let raw =
        syn::parse::Parser::parse2(Punctuated::<RawArg, Token![,]>::parse_terminated, tokens)?;
    let mut args = Args::default();
    let mut errors = Errors::default();
    let mut seen: Vec<String> = Vec::new();
    for arg in raw {
        let key = match &arg {
            RawArg::Value(key, _) | RawArg::List(key, _) | RawArg::Bare(key) => key.clone(),
        };
        let text = key.to_string();
        if !which.keys().contains(&text.as_str()) {
            errors.push(syn::Error::new(key.span(), unknown_key(which, &text)));
            continue;
        }
        if seen.contains(&text) {
            errors.push(syn::Error::new(
                key.span(),
                format!("`{text}` is given twice; keep one"),
            ));
            continue;
        }
        seen.push(text.clone());
        match (text.as_str(), arg) {
            ("name", RawArg::Value(_, value)) => match value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(name),
                    ..
                }) if !name.value().trim().is_empty() => args.name = Some(name),
                other => errors.push(syn::Error::new_spanned(
                    other,
                    "`name` takes a non-empty string literal, e.g. `name = \"typecheck\"`",
                )),
            },
            ("run_id", RawArg::Value(_, value)) => args.run_id = Some(value),
            ("provider" | "model", RawArg::Value(_, value)) => match non_string_literal(&value) {
                Some(literal) => errors.push(syn::Error::new_spanned(
                    literal,
                    format!("`{text}` takes a string literal or an expression evaluated at call time, e.g. `{text} = \"openai\"` or `{text} = self.{text}.as_str()`"),
                )),
                None if text == "provider" => args.provider = Some(value),
                None => args.model = Some(value),
            },
            ("prompt", RawArg::Value(_, value)) => match value {
                Expr::Path(path) if path.path.get_ident().is_some() => {
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
            ("fields", RawArg::List(_, tokens)) => match parse_fields(tokens) {
                Ok(fields) => args.fields = fields,
                Err(error) => errors.push(error),
            },
            ("fields", _) => errors.push(syn::Error::new(
                key.span(),
                "`fields` takes a list, e.g. `fields(file_count = files.len())`",
            )),
            (_, _) => errors.push(syn::Error::new(
                key.span(),
                format!("`{text}` takes a value, e.g. `{text} = ...`"),
            )),
        }
    }
    if which == Macro::LlmCall {
        for (key, given) in [
            ("provider", args.provider.is_some()),
            ("model", args.model.is_some()),
        ] {
            if !given && !seen.iter().any(|k| k == key) {
                errors.push(syn::Error::new(
                    Span::call_site(),
                    format!("#[llm_call] needs `{key} = ...`, e.g. #[llm_call(provider = \"openai\", model = \"gpt-5.3-codex\")]"),
                ));
            }
        }
    }
    errors.finish()?;
    Ok(args)
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

fn parse_fields(tokens: proc_macro2::TokenStream) -> syn::Result<Vec<Field>> {
    let entries =
        syn::parse::Parser::parse2(Punctuated::<Field, Token![,]>::parse_terminated, tokens)?;
    let mut errors = Errors::default();
    let mut fields: Vec<Field> = Vec::new();
    for field in entries {
        if fields.iter().any(|f| f.key == field.key) {
            errors.push(syn::Error::new(
                field.key_span,
                format!("the field `{}` is given twice; keep one", field.key),
            ));
        } else {
            fields.push(field);
        }
    }
    errors.finish()?;
    Ok(fields)
}

impl Parse for Field {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let (key, key_span) = if input.peek(LitStr) {
            let key: LitStr = input.parse()?;
            (key.value(), key.span())
        } else {
            let first: Ident = input.call(syn::ext::IdentExt::parse_any)?;
            let mut key = first.to_string();
            let mut span = first.span();
            while input.peek(Token![.]) {
                input.parse::<Token![.]>()?;
                let part: Ident = input.call(syn::ext::IdentExt::parse_any)?;
                key.push('.');
                key.push_str(&part.to_string());
                span = span.join(part.span()).unwrap_or(span);
            }
            (key, span)
        };
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                key_span,
                format!("the field `{key}` needs a value: `{key} = <expression>`"),
            ));
        }
        input.parse::<Token![=]>()?;
        Ok(Field {
            key,
            key_span,
            value: input.parse()?,
        })
    }
}

fn unknown_key(which: Macro, key: &str) -> String {
    let keys = which.keys();
    let list = keys
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
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
fn edit_distance(a: &str, b: &str) -> usize {
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

/// Errors gathered while parsing, returned together.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
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

    #[test]
    fn near_misses_are_suggested() {
        assert_eq!(edit_distance("nmae", "name"), 2);
        assert!(unknown_key(Macro::PipelineStage, "nmae").contains("did you mean `name`?"));
        assert!(!unknown_key(Macro::PipelineStage, "timeout").contains("did you mean"));
    }
}
