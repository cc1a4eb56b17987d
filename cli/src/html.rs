//! `factory-obs report --html`: one self-contained page (inline CSS, SVG and script; nothing
//! fetched) with the report's tables, charts of stage durations and cost per run, and a
//! waterfall per run.
//!
//! The page's script sorts a table when its header is clicked. It writes `ok` into
//! `#script-status` once it has run; `window.onerror` writes any error into `#script-errors`,
//! so a headless browser's DOM tells whether the script ran cleanly.

use crate::format;
use crate::report::Report;
use crate::runs::RunRow;
use crate::trace::{svg, xml_escape, Waterfall};

const STYLE: &str = r#"
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f2f2f2; cursor: pointer; }
td:first-child, th:first-child, td.text { text-align: left; }
tr.failed td { color: #b52b27; }
.chart text { font-size: 11px; }
details { margin: 0.5em 0; } summary { cursor: pointer; }
#script-errors { color: #b52b27; white-space: pre; }
"#;

const SCRIPT: &str = r#"
window.onerror = function (message, source, line) {
  document.getElementById('script-errors').textContent += message + ' (line ' + line + ')\n';
};
(function () {
  function cellValue(row, index) {
    var text = row.cells[index].getAttribute('data-sort') || row.cells[index].textContent;
    var number = parseFloat(text.replace(/[$%,]/g, ''));
    return isNaN(number) ? text : number;
  }
  var tables = document.querySelectorAll('table.sortable');
  tables.forEach(function (table) {
    table.querySelectorAll('th').forEach(function (header, index) {
      header.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var ascending = header.getAttribute('data-order') !== 'asc';
        rows.sort(function (a, b) {
          var x = cellValue(a, index), y = cellValue(b, index);
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        header.setAttribute('data-order', ascending ? 'asc' : 'desc');
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  document.getElementById('script-status').textContent = 'ok ' + tables.length + ' tables';
})();
"#;

fn esc(text: &str) -> String {
    xml_escape(text)
}

/// A sortable table: headers, rows of cells, an id, and which rows are failures.
fn table(id: &str, headers: &[&str], rows: &[(Vec<String>, bool)]) -> String {
    let mut out = format!("<table id=\"{id}\" class=\"sortable\"><thead><tr>");
    for header in headers {
        out.push_str(&format!("<th>{}</th>", esc(header)));
    }
    out.push_str("</tr></thead><tbody>\n");
    for (cells, failed) in rows {
        out.push_str(if *failed {
            "<tr class=\"failed\">"
        } else {
            "<tr>"
        });
        for cell in cells {
            // Numbers (counts, durations, costs, ratios) right-aligned, words left.
            let numeric = cell
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit() || matches!(c, '$' | '-' | '+'));
            if numeric {
                out.push_str(&format!("<td>{}</td>", esc(cell)));
            } else {
                out.push_str(&format!("<td class=\"text\">{}</td>", esc(cell)));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out
}

fn ms(value: f64) -> String {
    format::duration((value * 1e6).round() as u64)
}

/// A horizontal bar chart: one bar per label, its value written after it.
fn bar_chart(id: &str, bars: &[(String, f64, String)], color: &str) -> String {
    const ROW: usize = 22;
    const LABEL: usize = 220;
    const WIDTH: usize = 420;
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max);
    let height = bars.len() * ROW + 10;
    let mut out = format!(
        "<svg id=\"{id}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" \
         height=\"{height}\" font-family=\"sans-serif\">\n",
        LABEL + WIDTH + 220
    );
    for (index, (label, value, text)) in bars.iter().enumerate() {
        let y = index * ROW + 5;
        let width = if max > 0.0 {
            (value / max * WIDTH as f64).round() as usize
        } else {
            0
        };
        out.push_str(&format!(
            "<g class=\"bar\"><text x=\"0\" y=\"{}\">{}</text><rect x=\"{LABEL}\" y=\"{y}\" \
             width=\"{}\" height=\"{}\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{}</text></g>\n",
            y + 14,
            esc(label),
            width.max(1),
            ROW - 6,
            LABEL + width.max(1) + 6,
            y + 14,
            esc(text)
        ));
    }
    out.push_str("</svg>\n");
    out
}

/// The whole page.
pub fn page(report: &Report, runs: &[RunRow], waterfalls: &[Waterfall]) -> String {
    let mut body = String::new();
    body.push_str(&format!(
        "<h1>factory-obs report</h1>\n<p id=\"input\">{} runs from {} files ({} lines, {} spans, \
         {} malformed lines)</p>\n",
        report.input.runs,
        report.input.files,
        report.input.lines,
        report.input.spans,
        report.input.malformed_lines
    ));
    body.push_str("<h2>Pipelines</h2>\n");
    body.push_str(&table(
        "pipelines",
        &["pipeline", "runs", "success", "p50", "p95", "max", "cost"],
        &report
            .pipelines
            .iter()
            .map(|p| {
                (
                    vec![
                        p.pipeline.clone(),
                        p.runs.to_string(),
                        format::percent(p.success_rate),
                        ms(p.p50_ms),
                        ms(p.p95_ms),
                        ms(p.max_ms),
                        format::cost(Some(p.cost_usd)),
                    ],
                    p.succeeded < p.runs,
                )
            })
            .collect::<Vec<_>>(),
    ));
    body.push_str("<h2>Runs</h2>\n");
    body.push_str(&table(
        "runs",
        &[
            "run",
            "pipeline",
            "start",
            "duration",
            "outcome",
            "cost",
            "LLM calls",
        ],
        &runs
            .iter()
            .map(|r| {
                (
                    vec![
                        r.run_id.clone(),
                        r.pipeline.clone(),
                        r.start.clone(),
                        ms(r.duration_ms),
                        r.outcome.clone(),
                        format::cost(r.cost_usd),
                        r.llm_calls.to_string(),
                    ],
                    r.outcome != "success",
                )
            })
            .collect::<Vec<_>>(),
    ));
    body.push_str("<h2>Stages (slowest p95 first)</h2>\n");
    body.push_str(&table(
        "stages",
        &["stage", "count", "p50", "p95", "max", "failures", "retries"],
        &report
            .stages
            .iter()
            .map(|s| {
                (
                    vec![
                        s.stage.clone(),
                        s.count.to_string(),
                        ms(s.p50_ms),
                        ms(s.p95_ms),
                        ms(s.max_ms),
                        s.failures.to_string(),
                        s.retries.to_string(),
                    ],
                    s.failures > 0,
                )
            })
            .collect::<Vec<_>>(),
    ));
    body.push_str("<h3>Stage durations (p50)</h3>\n");
    body.push_str(&bar_chart(
        "chart-stage-durations",
        &report
            .stages
            .iter()
            .map(|s| {
                (
                    s.stage.clone(),
                    s.p50_ms,
                    format!("p50 {} / p95 {}", ms(s.p50_ms), ms(s.p95_ms)),
                )
            })
            .collect::<Vec<_>>(),
        "#4a90d9",
    ));
    body.push_str("<h2>Failures (top exception messages)</h2>\n");
    body.push_str(&table(
        "failures",
        &["stage", "failures", "attempts", "top messages"],
        &report
            .failures
            .iter()
            .map(|f| {
                (
                    vec![
                        f.stage.clone(),
                        f.failures.to_string(),
                        f.count.to_string(),
                        f.top_messages
                            .iter()
                            .map(|(m, n)| format!("{m} ({n}x)"))
                            .collect::<Vec<_>>()
                            .join("; "),
                    ],
                    true,
                )
            })
            .collect::<Vec<_>>(),
    ));
    body.push_str("<h2>LLM calls by provider/model</h2>\n");
    body.push_str(&table(
        "models",
        &[
            "provider/model",
            "calls",
            "input tokens",
            "output tokens",
            "cost",
            "unpriced calls",
            "p95",
        ],
        &report
            .models
            .iter()
            .map(|m| {
                (
                    vec![
                        format!("{}/{}", m.provider, m.model),
                        m.calls.to_string(),
                        m.input_tokens.to_string(),
                        m.output_tokens.to_string(),
                        format::cost(Some(m.cost_usd)),
                        m.unpriced_calls.to_string(),
                        ms(m.p95_ms),
                    ],
                    false,
                )
            })
            .collect::<Vec<_>>(),
    ));
    body.push_str("<h3>Cost per run</h3>\n");
    body.push_str(&bar_chart(
        "chart-cost-per-run",
        &runs
            .iter()
            .map(|r| {
                (
                    format!(
                        "{} {}",
                        r.run_id.chars().take(13).collect::<String>(),
                        r.pipeline
                    ),
                    r.cost_usd.unwrap_or(0.0),
                    format::cost(r.cost_usd),
                )
            })
            .collect::<Vec<_>>(),
        "#5cb85c",
    ));
    body.push_str("<h2>Adjudications</h2>\n");
    let score = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
    body.push_str(&table(
        "candidates",
        &[
            "adjudication",
            "candidate",
            "wins",
            "of",
            "avg score",
            "avg margin",
        ],
        &report
            .candidates
            .iter()
            .map(|c| {
                (
                    vec![
                        c.adjudication.clone(),
                        c.candidate.clone(),
                        c.wins.to_string(),
                        c.decisions.to_string(),
                        score(c.average_score),
                        score(c.average_margin),
                    ],
                    false,
                )
            })
            .collect::<Vec<_>>(),
    ));
    body.push_str("<h2>Tests</h2>\n");
    body.push_str(&table(
        "tests",
        &[
            "stage",
            "attempts",
            "passed",
            "failed",
            "skipped",
            "pass rate",
            "flaky",
        ],
        &report
            .tests
            .iter()
            .map(|t| {
                (
                    vec![
                        t.stage.clone(),
                        t.attempts.to_string(),
                        t.passed.to_string(),
                        t.failed.to_string(),
                        t.skipped.to_string(),
                        t.pass_rate
                            .map(format::percent)
                            .unwrap_or_else(|| "-".into()),
                        t.flaky.to_string(),
                    ],
                    t.failed > 0,
                )
            })
            .collect::<Vec<_>>(),
    ));
    if !report.routes.is_empty() {
        body.push_str("<h2>Product routes</h2>\n");
        body.push_str(&table(
            "routes",
            &[
                "service",
                "route",
                "requests",
                "errors",
                "error ratio",
                "p95",
            ],
            &report
                .routes
                .iter()
                .map(|r| {
                    (
                        vec![
                            r.service.clone(),
                            r.route.clone(),
                            r.requests.to_string(),
                            r.errors.to_string(),
                            format::percent(r.error_ratio),
                            ms(r.p95_ms),
                        ],
                        r.errors > 0,
                    )
                })
                .collect::<Vec<_>>(),
        ));
    }
    body.push_str("<h2>Waterfalls</h2>\n<div id=\"waterfalls\">\n");
    for (index, waterfall) in waterfalls.iter().enumerate() {
        body.push_str(&format!(
            "<details{}><summary>run {} {} ({})</summary>\n{}</details>\n",
            if index == 0 { " open" } else { "" },
            esc(&waterfall.run_id),
            esc(&waterfall.pipeline),
            format::duration(waterfall.total_nanos),
            svg(waterfall)
        ));
    }
    body.push_str("</div>\n");
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>factory-obs report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\
         <div id=\"script-status\"></div>\n<div id=\"script-errors\"></div>\n\
         <script>{SCRIPT}</script>\n</body>\n</html>\n"
    )
}
