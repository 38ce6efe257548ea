//! Go to definition: an `include` → the files it read (every file a glob matched); a `*_pass`
//! target → its `upstream` block; `@name` → the named location of that server; `$name` → the
//! `set`, `map`, `geo`, `split_clients` or regex capture that defines it.

use lsp_types::{GotoDefinitionParams, GotoDefinitionResponse, Location};

use super::diagnostics::location;
use super::locate::{self, Part};
use super::{Cursor, Failure, Session};
use crate::config::{Family, NodeId, ResolvedConfig};
use crate::semantic::refs;
use crate::source::FileId;
use crate::syntax::{Span, WordRef};

pub fn definition(
    session: &Session,
    params: GotoDefinitionParams,
) -> Result<Option<GotoDefinitionResponse>, Failure> {
    let at = params.text_document_position_params;
    let Some(Cursor {
        tree,
        file,
        source,
        ast,
        offset,
    }) = session.cursor(&at.text_document.uri, at.position)?
    else {
        return Ok(None);
    };
    let config_tree = &tree.checked.ws.tree;
    let Some((directive, part, _)) = locate::at(ast, offset) else {
        return Ok(None);
    };
    let config = ResolvedConfig::build(config_tree);
    let nodes = locate::nodes_of(&config, file, directive);
    let mut targets: Vec<(FileId, Span)> = Vec::new();
    let name = directive.name();
    let word: Option<WordRef<'_>> = match part {
        Part::Arg(i) => directive.args().get(i),
        _ => None,
    };
    if name == "include" && part != Part::Other {
        targets.extend(
            config_tree
                .include_targets(file, directive.span())
                .iter()
                .map(|f| (*f, Span::empty(0))),
        );
    } else if Family::from_pass(name).is_some() && part == Part::Arg(0) {
        // nginx looks a pass target up among `upstream` blocks first (`ngx_http_upstream_add`).
        for node in &nodes {
            if let Some(up) = config.pass_upstream(*node) {
                targets.push(head(&config, up));
            }
        }
    } else if let Some(w) = word.filter(|w| w.as_str().starts_with('@')) {
        for node in &nodes {
            targets.extend(named_locations(&config, *node, w.as_str()));
        }
    } else if let Some(w) = word {
        if let Some(var) = variable_at(&source.text, w.span(), offset) {
            let defined = refs::stock_definitions(&config);
            for node in &nodes {
                let ns = refs::namespace(&config, *node);
                targets.extend(
                    defined
                        .iter()
                        .filter(|(dns, _, _, v)| Some(*dns) == ns && v.eq_ignore_ascii_case(&var))
                        .map(|(_, id, word, _)| (config.node(*id).file, word.span())),
                );
            }
        }
    }
    targets.sort();
    targets.dedup();
    let locations: Vec<Location> = targets
        .into_iter()
        .filter_map(|(f, span)| {
            location(
                &config_tree.sources,
                f,
                span,
                &session.docs,
                session.encoding,
            )
        })
        .collect();
    Ok(match locations.len() {
        0 => None,
        1 => locations
            .into_iter()
            .next()
            .map(GotoDefinitionResponse::Scalar),
        _ => Some(GotoDefinitionResponse::Array(locations)),
    })
}

/// The name and arguments of a node's directive.
fn head(config: &ResolvedConfig<'_>, id: NodeId) -> (FileId, Span) {
    let n = config.node(id);
    (n.file, n.directive.head_span())
}

/// `location @name` blocks of the server around `node` (nginx keeps named locations per
/// server: `ngx_http_core_find_named_location` searches the server's list).
fn named_locations(config: &ResolvedConfig<'_>, node: NodeId, name: &str) -> Vec<(FileId, Span)> {
    let server = config.enclosing_server(node);
    config
        .nodes_named("location")
        .iter()
        .copied()
        .filter(|id| {
            config.node(*id).arg(0) == Some(name) && config.enclosing_server(*id) == server
        })
        .map(|id| head(config, id))
        .collect()
}

/// The variable name under the cursor in a word's raw text: `$name` or `${name}`, the cursor
/// on the `$` or anywhere in the name.
fn variable_at(text: &[u8], word: Span, offset: usize) -> Option<String> {
    let raw = text.get(word.range())?;
    let at = offset.checked_sub(word.start())?.min(raw.len());
    let is_name = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    // The `$` this name starts after: the last one at or before the cursor with only name
    // bytes (or `{`) between.
    let mut dollar = None;
    for i in (0..=at.min(raw.len().saturating_sub(1))).rev() {
        if raw[i] == b'$' {
            dollar = Some(i);
            break;
        }
        if !(is_name(raw[i]) || raw[i] == b'{' || raw[i] == b'}') {
            return None;
        }
    }
    let start = dollar? + 1;
    let rest = &raw[start..];
    let (rest, braced) = match rest.strip_prefix(b"{") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let len = rest.iter().take_while(|b| is_name(**b)).count();
    if len == 0 || (braced && rest.get(len) != Some(&b'}')) {
        return None;
    }
    std::str::from_utf8(&rest[..len]).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::variable_at;
    use crate::syntax::Span;

    #[test]
    fn variable_under_the_cursor() {
        let text = b"\"$scheme://${host}x\"";
        let word = Span::new(0, text.len());
        assert_eq!(variable_at(text, word, 1).as_deref(), Some("scheme"));
        assert_eq!(variable_at(text, word, 5).as_deref(), Some("scheme"));
        assert_eq!(variable_at(text, word, 14).as_deref(), Some("host"));
        assert_eq!(variable_at(text, word, 9), None);
    }
}
