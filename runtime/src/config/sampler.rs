//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`.

use crate::error::InitError;
use opentelemetry_sdk::trace::Sampler;

pub(super) fn parse_sampler(
    name: Option<String>,
    arg: Option<String>,
) -> Result<Sampler, InitError> {
    const ACCEPTED: &str = "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio";
    let ratio = || -> Result<f64, InitError> {
        match &arg {
            None => Ok(1.0),
            Some(value) => match value.trim().parse::<f64>() {
                Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
                _ => Err(InitError::invalid_env(
                    "OTEL_TRACES_SAMPLER_ARG",
                    value,
                    "a number from 0 to 1, e.g. 0.25",
                )),
            },
        }
    };
    let Some(name) = name else {
        return Ok(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    };
    Ok(match name.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio()?)))
        }
        _ => {
            return Err(InitError::invalid_env(
                "OTEL_TRACES_SAMPLER",
                &name,
                ACCEPTED,
            ))
        }
    })
}
