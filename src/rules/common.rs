//! Questions several rules ask about a location.

use super::LintContext;
use crate::config::NodeId;

/// The `proxy_set_header Upgrade ...` in effect for `block`, if requests there are upgraded to
/// WebSocket.
pub(crate) fn upgrade_header(cx: &LintContext<'_, '_>, block: NodeId) -> Option<NodeId> {
    cx.config
        .effective_array(block, "proxy_set_header")
        .into_iter()
        .find(|id| {
            cx.config
                .node(*id)
                .arg(0)
                .is_some_and(|h| h.eq_ignore_ascii_case("upgrade"))
        })
}

/// True when a location is meant to hold connections open: WebSocket upgrade, or buffering
/// turned off (server-sent events, streaming), or a path that names such an endpoint.
pub(crate) fn is_long_lived(cx: &LintContext<'_, '_>, block: NodeId, paths: &[String]) -> bool {
    if upgrade_header(cx, block).is_some() {
        return true;
    }
    let buffering_off = [
        "proxy_buffering",
        "fastcgi_buffering",
        "uwsgi_buffering",
        "scgi_buffering",
    ]
    .iter()
    .any(|name| {
        cx.config
            .effective(block, name)
            .and_then(|id| cx.config.node(id).arg(0).map(str::to_owned))
            .is_some_and(|v| v.eq_ignore_ascii_case("off"))
    });
    if buffering_off {
        return true;
    }
    // grpc streams may legitimately stay open.
    if cx
        .config
        .handler(block)
        .is_some_and(|(f, _)| f == crate::config::Family::Grpc)
    {
        return true;
    }
    let location_path = std::iter::once(block)
        .chain(cx.config.ancestors(block))
        .filter(|id| cx.config.node(*id).name() == "location")
        .filter_map(|id| {
            cx.config
                .node(id)
                .directive
                .args
                .last()
                .map(|a| a.as_str().to_ascii_lowercase())
        })
        .collect::<Vec<_>>();
    location_path
        .iter()
        .any(|p| paths.iter().any(|needle| p.contains(needle.as_str())))
}

/// The indentation (spaces/tabs) of the line holding `offset`.
pub(crate) fn line_indent(text: &[u8], offset: usize) -> &[u8] {
    let start = text[..offset.min(text.len())]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let len = text[start..]
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    &text[start..start + len]
}

/// The file's line ending: CRLF when its first line ends so, else LF.
pub(crate) fn line_ending(text: &[u8]) -> &'static str {
    match memchr::memchr(b'\n', text) {
        Some(i) if i > 0 && text[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// An edit inserting `directive` on a new line after the directive spanning `anchor`, with
/// the anchor line's indentation and the file's line ending.
pub(crate) fn insert_line_after(
    cx: &LintContext<'_, '_>,
    file: crate::source::FileId,
    anchor: crate::syntax::Span,
    directive: &str,
) -> crate::fix::Edit {
    let text = &cx.tree.sources.get(file).text;
    let indent = String::from_utf8_lossy(line_indent(text, anchor.start)).into_owned();
    let eol = line_ending(text);
    crate::fix::Edit::insert(file, anchor.end, format!("{eol}{indent}{directive}"))
}
