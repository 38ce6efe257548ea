//! The fix loop, after ruff's: take the fixes of one lint (at or above the requested
//! applicability), sorted by position; skip a fix whose edits overlap one already taken (it is
//! retried in the next pass, against the new text); apply; re-parse every changed file and drop
//! a fix that breaks parsing; re-load and re-lint from the patched texts; repeat until no fix
//! applies, a pass changes nothing, or the pass bound is reached.
//!
//! A file reached by two paths (two includes of it, or a symlink and its target) is one
//! physical file: its edits are checked for overlap together, an identical fix reported through
//! both paths is applied once, and the patched text is given to the loader under every path.
//!
//! Two guards make sure a fix never makes the configuration worse:
//! - write scope ([`super::scope`]): a fix that edits a file outside the checked tree (through a
//!   symlink, a stock file read from this machine), a read-only or hard-linked file, is left out
//!   with the reason;
//! - the invariant: after a pass, the patched tree must not have a finding the original did not
//!   have (matched by baseline fingerprint, then by rule and file). When it does, the pass's fixes
//!   are split in halves until the ones to blame are found; those are left out ("it would
//!   introduce GW014 ...") and the others applied.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::scope::WriteScope;
use super::FixError;
use crate::baseline;
use crate::config::{parse_config, ConfigTree, Overlay};
use crate::diagnostic::Diagnostic;
use crate::diagnostic::Summary;
use crate::diagnostic::{Applicability, Fix};
use crate::source::FileId;
use crate::syntax::{LineIndex, Span};
use crate::workspace::Workspace;

/// Passes before the loop gives up (each pass applies every non-overlapping fix).
pub const DEFAULT_MAX_PASSES: usize = 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixOptions {
    /// Also apply fixes marked unsafe (`--unsafe-fixes`).
    pub unsafe_fixes: bool,
    pub max_passes: usize,
    /// The checked system root (`--sysroot`): links resolve inside it and writes stay in it.
    /// Without it, writes stay under the directory of the main file.
    pub sysroot: Option<PathBuf>,
    /// Only these rules' fixes are applied and their findings reported (`--select`/`--ignore`);
    /// `None`: all. The check should still run every rule, so that the invariant sees what a fix
    /// introduces in any rule.
    pub rules: Option<BTreeSet<&'static str>>,
    /// The file whose text came from standard input (`--stdin-filename`, absolute): its fixes
    /// are planned on that text whatever the disk holds; it is for `--diff` only and must never
    /// be written (the command line refuses `--fix` with it).
    pub from_stdin: Option<PathBuf>,
}

impl Default for FixOptions {
    fn default() -> Self {
        Self {
            unsafe_fixes: false,
            max_passes: DEFAULT_MAX_PASSES,
            sysroot: None,
            rules: None,
            from_stdin: None,
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

    /// True when findings of `rule` are reported and fixed in this run.
    pub fn selects(&self, rule: &str) -> bool {
        self.rules.as_ref().is_none_or(|r| r.contains(rule))
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
    /// 1-based line of its first edit, in the text it was applied to.
    pub line: usize,
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
    /// The path in `--diff` headers: the real file (a link's target), relative to the root of
    /// the write scope (the sysroot, else the directory of the main file).
    pub diff_path: String,
    /// The real file written (links resolved inside the scope); `path` for a dump.
    pub target: PathBuf,
    pub original: Vec<u8>,
    pub fixed: Vec<u8>,
}

/// What the fix loop did.
#[derive(Debug)]
pub struct FixOutcome {
    /// The last lint: the workspace loaded from the fixed texts and the findings that remain.
    pub checked: Checked,
    /// The first lint, when a pass replaced it (see [`FixOutcome::on_disk`]).
    first: Option<Checked>,
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
    /// The lint of the files as they are on disk.
    pub fn on_disk(&self) -> &Checked {
        self.first.as_ref().unwrap_or(&self.checked)
    }

    /// The findings of the first lint (on the files as they are on disk) of the rules whose
    /// fixes were asked for. Read out of that lint, not copied.
    pub fn original(&self) -> Vec<&Diagnostic> {
        self.on_disk()
            .diagnostics
            .iter()
            .filter(|d| self.options.selects(d.rule))
            .collect()
    }

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
/// then after each pass (and for each trial when a pass must be split). Nothing is written here.
///
/// When the first lint finds a file that does not parse, nothing is fixed (rules that offer
/// fixes do not run then, and a fix must never be applied to a tree nginx rejects).
pub fn fix_until_stable<F>(mut check: F, options: &FixOptions) -> Result<FixOutcome, FixError>
where
    F: FnMut(&Overlay) -> Result<Checked, FixError>,
{
    let mut checked = check(&Overlay::default())?;
    // Zero passes is the plain check: nothing to plan, nothing to guard.
    let guard = if options.max_passes > 0 {
        Guard::new(&checked)
    } else {
        Guard::default()
    };
    let mut files: BTreeMap<PathBuf, FileChange> = BTreeMap::new();
    let mut dropped_sigs: HashSet<Signature> = HashSet::new();
    let mut scope_cache = ScopeCache::new();
    let mut applied = Vec::new();
    let mut dropped = Vec::new();
    let mut passes = 0;
    let mut hit_pass_limit = false;
    let mut on_disk = None;
    while options.max_passes > 0 && !checked.ws.tree.has_parse_errors() {
        let pass = plan_pass(&checked, options, &mut dropped_sigs, &mut scope_cache);
        dropped.extend(pass.dropped);
        let all: Vec<&Candidate> = pass.taken.iter().collect();
        let changes_nothing = render(&pass.phys, &all)
            .iter()
            .all(|(idx, text)| *text == pass.phys[*idx].text);
        if changes_nothing {
            break;
        }
        if passes == options.max_passes {
            hit_pass_limit = true;
            break;
        }
        let mut trials = Trials {
            phys: &pass.phys,
            files: &files,
            check: &mut check,
            guard: &guard,
        };
        let first = trials.run(&all)?;
        let (kept, next) = if first.introduced.is_empty() {
            (all, first.checked)
        } else {
            drop(first);
            let mut blamed = Vec::new();
            let kept = trials.split(&[], &all, &mut blamed)?;
            for (c, reason) in blamed {
                dropped_sigs.insert(c.sig.clone());
                dropped.push(DroppedFix {
                    rule: c.rule,
                    title: c.title.clone(),
                    reason: FixError::WouldIntroduce { finding: reason },
                });
            }
            if kept.is_empty() {
                // Everything was to blame: nothing changes in this pass; the next plan leaves
                // the blamed fixes out.
                continue;
            }
            let next = trials.run(&kept)?.checked;
            (kept, next)
        };
        passes += 1;
        let texts = render(&pass.phys, &kept);
        for c in &kept {
            let changes_text = c
                .edits
                .iter()
                .any(|e| pass.phys[e.phys].text.get(e.span.range()) != Some(e.content.as_bytes()));
            if changes_text {
                applied.push(AppliedFix {
                    rule: c.rule,
                    title: c.title.clone(),
                    file: c.file.clone(),
                    line: c.line,
                    pass: passes,
                });
            }
        }
        for (idx, new) in texts {
            let p = &pass.phys[idx];
            if new == p.text {
                continue;
            }
            let entry = files.entry(p.key.clone()).or_insert_with(|| FileChange {
                path: p.path.clone(),
                aliases: Vec::new(),
                display: p.display.clone(),
                diff_path: p.diff_path.clone(),
                target: p.key.clone(),
                original: p.text.clone(),
                fixed: Vec::new(),
            });
            entry.fixed = new;
            for alias in &p.aliases {
                if !entry.aliases.contains(alias) {
                    entry.aliases.push(alias.clone());
                }
            }
        }
        let previous = std::mem::replace(&mut checked, next);
        on_disk.get_or_insert(previous);
    }
    checked.diagnostics.retain(|d| options.selects(d.rule));
    let mut changes: Vec<FileChange> = files
        .into_values()
        .filter(|c| c.original != c.fixed)
        .collect();
    changes.sort_by(|a, b| a.diff_path.cmp(&b.diff_path));
    Ok(FixOutcome {
        checked,
        first: on_disk,
        changes,
        applied,
        dropped,
        passes,
        hit_pass_limit,
        options: options.clone(),
    })
}

/// The original lint's findings, to tell which findings a fix introduced.
#[derive(Default)]
struct Guard {
    fingerprints: HashMap<String, usize>,
    by_rule_file: HashMap<(&'static str, String), usize>,
}

impl Guard {
    fn new(checked: &Checked) -> Self {
        let tree = &checked.ws.tree;
        let mut fingerprints = HashMap::new();
        for fp in baseline::fingerprints(tree, &checked.diagnostics) {
            *fingerprints.entry(fp).or_insert(0) += 1;
        }
        let mut by_rule_file = HashMap::new();
        for d in &checked.diagnostics {
            let file = tree.sources.get(d.file).display.clone();
            *by_rule_file.entry((d.rule, file)).or_insert(0) += 1;
        }
        Self {
            fingerprints,
            by_rule_file,
        }
    }

    /// The findings of `checked` the original did not have, described for a message. A finding
    /// matches an original one with the same fingerprint (same rule, file and directive), else
    /// one of the same rule in the same file that is left over (its directive was edited).
    fn introduced(&self, checked: &Checked) -> Vec<String> {
        let tree = &checked.ws.tree;
        let fps = baseline::fingerprints(tree, &checked.diagnostics);
        let mut fingerprints = self.fingerprints.clone();
        let mut by_rule_file = self.by_rule_file.clone();
        let mut unmatched = Vec::new();
        for (d, fp) in checked.diagnostics.iter().zip(&fps) {
            let file = &tree.sources.get(d.file).display;
            match fingerprints.get_mut(fp) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    if let Some(m) = by_rule_file.get_mut(&(d.rule, file.clone())) {
                        *m = m.saturating_sub(1);
                    }
                }
                _ => unmatched.push(d),
            }
        }
        let mut out = Vec::new();
        for d in unmatched {
            let source = tree.sources.get(d.file);
            match by_rule_file.get_mut(&(d.rule, source.display.clone())) {
                Some(n) if *n > 0 => *n -= 1,
                _ => {
                    let (line, column) = source.line_col(d.span.start());
                    out.push(format!(
                        "{} {} at {}:{line}:{column}: {}",
                        d.rule, d.name, source.display, d.message
                    ));
                }
            }
        }
        out
    }
}

/// A lint of the tree with a set of this pass's fixes applied.
struct Trial {
    checked: Checked,
    introduced: Vec<String>,
}

/// Runs trials of fix sets for one pass.
struct Trials<'p, 'c, F> {
    phys: &'p [Physical],
    /// The texts earlier passes produced.
    files: &'p BTreeMap<PathBuf, FileChange>,
    check: &'c mut F,
    guard: &'p Guard,
}

impl<F> Trials<'_, '_, F>
where
    F: FnMut(&Overlay) -> Result<Checked, FixError>,
{
    fn run(&mut self, fixes: &[&Candidate]) -> Result<Trial, FixError> {
        let mut overlay = Overlay::default();
        for change in self.files.values() {
            for alias in &change.aliases {
                overlay.insert(alias.clone(), change.fixed.clone());
            }
        }
        for (idx, text) in render(self.phys, fixes) {
            for alias in &self.phys[idx].aliases {
                overlay.insert(alias.clone(), text.clone());
            }
        }
        let checked = (self.check)(&overlay)?;
        let introduced = if checked.ws.tree.has_parse_errors() {
            vec!["a file that does not parse".to_owned()]
        } else {
            self.guard.introduced(&checked)
        };
        Ok(Trial {
            checked,
            introduced,
        })
    }

    /// The fixes of `fixes` that can be applied on top of `base` without introducing a finding,
    /// found by halving; each fix to blame is pushed to `blamed` with the finding it introduces.
    fn split<'a>(
        &mut self,
        base: &[&'a Candidate],
        fixes: &[&'a Candidate],
        blamed: &mut Vec<(&'a Candidate, String)>,
    ) -> Result<Vec<&'a Candidate>, FixError> {
        if fixes.is_empty() {
            return Ok(Vec::new());
        }
        let mut all = base.to_vec();
        all.extend_from_slice(fixes);
        let trial = self.run(&all)?;
        if trial.introduced.is_empty() {
            return Ok(fixes.to_vec());
        }
        if let [only] = fixes {
            let reason = trial.introduced.into_iter().next().unwrap_or_default();
            blamed.push((only, reason));
            return Ok(Vec::new());
        }
        drop(trial);
        let (left, right) = fixes.split_at(fixes.len() / 2);
        let mut kept = self.split(base, left, blamed)?;
        let mut base2 = base.to_vec();
        base2.extend_from_slice(&kept);
        kept.extend(self.split(&base2, right, blamed)?);
        Ok(kept)
    }
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
struct Physical {
    /// The real file (scope-resolved, else canonical).
    key: PathBuf,
    ids: Vec<FileId>,
    /// The path it was first loaded from, and every path it was reached by.
    path: PathBuf,
    aliases: Vec<PathBuf>,
    display: String,
    diff_path: String,
    text: Vec<u8>,
    /// Why fixes may not edit it (outside the tree, read-only, ...).
    not_writable: Option<String>,
}

/// An edit resolved to a physical file.
#[derive(Clone)]
struct PEdit {
    phys: usize,
    span: Span,
    content: String,
}

struct Candidate {
    rule: &'static str,
    title: String,
    edits: Vec<PEdit>,
    sig: Signature,
    /// Display path and 1-based line of its first edit.
    file: String,
    line: usize,
}

struct Pass {
    phys: Vec<Physical>,
    taken: Vec<Candidate>,
    dropped: Vec<DroppedFix>,
}

/// True when two edits from different fixes cannot both be applied: their ranges overlap, or
/// they start at the same byte (two insertions there have no defined order).
fn conflicts(a: Span, b: Span) -> bool {
    (a.start() < b.end() && b.start() < a.end()) || a.start() == b.start()
}

/// True when `span` [`conflicts`] with one of `taken` (disjoint spans, start -> end). Only two
/// can: one starting at the same byte, or the last one starting before `span` ends (any span
/// starting inside `span` makes that one overlap too).
fn collides_with_taken(taken: &BTreeMap<usize, usize>, span: Span) -> bool {
    if taken.contains_key(&span.start()) {
        return true;
    }
    taken
        .range(..span.end().max(span.start() + 1))
        .next_back()
        .is_some_and(|(&start, &end)| conflicts(Span::new(start, end), span))
}

/// Where each loaded path may be written: (real file, why not writable, `--diff` path). Worked
/// out the first time a path is seen, against the text read from disk then (later passes see
/// the patched texts).
pub(crate) type ScopeCache = HashMap<PathBuf, (PathBuf, Option<String>, String)>;

/// The physical files of a tree, each with where fixes may write it.
fn physical_files(
    tree: &ConfigTree,
    options: &FixOptions,
    cache: &mut ScopeCache,
) -> (Vec<Physical>, HashMap<FileId, usize>) {
    let scope = if tree.from_dump {
        None
    } else {
        Some(WriteScope::new(&tree.prefix, options.sysroot.as_deref()))
    };
    let mut phys: Vec<Physical> = Vec::new();
    let mut phys_of: HashMap<FileId, usize> = HashMap::new();
    let mut by_key: HashMap<PathBuf, usize> = HashMap::new();
    for &id in &tree.nginx_files {
        let file = tree.sources.get(id);
        let (key, not_writable, diff_path) = if let Some(known) = cache.get(&file.path) {
            known.clone()
        } else {
            let entry = match &scope {
                // Standard input's text: nothing is written; shown as named.
                _ if options.from_stdin.as_ref() == Some(&file.path) => {
                    (file.path.clone(), None, file.display.clone())
                }
                // A dump: nothing is written; paths are taken as they are.
                None => (
                    file.path.clone(),
                    None,
                    dump_diff_path(tree, &file.path, &file.display),
                ),
                Some(Err(e)) => (
                    file.path.clone(),
                    Some(format!("the checked tree cannot be resolved: {e}")),
                    file.display.clone(),
                ),
                Some(Ok(scope)) => match scope.writable(&file.path, &file.text) {
                    Ok(target) => {
                        let rel = target
                            .strip_prefix(scope.root())
                            .map_or_else(|_| file.display.clone(), |r| r.display().to_string());
                        (target, None, rel)
                    }
                    Err(e) => (
                        std::fs::canonicalize(&file.path).unwrap_or_else(|_| file.path.clone()),
                        Some(e.to_string()),
                        file.display.clone(),
                    ),
                },
            };
            cache.insert(file.path.clone(), entry.clone());
            entry
        };
        let idx = *by_key.entry(key.clone()).or_insert_with(|| {
            phys.push(Physical {
                key,
                ids: Vec::new(),
                path: file.path.clone(),
                aliases: Vec::new(),
                display: file.display.clone(),
                diff_path,
                text: file.text.to_vec(),
                not_writable,
            });
            phys.len() - 1
        });
        phys[idx].ids.push(id);
        if !phys[idx].aliases.contains(&file.path) {
            phys[idx].aliases.push(file.path.clone());
        }
        phys_of.insert(id, idx);
    }
    (phys, phys_of)
}

/// A dump's files in `--diff` headers: relative to the main file's directory when inside it.
fn dump_diff_path(tree: &ConfigTree, path: &Path, display: &str) -> String {
    path.strip_prefix(&tree.prefix)
        .map_or_else(|_| display.to_owned(), |rel| rel.display().to_string())
}

/// One pass's plan: the fixes of `checked` that apply, resolved to physical files, without
/// collisions, and still parsing.
fn plan_pass(
    checked: &Checked,
    options: &FixOptions,
    dropped_sigs: &mut HashSet<Signature>,
    cache: &mut ScopeCache,
) -> Pass {
    let tree = &checked.ws.tree;
    let (phys, phys_of) = physical_files(tree, options, cache);
    let mut dropped = Vec::new();
    let candidates = candidates(
        checked,
        options,
        &phys,
        &phys_of,
        dropped_sigs,
        &mut dropped,
    );
    let taken = without_collisions(candidates);
    let taken = still_parsing(&phys, taken, dropped_sigs, &mut dropped);
    Pass {
        phys,
        taken,
        dropped,
    }
}

/// The fixes `options` applies, resolved to physical files, in file and span order (so a
/// pass takes fixes in a stable order); the ones that cannot be resolved are dropped once.
fn candidates(
    checked: &Checked,
    options: &FixOptions,
    phys: &[Physical],
    phys_of: &HashMap<FileId, usize>,
    dropped_sigs: &mut HashSet<Signature>,
    dropped: &mut Vec<DroppedFix>,
) -> Vec<Candidate> {
    let tree = &checked.ws.tree;
    let mut candidates = Vec::new();
    for d in &checked.diagnostics {
        let Some(fix) = &d.fix else { continue };
        if !options.selects(d.rule) || !options.applies(fix) || fix.edits.is_empty() {
            continue;
        }
        match resolve(tree, phys, phys_of, d.rule, fix) {
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
        let first = |c: &Candidate| {
            c.edits
                .iter()
                .map(|e| (e.phys, e.span.start(), e.span.end()))
                .min()
        };
        first(a)
            .cmp(&first(b))
            .then_with(|| a.rule.cmp(b.rule))
            .then_with(|| a.title.cmp(&b.title))
    });
    candidates
}

/// Every fix that does not collide with one taken before it. The spans taken in each file are
/// disjoint, kept by start: a new span is checked against its neighbours only, so a pass with
/// many fixes stays O(n log n). The same fix twice (another diagnostic, or one file reached by
/// two paths) is taken once.
fn without_collisions(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut taken: Vec<Candidate> = Vec::new();
    let mut taken_spans: HashMap<usize, BTreeMap<usize, usize>> = HashMap::new();
    let mut seen: HashSet<Vec<(usize, usize, usize, String)>> = HashSet::new();
    for c in candidates {
        let positional: Vec<_> = c
            .edits
            .iter()
            .map(|e| (e.phys, e.span.start(), e.span.end(), e.content.clone()))
            .collect();
        if seen.contains(&positional) {
            continue;
        }
        let collides = c.edits.iter().any(|e| {
            taken_spans
                .get(&e.phys)
                .is_some_and(|spans| collides_with_taken(spans, e.span))
        });
        if collides {
            continue;
        }
        for e in &c.edits {
            taken_spans
                .entry(e.phys)
                .or_default()
                .insert(e.span.start(), e.span.end());
        }
        seen.insert(positional);
        taken.push(c);
    }
    taken
}

/// What still parses: all at once when that works, else one fix at a time, dropping each one
/// that leaves a touched file nginx could not parse.
fn still_parsing(
    phys: &[Physical],
    taken: Vec<Candidate>,
    dropped_sigs: &mut HashSet<Signature>,
    dropped: &mut Vec<DroppedFix>,
) -> Vec<Candidate> {
    let all: Vec<&Candidate> = taken.iter().collect();
    if first_parse_failure(&render(phys, &all)).is_none() {
        return taken;
    }
    let mut kept: Vec<Candidate> = Vec::new();
    for c in taken {
        let failure = {
            let mut trial: Vec<&Candidate> = kept.iter().collect();
            trial.push(&c);
            let texts = render(phys, &trial);
            let touched: BTreeSet<usize> = c.edits.iter().map(|e| e.phys).collect();
            texts
                .iter()
                .filter(|(idx, _)| touched.contains(idx))
                .find_map(|(idx, text)| {
                    parse_config(text).err().map(|e| {
                        let (line, column) = LineIndex::new(text).line_col(text, e.offset);
                        (*idx, line, column, e.message)
                    })
                })
        };
        match failure {
            None => kept.push(c),
            Some((idx, line, column, message)) => {
                let file = phys[idx].display.clone();
                dropped_sigs.insert(c.sig.clone());
                dropped.push(DroppedFix {
                    rule: c.rule,
                    title: c.title,
                    reason: FixError::ParseAfterFix {
                        file,
                        line,
                        column,
                        message,
                    },
                });
            }
        }
    }
    kept
}

/// Maps a fix's edits to physical files, checking that each fits its file and that the fix's
/// own edits do not overlap.
fn resolve(
    tree: &ConfigTree,
    phys: &[Physical],
    phys_of: &HashMap<FileId, usize>,
    rule: &'static str,
    fix: &Fix,
) -> Result<Candidate, Box<(Signature, FixError)>> {
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
        let text = &phys[idx].text;
        let Some(replaced) = text.get(e.span.range()) else {
            sig.edits
                .push((phys[idx].key.clone(), Vec::new(), e.content.clone()));
            failure.get_or_insert(FixError::InvalidEdit {
                file: display(e.file),
                start: e.span.start(),
                end: e.span.end(),
            });
            continue;
        };
        sig.edits
            .push((phys[idx].key.clone(), replaced.to_vec(), e.content.clone()));
        if let Some(reason) = &phys[idx].not_writable {
            failure.get_or_insert(FixError::NotInScope {
                file: display(e.file),
                reason: reason.clone(),
            });
        }
        edits.push(PEdit {
            phys: idx,
            span: e.span,
            content: e.content.clone(),
        });
    }
    if let Some(reason) = failure {
        return Err(Box::new((sig, reason)));
    }
    let mut sorted: Vec<&PEdit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.phys, e.span.start(), e.span.end()));
    for pair in sorted.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.phys == b.phys && a.span.start() < b.span.end() && b.span.start() < a.span.end() {
            let file = phys[a.phys].display.clone();
            return Err(Box::new((sig, FixError::OverlappingEdits { file })));
        }
    }
    let (file, line) = sorted.first().map_or_else(
        || (String::new(), 0),
        |e| {
            let p = &phys[e.phys];
            let line = tree.sources.get(p.ids[0]).line_col(e.span.start()).0;
            (p.display.clone(), line)
        },
    );
    Ok(Candidate {
        rule,
        title: fix.title.clone(),
        edits,
        sig,
        file,
        line,
    })
}

/// The new text of every physical file the fixes touch.
fn render(phys: &[Physical], fixes: &[&Candidate]) -> BTreeMap<usize, Vec<u8>> {
    let mut by_file: BTreeMap<usize, Vec<(Span, usize, &str)>> = BTreeMap::new();
    let mut order = 0;
    for c in fixes {
        for e in &c.edits {
            by_file
                .entry(e.phys)
                .or_default()
                .push((e.span, order, e.content.as_str()));
            order += 1;
        }
    }
    by_file
        .into_iter()
        .map(|(idx, edits)| (idx, apply_edits(&phys[idx].text, edits)))
        .collect()
}

/// Applies non-overlapping edits in one go. Insertions at one offset keep their given order.
fn apply_edits(text: &[u8], mut edits: Vec<(Span, usize, &str)>) -> Vec<u8> {
    edits.sort_by_key(|(span, order, _)| (span.start(), span.end(), *order));
    let grow: usize = edits.iter().map(|(_, _, c)| c.len()).sum();
    let mut out = Vec::with_capacity(text.len() + grow);
    let mut cursor = 0;
    for (span, _, content) in edits {
        let start = span.start().clamp(cursor, text.len());
        out.extend_from_slice(&text[cursor..start]);
        out.extend_from_slice(content.as_bytes());
        cursor = span.end().clamp(start, text.len());
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
    fn neighbour_check_agrees_with_the_full_scan() {
        // Every span within 0..8 against 500 pseudo-random sets of disjoint taken spans.
        let spans: Vec<Span> = (0..8)
            .flat_map(|s| (s..8).map(move |e| Span::new(s, e)))
            .collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..500 {
            let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
            let mut list: Vec<Span> = Vec::new();
            for _ in 0..4 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let sp = spans[(seed >> 33) as usize % spans.len()];
                if list.iter().all(|t| !conflicts(*t, sp)) {
                    taken.insert(sp.start(), sp.end());
                    list.push(sp);
                }
            }
            for sp in &spans {
                assert_eq!(
                    collides_with_taken(&taken, *sp),
                    list.iter().any(|t| conflicts(*t, *sp)),
                    "{sp:?} against {list:?}"
                );
            }
        }
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
