//! Token recognisers written with nom over raw bytes.
//!
//! They mirror the states of `ngx_conf_read_token`: whitespace is only space, tab, CR and LF; a
//! `#` opens a comment only where a token would start; a quote opens a quoted token only at a
//! token start; a backslash protects the next byte everywhere; `$` followed by `{` keeps a token
//! going (`${var}`), any other `{` ends it. `}`, `#` and quotes inside an unquoted token are
//! literal. The parser decides what the tokens mean.

use std::borrow::Cow;

use nom::branch::alt;
use nom::bytes::complete::{tag, take, take_till, take_while, take_while1};
use nom::combinator::recognize;
use nom::multi::many0_count;
use nom::sequence::preceded;
use nom::{IResult, Parser};

/// nginx's whitespace: `' '`, `'\t'`, CR, LF. Nothing else (not form feed, not vertical tab).
pub(super) const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Bytes that need a decision inside an unquoted token.
const fn unquoted_special(b: u8) -> bool {
    is_space(b) || matches!(b, b';' | b'{' | b'\\' | b'$')
}

pub(super) fn whitespace(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(is_space).parse(i)
}

/// `#` up to, not including, the next LF.
pub(super) fn comment(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(preceded(tag(&b"#"[..]), take_till(|b| b == b'\n'))).parse(i)
}

/// A backslash and the byte it protects.
fn escape(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(preceded(tag(&b"\\"[..]), take(1usize))).parse(i)
}

/// `$` and any `{` right after it: `${host}` does not open a block.
fn dollar(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize(preceded(tag(&b"$"[..]), take_while(|b| b == b'{'))).parse(i)
}

/// An unquoted token, as written. Stops before whitespace, `;`, or a `{` not right after `$`.
/// A backslash as the very last byte of the input is left unconsumed (nginx: unexpected end of
/// file).
#[cfg(test)]
pub(super) fn unquoted(i: &[u8]) -> IResult<&[u8], &[u8]> {
    unquoted_escaped(i).map(|(rest, (raw, _))| (rest, raw))
}

/// [`unquoted`], also telling whether the token holds a backslash (only then does its value
/// differ from its bytes).
pub(super) fn unquoted_escaped(i: &[u8]) -> IResult<&[u8], (&[u8], bool)> {
    // Hot path of the whole parser: one table lookup per byte for the ordinary run, the
    // combinators only when a backslash or `$` needs a decision.
    let mut pos = 0;
    let mut escaped = false;
    loop {
        pos += i[pos..]
            .iter()
            .position(|&b| SPECIAL[usize::from(b)])
            .unwrap_or(i.len() - pos);
        match i.get(pos) {
            Some(b'\\') => match escape(&i[pos..]) {
                Ok((rest, _)) => {
                    pos = i.len() - rest.len();
                    escaped = true;
                }
                Err(_) => break,
            },
            Some(b'$') => match dollar(&i[pos..]) {
                Ok((rest, _)) => pos = i.len() - rest.len(),
                Err(_) => break,
            },
            _ => break,
        }
    }
    if pos == 0 {
        return Err(nom::Err::Error(nom::error::Error::new(
            i,
            nom::error::ErrorKind::TakeWhile1,
        )));
    }
    Ok((&i[pos..], (&i[..pos], escaped)))
}

/// [`unquoted_special`] as a table.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = unquoted_special(b as u8);
        b += 1;
    }
    t
};

/// The body of a quoted token up to (not including) the closing `quote`.
pub(super) fn quoted_body(quote: u8) -> impl FnMut(&[u8]) -> IResult<&[u8], &[u8]> {
    move |i: &[u8]| {
        recognize(many0_count(alt((
            take_while1(|b| b != quote && b != b'\\'),
            escape,
        ))))
        .parse(i)
    }
}

/// The value nginx stores for a token's content: `\"`, `\'`, `\\` lose their backslash,
/// `\t \r \n` become control characters, any other backslash stays.
pub(super) fn unescape(content: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(b'\\', content).is_none() {
        return Cow::Borrowed(content);
    }
    let mut out = Vec::with_capacity(content.len());
    let mut i = 0;
    while i < content.len() {
        let b = content[i];
        if b == b'\\' {
            match content.get(i + 1) {
                Some(&c @ (b'"' | b'\'' | b'\\')) => {
                    out.push(c);
                    i += 2;
                    continue;
                }
                Some(b't') => {
                    out.push(b'\t');
                    i += 2;
                    continue;
                }
                Some(b'r') => {
                    out.push(b'\r');
                    i += 2;
                    continue;
                }
                Some(b'n') => {
                    out.push(b'\n');
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoted_stops_where_nginx_does() {
        assert_eq!(unquoted(b"abc;").map(|r| r.1), Ok(&b"abc"[..]));
        assert_eq!(unquoted(b"a}b#c\"d' x").map(|r| r.1), Ok(&b"a}b#c\"d'"[..]));
        assert_eq!(unquoted(b"${host}x {").map(|r| r.1), Ok(&b"${host}x"[..]));
        assert_eq!(unquoted(b"$a{").map(|r| r.1), Ok(&b"$a"[..]));
        assert_eq!(unquoted(b"a\\ b;").map(|r| r.1), Ok(&b"a\\ b"[..]));
        assert_eq!(unquoted(b"a\\;b;").map(|r| r.1), Ok(&b"a\\;b"[..]));
        // A trailing backslash at EOF is not consumed.
        assert_eq!(unquoted(b"ab\\").map(|r| r.0), Ok(&b"\\"[..]));
    }

    #[test]
    fn quoted_bodies() {
        let mut dq = quoted_body(b'"');
        assert_eq!(dq(b"a\\\"b\" x").map(|r| r.1), Ok(&b"a\\\"b"[..]));
        assert_eq!(dq(b"\"").map(|r| r.1), Ok(&b""[..]));
        let mut sq = quoted_body(b'\'');
        assert_eq!(sq(b"it\"s' ;").map(|r| r.1), Ok(&b"it\"s"[..]));
    }

    #[test]
    fn unescape_like_nginx() {
        assert_eq!(&*unescape(b"a\\\"b"), b"a\"b");
        assert_eq!(&*unescape(b"\\\\d"), b"\\d");
        assert_eq!(&*unescape(b"\\t\\r\\n"), b"\t\r\n");
        assert_eq!(&*unescape(b"\\d\\."), b"\\d\\.");
        assert_eq!(&*unescape(b"end\\"), b"end\\");
    }

    #[test]
    fn comments_end_before_lf() {
        assert_eq!(comment(b"# hi\nx").map(|r| r.1), Ok(&b"# hi"[..]));
        assert_eq!(comment(b"#").map(|r| r.1), Ok(&b"#"[..]));
    }
}
