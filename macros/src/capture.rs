//! `capture(args = [spec, files])` (every macro) and `capture_content` / `capture_content =
//! false` (`#[llm_call]`): what a call may capture of its content. The runtime decides at run
//! time whether it does (the process-wide setting), redacts and cuts it.

use crate::attr::Errors;
use crate::expand::{call_at, no_such_argument};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Ident, Signature, Token};

/// The parsed `capture(...)` argument.
#[derive(Default)]
pub struct CaptureArgs {
    /// `args = [...]`: the arguments whose `Debug` text is captured.
    pub args: Vec<Ident>,
}

const CAPTURE_EXAMPLE: &str = "capture(args = [spec, files])";

/// Parses the inside of `capture(...)`.
pub fn parse_capture(tokens: TokenStream, errors: &mut Errors) -> CaptureArgs {
    let parser = |input: ParseStream| -> syn::Result<CaptureArgs> {
        let mut parsed = CaptureArgs::default();
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                format!("`capture` needs the arguments to capture, e.g. `{CAPTURE_EXAMPLE}`"),
            ));
        }
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            if key != "args" {
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown key `{key}` in `capture(...)`: it accepts `args`, e.g. `{CAPTURE_EXAMPLE}`"),
                ));
            }
            input.parse::<Token![=]>()?;
            let content;
            syn::bracketed!(content in input);
            let names =
                Punctuated::<Ident, Token![,]>::parse_terminated_with(&content, Ident::parse_any)?;
            for name in names {
                if parsed.args.iter().any(|seen| seen == &name) {
                    return Err(syn::Error::new(
                        name.span(),
                        format!("`{name}` is named twice in `capture(args = [...])`; keep one"),
                    ));
                }
                parsed.args.push(name);
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(parsed)
    };
    match parser.parse2(tokens) {
        Ok(parsed) => parsed,
        Err(error) => {
            errors.push(syn::Error::new(
                error.span(),
                format!("{error}: write `{CAPTURE_EXAMPLE}`, naming arguments of the function"),
            ));
            CaptureArgs::default()
        }
    }
}

/// The statements recording what the call may capture, first among the macro's own records
/// (a site's `capture_content` must be known before its prompt is recorded). Arguments that
/// the function does not have are reported at their name.
pub fn records(
    capture: &CaptureArgs,
    capture_content: Option<bool>,
    sig: &Signature,
    errors: &mut Errors,
) -> TokenStream {
    let recorder = syn::Ident::new("__fo_fields", Span::mixed_site());
    let mut records = TokenStream::new();
    if let Some(on) = capture_content {
        records.extend(quote!(#recorder.capture_content(#on);));
    }
    for name in &capture.args {
        if let Some(error) = no_such_argument(name, &name.to_string(), sig) {
            errors.push(error);
            continue;
        }
        let key = name.to_string();
        let record = call_at(
            name,
            quote!(::factory_observability::__private::Fields::argument),
            quote!(#recorder, #key, &#name),
        );
        records.extend(quote!(#record;));
    }
    records
}
