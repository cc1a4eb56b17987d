//! Provenance: what a product carries about the factory run that built it.
//!
//! A run knows its id, its pipeline, the code it ran from (`vcs.*`, see
//! [`crate::config::vcs`]), the winner of its last adjudication and the models its LLM calls
//! used; a stage can say better with [`mark_produced`]. A deploy takes [`Provenance::of_current_run`]
//! and hands it to the product as resource attributes in `OTEL_RESOURCE_ATTRIBUTES`
//! ([`CommandExt::with_provenance`] for a child process, [`Provenance::to_env_value`] for a
//! deploy tool): every OpenTelemetry SDK reads that variable at start-up, so every span, metric
//! and log of the product names its origin, for as long as it runs. The names are in
//! [`crate::names::provenance`] and [`crate::names::vcs`]; docs/provenance.md tells the story.

use crate::call::run::RunState;
use crate::names::{provenance as names, vcs};
use opentelemetry::{Context, KeyValue};
use std::process::Command;

/// The variable every OpenTelemetry SDK reads its resource attributes from.
pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";

/// Where a product comes from: the run that built it, the code it was built from, the winning
/// candidate and the models that wrote it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    /// `factory.run.id`.
    pub run_id: Option<String>,
    /// `factory.pipeline.name`.
    pub pipeline: Option<String>,
    /// `factory.stage`: the stage that marked what it produced.
    pub stage: Option<String>,
    /// `factory.candidate`.
    pub candidate: Option<String>,
    /// `factory.models`, sorted.
    pub models: Vec<String>,
    /// `vcs.ref.head.revision`.
    pub revision: Option<String>,
    /// `vcs.ref.head.name`.
    pub ref_name: Option<String>,
    /// `vcs.repository.url.full`.
    pub repository_url: Option<String>,
}

impl Provenance {
    /// The provenance of what the current run produced: its id and pipeline, the code this
    /// process runs (what `init` read), the candidate and models a stage marked, else the last
    /// adjudication's winner and every model the run called. `None` outside a run.
    pub fn of_current_run() -> Option<Provenance> {
        Provenance::of_context(&Context::current())
    }

    fn of_context(cx: &Context) -> Option<Provenance> {
        let run = cx.get::<RunState>()?;
        let produced = run.produced().clone();
        let origin = crate::config::vcs::process_origin();
        let vcs = origin.vcs.clone().unwrap_or_default();
        Some(Provenance {
            run_id: Some(run.run_id.as_str().to_owned()),
            pipeline: Some(run.pipeline.to_owned()),
            stage: None,
            candidate: produced.candidate,
            models: produced.models.into_iter().collect(),
            revision: vcs.revision,
            ref_name: vcs.ref_name,
            repository_url: vcs.repository_url,
        })
    }

    /// The same, with the winning candidate.
    pub fn candidate(mut self, candidate: impl Into<String>) -> Self {
        self.candidate = Some(candidate.into());
        self
    }

    /// The same, with the models that wrote it.
    pub fn models<S: Into<String>>(mut self, models: impl IntoIterator<Item = S>) -> Self {
        self.models = models.into_iter().map(Into::into).collect();
        self.models.sort();
        self.models.dedup();
        self
    }

    /// The same, naming the stage that produced it.
    pub fn stage(mut self, stage: impl Into<String>) -> Self {
        self.stage = Some(stage.into());
        self
    }

    /// The same, with the revision it was built from (the commit the factory made of it).
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }

    /// The resource attributes, keys from [`crate::names::provenance`] and
    /// [`crate::names::vcs`]; what is unknown is left out.
    pub fn resource_attributes(&self) -> Vec<KeyValue> {
        let models = (!self.models.is_empty()).then(|| self.models.join(","));
        [
            (names::FACTORY_RUN_ID, self.run_id.clone()),
            (names::FACTORY_PIPELINE_NAME, self.pipeline.clone()),
            (names::FACTORY_STAGE, self.stage.clone()),
            (names::FACTORY_CANDIDATE, self.candidate.clone()),
            (names::FACTORY_MODELS, models),
            (vcs::VCS_REF_HEAD_REVISION, self.revision.clone()),
            (vcs::VCS_REF_HEAD_NAME, self.ref_name.clone()),
            (vcs::VCS_REPOSITORY_URL_FULL, self.repository_url.clone()),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| KeyValue::new(key, value)))
        .collect()
    }

    /// `OTEL_RESOURCE_ATTRIBUTES` for the product: the entries of `existing` (a value of the
    /// variable) whose keys provenance does not set, then provenance's, each value
    /// percent-encoded as the OpenTelemetry resource SDK specification asks ("Specifying
    /// resource information via an environment variable").
    pub fn to_env_value(&self, existing: Option<&str>) -> String {
        let ours = self.resource_attributes();
        let mut entries: Vec<String> = existing
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .filter(|entry| {
                let key = entry.split_once('=').map_or(*entry, |(key, _)| key).trim();
                !ours.iter().any(|kv| kv.key.as_str() == key)
            })
            .map(str::to_owned)
            .collect();
        entries.extend(
            ours.iter()
                .map(|kv| format!("{}={}", kv.key, percent_encode(&kv.value.as_str()))),
        );
        entries.join(",")
    }
}

/// Percent-encodes everything but letters, digits and `-._~/:@`: commas, equals signs, spaces,
/// percent signs and `+` (which some readers take for a space) never reach a reader as such.
fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/:@".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Marks what the current run produced: the winning candidate and the models that wrote it.
/// The run's provenance takes them over the last adjudication's winner and the run's models,
/// and the run's span records them when it ends (`factory.candidate`, `factory.models`).
/// Outside a run it does nothing.
pub fn mark_produced<S: AsRef<str>>(candidate: &str, models: &[S]) {
    let cx = Context::current();
    let Some(run) = cx.get::<RunState>() else {
        return;
    };
    let mut models: Vec<String> = models.iter().map(|m| m.as_ref().to_owned()).collect();
    models.sort();
    models.dedup();
    let mut produced = run.produced();
    produced.candidate = Some(candidate.to_owned());
    produced.models = models.into_iter().collect();
    produced.marked = true;
}

/// Gives a child process its provenance.
pub trait CommandExt {
    /// Sets `OTEL_RESOURCE_ATTRIBUTES` for the child: what the command or this process already
    /// set, with `provenance`'s attributes over it (see [`Provenance::to_env_value`]).
    fn with_provenance(&mut self, provenance: &Provenance) -> &mut Self;
}

impl CommandExt for Command {
    fn with_provenance(&mut self, provenance: &Provenance) -> &mut Self {
        let given = self
            .get_envs()
            .find(|(key, _)| *key == OTEL_RESOURCE_ATTRIBUTES)
            .map(|(_, value)| value.map(|v| v.to_string_lossy().into_owned()));
        let existing = match given {
            Some(value) => value,
            None => std::env::var(OTEL_RESOURCE_ATTRIBUTES).ok(),
        };
        self.env(
            OTEL_RESOURCE_ATTRIBUTES,
            provenance.to_env_value(existing.as_deref()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Provenance {
        Provenance {
            run_id: Some("0190a5b2-7c1e-7d3a-9f00-5e8b2c4d6a10".into()),
            pipeline: Some("new_product".into()),
            stage: None,
            candidate: Some("claude".into()),
            models: vec![],
            revision: Some("0123456789abcdef0123456789abcdef01234567".into()),
            ref_name: None,
            repository_url: Some("https://github.com/acme/shop".into()),
        }
        .models(["opus 4", "gpt-5.3,codex", "opus 4"])
    }

    #[test]
    fn the_variable_keeps_other_entries_and_encodes_values() {
        let value = example().to_env_value(Some(
            "deployment.environment.name=prod, factory.run.id=old,service.name=shop",
        ));
        assert_eq!(
            value,
            "deployment.environment.name=prod,service.name=shop,\
             factory.run.id=0190a5b2-7c1e-7d3a-9f00-5e8b2c4d6a10,\
             factory.pipeline.name=new_product,factory.candidate=claude,\
             factory.models=gpt-5.3%2Ccodex%2Copus%204,\
             vcs.ref.head.revision=0123456789abcdef0123456789abcdef01234567,\
             vcs.repository.url.full=https://github.com/acme/shop"
        );
    }

    /// What `init` reads back is what was given: the runtime's own reader of the variable.
    #[test]
    fn the_runtimes_reader_decodes_what_was_written() {
        let value = example().to_env_value(None);
        let config = crate::config::Config::from_lookup("product", |name| {
            (name == OTEL_RESOURCE_ATTRIBUTES).then(|| value.clone())
        })
        .unwrap();
        let read: Vec<(String, String)> = config
            .resource_attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
            .collect();
        let given: Vec<(String, String)> = example()
            .resource_attributes()
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
            .collect();
        assert_eq!(read, given);
        assert!(read.contains(&("factory.models".into(), "gpt-5.3,codex,opus 4".into())));
    }
}
