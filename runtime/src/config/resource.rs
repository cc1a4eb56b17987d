//! `service.name` and `OTEL_RESOURCE_ATTRIBUTES`.

use super::values::parse_key_values;
use super::Lookup;
use crate::error::InitError;
use opentelemetry::KeyValue;

/// The service name and the other resource attributes.
pub(super) fn service_and_resource(
    get: Lookup<'_>,
    default_service_name: &str,
) -> Result<(String, Vec<KeyValue>), InitError> {
    let resource_pairs = match get("OTEL_RESOURCE_ATTRIBUTES") {
        None => Vec::new(),
        Some(value) => parse_key_values("OTEL_RESOURCE_ATTRIBUTES", &value, true)?,
    };
    // OTEL_SERVICE_NAME wins over `service.name` in OTEL_RESOURCE_ATTRIBUTES, which wins over
    // the name given in code.
    let service_name = get("OTEL_SERVICE_NAME")
        .or_else(|| {
            resource_pairs
                .iter()
                .find(|(key, _)| key == "service.name")
                .map(|(_, value)| value.clone())
        })
        .unwrap_or_else(|| default_service_name.to_owned())
        .trim()
        .to_owned();
    let resource_attributes = resource_pairs
        .into_iter()
        .map(|(key, value)| KeyValue::new(key, value))
        .collect();
    Ok((service_name, resource_attributes))
}
