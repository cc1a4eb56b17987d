use super::*;
use crate::content::fakes::fake_secrets;

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
fn every_pattern_compiles_and_every_kind_has_a_fake() {
    assert_eq!(built_in().rules.len(), RULES.len());
    assert_eq!(built_in().set.len(), RULES.len());
    let fakes = fake_secrets();
    for rule in RULES {
        assert!(
            fakes.iter().any(|fake| fake.kind == rule.kind),
            "no fake secret of kind {}",
            rule.kind
        );
    }
}

/// Every fake of every kind, in its usual context: the secret is gone, the mask names the kind,
/// and the context around it is still there.
#[test]
fn every_kind_is_masked_in_its_context() {
    for fake in fake_secrets() {
        let out = masked(&fake.text, &fake.secret, fake.kind);
        let before = fake.text.split(&fake.secret).next().unwrap_or_default();
        let head: String = before.chars().take(6).collect();
        assert!(
            out.starts_with(&head),
            "{} lost its context: {out}",
            fake.kind
        );
        // Masking is stable: masked text has nothing left to mask.
        assert_eq!(redact_secrets(&out), out, "{}", fake.kind);
    }
}

/// The issue's probe: a secret after an escape of `Debug` (`\n`, `\t`, `\"`), or inside JSON
/// quoted in a string, did not start at a word boundary and went out whole.
#[test]
fn every_kind_is_masked_in_debug_and_json_escaped_text() {
    for fake in fake_secrets() {
        let multi_line = format!("Plan:\nstep one\n{}\n\tdone", fake.text);
        let debug = format!("{multi_line:?}");
        let out = masked(&debug, &fake.secret, fake.kind);
        assert!(out.starts_with("\"Plan:\\nstep one\\n"), "{out}");
        // No escape was split by a mask: every backslash still escapes something.
        assert!(!out.contains("\\["), "{out}");
        let json = serde_json::json!({ "note": multi_line, "kind": fake.kind }).to_string();
        masked(&json, &fake.secret, fake.kind);
        // JSON quoted inside a JSON string, as a prompt quoting a request would.
        let nested = serde_json::json!({ "body": json }).to_string();
        masked(&nested, &fake.secret, fake.kind);
    }
}

#[test]
fn labelled_values_escaped_by_debug_keep_their_escapes() {
    let text = format!("{:?}", r#"{"password": "correct horse", "user": "ann"}"#);
    assert_eq!(
        redact_secrets(&text),
        r#""{\"password\": \"[REDACTED:secret_value]\", \"user\": \"ann\"}""#
    );
    let key = "sk-proj-4fGh7JkL9mNpQ2rStUvWxYz0aBcDeFgHiJkLmNoPqRsTuVwX";
    let argument = format!("{:?}", format!("notes:\n{key}\nend"));
    assert_eq!(
        redact_secrets(&argument),
        r#""notes:\n[REDACTED:api_key]\nend""#
    );
    // An escaped backslash is not an escape: `\\n` is a backslash and an `n`.
    kept(r"C:\\new\\tokens and \\nothing");
}

#[test]
fn near_misses_are_kept() {
    for text in [
        "the task-runner and the desk-top; sk-short is not a key",
        "max_tokens = 4096, password reset link sent, token count 12, tokenizer: cl100k_base",
        "run 0b9f8e7d-6c5b-4a39-8281-706f5e4d3c2b deployed to heroku in 3 minutes",
        "commit 3f9c2d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e and a5f3c6a11b03839d46af9fb43c97c188",
        "see https://docs.rs/regex and http://localhost:4318/v1/traces?limit=10, user@example.com",
        "AKIA is a prefix; AKIASHORT is not a key; ARN arn:aws:s3:::bucket",
        "ghp_ alone, the ghost_protocol variable, hf_hub_download, gl-pat notes",
        "xox is a game; xoxo-hugs; a key-value store; the bearer of bad news",
        "version 1.2.3 and eyJ alone; Basic auth is not used; SG.1 release",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "Planifiez l’app « tâches » 待办事项 ✅ with 12:30 meetings and 1234567:AB notes",
        "npm_modules and npm_config_cache; dapi is an acronym; the SK-1 model",
    ] {
        kept(text);
    }
}

#[test]
fn aws_secret_after_its_key_id_keeps_the_rest() {
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
    assert_eq!(
        masked(
            &format!("aws_secret_access_key = {secret}"),
            secret,
            "secret_value"
        ),
        "aws_secret_access_key = [REDACTED:secret_value]"
    );
}

#[test]
fn pem_blocks_are_masked_whole_and_cut_blocks_to_the_end() {
    let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi\nZ1BjP5CE8Wm3jLx+tgBXtF0\n-----END RSA PRIVATE KEY-----";
    assert_eq!(
        redact_secrets(&format!("use this:\n{key}\nthanks")),
        "use this:\n[REDACTED:private_key]\nthanks"
    );
    masked(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
        "private_key",
    );
}

#[test]
fn labelled_values_and_urls() {
    assert_eq!(
        masked(
            r#"{"password": "correct horse", "user": "ann"}"#,
            "horse",
            "secret_value"
        ),
        r#"{"password": "[REDACTED:secret_value]", "user": "ann"}"#
    );
    masked(
        "CLIENT_SECRET: 0a1b2c3d4e5f",
        "0a1b2c3d4e5f",
        "secret_value",
    );
    masked("export PGPASSWORD=s3cr3t-pw", "s3cr3t-pw", "secret_value");
    assert_eq!(
        masked(
            "DATABASE_URL=postgres://factory:Tr0ub4dor&3@db.internal:5432/app",
            "Tr0ub4dor&3",
            "url_password"
        ),
        "DATABASE_URL=postgres://factory:[REDACTED:url_password]@db.internal:5432/app"
    );
    // Every query parameter the HTTP client spans hide is masked in text too.
    for key in crate::names::http_client::SENSITIVE_QUERY_KEYS {
        masked(
            &format!("GET https://h.example/p?page=2&{key}=v4lue-0f-it"),
            "v4lue-0f-it",
            "url_query_secret",
        );
    }
}

#[test]
fn a_labelled_value_holding_a_known_token_keeps_the_tokens_kind() {
    let token = "ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12";
    assert_eq!(
        redact_secrets(&format!("GITHUB_TOKEN={token}")),
        "GITHUB_TOKEN=[REDACTED:github_token]"
    );
    // The labelled value is wider than the token: one mask over both.
    assert_eq!(
        redact_secrets(&format!(r#"password: "{token} and more""#)),
        r#"password: "[REDACTED:github_token]""#
    );
}

#[test]
fn several_secrets_in_one_text() {
    let text = "sk-ant-api03-AAAABBBBCCCCDDDDEEEE and ghp_1a2B3c4D5e6F7g8H9i0JkLmNoPqRsTuVwXyZ12 and https://u:pw123456@h";
    let out = redact_secrets(text);
    assert_eq!(
        out,
        "[REDACTED:api_key] and [REDACTED:github_token] and https://u:[REDACTED:url_password]@h"
    );
    assert_eq!(redact_secrets(&out), out);
}

#[test]
fn custom_patterns_mask_their_secret_group_or_the_match() {
    let rules = RuleSet::new(&[
        r"ACME-[0-9]{6}".to_owned(),
        r"internal-id: (?P<secret>[a-z]{8})".to_owned(),
    ])
    .unwrap();
    assert_eq!(
        rules.redact(
            "order ACME-123456, internal-id: abcdefgh, key sk-ant-api03-AAAABBBBCCCCDDDDEEEE"
        ),
        "order [REDACTED:custom], internal-id: [REDACTED:custom], key [REDACTED:api_key]"
    );
    assert!(matches!(rules.redact("ACME-12"), Cow::Borrowed("ACME-12")));
}

/// A pattern that does not compile is refused without being shown: it may be the secret.
#[test]
fn a_bad_custom_pattern_is_refused_without_being_shown() {
    let error = RuleSet::new(&["ok".to_owned(), "hunter2(".to_owned()]).unwrap_err();
    assert_eq!(error.number, 2);
    assert_eq!(error.reason, "unclosed group (at character 8)");
    assert!(!error.reason.contains("hunter2"));
}
