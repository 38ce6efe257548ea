//! `--format junit`: JUnit XML, which Jenkins, GitLab (`artifacts:reports:junit`), Azure
//! Pipelines and most CI systems show as test results. One `<testsuite>` per checked file; each
//! finding is a `<testcase>` with a `<failure>` (its rule as `type`); a file without findings is
//! one passing test case, so a clean run shows what was checked.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{xml_escape, Position};
use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceMap};

/// The `<testsuite>` elements for one checked tree; wrap them with [`render_junit`].
pub fn junit_suites(sources: &SourceMap, files: &[FileId], diagnostics: &[Diagnostic]) -> String {
    let mut by_file: BTreeMap<String, Vec<&Diagnostic>> = BTreeMap::new();
    for &f in files {
        by_file.entry(sources.get(f).display.clone()).or_default();
    }
    for d in diagnostics {
        by_file
            .entry(sources.get(d.file).display.clone())
            .or_default()
            .push(d);
    }
    let mut out = String::new();
    for (file, found) in by_file {
        let file_attr = xml_escape(&file);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{file_attr}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            found.len().max(1),
            found.len()
        );
        if found.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase name=\"nginx-gwlint\" classname=\"{file_attr}\"/>"
            );
        }
        for d in found {
            let p = Position::of(sources, d.file, d.span);
            let _ = writeln!(
                out,
                "    <testcase name=\"{} {}:{}:{}\" classname=\"{file_attr}\">",
                d.rule, file_attr, p.line, p.column
            );
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{} {}\">{}:{}:{}: {} [{}] {}</failure>",
                xml_escape(&d.message),
                d.rule,
                d.name,
                file_attr,
                p.line,
                p.column,
                d.rule,
                d.severity.as_str(),
                xml_escape(&d.message_with_help())
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out
}

pub fn render_junit(suites: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"nginx-gwlint\">\n{suites}</testsuites>\n")
}
