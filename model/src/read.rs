//! Streaming reader of OTLP/JSON files: one export request per line, as the embedded default and
//! the OpenTelemetry Collector's file exporter write them.
//!
//! Memory is bounded by the longest line (at most [`MAX_LINE_BYTES`]), not by the file: lines are
//! read one at a time into one reused buffer and handed over as a [`Batch`]. gzip files (by their
//! magic bytes, whatever their name) are decompressed on the fly. A malformed line is recorded as
//! a [`Problem`] with its file and line number and reading goes on.

use super::{attributes_from_proto, hex, Batch, LogRecord, MetricPoint, PointValue, Span, Value};
use opentelemetry_proto::tonic::logs::v1::ResourceLogs;
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point, ResourceMetrics};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use serde::Deserialize;
use std::cell::Cell;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A longer line is reported and skipped rather than held in memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

/// At most this many problems are kept with their text; the rest are counted.
pub const MAX_PROBLEMS_KEPT: usize = 100;

/// Why nothing could be read.
#[derive(Debug)]
pub enum ReadError {
    /// A path given does not exist.
    Missing(PathBuf),
    /// A directory holds no telemetry file.
    NoFiles(PathBuf),
    /// A file or directory could not be opened or listed.
    Io { path: PathBuf, error: io::Error },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Missing(path) => write!(
                f,
                "{}: no such file or directory (run the factory with the embedded default to \
                 create ./telemetry, or give the directory or files to read)",
                path.display()
            ),
            ReadError::NoFiles(path) => write!(
                f,
                "{}: no telemetry files in this directory (expected traces.jsonl, metrics.jsonl, \
                 logs.jsonl, rotated or .gz variants, or *.json)",
                path.display()
            ),
            ReadError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for ReadError {}

/// A line that could not be read, skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based.
    pub line: u64,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// What a read went through.
#[derive(Clone, Debug, Default)]
pub struct ReadStats {
    pub files: Vec<PathBuf>,
    /// Lines read, malformed ones included.
    pub lines: u64,
    /// Bytes read from disk (compressed bytes for a gzip file).
    pub bytes: u64,
    pub spans: u64,
    pub points: u64,
    pub logs: u64,
    /// The first [`MAX_PROBLEMS_KEPT`] problems.
    pub problems: Vec<Problem>,
    /// Every problem, kept or not.
    pub problem_count: u64,
}

impl ReadStats {
    fn problem(&mut self, file: &Path, line: u64, message: String) {
        self.problem_count += 1;
        if self.problems.len() < MAX_PROBLEMS_KEPT {
            self.problems.push(Problem {
                file: file.to_owned(),
                line,
                message,
            });
        }
    }
}

/// Whether a directory entry's name looks like telemetry: `*.jsonl`, `*.json`, rotated
/// (`traces-2026-01-01T00-00-00.000.jsonl`, `traces.jsonl.1`) or gzip-compressed (`.gz`).
fn is_telemetry_name(name: &str) -> bool {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let name = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let name = name.strip_suffix('.').unwrap_or(name);
    name.ends_with(".jsonl") || name.ends_with(".json")
}

/// The files to read for the paths given: a file as it is, a directory's telemetry files in
/// name order.
pub fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ReadError> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => ReadError::Missing(path.clone()),
            _ => ReadError::Io {
                path: path.clone(),
                error,
            },
        })?;
        if !metadata.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|error| ReadError::Io {
            path: path.clone(),
            error,
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|entry| entry.file_type().map(|t| t.is_file()).unwrap_or(false))
            .filter(|entry| is_telemetry_name(&entry.file_name().to_string_lossy()))
            .map(|entry| entry.path())
            .collect();
        if found.is_empty() {
            return Err(ReadError::NoFiles(path.clone()));
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// Reads every line of the paths' files (see [`input_files`]), handing each line's batch to
/// `on_batch`. Malformed lines are in the returned stats.
pub fn read_paths(paths: &[PathBuf], on_batch: impl FnMut(Batch)) -> Result<ReadStats, ReadError> {
    let files = input_files(paths)?;
    read_files(&files, on_batch, |_| {})
}

/// Reads the files in order. `on_progress` is told the bytes read so far (of every file) after
/// each line.
pub fn read_files(
    files: &[PathBuf],
    mut on_batch: impl FnMut(Batch),
    mut on_progress: impl FnMut(u64),
) -> Result<ReadStats, ReadError> {
    let mut stats = ReadStats {
        files: files.to_vec(),
        ..ReadStats::default()
    };
    let mut buffer = Vec::new();
    for file in files {
        let opened = File::open(file).map_err(|error| ReadError::Io {
            path: file.clone(),
            error,
        })?;
        let disk_bytes = Rc::new(Cell::new(0u64));
        let counted = Counted {
            inner: opened,
            count: Rc::clone(&disk_bytes),
        };
        let mut raw = BufReader::with_capacity(256 * 1024, counted);
        let is_gzip = raw
            .fill_buf()
            .map(|head| head.starts_with(&[0x1f, 0x8b]))
            .unwrap_or(false);
        let before = stats.bytes;
        let mut lines: Box<dyn BufRead> = if is_gzip {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                flate2::bufread::MultiGzDecoder::new(raw),
            ))
        } else {
            Box::new(raw)
        };
        let mut line_number = 0u64;
        loop {
            let read = match read_line(&mut lines, &mut buffer) {
                Ok(read) => read,
                Err(error) => {
                    stats.problem(
                        file,
                        line_number + 1,
                        format!("cannot read further: {error}"),
                    );
                    break;
                }
            };
            let complete = match read {
                Line::End => break,
                Line::Complete => true,
                Line::TooLong => false,
            };
            line_number += 1;
            stats.lines += 1;
            stats.bytes = before + disk_bytes.get();
            if !complete {
                stats.problem(
                    file,
                    line_number,
                    format!("line longer than {MAX_LINE_BYTES} bytes, skipped"),
                );
            } else if !buffer.iter().all(u8::is_ascii_whitespace) {
                match parse_line(&buffer) {
                    Ok((batch, bad_spans)) => {
                        for message in bad_spans {
                            stats.problem(file, line_number, message);
                        }
                        stats.spans += batch.spans.len() as u64;
                        stats.points += batch.points.len() as u64;
                        stats.logs += batch.logs.len() as u64;
                        on_batch(batch);
                    }
                    Err(message) => stats.problem(file, line_number, message),
                }
            }
            on_progress(stats.bytes);
        }
        drop(lines);
        stats.bytes = before + disk_bytes.get();
        on_progress(stats.bytes);
    }
    Ok(stats)
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

enum Line {
    End,
    /// A line was read into the buffer.
    Complete,
    /// The line exceeded [`MAX_LINE_BYTES`] and was skipped to its end.
    TooLong,
}

/// Reads one line into `buffer` (without its newline), never holding more than
/// [`MAX_LINE_BYTES`].
fn read_line(reader: &mut dyn BufRead, buffer: &mut Vec<u8>) -> io::Result<Line> {
    buffer.clear();
    let mut consumed_any = false;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            if !consumed_any {
                return Ok(Line::End);
            }
            break;
        }
        consumed_any = true;
        let (chunk, found_newline) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (&available[..at], true),
            None => (available, false),
        };
        if !too_long {
            if buffer.len() + chunk.len() > MAX_LINE_BYTES {
                too_long = true;
                buffer.clear();
                buffer.shrink_to(64 * 1024);
            } else {
                buffer.extend_from_slice(chunk);
            }
        }
        let used = chunk.len() + usize::from(found_newline);
        reader.consume(used);
        if found_newline {
            break;
        }
    }
    // One huge line must not keep its buffer for the rest of the file.
    if buffer.capacity() > 4 * 1024 * 1024 && buffer.len() < buffer.capacity() / 4 {
        buffer.shrink_to(buffer.len());
    }
    Ok(if too_long {
        Line::TooLong
    } else {
        Line::Complete
    })
}

/// One line of any signal: a line holds one export request (its other keys are empty).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct ExportLine {
    resource_spans: Vec<ResourceSpans>,
    resource_metrics: Vec<ResourceMetrics>,
    resource_logs: Vec<ResourceLogs>,
}

/// A line's batch, and the spans of it that were skipped (ids of the wrong length).
fn parse_line(line: &[u8]) -> Result<(Batch, Vec<String>), String> {
    let request: ExportLine = serde_json::from_slice(line).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Eof => format!("truncated JSON: {error}"),
            Category::Syntax | Category::Io => format!("not JSON: {error}"),
            // Wrong types, bad hex ids, numbers that are not numbers.
            Category::Data => format!("malformed export request: {error}"),
        }
    })?;
    if request.resource_spans.is_empty()
        && request.resource_metrics.is_empty()
        && request.resource_logs.is_empty()
        && !looks_like_empty_request(line)
    {
        return Err(
            "not an OTLP/JSON export request: no resourceSpans, resourceMetrics or resourceLogs"
                .to_owned(),
        );
    }
    let mut batch = Batch::default();
    let mut skipped = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans
            .resource
            .as_ref()
            .map(|r| attributes_from_proto(&r.attributes))
            .unwrap_or_default();
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .as_ref()
                .map(|s| s.name.as_str())
                .unwrap_or("");
            for span in &scope_spans.spans {
                match Span::from_proto(span, scope, &resource) {
                    Ok(span) => batch.spans.push(span),
                    Err(message) => {
                        skipped.push(format!("span {:?} skipped: {message}", span.name))
                    }
                }
            }
        }
    }
    for resource_metrics in &request.resource_metrics {
        for scope_metrics in &resource_metrics.scope_metrics {
            for metric in &scope_metrics.metrics {
                let mut push = |attributes, value| {
                    batch.points.push(MetricPoint {
                        name: metric.name.clone(),
                        unit: metric.unit.clone(),
                        attributes,
                        value,
                    })
                };
                let number =
                    |point: &opentelemetry_proto::tonic::metrics::v1::NumberDataPoint| match point
                        .value
                    {
                        Some(number_data_point::Value::AsInt(n)) => PointValue::Int(n),
                        Some(number_data_point::Value::AsDouble(d)) => PointValue::Double(d),
                        None => PointValue::Int(0),
                    };
                match &metric.data {
                    Some(metric::Data::Sum(sum)) => {
                        for point in &sum.data_points {
                            push(attributes_from_proto(&point.attributes), number(point));
                        }
                    }
                    Some(metric::Data::Gauge(gauge)) => {
                        for point in &gauge.data_points {
                            push(attributes_from_proto(&point.attributes), number(point));
                        }
                    }
                    Some(metric::Data::Histogram(histogram)) => {
                        for point in &histogram.data_points {
                            push(
                                attributes_from_proto(&point.attributes),
                                PointValue::Histogram {
                                    count: point.count,
                                    sum: point.sum,
                                },
                            );
                        }
                    }
                    Some(metric::Data::ExponentialHistogram(histogram)) => {
                        for point in &histogram.data_points {
                            push(
                                attributes_from_proto(&point.attributes),
                                PointValue::Histogram {
                                    count: point.count,
                                    sum: point.sum,
                                },
                            );
                        }
                    }
                    Some(metric::Data::Summary(summary)) => {
                        for point in &summary.data_points {
                            push(
                                attributes_from_proto(&point.attributes),
                                PointValue::Histogram {
                                    count: point.count,
                                    sum: Some(point.sum),
                                },
                            );
                        }
                    }
                    None => {}
                }
            }
        }
    }
    for resource_logs in &request.resource_logs {
        for scope_logs in &resource_logs.scope_logs {
            for record in &scope_logs.log_records {
                batch.logs.push(LogRecord {
                    time_unix_nano: record.time_unix_nano,
                    severity_text: record.severity_text.clone(),
                    body: record
                        .body
                        .as_ref()
                        .map(|body| Value::from_proto(Some(body)).to_string())
                        .unwrap_or_default(),
                    attributes: attributes_from_proto(&record.attributes),
                    trace_id: hex(&record.trace_id),
                    span_id: hex(&record.span_id),
                });
            }
        }
    }
    Ok((batch, skipped))
}

/// `{"resourceSpans":[]}` and the like are empty requests, not foreign JSON.
fn looks_like_empty_request(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    [
        "\"resourceSpans\"",
        "\"resourceMetrics\"",
        "\"resourceLogs\"",
    ]
    .iter()
    .any(|key| text.contains(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write as _;

    const TRACE: &str = "584a2ca19276b146c92d9c5251428684";

    /// One export request holding one `pipeline.stage` span with this span id.
    fn span_line(span_id: &str, stage: &str) -> String {
        format!(
            r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"sf-factory"}}}}]}},"scopeSpans":[{{"scope":{{"name":"factory-observability"}},"spans":[{{"traceId":"{TRACE}","spanId":"{span_id}","parentSpanId":"","flags":257,"name":"pipeline.stage","kind":1,"startTimeUnixNano":"1000","endTimeUnixNano":"3000","attributes":[{{"key":"stage.name","value":{{"stringValue":"{stage}"}}}},{{"key":"stage.attempt","value":{{"intValue":"2"}}}}],"status":{{"code":2,"message":"boom"}}}}]}}]}}]}}"#
        )
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("fo-read-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn read_all(paths: &[PathBuf]) -> (Vec<Span>, ReadStats) {
        let mut spans = Vec::new();
        let stats = read_paths(paths, |batch| spans.extend(batch.spans)).unwrap();
        (spans, stats)
    }

    #[test]
    fn a_span_line_is_read_with_its_attributes_resource_and_status() {
        let dir = temp_dir("one");
        std::fs::write(
            dir.join("traces.jsonl"),
            span_line("00000000000000aa", "plan") + "\n",
        )
        .unwrap();
        let (spans, stats) = read_all(&[dir]);
        assert_eq!(stats.problem_count, 0, "{:?}", stats.problems);
        assert_eq!((stats.lines, stats.spans), (1, 1));
        let span = &spans[0];
        assert_eq!(span.trace_hex(), TRACE);
        assert_eq!(span.span_hex(), "00000000000000aa");
        assert_eq!(span.parent_span_id, None);
        assert_eq!(span.text("stage.name"), "plan");
        assert_eq!(span.attribute("stage.attempt"), Some(&Value::Int(2)));
        assert_eq!(span.service, "sf-factory");
        assert_eq!(span.scope, "factory-observability");
        assert_eq!(span.status_message, "boom");
        assert_eq!(span.duration_nanos(), 2000);
    }

    #[test]
    fn rotated_and_gzip_files_of_a_directory_are_read_in_name_order() {
        let dir = temp_dir("rotated");
        std::fs::write(
            dir.join("traces.jsonl"),
            span_line("0000000000000003", "c") + "\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("traces-2026-01-01T00-00-00.000.jsonl"),
            span_line("0000000000000001", "a") + "\n",
        )
        .unwrap();
        let mut gz = flate2::write::GzEncoder::new(
            File::create(dir.join("traces.jsonl.1.gz")).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all((span_line("0000000000000002", "b") + "\n").as_bytes())
            .unwrap();
        gz.finish().unwrap();
        std::fs::write(dir.join("notes.txt"), "not telemetry").unwrap();
        let (spans, stats) = read_all(&[dir]);
        assert_eq!(stats.problem_count, 0, "{:?}", stats.problems);
        assert_eq!(stats.files.len(), 3);
        let stages: Vec<String> = spans.iter().map(|s| s.text("stage.name")).collect();
        assert_eq!(stages, ["a", "c", "b"]);
    }

    #[test]
    fn malformed_lines_are_reported_with_file_and_line_and_the_rest_is_read() {
        let dir = temp_dir("malformed");
        let file = dir.join("traces.jsonl");
        let good = span_line("00000000000000aa", "plan");
        let lines = [
            good.clone(),
            good[..good.len() / 2].to_owned(),
            r#"{"resourceSpans":"many"}"#.to_owned(),
            span_line("00aa", "short"),
            r#"{"hello":"world"}"#.to_owned(),
            String::new(),
            good.replace("startTimeUnixNano\":\"1000", "startTimeUnixNano\":\"soon"),
            span_line("00000000000000bb", "test"),
        ];
        std::fs::write(&file, lines.join("\n")).unwrap();
        let (spans, stats) = read_all(std::slice::from_ref(&file));
        let names: Vec<String> = spans.iter().map(|s| s.text("stage.name")).collect();
        assert_eq!(names, ["plan", "test"]);
        let at: Vec<(u64, &str)> = stats
            .problems
            .iter()
            .map(|p| (p.line, p.message.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            at,
            [
                (2, "truncated JSON"),
                (3, "malformed export request"),
                (4, "span \"pipeline.stage\" skipped"),
                (5, "not an OTLP/JSON export request"),
                (7, "malformed export request"),
            ]
        );
        assert_eq!(
            stats.problems[2].to_string(),
            format!(
                "{}:4: span \"pipeline.stage\" skipped: spanId has 2 bytes (4 hex digits), \
                 expected 8 bytes (16 hex digits)",
                file.display()
            )
        );
        assert!(
            stats.problems[1]
                .message
                .contains("invalid type: string \"many\""),
            "{}",
            stats.problems[1].message
        );
        assert_eq!(stats.lines, 8);
    }

    #[test]
    fn a_missing_path_and_an_empty_directory_are_clear_errors() {
        let dir = temp_dir("empty");
        let error = read_paths(std::slice::from_ref(&dir), |_| {}).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "{}: no telemetry files in this directory (expected traces.jsonl, metrics.jsonl, \
                 logs.jsonl, rotated or .gz variants, or *.json)",
                dir.display()
            )
        );
        let missing = dir.join("nowhere");
        let error = read_paths(std::slice::from_ref(&missing), |_| {}).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: no such file or directory", missing.display())),
            "{error}"
        );
    }

    #[test]
    fn lines_are_read_one_at_a_time_without_their_newline() {
        let mut input = io::Cursor::new(b"abc\ndef".to_vec());
        let mut buffer = Vec::new();
        assert!(matches!(
            read_line(&mut input, &mut buffer).unwrap(),
            Line::Complete
        ));
        assert_eq!(buffer, b"abc");
        assert!(matches!(
            read_line(&mut input, &mut buffer).unwrap(),
            Line::Complete
        ));
        assert_eq!(buffer, b"def");
        assert!(matches!(
            read_line(&mut input, &mut buffer).unwrap(),
            Line::End
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever a line holds, parsing it returns a batch or a message, never a panic.
        #[test]
        fn arbitrary_lines_never_panic(line in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_line(&line);
        }

        /// Damaged copies of a real line (cut, or a byte changed) never panic either.
        #[test]
        fn damaged_span_lines_never_panic(cut in 0usize..600, at in 0usize..600, byte in any::<u8>()) {
            let mut line = span_line("00000000000000aa", "plan").into_bytes();
            if at < line.len() {
                line[at] = byte;
            }
            line.truncate(cut.min(line.len()));
            let _ = parse_line(&line);
        }
    }
}
