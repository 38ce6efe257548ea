//! The default terminal format: rustc/ruff-style code frames.

use std::fmt::Write as _;

use super::Position;
use crate::diagnostic::Summary;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::SourceMap;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

fn severity_code(s: Severity) -> &'static str {
    match s {
        Severity::Error => "1;31",
        Severity::Warning => "1;33",
        Severity::Info => "1;36",
    }
}

pub fn render_human(sources: &SourceMap, diagnostics: &[Diagnostic], color: bool) -> String {
    let style = Style { color };
    let mut out = String::new();
    for d in diagnostics {
        let p = Position::of(sources, d.file, d.span);
        let _ = writeln!(
            out,
            "{}: {} {} {}",
            style.paint("1", &format!("{}:{}:{}", p.file, p.line, p.column)),
            style.paint(severity_code(d.severity), d.severity.as_str()),
            style.paint("1", &format!("{} [{}]", d.rule, d.name)),
            d.message
        );
        frame(&mut out, sources, d, &p, &style);
        // `=` lines sit under the frame's `|`, whatever the width of the line number.
        let pad = " ".repeat(p.line.to_string().len());
        for l in &d.labels {
            let lp = Position::of(sources, l.file, l.span);
            let _ = writeln!(
                out,
                "{pad} = {}: {}:{}:{}: {}",
                style.paint("1", "note"),
                lp.file,
                lp.line,
                lp.column,
                l.message
            );
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "{pad} = {}: {}", style.paint("1;32", "help"), help);
        }
        if let Some(fix) = &d.fix {
            let _ = writeln!(
                out,
                "{pad} = {} ({}): {}",
                style.paint("1", "fix"),
                fix.applicability.as_str(),
                fix.title
            );
        }
        out.push('\n');
    }
    let s = Summary::of(diagnostics);
    if s.total() == 0 {
        out.push_str("no problems found\n");
    } else {
        let _ = write!(
            out,
            "found {} problem{} ({} error{}, {} warning{}, {} info)",
            s.total(),
            plural(s.total()),
            s.errors,
            plural(s.errors),
            s.warnings,
            plural(s.warnings),
            s.infos,
        );
        let safe = s.fixable - s.unsafe_fixable;
        match (safe, s.unsafe_fixable) {
            (0, 0) => out.push('\n'),
            (n, 0) => {
                let _ = writeln!(out, "; {n} fixable with --fix");
            }
            (0, u) => {
                let _ = writeln!(out, "; {u} fixable with --unsafe-fixes");
            }
            (n, u) => {
                let _ = writeln!(
                    out,
                    "; {n} fixable with --fix, {u} more with --unsafe-fixes"
                );
            }
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Bytes of a long line shown on each side of the span (a minified one-line config would
/// otherwise print its whole line for every finding).
const FRAME_CONTEXT: usize = 80;

/// The source line with a caret underline of the span (first line of a multi-line span). A
/// line longer than a screen is cut to the span and some context, with `...` where cut.
fn frame(out: &mut String, sources: &SourceMap, d: &Diagnostic, p: &Position, style: &Style) {
    let file = sources.get(d.file);
    let line = file.lines.line_text(&file.text, p.line);
    if line.len() > 4 * FRAME_CONTEXT {
        let start = file.lines.line_start(p.line);
        let end = start + line.len();
        let at = d.span.start().clamp(start, end);
        // The underline too stops after a while (a one-line `server { ... }`).
        let until = if p.end_line == p.line {
            d.span.end().clamp(at, end)
        } else {
            end
        }
        .min(at + 2 * FRAME_CONTEXT);
        // Whole characters only: move both cuts forward past UTF-8 continuation bytes.
        let boundary = |mut i: usize, limit: usize| {
            while i < limit && (file.text[i] & 0xC0) == 0x80 {
                i += 1;
            }
            i
        };
        let until = boundary(until, end);
        let from = boundary(at.saturating_sub(FRAME_CONTEXT).max(start), at);
        let to = boundary((until + FRAME_CONTEXT).min(end), end);
        let lossy =
            |a: usize, b: usize| String::from_utf8_lossy(&file.text[a..b]).replace('\t', " ");
        let before = format!(
            "{}{}",
            if from > start { "..." } else { "" },
            lossy(from, at)
        );
        let marked = lossy(at, until);
        let after = format!("{}{}", lossy(until, to), if to < end { "..." } else { "" });
        let pad = " ".repeat(p.line.to_string().len());
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{} | {before}{marked}{after}", p.line);
        let _ = writeln!(
            out,
            "{pad} | {}{}",
            " ".repeat(before.chars().count()),
            style.paint(
                severity_code(d.severity),
                &"^".repeat(marked.chars().count().max(1))
            )
        );
        return;
    }
    let text = String::from_utf8_lossy(line).replace('\t', " ");
    let gutter = p.line.to_string().len();
    let pad = " ".repeat(gutter);
    let width = if p.end_line == p.line {
        p.end_column.saturating_sub(p.column).max(1)
    } else {
        text.chars().count().saturating_sub(p.column - 1).max(1)
    };
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{} | {}", p.line, text);
    let _ = writeln!(
        out,
        "{pad} | {}{}",
        " ".repeat(p.column - 1),
        style.paint(severity_code(d.severity), &"^".repeat(width))
    );
}
