//! Regular expressions compiled as nginx compiles them: PCRE2 (the library nginx links),
//! `PCRE2_CASELESS` for `~*` and the other case-insensitive places, no other option
//! (`ngx_regex_compile` in src/core/ngx_regex.c passes only CASELESS/MULTILINE, never UTF), and
//! nginx's own error text: `pcre2_compile() failed: <reason> in "<pattern>" at "<rest>"`.

use pcre2::bytes::{Regex, RegexBuilder};

/// A compiled pattern, or nginx's message for why PCRE2 refused it.
pub fn compile(pattern: &str, caseless: bool) -> Result<Regex, String> {
    RegexBuilder::new()
        .caseless(caseless)
        .build(pattern)
        .map_err(|e| nginx_message(pattern, &e))
}

/// `ngx_regex_compile`'s wording: the reason, the pattern, and the pattern from the offset
/// PCRE2 reports (left out when the offset is the end of the pattern).
fn nginx_message(pattern: &str, e: &pcre2::Error) -> String {
    let text = e.to_string();
    // The crate prints "PCRE2: error compiling pattern at offset N: reason".
    let reason = text
        .split_once(": ")
        .map(|(_, r)| r)
        .unwrap_or(&text)
        .split_once(": ")
        .map_or_else(
            || text.trim_start_matches("PCRE2: ").to_owned(),
            |(_, r)| r.to_owned(),
        );
    match e.offset() {
        Some(off) if off < pattern.len() => {
            let rest = pattern.get(off..).unwrap_or("");
            format!("pcre2_compile() failed: {reason} in \"{pattern}\" at \"{rest}\"")
        }
        _ => format!("pcre2_compile() failed: {reason} in \"{pattern}\""),
    }
}

/// The names of the named captures (`(?<name>..)`, `(?P<name>..)`, `(?'name'..)`) of a
/// compiled pattern: nginx makes each one a variable (`ngx_http_regex_compile`).
pub fn named_captures(re: &Regex) -> impl Iterator<Item = &str> {
    re.capture_names().iter().filter_map(|n| n.as_deref())
}

/// Number of capture groups (`$1`..`$9` refer to them).
pub fn capture_count(re: &Regex) -> usize {
    re.captures_len().saturating_sub(1)
}

/// True when `re` matches somewhere in `subject`; a matching error (PCRE2's match limit) counts
/// as no match, as it does for nginx (which logs it and goes on).
pub fn is_match(re: &Regex, subject: &str) -> bool {
    re.is_match(subject.as_bytes()).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcre_only_syntax_compiles() {
        for p in [
            r"^/(?!admin)",
            r"(?<=/)x",
            r"(a)\1",
            r"a++",
            r"(?>a)",
            r"^/\Kx",
        ] {
            assert!(compile(p, false).is_ok(), "{p}");
        }
    }

    #[test]
    fn messages_are_nginx_words() {
        let e = compile("^/(a", false).err().unwrap_or_default();
        assert_eq!(
            e,
            "pcre2_compile() failed: missing closing parenthesis in \"^/(a\""
        );
        let e = compile("a)b", false).err().unwrap_or_default();
        assert!(e.contains("in \"a)b\" at \""), "{e}");
    }

    #[test]
    fn caseless_and_captures() -> Result<(), String> {
        let re = compile(r"^/(?<app>[a-z]+)/(\d+)$", true)?;
        assert!(is_match(&re, "/APP/12"));
        assert_eq!(named_captures(&re).collect::<Vec<_>>(), ["app"]);
        assert_eq!(capture_count(&re), 2);
        Ok(())
    }
}
