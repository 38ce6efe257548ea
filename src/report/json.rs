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
    // Written into a buffer of about the report's size: grown by doubling, a report of
    // megabytes was copied a dozen times, each copy into pages not touched before.
    let mut bytes = Vec::with_capacity(size_hint(sources, files, diagnostics));
    let mut text = match serde_json::to_writer_pretty(&mut bytes, &report) {
        Ok(()) => String::from_utf8(bytes).unwrap_or_else(|e| {
            format!("{{\"version\": 1, \"error\": \"cannot serialize report: {e}\"}}")
        }),
        Err(e) => format!("{{\"version\": 1, \"error\": \"cannot serialize report: {e}\"}}"),
    };
    text.push('\n');
    text
}

/// About the bytes the pretty report takes: the texts it copies plus each entry's fixed keys
/// and indentation (~700 bytes a finding, ~250 an edit or label). A guess on the high side
/// costs address space only; pages never written are never touched.
fn size_hint(sources: &SourceMap, files: &[FileId], diagnostics: &[Diagnostic]) -> usize {
    let name = |f: FileId| sources.get(f).display.len();
    let listed: usize = files.iter().map(|f| name(*f) + 16).sum();
    let each = |d: &Diagnostic| {
        let labels: usize = d
            .labels
            .iter()
            .map(|l| 250 + l.message.len() + name(l.file))
            .sum();
        let fix = d.fix.as_ref().map_or(0, |f| {
            let edits: usize = f
                .edits
                .iter()
                .map(|e| 250 + e.content.len() + name(e.file))
                .sum();
            250 + f.title.len() + edits
        });
        700 + d.message.len() + d.help.as_ref().map_or(0, String::len) + name(d.file) + labels + fix
    };
    1024 + listed + diagnostics.iter().map(each).sum::<usize>()
}
