//! `nginx-gwlint parse --format json`: the tree in crossplane's shape, so crossplane users can
//! switch: `{status, errors, config: [{file, status, errors, parsed: [...]}]}`, each directive
//! `{directive, line, args, block?, includes?, comment?}` with `args` as nginx reads them.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::config::ConfigTree;
use crate::source::FileId;
use crate::syntax::{Directive, Node};

pub struct ParseJsonOptions {
    /// Emit `#` comments as `{"directive": "#", "comment": "..."}` entries.
    pub include_comments: bool,
}

pub fn render_parse_json(tree: &ConfigTree, opts: &ParseJsonOptions) -> Value {
    let index: HashMap<FileId, usize> = tree
        .nginx_files
        .iter()
        .enumerate()
        .map(|(i, f)| (*f, i))
        .collect();
    let mut all_errors = Vec::new();
    let mut configs = Vec::new();
    for &file in &tree.nginx_files {
        let source = tree.sources.get(file);
        let path = source.path.display().to_string();
        let mut errors = Vec::new();
        for (f, e) in &tree.parse_errors {
            if *f == file {
                let line = source.lines.line(e.offset);
                let err = json!({"file": path, "line": line, "error": format!("{} in {}:{}", e.message, path, line)});
                errors.push(err.clone());
                all_errors.push(err);
            }
        }
        for p in &tree.problems {
            if p.file == file {
                let line = source.lines.line(p.span.start);
                let msg = match &p.kind {
                    crate::config::LoadProblemKind::IncludeNotFound { path: target } => {
                        format!("open() \"{target}\" failed (2: No such file or directory)")
                    }
                    crate::config::LoadProblemKind::IncludeUnreadable {
                        path: target,
                        reason,
                    } => format!("open() \"{target}\" failed ({reason})"),
                    _ => continue,
                };
                let err =
                    json!({"file": path, "line": line, "error": format!("{msg} in {path}:{line}")});
                errors.push(err.clone());
                all_errors.push(err);
            }
        }
        let parsed = tree
            .ast(file)
            .map(|ast| items(tree, file, &ast.items, &index, opts))
            .unwrap_or_default();
        configs.push(json!({
            "file": path,
            "status": if errors.is_empty() { "ok" } else { "failed" },
            "errors": errors,
            "parsed": parsed,
        }));
    }
    json!({
        "status": if all_errors.is_empty() { "ok" } else { "failed" },
        "errors": all_errors,
        "config": configs,
    })
}

fn items(
    tree: &ConfigTree,
    file: FileId,
    nodes: &[Node],
    index: &HashMap<FileId, usize>,
    opts: &ParseJsonOptions,
) -> Vec<Value> {
    let source = tree.sources.get(file);
    let mut out = Vec::new();
    for node in nodes {
        match node {
            Node::Comment(c) => {
                if opts.include_comments {
                    out.push(json!({
                        "directive": "#",
                        "line": source.lines.line(c.span.start),
                        "args": [],
                        "comment": c.text.as_str(),
                    }));
                }
            }
            Node::Directive(d) => out.push(directive(tree, file, d, index, opts)),
        }
    }
    out
}

fn directive(
    tree: &ConfigTree,
    file: FileId,
    d: &Directive,
    index: &HashMap<FileId, usize>,
    opts: &ParseJsonOptions,
) -> Value {
    let source = tree.sources.get(file);
    let mut obj = Map::new();
    obj.insert("directive".into(), Value::from(d.name()));
    obj.insert(
        "line".into(),
        Value::from(source.lines.line(d.name.span.start)),
    );
    let mut args: Vec<Value> = d.args.iter().map(|a| Value::from(a.as_str())).collect();
    if let Some(block) = &d.block {
        if let Some(raw) = &block.raw {
            args.push(Value::from(raw.as_str()));
        }
    }
    obj.insert("args".into(), Value::Array(args));
    if d.name() == "include" {
        let targets: Vec<Value> = tree
            .include_targets(file, d.span)
            .iter()
            .filter_map(|t| index.get(t))
            .map(|i| Value::from(*i))
            .collect();
        obj.insert("includes".into(), Value::Array(targets));
    }
    if let Some(block) = &d.block {
        if block.raw.is_none() {
            obj.insert(
                "block".into(),
                Value::Array(items(tree, file, &block.items, index, opts)),
            );
        }
    }
    Value::Object(obj)
}
