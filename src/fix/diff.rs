//! `--diff`: one unified diff for every changed file, byte for byte what `--fix` writes.
//!
//! - Lines are split at `\n` only, on bytes: a lone CR stays inside its line, CRLF stays CRLF,
//!   Latin-1 and other non-UTF-8 bytes pass through untouched, and a last line without a
//!   newline gets the `\ No newline at end of file` marker.
//! - Headers name the real file (a symlink's target), relative to the root of the write scope,
//!   as `--- a/PATH` / `+++ b/PATH`, so `patch -p1` and `git apply` run from that root apply it.
//!   Paths are written as git writes them: C-quoted (`"a/x\ty"`, octal escapes for control and
//!   non-ASCII bytes) when they hold such bytes, a `"`, or a `\`; followed by a tab when they
//!   hold a space, which ends the name for `patch`.
//!
//! The line matching is `similar`'s Myers diff; hunks carry 3 lines of context.

use similar::{capture_diff_slices, group_diff_ops, Algorithm, DiffTag};

use super::FileChange;

/// Lines of context around each change.
const CONTEXT: usize = 3;

/// The unified diff of all changes (empty when nothing changed).
pub fn unified_diff(changes: &[FileChange]) -> Vec<u8> {
    let mut out = Vec::new();
    for change in changes {
        file_diff(&mut out, &change.diff_path, &change.original, &change.fixed);
    }
    out
}

fn file_diff(out: &mut Vec<u8>, path: &str, old: &[u8], new: &[u8]) {
    let old_lines = split_lines(old);
    let new_lines = split_lines(new);
    let ops = capture_diff_slices(Algorithm::Myers, &old_lines, &new_lines);
    let groups = group_diff_ops(ops, CONTEXT);
    if groups.is_empty() {
        return;
    }
    header(out, "---", "a/", path);
    header(out, "+++", "b/", path);
    for group in groups {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        out.extend_from_slice(b"@@ -");
        range(out, old_range.start, old_range.len());
        out.extend_from_slice(b" +");
        range(out, new_range.start, new_range.len());
        out.extend_from_slice(b" @@\n");
        for op in &group {
            let (tag, old_r, new_r) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => {
                    for line in &old_lines[old_r] {
                        body_line(out, b' ', line);
                    }
                }
                DiffTag::Delete => {
                    for line in &old_lines[old_r] {
                        body_line(out, b'-', line);
                    }
                }
                DiffTag::Insert => {
                    for line in &new_lines[new_r] {
                        body_line(out, b'+', line);
                    }
                }
                DiffTag::Replace => {
                    for line in &old_lines[old_r] {
                        body_line(out, b'-', line);
                    }
                    for line in &new_lines[new_r] {
                        body_line(out, b'+', line);
                    }
                }
            }
        }
    }
}

/// Lines with their `\n` (the last one may lack it).
fn split_lines(text: &[u8]) -> Vec<&[u8]> {
    text.split_inclusive(|&b| b == b'\n').collect()
}

/// `start,len` as diff(1) writes it: the 1-based first line, the line before an empty range,
/// and no `,1`.
fn range(out: &mut Vec<u8>, start: usize, len: usize) {
    let first = if len == 0 { start } else { start + 1 };
    out.extend_from_slice(first.to_string().as_bytes());
    if len != 1 {
        out.push(b',');
        out.extend_from_slice(len.to_string().as_bytes());
    }
}

fn body_line(out: &mut Vec<u8>, mark: u8, line: &[u8]) {
    out.push(mark);
    out.extend_from_slice(line);
    if !line.ends_with(b"\n") {
        out.extend_from_slice(b"\n\\ No newline at end of file\n");
    }
}

fn header(out: &mut Vec<u8>, mark: &str, prefix: &str, path: &str) {
    out.extend_from_slice(mark.as_bytes());
    out.push(b' ');
    let mut name = prefix.as_bytes().to_vec();
    name.extend_from_slice(path.as_bytes());
    out.extend_from_slice(&git_quote(&name));
    if name.contains(&b' ') {
        out.push(b'\t');
    }
    out.push(b'\n');
}

/// A path as git's `quote_c_style` writes it: unchanged unless it holds a control byte, DEL,
/// a byte >= 0x80, `"` or `\`; then in double quotes with C escapes and octal for the rest.
pub fn git_quote(name: &[u8]) -> Vec<u8> {
    let needs = name
        .iter()
        .any(|&b| !(0x20..0x7f).contains(&b) || b == b'"' || b == b'\\');
    if !needs {
        return name.to_vec();
    }
    let mut out = vec![b'"'];
    for &b in name {
        match b {
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0b => out.extend_from_slice(b"\\v"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b if !(0x20..0x7f).contains(&b) => {
                out.extend_from_slice(format!("\\{b:03o}").as_bytes())
            }
            b => out.push(b),
        }
    }
    out.push(b'"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(original: &[u8], fixed: &[u8]) -> FileChange {
        FileChange {
            path: "/etc/nginx/sites-enabled/app.conf".into(),
            aliases: vec![],
            display: "/etc/nginx/sites-enabled/app.conf".into(),
            diff_path: "sites-enabled/app.conf".into(),
            target: "/etc/nginx/sites-enabled/app.conf".into(),
            original: original.to_vec(),
            fixed: fixed.to_vec(),
        }
    }

    fn text(d: Vec<u8>) -> String {
        String::from_utf8(d).unwrap_or_default()
    }

    #[test]
    fn headers_are_relative_and_hunks_unified() {
        let d = text(unified_diff(&[change(b"a;\nb;\nc;\n", b"a;\nB;\nc;\n")]));
        assert_eq!(
            d,
            "--- a/sites-enabled/app.conf\n+++ b/sites-enabled/app.conf\n@@ -1,3 +1,3 @@\n a;\n-b;\n+B;\n c;\n"
        );
    }

    #[test]
    fn missing_final_newline_is_marked() {
        let d = text(unified_diff(&[change(b"a;", b"b;")]));
        assert_eq!(
            d,
            "--- a/sites-enabled/app.conf\n+++ b/sites-enabled/app.conf\n@@ -1 +1 @@\n-a;\n\\ No newline at end of file\n+b;\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn bytes_pass_through_and_a_lone_cr_stays_in_its_line() {
        let old = b"# caf\xe9\r\nx 1;\ry 2;\nz;\n";
        let new = b"# caf\xe9\r\nx 1;\ry 3;\nz;\n";
        let d = unified_diff(&[change(old, new)]);
        let body = d
            .split(|&b| b == b'\n')
            .skip(3)
            .collect::<Vec<_>>()
            .join(&b'\n');
        assert_eq!(
            body,
            b" # caf\xe9\r\n-x 1;\ry 2;\n+x 1;\ry 3;\n z;\n".to_vec()
        );
    }

    #[test]
    fn paths_are_quoted_as_git_quotes_them() {
        assert_eq!(git_quote(b"a/x.conf"), b"a/x.conf");
        assert_eq!(git_quote(b"a/x\ty"), b"\"a/x\\ty\"");
        assert_eq!(git_quote(b"a/x\ny"), b"\"a/x\\ny\"");
        assert_eq!(git_quote("a/é".as_bytes()), b"\"a/\\303\\251\"");
        let mut with_space = change(b"a;\n", b"b;\n");
        with_space.diff_path = "my site.conf".into();
        let d = text(unified_diff(&[with_space]));
        assert!(
            d.starts_with("--- a/my site.conf\t\n+++ b/my site.conf\t\n"),
            "{d}"
        );
    }
}
