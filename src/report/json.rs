//! `--format json`: one object, the contract documented in README.md ("JSON output"). Fields may
//! be added; none is ever renamed or removed.

use serde::Serialize;

use super::Position;
use crate::diagnostic::Diagnostic;
use crate::diagnostic::Summary;
use crate::source::{FileId, SourceMap};

#[derive(Serialize)]
struct JsonEdit {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    content: String,
}

#[derive(Serialize)]
struct JsonFix {
    applicability: &'static str,
    title: String,
    edits: Vec<JsonEdit>,
}

#[derive(Serialize)]
struct JsonLabel {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: String,
}

#[derive(Serialize)]
struct JsonDiagnostic {
    rule: &'static str,
    name: &'static str,
    severity: &'static str,
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: String,
    help: Option<String>,
    fix: Option<JsonFix>,
    /// Secondary locations (where a value was set, the php.ini line of a limit, ...).
    labels: Vec<JsonLabel>,
    /// Stable identity of the finding across line shifts (the baseline fingerprint, also in
    /// SARIF's partialFingerprints); absent when not computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
}

#[derive(Serialize)]
struct JsonReport {
    version: u32,
    /// The host of a `--dump` file.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<String>,
    diagnostics: Vec<JsonDiagnostic>,
    files: Vec<String>,
    /// The files of `files` that were not in the checked tree but read from this machine's
    /// nginx package (a stock file a copied tree leaves out); absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_files: Vec<ExternalFile>,
    summary: Summary,
}

#[derive(Serialize)]
struct ExternalFile {
    /// As listed in `files`.
    file: String,
    /// Where it came from: `machine-package` (this machine's /etc/nginx).
    origin: &'static str,
}

/// `fingerprints[i]` belongs to `diagnostics[i]` (may be empty).
pub fn render_json(
    sources: &SourceMap,
    files: &[FileId],
    diagnostics: &[Diagnostic],
    fingerprints: &[String],
) -> String {
    render_json_with_external(sources, files, &[], diagnostics, fingerprints, None)
}

/// [`render_json`] with the files read from this machine's nginx package (`external`, a subset
/// of `files`) listed in `external_files`, and the host of a `--dump` file.
pub fn render_json_with_external(
    sources: &SourceMap,
    files: &[FileId],
    external: &[FileId],
    diagnostics: &[Diagnostic],
    fingerprints: &[String],
    host: Option<&str>,
) -> String {
    let report = JsonReport {
        version: 1,
        host: host.map(str::to_owned),
        diagnostics: diagnostics
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let p = Position::of(sources, d.file, d.span);
                JsonDiagnostic {
                    rule: d.rule,
                    name: d.name,
                    severity: d.severity.as_str(),
                    file: p.file,
                    line: p.line,
                    column: p.column,
                    end_line: p.end_line,
                    end_column: p.end_column,
                    message: d.message.clone(),
                    help: d.help.clone(),
                    fix: d.fix.as_ref().map(|f| JsonFix {
                        applicability: f.applicability.as_str(),
                        title: f.title.clone(),
                        edits: f
                            .edits
                            .iter()
                            .map(|e| {
                                let p = Position::of(sources, e.file, e.span);
                                JsonEdit {
                                    file: p.file,
                                    line: p.line,
                                    column: p.column,
                                    end_line: p.end_line,
                                    end_column: p.end_column,
                                    content: e.content.clone(),
                                }
                            })
                            .collect(),
                    }),
                    labels: d
                        .labels
                        .iter()
                        .map(|l| {
                            let p = Position::of(sources, l.file, l.span);
                            JsonLabel {
                                file: p.file,
                                line: p.line,
                                column: p.column,
                                end_line: p.end_line,
                                end_column: p.end_column,
                                message: l.message.clone(),
                            }
                        })
                        .collect(),
                    fingerprint: fingerprints.get(i).cloned(),
                }
            })
            .collect(),
        files: files
            .iter()
            .map(|f| sources.get(*f).display.clone())
            .collect(),
        external_files: external
            .iter()
            .map(|f| ExternalFile {
                file: sources.get(*f).display.clone(),
                origin: "machine-package",
            })
            .collect(),
        summary: Summary::of(diagnostics),
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_else(|e| {
        format!("{{\"version\": 1, \"error\": \"cannot serialize report: {e}\"}}")
    });
    text.push('\n');
    text
}
