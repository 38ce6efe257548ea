//! `--format checkstyle`: the Checkstyle XML report that Jenkins (warnings-ng), reviewdog,
//! GitLab and many other tools import. One `<file>` per file with findings, in the order
//! diagnostics are sorted.

use std::fmt::Write as _;

use super::Position;
use crate::diagnostic::Diagnostic;
use crate::source::SourceMap;

/// The `<file>` elements for one checked tree; wrap them with [`render_checkstyle`].
pub fn checkstyle_files(sources: &SourceMap, diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    let mut current: Option<String> = None;
    for d in diagnostics {
        let p = Position::of(sources, d.file, d.span);
        if current.as_deref() != Some(p.file.as_str()) {
            if current.is_some() {
                out.push_str("  </file>\n");
            }
            let _ = writeln!(out, "  <file name=\"{}\">", escape(&p.file));
            current = Some(p.file.clone());
        }
        let message = d.message_with_help();
        let _ = writeln!(
            out,
            "    <error line=\"{}\" column=\"{}\" severity=\"{}\" message=\"{}\" source=\"nginx-gwlint.{}.{}\"/>",
            p.line,
            p.column,
            d.severity.as_str(),
            escape(&message),
            d.rule,
            d.name
        );
    }
    if current.is_some() {
        out.push_str("  </file>\n");
    }
    out
}

pub fn render_checkstyle(files: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle version=\"4.3\">\n{files}</checkstyle>\n")
}

/// Escapes text for an XML attribute; characters XML 1.0 cannot hold become U+FFFD.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_escaping() {
        assert_eq!(
            escape("a<b & \"c\"\n\u{1}"),
            "a&lt;b &amp; &quot;c&quot;&#10;\u{FFFD}"
        );
    }
}
