//! A fix: text edits on byte spans, so everything a fix does not touch stays byte-identical.
//! Rules build them (often with [`super::edits`]); the engine in `crate::fix` applies them.

use serde::{Deserialize, Serialize};

use crate::source::FileId;
use crate::syntax::Span;

/// How sure a fix is. Ordered: `DisplayOnly < Unsafe < Safe`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// Shown, never applied.
    DisplayOnly,
    /// Applied only with `--unsafe-fixes`: it may change behaviour the user relies on.
    Unsafe,
    /// Applied by `--fix`: keeps the config's intent.
    Safe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::DisplayOnly => "display-only",
            Applicability::Unsafe => "unsafe",
            Applicability::Safe => "safe",
        }
    }
}

/// Replace `span` of `file` with `content` (an empty span inserts, empty content deletes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub file: FileId,
    pub span: Span,
    pub content: String,
}

impl Edit {
    pub fn replace(file: FileId, span: Span, content: impl Into<String>) -> Self {
        Self {
            file,
            span,
            content: content.into(),
        }
    }

    pub fn insert(file: FileId, at: usize, content: impl Into<String>) -> Self {
        Self::replace(file, Span::empty(at), content)
    }

    pub fn delete(file: FileId, span: Span) -> Self {
        Self::replace(file, span, String::new())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub applicability: Applicability,
    pub title: String,
    pub edits: Vec<Edit>,
}

impl Fix {
    pub fn safe(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self {
            applicability: Applicability::Safe,
            title: title.into(),
            edits,
        }
    }

    pub fn unsafe_edit(title: impl Into<String>, edits: Vec<Edit>) -> Self {
        Self {
            applicability: Applicability::Unsafe,
            title: title.into(),
            edits,
        }
    }
}
