//! The layers of `docs/architecture.md`, checked on the sources: the runtime's modules only
//! point down, and no crate of the workspace has an import cycle between its modules, at any
//! depth. A failure names the modules, and for each edge the file and the path that makes it.

use factory_observability_tests::layers::{layers_of, Graph, ModulePath};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The heading of `docs/architecture.md` whose table lists the runtime's layers.
const LAYERS_HEADING: &str = "## Layers";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn assert_acyclic(graph: &Graph, crate_dir: &str) {
    let cycles = graph.cycles();
    assert!(
        cycles.is_empty(),
        "{crate_dir} has import cycles (move the type both sides need down to a module both can \
         see, see docs/architecture.md):\n{}",
        cycles
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_runtimes_modules_only_point_down_the_layers_of_the_architecture_page() {
    let graph = Graph::read(&workspace().join("runtime/src"));
    let page = std::fs::read_to_string(workspace().join("docs/architecture.md")).unwrap();
    let layers = layers_of(&page, LAYERS_HEADING);
    assert!(
        !layers.is_empty(),
        "no layer table under {LAYERS_HEADING:?}"
    );

    // Every top-level module is in exactly one layer, and every module named there exists.
    let mut layer_of: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
    for (depth, (layer, modules)) in layers.iter().enumerate() {
        for module in modules {
            let before = layer_of.insert(module, (depth, layer));
            assert!(
                before.is_none(),
                "`{module}` is in two layers of docs/architecture.md"
            );
        }
    }
    let top_level: Vec<&ModulePath> = graph.modules.iter().filter(|m| m.len() == 1).collect();
    for module in &top_level {
        assert!(
            layer_of.contains_key(module[0].as_str()),
            "runtime/src/{0} is in no layer: add `{0}` to the table under {LAYERS_HEADING:?} \
             of docs/architecture.md, in the layer whose modules it uses and whose users use it",
            module[0]
        );
    }
    for module in layer_of.keys() {
        assert!(
            top_level.iter().any(|m| m[0] == *module),
            "docs/architecture.md names `{module}`, which is not a module of runtime/src"
        );
    }

    // Every edge between top-level modules stays in its layer or goes down.
    let upward: Vec<String> = graph
        .edges_under(&[])
        .into_iter()
        .filter(|((from, to), _)| layer_of[from.as_str()].0 > layer_of[to.as_str()].0)
        .map(|((from, to), at)| {
            format!(
                "{from} ({}) -> {to} ({}): {at}",
                layer_of[from.as_str()].1,
                layer_of[to.as_str()].1
            )
        })
        .collect();
    assert!(
        upward.is_empty(),
        "edges pointing up the layers of docs/architecture.md (a lower module must not use a \
         higher one: move what both need down):\n{}",
        upward.join("\n")
    );
    assert_acyclic(&graph, "runtime/src");
}

#[test]
fn no_crate_of_the_workspace_has_an_import_cycle() {
    for crate_dir in [
        "names/src",
        "model/src",
        "macros/src",
        "cli/src",
        "tests/src",
    ] {
        assert_acyclic(&Graph::read(&workspace().join(crate_dir)), crate_dir);
    }
}

fn sources(files: &[(&str, &str)]) -> Vec<(ModulePath, String, String)> {
    files
        .iter()
        .map(|(path, text)| {
            let module: ModulePath = path
                .trim_end_matches(".rs")
                .split('/')
                .filter(|part| !matches!(*part, "lib" | "mod"))
                .map(str::to_owned)
                .collect();
            (module, (*path).to_owned(), (*text).to_owned())
        })
        .collect()
}

/// The check itself: a cycle introduced on purpose is found, at the top level and between
/// siblings, through `use` trees, `super::` and a re-export of the crate root; comments,
/// strings, test modules and parent/child references are not edges.
#[test]
fn the_check_finds_a_cycle_introduced_on_purpose() {
    let graph = Graph::from_sources(&sources(&[
        ("lib.rs", "mod a; mod b; mod c; pub use b::Thing;"),
        ("a.rs", "use crate::{c, b::{x, y as z}};"),
        ("b/mod.rs", "mod x; mod y; pub struct Thing;"),
        // A sibling cycle inside `b`, one way through `super::`, the other through `crate::`.
        ("b/x.rs", "use super::y::f; pub fn g() {}"),
        (
            "b/y.rs",
            "pub fn f() { crate::b::x::g() } use super::Thing;",
        ),
        // `c` reaches `a` only through the root's re-export of `b::Thing`: c -> b, not c -> a.
        (
            "c.rs",
            r#"// crate::a::nothing
               /* crate::a */ const S: &str = "crate::a::x";
               fn h() -> crate::Thing { todo!() }
               #[cfg(test)] mod tests { use crate::a; }"#,
        ),
    ]));
    let top: Vec<(String, String)> = graph.edges_under(&[]).into_keys().collect();
    assert_eq!(
        top,
        [("a", "b"), ("a", "c"), ("c", "b")].map(|(f, t)| (f.to_owned(), t.to_owned()))
    );
    let cycles = graph.cycles();
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert_eq!(cycles[0].parent, ["b"]);
    assert_eq!(
        cycles[0].modules.iter().collect::<Vec<_>>(),
        ["x", "y"],
        "{}",
        cycles[0]
    );
    let text = cycles[0].to_string();
    assert!(text.contains("x -> y (b/x.rs: super::y::f)"), "{text}");
    assert!(text.contains("y -> x (b/y.rs: crate::b::x::g)"), "{text}");

    // Closing the circle at the top level: b -> a makes a, b and c one cycle.
    let closed = Graph::from_sources(&sources(&[
        ("lib.rs", "mod a; mod b; mod c;"),
        ("a.rs", "use crate::b::Thing;"),
        ("b.rs", "pub struct Thing; fn f() { crate::c::g() }"),
        ("c.rs", "pub fn g() { let _ = super::a::A; }"),
    ]));
    let cycles = closed.cycles();
    assert_eq!(cycles.len(), 1);
    assert!(cycles[0].parent.is_empty());
    assert_eq!(cycles[0].modules.len(), 3, "{}", cycles[0]);
}
