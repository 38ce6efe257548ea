//! `--format json`: one object, the contract documented in README.md ("JSON output"). Fields may
//! be added; none is ever renamed or removed.

use serde::Serialize;

use super::Position;
use crate::diagnostic::Diagnostic;
use crate::diagnostic::Summary;
use crate::source::{FileId, SourceMap};

// The report is serialized straight from the diagnostics: each entry borrows their texts and
// is built only while the serializer writes it, so many findings are not copied into a second
// tree before printing.

#[derive(Serialize)]
struct JsonEdit<'a> {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    content: &'a str,
}

#[derive(Serialize)]
struct JsonFix<'a> {
    applicability: &'static str,
    title: &'a str,
    edits: Vec<JsonEdit<'a>>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    rule: &'static str,
    name: &'static str,
    severity: &'static str,
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    help: Option<&'a str>,
    fix: Option<JsonFix<'a>>,
    /// Secondary locations (where a value was set, the php.ini line of a limit, ...).
    labels: Vec<JsonLabel<'a>>,
    /// Stable identity of the finding across line shifts (the baseline fingerprint, also in
    /// SARIF's partialFingerprints); absent when not computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<&'a str>,
}

impl<'a> JsonDiagnostic<'a> {
    fn of(sources: &'a SourceMap, d: &'a Diagnostic, fingerprint: Option<&'a str>) -> Self {
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
            message: &d.message,
            help: d.help.as_deref(),
            fix: d.fix.as_ref().map(|f| JsonFix {
                applicability: f.applicability.as_str(),
                title: &f.title,
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
                            content: &e.content,
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
                        message: &l.message,
                    }
                })
                .collect(),
            fingerprint,
        }
    }
}

/// The `diagnostics` array, each entry made as it is written.
struct JsonDiagnostics<'a> {
    sources: &'a SourceMap,
    diagnostics: &'a [Diagnostic],
    fingerprints: &'a [String],
}

impl Serialize for JsonDiagnostics<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.diagnostics.iter().enumerate().map(|(i, d)| {
            JsonDiagnostic::of(
                self.sources,
                d,
                self.fingerprints.get(i).map(String::as_str),
            )
        }))
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    /// The host of a `--dump` file.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    diagnostics: JsonDiagnostics<'a>,
    files: Vec<&'a str>,
    /// The files of `files` that were not in the checked tree but read from this machine's
    /// nginx package (a stock file a copied tree leaves out); absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_files: Vec<ExternalFile<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct ExternalFile<'a> {
    /// As listed in `files`.
    file: &'a str,
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
    let mut bytes = Vec::new();
    match write_json_with_external(
        &mut bytes,
        sources,
        files,
        &[],
        diagnostics,
        fingerprints,
        None,
    ) {
        Ok(()) => String::from_utf8(bytes).unwrap_or_else(|e| serialize_error(&e)),
        Err(e) => serialize_error(&e),
    }
}

fn serialize_error(e: &dyn std::fmt::Display) -> String {
    format!("{{\"version\": 1, \"error\": \"cannot serialize report: {e}\"}}\n")
}

/// Writes the report (pretty, with a line end) to `out` as it is serialized: a report of
/// many findings is never held whole in memory. The files read from this machine's nginx
/// package (`external`, a subset of `files`) are listed in `external_files`, and `host` is
/// the host of a `--dump` file.
pub fn write_json_with_external<W: std::io::Write + ?Sized>(
    out: &mut W,
    sources: &SourceMap,
    files: &[FileId],
    external: &[FileId],
    diagnostics: &[Diagnostic],
    fingerprints: &[String],
    host: Option<&str>,
) -> std::io::Result<()> {
    let report = JsonReport {
        version: 1,
        host,
        diagnostics: JsonDiagnostics {
            sources,
            diagnostics,
            fingerprints,
        },
        files: files
            .iter()
            .map(|f| sources.get(*f).display.as_str())
            .collect(),
        external_files: external
            .iter()
            .map(|f| ExternalFile {
                file: &sources.get(*f).display,
                origin: "machine-package",
            })
            .collect(),
        summary: Summary::of(diagnostics),
    };
    serde_json::to_writer_pretty(&mut *out, &report)?;
    out.write_all(b"\n")
}
