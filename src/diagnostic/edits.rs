//! Edits named for what a rule means to do: add a directive after another, add one as the first
//! line of a block, delete one, replace a word. They follow the file's own layout: its line
//! ending (LF or CRLF), the indentation of the neighbouring lines, its indent unit (tabs or N
//! spaces), and whether it ends with a newline; every byte they do not touch stays as it was.

use crate::source::{FileId, SourceFile};
use crate::syntax::{BlockKind, DirRef, Quote, Span, WordRef};

use super::Edit;

/// Adds `text` (a whole directive, `proxy_http_version 1.1;`) after the directive at `anchor`,
/// on a new line indented like the anchor's line. When something other than a comment follows
/// the anchor on its line (`location / { proxy_pass http://a; }`), a new line would land after
/// the `}`, so the directive goes right after the anchor on the same line instead.
pub fn insert_directive_after(file: FileId, source: &SourceFile, anchor: Span, text: &str) -> Edit {
    insert_directives_after(file, source, anchor, &[text])
}

/// [`insert_directive_after`] for several lines, in order. A line may carry its own extra
/// indentation (the body of a `map` block), written in steps of 4 spaces; each step becomes the
/// file's indent unit ([`indent_unit`]: a tab in a tab-indented file), and each line gets the
/// anchor line's indentation in front.
pub fn insert_directives_after(
    file: FileId,
    source: &SourceFile,
    anchor: Span,
    lines: &[&str],
) -> Edit {
    let src = source.text.as_slice();
    let anchor_end = anchor.end().min(src.len());
    let eol = line_ending(src);
    let end = line_content_end(src, anchor_end);
    if rest_is_blank_or_comment(&src[anchor_end..end]) {
        let indent = String::from_utf8_lossy(indentation(src, anchor.start())).into_owned();
        let lines = reindented(src, lines);
        let text: String = lines.iter().map(|l| format!("{eol}{indent}{l}")).collect();
        return Edit::insert(file, end, text);
    }
    let text: String = lines
        .iter()
        .map(|l| format!(" {}", l.trim_start()))
        .collect();
    Edit::insert(file, anchor_end, text)
}

/// Adds `text` as the first directive inside the block of `block_directive`, on its own line,
/// indented like the block's existing children, else one indent unit deeper than the block's
/// line. An empty one-line block (`http {}`) is opened up over three lines; a one-line block
/// with content gets the directive on the same line. `None` when the directive has no block of
/// directives (a simple directive, `map`, a Lua block).
pub fn insert_directive_in_block(
    file: FileId,
    source: &SourceFile,
    block_directive: DirRef<'_>,
    text: &str,
) -> Option<Edit> {
    insert_directives_in_block(file, source, block_directive, &[text])
}

/// [`insert_directive_in_block`] for several lines, in order (a whole `map { ... }` block: each
/// line gets the children's indentation in front of its own). Every rule that adds to a block
/// goes through here, so two rules adding the same line make the same edit and a fix pass
/// applies it once.
pub fn insert_directives_in_block(
    file: FileId,
    source: &SourceFile,
    block_directive: DirRef<'_>,
    lines: &[&str],
) -> Option<Edit> {
    let block = block_directive.block()?;
    if block.kind() != BlockKind::Directives {
        return None;
    }
    let src = source.text.as_slice();
    let open_end = block.open().end().min(src.len());
    let eol = line_ending(src);
    let block_indent = String::from_utf8_lossy(indentation(src, block_directive.span().start()));
    // Only the multi-line shapes need the children's indentation, and only a block without a
    // child on its own line needs the file's indent unit (a scan of the whole file: not done
    // for every one-line block a rule adds to).
    let on_lines = || {
        let child_indent = block
            .items()
            .map(|n| n.span().start())
            .find(|&start| starts_its_line(src, start))
            .map_or_else(
                || format!("{block_indent}{}", indent_unit(src)),
                |start| String::from_utf8_lossy(indentation(src, start)).into_owned(),
            );
        reindented(src, lines)
            .iter()
            .map(|l| format!("{eol}{child_indent}{l}"))
            .collect::<String>()
    };
    let end = line_content_end(src, open_end);
    if rest_is_blank_or_comment(&src[open_end..end]) {
        return Some(Edit::insert(file, end, on_lines()));
    }
    let close_start = block.close().start().min(src.len());
    if close_start >= open_end && src[open_end..close_start].iter().all(|b| is_blank(*b)) {
        return Some(Edit::replace(
            file,
            Span::new(open_end, close_start),
            format!("{}{eol}{block_indent}", on_lines()),
        ));
    }
    let inline: String = lines
        .iter()
        .map(|l| format!(" {}", l.trim_start()))
        .collect();
    Some(Edit::insert(file, open_end, inline))
}

/// Removes the directive at `span`. Alone on its line, the whole line goes (no blank line is
/// left; on a last line without a newline, the newline before it goes, so the file still does
/// not end with one). Sharing its line, only the directive and the blanks after it go (the
/// blanks before it when nothing follows), so `a; b; c;` becomes `a; c;`.
pub fn delete_directive(file: FileId, source: &SourceFile, span: Span) -> Edit {
    let src = source.text.as_slice();
    let start = span.start().min(src.len());
    let mut end = span.end().min(src.len()).max(start);
    // Back over blanks only (never the whole line: a one-line file of many directives would
    // rescan it for every deletion): the directive is alone when they reach the line start.
    let mut start_of_line = start;
    while start_of_line > 0 && is_blank(src[start_of_line - 1]) {
        start_of_line -= 1;
    }
    let alone_before = start_of_line == 0 || src[start_of_line - 1] == b'\n';
    while end < src.len() && is_blank(src[end]) {
        end += 1;
    }
    let at_eol = end == src.len() || src[end] == b'\n' || src[end..].starts_with(b"\r\n");
    if alone_before && at_eol {
        if end < src.len() {
            let after = if src[end] == b'\n' { end + 1 } else { end + 2 };
            return Edit::delete(file, Span::new(start_of_line, after));
        }
        // The last line, without a newline: take the line break before it instead.
        let from = start_of_line.checked_sub(1).map_or(0, |nl| {
            if nl > 0 && src[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            }
        });
        return Edit::delete(file, Span::new(from, end));
    }
    if at_eol {
        let mut from = start;
        while from > start_of_line && is_blank(src[from - 1]) {
            from -= 1;
        }
        return Edit::delete(file, Span::new(from, end));
    }
    Edit::delete(file, Span::new(start, end))
}

/// Replaces one word (a directive name or an argument) by `value`, written the way nginx will
/// read it back as `value`: the word's quotes are kept, and an unquoted word that needs quotes
/// (blanks, `;`, braces, quotes, a leading `#`) gets double quotes.
pub fn replace_word(file: FileId, word: WordRef<'_>, value: &str) -> Edit {
    Edit::replace(file, word.span(), quote_word(word.quote(), value))
}

/// `value` as an nginx token with quoting `quote` (or double quotes when a bare word cannot hold
/// it). Inside quotes nginx unescapes `\"`, `\'`, `\\`, so every backslash and the quote
/// character itself are escaped.
pub fn quote_word(quote: Quote, value: &str) -> String {
    let q = match quote {
        Quote::Raw => return value.to_owned(),
        Quote::Single => '\'',
        Quote::Double => '"',
        Quote::None if !needs_quotes(value) => return value.to_owned(),
        Quote::None => '"',
    };
    let mut out = String::with_capacity(value.len() + 2);
    out.push(q);
    for c in value.chars() {
        if c == q || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(q);
    out
}

fn needs_quotes(value: &str) -> bool {
    value.is_empty()
        || value.starts_with('#')
        || value.starts_with(['"', '\''])
        || value
            .bytes()
            .any(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b'}' | b'\\'))
}

/// The bytes of `span` (a whole directive a rule copies elsewhere) as text, exactly as written.
/// `None` when they are not UTF-8 (a Latin-1 header value): an edit's content is a `String`,
/// and a lossy conversion would write U+FFFD instead of the byte, so such a line cannot be
/// copied and the rule offers no fix for it.
pub fn directive_text(source: &SourceFile, span: Span) -> Option<&str> {
    std::str::from_utf8(source.text.get(span.range())?).ok()
}

/// The file's line ending: CRLF when its first line ends with one, else LF.
pub fn line_ending(src: &[u8]) -> &'static str {
    match memchr::memchr(b'\n', src) {
        Some(i) if i > 0 && src[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// `lines` with their own leading indentation (steps of 4 spaces) in the file's indent unit.
/// The file is scanned for its unit only when some line is indented.
fn reindented(src: &[u8], lines: &[&str]) -> Vec<String> {
    if !lines.iter().any(|l| l.starts_with(' ')) {
        return lines.iter().map(|l| (*l).to_owned()).collect();
    }
    let unit = indent_unit(src);
    lines
        .iter()
        .map(|l| {
            let body = l.trim_start_matches(' ');
            let spaces = l.len() - body.len();
            format!(
                "{}{}{body}",
                unit.repeat(spaces / 4),
                " ".repeat(spaces % 4)
            )
        })
        .collect()
}

/// The file's indent unit: a tab when most indented lines start with one, else the smallest
/// positive number of leading spaces (4 when nothing is indented).
pub fn indent_unit(src: &[u8]) -> String {
    let (mut tabs, mut spaced, mut smallest) = (0usize, 0usize, usize::MAX);
    for line in src.split(|b| *b == b'\n') {
        let content = line.iter().position(|b| !is_blank(*b) && *b != b'\r');
        let Some(first) = content else { continue };
        match line.first() {
            Some(b'\t') => tabs += 1,
            Some(b' ') => {
                spaced += 1;
                let n = line[..first].iter().take_while(|b| **b == b' ').count();
                smallest = smallest.min(n);
            }
            _ => {}
        }
    }
    if tabs > spaced {
        return "\t".to_owned();
    }
    if smallest == usize::MAX {
        return "    ".to_owned();
    }
    " ".repeat(smallest)
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t')
}

fn line_start(src: &[u8], offset: usize) -> usize {
    memchr::memrchr(b'\n', &src[..offset.min(src.len())]).map_or(0, |i| i + 1)
}

/// Where the line holding `offset` ends, before its `\n` or `\r\n` (or the end of the file).
fn line_content_end(src: &[u8], offset: usize) -> usize {
    let offset = offset.min(src.len());
    let nl = memchr::memchr(b'\n', &src[offset..]).map_or(src.len(), |i| offset + i);
    if nl > offset && src[nl - 1] == b'\r' && nl < src.len() {
        nl - 1
    } else {
        nl
    }
}

/// The blanks at the start of the line holding `offset`.
fn indentation(src: &[u8], offset: usize) -> &[u8] {
    let start = line_start(src, offset);
    let len = src[start..].iter().take_while(|b| is_blank(**b)).count();
    &src[start..start + len]
}

fn starts_its_line(src: &[u8], offset: usize) -> bool {
    let mut at = offset.min(src.len());
    while at > 0 && is_blank(src[at - 1]) {
        at -= 1;
    }
    at == 0 || src[at - 1] == b'\n'
}

fn rest_is_blank_or_comment(rest: &[u8]) -> bool {
    let rest = &rest[rest.iter().take_while(|b| is_blank(**b)).count()..];
    rest.is_empty() || rest[0] == b'#'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{parse, Ast};

    fn file(text: &str) -> (SourceFile, Ast) {
        let ast = parse(text.as_bytes()).unwrap_or_default();
        (
            SourceFile::new("t.conf".into(), "t.conf".into(), text.as_bytes().to_vec()),
            ast,
        )
    }

    fn apply(src: &SourceFile, edit: &Edit) -> String {
        let mut out = src.text.to_vec();
        out.splice(edit.span.range(), edit.content.bytes().collect::<Vec<_>>());
        String::from_utf8_lossy(&out).into_owned()
    }

    fn find<'a>(ast: &'a Ast, path: &[&str]) -> DirRef<'a> {
        let mut items: Vec<DirRef<'_>> = ast.directives().collect();
        let mut found = None;
        for name in path {
            let d = items.iter().find(|d| d.name() == *name).copied();
            let Some(d) = d else { panic!("no {name}") };
            found = Some(d);
            items = d.children().collect();
        }
        found.unwrap_or_else(|| panic!("empty path"))
    }

    fn arg(d: DirRef<'_>, i: usize) -> WordRef<'_> {
        d.args()
            .get(i)
            .unwrap_or_else(|| panic!("{} has no argument {i}", d.name()))
    }

    #[test]
    fn inserted_blocks_follow_the_files_indent_unit() {
        let lines = ["map $a $b {", "    default 1;", "}"];
        for (text, want) in [
            (
                "http {\n\tserver {}\n}\n",
                "http {\n\tmap $a $b {\n\t\tdefault 1;\n\t}\n\tserver {}\n}\n",
            ),
            (
                "http {\n  server {}\n}\n",
                "http {\n  map $a $b {\n    default 1;\n  }\n  server {}\n}\n",
            ),
            (
                "http {\n    server {}\n}\n",
                "http {\n    map $a $b {\n        default 1;\n    }\n    server {}\n}\n",
            ),
        ] {
            let (src, ast) = file(text);
            let http = find(&ast, &["http"]);
            let edit = insert_directives_in_block(FileId(0), &src, http, &lines)
                .unwrap_or_else(|| panic!("no edit"));
            assert_eq!(apply(&src, &edit), want);
        }
    }

    #[test]
    fn insert_after_uses_the_anchor_indent_and_the_file_line_ending() {
        let text = "http {\r\n    server {\r\n        proxy_pass http://a; # app\r\n    }\r\n}\r\n";
        let (src, ast) = file(text);
        let anchor = find(&ast, &["http", "server", "proxy_pass"]).span();
        let e = insert_directive_after(FileId(0), &src, anchor, "proxy_http_version 1.1;");
        assert_eq!(
            apply(&src, &e),
            "http {\r\n    server {\r\n        proxy_pass http://a; # app\r\n        proxy_http_version 1.1;\r\n    }\r\n}\r\n"
        );
    }

    #[test]
    fn insert_after_on_a_one_line_block_stays_inside_it() {
        let (src, ast) = file("location / { proxy_pass http://a; }\n");
        let anchor = find(&ast, &["location", "proxy_pass"]).span();
        let e = insert_directive_after(FileId(0), &src, anchor, "x 1;");
        assert_eq!(
            apply(&src, &e),
            "location / { proxy_pass http://a; x 1; }\n"
        );
    }

    #[test]
    fn insert_after_on_a_last_line_without_newline() {
        let (src, ast) = file("a 1;\n\tb 2;");
        let anchor = find(&ast, &["b"]).span();
        let e = insert_directive_after(FileId(0), &src, anchor, "c 3;");
        assert_eq!(apply(&src, &e), "a 1;\n\tb 2;\n\tc 3;");
    }

    #[test]
    fn insert_in_block_follows_siblings_or_the_file_unit() {
        let (src, ast) = file("http {\n  server {\n      listen 80;\n  }\n}\n");
        let server = find(&ast, &["http", "server"]);
        let e = insert_directive_in_block(FileId(0), &src, server, "x 1;").unwrap_or_else(|| {
            panic!("block");
        });
        assert_eq!(
            apply(&src, &e),
            "http {\n  server {\n      x 1;\n      listen 80;\n  }\n}\n"
        );
        // No children: one unit (two spaces here) deeper than the block's line.
        let (src, ast) = file("http {\n  server {\n  }\n}\n");
        let server = find(&ast, &["http", "server"]);
        let e = insert_directive_in_block(FileId(0), &src, server, "x 1;").unwrap_or_else(|| {
            panic!("block");
        });
        assert_eq!(apply(&src, &e), "http {\n  server {\n    x 1;\n  }\n}\n");
        // Tabs.
        let (src, ast) = file("http {\n\tserver {\n\t}\n}\n");
        let server = find(&ast, &["http", "server"]);
        let e = insert_directive_in_block(FileId(0), &src, server, "x 1;").unwrap_or_else(|| {
            panic!("block");
        });
        assert_eq!(apply(&src, &e), "http {\n\tserver {\n\t\tx 1;\n\t}\n}\n");
    }

    #[test]
    fn insert_in_block_opens_an_empty_one_line_block() {
        let (src, ast) = file("events {}\nhttp { }\n");
        let http = find(&ast, &["http"]);
        let e = insert_directive_in_block(FileId(0), &src, http, "x 1;").unwrap_or_else(|| {
            panic!("block");
        });
        assert_eq!(apply(&src, &e), "events {}\nhttp {\n    x 1;\n}\n");
        let (src, ast) = file("location / { a 1; }\n");
        let loc = find(&ast, &["location"]);
        let e = insert_directive_in_block(FileId(0), &src, loc, "x 1;").unwrap_or_else(|| {
            panic!("block");
        });
        assert_eq!(apply(&src, &e), "location / { x 1; a 1; }\n");
        let (src, ast) = file("a 1;\n");
        assert!(insert_directive_in_block(FileId(0), &src, find(&ast, &["a"]), "x;").is_none());
    }

    #[test]
    fn delete_removes_the_line_or_just_the_directive() {
        let (src, ast) = file("a {\r\n    x 1;\r\n    y 2;\r\n}\r\n");
        let x = find(&ast, &["a", "x"]).span();
        let e = delete_directive(FileId(0), &src, x);
        assert_eq!(apply(&src, &e), "a {\r\n    y 2;\r\n}\r\n");
        let (src, ast) = file("a { x 1; y 2; }");
        let x = find(&ast, &["a", "x"]).span();
        assert_eq!(
            apply(&src, &delete_directive(FileId(0), &src, x)),
            "a { y 2; }"
        );
        let (src, ast) = file("x 1; y 2;\n");
        let y = find(&ast, &["y"]).span();
        assert_eq!(apply(&src, &delete_directive(FileId(0), &src, y)), "x 1;\n");
        // A trailing comment stays.
        let (src, ast) = file("x 1; # why\n");
        let x = find(&ast, &["x"]).span();
        assert_eq!(
            apply(&src, &delete_directive(FileId(0), &src, x)),
            "# why\n"
        );
        // Last line without a newline: the file still ends without one.
        let (src, ast) = file("a 1;\r\nb 2;");
        let b = find(&ast, &["b"]).span();
        assert_eq!(apply(&src, &delete_directive(FileId(0), &src, b)), "a 1;");
        let (src, ast) = file("b 2;");
        let b = find(&ast, &["b"]).span();
        assert_eq!(apply(&src, &delete_directive(FileId(0), &src, b)), "");
    }

    #[test]
    fn replace_word_keeps_or_adds_quotes() {
        let (src, ast) = file("a 'x' b \"y\";\n");
        let a = find(&ast, &["a"]);
        assert_eq!(
            apply(&src, &replace_word(FileId(0), a.name_word(), "z")),
            "z 'x' b \"y\";\n"
        );
        assert_eq!(
            apply(&src, &replace_word(FileId(0), arg(a, 0), "it's")),
            "a 'it\\'s' b \"y\";\n"
        );
        assert_eq!(
            apply(&src, &replace_word(FileId(0), arg(a, 1), "two words")),
            "a 'x' \"two words\" \"y\";\n"
        );
        assert_eq!(quote_word(Quote::None, "a\\d"), "\"a\\\\d\"");
        assert_eq!(quote_word(Quote::None, "$host:80"), "$host:80");
    }

    #[test]
    fn directive_text_is_exact_or_nothing() {
        let src = SourceFile::new(
            "t.conf".into(),
            "t.conf".into(),
            b"a \"caf\xe9\";\nb \"caf\xc3\xa9\";\n".to_vec(),
        );
        assert_eq!(directive_text(&src, Span::new(0, 9)), None);
        assert_eq!(
            directive_text(&src, Span::new(10, 20)),
            Some("b \"caf\u{e9}\";")
        );
        assert_eq!(directive_text(&src, Span::new(20, 99)), None);
    }

    #[test]
    fn detects_indent_units_and_line_endings() {
        assert_eq!(indent_unit(b"a {\n  b {\n    c;\n  }\n}\n"), "  ");
        assert_eq!(indent_unit(b"a {\n\tb;\n}\n"), "\t");
        assert_eq!(indent_unit(b"a;\n"), "    ");
        assert_eq!(line_ending(b"a;\r\nb;\r\n"), "\r\n");
        assert_eq!(line_ending(b"a;"), "\n");
    }
}
