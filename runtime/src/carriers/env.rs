//! Child processes: OpenTelemetry's environment-variable carrier
//! (specification `context/env-carriers.md`).
//!
//! A parent prepares a child's `Command` with the current context ([`CommandExt`]); the child's
//! [`crate::init`] reads it back ([`parent_from_environment`]), so the child's first spans are
//! children of the parent's stage. The carrier's keys are the propagator's field names in the
//! environment's form: `traceparent` → `TRACEPARENT`, `tracestate` → `TRACESTATE`, `baggage`
//! → `BAGGAGE` (upper case; any character other than a letter, digit or `_` becomes `_`).
//! Values longer than [`MAX_VALUE_LEN`] bytes lose whole list entries from their end, as the
//! specification asks ("Size Limitations"), never part of one; `TRACESTATE` loses its entries
//! longer than 128 characters first, as W3C Trace Context Level 2 asks ("tracestate Limits").

use crate::carriers::trace_context::parse_traceparent;
use crate::names::env_carrier;
use opentelemetry::baggage::{Baggage, BaggageExt as _};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;
use std::collections::HashMap;
use std::ffi::OsStr;

/// The longest value the carrier writes, in bytes: W3C Baggage's limit for a whole `baggage`
/// value (8192), far above the 512 bytes W3C Trace Context asks `tracestate` carriers to keep,
/// and well within every platform's environment limits (32,767 characters on Windows).
pub const MAX_VALUE_LEN: usize = 8192;

/// The environment variable that carries the propagator field `key`.
pub fn env_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// `value` cut to at most [`MAX_VALUE_LEN`] bytes by dropping whole comma-separated entries
/// from its end; `None` when not even the first entry fits.
fn truncated(value: String) -> Option<String> {
    if value.len() <= MAX_VALUE_LEN {
        return Some(value);
    }
    let mut end = 0;
    for (at, _) in value.match_indices(',') {
        if at > MAX_VALUE_LEN {
            break;
        }
        end = at;
    }
    (end > 0).then(|| value[..end].to_owned())
}

/// A `tracestate` cut to at most [`MAX_VALUE_LEN`] bytes as W3C Trace Context Level 2 section
/// 3.3.3.1 "tracestate Limits" says: "the vendor MUST truncate whole entries. Entries larger
/// than 128 characters long SHOULD be removed first. Then entries SHOULD be removed starting
/// from the end of tracestate." `None` when no entry is left.
fn truncated_tracestate(value: String) -> Option<String> {
    if value.len() <= MAX_VALUE_LEN {
        return Some(value);
    }
    let mut entries: Vec<&str> = value.split(',').collect();
    // The joined length: the entries and a comma between each two.
    let mut length = value.len();
    for longer_than in [TRACESTATE_LARGE_ENTRY, 0] {
        let mut index = entries.len();
        while length > MAX_VALUE_LEN && index > 0 {
            index -= 1;
            if entries[index].len() > longer_than {
                length -= entries.remove(index).len() + usize::from(!entries.is_empty());
            }
        }
    }
    (!entries.is_empty()).then(|| entries.join(","))
}

/// The length above which a `tracestate` entry goes first when the list is too long.
const TRACESTATE_LARGE_ENTRY: usize = 128;

/// Reads propagation fields from a snapshot of environment variables.
#[derive(Clone, Debug, Default)]
pub struct EnvExtractor {
    vars: HashMap<String, String>,
}

impl EnvExtractor {
    /// The process's environment as it is now (variables that are not valid UTF-8 are left out).
    pub fn from_process() -> Self {
        EnvExtractor {
            vars: std::env::vars_os()
                .filter_map(|(name, value)| {
                    Some((name.into_string().ok()?, value.into_string().ok()?))
                })
                .collect(),
        }
    }

    /// Given variables, for tests and for environments built by hand.
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        EnvExtractor {
            vars: vars
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        }
    }
}

impl Extractor for EnvExtractor {
    fn get(&self, key: &str) -> Option<&str> {
        self.vars.get(&env_name(key)).map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        self.vars.keys().map(String::as_str).collect()
    }
}

/// Collects the variables a propagator writes, named and truncated for the environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvInjector {
    /// `(NAME, value)` in the order the propagator wrote them.
    pub vars: Vec<(String, String)>,
}

impl Injector for EnvInjector {
    fn set(&mut self, key: &str, value: String) {
        let name = env_name(key);
        self.vars.retain(|(existing, _)| *existing != name);
        let value = if name == env_carrier::TRACESTATE {
            truncated_tracestate(value)
        } else {
            truncated(value)
        };
        if let Some(value) = value {
            self.vars.push((name, value));
        }
    }
}

/// The environment variables that carry `cx` (trace context and baggage) through the global
/// propagator; empty when `cx` has no valid span context and no baggage.
pub fn context_env(cx: &Context) -> Vec<(String, String)> {
    let mut injector = EnvInjector::default();
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.inject_context(cx, &mut injector)
    });
    injector.vars
}

/// The names of every variable the global propagator may write (`TRACEPARENT`, `TRACESTATE`,
/// `BAGGAGE` with the propagator `init` installs).
fn carrier_names() -> Vec<String> {
    opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.fields().map(env_name).collect()
    })
}

/// Where [`CommandExt`] writes: a `std` or a `tokio` command.
trait EnvTarget {
    fn set_var(&mut self, name: &OsStr, value: &OsStr);
    fn remove_var(&mut self, name: &OsStr);
}

impl EnvTarget for std::process::Command {
    fn set_var(&mut self, name: &OsStr, value: &OsStr) {
        self.env(name, value);
    }
    fn remove_var(&mut self, name: &OsStr) {
        self.env_remove(name);
    }
}

#[cfg(feature = "tokio")]
impl EnvTarget for tokio::process::Command {
    fn set_var(&mut self, name: &OsStr, value: &OsStr) {
        self.env(name, value);
    }
    fn remove_var(&mut self, name: &OsStr) {
        self.env_remove(name);
    }
}

/// Sets `cx` on `command`. When `cx` carries something, every carrier variable the child would
/// otherwise inherit is removed first, so that a `TRACESTATE` or `BAGGAGE` of this process's
/// own parent never travels with a `TRACEPARENT` of ours. When it carries nothing, the command
/// is left alone: the child inherits this process's own parent, if it had one.
fn prepare(command: &mut impl EnvTarget, cx: &Context) {
    let vars = context_env(cx);
    if vars.is_empty() {
        return;
    }
    for name in carrier_names() {
        command.remove_var(OsStr::new(&name));
    }
    for (name, value) in &vars {
        command.set_var(OsStr::new(name), OsStr::new(value));
    }
}

/// Starts child processes in the current trace: `Command::new("cargo").arg("test")
/// .with_trace_context()`. A child that calls [`crate::init`] (or any OpenTelemetry SDK that
/// reads `TRACEPARENT`) makes its first spans children of the span current here.
pub trait CommandExt {
    /// Sets `TRACEPARENT`, `TRACESTATE` and `BAGGAGE` from `Context::current()`.
    fn with_trace_context(&mut self) -> &mut Self;
    /// Sets them from `cx`.
    fn with_context(&mut self, cx: &Context) -> &mut Self;
}

impl CommandExt for std::process::Command {
    fn with_trace_context(&mut self) -> &mut Self {
        self.with_context(&Context::current())
    }
    fn with_context(&mut self, cx: &Context) -> &mut Self {
        prepare(self, cx);
        self
    }
}

#[cfg(feature = "tokio")]
impl CommandExt for tokio::process::Command {
    fn with_trace_context(&mut self) -> &mut Self {
        self.with_context(&Context::current())
    }
    fn with_context(&mut self, cx: &Context) -> &mut Self {
        prepare(self, cx);
        self
    }
}

/// What this process's environment says about its parent, read by [`crate::init`]: the context
/// `TRACEPARENT` (with `TRACESTATE` and `BAGGAGE`) carries, through the global propagator.
/// `None` when `TRACEPARENT` is unset or empty; when it is malformed, also `None`, with one
/// warning on stderr naming the variable and what is wrong (never its value): the process
/// then starts a trace of its own.
pub(crate) fn parent_from_environment() -> Option<Context> {
    let environment = EnvExtractor::from_process();
    let name = env_carrier::TRACEPARENT;
    let value = environment.vars.get(name)?;
    if value.trim().is_empty() {
        return None;
    }
    if let Err(problem) = parse_traceparent(value) {
        eprintln!(
            "factory-observability: ignoring {name}: {problem}; accepted: a W3C traceparent such as \
             00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01. This process starts a new trace."
        );
        return None;
    }
    let cx = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract_with_context(&Context::new(), &environment)
    });
    cx.span().span_context().is_valid().then_some(cx)
}

/// Makes the context this process was started under (`TRACEPARENT`, with its `TRACESTATE` and
/// `BAGGAGE`) the calling thread's current context for the rest of the thread's life, so that
/// `Context::current()` there holds the parent's baggage (`Context::current().baggage()`) and
/// its span context, for the macros' calls and for anything else reading the current context
/// (`tracing` spans through tracing-opentelemetry, hand-written OpenTelemetry spans).
///
/// [`crate::init`] calls it on the thread that calls `init`, normally `main`'s (under
/// `#[tokio::main]`, the thread that runs the main future). Nothing is changed when that thread
/// is already inside a context with a span (the caller's scope wins). Other threads and tasks
/// do not inherit a thread's current context; there, the macros still make their first spans
/// children of the process's parent (`Sampling::process_parent`), and their bodies' context
/// holds the parent's baggage ([`with_process_baggage`]); code outside any call there sees the
/// empty context.
pub(crate) fn make_current_on_this_thread(parent: &Context) {
    if Context::map_current(|current| current.span().span_context().is_valid()) {
        return;
    }
    // Never detached: the thread's base context from now on. Its guard must not be dropped
    // (that would restore the empty context), and it cannot be kept anywhere else: it is
    // bound to this thread.
    std::mem::forget(parent.clone().attach());
}

/// The context a macro's call starts from on a thread where nothing is current: `current` with
/// the baggage of the process's parent, so that the call's body sees in `Context::current()`
/// what it would see on `init`'s thread. `None` (start from `current` as it is) when `current`
/// has a span or baggage of its own (the caller's scope wins) or the parent brought no baggage.
///
/// Threads and tasks started after `init` begin with the empty context (OpenTelemetry's context
/// is per thread), and nothing of ours runs when they start: a call is the first point where
/// they can be given the parent's baggage. Their span parent is decided apart, by the sampler
/// (`Sampling::process_parent`).
pub(crate) fn with_process_baggage(current: &Context, process_parent: &Context) -> Option<Context> {
    let baggage = process_parent.baggage();
    if baggage.is_empty()
        || current.span().span_context().is_valid()
        || !current.baggage().is_empty()
    {
        return None;
    }
    // `Baggage` is not `Clone`: its entries are.
    let copy: Baggage = baggage
        .iter()
        .map(|(key, (value, metadata))| (key.clone(), (value.clone(), metadata.clone())))
        .collect();
    Some(current.with_baggage(copy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_on_an_empty_context_gets_the_process_parents_baggage_only() {
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId};
        use opentelemetry::KeyValue;
        let span_context = SpanContext::new(
            TraceId::from(7),
            SpanId::from(9),
            TraceFlags::SAMPLED,
            true,
            Default::default(),
        );
        let parent = Context::new()
            .with_remote_span_context(span_context.clone())
            .with_baggage([KeyValue::new("tenant", "acme")]);
        let given = with_process_baggage(&Context::new(), &parent).unwrap();
        assert_eq!(given.baggage().get("tenant").unwrap().as_str(), "acme");
        // The span parent is the sampler's business, not this context's.
        assert!(!given.span().span_context().is_valid());

        // The caller's own scope wins: its baggage, or its span.
        let own = Context::new().with_baggage([KeyValue::new("tenant", "other")]);
        assert!(with_process_baggage(&own, &parent).is_none());
        let in_span = Context::new().with_remote_span_context(span_context.clone());
        assert!(with_process_baggage(&in_span, &parent).is_none());
        // A parent without baggage changes nothing.
        let bare = Context::new().with_remote_span_context(span_context);
        assert!(with_process_baggage(&Context::new(), &bare).is_none());
    }

    #[test]
    fn names_are_upper_case_with_underscores() {
        assert_eq!(env_name("traceparent"), env_carrier::TRACEPARENT);
        assert_eq!(env_name("tracestate"), env_carrier::TRACESTATE);
        assert_eq!(env_name("baggage"), env_carrier::BAGGAGE);
        assert_eq!(env_name("x-b3-traceid"), "X_B3_TRACEID");
        assert_eq!(env_name("ot.baggage"), "OT_BAGGAGE");
    }

    #[test]
    fn long_values_lose_whole_entries_from_the_end() {
        let entry = format!("k={}", "v".repeat(998)); // 1000 bytes
        let list = vec![entry.clone(); 10].join(",");
        let cut = truncated(list).unwrap();
        assert_eq!(cut, vec![entry; 8].join(","));
        assert!(truncated("x".repeat(MAX_VALUE_LEN + 1)).is_none());
    }

    /// W3C Trace Context Level 2, 3.3.3.1 "tracestate Limits": whole entries, those longer
    /// than 128 characters first, then from the end; the rest in their order.
    #[test]
    fn a_long_tracestate_loses_its_large_entries_first_then_entries_from_the_end() {
        let small = |n: usize| format!("s{n:02}={}", "v".repeat(120)); // 124 characters
                                                                       // A key of 200 characters and a value of 256, the longest the grammar allows.
        let large = |n: usize| format!("l{n:02}{}={}", "k".repeat(197), "w".repeat(256));
        // 60 small entries: 60 * 125 - 1 = 7,499 bytes fit whole.
        let fits: Vec<String> = (0..60).map(small).collect();
        let list = fits.join(",");
        assert_eq!(truncated_tracestate(list.clone()).unwrap(), list);

        // Large entries mixed with small ones, 32 in all, over the limit: the large ones go,
        // from the end, until it fits; the small ones stay, in their place.
        let mixed: Vec<String> = (0..32)
            .map(|n| if n % 2 == 0 { large(n) } else { small(n) })
            .collect();
        let total = mixed.join(",").len();
        assert!(total > MAX_VALUE_LEN, "{total}");
        let cut = truncated_tracestate(mixed.join(",")).unwrap();
        assert!(cut.len() <= MAX_VALUE_LEN);
        let kept: Vec<&str> = cut.split(',').collect();
        let over = total - MAX_VALUE_LEN;
        let dropped = over.div_ceil(large(0).len() + 1);
        let expected: Vec<&str> = mixed
            .iter()
            .enumerate()
            .filter(|(n, _)| n % 2 == 1 || *n < 32 - 2 * dropped)
            .map(|(_, entry)| entry.as_str())
            .collect();
        assert_eq!(kept, expected);

        // Only small entries: from the end.
        let smalls: Vec<String> = (0..70).map(small).collect();
        let cut = truncated_tracestate(smalls.join(",")).unwrap();
        assert_eq!(cut, smalls[..65].join(","));

        // Through the injector: `TRACESTATE` by these rules, other variables from the end.
        let mut injector = EnvInjector::default();
        injector.set("tracestate", mixed.join(","));
        assert_eq!(
            injector.vars[0].1,
            truncated_tracestate(mixed.join(",")).unwrap()
        );
    }
}
