//! A file's bytes, shared: the source map keeps them to show and edit, the file's syntax tree
//! keeps the same allocation and reads its words' values out of it.

use std::sync::Arc;

/// A file's bytes, cheap to clone (one shared allocation). UTF-8 text is kept as text, checked
/// once when it is made, so slices of it are `str` without another check. The buffer the file
/// was read into is kept as it is (behind an `Arc` of the `String`, not moved into an
/// `Arc<str>`): a copy would touch every page of the input a second time.
#[derive(Clone)]
pub struct SourceText(Repr);

#[derive(Clone)]
enum Repr {
    Utf8(Arc<String>),
    Bytes(Arc<Vec<u8>>),
}

impl SourceText {
    pub fn new(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(s) => SourceText(Repr::Utf8(Arc::new(s))),
            Err(e) => SourceText(Repr::Bytes(Arc::new(e.into_bytes()))),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Utf8(s) => s.as_bytes(),
            Repr::Bytes(b) => b.as_slice(),
        }
    }

    /// The bytes, as a `Vec<u8>`'s `as_slice` would give them.
    pub fn as_slice(&self) -> &[u8] {
        self.as_bytes()
    }

    /// The text, when the bytes are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match &self.0 {
            Repr::Utf8(s) => Some(s),
            Repr::Bytes(_) => None,
        }
    }
}

impl Default for SourceText {
    fn default() -> Self {
        SourceText(Repr::Utf8(Arc::new(String::new())))
    }
}

impl std::ops::Deref for SourceText {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for SourceText {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<Vec<u8>> for SourceText {
    fn from(bytes: Vec<u8>) -> Self {
        SourceText::new(bytes)
    }
}

impl From<&[u8]> for SourceText {
    fn from(bytes: &[u8]) -> Self {
        SourceText::new(bytes.to_vec())
    }
}

impl std::fmt::Debug for SourceText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SourceText({:?})",
            String::from_utf8_lossy(self.as_bytes())
        )
    }
}

/// Equal when the bytes are.
impl PartialEq for SourceText {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SourceText {}

impl PartialEq<[u8]> for SourceText {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_bytes() == other
    }
}

impl PartialEq<Vec<u8>> for SourceText {
    fn eq(&self, other: &Vec<u8>) -> bool {
        self.as_bytes() == other.as_slice()
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for SourceText {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == other.as_slice()
    }
}
