//! nginx inheritance: "what is the effective value of directive D here, and where was it set?"
//! and "which handler serves this location?". Every rule asks these through this one module.
//!
//! Most http directives set in `http` apply to every `server` below, and those in `server` to
//! every `location`, unless the lower level sets its own (ngx_conf_merge_*_value). Handlers
//! (`proxy_pass`, `fastcgi_pass`, ...) are not inherited: a nested location without its own has
//! none. Array directives (`proxy_set_header`, `add_header`, `fastcgi_param`) are inherited only
//! when the lower level has none of them at all.

use super::{NodeId, ResolvedConfig};
use crate::address::{parse_pass, Address, Host};
use crate::directives::Context;

/// One handler directive (`proxy_pass`, `fastcgi_pass`, ...) in an http location, `if` or
/// `limit_except` ([`ResolvedConfig::passes`]), read once.
#[derive(Debug)]
pub struct Pass {
    pub node: NodeId,
    pub family: Family,
    /// [`ResolvedConfig::pass_address`]: `None` without an argument.
    pub address: Option<Address>,
    /// [`ResolvedConfig::pass_upstream`]: the `upstream` block the address names.
    pub upstream: Option<NodeId>,
}

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

/// One level of the walk in [`ResolvedConfig::effective`].
enum Step {
    /// The answer: the node that sets the name, or none (`http`/`stream` reached, unset).
    Found(Option<NodeId>),
    /// Not set at this level: ask the parent (none above: unset).
    Up(Option<NodeId>),
}

/// The default of the timeouts every family has (proxy/fastcgi/grpc/uwsgi/scgi/memcached
/// `*_connect_timeout`, `*_read_timeout`, `*_send_timeout`): 60s, per the nginx docs.
pub const DEFAULT_TIMEOUT_MS: u64 = 60_000;

impl<'t> ResolvedConfig<'t> {
    /// The innermost node that sets `name` for `block` and everything inside it, walking out
    /// through the enclosing blocks up to `http` (or `stream`). `block` is a block node
    /// (location, if, server, http); `None` when the directive is not set anywhere above.
    pub fn effective(&self, block: NodeId, name: &str) -> Option<NodeId> {
        if self.depth(block) > super::resolved::DEEP {
            return self.effective_deep(block, name);
        }
        let mut current = Some(block);
        while let Some(id) = current {
            match self.effective_here(id, name) {
                Step::Found(found) => return found,
                Step::Up(parent) => current = parent,
            }
        }
        None
    }

    /// One level of [`Self::effective`]: the answer at `id`, or where to look next.
    fn effective_here(&self, id: NodeId, name: &str) -> Step {
        let node = self.node(id);
        if let Some(found) = self.last_child_named(Some(id), name) {
            return Step::Found(Some(found));
        }
        if matches!(node.inner_context(), Context::Http | Context::Stream) {
            return Step::Found(None);
        }
        Step::Up(node.parent())
    }

    /// [`Self::effective`] for a deeply nested block: the same walk, with every level's
    /// answer remembered (it depends only on the level and the name), so asking at each of
    /// thousands of nested levels stays linear.
    fn effective_deep(&self, block: NodeId, name: &str) -> Option<NodeId> {
        let mut memo = match self.deep_effective.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let known = memo.entry(name.to_owned()).or_default();
        let mut walked = Vec::new();
        let mut current = Some(block);
        let answer = loop {
            let Some(id) = current else { break None };
            if let Some(answer) = known.get(&id) {
                break *answer;
            }
            walked.push(id);
            match self.effective_here(id, name) {
                Step::Found(found) => break found,
                Step::Up(parent) => current = parent,
            }
        };
        for id in walked {
            known.insert(id, answer);
        }
        answer
    }

    /// The effective entries of an array directive (`proxy_set_header`, `add_header`,
    /// `fastcgi_param`): those of the innermost level that has at least one of them; lower
    /// levels with none inherit the whole set from above.
    pub fn effective_array(&self, block: NodeId, name: &str) -> Vec<NodeId> {
        self.array_level(block, name)
            .map(|level| self.children_named(Some(level), name).collect())
            .unwrap_or_default()
    }

    /// The level whose entries of the array directive `name` are in effect in `block`: the
    /// innermost at or above it (up to `http` or `stream`) that has at least one.
    fn array_level(&self, block: NodeId, name: &str) -> Option<NodeId> {
        let mut current = Some(block);
        while let Some(id) = current {
            if self.children_named(Some(id), name).next().is_some() {
                return Some(id);
            }
            if matches!(
                self.node(id).inner_context(),
                Context::Http | Context::Stream
            ) {
                return None;
            }
            current = self.node(id).parent();
        }
        None
    }

    /// The block a directive is written in (its parent), if any.
    pub fn block_of(&self, id: NodeId) -> Option<NodeId> {
        self.node(id).parent()
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
            out.extend(self.reached_children(id));
            i += 1;
        }
        out
    }

    /// The blocks directly inside `block` that inherit its settings (server, location, `if`,
    /// `limit_except`), in order: one step of [`Self::reached_blocks`].
    pub fn reached_children(&self, block: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        // Only these names open such blocks (`Context::inner`); the by-name index keeps a
        // block with thousands of other directives from being rescanned per question.
        // A narrow block (most) is scanned in place, without collecting its children.
        const BLOCKS: [&str; 4] = ["server", "location", "if", "limit_except"];
        let indexed = self
            .wide_index(Some(block))
            .is_some()
            .then(|| self.children_named_any(Some(block), &BLOCKS));
        let scanned = match indexed {
            Some(_) => None,
            None => Some(self.children(Some(block)).iter().copied()),
        };
        indexed
            .into_iter()
            .flatten()
            .chain(scanned.into_iter().flatten())
            .filter(|c| {
                let n = self.node(*c);
                n.directive.has_block()
                    && BLOCKS.contains(&n.name())
                    && matches!(
                        n.inner_context(),
                        Context::Server
                            | Context::Location
                            | Context::IfServer
                            | Context::IfLocation
                            | Context::LimitExcept
                    )
            })
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

    /// The effective value of a time directive (`fastcgi_read_timeout`) for `block`, with
    /// nginx's default when nothing sets it. Values nginx would refuse count as the default
    /// (GW013 reports them). The one answer `check` and `diagnose` both use.
    pub fn effective_time(&self, block: NodeId, name: &str, default_ms: u64) -> EffectiveTime {
        match self.effective(block, name) {
            Some(id) => EffectiveTime {
                ms: self
                    .node(id)
                    .arg(0)
                    .and_then(crate::values::parse_msec)
                    .unwrap_or(default_ms),
                set_by: Some(id),
            },
            None => EffectiveTime {
                ms: default_ms,
                set_by: None,
            },
        }
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

/// An nginx time value in effect somewhere: its value and the directive that set it (`None`
/// for nginx's default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EffectiveTime {
    pub ms: u64,
    pub set_by: Option<NodeId>,
}

/// The answer to an inheritance question where some included file was not read: "cannot
/// tell" is an answer of its own, never guessed into "not set".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scoped {
    /// Set by this node (the innermost one nginx uses).
    Set(NodeId),
    /// Set nowhere in scope, and every file in scope was read.
    Unset,
    /// Not found, but this `include` in scope names a file that was not read (missing, outside
    /// the checked copy, unreadable): it may set anything.
    Unknown { include: NodeId },
    /// Not found in the file's own blocks, and the file is checked on its own (a site file):
    /// the blocks around it in the nginx.conf that includes it were not read.
    Outside,
}

impl Scoped {
    /// The node when it is known to be set.
    pub fn set(self) -> Option<NodeId> {
        match self {
            Scoped::Set(id) => Some(id),
            _ => None,
        }
    }
}

impl<'t> ResolvedConfig<'t> {
    /// True for an `include` whose target was not read.
    pub fn is_unread_include(&self, id: NodeId) -> bool {
        let n = self.node(id);
        n.name() == "include" && self.tree.include_unread(n.file, n.directive.span())
    }

    /// The last unread `include` among the direct children of `block` (expanded includes count
    /// as children, so an unread include inside a read snippet is found too).
    pub fn unread_include_in(&self, block: Option<NodeId>) -> Option<NodeId> {
        self.children_named(block, "include")
            .filter(|id| self.is_unread_include(*id))
            .last()
    }

    /// Every unread `include` of the whole configuration, in source order.
    pub fn unread_includes(&self) -> Vec<NodeId> {
        self.nodes_named("include")
            .iter()
            .copied()
            .filter(|id| self.is_unread_include(*id))
            .collect()
    }

    /// [`ResolvedConfig::effective`] that says "cannot tell": walking out from `block`, a level
    /// with an unread include after the last `name` it sets (or without any) gives
    /// [`Scoped::Unknown`], since the unread file may set it.
    pub fn effective_scoped(&self, block: NodeId, name: &str) -> Scoped {
        let mut current = Some(block);
        while let Some(id) = current {
            let found = self.last_child_named(Some(id), name);
            let unread = self.unread_include_in(Some(id));
            match (found, unread) {
                (Some(f), Some(inc)) if inc > f => return Scoped::Unknown { include: inc },
                (Some(f), _) => return Scoped::Set(f),
                (None, Some(inc)) => return Scoped::Unknown { include: inc },
                (None, None) => {}
            }
            if matches!(
                self.node(id).inner_context(),
                Context::Http | Context::Stream
            ) {
                return Scoped::Unset;
            }
            current = self.node(id).parent();
        }
        // The top level of a file checked in the http or server context: what encloses it
        // was not read.
        if self.tree.root_context != Context::Main {
            if let Some(inc) = self.unread_include_in(None) {
                return Scoped::Unknown { include: inc };
            }
            return Scoped::Outside;
        }
        Scoped::Unset
    }

    /// The path an unread include names, as written (for "cannot tell" messages).
    pub fn include_argument(&self, include: NodeId) -> &str {
        self.node(include).arg(0).unwrap_or("")
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
    /// Written in `stream { }` (a stream `proxy_pass` or a stream upstream's `server`).
    pub stream: bool,
    /// An upstream `server ... backup;`: nginx sends requests there only when every primary
    /// server has failed.
    pub backup: bool,
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

    /// Every handler directive of [`Self::pass_directives`] with its parsed address and the
    /// `upstream` block it names, in node order; parsed once per run (the named addresses, the
    /// upstream users and several rules all read it).
    pub fn passes(&self) -> &[Pass] {
        self.passes.get_or_init(|| {
            self.pass_directives()
                .map(|(node, family)| {
                    let address = self.parse_pass_address(node);
                    let upstream = address.as_ref().and_then(|a| self.upstream_of(a));
                    Pass {
                        node,
                        family,
                        address,
                        upstream,
                    }
                })
                .collect()
        })
    }

    /// The [`Pass`] of a handler directive in an http location, `if` or `limit_except`.
    fn pass_entry(&self, node: NodeId) -> Option<&Pass> {
        let passes = self.passes();
        passes
            .binary_search_by_key(&node, |p| p.node)
            .ok()
            .and_then(|i| passes.get(i))
    }

    fn parse_pass_address(&self, pass: NodeId) -> Option<Address> {
        let n = self.node(pass);
        n.arg(0).map(|arg| parse_pass(n.name(), arg))
    }

    /// The `upstream` block an address names ([`Self::pass_upstream`]).
    fn upstream_of(&self, address: &Address) -> Option<NodeId> {
        self.upstream_block(address.name()?)
    }

    /// The parsed address of a pass directive.
    pub fn pass_address(&self, pass: NodeId) -> Option<Address> {
        match self.pass_entry(pass) {
            Some(p) => p.address.clone(),
            None => self.parse_pass_address(pass),
        }
    }

    /// The `upstream` block a pass directive names (`proxy_pass http://backend/x`), if any.
    /// nginx looks the host up among upstream blocks before any DNS, so an upstream named like a
    /// host wins.
    pub fn pass_upstream(&self, pass: NodeId) -> Option<NodeId> {
        match self.pass_entry(pass) {
            Some(p) => p.upstream,
            None => self
                .parse_pass_address(pass)
                .and_then(|a| self.upstream_of(&a)),
        }
    }

    /// Every pass directive that sends requests to the `upstream` block.
    pub fn upstream_users(&self, upstream: NodeId) -> Vec<(NodeId, Family)> {
        let map = self.upstream_users.get_or_init(|| {
            let mut users: foldhash::HashMap<NodeId, Vec<(NodeId, Family)>> =
                foldhash::HashMap::default();
            for p in self.passes() {
                if let Some(up) = p.upstream {
                    users.entry(up).or_default().push((p.node, p.family));
                }
            }
            users
        });
        map.get(&upstream).cloned().unwrap_or_default()
    }

    /// Every concrete address the configuration sends requests to (see [`NamedAddress`]), in
    /// source order: pass directives first, then upstream `server` lines.
    pub fn named_addresses(&self) -> &[NamedAddress] {
        self.named_addresses
            .get_or_init(|| self.compute_named_addresses())
    }

    fn compute_named_addresses(&self) -> Vec<NamedAddress> {
        let mut out = Vec::new();
        for p in self.passes() {
            let Some(address) = &p.address else {
                continue;
            };
            if matches!(address.host, Host::Variable(_) | Host::Invalid(_)) || p.upstream.is_some()
            {
                continue;
            }
            out.push(NamedAddress {
                node: p.node,
                address: address.clone(),
                families: vec![p.family],
                upstream: None,
                stream: false,
                backup: false,
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
            self.push_upstream_servers(upstream, &families, false, &mut out);
        }
        // stream { }: `proxy_pass host:port;` / `proxy_pass NAME;` in a stream server, and the
        // servers of stream upstreams (a separate namespace from http's).
        // Names compared without regard to case, as nginx does.
        let stream_upstreams: foldhash::HashMap<String, NodeId> = self
            .blocks_with_inner(Context::StreamUpstream)
            .filter_map(|id| self.node(id).arg(0).map(|n| (n.to_ascii_lowercase(), id)))
            .collect();
        for &id in self.nodes_named("proxy_pass") {
            let n = self.node(id);
            if n.context != Context::StreamServer {
                continue;
            }
            let Some(arg) = n.arg(0) else { continue };
            if arg.contains('$') {
                continue;
            }
            let address = crate::address::parse_host_port(arg, false);
            if matches!(address.host, Host::Variable(_) | Host::Invalid(_)) {
                continue;
            }
            let names_upstream = address.port.is_none()
                && address
                    .name()
                    .is_some_and(|name| stream_upstreams.contains_key(&name.to_ascii_lowercase()));
            if names_upstream {
                continue;
            }
            out.push(NamedAddress {
                node: id,
                address,
                families: Vec::new(),
                upstream: None,
                stream: true,
                backup: false,
            });
        }
        for upstream in self.blocks_with_inner(Context::StreamUpstream) {
            self.push_upstream_servers(upstream, &[], true, &mut out);
        }
        out
    }

    /// The `server` lines of an upstream block as [`NamedAddress`]es; `down` servers are left
    /// out (nginx never connects to them).
    fn push_upstream_servers(
        &self,
        upstream: NodeId,
        families: &[Family],
        stream: bool,
        out: &mut Vec<NamedAddress>,
    ) {
        for (address, server) in self.upstream_servers(upstream) {
            if matches!(address.host, Host::Invalid(_)) {
                continue;
            }
            let flags = self.node(server).directive.args();
            if flags.iter().skip(1).any(|a| a.as_str() == "down") {
                continue;
            }
            out.push(NamedAddress {
                node: server,
                address,
                families: families.to_vec(),
                upstream: Some(upstream),
                stream,
                backup: flags.iter().skip(1).any(|a| a.as_str() == "backup"),
            });
        }
    }

    /// The `proxy_set_header NAME value` (or `grpc_set_header`) in effect in `block` for one
    /// header, compared case-insensitively; the last one wins.
    pub fn effective_header(&self, block: NodeId, directive: &str, header: &str) -> Option<NodeId> {
        let level = self.array_level(block, directive)?;
        self.children_named(Some(level), directive)
            .filter(|id| {
                self.node(*id)
                    .arg(0)
                    .is_some_and(|h| h.eq_ignore_ascii_case(header))
            })
            .last()
    }

    /// The block whose settings a handler directive sees: its location, `if` or limit_except.
    pub fn handler_block(&self, pass: NodeId) -> Option<NodeId> {
        self.node(pass).parent()
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
                a == "~" || a == "~*" || (n.directive.args().len() == 1 && a.starts_with('~'))
            })
    }

    /// True for `location @name`.
    pub fn is_named_location(&self, block: NodeId) -> bool {
        let n = self.node(block);
        n.name() == "location"
            && n.directive.args().len() == 1
            && n.arg(0).is_some_and(|a| a.starts_with('@'))
    }

    /// Every value a variable can take where it is defined by `set $name value;` (anywhere) or
    /// by a `map ... $name { }`, `split_clients ... $name { }` or `geo ... $name { }` block
    /// (each entry's value, `default` included), with the
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
                        && n.directive.has_block()
                        && n.context != Context::Entries =>
                {
                    defined = true;
                    for entry in n.directive.children() {
                        match entry.name() {
                            "hostnames" | "volatile" | "include" => {}
                            _ => {
                                if let Some(v) = entry.args().last() {
                                    values.push((v.as_str().to_owned(), id));
                                }
                            }
                        }
                    }
                }
                // `split_clients STRING $name { 10% value; * value; }` and
                // `geo [$address] $name { default value; NET value; ... }`: each entry's value.
                "split_clients" | "geo"
                    if n.directive.args().last().map(|w| w.as_str()) == Some(dollar.as_str())
                        && n.directive.args().len() <= 2
                        && n.directive.has_block()
                        && n.context != Context::Entries =>
                {
                    defined = true;
                    for entry in n.directive.children() {
                        match entry.name() {
                            "ranges" | "delete" | "include" | "proxy" | "proxy_recursive" => {}
                            _ => {
                                if let Some(v) = entry.args().last() {
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

/// The answer to "which entries of an array directive are in effect here" where some included
/// file may not have been read (see [`Scoped`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopedArray {
    /// The innermost level (`None`: the top of a site file checked on its own) that writes its
    /// own entries, and those entries; `unread` is an unread `include` in that same level,
    /// which may add more.
    Set {
        level: Option<NodeId>,
        entries: Vec<NodeId>,
        unread: Option<NodeId>,
    },
    /// No level in scope writes any, and every file in scope was read.
    Unset,
    /// No entries found, but this unread `include` in scope may write some.
    Unknown { include: NodeId },
    /// No entries in the file's own blocks, and the file is checked on its own: the blocks
    /// around it were not read.
    Outside,
}

impl<'t> ResolvedConfig<'t> {
    /// The levels at or above `block` (up to `http` or `stream`) that write their own entries of
    /// the array directive `name`, innermost first, each with its entries. The first is what
    /// nginx uses in `block`; each level replaces the one after it entirely
    /// (`ngx_http_proxy_merge_headers`, the fastcgi module's `params_source`: a level's array
    /// is inherited only when the level has none of its own).
    pub fn array_levels(&self, block: NodeId, name: &str) -> Vec<(NodeId, Vec<NodeId>)> {
        let mut out = Vec::new();
        let mut current = Some(block);
        while let Some(id) = current {
            let here: Vec<NodeId> = self.children_named(Some(id), name).collect();
            if !here.is_empty() {
                out.push((id, here));
            }
            if matches!(
                self.node(id).inner_context(),
                Context::Http | Context::Stream
            ) {
                break;
            }
            current = self.node(id).parent();
        }
        out
    }

    /// [`ResolvedConfig::effective_array`] that says "cannot tell" (see [`ScopedArray`]).
    pub fn effective_array_scoped(&self, block: NodeId, name: &str) -> ScopedArray {
        let mut current = Some(block);
        while let Some(id) = current {
            let here: Vec<NodeId> = self.children_named(Some(id), name).collect();
            let unread = self.unread_include_in(Some(id));
            if !here.is_empty() {
                return ScopedArray::Set {
                    level: Some(id),
                    entries: here,
                    unread,
                };
            }
            if let Some(include) = unread {
                return ScopedArray::Unknown { include };
            }
            if matches!(
                self.node(id).inner_context(),
                Context::Http | Context::Stream
            ) {
                return ScopedArray::Unset;
            }
            current = self.node(id).parent();
        }
        if self.tree.root_context == Context::Main {
            return ScopedArray::Unset;
        }
        // The top level of a site file checked on its own (http or server context).
        let here: Vec<NodeId> = self.children_named(None, name).collect();
        let unread = self.unread_include_in(None);
        if !here.is_empty() {
            return ScopedArray::Set {
                level: None,
                entries: here,
                unread,
            };
        }
        match unread {
            Some(include) => ScopedArray::Unknown { include },
            None => ScopedArray::Outside,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler of each kind: an upstream, an address with a URI, a socket, one in `if`, one
    /// without an argument.
    /// The passes parsed once answer as parsing each directive does: `pass_directives`, its
    /// argument through `parse_pass`, the upstream block by the address's name, in the same
    /// order; and `pass_address` / `pass_upstream` answer from them.
    #[test]
    fn passes_answer_as_the_lookups_they_replace() {
        let tree = crate::config::test_tree(crate::config::HANDLERS_CONF);
        let config = ResolvedConfig::build(&tree);
        let cached: Vec<_> = config
            .passes()
            .iter()
            .map(|p| (p.node, p.family, p.address.clone(), p.upstream))
            .collect();
        let direct: Vec<_> = config
            .pass_directives()
            .map(|(node, family)| {
                let n = config.node(node);
                let address = n.arg(0).map(|a| crate::address::parse_pass(n.name(), a));
                let upstream = address
                    .as_ref()
                    .and_then(|a| a.name())
                    .and_then(|name| config.upstream_block(name));
                (node, family, address, upstream)
            })
            .collect();
        assert_eq!(cached, direct);
        let answered: Vec<_> = config
            .pass_directives()
            .map(|(node, family)| {
                (
                    node,
                    family,
                    config.pass_address(node),
                    config.pass_upstream(node),
                )
            })
            .collect();
        assert_eq!(answered, direct);
        assert_eq!(cached.len(), 5);
        assert_eq!(cached.iter().filter(|p| p.3.is_some()).count(), 1);
        // Asked twice, computed once: the same slice.
        assert!(std::ptr::eq(config.passes(), config.passes()));
    }

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

    /// nginx -t accepts `upstream Backend` used as `proxy_pass http://backend` (and refuses
    /// `upstream a` next to `upstream A` as a duplicate): upstream names ignore case.
    #[test]
    fn upstream_names_ignore_case() {
        let tree = crate::config::test_tree(
            "events {}\nhttp {\n upstream Backend { server 127.0.0.1:3000; }\n server { location / { proxy_pass http://backend; } }\n}",
        );
        let config = crate::config::ResolvedConfig::build(&tree);
        let Some(up) = config.upstream_block("BACKEND") else {
            panic!("upstream Backend not found as BACKEND");
        };
        assert_eq!(config.upstream_users(up).len(), 1);
        assert!(config
            .named_addresses()
            .iter()
            .all(|n| n.upstream.is_some()));
    }
}
