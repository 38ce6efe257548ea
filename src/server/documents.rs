//! The documents the editor has open: their text as the editor holds it (saved or not), laid
//! over the disk as a [`config::Overlay`] when a tree is linted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lsp_types::{TextDocumentContentChangeEvent, Url};

use super::position::{Encoding, Text};
use crate::config::{self, Overlay};
use crate::syntax::LineIndex;

/// One open document.
#[derive(Debug)]
pub struct Document {
    pub uri: Url,
    /// Absolute, without `.`/`..` (the path the loader opens for it).
    pub path: PathBuf,
    pub version: i32,
    pub text: String,
}

/// Why a document cannot be worked on.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{0}: only file: URIs name nginx configuration files")]
    NotAFile(Url),
    #[error("{0}: the document is not open")]
    NotOpen(Url),
}

/// The path a `file:` URI names, made absolute the way the loader names files.
pub fn path_of(uri: &Url) -> Result<PathBuf, DocumentError> {
    if uri.scheme() != "file" {
        return Err(DocumentError::NotAFile(uri.clone()));
    }
    let path = uri
        .to_file_path()
        .map_err(|()| DocumentError::NotAFile(uri.clone()))?;
    Ok(config::lexical_absolute(&path))
}

#[derive(Debug, Default)]
pub struct Documents {
    by_path: BTreeMap<PathBuf, Document>,
}

impl Documents {
    pub fn open(&mut self, uri: Url, version: i32, text: String) -> Result<PathBuf, DocumentError> {
        let path = path_of(&uri)?;
        self.by_path.insert(
            path.clone(),
            Document {
                uri,
                path: path.clone(),
                version,
                text,
            },
        );
        Ok(path)
    }

    pub fn close(&mut self, uri: &Url) -> Result<Option<Document>, DocumentError> {
        Ok(self.by_path.remove(&path_of(uri)?))
    }

    pub fn get(&self, path: &Path) -> Option<&Document> {
        self.by_path.get(path)
    }

    pub fn by_uri(&self, uri: &Url) -> Result<&Document, DocumentError> {
        self.by_path
            .get(&path_of(uri)?)
            .ok_or_else(|| DocumentError::NotOpen(uri.clone()))
    }

    /// Applies `didChange` events in order: a change without a range replaces the text, one
    /// with a range replaces that range (positions in the negotiated encoding, each against the
    /// text as the previous change left it).
    pub fn change(
        &mut self,
        uri: &Url,
        version: i32,
        changes: Vec<TextDocumentContentChangeEvent>,
        encoding: Encoding,
    ) -> Result<PathBuf, DocumentError> {
        let path = path_of(uri)?;
        let doc = self
            .by_path
            .get_mut(&path)
            .ok_or_else(|| DocumentError::NotOpen(uri.clone()))?;
        for change in changes {
            match change.range {
                None => doc.text = change.text,
                Some(range) => {
                    let lines = LineIndex::new(doc.text.as_bytes());
                    let span = Text {
                        bytes: doc.text.as_bytes(),
                        lines: &lines,
                    }
                    .span(range, encoding);
                    // Positions resolve to character starts, so these are char boundaries;
                    // a client that sends one inside a character gets it rounded down.
                    let start = floor_char_boundary(&doc.text, span.start());
                    let end = floor_char_boundary(&doc.text, span.end()).max(start);
                    doc.text.replace_range(start..end, &change.text);
                }
            }
        }
        doc.version = version;
        Ok(path)
    }

    /// The paths of the open documents.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.by_path.keys().map(PathBuf::as_path)
    }

    /// Every open document's text, keyed by its path: what the loader reads instead of the disk.
    pub fn overlay(&self) -> Overlay {
        let mut overlay = Overlay::default();
        for (path, doc) in &self.by_path {
            overlay.insert(path.clone(), doc.text.as_bytes().to_vec());
        }
        overlay
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    #[test]
    fn incremental_changes_apply_in_order() -> Result<(), Box<dyn std::error::Error>> {
        let mut docs = Documents::default();
        let uri = Url::parse("file:///tmp/x/nginx.conf")?;
        docs.open(uri.clone(), 1, "# é\nlisten 80;\n".into())?;
        let change = |l1, c1, l2, c2, text: &str| TextDocumentContentChangeEvent {
            range: Some(Range::new(Position::new(l1, c1), Position::new(l2, c2))),
            range_length: None,
            text: text.into(),
        };
        docs.change(
            &uri,
            2,
            vec![change(1, 7, 1, 9, "8080"), change(0, 2, 0, 3, "e")],
            Encoding::Utf16,
        )?;
        let doc = docs.by_uri(&uri)?;
        assert_eq!(doc.text, "# e\nlisten 8080;\n");
        assert_eq!(doc.version, 2);
        Ok(())
    }
}
