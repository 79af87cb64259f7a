//! The arrows between the top-level modules of `src` point one way: no module imports,
//! directly or through others, a module that imports it. Read from the source itself: every
//! `crate::module` path (grouped `crate::{a, b}` included) and every `super::` path that
//! climbs to the crate root, outside comments. A cycle fails with the path it takes and, for
//! each edge, a file that makes it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the store may import: it sits under every stage that uses it.
const STORE_MAY_IMPORT: &[&str] = &["clock", "invalid", "secret"];

/// For each top-level module, the modules it imports, each with a file that does.
type Graph = BTreeMap<String, BTreeMap<String, PathBuf>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → `[a, b]`; `src/a/mod.rs` and `src/a.rs` → `[a]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The identifier at the start of `text`.
fn ident(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The first segment of each path of a `{a::b, c, d::{e, f}}` group (`text` starts after `{`).
fn group_heads(text: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                heads.push(ident(text[start..i].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                heads.push(ident(text[start..i].trim_start()));
                start = i + 1;
            }
            _ => {}
        }
    }
    heads
}

/// The top-level modules `code` (of the module at `path`) names.
fn imports(code: &str, path: &[String]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        match rest.strip_prefix('{') {
            Some(group) => found.extend(group_heads(group).into_iter().map(str::to_string)),
            None => {
                found.insert(ident(rest).to_string());
            }
        }
    }
    for (at, _) in code.match_indices("super::") {
        // Only the first `super::` of a run.
        if code[..at].ends_with("super::") {
            continue;
        }
        let mut rest = &code[at..];
        let mut climbs = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            climbs += 1;
            rest = r;
        }
        if climbs == path.len() {
            found.insert(ident(rest).to_string());
        }
    }
    found
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(f.strip_prefix(&src).unwrap()).first().cloned())
        .filter(|m| !matches!(m.as_str(), "lib" | "main" | "bin"))
        .collect();
    let mut graph = Graph::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let path = module_path(relative);
        let from = &path[0];
        if !modules.contains(from) {
            continue; // the crate root and the binaries sit above everything
        }
        let text = std::fs::read_to_string(file).unwrap();
        let code: String = text
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let edges = graph.entry(from.clone()).or_default();
        for to in imports(&code, &path) {
            if modules.contains(&to) && &to != from {
                edges.entry(to).or_insert_with(|| relative.to_path_buf());
            }
        }
    }
    graph
}

/// A cycle through `graph`, as the modules it visits, if there is one.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flat_map(|e| e.keys()) {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_top_level_module_imports_one_that_imports_it() {
    let graph = graph();
    let above: Vec<_> = graph["store"]
        .iter()
        .filter(|(to, _)| !STORE_MAY_IMPORT.contains(&to.as_str()))
        .map(|(to, file)| format!("{to} ({})", file.display()))
        .collect();
    assert!(above.is_empty(), "the store imports from above: {above:?}");
    let shown: Vec<String> = graph
        .iter()
        .map(|(from, edges)| {
            let to: Vec<&str> = edges.keys().map(String::as_str).collect();
            format!("{from} → {}", to.join(", "))
        })
        .collect();
    println!("REPORT module graph:\n{}", shown.join("\n"));
    if let Some(cycle) = find_cycle(&graph) {
        let evidence: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} → {} ({})", w[0], w[1], graph[&w[0]][&w[1]].display()))
            .collect();
        panic!("import cycle: {}", evidence.join(", "));
    }
}

#[test]
fn the_reader_finds_imports_in_every_form() {
    let code = "use crate::{config::Config, instance::{self, Instance}};\n\
                use super::super::store::Store;\nfn f() { crate::secret::mask(); }";
    let found = imports(code, &["http".into(), "admin".into()]);
    let expected = ["config", "instance", "secret", "store"];
    assert_eq!(found, expected.map(String::from).into_iter().collect());
    assert!(imports("use super::Thing;", &["http".into(), "admin".into()]).is_empty());
    let cycle = find_cycle(&Graph::from([
        ("a".into(), BTreeMap::from([("b".into(), PathBuf::new())])),
        ("b".into(), BTreeMap::from([("a".into(), PathBuf::new())])),
    ]));
    assert_eq!(cycle, Some(vec!["a".into(), "b".into(), "a".into()]));
}
