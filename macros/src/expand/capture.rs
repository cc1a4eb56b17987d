//! What a call may capture of its content, as generated code: `capture(args = [...])` (every
//! macro) and `capture_content` / `capture_content = false` (`#[llm_call]`).

use super::{call_at, no_such_argument};
use crate::attr::capture::CaptureArgs;
use crate::attr::Errors;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Signature;

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
