//! Builds the [`Ast`] from tokens with an explicit stack (no recursion, so nesting depth cannot
//! overflow the call stack), and reports the first error with nginx's own wording.

use super::ast::{
    Ast, BlockKind, BlockRec, CommentRec, DirRec, InnerRun, Item, Owned, Quote, WordRec, NONE,
};
use super::lexer::{comment, is_space, quoted_body, unescape, unquoted_escaped, whitespace};
use super::text::SourceText;
use super::Span;

/// nginx reads a config through a 4096-byte buffer (`NGX_CONF_BUFFER`); a token that does not fit
/// is "too long parameter".
pub const MAX_TOKEN_LEN: usize = 4096;

/// Blocks nested deeper than this are refused. nginx has no explicit limit: `ngx_conf_parse`
/// calls a block directive's handler, which calls `ngx_conf_parse` again for the body, so the
/// depth is bounded only by its stack. Measured with Debian's nginx 1.22.1 (x86_64) and the
/// default 8 MiB stack (`ulimit -s 8192`): 13,085 nested `location` blocks inside `http` and
/// `server` pass `nginx -t`, 13,125 crash it with SIGSEGV (with `ulimit -s unlimited` even
/// 100,000 pass). Nothing in nginx-gwlint recurses on nesting, so the bound only keeps to what
/// nginx can start with a default stack; real configurations stay below 10 levels.
pub const MAX_DEPTH: usize = 13_000;

/// The longest text the parser reads: [`Span`]s are 32-bit offsets. Files are refused far below
/// this (`config::MAX_FILE_SIZE`, 1 GiB); the bound holds for any other caller too.
pub const MAX_TEXT_LEN: usize = u32::MAX as usize;

/// Block directives whose bodies are read by the module's own handler, not as directives.
const ENTRY_BLOCKS: &[&str] = &[
    "map",
    "geo",
    "types",
    "split_clients",
    "charset_map",
    "match",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// `unexpected "X"`.
    Unexpected(u8),
    /// `unexpected end of file, expecting ";" or "}"`: the file ends inside a directive.
    EofInDirective,
    /// `unexpected end of file, expecting "}"`: a block is not closed.
    EofInBlock,
    /// `too long parameter "..." started`.
    TooLongParameter,
    /// `too long parameter, probably missing terminating "X" character`.
    TooLongQuoted(u8),
    /// Nesting beyond [`MAX_DEPTH`].
    TooDeep,
    /// A text longer than [`MAX_TEXT_LEN`]: spans are 32-bit offsets.
    TooLarge,
}

/// The first syntax error in a file, at the byte where nginx notices it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub kind: ParseErrorKind,
    /// Where the error is reported: the offending byte, or the end of input.
    pub offset: usize,
    pub message: String,
}

impl ParseError {
    fn new(kind: ParseErrorKind, offset: usize, src: &[u8]) -> Self {
        let message = match &kind {
            ParseErrorKind::Unexpected(b) => {
                format!("unexpected \"{}\"", String::from_utf8_lossy(&[*b]))
            }
            ParseErrorKind::EofInDirective => {
                "unexpected end of file, expecting \";\" or \"}\"".to_owned()
            }
            ParseErrorKind::EofInBlock => "unexpected end of file, expecting \"}\"".to_owned(),
            ParseErrorKind::TooLongParameter => {
                let end = (offset + 10).min(src.len());
                format!(
                    "too long parameter \"{}...\" started",
                    String::from_utf8_lossy(&src[offset..end])
                )
            }
            ParseErrorKind::TooLongQuoted(q) => format!(
                "too long parameter, probably missing terminating \"{}\" character",
                *q as char
            ),
            ParseErrorKind::TooDeep => {
                format!(
                    "blocks are nested more than {MAX_DEPTH} levels deep (nginx recurses once per \
                     block and crashes near that depth with the default 8 MiB stack)"
                )
            }
            ParseErrorKind::TooLarge => format!(
                "the text is {} bytes long; at most {MAX_TEXT_LEN} bytes are read",
                src.len()
            ),
        };
        Self {
            kind,
            offset,
            message,
        }
    }
}

/// A directive being read: its words so far (their values already in the tree's text). The
/// buffers are reused from one directive to the next.
#[derive(Default)]
struct Pending {
    words: Vec<WordRec>,
    comments: Vec<CommentRec>,
    names: NameCache,
}

/// The built-in names last seen, by a hash of their first and last bytes and length: a file
/// repeats a few dozen names, which are then numbered without the table's lookup.
struct NameCache([(&'static str, u16); 64]);

impl Default for NameCache {
    fn default() -> Self {
        NameCache([("", u16::MAX); 64])
    }
}

impl NameCache {
    /// The [`crate::directives::NameId`] number of `name`, `u16::MAX` when the table does not
    /// have it.
    fn index(&mut self, name: &str) -> u16 {
        let b = name.as_bytes();
        let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
            return u16::MAX;
        };
        let slot = (usize::from(first) ^ usize::from(last) << 1 ^ b.len() << 3) & 63;
        let (known, index) = self.0[slot];
        if known == name {
            return index;
        }
        let Some(id) = crate::directives::NameId::of(name) else {
            return u16::MAX;
        };
        if let Some(name) = crate::directives::NameId::str_of_index(id.index()) {
            self.0[slot] = (name, id.index());
        }
        id.index()
    }
}

impl Pending {
    /// Moves the directive read so far into `ast` and gives its index; the buffers stay for
    /// reuse.
    fn take(&mut self, ast: &mut Ast, semicolon: Option<Span>) -> u32 {
        if self.words.is_empty() {
            // A `{` with no directive before it: a nameless head, so the block still nests.
            self.words
                .push(WordRec::new(Span::default(), false, Quote::None));
        }
        let name = ast.words.len() as u32;
        let last = ast.word_span(&self.words[self.words.len() - 1]);
        let args = (self.words.len() - 1) as u32;
        ast.words.append(&mut self.words);
        let ix = ast.dirs.len() as u32;
        if !self.comments.is_empty() {
            ast.inner_comments.push(InnerRun {
                dir: ix,
                start: ast.comments.len() as u32,
                len: self.comments.len() as u32,
            });
            ast.comments.append(&mut self.comments);
        }
        let end = match semicolon {
            Some(s) => s.end(),
            None => last.end(),
        };
        ast.dirs
            .push(DirRec::new(end, name, args, semicolon.is_some()));
        let id = self.names.index(ast.word_text(&ast.words[name as usize]));
        ast.dir_names.push(id);
        ix
    }
}

/// An open block and the directive that owns it.
struct Frame {
    /// The directive's index in the tree.
    head: u32,
    kind: BlockKind,
    open: Span,
    /// Where the block's items start in the one item stack all open blocks share: each
    /// block's list is allocated once, at its exact size, when it closes (instead of a Vec
    /// grown per block and shrunk when the block closed).
    start: usize,
    /// A `{` nginx refuses (no directive name, or inside a `map`-like block): its body is read
    /// to keep the braces balanced, then dropped.
    discard: bool,
}

/// At most this many syntax errors are collected per file; past them the rest is not read.
pub const MAX_ERRORS: usize = 64;

/// A file read past its syntax errors (see [`parse_recovering`]).
#[derive(Debug)]
pub struct Recovered {
    /// Every directive that was read, open blocks closed at the end of the file.
    pub ast: Ast,
    /// The syntax errors in file order; the first is the one nginx reports.
    pub errors: Vec<ParseError>,
    /// False when part of the file could not be read as directives at all: an unterminated
    /// quote or Lua block, a token past nginx's buffer, nesting past [`MAX_DEPTH`], or more than
    /// [`MAX_ERRORS`] errors. What that part would have set is then unknown.
    pub complete: bool,
}

/// Parses one file. Only the first error is reported, as nginx does.
pub fn parse(src: &[u8]) -> Result<Ast, ParseError> {
    let r = parse_recovering(src);
    match r.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(r.ast),
    }
}

/// Parses one file and keeps going after a syntax error, so that checks can run on what nginx
/// would have read before it (where nginx's own first error may be) and on the rest.
///
/// Recovery follows how the text most plausibly reads: a `}` right after a directive's words
/// ends that directive (the missing `;`) and then its block; a stray `;` or top-level `}` is
/// skipped; a refused `{` still nests, so its `}` matches it, and its body is dropped; text
/// glued to a closing quote starts the next word; at the end of the file an unfinished
/// directive is dropped and open blocks are closed. Where the rest of the file cannot be read
/// as directives (see [`Recovered::complete`]) reading stops.
pub fn parse_recovering(src: &[u8]) -> Recovered {
    parse_source(SourceText::from(src))
}

/// [`parse_recovering`] of a shared text: the tree keeps `text` (one allocation with the
/// caller's copy) and reads its words' values out of it.
pub fn parse_source(text: SourceText) -> Recovered {
    let src = text.as_bytes();
    if src.len() > MAX_TEXT_LEN {
        let errors = vec![ParseError::new(ParseErrorKind::TooLarge, 0, src)];
        return Recovered {
            ast: Ast::of_text(text),
            errors,
            complete: false,
        };
    }
    let mut parser = Parser {
        src,
        utf8: text.as_str(),
        pos: 0,
        errors: Vec::new(),
        // The text from the start: the parser reads heads' names through the tree.
        ast: Ast::of_text(text.clone()),
    };
    let complete = parser.run();
    let Parser { ast, errors, .. } = parser;
    Recovered {
        ast,
        errors,
        complete,
    }
}

struct Parser<'a> {
    src: &'a [u8],
    /// `src` as text when it is UTF-8 (checked once, not once per word).
    utf8: Option<&'a str>,
    pos: usize,
    errors: Vec<ParseError>,
    /// The tree being built.
    ast: Ast,
}

/// Why reading stopped before the end of the file.
struct Stop;

impl<'a> Parser<'a> {
    fn err(&self, kind: ParseErrorKind, offset: usize) -> ParseError {
        ParseError::new(kind, offset, self.src)
    }

    /// Records a syntax error reading can continue after; [`Stop`] once there are too many.
    fn recoverable(&mut self, kind: ParseErrorKind, offset: usize) -> Result<(), Stop> {
        let e = self.err(kind, offset);
        self.errors.push(e);
        if self.errors.len() >= MAX_ERRORS {
            return Err(Stop);
        }
        Ok(())
    }

    /// Records the error after which the rest of the file is not read.
    fn fatal(&mut self, e: ParseError) -> Stop {
        self.errors.push(e);
        Stop
    }

    fn rest(&self) -> &'a [u8] {
        &self.src[self.pos..]
    }

    fn advance_to(&mut self, rest: &[u8]) {
        self.pos = self.src.len() - rest.len();
    }

    /// Reads the file into `self.ast`; false when part of it could not be read.
    fn run(&mut self) -> bool {
        // About one directive per 30 bytes and four words per directive in real
        // configurations: one allocation each for most files.
        let n = self.src.len();
        self.ast.words.reserve(n / 8);
        self.ast.dirs.reserve(n / 32);
        self.ast.dir_names.reserve(n / 32);
        let mut stack: Vec<Frame> = Vec::new();
        let mut items: Vec<Item> = Vec::new();
        let mut kind = BlockKind::Directives;
        let mut pending = Pending::default();
        let complete = self
            .read(&mut stack, &mut items, &mut kind, &mut pending)
            .is_ok();
        // Blocks still open at the end (or where reading stopped) are closed there.
        let end = Span::empty(self.src.len());
        while let Some(frame) = stack.pop() {
            close(&mut self.ast, &mut items, &mut kind, frame, end);
        }
        let ast = &mut self.ast;
        ast.top = ast.items.len() as u32;
        ast.top_len = items.len() as u32;
        ast.items.append(&mut items);
        ast.words.shrink_to_fit();
        ast.comments.shrink_to_fit();
        ast.dirs.shrink_to_fit();
        ast.dir_names.shrink_to_fit();
        ast.blocks.shrink_to_fit();
        ast.items.shrink_to_fit();
        ast.inner_comments.shrink_to_fit();
        ast.owned.shrink_to_fit();
        ast.values.shrink_to_fit();
        complete
    }

    fn read(
        &mut self,
        stack: &mut Vec<Frame>,
        items: &mut Vec<Item>,
        kind: &mut BlockKind,
        pending: &mut Pending,
    ) -> Result<(), Stop> {
        loop {
            if let Ok((rest, _)) = whitespace(self.rest()) {
                self.advance_to(rest);
            }
            let Some(&b) = self.rest().first() else {
                if !pending.words.is_empty() {
                    // nginx never reads the unfinished directive: it is dropped.
                    pending.words.clear();
                    pending.comments.clear();
                    self.recoverable(ParseErrorKind::EofInDirective, self.pos)?;
                } else if !stack.is_empty() {
                    self.recoverable(ParseErrorKind::EofInBlock, self.pos)?;
                }
                return Ok(());
            };
            let at = self.pos;
            match b {
                b'#' => {
                    let c = self.comment().map_err(|e| self.fatal(e))?;
                    if pending.words.is_empty() {
                        items.push(Item::comment(self.ast.comments.len() as u32));
                        self.ast.comments.push(c);
                    } else {
                        pending.comments.push(c);
                    }
                }
                b';' => {
                    self.pos += 1;
                    if pending.words.is_empty() {
                        self.recoverable(ParseErrorKind::Unexpected(b';'), at)?;
                        continue;
                    }
                    let d = pending.take(&mut self.ast, Some(Span::new(at, at + 1)));
                    items.push(Item::directive(d));
                }
                b'{' => {
                    self.pos += 1;
                    let open = Span::new(at, at + 1);
                    let discard = pending.words.is_empty() || *kind == BlockKind::Entries;
                    if discard {
                        self.recoverable(ParseErrorKind::Unexpected(b'{'), at)?;
                    }
                    let head = pending.take(&mut self.ast, None);
                    let name_rec = self.ast.words[self.ast.dirs[head as usize].name as usize];
                    let name = self.ast.word_text(&name_rec);
                    let lua = name.ends_with("_by_lua_block");
                    let entries = ENTRY_BLOCKS.contains(&name);
                    if lua && !discard {
                        let (raw, close) = self.lua_block().map_err(|e| self.fatal(e))?;
                        let raw_ix = self.ast.words.len() as u32;
                        self.ast.words.push(raw);
                        let block = BlockRec {
                            kind: BlockKind::Raw,
                            open,
                            close,
                            items: 0,
                            items_len: 0,
                            raw: raw_ix,
                        };
                        with_block(&mut self.ast, head, block);
                        items.push(Item::directive(head));
                        continue;
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(self.fatal(self.err(ParseErrorKind::TooDeep, at)));
                    }
                    let new_kind = if entries {
                        BlockKind::Entries
                    } else {
                        BlockKind::Directives
                    };
                    stack.push(Frame {
                        head,
                        kind: *kind,
                        open,
                        start: items.len(),
                        discard,
                    });
                    *kind = new_kind;
                }
                b'}' => {
                    self.pos += 1;
                    let unfinished = !pending.words.is_empty();
                    if unfinished {
                        // Most often the `;` before the `}` is missing: end the directive.
                        self.recoverable(ParseErrorKind::Unexpected(b'}'), at)?;
                        let d = pending.take(&mut self.ast, None);
                        items.push(Item::directive(d));
                    }
                    let Some(frame) = stack.pop() else {
                        // One `}` too many: nginx stops here; reading on skips it.
                        if !unfinished {
                            self.recoverable(ParseErrorKind::Unexpected(b'}'), at)?;
                        }
                        continue;
                    };
                    close(&mut self.ast, items, kind, frame, Span::new(at, at + 1));
                }
                b'"' | b'\'' => {
                    let w = self.quoted(b)?;
                    pending.words.push(w);
                }
                _ => match self.unquoted() {
                    Ok(w) => pending.words.push(w),
                    // The word runs to the end of the file: nothing after it is lost, and the
                    // unfinished directive is dropped (one error for it and any open block).
                    Err(e) if e.kind == ParseErrorKind::EofInDirective => {
                        self.errors.push(e);
                        return Ok(());
                    }
                    Err(e) => return Err(self.fatal(e)),
                },
            }
        }
    }

    fn comment(&mut self) -> Result<CommentRec, ParseError> {
        let start = self.pos;
        let (rest, text) =
            comment(self.rest()).map_err(|_| self.err(ParseErrorKind::EofInBlock, start))?;
        self.advance_to(rest);
        // nginx keeps the comment in its read buffer until the LF: a comment line longer than
        // the buffer is "too long parameter" too.
        if !rest.is_empty() && self.pos - start >= MAX_TOKEN_LEN {
            return Err(self.err(ParseErrorKind::TooLongParameter, start));
        }
        let text = match self.written(&text[1..], start) {
            true => narrow(self.ast.owned.len() - 1),
            false => NONE,
        };
        Ok(CommentRec {
            span: Span::new(start, self.pos),
            text,
        })
    }

    /// A value that is the file's text as written (`bytes`, a slice of it) of the token that
    /// starts at `at`: read from the text itself when it is UTF-8 (false), else kept apart with
    /// U+FFFD for the bytes that are not (true).
    fn written(&mut self, bytes: &[u8], at: usize) -> bool {
        if self.utf8.is_none() {
            self.owned(bytes, at);
        }
        self.utf8.is_none()
    }

    /// Keeps the value of the token that starts at `at` apart from the file's text (unescaped,
    /// or not UTF-8), as the last of `Ast::owned`. The values are at most three times the text
    /// (U+FFFD for every byte), which the loader's bound on files keeps within 32-bit offsets.
    fn owned(&mut self, bytes: &[u8], at: usize) -> bool {
        let start = self.ast.values.len();
        self.ast.values.push_str(&String::from_utf8_lossy(bytes));
        let len = self.ast.values.len() - start;
        self.ast.owned.push(Owned {
            at: narrow(at),
            start: narrow(start),
            len: narrow(len),
        });
        true
    }

    fn unquoted(&mut self) -> Result<WordRec, ParseError> {
        let start = self.pos;
        let Ok((rest, (raw, escaped))) = unquoted_escaped(self.rest()) else {
            // Only a lone backslash at the very end of the input gets here.
            return Err(self.err(ParseErrorKind::EofInDirective, self.src.len()));
        };
        self.advance_to(rest);
        match rest.first() {
            None | Some(b'\\') => {
                return Err(self.err(ParseErrorKind::EofInDirective, self.src.len()));
            }
            Some(_) => {}
        }
        if raw.len() >= MAX_TOKEN_LEN {
            return Err(self.err(ParseErrorKind::TooLongParameter, start));
        }
        let owned = if escaped {
            self.owned(&unescape(raw), start)
        } else {
            self.written(raw, start)
        };
        Ok(WordRec::new(Span::new(start, self.pos), owned, Quote::None))
    }

    /// A quoted word. An unterminated or too long quote ends reading (the rest of the file is
    /// inside it); text glued to the closing quote is an error reading continues after.
    fn quoted(&mut self, q: u8) -> Result<WordRec, Stop> {
        let start = self.pos;
        let content_start = start + 1;
        let after_quote = &self.src[content_start..];
        let Ok((rest, body)) = quoted_body(q)(after_quote) else {
            return Err(self.fatal(self.err(ParseErrorKind::EofInDirective, self.src.len())));
        };
        if body.len() >= MAX_TOKEN_LEN {
            return Err(self.fatal(self.err(ParseErrorKind::TooLongQuoted(q), start)));
        }
        if rest.first() != Some(&q) {
            // The input ended inside the quotes (possibly right after a backslash).
            return Err(self.fatal(self.err(ParseErrorKind::EofInDirective, self.src.len())));
        }
        self.advance_to(&rest[1..]);
        // After a closing quote nginx wants whitespace, `;`, `{` or `)`.
        if let Some(&next) = self.rest().first() {
            if !(is_space(next) || matches!(next, b';' | b'{' | b')')) {
                self.recoverable(ParseErrorKind::Unexpected(next), self.pos)?;
            }
        }
        let owned = match unescape(body) {
            std::borrow::Cow::Borrowed(_) => self.written(body, start),
            std::borrow::Cow::Owned(unescaped) => self.owned(&unescaped, start),
        };
        let quote = if q == b'"' {
            Quote::Double
        } else {
            Quote::Single
        };
        Ok(WordRec::new(Span::new(start, self.pos), owned, quote))
    }

    /// Scans a Lua block body up to its matching `}`, skipping Lua strings, long brackets and
    /// comments the way lua-nginx-module's block reader does. `self.pos` is just after the `{`.
    fn lua_block(&mut self) -> Result<(WordRec, Span), ParseError> {
        let src = self.src;
        let body_start = self.pos;
        let mut i = body_start;
        let mut depth = 0usize;
        while i < src.len() {
            match src[i] {
                b'{' => {
                    depth += 1;
                    i += 1;
                }
                b'}' => {
                    if depth == 0 {
                        let owned = self.written(&src[body_start..i], body_start);
                        let span = Span::new(body_start, i);
                        let raw = WordRec::new(span, owned, Quote::Raw);
                        if raw.is_long() {
                            self.ast.long_spans.push(span);
                        }
                        self.pos = i + 1;
                        return Ok((raw, Span::new(i, i + 1)));
                    }
                    depth -= 1;
                    i += 1;
                }
                q @ (b'"' | b'\'') => {
                    i += 1;
                    while i < src.len() && src[i] != q {
                        if src[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                b'-' if src.get(i + 1) == Some(&b'-') => {
                    i += 2;
                    if let Some(end) = long_bracket_end(src, i) {
                        i = end;
                    } else {
                        while i < src.len() && src[i] != b'\n' {
                            i += 1;
                        }
                    }
                }
                b'[' => match long_bracket_end(src, i) {
                    Some(end) => i = end,
                    None => i += 1,
                },
                _ => i += 1,
            }
        }
        Err(self.err(ParseErrorKind::EofInBlock, src.len()))
    }
}

/// Ends the innermost open block at `close`: its items become the block of its directive in the
/// enclosing level (or are dropped for a refused `{`).
fn close(ast: &mut Ast, items: &mut Vec<Item>, kind: &mut BlockKind, frame: Frame, close: Span) {
    let body_kind = std::mem::replace(kind, frame.kind);
    if frame.discard {
        // The refused block's records stay in the arrays, reached from no item.
        items.truncate(frame.start);
        return;
    }
    let start = ast.items.len() as u32;
    let body = items.get(frame.start..).unwrap_or_default();
    let len = body.len() as u32;
    ast.items.extend_from_slice(body);
    items.truncate(frame.start);
    let block = BlockRec {
        kind: body_kind,
        open: frame.open,
        close,
        items: start,
        items_len: len,
        raw: NONE,
    };
    with_block(ast, frame.head, block);
    items.push(Item::directive(frame.head));
}

/// If a Lua long bracket (`[[`, `[==[`) opens at `i`, the offset just past its close (or the end
/// of input when unclosed).
fn long_bracket_end(src: &[u8], i: usize) -> Option<usize> {
    if src.get(i) != Some(&b'[') {
        return None;
    }
    let mut j = i + 1;
    while src.get(j) == Some(&b'=') {
        j += 1;
    }
    if src.get(j) != Some(&b'[') {
        return None;
    }
    let level = j - i - 1;
    let mut k = j + 1;
    while k < src.len() {
        if src[k] == b']' {
            let mut m = k + 1;
            while src.get(m) == Some(&b'=') {
                m += 1;
            }
            if m - k - 1 == level && src.get(m) == Some(&b']') {
                return Some(m + 1);
            }
        }
        k += 1;
    }
    Some(src.len())
}

/// Attaches a block to a directive head and extends its span to the closing brace.
fn with_block(ast: &mut Ast, head: u32, block: BlockRec) {
    let ix = ast.blocks.len() as u32;
    let end = block.close.end();
    ast.blocks.push(block);
    if let Some(d) = ast.dirs.get_mut(head as usize) {
        d.end = u32::try_from(end).unwrap_or(u32::MAX);
        d.block = ix;
    }
}

/// An offset into the tree's values (see [`Parser::owned`]).
fn narrow(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::NameCache;
    use crate::directives::NameId;

    /// The cache answers as the table does, for names that share a slot, repeat, or are not
    /// in the table, asked in an order that evicts and refills slots.
    #[test]
    fn the_name_cache_answers_as_the_table() {
        let names = (0..2000u16).filter_map(NameId::str_of_index).chain([
            "my_module_directive",
            "",
            "x",
            "LISTEN",
            "listen ",
            "proxy_pass",
        ]);
        let names: Vec<&str> = names.collect();
        let mut cache = NameCache::default();
        for round in 0..3 {
            for (i, name) in names.iter().enumerate() {
                let name = if (i + round) % 7 == 0 { "listen" } else { name };
                let want = NameId::of(name).map_or(u16::MAX, NameId::index);
                assert_eq!(cache.index(name), want, "{name:?}");
            }
        }
    }
}
