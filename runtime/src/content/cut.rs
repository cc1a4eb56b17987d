//! The length cut of captured text: at most a number of characters, cut between whole UTF-8
//! characters, and a JSON document stays a valid JSON document (its strings are cut, not the
//! document).

use serde_json::Value;
use std::borrow::Cow;

/// What replaces the end of a cut text or string: one character.
pub const CUT_MARK: char = '…';

/// `text` in at most `max_chars` characters (Unicode scalar values); borrowed when it fits.
///
/// A longer text keeps its first `max_chars - 1` characters followed by `…`. A text that is a
/// JSON object or array stays valid JSON: its strings are shortened alike (each to the same
/// longest length, so that every message keeps its start), and when even empty strings do not
/// fit, the last elements are left out. A document whose smallest form (`[]` or `{}`) does not
/// fit in `max_chars` is cut as plain text.
///
/// ```
/// use factory_observability::content::cut;
///
/// assert_eq!(cut("données", 4), "don…");
/// assert_eq!(cut(r#"[{"content":"a long prompt"}]"#, 22), r#"[{"content":"a lon…"}]"#);
/// assert_eq!(cut("short", 80), "short");
/// ```
pub fn cut(text: &str, max_chars: usize) -> Cow<'_, str> {
    // Fast path: a text of at most `max_chars` bytes has at most as many characters.
    if text.len() <= max_chars || text.chars().count() <= max_chars {
        return Cow::Borrowed(text);
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(document) = serde_json::from_str::<Value>(text) {
            if let Some(cut) = cut_json(&document, max_chars) {
                return Cow::Owned(cut);
            }
        }
    }
    Cow::Owned(cut_plain(text, max_chars))
}

/// `document` as JSON text in at most `max_chars` characters that is still valid JSON: its
/// strings shortened alike and, when even empty strings do not fit, its last elements left out
/// (as [`cut`] does for a text that is a document). A top-level string is shortened inside its
/// quotes. Only a scalar that does not fit even then (a number longer than `max_chars`) becomes
/// a JSON string of its cut text.
pub(crate) fn cut_json_value(document: &Value, max_chars: usize) -> String {
    let whole = serialised(document).unwrap_or_default();
    if whole.len() <= max_chars || whole.chars().count() <= max_chars {
        return whole;
    }
    cut_json(document, max_chars).unwrap_or_else(|| {
        let text = cut_plain(&whole, max_chars.saturating_sub(2).max(1));
        serialised(&Value::String(text)).unwrap_or_default()
    })
}

/// The first `max_chars - 1` characters and the mark.
fn cut_plain(text: &str, max_chars: usize) -> String {
    if max_chars == 0 {
        return String::new();
    }
    let mut cut: String = text.chars().take(max_chars - 1).collect();
    cut.push(CUT_MARK);
    cut
}

fn chars_of(value: &Value) -> usize {
    // Serialising a `Value` cannot fail: its keys are strings.
    serde_json::to_string(value).map_or(usize::MAX, |text| text.chars().count())
}

fn serialised(value: &Value) -> Option<String> {
    serde_json::to_string(value).ok()
}

/// The document in at most `max_chars` characters, or `None` if even `[]`/`{}` is too long.
fn cut_json(document: &Value, max_chars: usize) -> Option<String> {
    // The longest string cap with which the document fits, found by bisection.
    let longest = longest_string(document);
    let fits = |cap: usize| chars_of(&capped(document, cap)) <= max_chars;
    if fits(0) {
        let (mut low, mut high) = (0, longest);
        while low < high {
            let middle = low + (high - low).div_ceil(2);
            if fits(middle) {
                low = middle;
            } else {
                high = middle - 1;
            }
        }
        return serialised(&capped(document, low));
    }
    // Even empty strings do not fit: keep the first elements whole, and what fits of the next.
    let pruned = prune(document.clone(), max_chars)?;
    serialised(&pruned)
}

/// The document with every string longer than `cap` characters cut to `cap` (mark included).
fn capped(value: &Value, cap: usize) -> Value {
    match value {
        Value::String(text) if text.chars().count() > cap => Value::String(cut_plain(text, cap)),
        Value::Array(items) => Value::Array(items.iter().map(|item| capped(item, cap)).collect()),
        Value::Object(members) => Value::Object(
            members
                .iter()
                .map(|(key, item)| (key.clone(), capped(item, cap)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn longest_string(value: &Value) -> usize {
    match value {
        Value::String(text) => text.chars().count(),
        Value::Array(items) => items.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(members) => members.values().map(longest_string).max().unwrap_or(0),
        _ => 0,
    }
}

/// `value` with as many of its first elements (recursively, for the first one that does not
/// fit whole) as fit in `max_chars`; `None` if nothing does.
fn prune(value: Value, max_chars: usize) -> Option<Value> {
    if chars_of(&value) <= max_chars {
        return Some(value);
    }
    match value {
        Value::Array(items) => {
            let keep = most_that_fit(items.len(), |n| {
                chars_of(&Value::Array(items[..n].to_vec())) <= max_chars
            })?;
            let mut kept: Vec<Value> = items[..keep].to_vec();
            if let Some(next) = items.into_iter().nth(keep) {
                // Room left for part of the next element?
                let mut with_null = kept.clone();
                with_null.push(Value::Null);
                let overhead = chars_of(&Value::Array(with_null)).saturating_sub(4);
                if let Some(part) = max_chars
                    .checked_sub(overhead)
                    .and_then(|room| prune(next, room))
                {
                    kept.push(part);
                }
            }
            Some(Value::Array(kept))
        }
        Value::Object(members) => {
            let members: Vec<(String, Value)> = members.into_iter().collect();
            let object =
                |members: &[(String, Value)]| Value::Object(members.iter().cloned().collect());
            let keep = most_that_fit(members.len(), |n| {
                chars_of(&object(&members[..n])) <= max_chars
            })?;
            let mut kept = members[..keep].to_vec();
            if let Some((key, next)) = members.into_iter().nth(keep) {
                let mut with_null = kept.clone();
                with_null.push((key.clone(), Value::Null));
                let overhead = chars_of(&object(&with_null)).saturating_sub(4);
                if let Some(part) = max_chars
                    .checked_sub(overhead)
                    .and_then(|room| prune(next, room))
                {
                    kept.push((key, part));
                }
            }
            Some(object(&kept))
        }
        // A string keeps its start, marked, when its quotes and the mark fit.
        Value::String(text) if max_chars >= 3 => {
            Some(Value::String(longest_cut_that_fits(&text, max_chars)))
        }
        // A scalar that does not fit on its own.
        _ => None,
    }
}

/// `text` cut (mark included) to the most characters whose JSON string, escapes and quotes
/// included, is at most `max_chars` long.
fn longest_cut_that_fits(text: &str, max_chars: usize) -> String {
    let keep = most_that_fit(text.chars().count(), |n| {
        chars_of(&Value::String(cut_plain(text, n))) <= max_chars
    })
    .unwrap_or(0);
    cut_plain(text, keep)
}

/// The largest `n` in `0..=len` for which `fits(n)` holds (`fits` is monotonic), if any.
fn most_that_fit(len: usize, fits: impl Fn(usize) -> bool) -> Option<usize> {
    if !fits(0) {
        return None;
    }
    let (mut low, mut high) = (0, len);
    while low < high {
        let middle = low + (high - low).div_ceil(2);
        if fits(middle) {
            low = middle;
        } else {
            high = middle - 1;
        }
    }
    Some(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_cut_between_characters() {
        assert_eq!(cut("abcdef", 6), "abcdef");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("日本語のテキスト", 3), "日本…");
        assert_eq!(cut("👩‍💻 coder", 2), "👩…");
        assert_eq!(cut("abc", 0), "");
        assert_eq!(cut("abc", 1), "…");
        assert!(matches!(cut("fits", 4), Cow::Borrowed(_)));
    }

    #[test]
    fn json_strings_are_cut_and_the_document_stays_json() {
        let messages = r#"[{"role":"system","parts":[{"type":"text","content":"You are a careful reviewer of Rust code."}]},{"role":"user","parts":[{"type":"text","content":"Review this diff, please: fn main() { println!(\"hi\") }"}]}]"#;
        for max in [60, 90, 120, 150, 200] {
            let out = cut(messages, max);
            assert!(out.chars().count() <= max, "{max}: {out}");
            let parsed: Value =
                serde_json::from_str(&out).unwrap_or_else(|e| panic!("{max}: {e}: {out}"));
            // Every message keeps its role.
            if max >= 150 {
                assert_eq!(parsed[1]["role"], "user", "{out}");
                assert!(
                    parsed[1]["parts"][0]["content"]
                        .as_str()
                        .unwrap()
                        .starts_with("Rev"),
                    "{out}"
                );
            }
        }
        // Strings are shortened to the same length: the longest is cut the most.
        let out = cut(r#"{"a":"0123456789","b":"01234567890123456789"}"#, 36);
        assert_eq!(out, r#"{"a":"0123456789","b":"0123456789…"}"#);
    }

    #[test]
    fn json_values_stay_json_whatever_their_top_level() {
        let long = "x".repeat(100);
        let string = cut_json_value(&Value::String(long.clone()), 20);
        assert_eq!(string, format!("\"{}…\"", "x".repeat(17)));
        assert_eq!(string.chars().count(), 20);
        // Every string is held to the same longest length: the longest is cut the most.
        let object = cut_json_value(&serde_json::json!({"path": "lib.rs", "text": long}), 40);
        assert_eq!(object, r#"{"path":"lib.rs","text":"xxxxxxxxxxxx…"}"#);
        assert_eq!(cut_json_value(&serde_json::json!(42), 20), "42");
        let number = cut_json_value(&serde_json::json!(12_345_678_901_234_567_u64), 16);
        assert_eq!(number, "\"1234567890123…\"");
        serde_json::from_str::<Value>(&number).unwrap();
    }

    #[test]
    fn documents_too_large_even_without_text_lose_their_last_elements() {
        let many = serde_json::to_string(&(0..100).collect::<Vec<u32>>()).unwrap();
        let out = cut(&many, 20);
        assert_eq!(out, "[0,1,2,3,4,5,6,7,8]");
        let nested = r#"[[1,2,3,4,5,6,7,8,9,10,11,12,13]]"#;
        assert_eq!(cut(nested, 16), "[[1,2,3,4,5,6]]");
        // Not JSON after all: cut as text.
        assert_eq!(cut("[not json at all", 6), "[not …");
        // The empty document does not fit: cut as text.
        assert_eq!(cut("[1,2,3]", 1), "…");
    }
}
