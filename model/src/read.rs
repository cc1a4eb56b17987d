//! Streaming reader of OTLP/JSON files: one export request per line, as the embedded default and
//! the OpenTelemetry Collector's file exporter write them.
//!
//! Memory is bounded by a few chunks of lines (1 MiB each, or one line when it is longer, at most
//! [`MAX_LINE_BYTES`]), not by the file. Each line is parsed in place ([`ParsedLine`]: spans
//! borrowed from the line's text) and handed to the caller's `parse`, whose result is folded in
//! line order ([`read_files_with`]); with more than one thread, a reader thread cuts the chunks
//! (and decompresses gzip), parser threads parse them, and the calling thread folds their results
//! in order, so what is read is the same whatever the thread count. [`read_files`] gives owned
//! [`Batch`]es. gzip files (by their magic bytes, whatever their name) are decompressed on the fly.
//! A malformed line is recorded as a [`Problem`] with its file and line number and reading goes on.

pub use super::json::ParsedLine;
use super::{Batch, Span};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex};

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
    Io {
        /// As given, or as found in a directory given.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// A thread to read or parse could not be started.
    Thread(io::Error),
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
            ReadError::Thread(error) => write!(f, "cannot start a thread to read: {error}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// A line that could not be read, skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// As given, or as found in a directory given.
    pub file: PathBuf,
    /// 1-based.
    pub line: u64,
    /// What is wrong, in the reader's words: `truncated JSON: ...`, `span "x" skipped: ...`,
    /// `line longer than ... bytes, skipped`.
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
    /// The files read, in the order read (a directory's in name order, see [`input_files`]).
    pub files: Vec<PathBuf>,
    /// Lines read, malformed ones included.
    pub lines: u64,
    /// Bytes read from disk (compressed bytes for a gzip file).
    pub bytes: u64,
    /// Spans with valid ids in the lines parsed (with [`ReadOptions::wanted`], the lines wanted);
    /// a span skipped for its ids is a problem instead.
    pub spans: u64,
    /// Metric points and log records: counted by [`read_files`], which parses them; a caller of
    /// [`read_files_with`] parses (and counts) them only if it asks a line for them.
    pub points: u64,
    /// Log records, counted as the points are.
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

/// Reads the files in order, on this thread, into owned batches (spans, metric points and log
/// records). `on_progress` is told the bytes read so far (of every file) as reading goes.
pub fn read_files(
    files: &[PathBuf],
    mut on_batch: impl FnMut(Batch),
    on_progress: impl FnMut(u64),
) -> Result<ReadStats, ReadError> {
    let (mut points, mut logs) = (0, 0);
    let mut stats = read_files_with(
        files,
        &ReadOptions::default(),
        |line| {
            let mut batch = Batch::default();
            let mut problems = Vec::new();
            // Spans skipped are counted and reported by the reader.
            batch.spans = line.spans().flatten().map(|s| Span::from_ref(&s)).collect();
            match line.points() {
                Ok(found) => batch.points = found,
                Err(message) => problems.push(message),
            }
            match line.logs() {
                Ok(found) => batch.logs = found,
                Err(message) => problems.push(message),
            }
            (batch, problems)
        },
        |(batch, problems)| {
            points += batch.points.len() as u64;
            logs += batch.logs.len() as u64;
            on_batch(batch);
            problems
        },
        on_progress,
    )?;
    stats.points = points;
    stats.logs = logs;
    Ok(stats)
}

/// A quick look at a raw line: whether to parse it.
pub type LineFilter<'a> = dyn Fn(&[u8]) -> bool + Sync + 'a;

/// How [`read_files_with`] reads.
pub struct ReadOptions<'a> {
    /// Threads that parse: 1 parses on the calling thread; more start a reader thread (which
    /// also decompresses gzip) and this many parsers, the calling thread folding their results
    /// in line order.
    pub threads: usize,
    /// Only lines for which this is true are parsed (the others are counted, not reported): a
    /// quick look at the raw line, e.g. whether it holds a trace id at all.
    pub wanted: Option<&'a LineFilter<'a>>,
}

impl Default for ReadOptions<'_> {
    fn default() -> Self {
        ReadOptions {
            threads: 1,
            wanted: None,
        }
    }
}

/// A chunk of whole lines is cut at this size (a longer line is a chunk of its own).
const CHUNK_BYTES: usize = 1 << 20;

/// Chunks read but not yet folded, per parser thread, at most (in bytes, or one chunk when it is
/// larger): what bounds the memory of a parallel read, whatever the pace of the parsers. Two
/// keep each parser busy while the previous one's result waits to be folded.
const IN_FLIGHT_CHUNKS_PER_THREAD: usize = 2;

/// Reads the files in order; each line is parsed in place and handed to `parse` (on a parser
/// thread when [`ReadOptions::threads`] is above 1), whose result `fold` receives on the calling
/// thread in line order, returning the line's problems (reported with its file and line
/// number). The spans counted and the problems reported are the same whatever the thread count.
pub fn read_files_with<T: Send>(
    files: &[PathBuf],
    options: &ReadOptions,
    parse: impl Fn(&ParsedLine<'_>) -> T + Sync,
    mut fold: impl FnMut(T) -> Vec<String>,
    mut on_progress: impl FnMut(u64),
) -> Result<ReadStats, ReadError> {
    let mut stats = ReadStats {
        files: files.to_vec(),
        ..ReadStats::default()
    };
    // Line numbers in a chunk count from its first line: the file's lines before it are
    // known here, where chunks come in order.
    let (mut file_now, mut lines_before) = (usize::MAX, 0u64);
    let mut take = |parsed: Parsed<T>| {
        if parsed.file != file_now {
            (file_now, lines_before) = (parsed.file, 0);
        }
        stats.lines += parsed.lines;
        stats.bytes = parsed.bytes;
        stats.spans += parsed.spans;
        let mut problems = parsed.problems;
        for (line, item) in parsed.items {
            problems.extend(fold(item).into_iter().map(|message| (line, message)));
        }
        problems.sort_by_key(|(line, _)| *line);
        for (line, message) in problems {
            stats.problem(&files[parsed.file], lines_before + line, message);
        }
        lines_before += parsed.lines;
        on_progress(stats.bytes);
    };
    let wanted = options.wanted;
    let chunks = Chunks::new(files);
    if options.threads <= 1 {
        for chunk in chunks {
            take(parse_chunk(chunk?, wanted, &parse));
        }
    } else {
        parallel(
            chunks,
            options.threads,
            &|chunk| parse_chunk(chunk, wanted, &parse),
            &mut take,
        )?;
    }
    Ok(stats)
}

/// What a chunk held, parsed.
struct Parsed<T> {
    file: usize,
    lines: u64,
    bytes: u64,
    spans: u64,
    /// `(line number in the chunk, from 1, message)`.
    problems: Vec<(u64, String)>,
    items: Vec<(u64, T)>,
}

/// The chunk's lines parsed (on a parser thread): the lines found, the spans counted, the
/// problems, and what `parse` made of each line.
fn parse_chunk<T>(
    chunk: Chunk,
    wanted: Option<&LineFilter<'_>>,
    parse: &impl Fn(&ParsedLine<'_>) -> T,
) -> Parsed<T> {
    let mut parsed = Parsed {
        file: chunk.file,
        lines: 0,
        bytes: chunk.bytes,
        spans: 0,
        problems: Vec::new(),
        items: Vec::new(),
    };
    if chunk.too_long {
        parsed.lines = 1;
        let message = format!("line longer than {MAX_LINE_BYTES} bytes, skipped");
        parsed.problems.push((1, message));
    }
    let text = chunk.text.strip_suffix(b"\n").unwrap_or(&chunk.text);
    for line in text
        .split(|&b| b == b'\n')
        .filter(|_| !chunk.text.is_empty())
    {
        parsed.lines += 1;
        let number = parsed.lines;
        if line.iter().all(u8::is_ascii_whitespace) || wanted.is_some_and(|w| !w(line)) {
            continue;
        }
        match ParsedLine::parse(line) {
            Ok(line) => {
                for span in line.spans() {
                    match span {
                        Ok(_) => parsed.spans += 1,
                        Err(message) => parsed.problems.push((number, message)),
                    }
                }
                parsed.items.push((number, parse(&line)));
            }
            Err(message) => parsed.problems.push((number, message)),
        }
    }
    if let Some(message) = chunk.error {
        parsed.problems.push((parsed.lines + 1, message));
    }
    parsed
}

/// Chunks through parser threads and back into line order: a reader thread cuts the chunks,
/// `threads` threads parse them, this thread takes them in order. At most
/// [`IN_FLIGHT_CHUNKS_PER_THREAD`] chunks a thread (and two more) are between the reader and
/// `take`.
fn parallel<T: Send>(
    chunks: Chunks,
    threads: usize,
    parse: &(dyn Fn(Chunk) -> Parsed<T> + Sync),
    take: &mut dyn FnMut(Parsed<T>),
) -> Result<(), ReadError> {
    let budget = &Budget::new((IN_FLIGHT_CHUNKS_PER_THREAD * threads + 2) * CHUNK_BYTES);
    let (to_parse, parse_queue) = mpsc::sync_channel::<(u64, Chunk)>(threads * 2);
    let parse_queue = Mutex::new(parse_queue);
    let (to_take, taken) = mpsc::channel::<(u64, usize, Parsed<T>)>();
    std::thread::scope(|scope| {
        let mut parsers = 0;
        for _ in 0..threads {
            let to_take = to_take.clone();
            let parse_queue = &parse_queue;
            let parser = std::thread::Builder::new().name("factory-obs-parse".into());
            let started = parser.spawn_scoped(scope, move || {
                let _closes = ClosesOnPanic(budget);
                loop {
                    let next = parse_queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    let Ok((seq, chunk)) = next else { break };
                    let size = chunk.text.len();
                    if to_take.send((seq, size, parse(chunk))).is_err() {
                        break;
                    }
                }
            });
            match started {
                Ok(_) => parsers += 1,
                // Fewer parsers than asked still read everything.
                Err(error) if parsers == 0 => return Err(ReadError::Thread(error)),
                Err(_) => break,
            }
        }
        drop(to_take);
        let reader = std::thread::Builder::new().name("factory-obs-read".into());
        // When it cannot start, `to_parse` goes with it and the parsers end.
        let reader = reader
            .spawn_scoped(scope, move || {
                for (seq, chunk) in (0u64..).zip(chunks) {
                    let chunk = chunk?;
                    if !budget.acquire(chunk.text.len()) || to_parse.send((seq, chunk)).is_err() {
                        break;
                    }
                }
                Ok(())
            })
            .map_err(ReadError::Thread)?;
        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        for (seq, size, parsed) in taken {
            waiting.insert(seq, (size, parsed));
            while let Some((size, parsed)) = waiting.remove(&next) {
                take(parsed);
                budget.release(size);
                next += 1;
            }
        }
        reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// A count of bytes in flight, waited on when full.
struct Budget {
    /// Bytes in flight, and whether reading stopped (a parser panicked).
    used: Mutex<(usize, bool)>,
    freed: Condvar,
    limit: usize,
}

impl Budget {
    fn new(limit: usize) -> Budget {
        Budget {
            used: Mutex::new((0, false)),
            freed: Condvar::new(),
            limit,
        }
    }

    /// Waits until `size` fits (or nothing else is in flight); false once reading stopped.
    fn acquire(&self, size: usize) -> bool {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        while !used.1 && used.0 > 0 && used.0 + size > self.limit {
            used = self.freed.wait(used).unwrap_or_else(|e| e.into_inner());
        }
        used.0 += size;
        !used.1
    }

    fn release(&self, size: usize) {
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        used.0 -= size;
        self.freed.notify_all();
    }

    /// Stops the reader: the chunk the fold waits for will never come.
    fn stop(&self) {
        self.used.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.freed.notify_all();
    }
}

/// Stops the reading when a parser thread panics, so that the panic reaches the caller instead of
/// the reader waiting forever for room.
struct ClosesOnPanic<'a>(&'a Budget);

impl Drop for ClosesOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Whole lines of one file (the last one of a file may lack its newline), as read.
struct Chunk {
    file: usize,
    text: Vec<u8>,
    /// One line longer than [`MAX_LINE_BYTES`] was skipped (`text` is empty).
    too_long: bool,
    /// The file could not be read further after these lines.
    error: Option<String>,
    /// Bytes read from disk so far, every file (compressed bytes for gzip).
    bytes: u64,
}

/// The files cut into chunks of whole lines, in order: blocks read straight into the chunk, cut
/// after its last newline (the rest starts the next chunk); the parser threads find the lines.
struct Chunks<'a> {
    files: &'a [PathBuf],
    file: usize,
    open: Option<OpenFile>,
    /// The start of a line, read with the previous chunk.
    carry: Vec<u8>,
    /// Disk bytes of the files done.
    bytes_before: u64,
}

struct OpenFile {
    input: Box<dyn Read + Send>,
    disk_bytes: Arc<AtomicU64>,
    at_end: bool,
}

impl Chunks<'_> {
    fn new(files: &[PathBuf]) -> Chunks<'_> {
        Chunks {
            files,
            file: 0,
            open: None,
            carry: Vec::new(),
            bytes_before: 0,
        }
    }

    fn open(path: &Path) -> Result<OpenFile, ReadError> {
        let opened = File::open(path).map_err(|error| ReadError::Io {
            path: path.to_owned(),
            error,
        })?;
        let disk_bytes = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: opened,
            count: Arc::clone(&disk_bytes),
        };
        let mut raw = BufReader::with_capacity(256 * 1024, counted);
        let is_gzip = raw
            .fill_buf()
            .map(|head| head.starts_with(&[0x1f, 0x8b]))
            .unwrap_or(false);
        let input: Box<dyn Read + Send> = if is_gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(raw))
        } else {
            Box::new(raw)
        };
        Ok(OpenFile {
            input,
            disk_bytes,
            at_end: false,
        })
    }

    /// The next chunk of the open file; `None` once it is all read.
    fn fill(&mut self, open: &mut OpenFile) -> Option<Chunk> {
        if open.at_end && self.carry.is_empty() {
            return None;
        }
        let mut chunk = Chunk {
            file: self.file,
            text: std::mem::take(&mut self.carry),
            too_long: false,
            error: None,
            bytes: 0,
        };
        let mut skipping = false;
        while !open.at_end {
            let before = chunk.text.len();
            chunk.text.reserve(CHUNK_BYTES);
            let mut block = (&mut open.input).take(CHUNK_BYTES as u64);
            match block.read_to_end(&mut chunk.text) {
                Ok(0) => open.at_end = true,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    chunk.error = Some(format!("cannot read further: {error}"));
                    open.at_end = true;
                }
            }
            let read = &chunk.text[before..];
            if let Some(last) = memchr::memrchr(b'\n', read) {
                let cut = before + last + 1;
                self.carry = chunk.text[cut..].to_vec();
                chunk.text.truncate(cut);
                break;
            }
            if skipping || chunk.text.len() > MAX_LINE_BYTES {
                // One line longer than the limit: dropped as it is read, to its newline.
                chunk.text.clear();
                chunk.text.shrink_to(CHUNK_BYTES);
                skipping = true;
            }
        }
        if chunk.error.is_some() {
            // The line being read when the file failed is not whole.
            self.carry.clear();
            let whole = memchr::memrchr(b'\n', &chunk.text).map_or(0, |at| at + 1);
            chunk.text.truncate(whole);
        }
        if skipping {
            chunk.text.clear();
            chunk.too_long = true;
        }
        chunk.bytes = self.bytes_before + open.disk_bytes.load(Ordering::Relaxed);
        Some(chunk)
    }
}

impl Iterator for Chunks<'_> {
    type Item = Result<Chunk, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let mut open = match self.open.take() {
                Some(open) => open,
                None => {
                    let path = self.files.get(self.file)?;
                    match Chunks::open(path) {
                        Ok(open) => open,
                        Err(error) => {
                            self.file = self.files.len();
                            return Some(Err(error));
                        }
                    }
                }
            };
            match self.fill(&mut open) {
                // Nothing read: the end of the file.
                Some(chunk)
                    if chunk.text.is_empty() && !chunk.too_long && chunk.error.is_none() => {}
                Some(chunk) => {
                    self.open = Some(open);
                    return Some(Ok(chunk));
                }
                None => {}
            }
            // The file is done: its last bytes (gzip's trailer) are counted.
            self.bytes_before += open.disk_bytes.load(Ordering::Relaxed);
            self.file += 1;
        }
    }
}

/// A reader that counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A line's batch, and the spans of it that were skipped (ids of the wrong length).
#[cfg(test)]
fn parse_line(line: &[u8]) -> Result<(Batch, Vec<String>), String> {
    let parsed = ParsedLine::parse(line)?;
    let mut batch = Batch::default();
    let mut skipped = Vec::new();
    for span in parsed.spans() {
        match span {
            Ok(span) => batch.spans.push(Span::from_ref(&span)),
            Err(message) => skipped.push(message),
        }
    }
    batch.points = parsed.points()?;
    batch.logs = parsed.logs()?;
    Ok((batch, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
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

    /// Lines in several chunks, parsed on 1 and on 3 threads: the same spans in the same order,
    /// the same problems at the same lines.
    #[test]
    fn parallel_reads_give_what_a_sequential_read_gives() {
        let dir = temp_dir("parallel");
        let file = dir.join("traces.jsonl");
        let lines: Vec<String> = (0..6000u64)
            .map(|n| match n % 997 {
                13 => "{\"resourceSpans\":\"broken\"}".to_owned(),
                14 => span_line("00aa", "short"),
                _ => span_line(&format!("{:016x}", n + 1), "plan"),
            })
            .collect();
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        assert!(std::fs::metadata(&file).unwrap().len() > 2 * CHUNK_BYTES as u64);
        let read = |threads| {
            let mut ids = Vec::new();
            let options = ReadOptions {
                threads,
                wanted: None,
            };
            let stats = read_files_with(
                std::slice::from_ref(&file),
                &options,
                |line| {
                    line.spans()
                        .flatten()
                        .map(|s| s.span_id)
                        .collect::<Vec<_>>()
                },
                |found| {
                    ids.extend(found);
                    Vec::new()
                },
                |_| {},
            )
            .unwrap();
            (ids, stats)
        };
        let (ids, stats) = read(1);
        let (parallel_ids, parallel_stats) = read(3);
        let broken: Vec<u64> = (0..6000).filter(|n| matches!(n % 997, 13 | 14)).collect();
        assert_eq!(ids.len(), 6000 - broken.len());
        assert_eq!(ids, parallel_ids);
        assert_eq!(stats.problems, parallel_stats.problems);
        let spans = 6000 - broken.len() as u64;
        assert_eq!((stats.lines, stats.spans), (6000, spans));
        assert_eq!((parallel_stats.lines, parallel_stats.spans), (6000, spans));
        let at: Vec<u64> = stats.problems.iter().map(|p| p.line).collect();
        assert_eq!(at, broken.iter().map(|n| n + 1).collect::<Vec<_>>());
    }

    /// A panic on a parser thread reaches the caller: the reader, waiting for room the fold
    /// would never make, is stopped.
    #[test]
    fn a_panic_while_parsing_reaches_the_caller() {
        let dir = temp_dir("panic");
        let file = dir.join("traces.jsonl");
        let lines: Vec<String> = (0..20_000u64)
            .map(|n| span_line(&format!("{:016x}", n + 1), "plan"))
            .collect();
        std::fs::write(&file, lines.join("\n")).unwrap();
        // More than the chunks allowed in flight, the first one failing.
        assert!(std::fs::metadata(&file).unwrap().len() > 8 * CHUNK_BYTES as u64);
        let options = ReadOptions {
            threads: 2,
            wanted: None,
        };
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read_files_with(
                std::slice::from_ref(&file),
                &options,
                |line| {
                    let first = line.spans().flatten().next().map(|s| s.span_id);
                    assert_ne!(first, Some(0x100u64.to_be_bytes()), "a bug in a parser");
                },
                |()| Vec::new(),
                |_| {},
            )
        }));
        assert!(read.is_err());
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
