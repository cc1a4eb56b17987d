//! Masking of secrets in text before it leaves the process.
//!
//! Each [`Rule`] is one regular expression and the capture group it masks (the whole match, or
//! only the value after a label such as `password=`, so that a reader still sees what was
//! there). One [`RegexSet`] tells, in a single pass, which rules match at all: text without a
//! secret (the common case) is returned borrowed, without a copy.
//!
//! The rules cover at least the families of the common secret-scanning rule sets (gitleaks'
//! default rules): the shapes are written here from the providers' documented token formats,
//! with ASCII word boundaries so that the lazy DFA runs on any text, Unicode included.
//!
//! **Escaped text.** A captured argument is its `Debug` text (`"line\nsk-proj-…"`), a prompt
//! may quote JSON (`{\"token\":\"…\"}`), or JSON quoted in JSON (`\\\"`): a secret after
//! `\n` or `\"` does not start at a word boundary, and a label is not followed by its quote. So
//! the rules run on a *view* of the text where every backslash, and the `n`, `r`, `t` or `0` it
//! escapes, reads as a space (the same byte length); the masks are then applied to the text
//! itself, trimmed of the view's spaces at their ends. The recorded text keeps its escapes; only
//! the secret is gone. This needs no parser of `Debug` output (which is the program's own
//! code), works at any depth of escaping, costs one copy of texts that hold a backslash, and
//! protects prompts and error messages that quote escaped JSON as well as arguments.
//!
//! The rules aim at secrets with a recognisable shape; they do not find a password written as
//! plain prose. A program adds its own patterns (`TelemetryBuilder::redact_pattern`,
//! `FACTORY_OBS_REDACT_PATTERNS`) or a hook (`TelemetryBuilder::redact_with`).

use regex::{Regex, RegexSet};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

/// One kind of secret: its pattern, and the group of the pattern that is masked.
pub(crate) struct Rule {
    /// What the mask says: `[REDACTED:{kind}]`.
    pub kind: &'static str,
    pub pattern: &'static str,
    /// The capture groups that may hold the secret: the first that took part in the match is
    /// masked; 0 is the whole match.
    pub groups: &'static [usize],
}

/// The values of a labelled secret: quoted (any text), or unquoted (up to a separator).
macro_rules! labelled_value {
    () => {
        r#"(?:\s*["'])?\s*[:=]\s*(?:"([^"\n]{4,})"|'([^'\n]{4,})'|([^\s"',;&}\\]{6,}))"#
    };
}

/// The rules, in the order they are applied. Longer, more specific shapes come first, so that
/// an Anthropic key is masked as one before the generic `sk-` rule could see it, and a known
/// token in a labelled value keeps its own kind.
pub(crate) const RULES: &[Rule] = &[
    // PEM private keys (RSA, EC, OpenSSH, PKCS#8, PGP), with or without their END line (a
    // block cut short is masked to the end). A GCP service-account JSON's `private_key` is one.
    Rule {
        kind: "private_key",
        pattern: r"(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
        groups: &[0],
    },
    // age secret keys (Bech32).
    Rule {
        kind: "age_secret_key",
        pattern: r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}",
        groups: &[0],
    },
    // LLM providers: Anthropic `sk-ant-…`, OpenAI `sk-proj-…`, `sk-svcacct-…`, `sk-admin-…`,
    // `sk-…`; Groq `gsk_`, Replicate `r8_`, Perplexity `pplx-`, xAI `xai-`.
    Rule {
        kind: "api_key",
        pattern: r"(?-u:\b)(?:sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}|gsk_[A-Za-z0-9]{48,}|r8_[A-Za-z0-9]{36,}|pplx-[A-Za-z0-9]{40,}|xai-[A-Za-z0-9]{60,})",
        groups: &[0],
    },
    // An AWS secret access key written after its access key id (`AKIA… <40 chars>`).
    Rule {
        kind: "aws_secret_key",
        pattern: r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[0-9A-Z]{16}(?-u:\b)[^\n]{0,80}?(?:^|[^A-Za-z0-9/+=])([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        groups: &[1],
    },
    // AWS access key ids (long-lived `AKIA`, temporary `ASIA`, and the other documented ones).
    Rule {
        kind: "aws_access_key_id",
        pattern: r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[0-9A-Z]{16}(?-u:\b)",
        groups: &[0],
    },
    // GitHub: personal, OAuth, user-to-server, server-to-server, refresh; fine-grained.
    Rule {
        kind: "github_token",
        pattern: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})",
        groups: &[0],
    },
    // GitLab: personal, deploy, feed, runner, pipeline trigger, CI job, incoming mail, SCIM,
    // feature flag, OAuth application and agent tokens; runner registration tokens.
    Rule {
        kind: "gitlab_token",
        pattern: r"(?-u:\b)(?:gl(?:pat|dt|ft|rt|ptt|cbt|imt|soat|ffct|oas|agent)-[0-9A-Za-z_\-]{20,}|GR1348941[0-9A-Za-z_\-]{20,})",
        groups: &[0],
    },
    // Slack: bot, app-level, user, refresh, legacy, configuration tokens; incoming webhooks.
    Rule {
        kind: "slack_token",
        pattern: r"(?-u:\b)(?:xox[abposre](?:\.xox[bp])?-[A-Za-z0-9\-]{10,}|xapp-[0-9]-[A-Za-z0-9\-]{10,}|hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{20,})",
        groups: &[0],
    },
    // Google: API keys, OAuth client secrets and access tokens.
    Rule {
        kind: "google_api_key",
        pattern: r"(?-u:\b)(?:AIza[0-9A-Za-z_\-]{35}|GOCSPX-[0-9A-Za-z_\-]{28}|ya29\.[0-9A-Za-z_\-]{20,})",
        groups: &[0],
    },
    // Stripe secret and restricted keys, live and test; webhook signing secrets.
    Rule {
        kind: "stripe_key",
        pattern: r"(?-u:\b)(?:(?:sk|rk)_(?:live|test|prod)_[0-9A-Za-z]{10,}|whsec_[0-9A-Za-z]{24,})",
        groups: &[0],
    },
    // npm access tokens, and `_authToken=` / `_auth=` / `_password=` lines of an `.npmrc`.
    Rule {
        kind: "npm_token",
        pattern: r#"(?-u:\b)npm_[A-Za-z0-9]{36}|(?:^|[\s:/"'])_auth(?:Token)?\s*=\s*"?([^\s"]{4,})"#,
        groups: &[1, 0],
    },
    // Hugging Face user and organisation tokens.
    Rule {
        kind: "huggingface_token",
        pattern: r"(?-u:\b)(?:hf_|api_org_)[A-Za-z0-9]{30,}",
        groups: &[0],
    },
    // Azure: Entra ID (AD) client secrets; storage and Service Bus connection-string keys.
    Rule {
        kind: "azure_key",
        pattern: r#"(?:^|[\\'"`\s>=:(,)])([a-zA-Z0-9_~.]{3}[0-9]Q~[a-zA-Z0-9_~.\-]{31,34})|(?i:AccountKey|SharedAccessKey|SharedAccessSignature)\s*=\s*([^;\s"']{16,})"#,
        groups: &[1, 2],
    },
    // Twilio API key SIDs.
    Rule {
        kind: "twilio_key",
        pattern: r"(?-u:\b)SK[0-9a-fA-F]{32}(?-u:\b)",
        groups: &[0],
    },
    // SendGrid API keys.
    Rule {
        kind: "sendgrid_key",
        pattern: r"(?-u:\b)SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{16,64}",
        groups: &[0],
    },
    // Mailgun private and public validation keys.
    Rule {
        kind: "mailgun_key",
        pattern: r"(?-u:\b)(?:pub)?key-[0-9a-f]{32}(?-u:\b)",
        groups: &[0],
    },
    // DigitalOcean personal access, OAuth and refresh tokens.
    Rule {
        kind: "digitalocean_token",
        pattern: r"(?-u:\b)do[opr]_v1_[a-f0-9]{64}",
        groups: &[0],
    },
    // Databricks personal access tokens.
    Rule {
        kind: "databricks_token",
        pattern: r"(?-u:\b)dapi[a-f0-9]{32}(?:-[0-9])?",
        groups: &[0],
    },
    // Shopify access, custom app, private app tokens and shared secrets.
    Rule {
        kind: "shopify_token",
        pattern: r"(?-u:\b)shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
        groups: &[0],
    },
    // PyPI (and TestPyPI) upload tokens: macaroons whose header names the index.
    Rule {
        kind: "pypi_token",
        pattern: r"(?-u:\b)pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{50,}",
        groups: &[0],
    },
    // Docker Hub personal and organisation access tokens.
    Rule {
        kind: "docker_token",
        pattern: r"(?-u:\b)dckr_(?:pat|oat)_[A-Za-z0-9_\-]{20,}",
        groups: &[0],
    },
    // Heroku API keys: the `HRKU-` format, and a UUID labelled as Heroku's.
    Rule {
        kind: "heroku_key",
        pattern: r#"(?-u:\b)HRKU-AA[0-9A-Za-z_\-]{58}|(?i:heroku)[A-Za-z0-9_.\-]{0,20}["']?\s*[:=]\s*["']?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"#,
        groups: &[1, 0],
    },
    // Discord bot tokens (user id, timestamp, HMAC) and webhook URLs.
    Rule {
        kind: "discord_token",
        pattern: r"(?-u:\b)(?:[MNO][A-Za-z0-9_\-]{23,27}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,40}|discord(?:app)?\.com/api/webhooks/[0-9]+/[A-Za-z0-9_\-]{30,})",
        groups: &[0],
    },
    // Telegram bot tokens: the bot's id, a colon, 35 characters starting `AA` (also in the
    // Bot API's URLs, `/bot<token>/`).
    Rule {
        kind: "telegram_bot_token",
        pattern: r"(?-u:\b)(?:bot)?([0-9]{6,12}:AA[A-Za-z0-9_\-]{33})",
        groups: &[1],
    },
    // Atlassian (Jira, Confluence) API tokens.
    Rule {
        kind: "atlassian_token",
        pattern: r"(?-u:\b)ATATT3[A-Za-z0-9_\-=]{150,}",
        groups: &[0],
    },
    // Linear API keys and OAuth tokens.
    Rule {
        kind: "linear_key",
        pattern: r"(?-u:\b)lin_(?:api|oauth)_[A-Za-z0-9]{40}",
        groups: &[0],
    },
    // Postman API keys.
    Rule {
        kind: "postman_key",
        pattern: r"(?-u:\b)PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}",
        groups: &[0],
    },
    // Doppler personal, service, CLI, service-account, SCIM and audit tokens.
    Rule {
        kind: "doppler_token",
        pattern: r"(?-u:\b)dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,44}",
        groups: &[0],
    },
    // Grafana Cloud and service-account tokens.
    Rule {
        kind: "grafana_token",
        pattern: r"(?-u:\b)(?:glc_[A-Za-z0-9+/]{32,}={0,3}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})",
        groups: &[0],
    },
    // HashiCorp Vault service and batch tokens.
    Rule {
        kind: "vault_token",
        pattern: r"(?-u:\b)hv[sb]\.[A-Za-z0-9_\-]{90,}",
        groups: &[0],
    },
    // Sentry user and organisation tokens.
    Rule {
        kind: "sentry_token",
        pattern: r"(?-u:\b)sntry[us]_[A-Za-z0-9+/=_]{40,}",
        groups: &[0],
    },
    // New Relic user, insert and browser keys.
    Rule {
        kind: "newrelic_key",
        pattern: r"(?-u:\b)NR(?:AK|II|JS)-[A-Za-z0-9]{19,32}",
        groups: &[0],
    },
    // Square access tokens and OAuth secrets.
    Rule {
        kind: "square_token",
        pattern: r"(?-u:\b)sq0(?:atp|csp)-[A-Za-z0-9_\-]{22,}",
        groups: &[0],
    },
    // 1Password service-account tokens.
    Rule {
        kind: "onepassword_token",
        pattern: r"(?-u:\b)ops_eyJ[A-Za-z0-9+/]{100,}={0,3}",
        groups: &[0],
    },
    // JSON Web Tokens: base64url parts, the header starting `eyJ` (`{"`); unsigned ones too.
    Rule {
        kind: "jwt",
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_\-]{8,}\.(?:eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*|[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})",
        groups: &[0],
    },
    // `Bearer <token>` (an Authorization header, or prose quoting one).
    Rule {
        kind: "bearer_token",
        pattern: r"(?i)(?-u:\b)bearer\s+([A-Za-z0-9\-._~+/]{12,}=*)",
        groups: &[1],
    },
    // `Authorization: Basic <base64>`.
    Rule {
        kind: "basic_auth",
        pattern: r#"(?i)authorization["']?\s*[:=]\s*["']?basic\s+([A-Za-z0-9+/]{8,}={0,2})"#,
        groups: &[1],
    },
    // Passwords in URLs: `scheme://user:password@host`.
    Rule {
        kind: "url_password",
        pattern: r"(?i)(?-u:\b)[a-z][a-z0-9+.\-]*://[^\s:/@\[\]]*:([^\s/@]+)@",
        groups: &[1],
    },
    // Secret query parameters: `?api_key=…`, `&sig=…` (the names of
    // `names::http_client::SENSITIVE_QUERY_KEYS` and the signed-URL parameters).
    Rule {
        kind: "url_query_secret",
        pattern: r#"(?i)[?&](?:awsaccesskeyid|signature|sig|x-goog-signature|x-goog-credential|x-amz-signature|x-amz-credential|x-amz-security-token|access_token|id_token|refresh_token|token|api_key|apikey|api-key|key|password|passwd|secret|client_secret|auth|code)=([^*\[&\s#"'<>\\][^&\s#"'<>\\]{2,}[^&\s#"'<>\\:.,;)])"#,
        groups: &[1],
    },
    // `password=…`, `"api_key": "…"`, `DB_PASSWORD: …`, `client_secret=…` and the like.
    Rule {
        kind: "secret_value",
        pattern: concat!(
            r"(?i)(?-u:\b)[A-Za-z0-9_.\-]*?(?:pass(?:word|wd|phrase)|pwd|secret|token|credentials?|apikey|(?:api|access|secret|private|auth|client|encryption|signing|master|account)[_.\-]?(?:key|secret|token))",
            labelled_value!()
        ),
        groups: &[1, 2, 3],
    },
];

/// A compiled rule: its kind and the groups that hold the secret.
struct CompiledRule {
    kind: Cow<'static, str>,
    regex: Regex,
    groups: Vec<usize>,
}

/// Rules compiled for one pass: one [`RegexSet`] says which rules match, and only those run.
pub(crate) struct RuleSet {
    set: RegexSet,
    rules: Vec<CompiledRule>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .finish()
    }
}

/// What a program's own pattern masks: the group named `secret` if it has one, else the match.
pub(crate) const CUSTOM_KIND: &str = "custom";

/// A program's own pattern that does not compile, said without the pattern (which may be the
/// very secret the program wants masked).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BadPattern {
    /// Its position among the patterns given, from 1.
    pub number: usize,
    /// Why, in the words of the regex parser, without the pattern.
    pub reason: String,
}

impl RuleSet {
    /// The built-in rules, then `custom` patterns (each masked as `[REDACTED:custom]`).
    pub(crate) fn new(custom: &[String]) -> Result<RuleSet, BadPattern> {
        let mut patterns: Vec<&str> = RULES.iter().map(|rule| rule.pattern).collect();
        let mut rules: Vec<CompiledRule> = RULES
            .iter()
            .map(|rule| CompiledRule {
                kind: Cow::Borrowed(rule.kind),
                // The built-in patterns are constants, tested below: they compile.
                regex: Regex::new(rule.pattern).expect("built-in redaction pattern"),
                groups: rule.groups.to_vec(),
            })
            .collect();
        for (index, pattern) in custom.iter().enumerate() {
            let regex = Regex::new(pattern).map_err(|error| BadPattern {
                number: index + 1,
                reason: reason_without_pattern(pattern, &error),
            })?;
            let groups = match regex
                .capture_names()
                .position(|name| name == Some("secret"))
            {
                Some(group) => vec![group],
                None => vec![0],
            };
            patterns.push(pattern);
            rules.push(CompiledRule {
                kind: Cow::Borrowed(CUSTOM_KIND),
                regex,
                groups,
            });
        }
        let set = RegexSet::new(patterns).map_err(|error| BadPattern {
            number: custom.len(),
            reason: error.to_string(),
        })?;
        Ok(RuleSet { set, rules })
    }

    /// `text` with every secret these rules know replaced by `[REDACTED:<kind>]`; borrowed when
    /// there is none.
    pub(crate) fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let view = separator_view(text);
        let matched = self.set.matches(&view);
        if !matched.matched_any() {
            return Cow::Borrowed(text);
        }
        let mut masks = Masks::default();
        for index in matched.iter() {
            let rule = &self.rules[index];
            // A rule masking its whole match needs no capture groups: the faster search.
            let secrets: Box<dyn Iterator<Item = Range<usize>>> = if rule.groups == [0] {
                Box::new(rule.regex.find_iter(&view).map(|found| found.range()))
            } else {
                Box::new(rule.regex.captures_iter(&view).filter_map(|captures| {
                    let mut groups = rule.groups.iter();
                    groups.find_map(|&group| captures.get(group).map(|secret| secret.range()))
                }))
            };
            for secret in secrets {
                let range = trimmed(view.as_bytes(), secret);
                if range.is_empty()
                    || is_mask(&text[range.clone()])
                    || (text.contains("[REDACTED:") && cuts_a_mask(text, &range))
                {
                    continue;
                }
                masks.add(range, index);
            }
        }
        if masks.0.is_empty() {
            return Cow::Borrowed(text);
        }
        Cow::Owned(masks.apply(text, |index| &self.rules[index].kind))
    }
}

/// The ranges to mask, each with the rule that found it; an earlier rule keeps what it found.
#[derive(Default)]
struct Masks(Vec<(Range<usize>, usize)>);

impl Masks {
    fn add(&mut self, range: Range<usize>, rule: usize) {
        // Inside a range masked already (a labelled value that is a known token): keep that.
        if self
            .0
            .iter()
            .any(|(kept, _)| kept.start <= range.start && range.end <= kept.end)
        {
            return;
        }
        // Overlapping ranges found before (a labelled value holding a token and more): one
        // mask over all of them, named by the earliest rule, the most specific.
        let mut merged = range;
        let mut kind = rule;
        self.0.retain(|(kept, kept_rule)| {
            let overlaps = kept.start < merged.end && merged.start < kept.end;
            if overlaps {
                kind = kind.min(*kept_rule);
                merged = merged.start.min(kept.start)..merged.end.max(kept.end);
            }
            !overlaps
        });
        self.0.push((merged, kind));
    }

    fn apply<'r>(mut self, text: &str, kind: impl Fn(usize) -> &'r str) -> String {
        self.0.sort_by_key(|(range, _)| range.start);
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (range, rule) in &self.0 {
            out.push_str(&text[at..range.start]);
            out.push_str("[REDACTED:");
            out.push_str(kind(*rule));
            out.push(']');
            at = range.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// `text` as the rules read it: every backslash, and the `n`, `r`, `t` or `0` a backslash
/// escapes, read as a space (quotes stay quotes), so that what follows an escape of any depth
/// (`\n`, `\"`, `\\\"` of JSON quoted in JSON) starts at a word boundary. The same length,
/// so that a range found in the view is the same range of `text`. Borrowed without a backslash.
fn separator_view(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let Some(first) = bytes.iter().position(|&byte| byte == b'\\') else {
        return Cow::Borrowed(text);
    };
    let mut view = bytes.to_vec();
    let mut escaping = false;
    for byte in &mut view[first..] {
        let escaped = escaping;
        escaping = *byte == b'\\';
        if escaping || (escaped && matches!(*byte, b'n' | b'r' | b't' | b'0')) {
            *byte = b' ';
        }
    }
    // ASCII replaced by ASCII: still UTF-8.
    match String::from_utf8(view) {
        Ok(view) => Cow::Owned(view),
        Err(_) => Cow::Borrowed(text),
    }
}

/// `range` without the spaces of the view at its ends: a quoted value's escapes (`\"…\"`)
/// stay around its mask, and a mask never leaves a lone backslash.
fn trimmed(view: &[u8], mut range: Range<usize>) -> Range<usize> {
    while range.start < range.end && view[range.start].is_ascii_whitespace() {
        range.start += 1;
    }
    while range.start < range.end && view[range.end - 1].is_ascii_whitespace() {
        range.end -= 1;
    }
    range
}

/// Whether `range` cuts through a mask already in `text` (a rule must never mask part of a
/// mask: `https://[REDACTED:github_token]@host` is not a password in a URL).
fn cuts_a_mask(text: &str, range: &Range<usize>) -> bool {
    let mut from = 0;
    while let Some(found) = text[from..].find("[REDACTED:") {
        let start = from + found;
        let Some(length) = text[start..].find(']') else {
            return false;
        };
        let end = start + length + 1;
        let overlaps = start < range.end && range.start < end;
        let covers = range.start <= start && end <= range.end;
        if overlaps && !covers {
            return true;
        }
        from = end;
    }
    false
}

/// Whether `text` is a mask this module wrote (or its start, when a URL found in printed text
/// ended before its `]`).
fn is_mask(text: &str) -> bool {
    text.starts_with("[REDACTED:")
        && !text[1..].contains('[')
        && (text.ends_with(']') || !text.contains(']'))
}

/// The regex parser's reason for refusing `pattern`, without the pattern itself.
fn reason_without_pattern(pattern: &str, error: &regex::Error) -> String {
    match regex_syntax::ast::parse::Parser::new().parse(pattern) {
        Err(error) => format!(
            "{} (at character {})",
            error.kind(),
            pattern[..error.span().start.offset].chars().count() + 1
        ),
        Ok(_) => match error {
            regex::Error::CompiledTooBig(limit) => {
                format!("it compiles to more than {limit} bytes")
            }
            _ => "it is not a valid regular expression".to_owned(),
        },
    }
}

static BUILT_IN: LazyLock<RuleSet> =
    LazyLock::new(|| RuleSet::new(&[]).expect("built-in redaction patterns"));

/// The built-in rules, compiled once.
pub(crate) fn built_in() -> &'static RuleSet {
    &BUILT_IN
}

/// `text` with every secret of a known shape replaced by `[REDACTED:<kind>]`; borrowed when
/// there is none.
///
/// Masked (the kinds, as the mask names them): `private_key` (PEM blocks: RSA, EC, OpenSSH,
/// PKCS#8, PGP), `age_secret_key`, `api_key` (Anthropic, OpenAI, Groq, Replicate, Perplexity,
/// xAI), `aws_access_key_id` and `aws_secret_key`, `github_token`, `gitlab_token`,
/// `slack_token` (tokens and webhooks), `google_api_key` (API keys, OAuth secrets and tokens),
/// `stripe_key`, `npm_token` (tokens, `.npmrc` `_authToken`), `huggingface_token`, `azure_key`,
/// `twilio_key`, `sendgrid_key`, `mailgun_key`, `digitalocean_token`, `databricks_token`,
/// `shopify_token`, `pypi_token`, `docker_token`, `heroku_key`, `discord_token`,
/// `telegram_bot_token`, `atlassian_token`, `linear_key`, `postman_key`, `doppler_token`,
/// `grafana_token`, `vault_token`, `sentry_token`, `newrelic_key`, `square_token`,
/// `onepassword_token`, `jwt`, `bearer_token`, `basic_auth`, `url_password`,
/// `url_query_secret`, and `secret_value`: values labelled `password`, `secret`, `token`,
/// `api_key`, `client_secret`, `access_token`, `DB_PASSWORD` and the like. Text escaped by
/// `Debug` or JSON (`\n`, `\"`) is masked as well.
///
/// ```
/// use factory_observability::content::redact_secrets;
///
/// let text = "retry with key sk-ant-api03-Xq9vL2mN8pR4tY6wZ1aB3cD5eF7gH9jK and go";
/// assert_eq!(redact_secrets(text), "retry with key [REDACTED:api_key] and go");
/// let escaped = r#""{\"token\":\"glpat-Zx9Yw8Vu7Ts6Rq5Po4Nm\"}""#;
/// assert_eq!(redact_secrets(escaped), r#""{\"token\":\"[REDACTED:gitlab_token]\"}""#);
/// assert_eq!(redact_secrets("nothing secret here"), "nothing secret here");
/// ```
pub fn redact_secrets(text: &str) -> Cow<'_, str> {
    built_in().redact(text)
}

#[cfg(test)]
mod tests;
