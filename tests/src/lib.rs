//! Helpers shared by the tests: a real collector process, and readers of OTLP/JSON files.
