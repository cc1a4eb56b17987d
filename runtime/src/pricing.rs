//! What an LLM call cost: prices per model, from the maintained `genai-prices` data, overridable
//! by a file (`FACTORY_OBS_PRICING`) or in code.
//!
//! A price is never guessed: a model with no price records no cost (and is warned about once),
//! and so does a call with tokens of a kind its model has no price for.

use crate::usage::Usage;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Prices of one model, in US dollars per 1,000 tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ModelPrice {
    /// Input (prompt) tokens.
    pub input: Option<f64>,
    /// Output (completion) tokens.
    pub output: Option<f64>,
    /// Input tokens read from the provider's cache; priced as input when absent.
    pub cached_input: Option<f64>,
    /// Output tokens spent on reasoning; priced as output when absent.
    pub reasoning_output: Option<f64>,
}

impl ModelPrice {
    /// A model priced for input and output.
    pub const fn new(input_per_1k: f64, output_per_1k: f64) -> Self {
        ModelPrice {
            input: Some(input_per_1k),
            output: Some(output_per_1k),
            cached_input: None,
            reasoning_output: None,
        }
    }

    /// A model priced for input only (an embedding model, say).
    pub const fn input_only(input_per_1k: f64) -> Self {
        ModelPrice {
            input: Some(input_per_1k),
            output: None,
            cached_input: None,
            reasoning_output: None,
        }
    }

    /// The price of cached input tokens.
    pub const fn with_cached_input(mut self, per_1k: f64) -> Self {
        self.cached_input = Some(per_1k);
        self
    }

    /// The price of reasoning output tokens.
    pub const fn with_reasoning_output(mut self, per_1k: f64) -> Self {
        self.reasoning_output = Some(per_1k);
        self
    }

    /// The cost of `usage`, or the kind of token this price lacks.
    pub fn cost(&self, usage: &Usage) -> Result<f64, &'static str> {
        let cached = usage
            .cached_input_tokens
            .unwrap_or(0)
            .min(usage.input_tokens);
        let reasoning = usage
            .reasoning_output_tokens
            .unwrap_or(0)
            .min(usage.output_tokens);
        let parts = [
            (usage.input_tokens - cached, self.input, "input"),
            (cached, self.cached_input.or(self.input), "cached input"),
            (usage.output_tokens - reasoning, self.output, "output"),
            (
                reasoning,
                self.reasoning_output.or(self.output),
                "reasoning output",
            ),
        ];
        let mut total = 0.0;
        for (tokens, price, kind) in parts {
            if tokens == 0 {
                continue;
            }
            total += tokens as f64 / 1000.0 * price.ok_or(kind)?;
        }
        Ok(total)
    }
}

/// What a call cost, or why it has no cost.
#[derive(Clone, Debug, PartialEq)]
pub enum Cost {
    /// US dollars.
    Usd(f64),
    /// No price is known for the model.
    UnknownModel,
    /// The model has no price for this kind of token (e.g. output of an input-only model).
    Unpriced(&'static str),
}

/// Prices per model: code and file overrides first, then the bundled `genai-prices` data.
#[derive(Debug)]
pub struct Pricing {
    /// Keyed by (provider, model); a `None` provider prices the model of any provider.
    overrides: BTreeMap<(Option<String>, String), ModelPrice>,
    bundled: bool,
    warned: Mutex<HashSet<String>>,
}

impl Default for Pricing {
    fn default() -> Self {
        Pricing::bundled()
    }
}

impl Clone for Pricing {
    fn clone(&self) -> Self {
        Pricing {
            overrides: self.overrides.clone(),
            bundled: self.bundled,
            warned: Mutex::default(),
        }
    }
}

impl Pricing {
    /// The maintained prices of the `genai-prices` crate (OpenAI, Anthropic, Google and more,
    /// with the date each price took effect).
    pub fn bundled() -> Self {
        Pricing {
            overrides: BTreeMap::new(),
            bundled: true,
            warned: Mutex::default(),
        }
    }

    /// No prices at all: only models given with [`with_model`](Self::with_model) are priced.
    pub fn empty() -> Self {
        Pricing {
            bundled: false,
            ..Pricing::bundled()
        }
    }

    /// Prices `model` (of any provider) at `price`, over the bundled data.
    pub fn with_model(mut self, model: &str, price: ModelPrice) -> Self {
        self.overrides.insert((None, model.to_owned()), price);
        self
    }

    /// Prices `model` of `provider` only.
    pub fn with_provider_model(mut self, provider: &str, model: &str, price: ModelPrice) -> Self {
        self.overrides
            .insert((Some(provider.to_owned()), model.to_owned()), price);
        self
    }

    /// Adds the prices of a TOML or JSON file (by its extension) over these:
    ///
    /// ```toml
    /// # USD per 1,000 tokens; prices as of 2026-11-01
    /// [models."gpt-5.3-codex"]
    /// provider = "openai"      # optional: only this provider's model
    /// input = 0.03
    /// output = 0.06
    /// cached_input = 0.0075    # optional
    /// ```
    pub fn with_file(self, path: &Path) -> Result<Self, PricingError> {
        let text = std::fs::read_to_string(path).map_err(|error| PricingError {
            path: path.to_owned(),
            message: error.to_string(),
        })?;
        let is_json = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("json"));
        self.with_text(&text, is_json, path)
    }

    /// [`Pricing::with_file`] of the file's `text` (JSON if `is_json`, else TOML).
    pub(crate) fn with_text(
        mut self,
        text: &str,
        is_json: bool,
        path: &Path,
    ) -> Result<Self, PricingError> {
        let file: PricingFile = if is_json {
            serde_json::from_str(text).map_err(|error| PricingError {
                path: path.to_owned(),
                message: error.to_string(),
            })?
        } else {
            toml::from_str(text).map_err(|error| PricingError {
                path: path.to_owned(),
                message: error.to_string().trim_end().to_owned(),
            })?
        };
        for (model, entry) in file.models {
            // A negative or infinite price (TOML writes `-inf` and `nan`) would record a wrong
            // cost on every call: refused, naming the model and the field.
            for (field, price) in [
                ("input", entry.input),
                ("output", entry.output),
                ("cached_input", entry.cached_input),
                ("reasoning_output", entry.reasoning_output),
            ] {
                if let Some(price) = price.filter(|p| !p.is_finite() || *p < 0.0) {
                    return Err(PricingError {
                        path: path.to_owned(),
                        message: format!(
                            "model `{model}`: `{field}` is {price}; prices are USD per 1,000 tokens, a finite number of at least 0"
                        ),
                    });
                }
            }
            let price = ModelPrice {
                input: entry.input,
                output: entry.output,
                cached_input: entry.cached_input,
                reasoning_output: entry.reasoning_output,
            };
            self.overrides.insert((entry.provider, model), price);
        }
        Ok(self)
    }

    /// The prices set in code or by a file.
    #[cfg(test)]
    pub(crate) fn override_prices(&self) -> impl Iterator<Item = &ModelPrice> {
        self.overrides.values()
    }

    /// Decodes the bundled price data on a background thread, so that the first LLM call does not
    /// pay for it (tens of milliseconds).
    pub(crate) fn warm_up(&self) {
        if self.bundled {
            let _ = std::thread::Builder::new()
                .name("factory-obs-prices".into())
                .spawn(|| {
                    let _ = genai_prices::Calculator::bundled();
                });
        }
    }

    /// The cost of `usage` on `model` of `provider`.
    pub fn cost(&self, provider: &str, model: &str, usage: &Usage) -> Cost {
        // The provider's own price first, then one for the model of any provider.
        let scoped = self
            .overrides
            .get(&(Some(provider.to_owned()), model.to_owned()));
        if let Some(price) = scoped.or_else(|| self.overrides.get(&(None, model.to_owned()))) {
            return match price.cost(usage) {
                Ok(usd) => Cost::Usd(usd),
                Err(kind) => Cost::Unpriced(kind),
            };
        }
        if self.bundled {
            if let Some(usd) = bundled_cost(provider, model, usage) {
                return Cost::Usd(usd);
            }
        }
        Cost::UnknownModel
    }

    /// True the first time `provider/model` is reported unpriced, so the warning is printed once.
    pub(crate) fn first_warning(&self, provider: &str, model: &str) -> bool {
        self.warned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(format!("{provider}/{model}"))
    }
}

fn bundled_cost(provider: &str, model: &str, usage: &Usage) -> Option<f64> {
    use genai_prices::{PriceRequest, Usage as PriceUsage, UsageKey};
    let mut counts = PriceUsage::new();
    counts.insert(UsageKey::INPUT_TOKENS, usage.input_tokens as f64);
    counts.insert(UsageKey::OUTPUT_TOKENS, usage.output_tokens as f64);
    if let Some(cached) = usage.cached_input_tokens {
        counts.insert(UsageKey::CACHE_READ_TOKENS, cached as f64);
    }
    let calculator = genai_prices::Calculator::bundled();
    let request = PriceRequest::new(model, &counts);
    calculator
        .calculate(&request.with_provider_id(provider))
        .ok()
        .map(|price| price.total_price)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PricingFile {
    models: BTreeMap<String, PricingEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PricingEntry {
    provider: Option<String>,
    input: Option<f64>,
    output: Option<f64>,
    cached_input: Option<f64>,
    reasoning_output: Option<f64>,
}

/// A pricing file that could not be read.
#[derive(Debug)]
pub struct PricingError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for PricingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pricing file {}: {} (expected [models.\"<model>\"] tables with input, output, cached_input, reasoning_output in USD per 1K tokens)",
            self.path.display(),
            self.message
        )
    }
}

impl std::error::Error for PricingError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing (issue 10): `input = -1` or TOML's `nan` was accepted, and every call
    /// of the model then recorded a negative or NaN cost.
    #[test]
    fn negative_and_non_finite_prices_are_refused() {
        let path = Path::new("prices.toml");
        for (text, shown) in [
            (
                "[models.m]\ninput = -1.5\noutput = 0.06\n",
                "`input` is -1.5",
            ),
            (
                "[models.m]\ninput = 0.03\noutput = nan\n",
                "`output` is NaN",
            ),
            (
                "[models.m]\ninput = 0.03\noutput = 0.06\ncached_input = inf\n",
                "`cached_input` is inf",
            ),
        ] {
            let error = Pricing::empty().with_text(text, false, path).unwrap_err();
            assert_eq!(
                error.message,
                format!("model `m`: {shown}; prices are USD per 1,000 tokens, a finite number of at least 0")
            );
        }
        assert!(Pricing::empty()
            .with_text(r#"{"models":{"m":{"input":0,"output":0.5}}}"#, true, path)
            .is_ok());
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn seed_arithmetic_per_1k_tokens() {
        // The seed's example prices: 0.03 in, 0.06 out per 1K.
        let price = ModelPrice::new(0.03, 0.06);
        let cost = price.cost(&Usage::new(1500, 500)).unwrap();
        assert!(close(cost, 0.045 + 0.03), "{cost}");
    }

    #[test]
    fn cached_and_reasoning_tokens_are_priced_separately_when_priced() {
        let price = ModelPrice::new(0.01, 0.04)
            .with_cached_input(0.001)
            .with_reasoning_output(0.08);
        let usage = Usage::new(2000, 1000)
            .with_cached_input(1000)
            .with_reasoning_output(500);
        // 1000 uncached * 0.01 + 1000 cached * 0.001 + 500 * 0.04 + 500 reasoning * 0.08
        let cost = price.cost(&usage).unwrap();
        assert!(close(cost, 0.01 + 0.001 + 0.02 + 0.04), "{cost}");
        // Without those prices, cached is input and reasoning is output.
        let plain = ModelPrice::new(0.01, 0.04).cost(&usage).unwrap();
        assert!(close(plain, 0.02 + 0.04), "{plain}");
    }

    #[test]
    fn input_only_models_are_priced_until_they_produce_output() {
        let pricing = Pricing::empty().with_model("embed-1", ModelPrice::input_only(0.0001));
        assert_eq!(
            pricing.cost("openai", "embed-1", &Usage::new(10_000, 0)),
            Cost::Usd(0.001)
        );
        assert_eq!(
            pricing.cost("openai", "embed-1", &Usage::new(10_000, 5)),
            Cost::Unpriced("output")
        );
    }

    #[test]
    fn unknown_models_have_no_cost_and_warn_once() {
        let pricing = Pricing::empty();
        assert_eq!(
            pricing.cost("acme", "mystery-9", &Usage::new(1, 1)),
            Cost::UnknownModel
        );
        assert!(pricing.first_warning("acme", "mystery-9"));
        assert!(!pricing.first_warning("acme", "mystery-9"));
        assert!(Pricing::bundled()
            .cost("acme", "mystery-9", &Usage::new(1, 1))
            .eq(&Cost::UnknownModel));
    }

    #[test]
    fn provider_scoped_overrides_only_match_their_provider() {
        let pricing = Pricing::empty().with_provider_model(
            "openai",
            "shared-name",
            ModelPrice::new(1.0, 1.0),
        );
        assert_eq!(
            pricing.cost("openai", "shared-name", &Usage::new(1000, 0)),
            Cost::Usd(1.0)
        );
        assert_eq!(
            pricing.cost("other", "shared-name", &Usage::new(1000, 0)),
            Cost::UnknownModel
        );
        // Two providers' prices for one model name, and a fallback for any other provider.
        let pricing = pricing
            .with_provider_model("azure", "shared-name", ModelPrice::new(2.0, 2.0))
            .with_model("shared-name", ModelPrice::new(3.0, 3.0));
        assert_eq!(
            pricing.cost("openai", "shared-name", &Usage::new(1000, 0)),
            Cost::Usd(1.0)
        );
        assert_eq!(
            pricing.cost("azure", "shared-name", &Usage::new(1000, 0)),
            Cost::Usd(2.0)
        );
        assert_eq!(
            pricing.cost("other", "shared-name", &Usage::new(1000, 0)),
            Cost::Usd(3.0)
        );
    }

    #[test]
    fn bundled_data_prices_known_models() {
        let Cost::Usd(usd) =
            Pricing::bundled().cost("openai", "gpt-5.3-codex", &Usage::new(1_000_000, 0))
        else {
            panic!("gpt-5.3-codex is in the bundled data");
        };
        assert!(usd > 0.0);
    }

    #[test]
    fn files_in_toml_and_json_override_and_bad_files_say_why() {
        let dir = std::env::temp_dir().join(format!("fo-pricing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml_path = dir.join("prices.toml");
        std::fs::write(
            &toml_path,
            "[models.\"gpt-5.3-codex\"]\nprovider = \"openai\"\ninput = 0.03\noutput = 0.06\n",
        )
        .unwrap();
        let pricing = Pricing::empty().with_file(&toml_path).unwrap();
        assert_eq!(
            pricing.cost("openai", "gpt-5.3-codex", &Usage::new(1000, 1000)),
            Cost::Usd(0.09)
        );
        let json_path = dir.join("prices.json");
        std::fs::write(
            &json_path,
            r#"{"models": {"opus": {"input": 0.015, "output": 0.075}}}"#,
        )
        .unwrap();
        let pricing = Pricing::empty().with_file(&json_path).unwrap();
        assert_eq!(
            pricing.cost("anthropic", "opus", &Usage::new(0, 1000)),
            Cost::Usd(0.075)
        );
        std::fs::write(&toml_path, "[models.x]\ninput = \"cheap\"\n").unwrap();
        let error = Pricing::empty()
            .with_file(&toml_path)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!("pricing file {}: ", toml_path.display())),
            "{error}"
        );
        assert!(
            error.contains("invalid type: string \"cheap\", expected f64"),
            "{error}"
        );
    }
}
