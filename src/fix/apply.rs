//! The fix loop, after ruff's: take the fixes of one lint (at or above the requested
//! applicability), sorted by position; skip a fix whose edits overlap one already taken (it is
//! retried in the next pass, against the new text); apply; re-parse every changed file and drop
//! a fix that breaks parsing; re-load and re-lint from the patched texts; repeat until no fix
//! applies, a pass changes nothing, or the pass bound is reached.
//!
//! A file reached by two paths (two includes of it, or a symlink and its target) is one
//! physical file: its edits are checked for overlap together, an identical fix reported through
//! both paths is applied once, and the patched text is given to the loader under every path.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::{Applicability, Fix, FixError};
use crate::config::{parse_config, ConfigTree, Overlay};
use crate::diagnostic::Diagnostic;
use crate::lint::Workspace;
use crate::report::Summary;
use crate::source::FileId;
use crate::syntax::{LineIndex, Span};

/// Passes before the loop gives up (each pass applies every non-overlapping fix).
pub const DEFAULT_MAX_PASSES: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixOptions {
    /// Also apply fixes marked unsafe (`--unsafe-fixes`).
    pub unsafe_fixes: bool,
    pub max_passes: usize,
}

impl Default for FixOptions {
    fn default() -> Self {
        Self {
            unsafe_fixes: false,
            max_passes: DEFAULT_MAX_PASSES,
        }
    }
}

impl FixOptions {
    /// The lowest applicability applied.
    pub fn level(&self) -> Applicability {
        if self.unsafe_fixes {
            Applicability::Unsafe
        } else {
            Applicability::Safe
        }
    }

    /// True when this run applies `fix` (display-only fixes never are).
    pub fn applies(&self, fix: &Fix) -> bool {
        fix.applicability > Applicability::DisplayOnly && fix.applicability >= self.level()
    }
}

/// One lint of the configuration: the workspace as loaded (through the overlay) and what the
/// rules report on it.
#[derive(Debug)]
pub struct Checked {
    pub ws: Workspace,
    pub diagnostics: Vec<Diagnostic>,
}

/// A fix that was applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedFix {
    pub rule: &'static str,
    pub title: String,
    /// Display path of the file of its first edit.
    pub file: String,
    /// 1-based pass that applied it.
    pub pass: usize,
}

/// A fix that was offered but left out, and why.
#[derive(Debug)]
pub struct DroppedFix {
    pub rule: &'static str,
    pub title: String,
    pub reason: FixError,
}

impl fmt::Display for DroppedFix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fix \"{}\" for {} dropped: {}",
            self.title, self.rule, self.reason
        )
    }
}

/// One file whose text the fixes changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileChange {
    /// The path the file was loaded from; a symlink stays one (it is written through).
    pub path: PathBuf,
    /// Every path the tree reached this file by, `path` included.
    pub aliases: Vec<PathBuf>,
    /// How diagnostics show the file.
    pub display: String,
    /// The path in `--diff` headers: relative to the configuration prefix when inside it.
    pub diff_path: String,
    pub original: Vec<u8>,
    pub fixed: Vec<u8>,
}

/// What the fix loop did.
#[derive(Debug)]
pub struct FixOutcome {
    /// The last lint: the workspace loaded from the fixed texts and the findings that remain.
    pub checked: Checked,
    /// Changed files, sorted by `diff_path`.
    pub changes: Vec<FileChange>,
    pub applied: Vec<AppliedFix>,
    pub dropped: Vec<DroppedFix>,
    /// Passes that changed something.
    pub passes: usize,
    /// The loop stopped at `max_passes` with fixes still applicable.
    pub hit_pass_limit: bool,
    pub options: FixOptions,
}

impl FixOutcome {
    /// Fixes applied.
    pub fn fixed(&self) -> usize {
        self.applied.len()
    }

    /// Findings left after fixing.
    pub fn remaining(&self) -> &[Diagnostic] {
        &self.checked.diagnostics
    }

    /// Remaining findings whose fix only `--unsafe-fixes` would apply (0 when it was given).
    pub fn unsafe_fixable(&self) -> usize {
        if self.options.unsafe_fixes {
            return 0;
        }
        self.remaining()
            .iter()
            .filter(|d| {
                d.fix
                    .as_ref()
                    .is_some_and(|f| f.applicability == Applicability::Unsafe)
            })
            .count()
    }

    /// `N fixed, M remaining (K fixable with --unsafe-fixes)`, with "would be fixed" when
    /// nothing is written.
    pub fn summary_line(&self, written: bool) -> String {
        let verb = if written { "fixed" } else { "would be fixed" };
        let mut line = format!(
            "{} {verb}, {} remaining",
            self.fixed(),
            Summary::of(self.remaining()).total()
        );
        let k = self.unsafe_fixable();
        if k > 0 {
            line.push_str(&format!(" ({k} fixable with --unsafe-fixes)"));
        }
        line
    }
}

/// Applies fixes until nothing changes. `check` loads and lints the configuration with the
/// overlay's texts in place of the files on disk; it is called once with an empty overlay,
/// then once after each pass. Nothing is written here.
///
/// When the first lint finds a file that does not parse, nothing is fixed (rules that offer
/// fixes do not run then, and a fix must never be applied to a tree nginx rejects).
pub fn fix_until_stable<F>(mut check: F, options: &FixOptions) -> Result<FixOutcome, FixError>
where
    F: FnMut(&Overlay) -> Result<Checked, FixError>,
{
    let mut checked = check(&Overlay::default())?;
    let mut files: BTreeMap<PathBuf, FileChange> = BTreeMap::new();
    let mut dropped_sigs: HashSet<Signature> = HashSet::new();
    let mut applied = Vec::new();
    let mut dropped = Vec::new();
    let mut passes = 0;
    let mut hit_pass_limit = false;
    while !checked.ws.tree.has_parse_errors() {
        let pass = plan_pass(&checked, options, &mut dropped_sigs);
        dropped.extend(pass.dropped);
        if pass.files.is_empty() {
            break;
        }
        if passes == options.max_passes {
            hit_pass_limit = true;
            break;
        }
        passes += 1;
        for (rule, title, file) in pass.applied {
            applied.push(AppliedFix {
                rule,
                title,
                file,
                pass: passes,
            });
        }
        for patched in pass.files {
            let entry = files.entry(patched.key).or_insert_with(|| FileChange {
                path: patched.path,
                aliases: Vec::new(),
                display: patched.display,
                diff_path: patched.diff_path,
                original: patched.current,
                fixed: Vec::new(),
            });
            entry.fixed = patched.new;
            for alias in patched.aliases {
                if !entry.aliases.contains(&alias) {
                    entry.aliases.push(alias);
                }
            }
        }
        let mut overlay = Overlay::default();
        for change in files.values() {
            for alias in &change.aliases {
                overlay.insert(alias.clone(), change.fixed.clone());
            }
        }
        checked = check(&overlay)?;
    }
    let mut changes: Vec<FileChange> = files
        .into_values()
        .filter(|c| c.original != c.fixed)
        .collect();
    changes.sort_by(|a, b| a.diff_path.cmp(&b.diff_path));
    Ok(FixOutcome {
        checked,
        changes,
        applied,
        dropped,
        passes,
        hit_pass_limit,
        options: *options,
    })
}

/// Identifies a fix independently of where earlier fixes moved it: rule, title, and for each
/// edit the file, the bytes it replaces and its content. A fix dropped once is not retried.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Signature {
    rule: &'static str,
    title: String,
    edits: Vec<(PathBuf, Vec<u8>, String)>,
}

/// One physical file of the tree in this pass.
struct Physical<'t> {
    key: PathBuf,
    ids: Vec<FileId>,
    text: &'t [u8],
}

/// An edit resolved to a physical file.
#[derive(Clone, Copy)]
struct PEdit<'a> {
    phys: usize,
    span: Span,
    content: &'a str,
}

struct Candidate<'a> {
    rule: &'static str,
    title: &'a str,
    edits: Vec<PEdit<'a>>,
    sig: Signature,
}

/// A file's new text after one pass.
struct Patched {
    key: PathBuf,
    path: PathBuf,
    aliases: Vec<PathBuf>,
    display: String,
    diff_path: String,
    current: Vec<u8>,
    new: Vec<u8>,
}

struct Pass {
    files: Vec<Patched>,
    applied: Vec<(&'static str, String, String)>,
    dropped: Vec<DroppedFix>,
}

/// The identity of a file on disk: its canonical path (a symlink and its target are one file).
/// Dump paths are taken as they are.
fn physical_key(tree: &ConfigTree, path: &Path) -> PathBuf {
    if tree.from_dump {
        return path.to_path_buf();
    }
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// True when two edits from different fixes cannot both be applied: their ranges overlap, or
/// they start at the same byte (two insertions there have no defined order).
fn conflicts(a: Span, b: Span) -> bool {
    (a.start < b.end && b.start < a.end) || a.start == b.start
}

fn plan_pass(
    checked: &Checked,
    options: &FixOptions,
    dropped_sigs: &mut HashSet<Signature>,
) -> Pass {
    let tree = &checked.ws.tree;
    let mut phys: Vec<Physical<'_>> = Vec::new();
    let mut phys_of: HashMap<FileId, usize> = HashMap::new();
    let mut by_key: HashMap<PathBuf, usize> = HashMap::new();
    for &id in &tree.nginx_files {
        let file = tree.sources.get(id);
        let key = physical_key(tree, &file.path);
        let idx = *by_key.entry(key.clone()).or_insert_with(|| {
            phys.push(Physical {
                key,
                ids: Vec::new(),
                text: &file.text,
            });
            phys.len() - 1
        });
        phys[idx].ids.push(id);
        phys_of.insert(id, idx);
    }

    let mut dropped = Vec::new();
    let mut candidates = Vec::new();
    for d in &checked.diagnostics {
        let Some(fix) = &d.fix else { continue };
        if !options.applies(fix) || fix.edits.is_empty() {
            continue;
        }
        match resolve(tree, &phys, &phys_of, d.rule, fix) {
            Ok(c) => {
                if !dropped_sigs.contains(&c.sig) {
                    candidates.push(c);
                }
            }
            Err(failed) => {
                let (sig, reason) = *failed;
                if dropped_sigs.insert(sig) {
                    dropped.push(DroppedFix {
                        rule: d.rule,
                        title: fix.title.clone(),
                        reason,
                    });
                }
            }
        }
    }
    candidates.sort_by(|a, b| {
        let first = |c: &Candidate<'_>| {
            c.edits
                .iter()
                .map(|e| (e.phys, e.span.start, e.span.end))
                .min()
        };
        first(a)
            .cmp(&first(b))
            .then_with(|| a.rule.cmp(b.rule))
            .then_with(|| a.title.cmp(b.title))
    });

    // Take every fix that does not collide with one taken before it.
    let mut taken: Vec<&Candidate<'_>> = Vec::new();
    let mut taken_spans: HashMap<usize, Vec<Span>> = HashMap::new();
    let mut seen: HashSet<Vec<(usize, usize, usize, &str)>> = HashSet::new();
    for c in &candidates {
        let positional: Vec<_> = c
            .edits
            .iter()
            .map(|e| (e.phys, e.span.start, e.span.end, e.content))
            .collect();
        if seen.contains(&positional) {
            // The same fix again: another diagnostic, or the same file reached by two paths.
            continue;
        }
        let collides = c.edits.iter().any(|e| {
            taken_spans
                .get(&e.phys)
                .is_some_and(|spans| spans.iter().any(|s| conflicts(*s, e.span)))
        });
        if collides {
            continue;
        }
        for e in &c.edits {
            taken_spans.entry(e.phys).or_default().push(e.span);
        }
        seen.insert(positional);
        taken.push(c);
    }

    // Keep what still parses: all at once when that works, else one fix at a time.
    let mut kept = taken.clone();
    let all = render(&phys, &kept);
    if first_parse_failure(&all).is_some() {
        kept.clear();
        for c in taken {
            let mut trial = kept.clone();
            trial.push(c);
            let texts = render(&phys, &trial);
            let touched: BTreeSet<usize> = c.edits.iter().map(|e| e.phys).collect();
            let failure = texts
                .iter()
                .filter(|(idx, _)| touched.contains(idx))
                .find_map(|(idx, text)| parse_config(text).err().map(|e| (*idx, text, e)));
            match failure {
                None => kept.push(c),
                Some((idx, text, e)) => {
                    let (line, column) = LineIndex::new(text).line_col(text, e.offset);
                    let file = tree.sources.get(phys[idx].ids[0]).display.clone();
                    dropped_sigs.insert(c.sig.clone());
                    dropped.push(DroppedFix {
                        rule: c.rule,
                        title: c.title.to_owned(),
                        reason: FixError::ParseAfterFix {
                            file,
                            line,
                            column,
                            message: e.message,
                        },
                    });
                }
            }
        }
    }

    let texts = render(&phys, &kept);
    let mut files = Vec::new();
    for (idx, new) in texts {
        let p = &phys[idx];
        if new == p.text {
            continue;
        }
        let first = tree.sources.get(p.ids[0]);
        let diff_path = first
            .path
            .strip_prefix(&tree.prefix)
            .map_or_else(|_| first.display.clone(), |rel| rel.display().to_string());
        files.push(Patched {
            key: p.key.clone(),
            path: first.path.clone(),
            aliases: p
                .ids
                .iter()
                .map(|id| tree.sources.get(*id).path.clone())
                .collect(),
            display: first.display.clone(),
            diff_path,
            current: p.text.to_vec(),
            new,
        });
    }
    let applied = kept
        .iter()
        .filter(|c| {
            c.edits.iter().any(|e| {
                phys[e.phys].text.get(e.span.start..e.span.end) != Some(e.content.as_bytes())
            })
        })
        .map(|c| {
            let file = c.edits.first().map_or_else(String::new, |e| {
                tree.sources.get(phys[e.phys].ids[0]).display.clone()
            });
            (c.rule, c.title.to_owned(), file)
        })
        .collect();
    Pass {
        files,
        applied,
        dropped,
    }
}

/// Maps a fix's edits to physical files, checking that each fits its file and that the fix's
/// own edits do not overlap.
fn resolve<'a>(
    tree: &ConfigTree,
    phys: &[Physical<'_>],
    phys_of: &HashMap<FileId, usize>,
    rule: &'static str,
    fix: &'a Fix,
) -> Result<Candidate<'a>, Box<(Signature, FixError)>> {
    let mut sig = Signature {
        rule,
        title: fix.title.clone(),
        edits: Vec::with_capacity(fix.edits.len()),
    };
    let display = |id: FileId| {
        if id.index() < tree.sources.len() {
            tree.sources.get(id).display.clone()
        } else {
            format!("file #{}", id.0)
        }
    };
    let mut edits = Vec::with_capacity(fix.edits.len());
    let mut failure = None;
    for e in &fix.edits {
        let Some(&idx) = phys_of.get(&e.file) else {
            sig.edits.push((
                PathBuf::from(display(e.file)),
                Vec::new(),
                e.content.clone(),
            ));
            failure.get_or_insert(FixError::OutsideTree {
                file: display(e.file),
            });
            continue;
        };
        let text = phys[idx].text;
        let Some(replaced) = text.get(e.span.start..e.span.end) else {
            sig.edits
                .push((phys[idx].key.clone(), Vec::new(), e.content.clone()));
            failure.get_or_insert(FixError::InvalidEdit {
                file: display(e.file),
                start: e.span.start,
                end: e.span.end,
            });
            continue;
        };
        sig.edits
            .push((phys[idx].key.clone(), replaced.to_vec(), e.content.clone()));
        edits.push(PEdit {
            phys: idx,
            span: e.span,
            content: &e.content,
        });
    }
    if let Some(reason) = failure {
        return Err(Box::new((sig, reason)));
    }
    let mut sorted: Vec<&PEdit<'_>> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.phys, e.span.start, e.span.end));
    for pair in sorted.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.phys == b.phys && a.span.start < b.span.end && b.span.start < a.span.end {
            let file = tree.sources.get(phys[a.phys].ids[0]).display.clone();
            return Err(Box::new((sig, FixError::OverlappingEdits { file })));
        }
    }
    Ok(Candidate {
        rule,
        title: &fix.title,
        edits,
        sig,
    })
}

/// The new text of every physical file the fixes touch.
fn render(phys: &[Physical<'_>], fixes: &[&Candidate<'_>]) -> BTreeMap<usize, Vec<u8>> {
    let mut by_file: BTreeMap<usize, Vec<(Span, usize, &str)>> = BTreeMap::new();
    let mut order = 0;
    for c in fixes {
        for e in &c.edits {
            by_file
                .entry(e.phys)
                .or_default()
                .push((e.span, order, e.content));
            order += 1;
        }
    }
    by_file
        .into_iter()
        .map(|(idx, edits)| (idx, apply_edits(phys[idx].text, edits)))
        .collect()
}

/// Applies non-overlapping edits in one go. Insertions at one offset keep their given order.
fn apply_edits(text: &[u8], mut edits: Vec<(Span, usize, &str)>) -> Vec<u8> {
    edits.sort_by_key(|(span, order, _)| (span.start, span.end, *order));
    let grow: usize = edits.iter().map(|(_, _, c)| c.len()).sum();
    let mut out = Vec::with_capacity(text.len() + grow);
    let mut cursor = 0;
    for (span, _, content) in edits {
        let start = span.start.clamp(cursor, text.len());
        out.extend_from_slice(&text[cursor..start]);
        out.extend_from_slice(content.as_bytes());
        cursor = span.end.clamp(start, text.len());
    }
    out.extend_from_slice(&text[cursor..]);
    out
}

fn first_parse_failure(texts: &BTreeMap<usize, Vec<u8>>) -> Option<usize> {
    texts
        .iter()
        .find(|(_, text)| parse_config(text).is_err())
        .map(|(idx, _)| *idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_keep_other_bytes() {
        let text = b"0123456789";
        let out = apply_edits(
            text,
            vec![
                (Span::new(8, 9), 0, "X"),
                (Span::empty(2), 1, "a"),
                (Span::empty(2), 2, "b"),
                (Span::new(2, 4), 3, ""),
            ],
        );
        assert_eq!(out, b"01ab4567X9");
    }

    #[test]
    fn conflicts_are_overlaps_or_a_shared_start() {
        assert!(conflicts(Span::new(0, 5), Span::new(4, 6)));
        assert!(conflicts(Span::empty(3), Span::empty(3)));
        assert!(conflicts(Span::empty(3), Span::new(1, 5)));
        assert!(!conflicts(Span::new(0, 5), Span::new(5, 6)));
        assert!(!conflicts(Span::empty(5), Span::new(1, 5)));
    }
}
