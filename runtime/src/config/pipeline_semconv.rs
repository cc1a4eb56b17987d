//! `FACTORY_OBS_PIPELINE_SEMCONV`: which names pipeline runs and stages carry, the seed's, the
//! OpenTelemetry CI/CD conventions', or both (the default), in the style of
//! `OTEL_SEMCONV_STABILITY_OPT_IN` (a comma-separated list, `<domain>/dup` for both; semantic
//! conventions, `docs/non-normative/http-migration.md`).

use crate::error::InitError;
use crate::names::provenance_env::FACTORY_OBS_PIPELINE_SEMCONV;

/// Which names pipeline runs and stages carry: at least one of the two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipelineSemconv {
    /// The seed's: `pipeline.run`, `pipeline.name`, `run.outcome`, `stage.name`, ...
    pub seed: bool,
    /// The CI/CD conventions': `cicd.pipeline.*`, the `{action} {pipeline}` span name of kind
    /// SERVER, the `cicd.pipeline.run.*` metrics.
    pub cicd: bool,
}

impl Default for PipelineSemconv {
    fn default() -> Self {
        PipelineSemconv {
            seed: true,
            cicd: true,
        }
    }
}

const ACCEPTED: &str = "seed, cicd or cicd/dup (both, the default), comma-separated";

impl PipelineSemconv {
    /// The variable's value; `None` (unset) is both.
    pub fn parse(value: Option<&str>) -> Result<PipelineSemconv, InitError> {
        let Some(value) = value else {
            return Ok(PipelineSemconv::default());
        };
        let (mut seed, mut cicd, mut dup) = (false, false, false);
        for token in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            match token.to_ascii_lowercase().as_str() {
                "seed" => seed = true,
                "cicd" => cicd = true,
                "cicd/dup" => dup = true,
                _ => {
                    return Err(InitError::invalid_env(
                        FACTORY_OBS_PIPELINE_SEMCONV,
                        value,
                        ACCEPTED,
                    ))
                }
            }
        }
        Ok(match (seed, cicd, dup) {
            (false, false, false) => PipelineSemconv::default(),
            // `cicd/dup` wins over `cicd`, as `http/dup` does over `http`.
            (_, _, true) | (true, true, _) => PipelineSemconv::default(),
            (true, false, false) => PipelineSemconv {
                seed: true,
                cicd: false,
            },
            (false, true, false) => PipelineSemconv {
                seed: false,
                cicd: true,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_and_the_default() {
        let both = PipelineSemconv::default();
        assert_eq!(PipelineSemconv::parse(None).unwrap(), both);
        assert_eq!(PipelineSemconv::parse(Some("cicd/dup")).unwrap(), both);
        assert_eq!(
            PipelineSemconv::parse(Some("cicd, cicd/dup")).unwrap(),
            both
        );
        assert_eq!(PipelineSemconv::parse(Some("seed,cicd")).unwrap(), both);
        assert_eq!(
            PipelineSemconv::parse(Some(" SEED ")).unwrap(),
            PipelineSemconv {
                seed: true,
                cicd: false
            }
        );
        assert_eq!(
            PipelineSemconv::parse(Some("cicd")).unwrap(),
            PipelineSemconv {
                seed: false,
                cicd: true
            }
        );
    }

    #[test]
    fn a_bad_value_names_the_variable_and_the_accepted_values() {
        let error = PipelineSemconv::parse(Some("cicd,http"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("FACTORY_OBS_PIPELINE_SEMCONV"), "{error}");
        assert!(error.contains("seed, cicd or cicd/dup"), "{error}");
    }
}
