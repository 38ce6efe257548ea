//! Questions several rules ask about a location.

use super::LintContext;
use crate::config::NodeId;

/// The `proxy_set_header Upgrade ...` in effect for `block`, if requests there are upgraded to
/// WebSocket.
pub(crate) fn upgrade_header(cx: &LintContext<'_, '_>, block: NodeId) -> Option<NodeId> {
    cx.config
        .effective_header(block, "proxy_set_header", "upgrade")
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
