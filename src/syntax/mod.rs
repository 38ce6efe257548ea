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

pub use ast::{walk_items, Ast, Block, BlockKind, Comment, Directive, Node, Quote, Walk, Word};
pub use lines::LineIndex;
pub use parser::{
    parse, parse_recovering, ParseError, ParseErrorKind, Recovered, MAX_DEPTH, MAX_ERRORS,
    MAX_TOKEN_LEN,
};

/// A half-open byte range `start..end` into one file's source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Self {
        Self { start, end }
    }

    pub const fn empty(at: usize) -> Self {
        Self { start: at, end: at }
    }

    pub const fn len(self) -> usize {
        self.end - self.start
    }

    pub const fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The smallest span covering both.
    pub fn cover(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    pub fn contains(self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}
