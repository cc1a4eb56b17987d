//! The module graph of a crate, read from its sources, and the checks `docs/architecture.md`
//! promises: no import cycle between modules, and layers that only point down.
//!
//! A module's edges are the `crate::` and `super::` paths its code names (in `use` items and in
//! expressions), resolved to the modules they reach; comments, string literals and
//! `#[cfg(test)]` modules do not count (tests may reach anywhere). An edge between two modules
//! counts between their ancestors that are siblings: `call::llm` using `export::records` is an
//! edge `call` → `export` at the crate's top level. A module reaching its own parent or child
//! is not an edge (a parent declares its children; a child sees its parent's items).
//!
//! This is a reader of Rust's module syntax, not a compiler: a path written through a
//! re-export of the crate root (`crate::TestReport`) is resolved through `lib.rs`'s `pub use`
//! items; macros that build paths are not seen.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path from the crate root, e.g. `["call", "llm"]`; the root is `[]`.
pub type ModulePath = Vec<String>;

/// One edge between sibling modules, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// The parent both modules are children of (`[]` for top-level modules).
    pub parent: ModulePath,
    /// The child of `parent` that uses...
    pub from: String,
    /// ...this child of `parent`.
    pub to: String,
    /// The file that names the path, and the path as written.
    pub at: String,
}

/// The module graph of one crate.
#[derive(Debug, Default)]
pub struct Graph {
    /// Every module the crate's files declare (inline modules are part of their file's).
    pub modules: BTreeSet<ModulePath>,
    /// Every edge between siblings.
    pub edges: BTreeSet<Edge>,
}

impl Graph {
    /// Reads every `.rs` file under `src` (the crate root is `src/lib.rs` or `src/main.rs`).
    pub fn read(src: &Path) -> Graph {
        let files = rust_files(src);
        let sources: Vec<(ModulePath, String, String)> = files
            .iter()
            .map(|file| {
                let relative = file.strip_prefix(src).expect("under src");
                let text = std::fs::read_to_string(file)
                    .unwrap_or_else(|error| panic!("{}: {error}", file.display()));
                (
                    module_path_of(relative),
                    relative.display().to_string(),
                    text,
                )
            })
            .collect();
        Graph::from_sources(&sources)
    }

    /// The graph of sources given as (module path, file name, text): what [`Graph::read`]
    /// reads, and what a test can write by hand.
    pub fn from_sources(sources: &[(ModulePath, String, String)]) -> Graph {
        let test_only = test_only_modules(sources);
        let sources: Vec<&(ModulePath, String, String)> = sources
            .iter()
            .filter(|(path, _, _)| !test_only.iter().any(|test| path.starts_with(test)))
            .collect();
        let mut graph = Graph {
            modules: sources.iter().map(|(path, _, _)| path.clone()).collect(),
            edges: BTreeSet::new(),
        };
        let reexports = sources
            .iter()
            .find(|(path, _, _)| path.is_empty())
            .map(|(_, _, text)| root_reexports(&strip_comments_and_strings(text)))
            .unwrap_or_default();
        for &(module, file, text) in &sources {
            let code = strip_comments_and_strings(text);
            let mut paths = Vec::new();
            collect_paths(&code, module, &mut paths);
            for (written, absolute) in paths {
                let target = resolve(&absolute, &graph.modules, &reexports);
                if let Some(edge) = sibling_edge(module, &target, format!("{file}: {written}")) {
                    graph.edges.insert(edge);
                }
            }
        }
        graph
    }

    /// The edges between the children of `parent`, one per pair, each with one place it is
    /// written.
    pub fn edges_under(&self, parent: &[String]) -> BTreeMap<(String, String), String> {
        let mut pairs = BTreeMap::new();
        for edge in self.edges.iter().filter(|edge| edge.parent == parent) {
            pairs
                .entry((edge.from.clone(), edge.to.clone()))
                .or_insert_with(|| edge.at.clone());
        }
        pairs
    }

    /// Every cycle between siblings: for each module with children (the root included), the
    /// strongly connected components of more than one child, each with the edges inside it.
    pub fn cycles(&self) -> Vec<Cycle> {
        let mut parents: BTreeSet<ModulePath> =
            self.edges.iter().map(|e| e.parent.clone()).collect();
        parents.insert(Vec::new());
        let mut cycles = Vec::new();
        for parent in parents {
            let edges = self.edges_under(&parent);
            for component in strongly_connected(&edges) {
                let inside = edges
                    .iter()
                    .filter(|((from, to), _)| component.contains(from) && component.contains(to))
                    .map(|((from, to), at)| format!("{from} -> {to} ({at})"))
                    .collect();
                cycles.push(Cycle {
                    parent: parent.clone(),
                    modules: component,
                    edges: inside,
                });
            }
        }
        cycles
    }
}

/// The modules declared `#[cfg(test)] mod name;` in their parent's file: test code, which may
/// reach anywhere.
fn test_only_modules(sources: &[(ModulePath, String, String)]) -> Vec<ModulePath> {
    let mut test_only = Vec::new();
    for (module, _, text) in sources {
        let code = strip_comments_and_strings(text);
        let mut rest = code.as_str();
        while let Some(at) = rest.find("#[cfg(test)]") {
            rest = &rest[at + "#[cfg(test)]".len()..];
            let item = rest.trim_start();
            let item = item.strip_prefix("pub(crate) ").unwrap_or(item);
            let item = item.strip_prefix("pub ").unwrap_or(item);
            if let Some(declaration) = item.strip_prefix("mod ") {
                let name: String = declaration
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if declaration[name.len()..].trim_start().starts_with(';') {
                    let mut path = module.clone();
                    path.push(name);
                    test_only.push(path);
                }
            }
        }
    }
    test_only
}

/// Modules that reach each other in a circle.
#[derive(Debug)]
pub struct Cycle {
    /// Their parent (`[]`: top-level modules).
    pub parent: ModulePath,
    /// The modules.
    pub modules: BTreeSet<String>,
    /// The edges between them, each with a place it is written.
    pub edges: Vec<String>,
}

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parent = if self.parent.is_empty() {
            "the crate root".to_owned()
        } else {
            format!("`{}`", self.parent.join("::"))
        };
        writeln!(
            f,
            "a cycle between the modules {:?} of {parent}:",
            self.modules
        )?;
        for edge in &self.edges {
            writeln!(f, "  {edge}")?;
        }
        Ok(())
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// `call/llm.rs` → `["call", "llm"]`; `call/mod.rs` → `["call"]`; `lib.rs` → `[]`.
fn module_path_of(relative: &Path) -> ModulePath {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file with its comments removed and its string and character literals emptied,
/// so that neither a doc comment nor a message naming `crate::x` counts as a use.
pub fn strip_comments_and_strings(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            // Block comments nest in Rust.
            let mut depth = 0;
            let mut j = 0;
            while j < rest.len() {
                if rest[j..].starts_with("/*") {
                    depth += 1;
                    j += 2;
                } else if rest[j..].starts_with("*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += rest[j..].chars().next().map_or(1, char::len_utf8);
                }
            }
            i += j;
        } else if let Some(len) = raw_string_len(rest, i == 0 || !is_ident_byte(bytes[i - 1])) {
            out.push_str("\"\"");
            i += len;
        } else if rest.starts_with('"') {
            let mut j = 1;
            while j < rest.len() && rest.as_bytes()[j] != b'"' {
                j += if rest.as_bytes()[j] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += (j + 1).min(rest.len());
        } else if let Some(len) = char_literal_len(rest) {
            out.push_str("' '");
            i += len;
        } else {
            let c = rest.chars().next().expect("not at the end");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_ident_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The length of a raw string literal (`r"..."`, `r#"..."#`, `br"..."`) starting `rest`.
fn raw_string_len(rest: &str, at_token_start: bool) -> Option<usize> {
    if !at_token_start {
        return None;
    }
    let after_b = rest.strip_prefix('b').unwrap_or(rest);
    let after_r = after_b.strip_prefix('r')?;
    let hashes = after_r.len() - after_r.trim_start_matches('#').len();
    let body = after_r[hashes..].strip_prefix('"')?;
    let end = format!("\"{}", "#".repeat(hashes));
    let close = body.find(&end)?;
    Some(rest.len() - body.len() + close + end.len())
}

/// The length of a character literal (`'a'`, `'\n'`, `'\u{1F600}'`) starting `rest`; `None`
/// for a lifetime (`'a`).
fn char_literal_len(rest: &str) -> Option<usize> {
    let body = rest.strip_prefix('\'')?;
    let mut chars = body.char_indices();
    let (_, first) = chars.next()?;
    let end = if first == '\\' {
        body.find('\'')?
    } else {
        let (at, second) = chars.next()?;
        if second != '\'' {
            return None;
        }
        at
    };
    Some(1 + end + 1)
}

/// The names the crate root re-exports (`pub use a::b::{C, D};`), with the module they come from.
fn root_reexports(code: &str) -> BTreeMap<String, ModulePath> {
    let mut names = BTreeMap::new();
    let mut rest = code;
    while let Some(at) = rest.find("pub use ") {
        rest = &rest[at + "pub use ".len()..];
        let end = rest.find(';').unwrap_or(rest.len());
        let item = &rest[..end];
        let mut paths = Vec::new();
        use_tree(item.trim(), &[], &mut paths);
        for path in paths {
            if let Some((name, module)) = path.split_last() {
                let name = name.split(" as ").last().unwrap_or(name).trim().to_owned();
                names.insert(name, module.to_vec());
            }
        }
        rest = &rest[end..];
    }
    names
}

/// Every `crate::` and `super::` path in `code`, as written and as an absolute path from the
/// crate root. Inline modules (`mod name { ... }`) are read with their own path, so that their
/// `super::` resolves as the compiler resolves it; `#[cfg(test)]` inline modules are skipped.
fn collect_paths(code: &str, module: &[String], out: &mut Vec<(String, ModulePath)>) {
    let (own, inline) = split_inline_modules(code);
    for (name, body, is_test) in inline {
        if !is_test {
            let mut path = module.to_vec();
            path.push(name);
            collect_paths(&body, &path, out);
        }
    }
    let bytes = own.as_bytes();
    let mut i = 0;
    while i < own.len() {
        let starts_token = i == 0 || !(is_ident_byte(bytes[i - 1]) || bytes[i - 1] == b':');
        let rest = &own[i..];
        let prefix = ["crate::", "super::"]
            .into_iter()
            .find(|p| rest.starts_with(p));
        match prefix {
            Some(_) if starts_token => {
                let len = path_len(rest);
                let written = &rest[..len];
                let mut absolute = Vec::new();
                let mut tail = written;
                let mut base: ModulePath = module.to_vec();
                if let Some(after) = tail.strip_prefix("crate::") {
                    base.clear();
                    tail = after;
                } else {
                    while let Some(after) = tail.strip_prefix("super::") {
                        base.pop();
                        tail = after;
                    }
                }
                use_tree(tail, &base, &mut absolute);
                for path in absolute {
                    out.push((compact(written), path));
                }
                i += len.max(1);
            }
            _ => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
}

fn compact(written: &str) -> String {
    written.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The length of the path starting `rest`: identifiers, `::`, and one brace group of a use tree.
fn path_len(rest: &str) -> usize {
    let bytes = rest.as_bytes();
    let mut i = 0;
    loop {
        while i < bytes.len() && (is_ident_byte(bytes[i]) || bytes[i] == b'*') {
            i += 1;
        }
        if rest[i..].starts_with("::") {
            i += 2;
            if rest[i..].starts_with('{') {
                let mut depth = 0;
                for (j, c) in rest[i..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                return i + j + 1;
                            }
                        }
                        _ => {}
                    }
                }
                return rest.len();
            }
            continue;
        }
        return i;
    }
}

/// Expands a use tree (`a::b`, `a::{b, c::{d, e}}`, `a::b as c`) under `base` into paths.
fn use_tree(tree: &str, base: &[String], out: &mut Vec<ModulePath>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    if let Some(group) = tree.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
        for item in split_top_level(group) {
            use_tree(item, base, out);
        }
        return;
    }
    match tree.split_once("::") {
        Some((head, rest)) => {
            let mut path = base.to_vec();
            path.push(head.trim().to_owned());
            use_tree(rest, &path, out);
        }
        None => {
            let name = tree.split(" as ").next().unwrap_or(tree).trim();
            let mut path = base.to_vec();
            if !matches!(name, "self" | "*" | "") {
                path.push(name.to_owned());
            }
            out.push(path);
        }
    }
}

/// `a, b::{c, d}, e` → `["a", "b::{c, d}", "e"]`.
fn split_top_level(group: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&group[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&group[start..]);
    items
}

/// The code outside inline modules, and each inline module's name, body and whether it is a
/// `#[cfg(test)]` module.
fn split_inline_modules(code: &str) -> (String, Vec<(String, String, bool)>) {
    let mut own = String::with_capacity(code.len());
    let mut inline = Vec::new();
    let mut rest = code;
    loop {
        let Some((start, name, open)) = next_inline_module(rest) else {
            own.push_str(rest);
            return (own, inline);
        };
        let before = &rest[..start];
        let is_test = before
            .trim_end()
            .trim_end_matches("pub")
            .trim_end_matches("pub(crate)")
            .trim_end()
            .ends_with("#[cfg(test)]");
        own.push_str(before);
        let mut depth = 0;
        let mut close = rest.len();
        for (i, c) in rest[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        close = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        inline.push((name, rest[open + 1..close].to_owned(), is_test));
        rest = &rest[(close + 1).min(rest.len())..];
    }
}

/// The next `mod name {` in `code`: where `mod` starts, the name, and where `{` is.
fn next_inline_module(code: &str) -> Option<(usize, String, usize)> {
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(at) = code[from..].find("mod ") {
        let start = from + at;
        from = start + 4;
        if start > 0 && is_ident_byte(bytes[start - 1]) {
            continue;
        }
        let after = &code[start + 4..];
        let name_len = after.bytes().take_while(|b| is_ident_byte(*b)).count();
        if name_len == 0 {
            continue;
        }
        let tail = &after[name_len..];
        let spaces = tail.len() - tail.trim_start().len();
        if tail.trim_start().starts_with('{') {
            return Some((
                start,
                after[..name_len].to_owned(),
                start + 4 + name_len + spaces,
            ));
        }
    }
    None
}

/// The module an absolute path reaches: its longest prefix that is a module, through the crate
/// root's re-exports when the path names one.
fn resolve(
    path: &[String],
    modules: &BTreeSet<ModulePath>,
    reexports: &BTreeMap<String, ModulePath>,
) -> ModulePath {
    if let [name] = path {
        if !modules.contains(&vec![name.clone()]) {
            if let Some(module) = reexports.get(name) {
                return resolve(module, modules, &BTreeMap::new());
            }
        }
    }
    (0..=path.len())
        .rev()
        .map(|len| path[..len].to_vec())
        .find(|prefix| modules.contains(prefix))
        .unwrap_or_default()
}

/// The edge `from` → `to` counts as between their ancestors that are siblings; none when one
/// contains the other.
fn sibling_edge(from: &[String], to: &[String], at: String) -> Option<Edge> {
    let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
    if common == from.len() || common == to.len() {
        return None;
    }
    Some(Edge {
        parent: from[..common].to_vec(),
        from: from[common].clone(),
        to: to[common].clone(),
        at,
    })
}

/// The strongly connected components of more than one node (Tarjan).
fn strongly_connected(edges: &BTreeMap<(String, String), String>) -> Vec<BTreeSet<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
        next.entry(to).or_default();
    }
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'a>(node: &'a str, next: &BTreeMap<&'a str, Vec<&'a str>>, state: &mut State<'a>) {
        let n = state.index.len();
        state.index.insert(node, n);
        state.low.insert(node, n);
        state.stack.push(node);
        state.on_stack.insert(node);
        for &to in &next[node] {
            if !state.index.contains_key(to) {
                visit(to, next, state);
                let low = state.low[node].min(state.low[to]);
                state.low.insert(node, low);
            } else if state.on_stack.contains(to) {
                let low = state.low[node].min(state.index[to]);
                state.low.insert(node, low);
            }
        }
        if state.low[node] == state.index[node] {
            let mut component = BTreeSet::new();
            while let Some(top) = state.stack.pop() {
                state.on_stack.remove(top);
                component.insert(top.to_owned());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                state.found.push(component);
            }
        }
    }
    let mut state = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for node in next.keys() {
        if !state.index.contains_key(node) {
            visit(node, &next, &mut state);
        }
    }
    state.found
}

/// The layers `docs/architecture.md` declares for the runtime's top-level modules: the rows of
/// the table under the heading `heading`, top to bottom, each with the modules named in
/// backticks in its second cell. The first row is the highest layer.
pub fn layers_of(page: &str, heading: &str) -> Vec<(String, Vec<String>)> {
    let section = page
        .split_once(heading)
        .unwrap_or_else(|| panic!("no heading {heading:?}"))
        .1;
    let mut layers = Vec::new();
    for line in section.lines().skip_while(|line| !line.starts_with('|')) {
        if !line.starts_with('|') {
            break;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 3 || cells[1].starts_with("---") || cells[1] == "layer" {
            continue;
        }
        let modules = cells[2]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        layers.push((cells[1].to_owned(), modules));
    }
    layers
}
