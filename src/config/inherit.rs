//! nginx inheritance: "what is the effective value of directive D here, and where was it set?"
//! and "which handler serves this location?". Every rule asks these through this one module.
//!
//! Most http directives set in `http` apply to every `server` below, and those in `server` to
//! every `location`, unless the lower level sets its own (ngx_conf_merge_*_value). Handlers
//! (`proxy_pass`, `fastcgi_pass`, ...) are not inherited: a nested location without its own has
//! none. Array directives (`proxy_set_header`, `add_header`, `fastcgi_param`) are inherited only
//! when the lower level has none of them at all.

use super::{Context, NodeId, ResolvedConfig};
use crate::address::{parse_pass, Address, Host};

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
        const PASSES: [&str; 6] = [
            "proxy_pass",
            "fastcgi_pass",
            "grpc_pass",
            "uwsgi_pass",
            "scgi_pass",
            "memcached_pass",
        ];
        // Through the by-name index: a block with thousands of directives is not rescanned
        // for every question about it.
        let c = self.last_child_named_any(Some(block), &PASSES)?;
        Family::from_pass(self.node(c).name()).map(|f| (f, c))
    }

    /// Every location/if block at or below `block` (itself included) that the settings
    /// written in `block` reach: the blocks below that are part of the same inheritance chain.
    pub fn reached_blocks(&self, block: NodeId) -> Vec<NodeId> {
        let mut out = vec![block];
        let mut i = 0;
        while i < out.len() {
            let id = out[i];
            // Only these names open such blocks (`Context::inner`); the by-name index keeps a
            // block with thousands of other directives from being rescanned per question.
            let blocks = ["server", "location", "if", "limit_except"];
            for c in self.children_named_any(Some(id), &blocks) {
                let n = self.node(c);
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
                    out.push(c);
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
}

/// One upstream address written in the configuration: the argument of a `*_pass` directive
/// (when it is not an `upstream` name or a variable) or of an upstream `server` line.
#[derive(Clone, Debug)]
pub struct NamedAddress {
    /// The directive that names the address.
    pub node: NodeId,
    pub address: Address,
    /// The handler families that send requests there: the pass directive's own, or those of
    /// every pass directive naming the `upstream` block of a `server` line.
    pub families: Vec<Family>,
    /// The `upstream` block of a `server` line.
    pub upstream: Option<NodeId>,
}

/// The default of every `*_http_version`: nginx speaks HTTP/1.0 to upstreams.
pub const DEFAULT_PROXY_HTTP_VERSION: &str = "1.0";

impl<'t> ResolvedConfig<'t> {
    /// Every handler directive (`proxy_pass`, `fastcgi_pass`, ...) in an http location, `if`
    /// or `limit_except`, with its family. Stream-module `proxy_pass` is not included.
    pub fn pass_directives(&self) -> impl Iterator<Item = (NodeId, Family)> + '_ {
        let mut found: Vec<(NodeId, Family)> = Family::ALL
            .into_iter()
            .flat_map(|f| {
                self.nodes_named(f.pass_directive())
                    .iter()
                    .map(move |id| (*id, f))
            })
            .filter(|(id, _)| {
                matches!(
                    self.node(*id).context,
                    Context::Location | Context::IfLocation | Context::LimitExcept
                )
            })
            .collect();
        found.sort();
        found.into_iter()
    }

    /// The parsed address of a pass directive.
    pub fn pass_address(&self, pass: NodeId) -> Option<Address> {
        let n = self.node(pass);
        n.arg(0).map(|arg| parse_pass(n.name(), arg))
    }

    /// The `upstream` block a pass directive names (`proxy_pass http://backend/x`), if any.
    /// nginx looks the host up among upstream blocks before any DNS, so an upstream named like a
    /// host wins.
    pub fn pass_upstream(&self, pass: NodeId) -> Option<NodeId> {
        let addr = self.pass_address(pass)?;
        let name = addr.name()?;
        self.upstream_block(name)
    }

    /// Every pass directive that sends requests to the `upstream` block.
    pub fn upstream_users(&self, upstream: NodeId) -> Vec<(NodeId, Family)> {
        let map = self.upstream_users.get_or_init(|| {
            let mut users: std::collections::HashMap<NodeId, Vec<(NodeId, Family)>> =
                std::collections::HashMap::new();
            for (pass, family) in self.pass_directives() {
                if let Some(up) = self.pass_upstream(pass) {
                    users.entry(up).or_default().push((pass, family));
                }
            }
            users
        });
        map.get(&upstream).cloned().unwrap_or_default()
    }

    /// Every concrete address the configuration sends requests to (see [`NamedAddress`]), in
    /// source order: pass directives first, then upstream `server` lines.
    pub fn named_addresses(&self) -> Vec<NamedAddress> {
        let mut out = Vec::new();
        for (id, family) in self.pass_directives() {
            let Some(address) = self.pass_address(id) else {
                continue;
            };
            if matches!(address.host, Host::Variable(_) | Host::Invalid(_)) {
                continue;
            }
            if address
                .name()
                .is_some_and(|n| self.upstream_block(n).is_some())
            {
                continue;
            }
            out.push(NamedAddress {
                node: id,
                address,
                families: vec![family],
                upstream: None,
            });
        }
        for upstream in self.blocks_with_inner(Context::Upstream) {
            let mut families: Vec<Family> = self
                .upstream_users(upstream)
                .into_iter()
                .map(|(_, f)| f)
                .collect();
            families.sort();
            families.dedup();
            for (address, server) in self.upstream_servers(upstream) {
                if matches!(address.host, Host::Invalid(_)) {
                    continue;
                }
                out.push(NamedAddress {
                    node: server,
                    address,
                    families: families.clone(),
                    upstream: Some(upstream),
                });
            }
        }
        out
    }

    /// The `proxy_set_header NAME value` (or `grpc_set_header`) in effect in `block` for one
    /// header, compared case-insensitively; the last one wins.
    pub fn effective_header(&self, block: NodeId, directive: &str, header: &str) -> Option<NodeId> {
        self.effective_array(block, directive)
            .into_iter()
            .rev()
            .find(|id| {
                self.node(*id)
                    .arg(0)
                    .is_some_and(|h| h.eq_ignore_ascii_case(header))
            })
    }

    /// The block whose settings a handler directive sees: its location, `if` or limit_except.
    pub fn handler_block(&self, pass: NodeId) -> Option<NodeId> {
        self.node(pass).parent
    }

    /// A directive of the main context (`user`, `worker_processes`), the last one.
    pub fn main_directive(&self, name: &str) -> Option<NodeId> {
        self.last_child_named(None, name)
    }

    /// The `http` block.
    pub fn http_block(&self) -> Option<NodeId> {
        self.blocks_with_inner(Context::Http).next()
    }

    /// True for `location ~ re`, `location ~* re` (and `location ~re`): nginx's regex locations.
    pub fn is_regex_location(&self, block: NodeId) -> bool {
        let n = self.node(block);
        n.name() == "location"
            && n.arg(0).is_some_and(|a| {
                a == "~" || a == "~*" || (n.directive.args.len() == 1 && a.starts_with('~'))
            })
    }

    /// True for `location @name`.
    pub fn is_named_location(&self, block: NodeId) -> bool {
        let n = self.node(block);
        n.name() == "location"
            && n.directive.args.len() == 1
            && n.arg(0).is_some_and(|a| a.starts_with('@'))
    }

    /// Every value a variable can take where it is defined by `set $name value;` (anywhere) or
    /// by a `map ... $name { }` block (each entry's value, `default` included), with the
    /// directive that gives it. `None` when the variable is defined by neither (a built-in such
    /// as `$host`, or a module's), whose value the configuration does not decide.
    pub fn variable_values(&self, name: &str) -> Option<Vec<(String, NodeId)>> {
        let dollar = format!("${name}");
        let mut values = Vec::new();
        let mut defined = false;
        for (id, n) in self.iter() {
            match n.name() {
                "set" if n.arg(0) == Some(dollar.as_str()) && n.context != Context::Entries => {
                    defined = true;
                    if let Some(v) = n.arg(1) {
                        values.push((v.to_owned(), id));
                    }
                }
                "map"
                    if n.arg(1) == Some(dollar.as_str())
                        && n.directive.block.is_some()
                        && n.context != Context::Entries =>
                {
                    defined = true;
                    for entry in n.directive.children() {
                        match entry.name() {
                            "hostnames" | "volatile" | "include" => {}
                            _ => {
                                if let Some(v) = entry.args.last() {
                                    values.push((v.as_str().to_owned(), id));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        defined.then_some(values)
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
