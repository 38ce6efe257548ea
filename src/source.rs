//! Every file the tool reads (nginx configs, php.ini, php-fpm pools), read once and addressed by
//! [`FileId`]. Spans are byte offsets into a file's text; line and column are computed from the
//! [`LineIndex`] only when something is shown to a person.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::syntax::{LineIndex, SourceText, Span};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

impl FileId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug)]
pub struct SourceFile {
    /// The path nginx (or php-fpm) opens: absolute, or as the user wrote it.
    pub path: PathBuf,
    /// How the file is shown in diagnostics: relative to where the user pointed us.
    pub display: String,
    /// Shared with the file's syntax tree, which reads its words out of it.
    pub text: SourceText,
    /// Shared with the loader's parse of the same text, which a re-load can reuse.
    pub lines: Arc<LineIndex>,
}

impl SourceFile {
    pub fn new(path: PathBuf, display: String, text: impl Into<SourceText>) -> Self {
        let text = text.into();
        let lines = Arc::new(LineIndex::new(&text));
        Self::with_lines(path, display, text, lines)
    }

    /// A file whose line index was computed already (it must be `text`'s).
    pub fn with_lines(
        path: PathBuf,
        display: String,
        text: SourceText,
        lines: Arc<LineIndex>,
    ) -> Self {
        Self {
            path,
            display,
            text,
            lines,
        }
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        self.lines.line_col(&self.text, offset)
    }

    pub fn slice(&self, span: Span) -> &[u8] {
        let end = span.end().min(self.text.len());
        &self.text[span.start().min(end)..end]
    }
}

/// All files read in one run.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
    by_path: foldhash::HashMap<PathBuf, FileId>,
}

impl SourceMap {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.by_path.entry(file.path.clone()).or_insert(id);
        self.files.push(file);
        id
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.index()]
    }

    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.by_path.get(path).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}
