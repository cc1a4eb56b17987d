//! Fake secrets of every kind the redaction rules mask: the right prefix, length and characters,
//! in the context they are usually found in, made up by a fixed generator (they open nothing).
//! The rules' own tests and the end-to-end tests plant them; a program may plant them too, to
//! prove that nothing it records or prints leaks them
//! (`factory_observability::testing::fake_secrets`).

/// One fake secret: the kind its mask names, the secret, and a line holding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeSecret {
    /// The kind of `[REDACTED:<kind>]` that replaces it.
    pub kind: &'static str,
    /// The secret itself: none of it may survive redaction.
    pub secret: String,
    /// A line holding it, as a prompt, a log line or a file would.
    pub text: String,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URL_SAFE: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789abcdef";
const DIGITS: &[u8] = b"0123456789";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const UPPER_BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BECH32: &[u8] = b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

/// Characters drawn from `charset` by a fixed xorshift generator seeded with `seed`.
struct Draw(u64);

impl Draw {
    fn of(&mut self, charset: &[u8], length: usize) -> String {
        (0..length)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                charset[(self.0 % charset.len() as u64) as usize] as char
            })
            .collect()
    }
}

fn fake(kind: &'static str, secret: String, text: impl FnOnce(&str) -> String) -> FakeSecret {
    let text = text(&secret);
    FakeSecret { kind, secret, text }
}

/// One fake of every kind the built-in rules mask (some kinds several times, one per format).
pub fn fake_secrets() -> Vec<FakeSecret> {
    let mut d = Draw(0x9E37_79B9_7F4A_7C15);
    let pem_body = |d: &mut Draw| {
        format!(
            "MIIEowIBAAKCAQEA{}\n{}\n{}",
            d.of(BASE64, 48),
            d.of(BASE64, 64),
            d.of(BASE64, 40)
        )
    };
    let rsa_body = pem_body(&mut d);
    let pkcs8_body = pem_body(&mut d).replace('\n', "\\n");
    let uuid = |d: &mut Draw| {
        format!(
            "{}-{}-{}-{}-{}",
            d.of(HEX, 8),
            d.of(HEX, 4),
            d.of(HEX, 4),
            d.of(HEX, 4),
            d.of(HEX, 12)
        )
    };
    vec![
        fake("private_key", rsa_body, |body| {
            format!(
                "use this key:\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\nthanks"
            )
        }),
        // A GCP service-account key file, its PEM escaped as JSON writes it.
        fake("private_key", pkcs8_body, |body| {
            format!(
                r#"{{"type": "service_account", "project_id": "factory-prod", "private_key": "-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n", "client_email": "ci@factory-prod.iam.gserviceaccount.com"}}"#
            )
        }),
        fake(
            "age_secret_key",
            format!("AGE-SECRET-KEY-1{}", d.of(BECH32, 58)),
            |s| format!("# created: 2025-01-01\n{s}"),
        ),
        fake(
            "api_key",
            format!("sk-ant-api03-{}AA", d.of(URL_SAFE, 93)),
            |s| format!("export ANTHROPIC_API_KEY={s}"),
        ),
        fake(
            "api_key",
            format!(
                "sk-proj-{}T3BlbkFJ{}",
                d.of(URL_SAFE, 74),
                d.of(URL_SAFE, 74)
            ),
            |s| format!("client = OpenAI(api_key=\"{s}\")"),
        ),
        fake("api_key", format!("gsk_{}", d.of(ALNUM, 52)), |s| {
            format!("GROQ_API_KEY {s}")
        }),
        fake("api_key", format!("r8_{}", d.of(ALNUM, 37)), |s| {
            format!("replicate token {s} ok")
        }),
        fake("api_key", format!("pplx-{}", d.of(ALNUM, 48)), |s| {
            format!("perplexity: {s}")
        }),
        fake("api_key", format!("xai-{}", d.of(ALNUM, 80)), |s| {
            format!("XAI key {s}.")
        }),
        fake(
            "aws_access_key_id",
            format!("AKIA{}", d.of(UPPER_BASE32, 16)),
            |s| format!("aws_access_key_id = {s}"),
        ),
        fake("aws_secret_key", d.of(BASE64, 40), |s| {
            format!("aws configure set ASIA{} {s}", d.of(UPPER_BASE32, 16))
        }),
        fake("github_token", format!("ghp_{}", d.of(ALNUM, 36)), |s| {
            format!("git clone https://{s}@github.com/acme/factory")
        }),
        fake(
            "github_token",
            format!("github_pat_{}_{}", d.of(ALNUM, 22), d.of(ALNUM, 59)),
            |s| format!("GH_TOKEN={s}"),
        ),
        fake(
            "gitlab_token",
            format!("glpat-{}", d.of(URL_SAFE, 20)),
            |s| format!("PRIVATE-TOKEN: {s}"),
        ),
        fake(
            "gitlab_token",
            format!("gldt-{}", d.of(URL_SAFE, 20)),
            |s| format!("deploy token {s}"),
        ),
        fake(
            "gitlab_token",
            format!("glrt-{}", d.of(URL_SAFE, 20)),
            |s| format!("gitlab-runner register --token {s}"),
        ),
        fake("gitlab_token", format!("glptt-{}", d.of(HEX, 40)), |s| {
            format!("curl -F token={s} trigger")
        }),
        fake(
            "gitlab_token",
            format!("GR1348941{}", d.of(URL_SAFE, 20)),
            |s| format!("registration-token {s}"),
        ),
        fake(
            "slack_token",
            format!(
                "xoxb-{}-{}-{}",
                d.of(DIGITS, 10),
                d.of(DIGITS, 13),
                d.of(ALNUM, 24)
            ),
            |s| format!("SLACK_BOT_TOKEN={s}"),
        ),
        fake(
            "slack_token",
            format!(
                "xapp-1-A{}-{}-{}",
                d.of(ALNUM, 10),
                d.of(DIGITS, 13),
                d.of(HEX, 64)
            ),
            |s| format!("app token {s}"),
        ),
        fake(
            "slack_token",
            format!(
                "hooks.slack.com/services/T{}/B{}/{}",
                d.of(ALNUM, 8),
                d.of(ALNUM, 8),
                d.of(ALNUM, 24)
            ),
            |s| format!("POST https://{s}"),
        ),
        fake(
            "google_api_key",
            format!("AIza{}", d.of(URL_SAFE, 35)),
            |s| format!("https://maps.example.com/api/js?callback=init&k={s}"),
        ),
        fake(
            "google_api_key",
            format!("GOCSPX-{}", d.of(URL_SAFE, 28)),
            |s| format!("client secret {s}"),
        ),
        fake(
            "google_api_key",
            format!("ya29.{}", d.of(URL_SAFE, 120)),
            |s| format!("gcloud token: {s}"),
        ),
        fake(
            "stripe_key",
            format!("sk_live_51{}", d.of(ALNUM, 97)),
            |s| format!("Stripe.api_key = '{s}'"),
        ),
        fake("stripe_key", format!("rk_test_{}", d.of(ALNUM, 24)), |s| {
            format!("restricted {s}")
        }),
        fake("stripe_key", format!("whsec_{}", d.of(ALNUM, 32)), |s| {
            format!("endpoint secret {s}")
        }),
        fake("npm_token", format!("npm_{}", d.of(ALNUM, 36)), |s| {
            format!("npm token: {s}")
        }),
        fake("npm_token", d.of(BASE64, 44), |s| {
            format!("//registry.example.com/:_authToken={s}")
        }),
        fake(
            "huggingface_token",
            format!("hf_{}", d.of(LETTERS, 34)),
            |s| format!("huggingface-cli login --token {s}"),
        ),
        fake(
            "huggingface_token",
            format!("api_org_{}", d.of(LETTERS, 34)),
            |s| format!("org {s}"),
        ),
        fake(
            "azure_key",
            format!("{}8Q~{}", d.of(ALNUM, 3), d.of(URL_SAFE, 34)),
            |s| format!("AZURE_CLIENT_SECRET {s}"),
        ),
        fake("azure_key", format!("{}==", d.of(BASE64, 86)), |s| {
            format!(
                "DefaultEndpointsProtocol=https;AccountName=factory;AccountKey={s};EndpointSuffix=core.windows.net"
            )
        }),
        fake("twilio_key", format!("SK{}", d.of(HEX, 32)), |s| {
            format!("twilio api key sid {s}")
        }),
        fake(
            "sendgrid_key",
            format!("SG.{}.{}", d.of(URL_SAFE, 22), d.of(URL_SAFE, 43)),
            |s| format!("SENDGRID {s}"),
        ),
        fake("mailgun_key", format!("key-{}", d.of(HEX, 32)), |s| {
            format!("mailgun api:{s}")
        }),
        fake(
            "digitalocean_token",
            format!("dop_v1_{}", d.of(HEX, 64)),
            |s| format!("doctl auth init -t {s}"),
        ),
        fake("databricks_token", format!("dapi{}", d.of(HEX, 32)), |s| {
            format!("databricks host token {s}")
        }),
        fake("shopify_token", format!("shpat_{}", d.of(HEX, 32)), |s| {
            format!("X-Shopify-Access-Token: {s}")
        }),
        fake(
            "pypi_token",
            format!("pypi-AgEIcHlwaS5vcmc{}", d.of(URL_SAFE, 150)),
            |s| format!("twine upload -p {s} dist/*"),
        ),
        fake(
            "docker_token",
            format!("dckr_pat_{}", d.of(URL_SAFE, 27)),
            |s| format!("docker login -u ci -p {s}"),
        ),
        fake(
            "heroku_key",
            format!("HRKU-AA{}", d.of(URL_SAFE, 58)),
            |s| format!("heroku auth {s}"),
        ),
        fake("heroku_key", uuid(&mut d), |s| {
            format!("HEROKU_API_KEY={s}")
        }),
        fake(
            "discord_token",
            format!(
                "MTE{}.{}.{}",
                d.of(URL_SAFE, 23),
                d.of(URL_SAFE, 6),
                d.of(URL_SAFE, 38)
            ),
            |s| format!("client.run('{s}')"),
        ),
        fake(
            "discord_token",
            format!(
                "discord.com/api/webhooks/{}/{}",
                d.of(DIGITS, 18),
                d.of(URL_SAFE, 68)
            ),
            |s| format!("webhook https://{s}"),
        ),
        fake(
            "telegram_bot_token",
            format!("{}:AA{}", d.of(DIGITS, 10), d.of(URL_SAFE, 33)),
            |s| format!("https://api.telegram.org/bot{s}/sendMessage"),
        ),
        fake(
            "atlassian_token",
            format!("ATATT3xFfGF0{}", d.of(URL_SAFE, 180)),
            |s| format!("jira api token {s}"),
        ),
        fake("linear_key", format!("lin_api_{}", d.of(ALNUM, 40)), |s| {
            format!("LINEAR {s}")
        }),
        fake(
            "postman_key",
            format!("PMAK-{}-{}", d.of(HEX, 24), d.of(HEX, 34)),
            |s| format!("postman {s}"),
        ),
        fake("doppler_token", format!("dp.pt.{}", d.of(ALNUM, 43)), |s| {
            format!("doppler configure set token {s}")
        }),
        fake(
            "grafana_token",
            format!("glsa_{}_{}", d.of(ALNUM, 32), d.of(HEX, 8)),
            |s| format!("grafana sa {s}"),
        ),
        fake("grafana_token", format!("glc_{}", d.of(BASE64, 100)), |s| {
            format!("grafana cloud {s}")
        }),
        fake("vault_token", format!("hvs.{}", d.of(URL_SAFE, 95)), |s| {
            format!("VAULT token {s}")
        }),
        fake("sentry_token", format!("sntryu_{}", d.of(HEX, 64)), |s| {
            format!("sentry-cli --auth-token {s}")
        }),
        fake("newrelic_key", format!("NRAK-{}", d.of(ALNUM, 27)), |s| {
            format!("newrelic {s}")
        }),
        fake(
            "square_token",
            format!("sq0atp-{}", d.of(URL_SAFE, 22)),
            |s| format!("square {s}"),
        ),
        fake(
            "onepassword_token",
            format!("ops_eyJ{}", d.of(BASE64, 250)),
            |s| format!("OP_SERVICE_ACCOUNT {s}"),
        ),
        fake(
            "jwt",
            format!(
                "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{}.{}",
                d.of(URL_SAFE, 60),
                d.of(URL_SAFE, 43)
            ),
            |s| format!("session={s};"),
        ),
        fake("bearer_token", d.of(HEX, 32), |s| {
            format!("curl -H 'Authorization: Bearer {s}' https://api.example.com")
        }),
        fake("basic_auth", format!("{}==", d.of(BASE64, 26)), |s| {
            format!("Authorization: Basic {s}")
        }),
        fake(
            "url_password",
            format!("Tr0ub4dor-{}", d.of(ALNUM, 8)),
            |s| format!("DATABASE_URL=postgres://factory:{s}@db.internal:5432/app"),
        ),
        fake("url_query_secret", d.of(URL_SAFE, 32), |s| {
            format!("GET https://api.example.com/v1/items?limit=10&api_key={s}&page=2")
        }),
        fake(
            "secret_value",
            format!("hunter2-{}", d.of(ALNUM, 10)),
            |s| format!("DB_PASSWORD={s}"),
        ),
        fake("secret_value", d.of(ALNUM, 40), |s| {
            format!(r#"{{"client_secret": "{s}", "client_id": "factory"}}"#)
        }),
    ]
}
