//! Running totals of the LLM and tool calls made under a run or an agent, added to from every
//! thread and task that keeps the trace, and read once when the run or the agent ends.

use crate::usage::Usage;
use std::sync::atomic::{AtomicU64, Ordering};

/// LLM and tool totals, added atomically.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    llm_calls: AtomicU64,
    unpriced_calls: AtomicU64,
    input_tokens: AtomicU64,
    output_tokens: AtomicU64,
    cache_read_input_tokens: AtomicU64,
    reasoning_output_tokens: AtomicU64,
    /// Cost in billionths of a dollar, so that it can be added atomically.
    cost_nano_usd: AtomicU64,
    tool_calls: AtomicU64,
    tool_failures: AtomicU64,
}

/// What [`Totals`] held when it was read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct TotalsRead {
    pub llm_calls: u64,
    pub unpriced_calls: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub reasoning_output_tokens: u64,
    pub cost_usd: f64,
    pub tool_calls: u64,
    pub tool_failures: u64,
}

impl Totals {
    /// Adds one LLM call: its tokens (none when it reported no usage and had no prompt to
    /// estimate from; an estimate counts its input only), and its cost, `None` when tokens
    /// were counted but could not be priced.
    pub fn add_llm_call(&self, usage: Option<&Usage>, estimated: bool, cost_usd: Option<f64>) {
        self.llm_calls.fetch_add(1, Ordering::Relaxed);
        let Some(usage) = usage else {
            return;
        };
        self.input_tokens
            .fetch_add(usage.input_tokens, Ordering::Relaxed);
        if !estimated {
            self.output_tokens
                .fetch_add(usage.output_tokens, Ordering::Relaxed);
            let add = |counter: &AtomicU64, tokens: Option<u64>| {
                if let Some(tokens) = tokens.filter(|&t| t > 0) {
                    counter.fetch_add(tokens, Ordering::Relaxed);
                }
            };
            add(&self.cache_read_input_tokens, usage.cached_input_tokens);
            add(&self.reasoning_output_tokens, usage.reasoning_output_tokens);
        }
        match cost_usd {
            Some(usd) => {
                self.cost_nano_usd
                    .fetch_add((usd * 1e9).round() as u64, Ordering::Relaxed);
            }
            None => {
                self.unpriced_calls.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Adds one tool call, a failure when `failed`.
    pub fn add_tool_call(&self, failed: bool) {
        self.tool_calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.tool_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn read(&self) -> TotalsRead {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        TotalsRead {
            llm_calls: load(&self.llm_calls),
            unpriced_calls: load(&self.unpriced_calls),
            input_tokens: load(&self.input_tokens),
            output_tokens: load(&self.output_tokens),
            cache_read_input_tokens: load(&self.cache_read_input_tokens),
            reasoning_output_tokens: load(&self.reasoning_output_tokens),
            cost_usd: load(&self.cost_nano_usd) as f64 / 1e9,
            tool_calls: load(&self.tool_calls),
            tool_failures: load(&self.tool_failures),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_count_their_input_only_and_unpriced_calls_are_counted() {
        let totals = Totals::default();
        let mut usage = Usage::new(100, 40);
        usage.cached_input_tokens = Some(60);
        usage.reasoning_output_tokens = Some(10);
        totals.add_llm_call(Some(&usage), false, Some(0.25));
        totals.add_llm_call(Some(&Usage::new(30, 0)), true, None);
        totals.add_llm_call(None, false, None);
        totals.add_tool_call(false);
        totals.add_tool_call(true);
        assert_eq!(
            totals.read(),
            TotalsRead {
                llm_calls: 3,
                unpriced_calls: 1,
                input_tokens: 130,
                output_tokens: 40,
                cache_read_input_tokens: 60,
                reasoning_output_tokens: 10,
                cost_usd: 0.25,
                tool_calls: 2,
                tool_failures: 1,
            }
        );
    }
}
