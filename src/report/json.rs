//! `--format json`: one object, the contract documented in README.md ("JSON output"). Fields may
//! be added; none is ever renamed or removed.

use serde::Serialize;

use super::pretty;
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

/// The findings of one piece of the `diagnostics` array written at once ([`write_diagnostics`]).
const PIECE: usize = 64;
/// The findings written between two writes to the output: their text is held in memory
/// meanwhile (about 1 KiB each), so a report of many findings is never held whole.
const WINDOW: usize = 8 * PIECE;

/// The `diagnostics` array at the report's second level. Pieces of a window are serialized on
/// every core, each entry made while it is written, and written in order: the bytes are those
/// of one pretty-printing of the whole report (see the tests).
fn write_diagnostics<W: std::io::Write + ?Sized>(
    out: &mut W,
    sources: &SourceMap,
    diagnostics: &[Diagnostic],
    fingerprints: &[String],
) -> std::io::Result<()> {
    use rayon::prelude::*;
    if diagnostics.is_empty() {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    for (w, window) in diagnostics.chunks(WINDOW).enumerate() {
        let pieces: Vec<std::io::Result<Vec<u8>>> = window
            .par_chunks(PIECE)
            .enumerate()
            .map(|(p, piece)| {
                let mut buf = Vec::with_capacity(piece.len() * 1024);
                for (k, d) in piece.iter().enumerate() {
                    let i = w * WINDOW + p * PIECE + k;
                    let fingerprint = fingerprints.get(i).map(String::as_str);
                    pretty::write_break(&mut buf, i == 0, 2)?;
                    pretty::write_at(&mut buf, 2, &JsonDiagnostic::of(sources, d, fingerprint))?;
                }
                Ok(buf)
            })
            .collect();
        for piece in pieces {
            out.write_all(&piece?)?;
        }
    }
    out.write_all(b"\n  ]")
}

/// What the report holds, in its order; the writer below writes it field by field. The test
/// serializes it whole with serde_json and compares.
#[cfg(test)]
#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<&'a str>,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    files: Vec<&'a str>,
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
    // The top level by hand, each member as serde_json's pretty printer writes it (the
    // `version` and `host` members: `"version": 1`, `"host": "..."`).
    out.write_all(b"{\n  \"version\": 1")?;
    if let Some(host) = host {
        out.write_all(b",\n  \"host\": ")?;
        pretty::write_at(out, 1, host)?;
    }
    out.write_all(b",\n  \"diagnostics\": ")?;
    write_diagnostics(out, sources, diagnostics, fingerprints)?;
    out.write_all(b",\n  \"files\": ")?;
    let files: Vec<&str> = files
        .iter()
        .map(|f| sources.get(*f).display.as_str())
        .collect();
    pretty::write_at(out, 1, &files)?;
    if !external.is_empty() {
        let external: Vec<ExternalFile<'_>> = external
            .iter()
            .map(|f| ExternalFile {
                file: &sources.get(*f).display,
                origin: "machine-package",
            })
            .collect();
        out.write_all(b",\n  \"external_files\": ")?;
        pretty::write_at(out, 1, &external)?;
    }
    out.write_all(b",\n  \"summary\": ")?;
    pretty::write_at(out, 1, &Summary::of(diagnostics))?;
    out.write_all(b"\n}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Edit, Fix, Severity};
    use crate::source::SourceFile;
    use crate::syntax::Span;

    /// The report as `write_json_with_external` writes it, and what serde_json's pretty
    /// printer writes for the whole report at once.
    fn written_and_whole(
        sources: &SourceMap,
        files: &[FileId],
        external: &[FileId],
        diagnostics: &[Diagnostic],
        fingerprints: &[String],
        host: Option<&str>,
    ) -> (String, String) {
        let mut out = Vec::new();
        let Ok(()) = write_json_with_external(
            &mut out,
            sources,
            files,
            external,
            diagnostics,
            fingerprints,
            host,
        ) else {
            panic!("write failed")
        };
        let Ok(written) = String::from_utf8(out) else {
            panic!("not UTF-8")
        };
        let report = JsonReport {
            version: 1,
            host,
            diagnostics: diagnostics
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    JsonDiagnostic::of(sources, d, fingerprints.get(i).map(String::as_str))
                })
                .collect(),
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
        let Ok(whole) = serde_json::to_string_pretty(&report) else {
            panic!("serde_json failed")
        };
        (written, whole + "\n")
    }

    #[test]
    fn the_pieces_join_into_one_pretty_printing_of_the_report() {
        let mut sources = SourceMap::default();
        let a = sources.add(SourceFile::new(
            "/etc/nginx/nginx.conf".into(),
            "nginx.conf".into(),
            b"events {}\nhttp {\n    server { listen 80; }\n}\n".to_vec(),
        ));
        let b = sources.add(SourceFile::new(
            "/etc/nginx/mime.types".into(),
            "mime \"types\".conf".into(),
            b"types { text/html html; }\n".to_vec(),
        ));
        let finding = |i: usize| {
            let d = Diagnostic::new(
                "GW013",
                "invalid-value",
                if i % 3 == 0 {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                if i % 2 == 0 { a } else { b },
                Span::new(i % 20, i % 20 + 3),
                format!("finding {i}: \"quoted\"\tand\nlines"),
            );
            match i % 4 {
                0 => d.with_help("a help"),
                1 => d
                    .with_label(b, Span::new(0, 5), "set here")
                    .with_fix(Fix::safe(
                        "a fix",
                        vec![
                            Edit::replace(a, Span::new(1, 2), "x;\n"),
                            Edit::insert(b, 0, ""),
                        ],
                    )),
                _ => d,
            }
        };
        // Past two windows, so pieces of several windows and a short last piece are joined.
        let many: Vec<Diagnostic> = (0..2 * WINDOW + PIECE + 3).map(finding).collect();
        let fingerprints: Vec<String> = (0..many.len()).map(|i| format!("{i:016x}")).collect();
        for (diagnostics, fingerprints, external, host) in [
            (&many[..], &fingerprints[..], &[b][..], Some("web1")),
            (&many[..5], &[][..], &[][..], None),
            (&[][..], &[][..], &[][..], Some("h\"ost")),
        ] {
            let (written, whole) =
                written_and_whole(&sources, &[a, b], external, diagnostics, fingerprints, host);
            assert_eq!(written, whole);
        }
        let (written, whole) = written_and_whole(&sources, &[], &[], &[], &[], None);
        assert_eq!(written, whole);
    }
}
