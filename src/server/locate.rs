//! What sits at a byte offset of a loaded file: the directive, the word under the cursor, the
//! enclosing block, and the expanded nodes of that directive.

use crate::config::{NodeId, ResolvedConfig};
use crate::source::FileId;
use crate::syntax::{Ast, DirRef, Items, WordRef};

/// The word of a directive under the cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Name,
    Arg(usize),
    /// Elsewhere in the directive (between words, the `;`, its block's braces).
    Other,
}

/// The innermost directive of `ast` at `offset`, with the directives around it (outermost
/// first). The cursor at the end of a word still counts as on it (where editors put it after
/// typing).
pub fn at(ast: &Ast, offset: usize) -> Option<(DirRef<'_>, Part, Vec<DirRef<'_>>)> {
    let mut outer: Vec<DirRef<'_>> = Vec::new();
    let mut items: Items<'_> = ast.items();
    loop {
        let found = items.find_map(|n| {
            let d = n.as_directive()?;
            (d.span().start() <= offset && offset <= d.span().end()).then_some(d)
        })?;
        let inside_block = found
            .block()
            .filter(|b| b.open().end() <= offset && offset <= b.close().start());
        if let Some(block) = inside_block {
            let deeper = block
                .directives()
                .any(|d| d.span().start() <= offset && offset <= d.span().end());
            if deeper {
                outer.push(found);
                items = block.items();
                continue;
            }
        }
        let on = |w: WordRef<'_>| w.span().start() <= offset && offset <= w.span().end();
        let part = if on(found.name_word()) {
            Part::Name
        } else if let Some(i) = found.args().iter().position(on) {
            Part::Arg(i)
        } else {
            Part::Other
        };
        return Some((found, part, outer));
    }
}

/// The expanded nodes of a directive of `file` (one per place its file is read).
pub fn nodes_of(config: &ResolvedConfig<'_>, file: FileId, d: DirRef<'_>) -> Vec<NodeId> {
    config
        .nodes_named(d.name())
        .iter()
        .copied()
        .filter(|id| {
            let n = config.node(*id);
            n.file == file && n.directive == d
        })
        .collect()
}

/// The word around `offset` in `text`: letters, digits, `_` and `-` (a rule id or name in a
/// comment).
pub fn word_at(text: &[u8], offset: usize) -> Option<(usize, &str)> {
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let offset = offset.min(text.len());
    let mut start = offset;
    while start > 0 && is_word(text[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < text.len() && is_word(text[end]) {
        end += 1;
    }
    if start == end {
        return None;
    }
    std::str::from_utf8(&text[start..end])
        .ok()
        .map(|w| (start, w))
}
