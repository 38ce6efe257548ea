//! `upstream` blocks as nginx looks them up: by name, case-insensitively
//! (`ngx_http_upstream_add` compares with `ngx_strncasecmp`), http and stream apart.

use std::collections::HashMap;

use crate::config::{NodeId, ResolvedConfig};

use crate::directives::Context;

use super::variables::Namespace;

/// The explicit `upstream NAME { }` blocks, first one per lower-case name and namespace.
pub fn upstream_blocks(config: &ResolvedConfig<'_>) -> HashMap<(Namespace, String), NodeId> {
    let mut out = HashMap::new();
    for (ctx, ns) in [
        (Context::Upstream, Namespace::Http),
        (Context::StreamUpstream, Namespace::Stream),
    ] {
        for id in config.blocks_with_inner(ctx) {
            if let Some(name) = config.node(id).arg(0) {
                out.entry((ns, name.to_ascii_lowercase())).or_insert(id);
            }
        }
    }
    out
}
