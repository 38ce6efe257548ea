//! `nginx-gwlint parse --format json`: the tree in crossplane's shape, so crossplane users can
//! switch: `{status, errors, config: [{file, status, errors, parsed: [...]}]}`, each directive
//! `{directive, line, args, includes?, block?}` (and `{directive: "#", line, args: [], comment}`
//! with `--include-comments`), `args` holding each value as nginx reads it.
//!
//! The output is written straight from the syntax trees (no intermediate JSON values), so a
//! large tree costs little more than parsing it, and with an explicit stack instead of nested
//! serializers: blocks nest up to [`crate::syntax::MAX_DEPTH`] levels, far beyond what the call
//! stack could take. The layout is serde_json's, compact or pretty.

use std::collections::HashMap;
use std::io::Write;

use crate::config::{ConfigTree, LoadProblemKind};
use crate::source::FileId;
use crate::syntax::{DirRef, ItemRef, Items};

pub struct ParseJsonOptions {
    /// Emit `#` comments as `{"directive": "#", "comment": "..."}` entries.
    pub include_comments: bool,
    /// Pretty-print with this many spaces per level (crossplane's `--indent`); compact if None.
    pub indent: Option<usize>,
}

/// Writes the payload to `out` (give it a buffered writer).
pub fn write_parse_json<W: Write>(
    out: W,
    tree: &ConfigTree,
    opts: &ParseJsonOptions,
) -> serde_json::Result<()> {
    let payload = Payload::new(tree, opts);
    let mut json = JsonWriter {
        out,
        indent: opts.indent.map(|n| " ".repeat(n).into_bytes()),
        open: Vec::new(),
    };
    payload.write(&mut json)?;
    json.out.write_all(b"\n").map_err(serde_json::Error::io)
}

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
        for (file, e) in tree.first_parse_errors() {
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
            let line = source.lines.line(p.span.start());
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

impl Payload<'_> {
    fn write<W: Write>(&self, j: &mut JsonWriter<W>) -> serde_json::Result<()> {
        j.begin(b'{')?;
        j.key("status")?;
        j.string(if self.errors.is_empty() {
            "ok"
        } else {
            "failed"
        })?;
        j.key("errors")?;
        j.errors(self.errors.iter().map(|(_, e)| e))?;
        j.key("config")?;
        j.begin(b'[')?;
        // Errors by file, so each file's entry does not scan every error.
        let mut by_file: HashMap<FileId, Vec<&ErrorEntry>> = HashMap::new();
        for (f, e) in &self.errors {
            by_file.entry(*f).or_default().push(e);
        }
        for &file in &self.tree.nginx_files {
            j.element()?;
            self.write_file(j, file, by_file.get(&file).map_or(&[], Vec::as_slice))?;
        }
        j.end(b']')?;
        j.end(b'}')
    }

    fn write_file<W: Write>(
        &self,
        j: &mut JsonWriter<W>,
        file: FileId,
        errors: &[&ErrorEntry],
    ) -> serde_json::Result<()> {
        let source = self.tree.sources.get(file);
        j.begin(b'{')?;
        j.key("file")?;
        j.string(&source.path.display().to_string())?;
        j.key("status")?;
        j.string(if errors.is_empty() { "ok" } else { "failed" })?;
        j.key("errors")?;
        j.errors(errors.iter().copied())?;
        j.key("parsed")?;
        // As crossplane: a file with a syntax error has no `parsed` (the tree read past the
        // error is for the checks, not a parse result).
        let unparsed = self.tree.parse_errors.iter().any(|(f, _)| *f == file);
        let items: Items<'_> = match self.tree.ast(file) {
            Some(ast) if !unparsed => ast.items(),
            _ => Items::default(),
        };
        // One entry per open `block` array: the rest of its items.
        let mut stack = vec![items];
        j.begin(b'[')?;
        while let Some(top) = stack.last_mut() {
            let Some(node) = top.next() else {
                stack.pop();
                j.end(b']')?;
                if !stack.is_empty() {
                    j.end(b'}')?; // the directive that owns the block
                }
                continue;
            };
            let d = match node {
                ItemRef::Comment(c) => {
                    if self.opts.include_comments {
                        j.element()?;
                        j.begin(b'{')?;
                        j.key("directive")?;
                        j.string("#")?;
                        j.key("line")?;
                        j.number(source.lines.line(c.span().start()))?;
                        j.key("args")?;
                        j.begin(b'[')?;
                        j.end(b']')?;
                        j.key("comment")?;
                        j.string(c.text())?;
                        j.end(b'}')?;
                    }
                    continue;
                }
                ItemRef::Directive(d) => d,
            };
            j.element()?;
            j.begin(b'{')?;
            j.key("directive")?;
            j.string(d.name())?;
            j.key("line")?;
            j.number(source.lines.line(d.name_word().span().start()))?;
            j.key("args")?;
            write_args(j, d)?;
            if d.name() == "include" {
                j.key("includes")?;
                j.begin(b'[')?;
                let targets = self.tree.include_targets(file, d.span()).iter();
                for t in targets.filter_map(|t| self.index.get(t)) {
                    j.element()?;
                    j.number(*t)?;
                }
                j.end(b']')?;
            }
            match d.block() {
                Some(block) if block.raw().is_none() => {
                    j.key("block")?;
                    j.begin(b'[')?;
                    stack.push(block.items());
                }
                _ => j.end(b'}')?,
            }
        }
        j.end(b'}')
    }
}

/// The arguments, plus a raw (Lua) block body as one last argument, as crossplane does.
fn write_args<W: Write>(j: &mut JsonWriter<W>, d: DirRef<'_>) -> serde_json::Result<()> {
    let raw = d.block().and_then(|b| b.raw());
    j.begin(b'[')?;
    for a in d.args().iter().chain(raw) {
        j.element()?;
        j.string(a.as_str())?;
    }
    j.end(b']')
}

/// JSON output with serde_json's layout (compact, or `PrettyFormatter` with `indent`), driven
/// by the caller's own loop so nesting depth never reaches the call stack.
struct JsonWriter<W> {
    out: W,
    indent: Option<Vec<u8>>,
    /// For each open object or array: whether it has a member yet.
    open: Vec<bool>,
}

impl<W: Write> JsonWriter<W> {
    fn raw(&mut self, bytes: &[u8]) -> serde_json::Result<()> {
        self.out.write_all(bytes).map_err(serde_json::Error::io)
    }

    fn newline_indent(&mut self) -> serde_json::Result<()> {
        let Some(indent) = &self.indent else {
            return Ok(());
        };
        self.out.write_all(b"\n").map_err(serde_json::Error::io)?;
        for _ in 0..self.open.len() {
            self.out.write_all(indent).map_err(serde_json::Error::io)?;
        }
        Ok(())
    }

    fn begin(&mut self, open: u8) -> serde_json::Result<()> {
        self.raw(&[open])?;
        self.open.push(false);
        Ok(())
    }

    fn end(&mut self, close: u8) -> serde_json::Result<()> {
        if self.open.pop() == Some(true) {
            self.newline_indent()?;
        }
        self.raw(&[close])
    }

    /// Before each member of an array (or key of an object).
    fn element(&mut self) -> serde_json::Result<()> {
        let first = match self.open.last_mut() {
            Some(has) => !std::mem::replace(has, true),
            None => true,
        };
        if !first {
            self.raw(b",")?;
        }
        self.newline_indent()
    }

    fn key(&mut self, key: &str) -> serde_json::Result<()> {
        self.element()?;
        self.string(key)?;
        self.raw(if self.indent.is_some() { b": " } else { b":" })
    }

    fn string(&mut self, s: &str) -> serde_json::Result<()> {
        serde_json::to_writer(&mut self.out, s)
    }

    fn number(&mut self, n: usize) -> serde_json::Result<()> {
        self.raw(n.to_string().as_bytes())
    }

    /// A list of error entries: flat objects, written by serde in the current layout.
    fn errors<'e>(
        &mut self,
        errors: impl Iterator<Item = &'e ErrorEntry>,
    ) -> serde_json::Result<()> {
        self.begin(b'[')?;
        for e in errors {
            self.element()?;
            self.begin(b'{')?;
            self.key("file")?;
            self.string(&e.file)?;
            self.key("line")?;
            self.number(e.line)?;
            self.key("error")?;
            self.string(&e.error)?;
            self.end(b'}')?;
        }
        self.end(b']')
    }
}
