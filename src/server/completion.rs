//! Completion of directive names: where a directive name may start, the names the directive
//! table allows in the cursor's context (for the target version and enabled sets).
//!
//! The text being typed rarely parses (`proxy_re` has no `;` yet), so the blocks around the
//! cursor are read from the text before it: words, quotes, comments, `{`, `}` and `;`, as
//! nginx's tokenizer splits them, nothing more.

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionParams, CompletionResponse, Documentation,
};

use super::position::Text;
use super::{Failure, Session};
use crate::config::ResolvedConfig;
use crate::directives::{Context, Lookup};
use crate::source::FileId;

pub fn completion(
    session: &Session,
    params: CompletionParams,
) -> Result<Option<CompletionResponse>, Failure> {
    let at = params.text_document_position;
    let (tree, path) = session.tree_of(&at.text_document.uri)?;
    let doc = session.docs.by_uri(&at.text_document.uri)?;
    let bytes = doc.text.as_bytes();
    let lines = crate::syntax::LineIndex::new(bytes);
    let offset = Text {
        bytes,
        lines: &lines,
    }
    .offset(at.position, session.encoding);
    let Some(blocks) = blocks_before(&bytes[..offset]) else {
        return Ok(None);
    };
    let config_tree = &tree.checked.ws.tree;
    let top = match config_tree.sources.find(path) {
        Some(file) => top_context(config_tree, file),
        None => config_tree.root_context,
    };
    let context = blocks.iter().fold(top, |ctx, name| ctx.inner(name));
    if matches!(context, Context::Entries | Context::Unknown) {
        return Ok(None);
    }
    let directives = tree.settings.directives_view();
    let items = directives
        .names_in_context(context)
        .into_iter()
        .map(|name| {
            let module = match directives.lookup(name) {
                Lookup::Known(specs) => specs.first().map(|s| s.module.clone()),
                _ => None,
            };
            CompletionItem {
                label: name.to_owned(),
                kind: Some(CompletionItemKind::KEYWORD),
                detail: module.clone(),
                documentation: module.map(|m| {
                    Documentation::String(format!("{name}: {m}, allowed in {}", context.as_str()))
                }),
                ..Default::default()
            }
        })
        .collect();
    Ok(Some(CompletionResponse::Array(items)))
}

/// The context of a file's top level: the entry's, or that of an include that reads it.
fn top_context(tree: &crate::config::ConfigTree, file: FileId) -> Context {
    if file == tree.root {
        return tree.root_context;
    }
    let config = ResolvedConfig::build(tree);
    config
        .nodes_named("include")
        .iter()
        .map(|id| config.node(*id))
        .find(|n| {
            tree.include_targets(n.file, n.directive.span())
                .contains(&file)
        })
        .map_or(tree.root_context, |n| n.context)
}

/// The names of the blocks open at the end of `text` (outermost first), or `None` when the
/// end of `text` is not where a directive name starts (inside a comment or quotes, or after
/// the name of a statement).
fn blocks_before(text: &[u8]) -> Option<Vec<String>> {
    let mut open: Vec<String> = Vec::new();
    // Words of the statement being read.
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut i = 0;
    let end_word = |word: &mut String, words: &mut Vec<String>| {
        if !word.is_empty() {
            words.push(std::mem::take(word));
        }
    };
    while i < text.len() {
        let b = text[i];
        match b {
            b'#' if word.is_empty() => {
                match memchr::memchr(b'\n', &text[i..]) {
                    Some(n) => i += n,
                    // The cursor is in a comment.
                    None => return None,
                }
                continue;
            }
            b'"' | b'\'' if word.is_empty() => {
                let mut j = i + 1;
                while j < text.len() && text[j] != b {
                    if text[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= text.len() {
                    return None;
                }
                words.push(String::from_utf8_lossy(&text[i + 1..j]).into_owned());
                i = j + 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => end_word(&mut word, &mut words),
            b';' => {
                end_word(&mut word, &mut words);
                words.clear();
            }
            b'{' => {
                end_word(&mut word, &mut words);
                open.push(words.first().cloned().unwrap_or_default());
                words.clear();
            }
            b'}' => {
                end_word(&mut word, &mut words);
                open.pop();
                words.clear();
            }
            b'\\' => {
                word.push('\\');
                if let Some(next) = text.get(i + 1) {
                    word.push(*next as char);
                    i += 1;
                }
            }
            _ => word.push(b as char),
        }
        i += 1;
    }
    // A name starts here when no word of the statement came before the one being typed.
    words.is_empty().then_some(open)
}

#[cfg(test)]
mod tests {
    use super::blocks_before;

    #[test]
    fn reads_the_open_blocks() {
        let text =
            b"http {\n  server { listen 80; # x { \n    location / { return 200 '}'; }\n    prox";
        assert_eq!(
            blocks_before(text),
            Some(vec!["http".to_owned(), "server".to_owned()])
        );
        assert_eq!(blocks_before(b"http { server_name "), None);
        assert_eq!(blocks_before(b"# comm"), None);
        assert_eq!(blocks_before(b""), Some(vec![]));
    }
}
