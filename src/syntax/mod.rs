//! nginx configuration syntax: a lossless lexer and parser.
//!
//! The tokenizer follows nginx's own `ngx_conf_read_token` (src/core/ngx_conf_file.c) byte for
//! byte; `grammar/nginx.ebnf` writes the accepted syntax down. Nothing in this module knows about
//! directives' meaning or about rules: it turns bytes into an [`Ast`] whose every token keeps its
//! byte [`Span`], or into the first [`ParseError`] nginx itself would report ([`parse`]), or
//! into the tree read past every error with all of them ([`parse_recovering`]).

mod ast;
mod lexer;
mod lines;
mod parser;
mod text;
mod view;

pub use ast::{Ast, BlockKind, Quote, Walk};
pub use lines::LineIndex;
pub use parser::{
    parse, parse_recovering, parse_source, ParseError, ParseErrorKind, Recovered, MAX_DEPTH,
    MAX_ERRORS, MAX_TEXT_LEN, MAX_TOKEN_LEN,
};
pub use text::SourceText;
pub use view::{Args, BlockRef, CommentRef, DirRef, ItemList, ItemRef, Items, WordRef, Words};

/// A half-open byte range `start..end` into one file's source. Offsets are 32-bit: a file is
/// at most [`crate::config::MAX_FILE_SIZE`] (1 GiB) long, and the parser refuses longer text
/// ([`ParseErrorKind::TooLarge`]), so every offset fits; a tree holds several spans per token,
/// and the narrower type takes a sixth off its size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    start: u32,
    end: u32,
}

/// An offset as a span stores it (see [`Span`]: texts longer than `u32::MAX` never reach here;
/// the saturation only keeps the conversion total).
const fn narrow(at: usize) -> u32 {
    if at > u32::MAX as usize {
        u32::MAX
    } else {
        at as u32
    }
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Self {
            start: narrow(start),
            end: narrow(end),
        }
    }

    pub const fn empty(at: usize) -> Self {
        Self::new(at, at)
    }

    /// The first byte.
    pub const fn start(self) -> usize {
        self.start as usize
    }

    /// One past the last byte.
    pub const fn end(self) -> usize {
        self.end as usize
    }

    /// `start..end`, to slice the source with.
    pub const fn range(self) -> std::ops::Range<usize> {
        self.start()..self.end()
    }

    pub const fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub const fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}
