//! `--format github`: GitHub Actions workflow commands, shown as annotations on the pull
//! request's changed lines:
//!
//! `::error file=nginx.conf,line=4,col=5,endLine=4,endColumn=26,title=GW002 include-not-found::message`
//!
//! Data is escaped as GitHub's toolkit does (`%`, `\r`, `\n`); property values also escape
//! `:` and `,`. Info findings become `notice`.

use std::fmt::Write as _;

use super::Position;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceMap;

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// Escapes a command's message (`escapeData` in @actions/core).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`escapeProperty` in @actions/core).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

pub fn render_github(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diagnostics {
        let p = Position::of(sources, d.file, d.span);
        let message = d.message_with_help();
        let _ = writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            command(d.severity),
            escape_property(&p.file),
            p.line,
            p.column,
            p.end_line,
            p.end_column,
            escape_property(&format!("{} {}", d.rule, d.name)),
            escape_data(&message),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
