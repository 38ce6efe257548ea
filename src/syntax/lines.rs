//! Byte offset -> line and column, computed only when rendering.

/// Start offsets of every line of one file.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(src: &[u8]) -> Self {
        let mut starts = Vec::with_capacity(src.len() / 32 + 1);
        starts.push(0);
        starts.extend(memchr::memchr_iter(b'\n', src).map(|i| i + 1));
        Self { starts }
    }

    /// 1-based line of a byte offset. Like nginx, a line is counted by the `\n` before it, so the
    /// offset just past a final newline is on the (empty) line after it.
    pub fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    /// Byte offset where the 1-based `line` starts (clamped to the last line).
    pub fn line_start(&self, line: usize) -> usize {
        let i = line.saturating_sub(1).min(self.starts.len() - 1);
        self.starts[i]
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based (line, column); the column counts characters (UTF-8 scalar values, each invalid
    /// byte counting as one), which is what editors and SARIF viewers show.
    pub fn line_col(&self, src: &[u8], offset: usize) -> (usize, usize) {
        let offset = offset.min(src.len());
        let line = self.line(offset);
        let start = self.line_start(line);
        let col = src[start..offset]
            .iter()
            .filter(|b| (**b & 0xC0) != 0x80)
            .count();
        (line, col + 1)
    }

    /// The text of a 1-based line without its line ending.
    pub fn line_text<'a>(&self, src: &'a [u8], line: usize) -> &'a [u8] {
        let start = self.line_start(line);
        let end = self
            .starts
            .get(line)
            .map_or(src.len(), |next| next.saturating_sub(1));
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
}
