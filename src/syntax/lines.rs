//! Byte offset -> line and column, computed only when rendering.

/// Column counting reads at most this many bytes per position: longer distances from the line
/// start go through per-chunk counts.
const CHUNK: usize = 256;

/// Start offsets of every line of one file (32-bit, like [`super::Span`]'s: texts are far
/// shorter than 4 GiB, see [`super::MAX_TEXT_LEN`]).
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    starts: Vec<u32>,
    /// Characters before each multiple of [`CHUNK`] bytes, computed the first time a column
    /// is asked far from its line's start: a one-line file of millions of directives must not
    /// recount its line for every finding.
    chunk_chars: std::sync::OnceLock<Vec<usize>>,
}

/// An offset as the index stores it (saturating: longer texts are refused before here).
fn narrow(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// Characters in `bytes`: UTF-8 scalar values, each invalid byte counting as one.
fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| (**b & 0xC0) != 0x80).count()
}

impl LineIndex {
    pub fn new(src: &[u8]) -> Self {
        let mut starts = Vec::with_capacity(src.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', src).map(|i| narrow(i + 1)));
        starts.shrink_to_fit();
        Self {
            starts,
            chunk_chars: std::sync::OnceLock::new(),
        }
    }

    /// 1-based line of a byte offset. Like nginx, a line is counted by the `\n` before it, so the
    /// offset just past a final newline is on the (empty) line after it.
    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&narrow(offset)) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Byte offset where the 1-based `line` starts (clamped to the last line).
    pub fn line_start(&self, line: usize) -> usize {
        let i = line
            .saturating_sub(1)
            .min(self.starts.len().saturating_sub(1));
        // An index from `new` always has line 1; a default one has no lines at all.
        self.starts.get(i).map_or(0, |s| *s as usize)
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based (line, column); the column counts characters (UTF-8 scalar values, each invalid
    /// byte counting as one), which is what editors and SARIF viewers show.
    pub fn line_col(&self, src: &[u8], offset: usize) -> (usize, usize) {
        let offset = offset.min(src.len());
        let line = self.line(offset);
        let start = self.line_start(line).min(offset);
        let col = if offset - start <= CHUNK {
            chars(&src[start..offset])
        } else {
            self.chars_before(src, offset) - self.chars_before(src, start)
        };
        (line, col + 1)
    }

    /// Characters in `src[..offset]`, from the per-chunk counts.
    fn chars_before(&self, src: &[u8], offset: usize) -> usize {
        let counts = self.chunk_chars.get_or_init(|| {
            let mut total = 0;
            let mut counts = vec![0];
            for chunk in src.chunks(CHUNK) {
                total += chars(chunk);
                counts.push(total);
            }
            counts
        });
        let i = offset / CHUNK;
        let from = (i * CHUNK).min(src.len());
        counts.get(i).copied().unwrap_or(0) + chars(&src[from..offset.max(from)])
    }

    /// The text of a 1-based line without its line ending.
    pub fn line_text<'a>(&self, src: &'a [u8], line: usize) -> &'a [u8] {
        let start = self.line_start(line);
        let end = self
            .starts
            .get(line)
            .map_or(src.len(), |next| (*next as usize).saturating_sub(1));
        let text = &src[start.min(end)..end];
        text.strip_suffix(b"\r").unwrap_or(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let src = "ab\nc\u{e9}d\n".as_bytes();
        let idx = LineIndex::new(src);
        assert_eq!(idx.line_col(src, 0), (1, 1));
        assert_eq!(idx.line_col(src, 3), (2, 1));
        // 'd' comes after a two-byte character: column 3, not 4.
        assert_eq!(idx.line_col(src, 6), (2, 3));
        assert_eq!(idx.line(src.len()), 3);
        assert_eq!(idx.line_text(src, 2), "c\u{e9}d".as_bytes());
    }

    #[test]
    fn columns_far_into_a_long_line_count_characters() {
        // 3 chunks and a bit of one line, with two-byte characters straddling chunk borders.
        let mut src = b"\n".to_vec();
        for i in 0..(3 * CHUNK + 100) {
            if i % 3 == 0 {
                src.extend_from_slice("\u{e9}".as_bytes());
            } else {
                src.push(b'a');
            }
        }
        let idx = LineIndex::new(&src);
        for offset in [
            1,
            2,
            3,
            CHUNK,
            CHUNK + 1,
            2 * CHUNK + 7,
            src.len() - 1,
            src.len(),
        ] {
            let expected = chars(&src[1..offset]) + 1;
            assert_eq!(idx.line_col(&src, offset), (2, expected), "offset {offset}");
        }
    }
}
