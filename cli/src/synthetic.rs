//! Deterministic synthetic factory telemetry (see generate).
