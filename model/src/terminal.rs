//! Text from telemetry made safe to write to a terminal.
//!
//! Span names, attribute values and error messages come from whatever wrote the telemetry. Written
//! raw, an ESC starts an escape sequence (recolour, move the cursor, rewrite a line), a CR or LF
//! forges a line of its own ("traces 99/99 delivered"), a BEL rings, and a bidirectional override
//! reorders what is shown (the "Trojan Source" trick). [`escape_for_terminal`] replaces each of them
//! with a visible escape, so the text reads as what it is.

use std::borrow::Cow;

/// Whether a character must not reach a terminal as it is: the C0 controls (tab, CR and LF
/// included), DEL, the C1 controls (U+0080 to U+009F, which some terminals obey in UTF-8 too), and
/// the bidirectional formatting characters of Unicode's bidi algorithm (UAX #9: ALM, LRM, RLM, the
/// embeddings, overrides and isolates).
pub fn is_unsafe_for_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// The text with every character [`is_unsafe_for_terminal`] written as a visible escape: `\n`,
/// `\r`, `\t`, or `\u{1b}` (Rust's notation); the text itself when it has none (no copy).
pub fn escape_for_terminal(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_unsafe_for_terminal) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_for_terminal(c) => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_made_visible_and_the_rest_is_kept() {
        assert!(matches!(
            escape_for_terminal("plan ✓ `;`"),
            Cow::Borrowed("plan ✓ `;`")
        ));
        assert_eq!(
            escape_for_terminal("\u{1b}[32mtraces 99/99 delivered\u{1b}[0m\u{7}"),
            "\\u{1b}[32mtraces 99/99 delivered\\u{1b}[0m\\u{7}"
        );
        assert_eq!(escape_for_terminal("a\r\nb\tc\u{0}"), "a\\r\\nb\\tc\\u{0}");
        // DEL, a C1 CSI, and a right-to-left override.
        assert_eq!(
            escape_for_terminal("x\u{7f}\u{9b}31m\u{202e}gnp.exe"),
            "x\\u{7f}\\u{9b}31m\\u{202e}gnp.exe"
        );
        assert_eq!(
            escape_for_terminal("\u{2066}\u{2069}"),
            "\\u{2066}\\u{2069}"
        );
    }
}
