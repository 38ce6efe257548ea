//! Read-only handles into a parsed tree: what everything outside `syntax` reads a tree through.
//!
//! Each handle is a small `Copy` value: the tree and an index into one of its arrays (see
//! [`super::ast`] for the layout). Code that holds one never sees how the tree stores
//! directives, words and comments. Equality is identity: two handles are equal when they name
//! the same node of the same tree, never because two nodes read alike.

use std::ops::Range;

use super::ast::{Ast, BlockKind, BlockRec, CommentRec, DirRec, Item, Quote, WordRec, EMPTY, NONE};
use super::Span;

/// One directive of a tree.
#[derive(Clone, Copy)]
pub struct DirRef<'a> {
    ast: &'a Ast,
    ix: u32,
}

/// One token: a directive name, an argument, or a raw block's body.
#[derive(Clone, Copy)]
pub struct WordRef<'a> {
    ast: &'a Ast,
    ix: u32,
}

/// A directive's arguments, in order.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    ast: &'a Ast,
    start: u32,
    len: u32,
}

/// The block of a block directive: `{`, its items, `}`.
#[derive(Clone, Copy)]
pub struct BlockRef<'a> {
    ast: &'a Ast,
    ix: u32,
}

/// A `#` comment.
#[derive(Clone, Copy)]
pub struct CommentRef<'a> {
    ast: &'a Ast,
    ix: u32,
}

/// An item of a block or of the top level: a directive or a comment, in source order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemRef<'a> {
    Directive(DirRef<'a>),
    Comment(CommentRef<'a>),
}

/// Identity: the same tree (by address) and the same index.
macro_rules! identity {
    ($($t:ident),*) => {$(
        impl PartialEq for $t<'_> {
            fn eq(&self, other: &Self) -> bool {
                std::ptr::eq(self.ast, other.ast) && self.ix == other.ix
            }
        }

        impl Eq for $t<'_> {}
    )*};
}

identity!(DirRef, WordRef, BlockRef, CommentRef);

impl<'a> DirRef<'a> {
    #[inline]
    fn rec(self) -> &'a DirRec {
        &self.ast.dirs[self.ix as usize]
    }

    #[inline]
    pub fn name(self) -> &'a str {
        self.name_word().as_str()
    }

    /// The number of the name's [`crate::directives::NameId`], `u16::MAX` when the built-in
    /// table does not have the name (given by the parser: no lookup).
    #[inline]
    pub fn name_index(self) -> u16 {
        self.ast
            .dir_names
            .get(self.ix as usize)
            .copied()
            .unwrap_or(u16::MAX)
    }

    /// The name as a token (its span, how it was written).
    #[inline]
    pub fn name_word(self) -> WordRef<'a> {
        WordRef {
            ast: self.ast,
            ix: self.rec().name,
        }
    }

    #[inline]
    pub fn args(self) -> Args<'a> {
        let r = self.rec();
        Args {
            ast: self.ast,
            start: r.name + 1,
            len: r.args(),
        }
    }

    /// The value of argument `i`, counted from 0.
    #[inline]
    pub fn arg(self, i: usize) -> Option<&'a str> {
        self.args().get(i).map(WordRef::as_str)
    }

    /// From the first byte of the name to the `;` or the closing `}`, inclusive.
    #[inline]
    pub fn span(self) -> Span {
        self.ast.dir_span(self.rec())
    }

    /// The head: name and arguments, without `;` or block.
    #[inline]
    pub fn head_span(self) -> Span {
        let name = self.name_word().span();
        self.args().last().map_or(name, |a| name.cover(a.span()))
    }

    /// The terminating `;`, absent for block directives.
    #[inline]
    pub fn semicolon(self) -> Option<Span> {
        let at = self.rec().semicolon()?;
        Some(Span::new(at, at + 1))
    }

    #[inline]
    pub fn block(self) -> Option<BlockRef<'a>> {
        let ix = self.rec().block;
        (ix != NONE).then_some(BlockRef { ast: self.ast, ix })
    }

    #[inline]
    pub fn has_block(self) -> bool {
        self.rec().block != NONE
    }

    /// The block's directive items, empty for simple directives and raw blocks.
    #[inline]
    pub fn children(self) -> impl Iterator<Item = DirRef<'a>> + 'a {
        self.block().into_iter().flat_map(BlockRef::directives)
    }

    /// Comments written between the name and the terminating `;` or `{`.
    #[inline]
    pub fn inner_comments(self) -> impl ExactSizeIterator<Item = CommentRef<'a>> + 'a {
        let ast = self.ast;
        let (start, len) = ast.inner_run(self.ix);
        (start..start + len).map(move |ix| CommentRef { ast, ix })
    }
}

impl std::fmt::Debug for DirRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirRef")
            .field("name", &self.name())
            .field("span", &self.span())
            .finish()
    }
}

impl<'a> WordRef<'a> {
    #[inline]
    fn rec(self) -> &'a WordRec {
        &self.ast.words[self.ix as usize]
    }

    /// The value as nginx reads it: quotes removed, `\" \' \\ \t \r \n` unescaped, other
    /// backslashes kept; bytes that are not UTF-8 read as U+FFFD (the exact bytes stay
    /// reachable through [`WordRef::span`]).
    #[inline]
    pub fn as_str(self) -> &'a str {
        self.ast.word_text(self.rec())
    }

    /// The token as written, quotes included.
    #[inline]
    pub fn span(self) -> Span {
        self.ast.word_span(self.rec())
    }

    #[inline]
    pub fn quote(self) -> Quote {
        self.rec().quote()
    }

    /// The token exactly as written in `src`.
    #[inline]
    pub fn raw(self, src: &[u8]) -> &[u8] {
        src.get(self.span().range()).unwrap_or_default()
    }

    /// True when the value refers to a variable (`$name` or `${name}`).
    #[inline]
    pub fn has_variable(self) -> bool {
        self.quote() != Quote::Raw
            && self.as_str().as_bytes().windows(2).any(|w| {
                w[0] == b'$' && (w[1].is_ascii_alphanumeric() || matches!(w[1], b'_' | b'{'))
            })
    }
}

impl std::fmt::Debug for WordRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordRef")
            .field("value", &self.as_str())
            .field("span", &self.span())
            .field("quote", &self.quote())
            .finish()
    }
}

impl<'a> Args<'a> {
    #[inline]
    pub fn len(self) -> usize {
        self.len as usize
    }

    #[inline]
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn get(self, i: usize) -> Option<WordRef<'a>> {
        (i < self.len()).then(|| WordRef {
            ast: self.ast,
            ix: self.start + i as u32,
        })
    }

    #[inline]
    pub fn first(self) -> Option<WordRef<'a>> {
        self.get(0)
    }

    #[inline]
    pub fn last(self) -> Option<WordRef<'a>> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    #[inline]
    pub fn iter(self) -> Words<'a> {
        Words {
            ast: self.ast,
            range: self.start..self.start + self.len,
        }
    }

    /// The arguments in `range` (clamped to the list).
    #[inline]
    pub fn slice(self, range: impl std::ops::RangeBounds<usize>) -> Args<'a> {
        use std::ops::Bound;
        let n = self.len();
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => s.saturating_add(1),
            Bound::Unbounded => 0,
        }
        .min(n);
        let end = match range.end_bound() {
            Bound::Included(&e) => e.saturating_add(1),
            Bound::Excluded(&e) => e,
            Bound::Unbounded => n,
        }
        .clamp(start, n);
        Args {
            ast: self.ast,
            start: self.start + start as u32,
            len: (end - start) as u32,
        }
    }

    /// The arguments when there are exactly `N` of them: `match d.args().array() { Some([a, b])
    /// => ..., _ => ... }`.
    #[inline]
    pub fn array<const N: usize>(self) -> Option<[WordRef<'a>; N]> {
        (self.len() == N).then(|| {
            std::array::from_fn(|i| WordRef {
                ast: self.ast,
                ix: self.start + i as u32,
            })
        })
    }

    /// The last argument and the ones before it.
    #[inline]
    pub fn split_last(self) -> Option<(WordRef<'a>, Args<'a>)> {
        let n = self.len().checked_sub(1)?;
        Some((self.get(n)?, self.slice(..n)))
    }

    /// The first argument and the ones after it.
    #[inline]
    pub fn split_first(self) -> Option<(WordRef<'a>, Args<'a>)> {
        Some((self.first()?, self.slice(1..)))
    }

    /// The span from the first argument to the last, if there is one.
    #[inline]
    pub fn span(self) -> Option<Span> {
        Some(self.first()?.span().cover(self.last()?.span()))
    }
}

impl std::fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for Args<'a> {
    type Item = WordRef<'a>;
    type IntoIter = Words<'a>;

    #[inline]
    fn into_iter(self) -> Words<'a> {
        self.iter()
    }
}

/// The words of an [`Args`], in order.
#[derive(Clone)]
pub struct Words<'a> {
    ast: &'a Ast,
    range: Range<u32>,
}

impl<'a> Iterator for Words<'a> {
    type Item = WordRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<WordRef<'a>> {
        let ix = self.range.next()?;
        Some(WordRef { ast: self.ast, ix })
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.range.size_hint()
    }
}

impl DoubleEndedIterator for Words<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        let ix = self.range.next_back()?;
        Some(WordRef { ast: self.ast, ix })
    }
}

impl ExactSizeIterator for Words<'_> {}

impl<'a> BlockRef<'a> {
    #[inline]
    fn rec(self) -> &'a BlockRec {
        &self.ast.blocks[self.ix as usize]
    }

    #[inline]
    pub fn kind(self) -> BlockKind {
        self.rec().kind
    }

    /// The `{`.
    #[inline]
    pub fn open(self) -> Span {
        self.rec().open
    }

    /// The matching `}`.
    #[inline]
    pub fn close(self) -> Span {
        self.rec().close
    }

    /// Directives and comments, in source order.
    #[inline]
    pub fn items(self) -> Items<'a> {
        self.item_list().iter()
    }

    /// [`BlockRef::items`], to be read by position.
    #[inline]
    pub fn item_list(self) -> ItemList<'a> {
        let r = self.rec();
        ItemList::new(self.ast, r.items, r.items_len)
    }

    /// The directive items.
    #[inline]
    pub fn directives(self) -> impl Iterator<Item = DirRef<'a>> + 'a {
        self.items().filter_map(ItemRef::as_directive)
    }

    /// For [`BlockKind::Raw`], the body between the braces.
    #[inline]
    pub fn raw(self) -> Option<WordRef<'a>> {
        let ix = self.rec().raw;
        (ix != NONE).then_some(WordRef { ast: self.ast, ix })
    }
}

impl std::fmt::Debug for BlockRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockRef")
            .field("kind", &self.kind())
            .field("open", &self.open())
            .field("close", &self.close())
            .finish()
    }
}

impl<'a> CommentRef<'a> {
    #[inline]
    fn rec(self) -> &'a CommentRec {
        &self.ast.comments[self.ix as usize]
    }

    #[inline]
    pub fn span(self) -> Span {
        self.rec().span
    }

    /// The text after `#`.
    #[inline]
    pub fn text(self) -> &'a str {
        self.ast.comment_text(self.rec())
    }
}

impl std::fmt::Debug for CommentRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommentRef")
            .field("text", &self.text())
            .field("span", &self.span())
            .finish()
    }
}

/// The items of a block or of the top level, to be read by position.
#[derive(Clone, Copy)]
pub struct ItemList<'a> {
    ast: &'a Ast,
    start: u32,
    len: u32,
}

impl<'a> ItemList<'a> {
    #[inline]
    pub(super) fn new(ast: &'a Ast, start: u32, len: u32) -> Self {
        Self { ast, start, len }
    }

    #[inline]
    fn slice(self) -> &'a [Item] {
        let start = self.start as usize;
        self.ast
            .items
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }

    #[inline]
    pub fn len(self) -> usize {
        self.len as usize
    }

    #[inline]
    pub fn is_empty(self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn get(self, i: usize) -> Option<ItemRef<'a>> {
        self.slice().get(i).map(|&it| ItemRef::of(self.ast, it))
    }

    #[inline]
    pub fn iter(self) -> Items<'a> {
        Items {
            ast: self.ast,
            items: self.slice().iter(),
        }
    }

    /// How many items start at or before `offset`: the items are in source order, so this is
    /// a binary search (the last of them is the one that may hold `offset`).
    #[inline]
    pub fn starting_up_to(self, offset: usize) -> usize {
        self.slice()
            .partition_point(|&it| ItemRef::of(self.ast, it).span().start() <= offset)
    }

    /// The position of the first directive at or after `from`, if any.
    #[inline]
    pub fn next_directive(self, from: usize) -> Option<usize> {
        let rest = self.slice().get(from..)?;
        rest.iter()
            .position(|it| it.get().is_ok())
            .map(|p| from + p)
    }
}

impl Default for ItemList<'_> {
    #[inline]
    fn default() -> Self {
        ItemList::new(&EMPTY, 0, 0)
    }
}

/// The items of a block or of the top level, in source order.
#[derive(Clone)]
pub struct Items<'a> {
    ast: &'a Ast,
    items: std::slice::Iter<'a, Item>,
}

impl Default for Items<'_> {
    #[inline]
    fn default() -> Self {
        ItemList::default().iter()
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = ItemRef<'a>;

    #[inline]
    fn next(&mut self) -> Option<ItemRef<'a>> {
        let &it = self.items.next()?;
        Some(ItemRef::of(self.ast, it))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl DoubleEndedIterator for Items<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        let &it = self.items.next_back()?;
        Some(ItemRef::of(self.ast, it))
    }
}

impl ExactSizeIterator for Items<'_> {}

impl<'a> ItemRef<'a> {
    #[inline]
    fn of(ast: &'a Ast, it: Item) -> Self {
        match it.get() {
            Ok(ix) => ItemRef::Directive(DirRef { ast, ix }),
            Err(ix) => ItemRef::Comment(CommentRef { ast, ix }),
        }
    }

    #[inline]
    pub fn span(self) -> Span {
        match self {
            ItemRef::Directive(d) => d.span(),
            ItemRef::Comment(c) => c.span(),
        }
    }

    #[inline]
    pub fn as_directive(self) -> Option<DirRef<'a>> {
        match self {
            ItemRef::Directive(d) => Some(d),
            ItemRef::Comment(_) => None,
        }
    }
}
