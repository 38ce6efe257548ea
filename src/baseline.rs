//! Baselines: record today's findings, then report only new ones.
//!
//! `--write-baseline FILE` stores each finding as `{rule, file, fingerprint, message}`;
//! `--baseline FILE` hides exactly the findings whose fingerprint is in it, each entry hiding
//! at most one finding. The fingerprint hashes the rule, the file's path in the tree
//! ([`finding_path`]: relative to the tree's prefix, so `x`, `./x`, `x/` and `/abs/x` give the
//! same fingerprint, and so does the tree copied elsewhere), the
//! normalized text of the directive the finding points at (its head: name and arguments as
//! written, one space apart, then `;` or `{`; comments left out) and an occurrence index among
//! identical triples. It does
//! not contain line numbers, so inserting lines above a finding keeps it baselined; editing
//! the directive itself makes it new, which is the point.
//!
//! The hash is FNV-1a 64, printed as 16 hex digits: stable across runs, platforms and Rust
//! versions (std's hasher is randomized per process).

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::ConfigTree;
use crate::diagnostic::Diagnostic;
use crate::source::FileId;
use crate::syntax::{Ast, DirRef};

/// The format version written. Version 1 (the path as it was typed in the fingerprint and the
/// entries) is still read and matched the way it was written.
pub const VERSION: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read baseline: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a nginx-gwlint baseline: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: cannot write baseline: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub rule: String,
    pub file: String,
    pub fingerprint: String,
    /// For people reading the file; not used for matching.
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub version: u32,
    pub entries: Vec<Entry>,
}

/// FNV-1a, 64 bits.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// How a finding's file is named in fingerprints and baseline entries: relative to the tree's
/// prefix (the main file's directory) when it is under it, else its absolute path; never
/// depends on how the checked path was spelled.
pub fn finding_path(tree: &ConfigTree, file: FileId) -> String {
    let path = &tree.sources.get(file).path;
    let rel = path.strip_prefix(&tree.prefix).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let joined = parts.join("/");
    if rel.is_absolute() {
        format!("/{}", joined.trim_start_matches('/'))
    } else {
        joined
    }
}

/// One fingerprint per diagnostic, in the same order. Each finding costs a descent to its
/// directive (depth times the log of a block's width), not a walk of its file.
pub fn fingerprints(tree: &ConfigTree, diagnostics: &[Diagnostic]) -> Vec<String> {
    fingerprints_with(tree, diagnostics, |file| finding_path(tree, file))
}

/// [`fingerprints`] with the file named by `name` (version 1 baselines used the display path).
/// The anchor texts and the hashes are computed on every core; only the occurrence indexes
/// (a count per identical triple, in order) are counted one finding after the other.
fn fingerprints_with(
    tree: &ConfigTree,
    diagnostics: &[Diagnostic],
    name: impl Fn(FileId) -> String,
) -> Vec<String> {
    use rayon::prelude::*;
    let texts = anchor_texts(tree, diagnostics);
    let mut names: HashMap<FileId, String> = HashMap::new();
    let mut seen: HashMap<(&str, FileId, &str), usize> = HashMap::new();
    let occurrences: Vec<usize> = diagnostics
        .iter()
        .zip(&texts)
        .map(|(d, text)| {
            names.entry(d.file).or_insert_with(|| name(d.file));
            let occurrence = seen.entry((d.rule, d.file, text.as_str())).or_insert(0);
            *occurrence += 1;
            *occurrence - 1
        })
        .collect();
    diagnostics
        .par_iter()
        .zip(&texts)
        .zip(&occurrences)
        .map(|((d, text), occurrence)| {
            let display = names.get(&d.file).map_or("", String::as_str);
            let mut key = Vec::with_capacity(d.rule.len() + display.len() + text.len() + 24);
            for part in [d.rule.as_bytes(), display.as_bytes(), text.as_bytes()] {
                key.extend_from_slice(part);
                key.push(0);
            }
            key.extend_from_slice(occurrence.to_string().as_bytes());
            format!("{:016x}", fnv1a64(&key))
        })
        .collect()
}

/// The normalized text each finding is anchored to: the head of the innermost directive whose
/// span contains the finding's start, else (a php.ini line, a file that does not parse) the
/// text of the finding's first line. Computed on every core, in the findings' order.
fn anchor_texts(tree: &ConfigTree, diagnostics: &[Diagnostic]) -> Vec<String> {
    use rayon::prelude::*;
    diagnostics
        .par_iter()
        .map(|d| {
            let source = tree.sources.get(d.file);
            match tree
                .ast(d.file)
                .and_then(|ast| innermost(ast, d.span.start()))
            {
                Some(head) => head_text(&source.text, head),
                None => {
                    let at = d.span.start().min(source.text.len());
                    let line = source.lines.line(at);
                    collapse_whitespace(&String::from_utf8_lossy(
                        source.lines.line_text(&source.text, line),
                    ))
                }
            }
        })
        .collect()
}

/// Tokens as written (quotes kept), one space apart, comments left out: re-indenting,
/// re-wrapping or commenting a directive keeps its fingerprint.
fn head_text(src: &[u8], d: DirRef<'_>) -> String {
    let mut text = String::from_utf8_lossy(d.name_word().raw(src)).into_owned();
    for arg in d.args() {
        text.push(' ');
        text.push_str(&String::from_utf8_lossy(arg.raw(src)));
    }
    text.push_str(if d.has_block() { " {" } else { ";" });
    text
}

/// The innermost directive whose span (at least one byte long) contains `offset`: a binary
/// search down the levels, since siblings are in source order and spans nest. Costs the depth
/// times the log of the widest block, not a walk of the file per finding.
fn innermost(ast: &Ast, offset: usize) -> Option<DirRef<'_>> {
    let end = |d: DirRef<'_>| d.span().end().max(d.span().start() + 1);
    let mut level = ast.item_list();
    let mut found = None;
    loop {
        // The last item of this level that starts at or before `offset`. A comment there, or a
        // directive that ends before `offset`: no sibling holds it (they do not overlap), so
        // the enclosing directive is the innermost.
        let Some(d) = level
            .starting_up_to(offset)
            .checked_sub(1)
            .and_then(|i| level.get(i))
            .and_then(|it| it.as_directive())
            .filter(|d| end(*d) > offset)
        else {
            return found;
        };
        found = Some(d);
        match d.block() {
            Some(block) => level = block.item_list(),
            None => return found,
        }
    }
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Default for Baseline {
    fn default() -> Self {
        Self::new()
    }
}

impl Baseline {
    /// An empty baseline of the current version.
    pub fn new() -> Self {
        Baseline {
            version: VERSION,
            entries: Vec::new(),
        }
    }

    /// A baseline of `diagnostics` (with their `fingerprints`), in diagnostic order.
    pub fn of(tree: &ConfigTree, diagnostics: &[Diagnostic], fingerprints: &[String]) -> Self {
        let mut b = Baseline::new();
        b.extend(tree, diagnostics, fingerprints);
        b
    }

    /// Adds findings (of this or another tree: several paths in one run).
    pub fn extend(&mut self, tree: &ConfigTree, diagnostics: &[Diagnostic], fps: &[String]) {
        for (d, fp) in diagnostics.iter().zip(fps) {
            self.entries.push(Entry {
                rule: d.rule.to_owned(),
                file: finding_path(tree, d.file),
                fingerprint: fp.clone(),
                message: d.message.clone(),
            });
        }
    }

    pub fn read(path: &Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let invalid = |message: String| BaselineError::Invalid {
            path: path.display().to_string(),
            message,
        };
        let b: Baseline = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if b.version != VERSION && b.version != 1 {
            return Err(invalid(format!(
                "version {} (this nginx-gwlint reads version {VERSION})",
                b.version
            )));
        }
        Ok(b)
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes atomically: an exclusive temp file with a random name in the same directory
    /// ([`crate::temp::create_beside`]: a planted file or symlink is never followed), then a
    /// rename over `path` (which replaces a symlink at `path` itself, never its target).
    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        use std::io::Write;
        let err = |source| BaselineError::Write {
            path: path.display().to_string(),
            source,
        };
        let (tmp, mut file) = crate::temp::create_beside(path).map_err(err)?;
        let written = file
            .write_all(self.to_json().as_bytes())
            .and_then(|()| file.sync_all());
        drop(file);
        written
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                err(e)
            })
    }

    /// A matcher that hides each entry's finding at most once.
    pub fn matcher(&self) -> Matcher {
        let mut remaining = BTreeMap::new();
        for e in &self.entries {
            *remaining
                .entry((e.rule.clone(), e.file.clone(), e.fingerprint.clone()))
                .or_insert(0usize) += 1;
        }
        Matcher {
            remaining,
            legacy: self.version == 1,
        }
    }
}

/// Consumes baseline entries as findings are matched against them.
#[derive(Debug)]
pub struct Matcher {
    remaining: BTreeMap<(String, String, String), usize>,
    /// A version 1 baseline: entries name the display path, fingerprints hashed it.
    legacy: bool,
}

impl Matcher {
    /// Removes the findings the baseline knows (and their fingerprints); returns how many.
    pub fn hide(
        &mut self,
        tree: &ConfigTree,
        diagnostics: &mut Vec<Diagnostic>,
        fingerprints: &mut Vec<String>,
    ) -> usize {
        let mut kept = Vec::with_capacity(diagnostics.len());
        let mut kept_fps = Vec::with_capacity(fingerprints.len());
        let mut hidden = 0;
        let legacy = self
            .legacy
            .then(|| fingerprints_with(tree, diagnostics, |f| tree.sources.get(f).display.clone()));
        for (i, (d, fp)) in diagnostics
            .drain(..)
            .zip(fingerprints.drain(..))
            .enumerate()
        {
            let key = match &legacy {
                Some(old) => (
                    d.rule.to_owned(),
                    tree.sources.get(d.file).display.clone(),
                    old.get(i).cloned().unwrap_or_default(),
                ),
                None => (d.rule.to_owned(), finding_path(tree, d.file), fp.clone()),
            };
            match self.remaining.get_mut(&key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    hidden += 1;
                }
                _ => {
                    kept.push(d);
                    kept_fps.push(fp);
                }
            }
        }
        *diagnostics = kept;
        *fingerprints = kept_fps;
        hidden
    }

    /// Entries that matched no finding (fixed since the baseline was written).
    pub fn unmatched(&self) -> usize {
        self.remaining.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        // Reference values of FNV-1a 64 (draft-eastlake-fnv).
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// The descent finds, at every offset, the directive a scan of all of them finds: the
    /// smallest span (at least one byte) that contains the offset.
    #[test]
    fn innermost_matches_a_scan_at_every_offset() {
        let text = b"# head\nuser www;\nhttp {\n  # c\n  server {\n    listen 80; # t\n    location / { return 204; }\n    location /a { location /a/b { proxy_pass http://x; } }\n  }\n  map $a $b { default 1; }\n}\nevents {}\n";
        let Ok(ast) = crate::syntax::parse(text) else {
            panic!("the text parses")
        };
        let end = |d: DirRef<'_>| d.span().end().max(d.span().start() + 1);
        for offset in 0..=text.len() {
            let scan = ast
                .walk()
                .filter(|d| d.span().start() <= offset && offset < end(*d))
                .min_by_key(|d| end(*d) - d.span().start())
                .map(|d| d.span());
            assert_eq!(
                innermost(&ast, offset).map(|d| d.span()),
                scan,
                "at {offset}"
            );
        }
    }

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(
            collapse_whitespace("proxy_pass \t http://a\n   ;"),
            "proxy_pass http://a ;"
        );
    }
}
