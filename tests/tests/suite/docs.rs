//! The book stays honest: the README is an entry point that starts with its two commands, every
//! relative link in the project's Markdown resolves (file and `#anchor`), every page of `docs/`
//! is reachable from the README, and `docs/configuration.md` lists exactly the environment
//! variables `runtime/src/names.rs` defines (plus the few still read elsewhere, listed below).
//!
//! Plain text processing, no Markdown crate: the files are ours and use a small subset
//! (ATX headings, fenced code blocks, inline links).

use factory_observability::names;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Component, Path, PathBuf};

/// The source of `factory_observability::names`, relative to the workspace root.
const NAMES_SOURCE: &str = "names/src/lib.rs";

/// Variables the runtime reads that `names.rs` does not define yet (the configuration code names
/// them itself). Each must be documented in `docs/configuration.md`; once one moves into
/// `names.rs`, it must leave this list (the test says so).
const READ_BUT_NOT_YET_IN_NAMES: &[&str] = &[
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BSP_SCHEDULE_DELAY",
    "OTEL_BLRP_MAX_QUEUE_SIZE",
    "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE",
    "OTEL_BLRP_SCHEDULE_DELAY",
];

/// The signals of the per-signal OTLP variables (`OTEL_EXPORTER_OTLP_{SIGNAL}_*`).
const SIGNALS: [&str; 3] = ["TRACES", "METRICS", "LOGS"];

/// The README's first two fenced code blocks: what a newcomer runs on a fresh machine.
const FIRST_COMMANDS: [&str; 2] = ["cargo run --bin factory_pipeline", "./scripts/test.sh"];
const README_MAX_LINES: usize = 250;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_owned()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// `path` relative to the workspace root, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// The pages of the book (`docs/*.md`), sorted.
fn book_pages() -> Vec<PathBuf> {
    let docs = workspace_root().join("docs");
    let mut pages: Vec<PathBuf> = std::fs::read_dir(&docs)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", docs.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    pages.sort();
    pages
}

/// The files whose links are checked: the README, the changelog, the benchmarks and the book.
fn checked_files() -> Vec<PathBuf> {
    let root = workspace_root();
    let mut files: Vec<PathBuf> = ["README.md", "CHANGELOG.md", "BENCHMARKS.md"]
        .iter()
        .map(|name| root.join(name))
        .collect();
    files.extend(book_pages());
    files
}

/// The text with every fenced code block (``` or ~~~) blanked, line numbers kept.
fn without_fenced_code(text: &str) -> String {
    let mut fence: Option<&str> = None;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        match fence {
            Some(marker) if trimmed.starts_with(marker) => fence = None,
            Some(_) => {}
            None if trimmed.starts_with("```") => fence = Some("```"),
            None if trimmed.starts_with("~~~") => fence = Some("~~~"),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The text with the inside of every inline code span blanked (a run of N backticks up to the
/// next run of exactly N), so that code such as `a[i](x)` is not read as a link.
fn without_code_spans(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = text.as_bytes().to_vec();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let open = i;
        while i < bytes.len() && bytes[i] == b'`' {
            i += 1;
        }
        let width = i - open;
        let mut j = i;
        let close = loop {
            if j >= bytes.len() {
                break None;
            }
            if bytes[j] == b'`' {
                let run = j;
                while j < bytes.len() && bytes[j] == b'`' {
                    j += 1;
                }
                if j - run == width {
                    break Some(run);
                }
            } else {
                j += 1;
            }
        };
        if let Some(close) = close {
            for byte in &mut out[i..close] {
                if *byte != b'\n' {
                    *byte = b' ';
                }
            }
            i = close + width;
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were replaced")
}

/// A heading's anchor as GitHub makes it (github-slugger, `Flet/github-slugger` `slugger`):
/// lower-case; every letter, digit, `_` and `-` kept; every white-space character a `-`;
/// everything else (punctuation, backticks, symbols) removed.
fn github_slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                Some(c)
            } else if c.is_whitespace() {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The anchors of a Markdown file's ATX headings; a repeated one gets `-1`, `-2`, ... as on
/// GitHub. Links inside a heading count by their text.
fn anchors(text: &str) -> BTreeSet<String> {
    let heading = Regex::new(r"^ {0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$").unwrap();
    let link = Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for line in without_fenced_code(text).lines() {
        let Some(captures) = heading.captures(line) else {
            continue;
        };
        let title = link.replace_all(&captures[1], "$1");
        let slug = github_slug(&title);
        let count = seen.entry(slug.clone()).or_insert(0);
        anchors.insert(if *count == 0 {
            slug.clone()
        } else {
            format!("{slug}-{count}")
        });
        *count += 1;
    }
    anchors
}

/// A relative link found in a Markdown file.
struct Link {
    line: usize,
    /// The path part, empty for a link within the file.
    path: String,
    anchor: Option<String>,
}

/// The relative links of a Markdown file, inline (`[text](target "title")`) and reference
/// definitions (`[label]: target`), outside code. Links with a scheme (`https:`, `mailto:`) are
/// left out.
fn relative_links(text: &str) -> Vec<Link> {
    let prose = without_code_spans(&without_fenced_code(text));
    let inline = Regex::new(r#"\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)"#).unwrap();
    let definition = Regex::new(r"(?m)^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?").unwrap();
    let scheme = Regex::new(r"^[A-Za-z][A-Za-z0-9+.-]*:").unwrap();
    let line_of = |offset: usize| prose[..offset].matches('\n').count() + 1;
    inline
        .captures_iter(&prose)
        .chain(definition.captures_iter(&prose))
        .filter_map(|captures| {
            let target = captures.get(1).expect("the target group");
            let target_text = target.as_str();
            if scheme.is_match(target_text) {
                return None;
            }
            let (path, anchor) = match target_text.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor.to_owned())),
                None => (target_text, None),
            };
            Some(Link {
                line: line_of(target.start()),
                path: path.to_owned(),
                anchor,
            })
        })
        .collect()
}

/// `base`'s directory joined with `relative`, `..` and `.` resolved lexically.
fn resolve(base: &Path, relative: &str) -> PathBuf {
    let mut resolved = base.parent().expect("a file has a directory").to_owned();
    for component in Path::new(relative).components() {
        match component {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    resolved
}

/// What is wrong with `link` of `file`, if anything; `known_anchors` caches each target's.
fn broken(
    file: &Path,
    link: &Link,
    known_anchors: &mut HashMap<PathBuf, BTreeSet<String>>,
) -> Option<String> {
    let target = if link.path.is_empty() {
        file.to_owned()
    } else {
        resolve(file, &link.path)
    };
    let at = format!("{}:{}", shown(file), link.line);
    if !target.exists() {
        let directory = shown(file.parent().expect("a file has a directory"));
        return Some(format!(
            "{at}: the link to `{}` points at {}, which does not exist: fix the path (relative to \
             {})",
            link.path,
            shown(&target),
            if directory.is_empty() {
                "the workspace root"
            } else {
                &directory
            },
        ));
    }
    let anchor = link.anchor.as_deref()?;
    if target.extension().is_none_or(|ext| ext != "md") {
        return Some(format!(
            "{at}: `#{anchor}` points into {}, which is not Markdown: remove the anchor",
            shown(&target)
        ));
    }
    let known = known_anchors
        .entry(target.clone())
        .or_insert_with(|| anchors(&read(&target)));
    if known.contains(anchor) {
        return None;
    }
    let near: Vec<&String> = known
        .iter()
        .filter(|candidate| {
            let stem = anchor.split('-').next().unwrap_or(anchor);
            candidate.contains(stem)
        })
        .take(5)
        .collect();
    Some(format!(
        "{at}: `#{anchor}` is no heading of {} (GitHub's anchor: lower-case, spaces as `-`, \
         punctuation removed): link to an existing heading{}",
        shown(&target),
        if near.is_empty() {
            String::new()
        } else {
            format!(", e.g. one of {near:?}")
        }
    ))
}

#[test]
fn github_slugs_are_computed_as_github_computes_them() {
    // Headings of BENCHMARKS.md whose anchors GitHub renders, and the slugger's own rules.
    assert_eq!(
        github_slug("Unsampled calls at `hotpath` (issue 10)"),
        "unsampled-calls-at-hotpath-issue-10"
    );
    assert_eq!(
        github_slug("The OTLP/HTTP client: ureq against reqwest's blocking client (branch `ureq-export`, issue 13)"),
        "the-otlphttp-client-ureq-against-reqwests-blocking-client-branch-ureq-export-issue-13"
    );
    assert_eq!(
        github_slug("Heading 2.0 - A Complex One"),
        "heading-20---a-complex-one"
    );
    assert_eq!(
        github_slug("`#[pipeline_run]` and `#[pipeline_stage]`"),
        "pipeline_run-and-pipeline_stage"
    );
    assert_eq!(
        anchors("# A\n## A\n```\n# not a heading\n```\n### A ###\n"),
        BTreeSet::from(["a".to_owned(), "a-1".to_owned(), "a-2".to_owned()])
    );
}

#[test]
fn links_in_code_are_not_links() {
    let links = relative_links(
        "[a](a.md#x) `[b](b.md)`\n```text\n[c](c.md)\n```\n[d\ne](e.md) <https://x.org> [f](https://y.org)\n[g]: g.md\n",
    );
    let found: Vec<(usize, &str, Option<&str>)> = links
        .iter()
        .map(|link| (link.line, link.path.as_str(), link.anchor.as_deref()))
        .collect();
    assert_eq!(
        found,
        vec![(1, "a.md", Some("x")), (6, "e.md", None), (7, "g.md", None)]
    );
}

#[test]
fn every_relative_link_resolves_to_a_file_and_a_heading() {
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut known_anchors = HashMap::new();
    for file in checked_files() {
        for link in relative_links(&read(&file)) {
            checked += 1;
            problems.extend(broken(&file, &link, &mut known_anchors));
        }
    }
    assert!(
        checked > 100,
        "only {checked} links found: is the link reader broken?"
    );
    assert!(
        problems.is_empty(),
        "{} broken link(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_book_page_is_reachable_from_the_readme() {
    let root = workspace_root();
    let start = root.join("README.md");
    let mut reached = BTreeSet::from([start.clone()]);
    let mut queue = VecDeque::from([start]);
    while let Some(file) = queue.pop_front() {
        for link in relative_links(&read(&file)) {
            if link.path.is_empty() {
                continue;
            }
            let target = resolve(&file, &link.path);
            if target.extension().is_some_and(|ext| ext == "md")
                && target.is_file()
                && reached.insert(target.clone())
            {
                queue.push_back(target);
            }
        }
    }
    let unreachable: Vec<String> = book_pages()
        .into_iter()
        .filter(|page| !reached.contains(page))
        .map(|page| shown(&page))
        .collect();
    assert!(
        unreachable.is_empty(),
        "not reachable from README.md through links: {unreachable:?}; add each to the book's \
         table of contents, docs/README.md (one line: the page and what it holds)"
    );
}

/// Every `pub const NAME: &str = "VALUE";` of `source`, with the module it is in (the innermost
/// `pub mod`).
fn string_constants(source: &str) -> Vec<(String, String)> {
    let module = Regex::new(r"^\s*pub mod (\w+)\s*\{").unwrap();
    let constant = Regex::new(r#"pub const \w+: &str =\s*"([^"]*)";"#).unwrap();
    let string_literal = Regex::new(r#""(?:[^"\\]|\\.)*""#).unwrap();
    // The module of each line, by brace depth (strings and comments cannot open a block).
    let mut modules: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut line_module = Vec::new();
    for line in source.lines() {
        let code = string_literal.replace_all(line, "\"\"");
        let code = code.split("//").next().unwrap_or_default();
        if let Some(captures) = module.captures(code) {
            modules.push((captures[1].to_owned(), depth));
        }
        line_module.push(
            modules
                .last()
                .map(|(name, _)| name.clone())
                .unwrap_or_default(),
        );
        depth += code.matches('{').count();
        depth = depth.saturating_sub(code.matches('}').count());
        while modules
            .last()
            .is_some_and(|&(_, opened_at)| depth <= opened_at)
        {
            modules.pop();
        }
    }
    constant
        .captures_iter(source)
        .map(|captures| {
            let line = source[..captures.get(0).unwrap().start()]
                .matches('\n')
                .count();
            (line_module[line].clone(), captures[1].to_owned())
        })
        .collect()
}

/// A module of environment variables: `env`, or named with `env` as one of its `_` parts.
fn is_env_module(name: &str) -> bool {
    name.split('_').any(|part| part == "env")
}

struct NamesRsVariables {
    /// Every environment variable `names.rs` defines.
    defined: BTreeSet<String>,
    /// The OTLP transport variables, which also exist per signal.
    otlp_generic: BTreeSet<String>,
}

fn names_rs_variables() -> NamesRsVariables {
    let path = workspace_root().join(NAMES_SOURCE);
    assert!(
        path.is_file(),
        "{NAMES_SOURCE} not found: point NAMES_SOURCE in tests/tests/suite/docs.rs at the file that \
         defines factory_observability::names"
    );
    let mut defined = BTreeSet::new();
    let mut otlp_generic = BTreeSet::new();
    let variable_like = Regex::new(r"^(OTEL|FACTORY_OBS)_[A-Z0-9_]+$").unwrap();
    for (module, value) in string_constants(&read(&path)) {
        if is_env_module(&module) || variable_like.is_match(&value) {
            if module == "otlp_env" {
                otlp_generic.insert(value.clone());
            }
            defined.insert(value);
        }
    }
    // The reading above must see what the compiled module holds, one constant of each module.
    for compiled in [
        names::env::FACTORY_OBS_DIR,
        names::env::OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
        names::env_carrier::TRACEPARENT,
        names::proxy_env::NO_PROXY,
        names::otlp_env::CLIENT_KEY,
    ] {
        assert!(
            defined.contains(compiled),
            "{compiled} is defined in factory_observability::names but was not read from \
             {NAMES_SOURCE}: fix string_constants in tests/tests/suite/docs.rs"
        );
    }
    assert!(otlp_generic.contains(names::otlp_env::ENDPOINT));
    NamesRsVariables {
        defined,
        otlp_generic,
    }
}

/// The `OTEL_*` and `FACTORY_OBS_*` variables a text names, with `{A,B}` alternatives expanded
/// (`OTEL_{TRACES,METRICS}_EXPORTER`); names ending in `_` are patterns and left out.
fn named_variables(text: &str) -> BTreeSet<String> {
    let pattern =
        Regex::new(r"\b(?:OTEL|FACTORY_OBS)_[A-Z0-9_]*(?:\{[A-Z0-9_,]+\}[A-Z0-9_]*)*").unwrap();
    let mut names = BTreeSet::new();
    for found in pattern.find_iter(text) {
        let mut expanded = vec![String::new()];
        let mut rest = found.as_str();
        while let Some(open) = rest.find('{') {
            let close = open + rest[open..].find('}').expect("the pattern closes braces");
            let prefix = &rest[..open];
            expanded = expanded
                .iter()
                .flat_map(|head| {
                    rest[open + 1..close]
                        .split(',')
                        .map(move |choice| format!("{head}{prefix}{choice}"))
                })
                .collect();
            rest = &rest[close + 1..];
        }
        names.extend(
            expanded
                .into_iter()
                .map(|head| format!("{head}{rest}"))
                .filter(|name| !name.ends_with('_')),
        );
    }
    names
}

fn configuration_page() -> (PathBuf, String) {
    let path = workspace_root().join("docs/configuration.md");
    let text = read(&path);
    (path, text)
}

#[test]
fn every_variable_names_rs_defines_is_in_the_configuration_page() {
    let variables = names_rs_variables();
    let (path, text) = configuration_page();
    let documented = named_variables(&text);
    let missing: Vec<&str> = variables
        .defined
        .iter()
        .map(String::as_str)
        .chain(READ_BUT_NOT_YET_IN_NAMES.iter().copied())
        .filter(|name| {
            let whole_word =
                Regex::new(&format!(r"(?:^|[^A-Za-z0-9_]){name}(?:[^A-Za-z0-9_]|$)")).unwrap();
            !documented.contains(*name) && !whole_word.is_match(&text)
        })
        .collect();
    assert!(
        missing.is_empty(),
        "read by the runtime but not documented in {}: {missing:?}; add each to its table there \
         with its default and accepted values",
        shown(&path)
    );
    let moved: Vec<&&str> = READ_BUT_NOT_YET_IN_NAMES
        .iter()
        .filter(|name| variables.defined.contains(**name))
        .collect();
    assert!(
        moved.is_empty(),
        "{moved:?} now defined in {NAMES_SOURCE}: remove them from READ_BUT_NOT_YET_IN_NAMES in \
         tests/tests/suite/docs.rs"
    );
}

#[test]
fn every_variable_the_configuration_page_names_is_read() {
    let variables = names_rs_variables();
    let mut read_by_the_crate: BTreeSet<String> = variables.defined.clone();
    for generic in &variables.otlp_generic {
        for signal in SIGNALS {
            read_by_the_crate.insert(names::otlp_env::per_signal(generic, signal));
        }
    }
    read_by_the_crate.extend(
        READ_BUT_NOT_YET_IN_NAMES
            .iter()
            .map(|name| name.to_string()),
    );
    let (path, text) = configuration_page();
    let documented = named_variables(&text);
    assert!(
        documented.len() > 30,
        "only {} variables found in {}: is the reader broken?",
        documented.len(),
        shown(&path)
    );
    let unknown: Vec<&String> = documented.difference(&read_by_the_crate).collect();
    assert!(
        unknown.is_empty(),
        "{} names {unknown:?}, which the crate does not read: fix the spelling, remove the \
         variable, or define it in {NAMES_SOURCE} where the runtime reads it",
        shown(&path)
    );
}

#[test]
fn named_variables_expands_alternatives() {
    assert_eq!(
        named_variables("`OTEL_{TRACES,LOGS}_EXPORTER`, OTEL_EXPORTER_OTLP_{TRACES,METRICS}_* and `FACTORY_OBS_DIR`"),
        BTreeSet::from([
            "FACTORY_OBS_DIR".to_owned(),
            "OTEL_LOGS_EXPORTER".to_owned(),
            "OTEL_TRACES_EXPORTER".to_owned(),
        ])
    );
}

#[test]
fn the_readme_is_an_entry_point_that_starts_with_the_two_commands() {
    let path = workspace_root().join("README.md");
    let text = read(&path);
    let lines = text.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, more than {README_MAX_LINES}: move detail into a page of \
         docs/ and link it from the README's table of contents"
    );
    let fence = Regex::new(r"(?ms)^```[^\n]*\n(.*?)^```").unwrap();
    let first_blocks: Vec<&str> = fence
        .captures_iter(&text)
        .take(2)
        .map(|captures| captures.get(1).unwrap().as_str().trim())
        .collect();
    assert_eq!(
        first_blocks, FIRST_COMMANDS,
        "README.md's first two code blocks must be exactly the two commands a newcomer runs on a \
         fresh machine, in this order"
    );
}
