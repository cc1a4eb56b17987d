//! The metric names a PromQL expression reads, found with a small lexer.
//!
//! A metric name is an identifier outside label matchers (`{...}`), range and subquery brackets
//! (`[...]`) and string literals, that is not a function or aggregation (followed by `(`), not a
//! keyword, and not a label list of `by`, `without`, `on`, `ignoring`, `group_left` or
//! `group_right`. Numbers and durations (`5m`, `1e3`) and Grafana variables (`$stage`,
//! `${model}`, `$__rate_interval`) are skipped. `{__name__="x"}` selectors are not supported:
//! the kit does not use them, and [`metric_names`] reports them as an error so that it never
//! misses a name silently.

/// Operators and modifiers that look like identifiers.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "inf",
    "nan",
    "atan2",
];

/// Keywords followed by a parenthesized list of label names.
const LABEL_LISTS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// The metric names `expr` reads, in order of appearance, each once.
pub fn metric_names(expr: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => i = skip_string(&chars, i)?,
            '{' => {
                let end = skip_group(&chars, i, '{', '}')?;
                let matchers: String = chars[i..end].iter().collect();
                if matchers.contains("__name__") {
                    return Err(format!("`{expr}`: selects a metric by __name__, which the name check cannot follow"));
                }
                i = end;
            }
            '[' => i = skip_group(&chars, i, '[', ']')?,
            '#' => {
                // A comment runs to the end of the line.
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '$' => {
                i += 1;
                if chars.get(i) == Some(&'{') {
                    i = skip_group(&chars, i, '{', '}')?;
                } else {
                    while i < chars.len() && is_ident(chars[i]) {
                        i += 1;
                    }
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if is_ident_start(c) => {
                let start = i;
                while i < chars.len() && is_ident(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = next_non_space(&chars, i);
                let lowered = word.to_ascii_lowercase();
                if LABEL_LISTS.contains(&lowered.as_str()) {
                    if let Some(open) = next.filter(|&j| chars[j] == '(') {
                        i = skip_group(&chars, open, '(', ')')?;
                    }
                } else if KEYWORDS.contains(&lowered.as_str()) {
                } else if next.is_some_and(|j| chars[j] == '(') {
                    // A function call.
                } else if !names.contains(&word) {
                    names.push(word);
                }
            }
            _ => i += 1,
        }
    }
    Ok(names)
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn next_non_space(chars: &[char], mut i: usize) -> Option<usize> {
    while i < chars.len() && chars[i].is_whitespace() {
        i += 1;
    }
    (i < chars.len()).then_some(i)
}

/// The index after the string literal that starts at `start`.
fn skip_string(chars: &[char], start: usize) -> Result<usize, String> {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote != '`' => i += 2,
            c if c == quote => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(format!("unterminated string starting at character {start}"))
}

/// The index after the group that opens at `start`, strings inside skipped.
fn skip_group(chars: &[char], start: usize, open: char, close: char) -> Result<usize, String> {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i)?;
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(format!("`{open}` at character {start} is never closed"))
}

#[cfg(test)]
mod tests {
    use super::metric_names;

    #[test]
    fn names_outside_matchers_functions_and_label_lists() {
        let expr = r#"histogram_quantile(0.95, sum by (stage_name, le) (rate(pipeline_stage_duration_seconds_bucket{stage_name=~"$stage", outcome!="x{y}"}[$__rate_interval])))"#;
        assert_eq!(
            metric_names(expr).unwrap(),
            ["pipeline_stage_duration_seconds_bucket"]
        );
    }

    #[test]
    fn binary_operations_with_matching_and_offsets() {
        let expr = "sum by (candidate) (increase(a_total[6h])) / ignoring (candidate) group_left sum(increase(a_total[6h] offset 1h)) >= 0.95 and on() b_count > 1e3";
        assert_eq!(metric_names(expr).unwrap(), ["a_total", "b_count"]);
    }

    #[test]
    fn aggregation_with_clause_after_the_arguments_and_variables() {
        let expr = r#"sum(rate(llm_cost_usd_total{llm_model=~"${model}"}[5m])) without (instance) * 3600 + up"#;
        assert_eq!(metric_names(expr).unwrap(), ["llm_cost_usd_total", "up"]);
    }

    #[test]
    fn name_selectors_are_reported() {
        assert!(metric_names(r#"{__name__=~"x.*"}"#).is_err());
    }

    #[test]
    fn unbalanced_groups_are_reported() {
        assert!(metric_names("rate(x[5m)").is_err());
    }
}
