//! Inline suppressions: comments in nginx files that silence named rules.
//!
//! ```nginx
//! # nginx-gwlint: ignore GW201 the app listens on both 127.0.0.1 and ::1
//! proxy_pass http://localhost:3000;
//! proxy_read_timeout 900s;  # nginx-gwlint: ignore GW103 nightly report export
//! # nginx-gwlint: ignore-file GW103
//! ```
//!
//! - `ignore IDS [reason]` on its own line applies to the next directive of the same block
//!   (other comments may sit between); written after a directive on the same line, it applies
//!   to that directive; written right after a block's `{`, to the block's directive. It
//!   silences the listed rules for diagnostics whose primary location starts in that
//!   directive's head (name, arguments, `;` or `{`), not in its block body.
//! - `ignore-file IDS [reason]` anywhere in a file silences the listed rules in that file.
//! - IDS are rule ids (`GW201`), separated by commas or spaces; everything after them is the
//!   reason. A suppression must name its rules: a bare `ignore` silences nothing and is
//!   reported, so one comment can never hide findings nobody has seen.
//!
//! A suppression that silenced nothing, names an unknown rule, or annotates no directive is
//! reported as GW005 (unused-suppression), so stale comments do not pile up.

use std::collections::BTreeSet;

use crate::codes::RuleId;
use crate::config::ConfigTree;
use crate::diagnostic::{Diagnostic, Fix};
use crate::rules;
use crate::settings::Settings;
use crate::source::FileId;
use crate::syntax::{CommentRef, DirRef, ItemList, ItemRef, LineIndex, Span};

/// The marker that starts a suppression comment (after `#` and optional spaces).
pub const MARKER: &str = "nginx-gwlint:";

/// What a suppression covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Diagnostics starting in this byte range (a directive's head).
    Directive(Span),
    /// The whole file.
    File,
    /// An `ignore` comment with no directive to annotate (end of a block or file).
    Nothing,
}

/// One rule id named by a suppression comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuppressedRule {
    /// As written (`gw201` stays `gw201`, for the message).
    pub written: String,
    /// The registered rule's id, `None` when no rule has this id.
    pub id: Option<&'static str>,
    /// Whether it silenced at least one diagnostic.
    pub used: bool,
}

/// One `# nginx-gwlint: ...` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    pub file: FileId,
    /// The comment.
    pub span: Span,
    pub scope: Scope,
    pub rules: Vec<SuppressedRule>,
    /// Set when the comment starts with the marker but cannot be read (`ignore` without ids,
    /// an unknown verb): reported, never applied.
    pub malformed: Option<String>,
}

/// Every suppression comment in the parsed nginx files of `tree`, in file and source order.
pub fn collect(tree: &ConfigTree) -> Vec<Suppression> {
    let mut out = Vec::new();
    for &file in &tree.nginx_files {
        let Some(ast) = tree.ast(file) else { continue };
        let lines = &tree.sources.get(file).lines;
        walk(file, lines, ast.item_list(), &mut out);
    }
    out
}

/// The suppressions of one file, in source order. An explicit stack instead of recursion: nesting
/// is bounded only by [`crate::syntax::MAX_DEPTH`].
fn walk(file: FileId, lines: &LineIndex, items: ItemList<'_>, out: &mut Vec<Suppression>) {
    /// One open block: its items, its directive, the next item to read, and the first
    /// directive at or after some index (cached so comment runs are not rescanned).
    struct Frame<'a> {
        items: ItemList<'a>,
        parent: Option<DirRef<'a>>,
        next: usize,
        next_directive: usize,
    }
    let mut stack = vec![Frame {
        items,
        parent: None,
        next: 0,
        next_directive: 0,
    }];
    while let Some(top) = stack.last_mut() {
        let i = top.next;
        let Some(node) = top.items.get(i) else {
            stack.pop();
            continue;
        };
        top.next += 1;
        match node {
            ItemRef::Comment(c) => {
                let Some(parsed) = parse_comment(c.text()) else {
                    continue;
                };
                let scope = match parsed.kind {
                    Kind::File => Scope::File,
                    Kind::Directive => {
                        if top.next_directive <= i {
                            top.next_directive =
                                top.items.next_directive(i + 1).unwrap_or(top.items.len());
                        }
                        let next = top
                            .items
                            .get(top.next_directive)
                            .and_then(ItemRef::as_directive);
                        annotated(lines, top.items, i, c, top.parent, next)
                            .map_or(Scope::Nothing, |d| Scope::Directive(head_region(d)))
                    }
                };
                out.push(parsed.into_suppression(file, c.span(), scope));
            }
            ItemRef::Directive(d) => {
                for c in d.inner_comments() {
                    let Some(parsed) = parse_comment(c.text()) else {
                        continue;
                    };
                    let scope = match parsed.kind {
                        Kind::File => Scope::File,
                        Kind::Directive => Scope::Directive(head_region(d)),
                    };
                    out.push(parsed.into_suppression(file, c.span(), scope));
                }
                if let Some(block) = d.block() {
                    stack.push(Frame {
                        items: block.item_list(),
                        parent: Some(d),
                        next: 0,
                        next_directive: 0,
                    });
                }
            }
        }
    }
}

/// The directive an `ignore` comment at `items[index]` annotates; `next` is the first directive
/// after it in the same block.
fn annotated<'a>(
    lines: &LineIndex,
    items: ItemList<'a>,
    index: usize,
    comment: CommentRef<'_>,
    parent: Option<DirRef<'a>>,
    next: Option<DirRef<'a>>,
) -> Option<DirRef<'a>> {
    let line_of = |offset: usize| lines.line(offset);
    let comment_line = line_of(comment.span().start());
    // After a directive on the same line: `proxy_read_timeout 900s;  # nginx-gwlint: ...`.
    if let Some(ItemRef::Directive(prev)) = index.checked_sub(1).and_then(|p| items.get(p)) {
        if line_of(prev.span().end().saturating_sub(1)) == comment_line {
            return Some(prev);
        }
    }
    // Right after a block's `{` on the same line: `location /reports/ {  # nginx-gwlint: ...`.
    if index == 0 {
        if let Some(parent) = parent {
            let same_line = parent
                .block()
                .as_ref()
                .is_some_and(|b| line_of(b.open().start()) == comment_line);
            if same_line {
                return Some(parent);
            }
        }
    }
    // On its own line: the next directive of this block, skipping other comments.
    next
}

/// The part of a directive a suppression covers (and a baseline fingerprint hashes): from its
/// name to its `;` or `{`.
pub(crate) fn head_region(d: DirRef<'_>) -> Span {
    let end = d
        .semicolon()
        .map(|s| s.end())
        .or_else(|| d.block().map(|b| b.open().end()))
        .unwrap_or(d.span().end());
    Span::new(d.name_word().span().start(), end.max(d.head_span().end()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Directive,
    File,
}

struct Parsed {
    kind: Kind,
    rules: Vec<SuppressedRule>,
    malformed: Option<String>,
}

impl Parsed {
    fn into_suppression(self, file: FileId, span: Span, scope: Scope) -> Suppression {
        Suppression {
            file,
            span,
            scope,
            rules: self.rules,
            malformed: self.malformed,
        }
    }
}

/// Reads a comment's text (after `#`). `None` when it is not a suppression at all.
fn parse_comment(text: &str) -> Option<Parsed> {
    let rest = text.trim_start().strip_prefix(MARKER)?;
    let mut words = rest
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .peekable();
    let verb = words.next().unwrap_or_default();
    let kind = match verb {
        "ignore" => Kind::Directive,
        "ignore-file" => Kind::File,
        other => {
            return Some(Parsed {
                kind: Kind::Directive,
                rules: Vec::new(),
                malformed: Some(format!(
                    "unknown suppression `{other}` (expected `ignore` or `ignore-file`)"
                )),
            })
        }
    };
    let mut rules = Vec::new();
    // Ids (`GW201`, any case) or rule names (`localhost-upstream`); the first other word starts
    // the reason.
    let is_name = |w: &str| RuleId::ALL.iter().any(|id| id.name() == w);
    while let Some(word) = words.next_if(|w| looks_like_rule_id(w) || is_name(w)) {
        rules.push(SuppressedRule {
            written: word.to_owned(),
            id: RuleId::from_code_or_name(word).map(RuleId::code),
            used: false,
        });
    }
    let malformed = rules.is_empty().then(|| {
        format!("`{verb}` names no rule id (write e.g. `# {MARKER} {verb} GW201 reason`)")
    });
    Some(Parsed {
        kind,
        rules,
        malformed,
    })
}

/// `GW` followed by digits, any case.
fn looks_like_rule_id(word: &str) -> bool {
    let (Some(prefix), Some(digits)) = (word.get(..2), word.get(2..)) else {
        return false;
    };
    prefix.eq_ignore_ascii_case("gw")
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

impl Suppression {
    fn covers(&self, d: &Diagnostic) -> bool {
        if self.file != d.file || self.malformed.is_some() {
            return false;
        }
        match self.scope {
            Scope::File => true,
            Scope::Directive(region) => {
                region.start() <= d.span.start() && d.span.start() < region.end()
            }
            Scope::Nothing => false,
        }
    }

    /// Marks the rule `rule_id` used when this suppression silences `d`.
    fn silences(&mut self, d: &Diagnostic) -> bool {
        if !self.covers(d) {
            return false;
        }
        let Some(rule) = self.rules.iter_mut().find(|r| r.id == Some(d.rule)) else {
            return false;
        };
        rule.used = true;
        true
    }
}

/// Removes the diagnostics silenced by `suppressions` (marking those suppressions used).
/// Suppressions are indexed per file (directive scopes sorted by start; heads never overlap),
/// so each diagnostic looks only at the few that can cover it.
pub fn apply(suppressions: &mut [Suppression], diagnostics: &mut Vec<Diagnostic>) {
    #[derive(Default)]
    struct FileIndex {
        whole_file: Vec<usize>,
        /// (region, suppression index), sorted by region start.
        directive: Vec<(Span, usize)>,
    }
    let mut index: std::collections::HashMap<FileId, FileIndex> = std::collections::HashMap::new();
    for (i, s) in suppressions.iter().enumerate() {
        if s.malformed.is_some() {
            continue;
        }
        let entry = index.entry(s.file).or_default();
        match s.scope {
            Scope::File => entry.whole_file.push(i),
            Scope::Directive(region) => entry.directive.push((region, i)),
            Scope::Nothing => {}
        }
    }
    for entry in index.values_mut() {
        entry
            .directive
            .sort_by_key(|(region, i)| (region.start(), *i));
    }
    let mut candidates = Vec::new();
    diagnostics.retain(|d| {
        let Some(entry) = index.get(&d.file) else {
            return true;
        };
        candidates.clear();
        candidates.extend_from_slice(&entry.whole_file);
        // Only the region starting last at or before the diagnostic can hold it (with every
        // suppression written for that same directive).
        let before = entry
            .directive
            .partition_point(|(region, _)| region.start() <= d.span.start());
        if let Some(&(region, _)) = before.checked_sub(1).map(|i| &entry.directive[i]) {
            candidates.extend(
                entry.directive[..before]
                    .iter()
                    .rev()
                    .take_while(|(r, _)| *r == region)
                    .map(|(_, i)| *i),
            );
        }
        // Every matching suppression is marked used, not only the first.
        let mut silenced = false;
        for &i in &candidates {
            silenced |= suppressions[i].silences(d);
        }
        !silenced
    });
}

/// GW005 diagnostics for suppressions that silenced nothing, name unknown rules, or cannot be
/// read. `ran` tells which rules actually ran: a suppression of a rule that was turned off in
/// settings, or that did not run because a file does not parse, is not called unused.
pub fn unused(
    suppressions: &[Suppression],
    tree: &ConfigTree,
    settings: &Settings,
    ran: &BTreeSet<&'static str>,
) -> Vec<Diagnostic> {
    let meta = &rules::gw005_unused_suppression::META;
    if !settings.enabled(meta.id) {
        return Vec::new();
    }
    let severity = settings.severity(meta.id).unwrap_or(meta.severity);
    let new = |s: &Suppression, message: String, help: &str| {
        Diagnostic::new(
            meta.id.code(),
            meta.id.name(),
            severity,
            s.file,
            s.span,
            message,
        )
        .with_help(help.to_owned())
    };
    let mut out = Vec::new();
    for s in suppressions {
        let first = out.len();
        judge(s, ran, &new, &mut out);
        // A comment that has no effect at all goes, whole: nothing it names silenced anything,
        // so no finding comes back. One that still silences something, or names a rule that did
        // not run (and may silence it once it runs), is left to the reader.
        if out.len() > first && is_inert(s, ran) {
            let edit = crate::diagnostic::edits::delete_directive(
                s.file,
                tree.sources.get(s.file),
                s.span,
            );
            out[first].fix = Some(Fix::safe("remove the suppression comment", vec![edit]));
        }
    }
    out
}

/// Nothing in the comment silences anything, now or once other rules run: it is malformed,
/// annotates no directive, or every rule it names is unknown or ran without being used.
fn is_inert(s: &Suppression, ran: &BTreeSet<&'static str>) -> bool {
    s.malformed.is_some()
        || s.scope == Scope::Nothing
        || s.rules
            .iter()
            .all(|r| r.id.is_none_or(|id| ran.contains(id) && !r.used))
}

/// The GW005 findings of one suppression comment.
fn judge(
    s: &Suppression,
    ran: &BTreeSet<&'static str>,
    new: &impl Fn(&Suppression, String, &str) -> Diagnostic,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(why) = &s.malformed {
        out.push(new(
            s,
            why.clone(),
            "a suppression must name the rules it silences",
        ));
        return;
    }
    let unknown: Vec<&str> = s
        .rules
        .iter()
        .filter(|r| r.id.is_none())
        .map(|r| r.written.as_str())
        .collect();
    if !unknown.is_empty() {
        out.push(new(
            s,
            format!("unknown rule id {} in suppression", list(&unknown)),
            "see `nginx-gwlint rules` for the ids",
        ));
    }
    if s.scope == Scope::Nothing {
        out.push(new(
            s,
            "this suppression annotates no directive".to_owned(),
            "put `# nginx-gwlint: ignore ...` on the line above the directive or at the end of its line",
        ));
        return;
    }
    let unused: Vec<&str> = s
        .rules
        .iter()
        .filter(|r| r.id.is_some_and(|id| ran.contains(id)) && !r.used)
        .map(|r| r.written.as_str())
        .collect();
    if !unused.is_empty() {
        let what = if s.scope == Scope::File {
            "in this file"
        } else {
            "on this directive"
        };
        out.push(new(
            s,
            format!(
                "unused suppression: {} reported nothing {what}",
                list(&unused)
            ),
            "remove the rule id from the comment (or the whole comment)",
        ));
    }
}

fn list(ids: &[&str]) -> String {
    ids.iter()
        .map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ids_and_reason() -> Result<(), String> {
        let named = parse_comment(
            " nginx-gwlint: ignore localhost-upstream, GW103 the app listens on both",
        )
        .ok_or("not a suppression")?;
        let ids: Vec<_> = named.rules.iter().map(|r| r.id).collect();
        assert_eq!(ids, [Some("GW201"), Some("GW103")]);
        let p = parse_comment(" nginx-gwlint: ignore GW201, gw103 GW999 because reasons GW1")
            .ok_or("not a suppression")?;
        assert_eq!(p.kind, Kind::Directive);
        let written: Vec<&str> = p.rules.iter().map(|r| r.written.as_str()).collect();
        assert_eq!(written, ["GW201", "gw103", "GW999"]);
        assert!(p.malformed.is_none());
        Ok(())
    }

    #[test]
    fn bare_ignore_and_unknown_verbs_are_malformed() -> Result<(), String> {
        let p = parse_comment("nginx-gwlint: ignore").ok_or("not a suppression")?;
        assert!(p.malformed.is_some());
        let p = parse_comment("nginx-gwlint: disable GW001").ok_or("not a suppression")?;
        assert!(p.malformed.is_some());
        assert!(parse_comment(" just a comment about nginx-gwlint: ignore GW001").is_none());
        Ok(())
    }

    #[test]
    fn rule_id_shape() {
        assert!(looks_like_rule_id("GW001"));
        assert!(looks_like_rule_id("gw5"));
        assert!(!looks_like_rule_id("GW"));
        assert!(!looks_like_rule_id("GWx1"));
        assert!(!looks_like_rule_id("because"));
        assert!(!looks_like_rule_id("é"));
    }
}
