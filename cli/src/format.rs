//! Numbers as people read them, percentiles, and aligned text tables.

use std::time::{Duration, UNIX_EPOCH};

/// Nearest-rank percentile (`p` in 0..=100) of sorted values; 0 for none.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Durations: `12 ms` under a second, `1.23 s` under a minute, `2m 05s` beyond; `0.42 ms` under
/// a millisecond.
pub fn duration(nanos: u64) -> String {
    let d = Duration::from_nanos(nanos);
    if d < Duration::from_millis(1) {
        format!("{:.2} ms", nanos as f64 / 1e6)
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else if d < Duration::from_secs(60) {
        format!("{:.2} s", d.as_secs_f64())
    } else {
        format!("{}m {:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// A signed difference of durations: `+12 ms`, `-1.20 s`.
pub fn duration_delta(a: u64, b: u64) -> String {
    if b >= a {
        format!("+{}", duration(b - a))
    } else {
        format!("-{}", duration(a - b))
    }
}

/// Milliseconds as a JSON number.
pub fn millis(nanos: u64) -> f64 {
    (nanos as f64 / 1e3).round() / 1e3
}

/// USD with 4 decimals, `-` when unknown.
pub fn cost(usd: Option<f64>) -> String {
    match usd {
        Some(usd) => format!("${usd:.4}"),
        None => "-".to_owned(),
    }
}

/// A ratio as a percentage with one decimal.
pub fn percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// RFC 3339 with milliseconds, UTC.
pub fn timestamp(unix_nano: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_nanos(unix_nano)).to_string()
}

/// Column alignment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A text table: a header row and rows, columns padded to their widest cell (by characters).
pub fn table(headers: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (index, (cell, ((_, align), width))) in
            cells.iter().zip(headers.iter().zip(&widths)).enumerate()
        {
            if index > 0 {
                out.push_str("  ");
            }
            let pad = width - cell.chars().count();
            match align {
                Align::Left => {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                }
                Align::Right => {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(headers.iter().map(|(h, _)| *h).collect());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<u64> = (1..=20).collect();
        assert_eq!(percentile(&values, 50.0), 10);
        assert_eq!(percentile(&values, 95.0), 19);
        assert_eq!(percentile(&values, 100.0), 20);
        assert_eq!(percentile(&[7], 95.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(420_000), "0.42 ms");
        assert_eq!(duration(12_400_000), "12 ms");
        assert_eq!(duration(1_234_000_000), "1.23 s");
        assert_eq!(duration(125_000_000_000), "2m 05s");
        assert_eq!(duration_delta(10_000_000, 4_000_000), "-6 ms");
    }

    #[test]
    fn tables_align_columns() {
        let text = table(
            &[("name", Align::Left), ("n", Align::Right)],
            &[
                vec!["plan".into(), "12".into()],
                vec!["test".into(), "3".into()],
            ],
        );
        assert_eq!(text, "name   n\nplan  12\ntest   3\n");
    }
}
