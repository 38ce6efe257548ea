//! nginx inheritance: "what is the effective value of directive D here, and where was it set?"
//! and "which handler serves this location?". Every rule asks these through this one module.
//!
//! Most http directives set in `http` apply to every `server` below, and those in `server` to
//! every `location`, unless the lower level sets its own (ngx_conf_merge_*_value). Handlers
//! (`proxy_pass`, `fastcgi_pass`, ...) are not inherited: a nested location without its own has
//! none. Array directives (`proxy_set_header`, `add_header`, `fastcgi_param`) are inherited only
//! when the lower level has none of them at all.

use super::{Context, NodeId, ResolvedConfig};

/// The module family of a handler, which decides which `*_timeout` family applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Proxy,
    FastCgi,
    Grpc,
    Uwsgi,
    Scgi,
    Memcached,
}

impl Family {
    pub const ALL: [Family; 6] = [
        Family::Proxy,
        Family::FastCgi,
        Family::Grpc,
        Family::Uwsgi,
        Family::Scgi,
        Family::Memcached,
    ];

    /// Directive prefix: `proxy`, `fastcgi`, ...
    pub fn prefix(self) -> &'static str {
        match self {
            Family::Proxy => "proxy",
            Family::FastCgi => "fastcgi",
            Family::Grpc => "grpc",
            Family::Uwsgi => "uwsgi",
            Family::Scgi => "scgi",
            Family::Memcached => "memcached",
        }
    }

    pub fn pass_directive(self) -> &'static str {
        match self {
            Family::Proxy => "proxy_pass",
            Family::FastCgi => "fastcgi_pass",
            Family::Grpc => "grpc_pass",
            Family::Uwsgi => "uwsgi_pass",
            Family::Scgi => "scgi_pass",
            Family::Memcached => "memcached_pass",
        }
    }

    pub fn from_pass(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.pass_directive() == name)
    }

    /// The family whose directive `name` belongs to (`proxy_read_timeout` -> Proxy).
    pub fn of_directive(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| {
            name.strip_prefix(f.prefix())
                .is_some_and(|r| r.starts_with('_'))
        })
    }

    /// `proxy_read_timeout` -> `fastcgi_read_timeout` for `FastCgi`, when that exists.
    pub fn rename(self, name: &str) -> Option<String> {
        let from = Family::of_directive(name)?;
        let suffix = &name[from.prefix().len()..];
        Some(format!("{}{suffix}", self.prefix()))
    }
}

/// The default of the timeouts every family has (proxy/fastcgi/grpc/uwsgi/scgi/memcached
/// `*_connect_timeout`, `*_read_timeout`, `*_send_timeout`): 60s, per the nginx docs.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;

impl<'t> ResolvedConfig<'t> {
    /// The innermost node that sets `name` for `block` and everything inside it, walking out
    /// through the enclosing blocks up to `http` (or `stream`). `block` is a block node
    /// (location, if, server, http); `None` when the directive is not set anywhere above.
    pub fn effective(&self, block: NodeId, name: &str) -> Option<NodeId> {
        let mut current = Some(block);
        while let Some(id) = current {
            let node = self.node(id);
            if let Some(found) = self.last_child_named(Some(id), name) {
                return Some(found);
            }
            if matches!(node.inner_context(), Context::Http | Context::Stream) {
                return None;
            }
            current = node.parent;
        }
        None
    }

    /// The effective entries of an array directive (`proxy_set_header`, `add_header`,
    /// `fastcgi_param`): those of the innermost level that has at least one of them; lower
    /// levels with none inherit the whole set from above.
    pub fn effective_array(&self, block: NodeId, name: &str) -> Vec<NodeId> {
        let mut current = Some(block);
        while let Some(id) = current {
            let here: Vec<NodeId> = self.children_named(Some(id), name).collect();
            if !here.is_empty() {
                return here;
            }
            if matches!(
                self.node(id).inner_context(),
                Context::Http | Context::Stream
            ) {
                break;
            }
            current = self.node(id).parent;
        }
        Vec::new()
    }

    /// The block a directive is written in (its parent), if any.
    pub fn block_of(&self, id: NodeId) -> Option<NodeId> {
        self.node(id).parent
    }

    /// The handler set directly in this location (or `if`): the last `*_pass` among its own
    /// children. Handlers are not inherited.
    pub fn handler(&self, block: NodeId) -> Option<(Family, NodeId)> {
        self.children(Some(block))
            .iter()
            .rev()
            .find_map(|c| Family::from_pass(self.node(*c).name()).map(|f| (f, *c)))
    }

    /// Every location/if block at or below `block` (itself included) that the settings
    /// written in `block` reach: the blocks below that are part of the same inheritance chain.
    pub fn reached_blocks(&self, block: NodeId) -> Vec<NodeId> {
        let mut out = vec![block];
        let mut i = 0;
        while i < out.len() {
            let id = out[i];
            for c in self.children(Some(id)) {
                let n = self.node(*c);
                if n.directive.block.is_some()
                    && matches!(
                        n.inner_context(),
                        Context::Server
                            | Context::Location
                            | Context::IfServer
                            | Context::IfLocation
                            | Context::LimitExcept
                    )
                {
                    out.push(*c);
                }
            }
            i += 1;
        }
        out
    }

    /// The enclosing `location` (or `if` in location) of a node.
    pub fn enclosing_location(&self, id: NodeId) -> Option<NodeId> {
        self.ancestors(id).find(|a| {
            matches!(
                self.node(*a).inner_context(),
                Context::Location | Context::IfLocation | Context::LimitExcept
            )
        })
    }

    /// The enclosing `server` block of a node.
    pub fn enclosing_server(&self, id: NodeId) -> Option<NodeId> {
        self.ancestors(id)
            .find(|a| self.node(*a).inner_context() == Context::Server)
    }

    /// The peers a `*_pass` directive connects to: the address itself, or each `server` of the
    /// `upstream` block it names, each with the node that declares it.
    pub fn pass_targets(&self, pass: NodeId) -> Vec<(crate::address::Address, NodeId)> {
        let node = self.node(pass);
        let Some(arg) = node.arg(0) else {
            return Vec::new();
        };
        let addr = crate::address::parse_pass(node.name(), arg);
        if let Some(name) = addr.name() {
            if addr.port.is_none() {
                if let Some(up) = self.upstream_block(name) {
                    return self.upstream_servers(up);
                }
            }
        }
        vec![(addr, pass)]
    }

    /// The `server` lines of an `upstream` block, parsed.
    pub fn upstream_servers(&self, upstream: NodeId) -> Vec<(crate::address::Address, NodeId)> {
        self.children_named(Some(upstream), "server")
            .filter_map(|id| {
                let arg = self.node(id).arg(0)?;
                let mut addr = crate::address::parse_host_port(arg, false);
                if addr.port.is_none() && !addr.is_unix() {
                    // nginx: the default port of an upstream server is 80.
                    addr.port = Some(80);
                }
                Some((addr, id))
            })
            .collect()
    }

    /// The `upstream NAME { }` block in http with this name.
    pub fn upstream_block(&self, name: &str) -> Option<NodeId> {
        self.blocks_with_inner(Context::Upstream)
            .find(|id| self.node(*id).arg(0) == Some(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_names() {
        assert_eq!(
            Family::of_directive("proxy_read_timeout"),
            Some(Family::Proxy)
        );
        assert_eq!(Family::of_directive("fastcgi_pass"), Some(Family::FastCgi));
        assert_eq!(Family::of_directive("proxyx"), None);
        assert_eq!(
            Family::FastCgi.rename("proxy_read_timeout").as_deref(),
            Some("fastcgi_read_timeout")
        );
    }
}
