//! The layering test: the module graph computed from `crate::` paths in the sources must have
//! no cycle between top-level modules. Comments are skipped (a doc link is not a dependency).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> the top-level modules its code names.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut tops = BTreeSet::new();
    for entry in std::fs::read_dir(src).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        match name.strip_suffix(".rs") {
            Some("lib" | "main") => {}
            Some(stem) => {
                tops.insert(stem.to_owned());
            }
            None if entry.path().is_dir() => {
                tops.insert(name);
            }
            None => {}
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for top in &tops {
        let mut files = Vec::new();
        let file = src.join(format!("{top}.rs"));
        if file.is_file() {
            files.push(file);
        }
        let dir = src.join(top);
        if dir.is_dir() {
            walkdir::WalkDir::new(&dir)
                .into_iter()
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
                .for_each(|e| files.push(e.into_path()));
        }
        let deps = graph.entry(top.clone()).or_default();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for line in text.lines() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for used in names_after_crate(line) {
                    if used != *top && tops.contains(&used) {
                        deps.insert(used);
                    }
                }
            }
        }
    }
    graph
}

/// The module names a line reaches through `crate::`: `crate::a::b` gives `a`,
/// `crate::{a, b::c}` gives `a` and `b`.
fn names_after_crate(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let body = group.split('}').next().unwrap_or("");
            for part in body.split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
        rest = after;
    }
    out
}

/// A cycle in `graph`, as the path of modules around it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = BTreeMap::new();
    for start in graph.keys() {
        if marks.contains_key(start.as_str()) {
            continue;
        }
        // Iterative depth-first search: (node, its remaining successors).
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, succ(graph, start))];
        marks.insert(start, Mark::Open);
        while let Some((node, next)) = stack.last_mut() {
            match next.pop() {
                Some(m) => match marks.get(m) {
                    Some(Mark::Open) => {
                        let from = stack.iter().position(|(n, _)| *n == m).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            stack[from..].iter().map(|(n, _)| (*n).to_owned()).collect();
                        cycle.push(m.to_owned());
                        return Some(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(m, Mark::Open);
                        stack.push((m, succ(graph, m)));
                    }
                },
                None => {
                    marks.insert(node, Mark::Done);
                    stack.pop();
                }
            }
        }
    }
    None
}

fn succ<'g>(graph: &'g BTreeMap<String, BTreeSet<String>>, node: &str) -> Vec<&'g str> {
    graph
        .get(node)
        .map(|s| s.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = module_graph(&src);
    assert!(graph.len() > 10, "read {} modules", graph.len());
    if let Some(cycle) = find_cycle(&graph) {
        let edges: Vec<String> = graph
            .iter()
            .map(|(m, deps)| {
                format!(
                    "{m} -> {}",
                    deps.iter().cloned().collect::<Vec<_>>().join(" ")
                )
            })
            .collect();
        panic!("module cycle: {}\n{}", cycle.join(" -> "), edges.join("\n"));
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default();
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert!(find_cycle(&g).is_some());
    assert_eq!(
        names_after_crate("use crate::{config::X, rules}; crate::fix::y()"),
        ["config", "rules", "fix"]
    );
}
