//! Rendering diagnostics: `human` (code frames), `concise`, `json` (the documented contract),
//! `sarif` (SARIF 2.1.0), `github` (Actions annotations), `checkstyle` (XML); and the rule
//! catalogue (`rules`, `explain`, the README table). Every format reads the same [`Position`]s,
//! so they cannot disagree.

mod checkstyle;
mod github;
mod gitlab;
mod human;
mod json;
mod junit;
pub mod parse_json;
mod pretty;
pub mod rules_doc;
pub mod sarif;

use std::fmt::Write as _;

use crate::diagnostic::Applicability;
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceMap};
use crate::syntax::Span;

pub(crate) use checkstyle::escape as xml_escape;
pub use checkstyle::{checkstyle_files, render_checkstyle};
pub use github::render_github;
pub use gitlab::{gitlab_issues, render_gitlab};
pub use human::render_human;
pub use json::{render_json, write_json_with_external};
pub use junit::{junit_suites, render_junit};
pub use sarif::{render_sarif, sarif_run};

/// A span as people see it: 1-based lines, character columns; the end is exclusive.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl Position {
    pub fn of(sources: &SourceMap, file: FileId, span: Span) -> Self {
        let f = sources.get(file);
        let (line, column) = f.line_col(span.start());
        let (end_line, end_column) = f.line_col(span.end());
        Position {
            file: f.display.clone(),
            line,
            column,
            end_line,
            end_column,
        }
    }
}

/// `--statistics`: one line per rule with findings, most first: count, id, name, and whether
/// `--fix` (`[*]`) or only `--unsafe-fixes` (`[-]`) fixes some of them.
pub fn render_statistics(diagnostics: &[Diagnostic]) -> String {
    let mut by_rule: std::collections::BTreeMap<&str, (usize, &str, bool, bool)> =
        std::collections::BTreeMap::new();
    for d in diagnostics {
        let e = by_rule.entry(d.rule).or_insert((0, d.name, false, false));
        e.0 += 1;
        match d.fix.as_ref().map(|f| f.applicability) {
            Some(Applicability::Safe) => e.2 = true,
            Some(Applicability::Unsafe) => e.3 = true,
            _ => {}
        }
    }
    let mut rows: Vec<_> = by_rule.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    let width = rows
        .iter()
        .map(|(_, (n, ..))| n.to_string().len())
        .max()
        .unwrap_or(1);
    let mut out = String::new();
    for (rule, (n, name, safe, unsafe_)) in rows {
        let mark = if safe {
            "[*] "
        } else if unsafe_ {
            "[-] "
        } else {
            ""
        };
        let _ = writeln!(out, "{n:>width$}\t{rule}\t{mark}{name}");
    }
    out
}

/// `path:line:col: GW101 [severity] message` — one line per finding (a multi-line message is
/// joined with spaces, so line-based tools such as grep and editors' quickfix lists work).
pub fn render_concise(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let p = Position::of(sources, d.file, d.span);
        let _ = writeln!(
            out,
            "{}:{}:{}: {} [{}] {}",
            p.file,
            p.line,
            p.column,
            d.rule,
            d.severity.as_str(),
            d.message.replace("\r\n", " ").replace('\n', " ")
        );
    }
    out
}
