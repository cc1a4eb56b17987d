//! `factory-obs report --html`: one self-contained page (inline CSS, SVG and script; nothing
//! fetched) with the report's tables, charts of stage durations and cost per run, and a
//! waterfall per run.
//!
//! The page's script sorts a table when its header is clicked. It writes `ok` into
//! `#script-status` once it has run; `window.onerror` writes any error into `#script-errors`,
//! so a headless browser's DOM tells whether the script ran cleanly.

use crate::format::{self, xml_escape};
use crate::report::Report;
use crate::runs::RunRow;
use crate::table::Table;
use crate::trace::{svg, Waterfall};

const STYLE: &str = r#"
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f2f2f2; cursor: pointer; }
td.text, th.text { text-align: left; }
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

/// The whole page: the report's tables (the same [`Table`]s as the text), the latest runs with
/// a chart of their cost, a chart of stage durations, and the waterfalls given (latest first).
pub fn page(report: &Report, runs: &[RunRow], runs_read: u64, waterfalls: &[Waterfall]) -> String {
    let runs_table = crate::runs::table(runs.iter().map(RunRow::row));
    let mut body = String::new();
    body.push_str(&format!(
        "<h1>factory-obs report</h1>\n<p id=\"input\">{}</p>\n",
        esc(&crate::report::headline(report))
    ));
    let mut tables = crate::report::tables(report).into_iter();
    let section = |body: &mut String, table: Table| {
        if table.id == "routes" && table.rows.is_empty() {
            return;
        }
        body.push_str(&format!("<h2>{}</h2>\n", esc(&table.title)));
        body.push_str(&table.html());
    };
    if let Some(pipelines) = tables.next() {
        section(&mut body, pipelines);
    }
    let runs_title = if (runs.len() as u64) < runs_read {
        format!(
            "{} (the latest {} of {})",
            runs_table.title,
            runs.len(),
            runs_read
        )
    } else {
        runs_table.title.clone()
    };
    section(
        &mut body,
        Table {
            title: runs_title,
            ..runs_table
        },
    );
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
    if let Some(stages) = tables.next() {
        section(&mut body, stages);
    }
    body.push_str("<h3>Stage durations (p50)</h3>\n");
    body.push_str(&bar_chart(
        "chart-stage-durations",
        &report
            .stages
            .iter()
            .map(|s| {
                (
                    s.stage.clone(),
                    s.latency.p50_ms,
                    format!(
                        "p50 {} / p95 {}",
                        ms(s.latency.p50_ms),
                        ms(s.latency.p95_ms)
                    ),
                )
            })
            .collect::<Vec<_>>(),
        "#4a90d9",
    ));
    for table in tables {
        section(&mut body, table);
    }
    body.push_str(&format!(
        "<h2>Waterfalls (the latest {} runs)</h2>\n<div id=\"waterfalls\">\n",
        waterfalls.len()
    ));
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
