//! Masking of common secrets in captured text, before it leaves the process.
//!
//! Each [`Rule`] is one regular expression and the capture group it masks (the whole match, or
//! only the value after a label such as `password=`, so that a reader still sees what was
//! there). One [`RegexSet`] tells, in a single pass, which rules match at all: text without a
//! secret (the common case) is returned borrowed, without a copy.
//!
//! The rules aim at secrets with a recognisable shape; they do not find a password written as
//! plain prose. A program with secrets of its own shape adds a hook
//! (`TelemetryBuilder::redact_with`), which runs after these rules.

use regex::{Captures, Regex, RegexSet};
use std::borrow::Cow;
use std::sync::LazyLock;

/// One kind of secret: its pattern, and the group of the pattern that is masked.
struct Rule {
    /// What the mask says: `[REDACTED:{kind}]`.
    kind: &'static str,
    pattern: &'static str,
    /// The capture groups that may hold the secret: the first that took part in the match is
    /// replaced by the mask; 0 is the whole match.
    groups: &'static [usize],
}

/// The rules, in the order they are applied. Longer, more specific shapes come first, so that
/// an Anthropic key is masked as one before the generic `sk-` rule could see it.
const RULES: &[Rule] = &[
    // PEM private keys, with or without their END line (a block cut short is masked to the end).
    Rule {
        kind: "private_key",
        pattern: r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
        groups: &[0],
    },
    // Provider API keys: Anthropic `sk-ant-...`, OpenAI `sk-proj-...`, `sk-svcacct-...`, `sk-...`.
    Rule {
        kind: "api_key",
        pattern: r"\bsk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}",
        groups: &[0],
    },
    // An AWS secret access key written after its access key id (`AKIA... <40 chars>`).
    Rule {
        kind: "aws_secret_key",
        pattern: r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b[^\n]{0,80}?(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        groups: &[1],
    },
    // AWS access key ids (long-lived `AKIA`, temporary `ASIA`).
    Rule {
        kind: "aws_access_key_id",
        pattern: r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        groups: &[0],
    },
    // GitHub tokens: personal, OAuth, user-to-server, server-to-server, refresh; fine-grained.
    Rule {
        kind: "github_token",
        pattern: r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
        groups: &[0],
    },
    // Slack tokens: bot, app, user, refresh, legacy workspace.
    Rule {
        kind: "slack_token",
        pattern: r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",
        groups: &[0],
    },
    // JSON Web Tokens: three base64url parts, the header starting `eyJ` (`{"`).
    Rule {
        kind: "jwt",
        pattern: r"\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        groups: &[0],
    },
    // `Bearer <token>` (an Authorization header, or prose quoting one).
    Rule {
        kind: "bearer_token",
        pattern: r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{12,}=*)",
        groups: &[1],
    },
    // Passwords in URLs: `scheme://user:password@host`.
    Rule {
        kind: "url_password",
        pattern: r"(?i)\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:([^\s/@]+)@",
        groups: &[1],
    },
    // `password=...`, `"api_key": "..."`, `client_secret: ...` and the like.
    Rule {
        kind: "secret_value",
        pattern: r#"(?i)\b(?:(?:aws_)?secret_access_key|client_secret|api[_\-]?key|(?:access|refresh|auth|id)_token|password|passwd|pwd|secret|token)["']?\s*[:=]\s*(?:"([^"\n]{4,})"|'([^'\n]{4,})'|([^\s"',;&}]{6,}))"#,
        groups: &[1, 2, 3],
    },
];

struct Compiled {
    set: RegexSet,
    rules: Vec<(&'static Rule, Regex)>,
}

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    // The patterns are constants, tested below: they compile.
    let set = RegexSet::new(RULES.iter().map(|rule| rule.pattern)).expect("redaction patterns");
    let rules = RULES
        .iter()
        .map(|rule| (rule, Regex::new(rule.pattern).expect("redaction pattern")))
        .collect();
    Compiled { set, rules }
});

/// `text` with every secret of a known shape replaced by `[REDACTED:<kind>]`; borrowed when
/// there is none.
///
/// Masked: provider API keys (`sk-...`, `sk-proj-...`, `sk-ant-...`), AWS access key ids
/// (`AKIA...`, `ASIA...`) and a secret key written after one, GitHub tokens (`ghp_`, `gho_`,
/// `ghu_`, `ghs_`, `ghr_`, `github_pat_`), Slack tokens (`xoxa-`, `xoxb-`, `xoxp-`, `xoxr-`,
/// `xoxs-`), `Bearer` tokens, JSON Web Tokens, PEM private-key blocks, passwords in URLs
/// (`scheme://user:password@host`) and values labelled `password`, `secret`, `token`,
/// `api_key`, `client_secret`, `access_token` and the like.
///
/// ```
/// use factory_observability::capture::redact_secrets;
///
/// let text = "retry with key sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK and go";
/// assert_eq!(redact_secrets(text), "retry with key [REDACTED:api_key] and go");
/// assert_eq!(redact_secrets("nothing secret here"), "nothing secret here");
/// ```
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    let compiled = &*COMPILED;
    let matched = compiled.set.matches(text);
    if !matched.matched_any() {
        return Cow::Borrowed(text);
    }
    let mut current = Cow::Borrowed(text);
    for index in matched.iter() {
        let (rule, regex) = &compiled.rules[index];
        // A rule applied before may have removed what this one matched.
        if let Cow::Owned(masked) = mask(regex, rule, &current) {
            current = Cow::Owned(masked);
        }
    }
    current
}

/// Replaces `rule.group` of every match of `regex` in `text` by the rule's mask.
fn mask<'t>(regex: &Regex, rule: &Rule, text: &'t str) -> Cow<'t, str> {
    let mask = format!("[REDACTED:{}]", rule.kind);
    regex.replace_all(text, |captures: &Captures<'_>| {
        let whole = captures.get(0).expect("group 0 is the match");
        let secret = rule.groups.iter().find_map(|&group| captures.get(group));
        match secret {
            // Masked already by a rule before (a labelled value holding a known key).
            Some(secret) if is_mask(secret.as_str()) => whole.as_str().to_owned(),
            Some(secret) if secret.range() != whole.range() => {
                let before = &text[whole.start()..secret.start()];
                let after = &text[secret.end()..whole.end()];
                format!("{before}{mask}{after}")
            }
            _ => mask.clone(),
        }
    })
}

/// Whether `text` is a mask this module wrote.
fn is_mask(text: &str) -> bool {
    text.starts_with("[REDACTED:") && text.ends_with(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts that `secret`, planted in `text`, is gone and the mask of `kind` is there.
    fn masked(text: &str, secret: &str, kind: &str) -> String {
        let out = redact_secrets(text).into_owned();
        assert!(!out.contains(secret), "{secret} survived in {out}");
        assert!(out.contains(&format!("[REDACTED:{kind}]")), "{out}");
        out
    }

    fn kept(text: &str) {
        assert!(
            matches!(redact_secrets(text), Cow::Borrowed(t) if t == text),
            "{text} was changed to {}",
            redact_secrets(text)
        );
    }

    #[test]
    fn every_pattern_compiles() {
        assert_eq!(COMPILED.rules.len(), RULES.len());
        assert_eq!(COMPILED.set.len(), RULES.len());
    }

    #[test]
    fn provider_api_keys() {
        let anthropic =
            "sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK0lM2nP4qR6sT8uV-AbCdEfGh_IjKlMnOp";
        let out = masked(
            &format!("export ANTHROPIC_API_KEY={anthropic}\n"),
            anthropic,
            "api_key",
        );
        assert_eq!(out, "export ANTHROPIC_API_KEY=[REDACTED:api_key]\n");
        let project = "sk-proj-4fGh7JkL9mNpQ2rStUvWxYz0aBcDeFgHiJkLmNoPqRsTuVwX";
        assert_eq!(
            masked(&format!("key: {project}."), project, "api_key"),
            "key: [REDACTED:api_key]."
        );
        let legacy = "sk-3Zb8Yq1Xw7Vv5Uu3Tt9Ss2Rr4Qq6Pp8Oo0Nn1Mm";
        masked(&format!("openai.api_key = \"{legacy}\""), legacy, "api_key");
        // Words that merely contain `sk-` are prose.
        kept("the task-runner and the desk-top");
        kept("sk-short is not a key");
    }

    #[test]
    fn aws_keys() {
        let id = "AKIAIOSFODNN7EXAMPLE";
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let out = masked(
            &format!("aws configure set {id} {secret} --region eu-west-1"),
            id,
            "aws_access_key_id",
        );
        assert!(!out.contains(secret), "{out}");
        assert!(out.contains("[REDACTED:aws_secret_key]"), "{out}");
        assert!(out.ends_with("--region eu-west-1"), "{out}");
        masked(
            "session ASIAY34FZKBOKMUTVV7A expires",
            "ASIAY34FZKBOKMUTVV7A",
            "aws_access_key_id",
        );
        let labelled = format!("aws_secret_access_key = {secret}");
        assert_eq!(
            masked(&labelled, secret, "secret_value"),
            "aws_secret_access_key = [REDACTED:secret_value]"
        );
        // Upper-case identifiers of other lengths are not key ids.
        kept("AKIA is a prefix; AKIASHORT is not a key; ARN arn:aws:s3:::bucket");
    }

    #[test]
    fn github_tokens() {
        for token in [
            "ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12",
            "gho_16C7e42F292c6912E7710c838347Ae178B4a",
            "ghs_Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBa9",
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP",
        ] {
            masked(
                &format!("git clone https://{token}@github.com/o/r"),
                token,
                "github_token",
            );
            masked(&format!("GITHUB_TOKEN={token}"), token, "github_token");
        }
        kept("ghp_ alone, and the ghost_protocol variable");
    }

    #[test]
    fn slack_tokens() {
        for token in [
            "xoxb-2048-4096-aBcDeFgHiJkLmNoPqRsTuVwX",
            "xoxp-1234567890-0987654321-1122334455-abcdef0123456789",
        ] {
            masked(
                &format!("SLACK_TOKEN {token} rotated"),
                token,
                "slack_token",
            );
        }
        kept("xox is a game; xoxo-hugs");
    }

    #[test]
    fn bearer_tokens() {
        let token = "9f8e7d6c5b4a39281706f5e4d3c2b1a0";
        let out = masked(
            &format!("curl -H 'Authorization: Bearer {token}' https://api"),
            token,
            "bearer_token",
        );
        assert!(
            out.contains("Authorization: Bearer [REDACTED:bearer_token]'"),
            "{out}"
        );
        kept("the bearer of bad news");
    }

    #[test]
    fn jwts() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        let out = masked(&format!("session={jwt};"), jwt, "jwt");
        assert!(
            !out.contains("SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"),
            "{out}"
        );
        masked(&format!("token is {jwt}"), jwt, "jwt");
        kept("version 1.2.3 and eyJ alone");
    }

    #[test]
    fn private_keys() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\nZ1BjP5CE8Wm3jLx+tgBXtF0\n-----END RSA PRIVATE KEY-----";
        let out = masked(
            &format!("use this:\n{key}\nthanks"),
            "MIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi",
            "private_key",
        );
        assert_eq!(out, "use this:\n[REDACTED:private_key]\nthanks");
        let open =
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ";
        masked(
            open,
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
            "private_key",
        );
        kept("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
    }

    #[test]
    fn url_passwords() {
        let out = masked(
            "DATABASE_URL=postgres://factory:Tr0ub4dor&3@db.internal:5432/app",
            "Tr0ub4dor&3",
            "url_password",
        );
        assert_eq!(
            out,
            "DATABASE_URL=postgres://factory:[REDACTED:url_password]@db.internal:5432/app"
        );
        masked(
            "redis://:hunter2hunter2@cache:6379",
            "hunter2hunter2",
            "url_password",
        );
        kept("see https://docs.rs/regex and http://localhost:4318/v1/traces, user@example.com");
    }

    #[test]
    fn labelled_values() {
        assert_eq!(
            masked(
                r#"{"password": "correct horse", "user": "ann"}"#,
                "horse",
                "secret_value"
            ),
            r#"{"password": "[REDACTED:secret_value]", "user": "ann"}"#
        );
        masked("api_key=abcdef123456", "abcdef123456", "secret_value");
        masked(
            "CLIENT_SECRET: 0a1b2c3d4e5f",
            "0a1b2c3d4e5f",
            "secret_value",
        );
        kept("max_tokens = 4096, password reset link sent, token count 12");
    }

    #[test]
    fn several_secrets_in_one_text() {
        let text = "sk-ant-api03-AAAABBBBCCCCDDDDEEEE and ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12 and https://u:pw123456@h";
        let out = redact_secrets(text);
        for secret in ["AAAABBBB", "1a2B3c4D5e6F", "pw123456"] {
            assert!(!out.contains(secret), "{out}");
        }
        // Masking is stable: masked text has nothing left to mask.
        assert_eq!(redact_secrets(&out), out);
    }
}
