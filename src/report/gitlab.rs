//! `--format gitlab`: GitLab Code Quality, the JSON array the merge-request widget reads from a
//! `codequality` report artifact
//! (<https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format>): per finding a
//! `description`, `check_name`, a unique `fingerprint`, a `severity` (`info`, `minor`, `major`,
//! `critical`, `blocker`) and a `location` with `path` and `lines.begin`.

use serde::Serialize;

use super::Position;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceMap;

#[derive(Serialize)]
struct Issue {
    description: String,
    check_name: String,
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

/// The Code Quality entries of one checked tree (`fingerprints` parallel to `diagnostics`).
pub fn gitlab_issues(
    sources: &SourceMap,
    diagnostics: &[Diagnostic],
    fingerprints: &[String],
) -> Vec<serde_json::Value> {
    diagnostics
        .iter()
        .zip(fingerprints)
        .filter_map(|(d, fp)| {
            let p = Position::of(sources, d.file, d.span);
            let issue = Issue {
                description: format!("{} [{}] {}", d.rule, d.name, d.message),
                check_name: format!("{} {}", d.rule, d.name),
                fingerprint: fp.clone(),
                // As GitLab's own linters map them: an error blocks (major), a warning is minor.
                severity: match d.severity {
                    Severity::Error => "major",
                    Severity::Warning => "minor",
                    Severity::Info => "info",
                },
                location: Location {
                    path: p.file,
                    lines: Lines {
                        begin: p.line,
                        end: p.end_line.max(p.line),
                    },
                },
            };
            serde_json::to_value(issue).ok()
        })
        .collect()
}

/// One JSON array for every checked tree.
pub fn render_gitlab(issues: Vec<serde_json::Value>) -> String {
    let mut text =
        serde_json::to_string_pretty(&serde_json::Value::Array(issues)).unwrap_or_default();
    text.push('\n');
    text
}
