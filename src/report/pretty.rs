//! Pretty JSON as `serde_json::to_writer_pretty` writes it (two spaces per level), from any
//! starting depth, with each line break and its indentation written at once. A report of many
//! findings can so be written in pieces (each at its own depth, several at a time) that join
//! into the bytes one pretty-printing of the whole would give; the tests compare the two.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};

/// `,` then a line break and the indentation of [`MAX_FAST_DEPTH`] levels.
static BREAKS: [u8; 2 + 2 * MAX_FAST_DEPTH] = {
    let mut b = [b' '; 2 + 2 * MAX_FAST_DEPTH];
    b[0] = b',';
    b[1] = b'\n';
    b
};

/// Depths indented with one write; deeper ones (no report has them) a level at a time.
const MAX_FAST_DEPTH: usize = 32;

/// serde_json's `PrettyFormatter` with indentation `"  "`, starting at `depth` levels.
pub(crate) struct Pretty {
    depth: usize,
    has_value: bool,
}

impl Pretty {
    pub(crate) fn at(depth: usize) -> Self {
        Pretty {
            depth,
            has_value: false,
        }
    }

    /// A line break (after a comma unless `first`) and the current indentation.
    fn line<W: ?Sized + Write>(&self, w: &mut W, first: bool) -> io::Result<()> {
        let from = usize::from(first);
        if self.depth <= MAX_FAST_DEPTH {
            return w.write_all(&BREAKS[from..2 + 2 * self.depth]);
        }
        w.write_all(&BREAKS[from..2])?;
        for _ in 0..self.depth {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth += 1;
        self.has_value = false;
        w.write_all(bracket)
    }

    fn close<W: ?Sized + Write>(&mut self, w: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.depth = self.depth.saturating_sub(1);
        if self.has_value {
            self.line(w, true)?;
        }
        w.write_all(bracket)
    }
}

impl Formatter for Pretty {
    #[inline]
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"[")
    }

    #[inline]
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"]")
    }

    #[inline]
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.line(w, first)
    }

    #[inline]
    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    #[inline]
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.open(w, b"{")
    }

    #[inline]
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.close(w, b"}")
    }

    #[inline]
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.line(w, first)
    }

    #[inline]
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    #[inline]
    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes `value` pretty-printed as if it stood `depth` levels deep in a larger document.
pub(crate) fn write_at<W: ?Sized + Write, T: ?Sized + Serialize>(
    w: &mut W,
    depth: usize,
    value: &T,
) -> io::Result<()> {
    value
        .serialize(&mut Serializer::with_formatter(w, Pretty::at(depth)))
        .map_err(io::Error::from)
}

/// A line break (after a comma unless `first`) indented `depth` levels: what precedes a
/// member of an array or object at that depth.
pub(crate) fn write_break<W: ?Sized + Write>(
    w: &mut W,
    first: bool,
    depth: usize,
) -> io::Result<()> {
    Pretty::at(depth).line(w, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(depth: usize, v: &serde_json::Value) -> String {
        let mut out = Vec::new();
        let Ok(()) = write_at(&mut out, depth, v) else {
            panic!("write failed")
        };
        let Ok(s) = String::from_utf8(out) else {
            panic!("not UTF-8")
        };
        s
    }

    #[test]
    fn writes_what_serde_json_pretty_writes() {
        let deep = (0..40).fold(serde_json::json!(1), |v, _| serde_json::json!([v]));
        for v in [
            serde_json::json!({"a": [], "b": {}, "c": [1, [2, []], {"d": {}}], "e": "x\ny\"z"}),
            serde_json::json!([]),
            serde_json::json!({}),
            serde_json::json!("s"),
            serde_json::json!([{"a": null, "b": [true, false]}, 1.5]),
            deep,
        ] {
            let Ok(theirs) = serde_json::to_string_pretty(&v) else {
                panic!("serde_json failed")
            };
            assert_eq!(ours(0, &v), theirs);
        }
    }

    #[test]
    fn a_value_written_deeper_is_the_member_of_a_whole_document() {
        let inner = serde_json::json!({"k": [1, {"l": "m"}], "n": {}});
        let whole = serde_json::json!({"outer": [inner.clone()]});
        let Ok(theirs) = serde_json::to_string_pretty(&whole) else {
            panic!("serde_json failed")
        };
        let mut ours_bytes = b"{\n  \"outer\": [".to_vec();
        let Ok(()) = write_break(&mut ours_bytes, true, 2) else {
            panic!("write failed")
        };
        let Ok(()) = write_at(&mut ours_bytes, 2, &inner) else {
            panic!("write failed")
        };
        ours_bytes.extend_from_slice(b"\n  ]\n}");
        assert_eq!(String::from_utf8_lossy(&ours_bytes), theirs);
    }
}
