//! `nginx-gwlint parse --format json`: the tree in crossplane's shape, so crossplane users can
//! switch: `{status, errors, config: [{file, status, errors, parsed: [...]}]}`, each directive
//! `{directive, line, args, includes?, block?}` (and `{directive: "#", line, args: [], comment}`
//! with `--include-comments`), `args` holding each value as nginx reads it.
//!
//! The output is serialized straight from the syntax trees (no intermediate JSON values), so a
//! large tree costs little more than parsing it.

use std::collections::HashMap;
use std::io::Write;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::config::{ConfigTree, LoadProblemKind};
use crate::source::{FileId, SourceFile};
use crate::syntax::{Directive, Node};

pub struct ParseJsonOptions {
    /// Emit `#` comments as `{"directive": "#", "comment": "..."}` entries.
    pub include_comments: bool,
    /// Pretty-print with this many spaces per level (crossplane's `--indent`); compact if None.
    pub indent: Option<usize>,
}

/// Writes the payload to `out` (give it a buffered writer).
pub fn write_parse_json<W: Write>(
    mut out: W,
    tree: &ConfigTree,
    opts: &ParseJsonOptions,
) -> serde_json::Result<()> {
    let payload = Payload::new(tree, opts);
    match opts.indent {
        Some(n) => {
            let indent = " ".repeat(n);
            let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
            payload.serialize(&mut ser)?;
        }
        None => serde_json::to_writer(&mut out, &payload)?,
    }
    out.write_all(b"\n").map_err(serde_json::Error::io)
}

/// The payload as a JSON value (tests and library users).
pub fn render_parse_json(tree: &ConfigTree, opts: &ParseJsonOptions) -> serde_json::Value {
    serde_json::to_value(Payload::new(tree, opts)).unwrap_or(serde_json::Value::Null)
}

#[derive(Serialize)]
struct ErrorEntry {
    file: String,
    line: usize,
    error: String,
}

struct Payload<'a> {
    tree: &'a ConfigTree,
    opts: &'a ParseJsonOptions,
    /// File -> its index in `config` (for `includes`).
    index: HashMap<FileId, usize>,
    errors: Vec<(FileId, ErrorEntry)>,
}

impl<'a> Payload<'a> {
    fn new(tree: &'a ConfigTree, opts: &'a ParseJsonOptions) -> Self {
        let index = tree
            .nginx_files
            .iter()
            .enumerate()
            .map(|(i, f)| (*f, i))
            .collect();
        let mut errors = Vec::new();
        for (file, e) in &tree.parse_errors {
            let source = tree.sources.get(*file);
            let path = source.path.display().to_string();
            let line = source.lines.line(e.offset);
            errors.push((
                *file,
                ErrorEntry {
                    error: format!("{} in {path}:{line}", e.message),
                    file: path,
                    line,
                },
            ));
        }
        for p in &tree.problems {
            let msg = match &p.kind {
                LoadProblemKind::IncludeNotFound { path }
                | LoadProblemKind::StockIncludeMissing { path } => {
                    format!("open() \"{path}\" failed (2: No such file or directory)")
                }
                LoadProblemKind::IncludeUnreadable { path, reason } => {
                    format!("open() \"{path}\" failed ({reason})")
                }
                _ => continue,
            };
            let source = tree.sources.get(p.file);
            let path = source.path.display().to_string();
            let line = source.lines.line(p.span.start);
            errors.push((
                p.file,
                ErrorEntry {
                    error: format!("{msg} in {path}:{line}"),
                    file: path,
                    line,
                },
            ));
        }
        Payload {
            tree,
            opts,
            index,
            errors,
        }
    }
}

impl Serialize for Payload<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(3))?;
        map.serialize_entry(
            "status",
            if self.errors.is_empty() {
                "ok"
            } else {
                "failed"
            },
        )?;
        let all: Vec<&ErrorEntry> = self.errors.iter().map(|(_, e)| e).collect();
        map.serialize_entry("errors", &all)?;
        map.serialize_entry("config", &Configs(self))?;
        map.end()
    }
}

struct Configs<'p, 'a>(&'p Payload<'a>);

impl Serialize for Configs<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut seq = s.serialize_seq(Some(p.tree.nginx_files.len()))?;
        for &file in &p.tree.nginx_files {
            seq.serialize_element(&ConfigEntry { p, file })?;
        }
        seq.end()
    }
}

struct ConfigEntry<'p, 'a> {
    p: &'p Payload<'a>,
    file: FileId,
}

impl Serialize for ConfigEntry<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let source = self.p.tree.sources.get(self.file);
        let errors: Vec<&ErrorEntry> = self
            .p
            .errors
            .iter()
            .filter(|(f, _)| *f == self.file)
            .map(|(_, e)| e)
            .collect();
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("file", &source.path.display().to_string())?;
        map.serialize_entry("status", if errors.is_empty() { "ok" } else { "failed" })?;
        map.serialize_entry("errors", &errors)?;
        let items: &[Node] = self
            .p
            .tree
            .ast(self.file)
            .map_or(&[], |ast| ast.items.as_slice());
        map.serialize_entry(
            "parsed",
            &Items {
                p: self.p,
                file: self.file,
                source,
                items,
            },
        )?;
        map.end()
    }
}

struct Items<'p, 'a> {
    p: &'p Payload<'a>,
    file: FileId,
    source: &'a SourceFile,
    items: &'a [Node],
}

impl Serialize for Items<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for node in self.items {
            match node {
                Node::Comment(c) if self.p.opts.include_comments => {
                    seq.serialize_element(&CommentOut {
                        line: self.source.lines.line(c.span.start),
                        comment: c.text.as_str(),
                    })?;
                }
                Node::Comment(_) => {}
                Node::Directive(d) => seq.serialize_element(&DirectiveOut { items: self, d })?,
            }
        }
        seq.end()
    }
}

struct CommentOut<'a> {
    line: usize,
    comment: &'a str,
}

impl Serialize for CommentOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(4))?;
        map.serialize_entry("directive", "#")?;
        map.serialize_entry("line", &self.line)?;
        map.serialize_entry("args", &[] as &[&str])?;
        map.serialize_entry("comment", self.comment)?;
        map.end()
    }
}

struct DirectiveOut<'i, 'p, 'a> {
    items: &'i Items<'p, 'a>,
    d: &'a Directive,
}

impl Serialize for DirectiveOut<'_, '_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Items {
            p, file, source, ..
        } = self.items;
        let d = self.d;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("directive", d.name())?;
        map.serialize_entry("line", &source.lines.line(d.name.span.start))?;
        map.serialize_entry("args", &Args(d))?;
        if d.name() == "include" {
            let targets: Vec<usize> = p
                .tree
                .include_targets(*file, d.span)
                .iter()
                .filter_map(|t| p.index.get(t).copied())
                .collect();
            map.serialize_entry("includes", &targets)?;
        }
        if let Some(block) = &d.block {
            if block.raw.is_none() {
                map.serialize_entry(
                    "block",
                    &Items {
                        p,
                        file: *file,
                        source,
                        items: &block.items,
                    },
                )?;
            }
        }
        map.end()
    }
}

/// The arguments, plus a raw (Lua) block body as one last argument, as crossplane does.
struct Args<'a>(&'a Directive);

impl Serialize for Args<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let raw = d.block.as_ref().and_then(|b| b.raw.as_ref());
        let mut seq = s.serialize_seq(Some(d.args.len() + usize::from(raw.is_some())))?;
        for a in &d.args {
            seq.serialize_element(a.as_str())?;
        }
        if let Some(raw) = raw {
            seq.serialize_element(raw.as_str())?;
        }
        seq.end()
    }
}
