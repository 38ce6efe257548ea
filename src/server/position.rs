//! Byte offsets (every span in this crate) to and from LSP positions. A position's `character`
//! counts UTF-16 code units unless the client and the server agreed on UTF-8 at `initialize`
//! (LSP 3.17 `positionEncoding`); lines are split at `\n` as [`LineIndex`] does.

use lsp_types::{Position, Range};

use crate::syntax::{LineIndex, Span};

/// How `Position::character` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Bytes of UTF-8 (`positionEncoding: "utf-8"`).
    Utf8,
    /// UTF-16 code units: the protocol's default.
    Utf16,
}

/// UTF-16 code units in `bytes`: one per UTF-8 lead byte, two for a 4-byte sequence (outside
/// the Basic Multilingual Plane); an invalid byte counts as one unit, as an editor shows it as
/// one replacement character.
fn utf16_units(bytes: &[u8]) -> u32 {
    let mut units = 0u32;
    for &b in bytes {
        if b & 0xC0 != 0x80 {
            units += 1;
        }
        if b >= 0xF0 {
            units += 1;
        }
    }
    units
}

/// A text with its line index, for conversions.
pub struct Text<'a> {
    pub bytes: &'a [u8],
    pub lines: &'a LineIndex,
}

impl Text<'_> {
    /// The byte range of 0-based `line` without its `\n` (and the `\r` before it).
    fn line_bounds(&self, line: usize) -> (usize, usize) {
        let start = self.lines.line_start(line + 1);
        let end = if line + 1 < self.lines.line_count() {
            self.lines.line_start(line + 2).saturating_sub(1)
        } else {
            self.bytes.len()
        };
        let mut end = end.max(start);
        if end > start && self.bytes[end - 1] == b'\r' {
            end -= 1;
        }
        (start, end)
    }

    pub fn position(&self, offset: usize, encoding: Encoding) -> Position {
        let offset = offset.min(self.bytes.len());
        let line = self.lines.line(offset).saturating_sub(1);
        let start = self.lines.line_start(line + 1).min(offset);
        let before = &self.bytes[start..offset];
        let character = match encoding {
            Encoding::Utf8 => u32::try_from(before.len()).unwrap_or(u32::MAX),
            Encoding::Utf16 => utf16_units(before),
        };
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character,
        }
    }

    pub fn range(&self, span: Span, encoding: Encoding) -> Range {
        Range {
            start: self.position(span.start(), encoding),
            end: self.position(span.end(), encoding),
        }
    }

    /// The byte offset of a position. A line past the end is the end of the text; a character
    /// past the end of its line is the end of that line (LSP: "defaults back to the line
    /// length"); a position inside a UTF-16 surrogate pair or a UTF-8 sequence goes to the
    /// start of that character.
    pub fn offset(&self, position: Position, encoding: Encoding) -> usize {
        let line = position.line as usize;
        if line >= self.lines.line_count() {
            return self.bytes.len();
        }
        let (start, end) = self.line_bounds(line);
        let wanted = position.character;
        let mut units = 0u32;
        let mut i = start;
        while i < end {
            let b = self.bytes[i];
            let len = match b {
                0xF0..=0xFF => 4,
                0xE0..=0xEF => 3,
                0xC0..=0xDF => 2,
                _ => 1,
            };
            let len = len.min(end - i);
            let width = match encoding {
                Encoding::Utf8 => len as u32,
                Encoding::Utf16 if len == 4 => 2,
                Encoding::Utf16 => 1,
            };
            if units + width > wanted {
                return i;
            }
            units += width;
            i += len;
        }
        end
    }

    /// A range as a byte span (start and end ordered).
    pub fn span(&self, range: Range, encoding: Encoding) -> Span {
        let a = self.offset(range.start, encoding);
        let b = self.offset(range.end, encoding);
        Span::new(a.min(b), a.max(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> (Vec<u8>, LineIndex) {
        (s.as_bytes().to_vec(), LineIndex::new(s.as_bytes()))
    }

    #[test]
    fn utf16_and_utf8_columns_differ_after_non_ascii() -> Result<(), String> {
        // "é" is 2 bytes and 1 UTF-16 unit; "𝄞" is 4 bytes and 2 units.
        let (bytes, lines) = text("a\n# é𝄞 x;\n");
        let t = Text {
            bytes: &bytes,
            lines: &lines,
        };
        let x = bytes.iter().position(|b| *b == b'x').ok_or("no x")?;
        assert_eq!(t.position(x, Encoding::Utf16), Position::new(1, 6));
        assert_eq!(t.position(x, Encoding::Utf8), Position::new(1, 9));
        assert_eq!(t.offset(Position::new(1, 6), Encoding::Utf16), x);
        assert_eq!(t.offset(Position::new(1, 9), Encoding::Utf8), x);
        // Inside the surrogate pair: the start of the character.
        let clef = x - 5;
        assert_eq!(t.offset(Position::new(1, 4), Encoding::Utf16), clef);
        Ok(())
    }

    #[test]
    fn past_the_end_clamps() {
        let (bytes, lines) = text("ab\r\ncd");
        let t = Text {
            bytes: &bytes,
            lines: &lines,
        };
        assert_eq!(t.offset(Position::new(0, 99), Encoding::Utf16), 2);
        assert_eq!(t.offset(Position::new(7, 0), Encoding::Utf16), 6);
        assert_eq!(t.position(6, Encoding::Utf16), Position::new(1, 2));
        assert_eq!(t.position(0, Encoding::Utf8), Position::new(0, 0));
    }
}
