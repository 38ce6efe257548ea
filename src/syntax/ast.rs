//! The syntax tree, stored flat. Every token keeps its byte span; comments are items; whitespace
//! is whatever lies between spans, so the source can be rebuilt byte for byte from the tree and
//! the text.
//!
//! A tree is a handful of arrays of small records that point into each other by index: the
//! words (each directive's name and arguments next to each other), the directives, the blocks,
//! the comments, and the item lists (each block's directives and comments, one contiguous run
//! per block). A word's value and a comment's text are read out of the file's own text, which
//! the tree shares with the source map; only values that differ from what is written (escapes
//! resolved, bytes that are not UTF-8) are kept apart. Reading a file allocates a few growing
//! arrays instead of several boxes per directive, and the records take a fraction of what a
//! tree of owned nodes does. Everything outside `syntax` reads a tree through the
//! handles of [`super::view`], which hide this layout.

use super::text::SourceText;
use super::view::{CommentRef, DirRef, ItemList, ItemRef, Items};
use super::Span;

/// How a word was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quote {
    None,
    Single,
    Double,
    /// The body of a `*_by_lua_block { ... }`: Lua source kept verbatim.
    Raw,
}

/// What a block's body holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// Ordinary directives (`http`, `server`, `location`, `if`, `upstream`, ...).
    Directives,
    /// Entries read by the block's own handler (`map`, `geo`, `types`, `split_clients`,
    /// `charset_map`, `match`): each is a list of words ending in `;`, and a nested `{` is an error.
    Entries,
    /// Verbatim source of another language (`*_by_lua_block`).
    Raw,
}

/// "None" for the optional indexes and offsets of the records.
pub(super) const NONE: u32 = u32::MAX;

/// One token: a directive name, an argument, or a raw block's body. 8 bytes: there are
/// about four per directive, so what few words have (a value that differs from the text, a
/// length past 512 MiB) is kept apart in the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct WordRec {
    /// Where the token starts, its first quote included.
    start: u32,
    /// The quote in the top two bits; below it whether the value is kept apart (the value as
    /// nginx reads it, quotes removed, `\" \' \\ \t \r \n` unescaped, other backslashes
    /// kept, bytes that are not UTF-8 read as U+FFFD, differs from the text inside the span:
    /// then it is in `Ast::owned` under this start); the low 29 bits are the token's length,
    /// all ones when it does not fit (only a raw block's body can be that long: its span is
    /// in `Ast::long_spans`).
    meta: u32,
}

impl WordRec {
    const LEN: u32 = (1 << 29) - 1;
    const OWNED: u32 = 1 << 29;

    pub(super) fn new(span: Span, owned: bool, quote: Quote) -> Self {
        let q = match quote {
            Quote::None => 0,
            Quote::Single => 1,
            Quote::Double => 2,
            Quote::Raw => 3,
        };
        let len = u32::try_from(span.len()).map_or(Self::LEN, |l| l.min(Self::LEN));
        Self {
            start: span.start() as u32,
            meta: q << 30 | if owned { Self::OWNED } else { 0 } | len,
        }
    }

    /// Whether the length did not fit (see [`Ast::long_spans`]): the parser keeps the span.
    pub(super) fn is_long(&self) -> bool {
        self.meta & Self::LEN == Self::LEN
    }

    /// Whether the value is kept apart (in `Ast::owned`, under the word's start).
    pub(super) fn is_owned(&self) -> bool {
        self.meta & Self::OWNED != 0
    }

    pub(super) fn quote(&self) -> Quote {
        match self.meta >> 30 {
            0 => Quote::None,
            1 => Quote::Single,
            2 => Quote::Double,
            _ => Quote::Raw,
        }
    }
}

/// A `#` comment, up to (not including) the end of its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CommentRec {
    pub(super) span: Span,
    /// The text after `#`: [`NONE`] when it is the file's, else its index in `Ast::owned`.
    pub(super) text: u32,
}

/// A value kept apart from the file's text: `Ast::values[start..start + len]`, of the token
/// that starts at `at` (values are made in the order of the text, so `at` only grows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Owned {
    pub(super) at: u32,
    pub(super) start: u32,
    pub(super) len: u32,
}

/// One directive. 16 bytes: it starts where its name does, and what few directives have
/// (comments inside them) is kept apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DirRec {
    /// Where the directive ends: after the `;` or the closing `}`.
    pub(super) end: u32,
    /// The name's index in `Ast::words`; the arguments follow it.
    pub(super) name: u32,
    /// The number of arguments, and in the top bit whether a `;` ends the directive (then it
    /// is the span's last byte; block directives, and a directive a `}` ended, have none).
    args_semicolon: u32,
    /// The index in `Ast::blocks`, [`NONE`] for a simple directive.
    pub(super) block: u32,
}

impl DirRec {
    const SEMICOLON: u32 = 1 << 31;

    /// A directive of `args` arguments (fewer than 2^31: each is at least a byte of a file
    /// under the loader's bound) ending at `end`, and no block yet.
    pub(super) fn new(end: usize, name: u32, args: u32, semicolon: bool) -> Self {
        let flag = if semicolon { Self::SEMICOLON } else { 0 };
        Self {
            end: u32::try_from(end).unwrap_or(u32::MAX),
            name,
            args_semicolon: args.min(Self::SEMICOLON - 1) | flag,
            block: NONE,
        }
    }

    pub(super) fn args(&self) -> u32 {
        self.args_semicolon & !Self::SEMICOLON
    }

    /// Where the terminating `;` is, if one ends the directive.
    pub(super) fn semicolon(&self) -> Option<usize> {
        (self.args_semicolon & Self::SEMICOLON != 0).then(|| (self.end as usize).saturating_sub(1))
    }
}

/// The comments written inside directive `dir`'s head: `len` from `start` in `Ast::comments`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct InnerRun {
    pub(super) dir: u32,
    pub(super) start: u32,
    pub(super) len: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BlockRec {
    pub(super) kind: BlockKind,
    /// The `{`.
    pub(super) open: Span,
    /// The matching `}`.
    pub(super) close: Span,
    /// `items_len` items from `items` in `Ast::items`.
    pub(super) items: u32,
    pub(super) items_len: u32,
    /// For [`BlockKind::Raw`], the body between the braces: its index in `Ast::words`.
    pub(super) raw: u32,
}

/// An item of a block or of the top level: a directive's index, or a comment's with the top bit
/// set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Item(u32);

const COMMENT_BIT: u32 = 1 << 31;

impl Item {
    pub(super) fn directive(ix: u32) -> Self {
        Item(ix)
    }

    pub(super) fn comment(ix: u32) -> Self {
        Item(ix | COMMENT_BIT)
    }

    /// `Ok(directive index)` or `Err(comment index)`.
    #[inline]
    pub(super) fn get(self) -> Result<u32, u32> {
        if self.0 & COMMENT_BIT == 0 {
            Ok(self.0)
        } else {
            Err(self.0 & !COMMENT_BIT)
        }
    }
}

/// One parsed file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ast {
    pub(super) words: Vec<WordRec>,
    pub(super) comments: Vec<CommentRec>,
    pub(super) dirs: Vec<DirRec>,
    /// Each directive's name as the number of its [`crate::directives::NameId`] (`u16::MAX`
    /// for a name the built-in table does not have), by directive index: assigned while the
    /// file is parsed (on every core), so the resolved tree indexes nodes by name without
    /// hashing a name per node.
    pub(super) dir_names: Vec<u16>,
    pub(super) blocks: Vec<BlockRec>,
    pub(super) items: Vec<Item>,
    /// The runs of comments inside directives, by directive index (in order: a directive's
    /// record and its run are made together).
    pub(super) inner_comments: Vec<InnerRun>,
    /// The top level's items: `top_len` from `top` in `items`.
    pub(super) top: u32,
    pub(super) top_len: u32,
    /// The file's text.
    pub(super) src: SourceText,
    /// The values that are not the file's text as written, one after the other.
    pub(super) owned: Vec<Owned>,
    pub(super) values: String,
    /// The spans of the words whose length does not fit their record (raw bodies of 512 MiB
    /// or more), in the order of the text.
    pub(super) long_spans: Vec<Span>,
}

/// The tree of an empty file, for handles that need a tree to point into and have none.
pub(super) static EMPTY: std::sync::LazyLock<Ast> = std::sync::LazyLock::new(Ast::default);

impl Ast {
    /// The top level's directives.
    pub fn directives(&self) -> impl Iterator<Item = DirRef<'_>> {
        self.items().filter_map(ItemRef::as_directive)
    }

    /// The top level's directives and comments, in source order.
    pub fn items(&self) -> Items<'_> {
        self.item_list().iter()
    }

    /// [`Ast::items`], to be read by position.
    pub fn item_list(&self) -> ItemList<'_> {
        ItemList::new(self, self.top, self.top_len)
    }

    /// Every span the tree owns (words, comments, punctuation), in source order. Everything
    /// between them is whitespace: the lossless property tests check exactly that.
    pub fn token_spans(&self) -> Vec<Span> {
        let mut out = Vec::new();
        for d in self.walk() {
            out.push(d.name_word().span());
            out.extend(d.args().iter().map(|a| a.span()));
            out.extend(d.inner_comments().map(|c| c.span()));
            out.extend(d.semicolon());
            if let Some(b) = d.block() {
                out.push(b.open());
                out.extend(b.raw().map(|r| r.span()));
                out.push(b.close());
            }
        }
        out.extend(self.comments().map(|c| c.span()));
        out.sort();
        out
    }

    /// Every directive at any depth, in source order, without recursion (nesting is bounded
    /// only by [`crate::syntax::MAX_DEPTH`], far beyond what the call stack could take).
    pub fn walk(&self) -> Walk<'_> {
        Walk {
            stack: vec![self.items()],
        }
    }

    /// Every comment item at any depth (not the comments inside a directive's head): the top
    /// level's first, then each block's, blocks in source order.
    pub fn comments(&self) -> impl Iterator<Item = CommentRef<'_>> {
        fn comment(i: ItemRef<'_>) -> Option<CommentRef<'_>> {
            match i {
                ItemRef::Comment(c) => Some(c),
                ItemRef::Directive(_) => None,
            }
        }
        self.items()
            .filter_map(comment)
            .chain(self.walk().flat_map(|d| {
                d.block()
                    .into_iter()
                    .flat_map(|b| b.items().filter_map(comment))
            }))
    }

    /// The bytes the tree holds on the heap (its arrays' capacities).
    /// (The file's text, which the source map shares, is not counted.)
    pub fn heap_size(&self) -> usize {
        use std::mem::size_of;
        self.words.capacity() * size_of::<WordRec>()
            + self.comments.capacity() * size_of::<CommentRec>()
            + self.dirs.capacity() * size_of::<DirRec>()
            + self.dir_names.capacity() * size_of::<u16>()
            + self.blocks.capacity() * size_of::<BlockRec>()
            + self.items.capacity() * size_of::<Item>()
            + self.inner_comments.capacity() * size_of::<InnerRun>()
            + self.owned.capacity() * size_of::<Owned>()
            + self.values.capacity()
            + self.long_spans.capacity() * size_of::<Span>()
    }

    /// The tree of a text that was not read (too large, or refused as binary), keeping it.
    pub fn of_text(text: SourceText) -> Ast {
        Ast {
            src: text,
            ..Ast::default()
        }
    }

    /// The text the tree was read from.
    pub fn source(&self) -> &SourceText {
        &self.src
    }

    #[inline]
    pub(super) fn word_text(&self, w: &WordRec) -> &str {
        if w.is_owned() {
            return self.owned_at(w.start);
        }
        let r = self.word_span(w).range();
        // Inside the quotes: where the value is written in the file when it is read as written.
        let inner = match w.quote() {
            Quote::Single | Quote::Double => r.start + 1..r.end.saturating_sub(1).max(r.start + 1),
            Quote::None | Quote::Raw => r,
        };
        self.written(inner)
    }

    /// From the first byte of the directive's name to its end.
    #[inline]
    pub(super) fn dir_span(&self, d: &DirRec) -> Span {
        let start = self
            .words
            .get(d.name as usize)
            .map_or(0, |w| w.start as usize);
        Span::new(start, d.end as usize)
    }

    /// The comments inside directive `dir`'s head: (start, len) in `comments`.
    pub(super) fn inner_run(&self, dir: u32) -> (u32, u32) {
        let i = self.inner_comments.partition_point(|r| r.dir < dir);
        match self.inner_comments.get(i) {
            Some(r) if r.dir == dir => (r.start, r.len),
            _ => (0, 0),
        }
    }

    /// The token as written, quotes included.
    #[inline]
    pub(super) fn word_span(&self, w: &WordRec) -> Span {
        let start = w.start as usize;
        if w.is_long() {
            let i = self.long_spans.partition_point(|s| s.start() < start);
            if let Some(s) = self.long_spans.get(i).filter(|s| s.start() == start) {
                return *s;
            }
        }
        Span::new(start, start + (w.meta & WordRec::LEN) as usize)
    }

    /// The value kept apart for the token that starts at `at`.
    fn owned_at(&self, at: u32) -> &str {
        let i = self.owned.partition_point(|o| o.at < at);
        match self.owned.get(i) {
            Some(o) if o.at == at => self.owned_value(i as u32),
            _ => "",
        }
    }

    #[inline]
    pub(super) fn comment_text(&self, c: &CommentRec) -> &str {
        match c.text {
            NONE => self.written(c.span.start() + 1..c.span.end()),
            i => self.owned_value(i),
        }
    }

    /// The file's text in `range`: ranges of tokens of a UTF-8 text, which end at ASCII
    /// bytes, so on char boundaries (a text that is not UTF-8 has every value owned).
    #[inline]
    fn written(&self, range: std::ops::Range<usize>) -> &str {
        self.src
            .as_str()
            .and_then(|s| s.get(range))
            .unwrap_or_default()
    }

    #[inline]
    fn owned_value(&self, i: u32) -> &str {
        let Some(o) = self.owned.get(i as usize) else {
            return "";
        };
        let start = o.start as usize;
        self.values
            .get(start..start + o.len as usize)
            .unwrap_or_default()
    }
}

/// Pre-order iterator over nested directives with an explicit stack: see [`Ast::walk`].
pub struct Walk<'a> {
    stack: Vec<Items<'a>>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = DirRef<'a>;

    fn next(&mut self) -> Option<DirRef<'a>> {
        loop {
            let top = self.stack.last_mut()?;
            match top.next() {
                None => {
                    self.stack.pop();
                }
                Some(ItemRef::Comment(_)) => {}
                Some(ItemRef::Directive(d)) => {
                    if let Some(b) = d.block() {
                        let items = b.items();
                        if items.len() > 0 {
                            self.stack.push(items);
                        }
                    }
                    return Some(d);
                }
            }
        }
    }
}

// A tree holds one directive record per directive and one word record per token: on a large
// configuration they are most of its memory. Growing them is a choice to make here, not by
// accident.
const _: () = {
    assert!(std::mem::size_of::<WordRec>() == 8);
    assert!(std::mem::size_of::<DirRec>() == 16);
    assert!(std::mem::size_of::<BlockRec>() <= 36);
    assert!(std::mem::size_of::<Item>() == 4);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_record_gives_back_its_span_quote_and_whether_its_value_is_apart() {
        let quotes = [Quote::None, Quote::Single, Quote::Double, Quote::Raw];
        let ast = Ast::default();
        for q in quotes {
            for span in [
                Span::new(3, 9),
                Span::new(0, 0),
                Span::new(7, 7 + (1 << 29) - 2),
            ] {
                for owned in [false, true] {
                    let w = WordRec::new(span, owned, q);
                    assert!(!w.is_long());
                    assert_eq!(
                        (ast.word_span(&w), w.quote(), w.is_owned()),
                        (span, q, owned)
                    );
                }
            }
            // A length that does not fit is marked: its span is in the tree.
            let long = Span::new(5, 5 + (1 << 29) + 10);
            let w = WordRec::new(long, false, q);
            assert!(w.is_long());
            assert_eq!(w.quote(), q);
            let with = Ast {
                long_spans: vec![Span::new(1, 2), long],
                ..Ast::default()
            };
            assert_eq!(with.word_span(&w), long);
        }
    }

    #[test]
    fn values_kept_apart_are_found_by_their_token() {
        let text = "a \"x\\\"y\" b\\;c;\nd 'plain' e\\tf;\n";
        let ast = crate::syntax::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let words: Vec<String> = ast
            .walk()
            .flat_map(|d| {
                std::iter::once(d.name().to_owned())
                    .chain(d.args().iter().map(|a| a.as_str().to_owned()))
            })
            .collect();
        assert_eq!(words, ["a", "x\"y", "b\\;c", "d", "plain", "e\tf"]);
        // Only the words with a backslash are kept apart, in the order of the text (`\;` is
        // not one nginx unescapes, so `b\;c` reads as written).
        let at: Vec<usize> = ast.owned.iter().map(|o| o.at as usize).collect();
        assert_eq!(
            at,
            [
                text.find('"').unwrap_or(0),
                text.find('b').unwrap_or(0),
                text.find("e\\").unwrap_or(0)
            ]
        );
    }

    #[test]
    fn semicolons_and_comments_inside_directives_are_where_they_were_written() {
        let text = "a 1;\nb # one\n  2 # two\n  ;\nc {\n  d # three\n  ;\n}\n";
        let ast = crate::syntax::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let dirs: Vec<_> = ast.walk().collect();
        let at = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("{needle}"));
        let seen: Vec<(&str, usize, Option<usize>, Vec<&str>)> = dirs
            .iter()
            .map(|d| {
                let comments = d.inner_comments().map(|c| c.text()).collect();
                (
                    d.name(),
                    d.args().len(),
                    d.semicolon().map(|s| s.start()),
                    comments,
                )
            })
            .collect();
        assert_eq!(
            seen[..4],
            [
                ("a", 1, Some(at("1;") + 1), vec![]),
                ("b", 1, Some(at("  ;\nc") + 2), vec![" one", " two"]),
                ("c", 0, None, vec![]),
                ("d", 0, Some(at("  ;\n}") + 2), vec![" three"]),
            ]
        );
    }
}
