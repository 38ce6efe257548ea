//! The syntax tree. Every token keeps its byte span; comments are nodes; whitespace is whatever
//! lies between spans, so the source can be rebuilt byte for byte from the tree and the text.

use compact_str::CompactString;

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

/// One token: a directive name or an argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Word {
    /// The token as written, quotes included.
    pub span: Span,
    /// The value as nginx reads it: quotes removed, `\" \' \\ \t \r \n` unescaped, other
    /// backslashes kept. Bytes that are not UTF-8 are replaced by U+FFFD here; the exact bytes
    /// stay reachable through `span`.
    pub value: CompactString,
    pub quote: Quote,
}

impl Word {
    pub fn as_str(&self) -> &str {
        self.value.as_str()
    }

    /// The token exactly as written in `src`.
    pub fn raw<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        &src[self.span.range()]
    }

    /// True when the value refers to a variable (`$name` or `${name}`).
    pub fn has_variable(&self) -> bool {
        self.quote != Quote::Raw
            && self.value.as_bytes().windows(2).any(|w| {
                w[0] == b'$' && (w[1].is_ascii_alphanumeric() || matches!(w[1], b'_' | b'{'))
            })
    }
}

/// A `#` comment, up to (not including) the end of its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub span: Span,
    /// The text after `#`.
    pub text: CompactString,
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// The `{`.
    pub open: Span,
    /// The matching `}`.
    pub close: Span,
    pub items: Vec<Node>,
    /// For [`BlockKind::Raw`], the body between the braces (boxed: few blocks have one).
    pub raw: Option<Box<Word>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub name: Word,
    /// Boxed slices, not vectors: a tree holds one list per directive and never grows them, so
    /// the capacity word would be dead weight.
    pub args: Box<[Word]>,
    /// Comments written between the name and the terminating `;` or `{`.
    pub inner_comments: Box<[Comment]>,
    /// The terminating `;`, absent for block directives.
    pub semicolon: Option<Span>,
    pub block: Option<Box<Block>>,
    /// From the first byte of the name to the `;` or the closing `}`, inclusive.
    pub span: Span,
}

impl Directive {
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    pub fn arg(&self, i: usize) -> Option<&str> {
        self.args.get(i).map(Word::as_str)
    }

    /// The block's directive items, empty for simple directives and raw blocks.
    pub fn children(&self) -> impl Iterator<Item = &Directive> {
        self.block
            .iter()
            .flat_map(|b| b.items.iter())
            .filter_map(Node::as_directive)
    }

    /// The span of the head: name and arguments, without `;` or block.
    pub fn head_span(&self) -> Span {
        self.args
            .last()
            .map_or(self.name.span, |a| self.name.span.cover(a.span))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Directive(Directive),
    Comment(Comment),
}

impl Node {
    pub fn as_directive(&self) -> Option<&Directive> {
        match self {
            Node::Directive(d) => Some(d),
            Node::Comment(_) => None,
        }
    }

    pub fn span(&self) -> Span {
        match self {
            Node::Directive(d) => d.span,
            Node::Comment(c) => c.span,
        }
    }
}

/// One parsed file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ast {
    pub items: Vec<Node>,
}

impl Ast {
    pub fn directives(&self) -> impl Iterator<Item = &Directive> {
        self.items.iter().filter_map(Node::as_directive)
    }

    /// Every span the tree owns (words, comments, punctuation), in source order. Everything
    /// between them is whitespace: the lossless property tests check exactly that.
    pub fn token_spans(&self) -> Vec<Span> {
        let mut out = Vec::new();
        for d in self.walk() {
            out.push(d.name.span);
            out.extend(d.args.iter().map(|a| a.span));
            out.extend(d.inner_comments.iter().map(|c| c.span));
            out.extend(d.semicolon);
            if let Some(b) = &d.block {
                out.push(b.open);
                out.extend(b.raw.as_ref().map(|r| r.span));
                out.push(b.close);
            }
        }
        out.extend(self.comments().map(|c| c.span));
        out.sort();
        out
    }

    /// Every directive at any depth, in source order, without recursion (nesting is bounded
    /// only by [`crate::syntax::MAX_DEPTH`], far beyond what the call stack could take).
    pub fn walk(&self) -> Walk<'_> {
        walk_items(&self.items)
    }

    /// Every comment node at any depth (not the comments inside a directive's head): the top
    /// level's first, then each block's, blocks in source order.
    pub fn comments(&self) -> impl Iterator<Item = &Comment> {
        self.items
            .iter()
            .filter_map(|n| match n {
                Node::Comment(c) => Some(c),
                Node::Directive(_) => None,
            })
            .chain(self.walk().flat_map(|d| {
                d.block.iter().flat_map(|b| {
                    b.items.iter().filter_map(|n| match n {
                        Node::Comment(c) => Some(c),
                        Node::Directive(_) => None,
                    })
                })
            }))
    }
}

/// Directives of `items` and of every block below them, in source order (pre-order).
pub fn walk_items(items: &[Node]) -> Walk<'_> {
    Walk {
        stack: vec![items.iter()],
    }
}

/// Pre-order iterator over nested directives with an explicit stack: see [`Ast::walk`].
pub struct Walk<'a> {
    stack: Vec<std::slice::Iter<'a, Node>>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = &'a Directive;

    fn next(&mut self) -> Option<&'a Directive> {
        loop {
            let top = self.stack.last_mut()?;
            match top.next() {
                None => {
                    self.stack.pop();
                }
                Some(Node::Comment(_)) => {}
                Some(Node::Directive(d)) => {
                    if let Some(b) = &d.block {
                        if !b.items.is_empty() {
                            self.stack.push(b.items.iter());
                        }
                    }
                    return Some(d);
                }
            }
        }
    }
}

/// Dropping a block frees its nested blocks from a worklist: the derived drop would recurse
/// once per nesting level and overflow the stack on a deep (but valid) configuration.
impl Drop for Block {
    fn drop(&mut self) {
        let mut pending = std::mem::take(&mut self.items);
        while let Some(node) = pending.pop() {
            if let Node::Directive(mut d) = node {
                if let Some(b) = d.block.as_mut() {
                    pending.append(&mut b.items);
                }
            }
        }
    }
}

// A tree holds one `Node` per directive and one `Word` per token: on a large configuration
// they are most of its memory. Growing them is a choice to make here, not by accident
// (sizes on 64-bit targets).
#[cfg(target_pointer_width = "64")]
const _: () = {
    assert!(std::mem::size_of::<Word>() <= 40);
    assert!(std::mem::size_of::<Node>() <= 104);
    assert!(std::mem::size_of::<Block>() <= 56);
};
