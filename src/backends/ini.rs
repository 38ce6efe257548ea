//! A reader for PHP's ini syntax, as used by `php.ini` and by php-fpm's own config files.
//!
//! It follows what PHP's scanner (`Zend/zend_ini_scanner.l`, `ZEND_INI_SCANNER_NORMAL`) accepts
//! on the lines real configs contain, keeping byte spans so a rule can point at a value:
//!
//! - `[section]` headers; `; comments`, also after an unquoted value (`key = 30 ; note`).
//! - `key = value`, `key[] = value`, `key[offset] = value`; spaces around `=` are not part of
//!   either side.
//! - `"double quoted"` values (escapes `\"`, `\\`, `\$`) and `'single quoted'` ones (no escapes);
//!   quoted and unquoted pieces next to each other are concatenated, as PHP does.
//! - `#` is **not** a comment: "Hash marks (#) are no longer recognized as comments" since PHP
//!   7.0 (PHP manual, `parse_ini_file`, changelog). php.ini silently ignores such a line when it
//!   has no `=`; php-fpm refuses to start on it ("value is NULL for a ZEND_INI_PARSER_ENTRY", see
//!   laravel/valet#894). Either way the line is reported as a [`Problem`] and not read.
//!
//! Input is bytes: any file is accepted, text is decoded lossily per piece so spans always
//! index the original bytes. Lines PHP would reject become [`Problem`]s, never panics.
//!
//! Not modelled (the values are kept verbatim): `${ENV}` interpolation, constants and the
//! `& | ~ !` expression operators (`error_reporting = E_ALL & ~E_NOTICE`), the `true/on/yes`
//! -> `"1"` conversion (see [`IniEntry::as_bool`]), and double-quoted strings that run over
//! several lines (reported as unterminated).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::syntax::Span;

use super::{BackendError, Problem};

/// Which program reads the file: the syntax is the same, the reaction to bad lines differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// PHP itself reading php.ini (and conf.d/*.ini).
    PhpIni,
    /// php-fpm reading php-fpm.conf and pool files: every bad line is fatal there.
    Fpm,
}

/// One `[name]` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniSection {
    /// Name without brackets, quotes or surrounding blanks.
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// Span of the whole `[name]`.
    pub span: Span,
}

/// One `key = value` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniEntry {
    /// The `[section]` in force (None before the first header).
    pub section: Option<String>,
    /// The key without `[offset]`, e.g. `php_admin_value`.
    pub key: String,
    /// `Some("")` for `key[] =`, `Some("x")` for `key[x] =`, None for plain keys.
    pub offset: Option<String>,
    /// The value text as written: after `=`, without a trailing comment or blanks.
    pub raw_value: String,
    /// The value PHP sees: quotes removed, escapes applied, pieces concatenated.
    pub value: String,
    /// 1-based line.
    pub line: usize,
    /// Span of `raw_value` (empty span right after `=` for an empty value).
    pub span: Span,
    /// Span of the key (with its `[offset]`).
    pub key_span: Span,
}

impl IniEntry {
    /// PHP's boolean reading of an unquoted value: `1/on/yes/true` are true, `0/off/no/false/
    /// none/""` are false (PHP manual, "The configuration file": "Boolean values can be set to
    /// either: true, on, yes or false, off, no, none").
    pub fn as_bool(&self) -> Option<bool> {
        match self.value.trim().to_ascii_lowercase().as_str() {
            "1" | "on" | "yes" | "true" => Some(true),
            "" | "0" | "off" | "no" | "false" | "none" => Some(false),
            _ => None,
        }
    }
}

/// A line, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IniItem {
    Section(IniSection),
    Entry(IniEntry),
}

/// One parsed ini file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IniFile {
    pub path: PathBuf,
    pub items: Vec<IniItem>,
    pub problems: Vec<Problem>,
}

impl IniFile {
    /// Every `key = value` line, in file order.
    pub fn entries(&self) -> impl Iterator<Item = &IniEntry> {
        self.items.iter().filter_map(|item| match item {
            IniItem::Entry(entry) => Some(entry),
            IniItem::Section(_) => None,
        })
    }

    /// The entry PHP ends up using for a php.ini directive: the last plain `key =` line (a later
    /// line overrides an earlier one), ignoring `[PATH=...]` and `[HOST=...]` sections, which
    /// apply only to some requests (PHP manual, "List of php.ini sections"). Keys compare exactly,
    /// as PHP's do.
    pub fn effective(&self, key: &str) -> Option<&IniEntry> {
        self.entries()
            .filter(|e| e.key == key && e.offset.is_none() && !is_per_request_section(e))
            .last()
    }
}

fn is_per_request_section(entry: &IniEntry) -> bool {
    entry.section.as_deref().is_some_and(|s| {
        let upper = s.get(..5).map(str::to_ascii_uppercase);
        matches!(upper.as_deref(), Some("PATH=" | "HOST="))
    })
}

/// Reads and parses a file. Only I/O fails; bad lines are [`IniFile::problems`].
pub fn read_ini(path: &Path, dialect: Dialect) -> Result<IniFile, BackendError> {
    let bytes = crate::config::read_config_file(path).map_err(|source| BackendError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse_ini(path, &bytes, dialect))
}

/// Parses ini text. `path` is only recorded, never opened.
pub fn parse_ini(path: &Path, src: &[u8], dialect: Dialect) -> IniFile {
    let mut file = IniFile {
        path: path.to_path_buf(),
        items: Vec::new(),
        problems: Vec::new(),
    };
    let mut section: Option<String> = None;
    let mut start = 0;
    let mut line_no = 0;
    while start < src.len() {
        line_no += 1;
        let end = memchr::memchr(b'\n', &src[start..]).map_or(src.len(), |i| start + i);
        let mut line_end = end;
        if line_end > start && src[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let mut cx = LineCx {
            src,
            line: line_no,
            path,
            dialect,
            problems: &mut file.problems,
        };
        match cx.parse_line(start, line_end, section.as_deref()) {
            Some(IniItem::Section(s)) => {
                section = Some(s.name.clone());
                file.items.push(IniItem::Section(s));
            }
            Some(item) => file.items.push(item),
            None => {}
        }
        start = end + 1;
    }
    file
}

struct LineCx<'a, 'p> {
    src: &'a [u8],
    line: usize,
    path: &'a Path,
    dialect: Dialect,
    problems: &'p mut Vec<Problem>,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

impl LineCx<'_, '_> {
    fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(Problem {
            file: self.path.to_path_buf(),
            line: self.line,
            message: message.into(),
        });
    }

    fn skip_blanks(&self, mut i: usize, end: usize) -> usize {
        while i < end && is_blank(self.src[i]) {
            i += 1;
        }
        i
    }

    fn parse_line(&mut self, start: usize, end: usize, section: Option<&str>) -> Option<IniItem> {
        let i = self.skip_blanks(start, end);
        match self.src.get(i) {
            None => None,
            Some(_) if i == end => None,
            Some(b';') => None,
            Some(b'#') => {
                let message = match self.dialect {
                    Dialect::PhpIni => "'#' does not start a comment since PHP 7.0: PHP reads this line as a key (use ';')",
                    Dialect::Fpm => "'#' does not start a comment since PHP 7.0: php-fpm refuses to start on this line (use ';')",
                };
                self.problem(message);
                None
            }
            Some(b'[') => self.parse_section(i, end),
            Some(_) => self.parse_entry(i, end, section),
        }
    }

    fn parse_section(&mut self, open: usize, end: usize) -> Option<IniItem> {
        // The name runs to the first `]` outside quotes.
        let body = self.scan_value(open + 1, end, b']');
        if body.stop >= end || self.src[body.stop] != b']' {
            self.problem("section header has no closing ']'");
            return None;
        }
        let close = body.stop;
        let rest = self.skip_blanks(close + 1, end);
        if rest < end && self.src[rest] != b';' {
            self.problem(format!(
                "unexpected text after section header: '{}'",
                lossy(&self.src[rest..end])
            ));
        }
        Some(IniItem::Section(IniSection {
            name: body.value.trim().to_string(),
            line: self.line,
            span: Span::new(open, close + 1),
        }))
    }

    fn parse_entry(
        &mut self,
        key_start: usize,
        end: usize,
        section: Option<&str>,
    ) -> Option<IniItem> {
        // PHP's LABEL: anything up to `=` or `[` except these, which are syntax errors in a key.
        const BAD_IN_KEY: &[u8] = b"\t;&|^$~(){}!\"]";
        let mut i = key_start;
        while i < end && !matches!(self.src[i], b'=' | b'[') {
            i += 1;
        }
        let key_raw = &self.src[key_start..i];
        let key_trimmed_len =
            key_raw.len() - key_raw.iter().rev().take_while(|b| is_blank(**b)).count();
        let key_bytes = &key_raw[..key_trimmed_len];
        if i >= end {
            let message = match self.dialect {
                Dialect::PhpIni => "line has no '=': PHP ignores it",
                Dialect::Fpm => "line has no '=': php-fpm refuses to start (value is NULL)",
            };
            self.problem(message);
            return None;
        }
        if key_bytes.is_empty() {
            self.problem("'=' without a key before it");
            return None;
        }
        if let Some(bad) = key_bytes.iter().find(|b| BAD_IN_KEY.contains(b)) {
            self.problem(format!(
                "character '{}' is not allowed in a key: PHP reports a syntax error",
                char::from(*bad).escape_default()
            ));
            return None;
        }
        let mut key_end = key_start + key_trimmed_len;
        let mut offset = None;
        if self.src[i] == b'[' {
            let inner = self.skip_blanks(i + 1, end);
            let body = self.scan_value(inner, end, b']');
            if body.stop >= end {
                self.problem("'[' after the key has no closing ']'");
                return None;
            }
            offset = Some(body.value.trim().to_string());
            key_end = body.stop + 1;
            i = self.skip_blanks(body.stop + 1, end);
            if i >= end || self.src[i] != b'=' {
                self.problem("expected '=' after ']'");
                return None;
            }
        }
        let value_start = self.skip_blanks(i + 1, end);
        let scanned = self.scan_value(value_start, end, b';');
        // `scanned.stop` is a `;` comment or the end of the line; blanks before it are not value.
        let mut value_end = scanned.stop;
        while value_end > value_start && is_blank(self.src[value_end - 1]) {
            value_end -= 1;
        }
        Some(IniItem::Entry(IniEntry {
            section: section.map(str::to_string),
            key: lossy(key_bytes).into_owned(),
            offset,
            raw_value: lossy(&self.src[value_start..value_end]).into_owned(),
            value: scanned.value.trim_end_matches([' ', '\t']).to_string(),
            line: self.line,
            span: Span::new(value_start, value_end),
            key_span: Span::new(key_start, key_end),
        }))
    }

    /// Scans a value from `start` to `stop` (outside quotes) or the end of the line, unquoting
    /// as it goes. An unterminated quote is reported and runs to the end of the line.
    fn scan_value(&mut self, start: usize, end: usize, stop: u8) -> Scanned {
        let mut out: Vec<u8> = Vec::new();
        let mut i = start;
        while i < end {
            let b = self.src[i];
            if b == stop || b == b';' {
                break;
            }
            match b {
                b'"' => {
                    i += 1;
                    let mut closed = false;
                    while i < end {
                        match self.src[i] {
                            b'"' => {
                                closed = true;
                                i += 1;
                                break;
                            }
                            b'\\'
                                if i + 1 < end
                                    && matches!(self.src[i + 1], b'"' | b'\\' | b'$') =>
                            {
                                out.push(self.src[i + 1]);
                                i += 2;
                            }
                            other => {
                                out.push(other);
                                i += 1;
                            }
                        }
                    }
                    if !closed {
                        self.problem("unterminated double quote");
                    }
                }
                b'\'' => {
                    i += 1;
                    match memchr::memchr(b'\'', &self.src[i..end]) {
                        Some(len) => {
                            out.extend_from_slice(&self.src[i..i + len]);
                            i += len + 1;
                        }
                        None => {
                            self.problem("unterminated single quote");
                            out.extend_from_slice(&self.src[i..end]);
                            i = end;
                        }
                    }
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        Scanned {
            value: String::from_utf8_lossy(&out).into_owned(),
            stop: i,
        }
    }
}

struct Scanned {
    value: String,
    stop: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> IniFile {
        parse_ini(Path::new("t.ini"), src.as_bytes(), Dialect::PhpIni)
    }

    fn entry(file: &IniFile, n: usize) -> &IniEntry {
        file.entries()
            .nth(n)
            .unwrap_or_else(|| panic!("no entry {n}: {file:#?}"))
    }

    #[test]
    fn plain_entry_with_spans() {
        let src = "max_execution_time = 30\n";
        let f = parse(src);
        let e = entry(&f, 0);
        assert_eq!(e.key, "max_execution_time");
        assert_eq!(e.value, "30");
        assert_eq!(e.raw_value, "30");
        assert_eq!(e.line, 1);
        assert_eq!(&src[e.span.range()], "30");
        assert_eq!(&src[e.key_span.range()], "max_execution_time");
        assert!(f.problems.is_empty());
    }

    #[test]
    fn sections_comments_and_lines() {
        let src = "; top\n[PHP]\n\n  engine = On ; trailing\n[Date] ; c\ndate.timezone = \"Europe/Berlin\"\n";
        let f = parse(src);
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        let engine = entry(&f, 0);
        assert_eq!(engine.section.as_deref(), Some("PHP"));
        assert_eq!(engine.value, "On");
        assert_eq!(engine.line, 4);
        assert_eq!(engine.as_bool(), Some(true));
        let tz = entry(&f, 1);
        assert_eq!(tz.section.as_deref(), Some("Date"));
        assert_eq!(tz.raw_value, "\"Europe/Berlin\"");
        assert_eq!(tz.value, "Europe/Berlin");
        assert_eq!(&src[tz.span.range()], "\"Europe/Berlin\"");
        match &f.items[0] {
            IniItem::Section(s) => assert_eq!((s.name.as_str(), s.line), ("PHP", 2)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn quotes_keep_semicolons_and_escapes() {
        let f = parse("a = \"x ; y\" ; c\nb = 'it''s'\nc = \"q\\\"q\\\\\"\nd = pre\"mid\"post\n");
        assert_eq!(entry(&f, 0).value, "x ; y");
        assert_eq!(entry(&f, 0).raw_value, "\"x ; y\"");
        assert_eq!(entry(&f, 1).value, "its");
        assert_eq!(entry(&f, 2).value, "q\"q\\");
        assert_eq!(entry(&f, 3).value, "premidpost");
        assert!(f.problems.is_empty(), "{:?}", f.problems);
    }

    #[test]
    fn empty_values_and_arrays() {
        let src =
            "a =\nb = ;comment\nextension[] = x\nphp_value[memory_limit] = 64M\nk [ o ] = v\n";
        let f = parse(src);
        assert!(f.problems.is_empty(), "{:?}", f.problems);
        let a = entry(&f, 0);
        assert_eq!((a.value.as_str(), a.span.is_empty()), ("", true));
        assert_eq!(a.span.start(), 3);
        assert_eq!(entry(&f, 1).value, "");
        let ext = entry(&f, 2);
        assert_eq!(
            (ext.key.as_str(), ext.offset.as_deref()),
            ("extension", Some(""))
        );
        let pv = entry(&f, 3);
        assert_eq!(pv.key, "php_value");
        assert_eq!(pv.offset.as_deref(), Some("memory_limit"));
        assert_eq!(pv.value, "64M");
        assert_eq!(&src[pv.key_span.range()], "php_value[memory_limit]");
        let k = entry(&f, 4);
        assert_eq!((k.key.as_str(), k.offset.as_deref()), ("k", Some("o")));
    }

    #[test]
    fn hash_lines_are_problems_not_comments() {
        let f = parse("# old style\nkey = 1\n");
        assert_eq!(f.entries().count(), 1);
        assert_eq!(f.problems.len(), 1);
        assert_eq!(f.problems[0].line, 1);
        assert!(f.problems[0].message.contains("PHP 7.0"));
        let fpm = parse_ini(Path::new("p.conf"), b"#x\n", Dialect::Fpm);
        assert!(fpm.problems[0].message.contains("php-fpm"));
    }

    #[test]
    fn bad_lines_become_problems() {
        let f = parse(
            "novalue\n[unclosed\nk(x) = 1\n= 3\nq = \"open\nr = 'open\nk[x = 1\n[s] junk\nok = 1\n",
        );
        let lines: Vec<usize> = f.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 6, 7, 8], "{:#?}", f.problems);
        // The unterminated quotes still produce entries, and so does the header with junk.
        assert_eq!(
            f.entries().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["q", "r", "ok"]
        );
        assert_eq!(entry(&f, 2).section.as_deref(), Some("s"));
    }

    #[test]
    fn crlf_and_no_final_newline() {
        let src = "a = 1\r\nb = 2";
        let f = parse(src);
        assert_eq!(entry(&f, 0).value, "1");
        assert_eq!(entry(&f, 0).span, Span::new(4, 5));
        assert_eq!(entry(&f, 1).value, "2");
        assert_eq!(entry(&f, 1).line, 2);
    }

    #[test]
    fn any_bytes_are_accepted_and_spans_index_bytes() {
        let src = b"k\xff = v\xfe\xfd ; c\n\x00\x01\x02\n[\xc3\n";
        let f = parse_ini(Path::new("bin"), src, Dialect::PhpIni);
        let e = entry(&f, 0);
        assert_eq!(&src[e.span.range()], b"v\xfe\xfd");
        assert!(e.key.starts_with('k'));
        assert_eq!(f.problems.len(), 2);
    }

    #[test]
    fn effective_is_last_and_skips_path_sections() {
        let f = parse(
            "t = 1\n[PHP]\nt = 2\n[PATH=/var/www/slow]\nt = 300\n[HOST=example.com]\nt = 5\n",
        );
        let e = f.effective("t").map(|e| e.value.as_str());
        assert_eq!(e, Some("2"));
        assert_eq!(f.effective("missing"), None);
    }

    proptest::proptest! {
        /// Any bytes: no panic, every span inside the input and on a char boundary of nothing in
        /// particular (spans index bytes), every line number within the file.
        #[test]
        fn arbitrary_bytes_parse(src in proptest::collection::vec(
            proptest::sample::select(b"ab =[];#'\"\\\r\n\t$\xff".to_vec()), 0..64)) {
            for dialect in [Dialect::PhpIni, Dialect::Fpm] {
                let f = parse_ini(Path::new("p"), &src, dialect);
                let lines = src.iter().filter(|b| **b == b'\n').count() + 1;
                for e in f.entries() {
                    proptest::prop_assert!(e.span.start() <= e.span.end() && e.span.end() <= src.len());
                    proptest::prop_assert!(e.key_span.end() <= e.span.start());
                    proptest::prop_assert!(e.line >= 1 && e.line <= lines);
                }
                for p in &f.problems {
                    proptest::prop_assert!(p.line >= 1 && p.line <= lines);
                }
            }
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for src in [
            &b""[..],
            b"\n",
            b"[",
            b"]",
            b"=",
            b"[]",
            b"k[",
            b"k[]",
            b"k[]=",
            b"\"",
            b"'",
            b"k=\"",
            b"k='",
            b"\r",
            b"\r\n\r\n",
            b"k=\\",
            b"k=\"\\",
            b";",
            b"#",
            b" \t ",
            b"[\"a]\"]",
        ] {
            let _ = parse_ini(Path::new("x"), src, Dialect::Fpm);
            let _ = parse_ini(Path::new("x"), src, Dialect::PhpIni);
        }
    }
}
