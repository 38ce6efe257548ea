//! Baselines: record today's findings, then report only new ones.
//!
//! `--write-baseline FILE` stores each finding as `{rule, file, fingerprint, message}`;
//! `--baseline FILE` hides exactly the findings whose fingerprint is in it, each entry hiding
//! at most one finding. The fingerprint hashes the rule, the file's display path, the
//! normalized text of the directive the finding points at (its head: name and arguments as
//! written, one space apart, then `;` or `{`; comments left out) and an occurrence index among
//! identical triples. It does
//! not contain line numbers, so inserting lines above a finding keeps it baselined; editing
//! the directive itself makes it new, which is the point.
//!
//! The hash is FNV-1a 64, printed as 16 hex digits: stable across runs, platforms and Rust
//! versions (std's hasher is randomized per process).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::ConfigTree;
use crate::diagnostic::Diagnostic;
use crate::source::FileId;
use crate::syntax::{Directive, Node, Span};

/// The format version written and accepted.
pub const VERSION: u32 = 1;

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

/// One fingerprint per diagnostic, in the same order.
pub fn fingerprints(tree: &ConfigTree, diagnostics: &[Diagnostic]) -> Vec<String> {
    let mut seen: HashMap<(&str, FileId, String), usize> = HashMap::new();
    diagnostics
        .iter()
        .map(|d| {
            let display = &tree.sources.get(d.file).display;
            let text = anchor_text(tree, d.file, d.span);
            let occurrence = seen.entry((d.rule, d.file, text.clone())).or_insert(0);
            let mut key = Vec::new();
            for part in [d.rule.as_bytes(), display.as_bytes(), text.as_bytes()] {
                key.extend_from_slice(part);
                key.push(0);
            }
            key.extend_from_slice(occurrence.to_string().as_bytes());
            *occurrence += 1;
            format!("{:016x}", fnv1a64(&key))
        })
        .collect()
}

/// The normalized text a finding is anchored to: the head of the innermost directive whose
/// span contains the finding's start, else (a php.ini line, a file that does not parse) the
/// text of the finding's first line.
fn anchor_text(tree: &ConfigTree, file: FileId, span: Span) -> String {
    let source = tree.sources.get(file);
    if let Some(d) = tree
        .ast(file)
        .and_then(|ast| innermost(&ast.items, span.start))
    {
        // Tokens as written (quotes kept), one space apart, comments left out: re-indenting,
        // re-wrapping or commenting a directive keeps its fingerprint.
        let mut text = String::from_utf8_lossy(d.name.raw(&source.text)).into_owned();
        for arg in &d.args {
            text.push(' ');
            text.push_str(&String::from_utf8_lossy(arg.raw(&source.text)));
        }
        text.push_str(if d.block.is_some() { " {" } else { ";" });
        return text;
    }
    let line = source.lines.line(span.start.min(source.text.len()));
    collapse_whitespace(&String::from_utf8_lossy(
        source.lines.line_text(&source.text, line),
    ))
}

fn innermost(items: &[Node], offset: usize) -> Option<&Directive> {
    let mut found = None;
    let mut items = items;
    loop {
        let Some(d) = items
            .iter()
            .filter_map(Node::as_directive)
            .find(|d| d.span.start <= offset && offset < d.span.end.max(d.span.start + 1))
        else {
            return found;
        };
        found = Some(d);
        match &d.block {
            Some(b) if b.open.end <= offset => items = &b.items,
            _ => return found,
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
                file: tree.sources.get(d.file).display.clone(),
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
        if b.version != VERSION {
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

    /// Writes atomically: a temporary file in the same directory, then a rename.
    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        let err = |source| BaselineError::Write {
            path: path.display().to_string(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map_or_else(|| "baseline".into(), |n| n.to_string_lossy().into_owned());
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        std::fs::write(&tmp, self.to_json()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(|e| {
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
        Matcher { remaining }
    }
}

/// Consumes baseline entries as findings are matched against them.
#[derive(Debug)]
pub struct Matcher {
    remaining: BTreeMap<(String, String, String), usize>,
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
        for (d, fp) in diagnostics.drain(..).zip(fingerprints.drain(..)) {
            let key = (
                d.rule.to_owned(),
                tree.sources.get(d.file).display.clone(),
                fp,
            );
            match self.remaining.get_mut(&key) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    hidden += 1;
                }
                _ => {
                    kept.push(d);
                    kept_fps.push(key.2);
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

    #[test]
    fn whitespace_is_collapsed() {
        assert_eq!(
            collapse_whitespace("proxy_pass \t http://a\n   ;"),
            "proxy_pass http://a ;"
        );
    }
}
