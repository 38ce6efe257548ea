//! From a logged request to the configuration that handled it: the `server` block (nginx's
//! virtual-server selection), the `location` (nginx's location search), the handler line
//! (`proxy_pass`, `fastcgi_pass`, ...), cross-checked with the `upstream:` address nginx logged.
//!
//! The rules follow nginx's source and docs:
//!
//! * socket: the connection's local address:port picks the set of servers
//!   (`ngx_http_init_connection`): those listening on exactly that address, else those on the
//!   port's wildcard (`*:80`, `80`, `[::]:80`; IPv4 and IPv6 are separate ports,
//!   `ngx_http_add_listen`). The error log does not print it; the access log's `$server_addr` /
//!   `$server_port` do ([`Socket`]), and a port in `Host` is taken as the port when some server
//!   listens on it.
//! * server: among the servers listening on the request's port, the `Host` name is matched
//!   against `server_name`s — exact name, then the longest wildcard starting with `*`
//!   (`*.example.com`, `.example.com`), then the longest ending with `*` (`mail.*`), then the
//!   first regular expression in config order (`ngx_http_find_virtual_server`); else the port's
//!   `default_server`, else its first server. The log's `server:` field names the chosen block
//!   directly: it is that block's first `server_name` (`ngx_http_core_merge_srv_conf`: a regex
//!   keeps its `~`, `.example.com` loses its dot, no name prints as empty).
//! * location (`ngx_http_core_find_location`): an exact `=` match ends the search; else the
//!   longest matching prefix is remembered and its nested locations are searched the same way;
//!   then, unless that prefix is `^~`, the regular expressions (`~` case-sensitive, `~*` not) are
//!   tried in config order and the first match wins (with its own nested locations searched);
//!   else the remembered prefix is used.
//! * regular expressions: compiled with PCRE2, the library nginx links, with nginx's options
//!   (`crate::semantic::regex`): lookaround, backreferences, possessive quantifiers and atomic
//!   groups match as they do in nginx. A pattern PCRE2 refuses (which `nginx -t` refuses too,
//!   GW021) counts as not matching, and is reported.
//! * the URI matched is the normalized one nginx uses (`r->uri`): percent-decoded, `//` merged,
//!   `.` and `..` segments resolved, no query string.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use pcre2::bytes::Regex;

use crate::address::{parse_host_port, parse_pass, Address, Host};
use crate::config::{Family, NodeId, RNode, ResolvedConfig};
use crate::directives::Context;

use super::logline::Upstream;

/// How a `location` is written (`ngx_http_core_location`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationKind {
    /// `location = /x`
    Exact,
    /// `location /x`
    Prefix,
    /// `location ^~ /x`: a match stops the regex search.
    PrefixNoRegex,
    /// `location ~ re` / `location ~* re`
    Regex { caseless: bool },
    /// `location @name`: only reached by internal redirects.
    Named,
}

/// The kind and the name (prefix, regex or `@name`) of a location directive, read by the one
/// location parser `check` uses ([`crate::semantic::sites::location_form`]).
pub fn location_kind(node: &RNode<'_>) -> Option<(LocationKind, String)> {
    use crate::semantic::sites::LocationForm;
    Some(
        match crate::semantic::sites::location_form(node.directive)? {
            LocationForm::Exact(name) => (LocationKind::Exact, name.to_owned()),
            LocationForm::NoRegex(name) => (LocationKind::PrefixNoRegex, name.to_owned()),
            LocationForm::Prefix(name) => (LocationKind::Prefix, name.to_owned()),
            LocationForm::Named(name) => (LocationKind::Named, name.to_owned()),
            LocationForm::Regex {
                pattern, caseless, ..
            } => (LocationKind::Regex { caseless }, pattern.to_owned()),
            LocationForm::InvalidModifier(_) => return None,
        },
    )
}

/// One `server_name` pattern.
#[derive(Clone, Debug)]
enum NamePattern {
    Exact(String),
    /// `*.example.com` (stored as `.example.com`) or `.example.com` (also matches
    /// `example.com` itself).
    Leading {
        suffix: String,
        also_bare: bool,
    },
    /// `www.example.*` (stored as `www.example.`).
    Trailing(String),
    /// `~re`: index into `ConfigMap::name_regexes`.
    Regex(usize),
}

/// The address of a `listen`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum ListenAddr {
    /// `listen 80`, `*:80`, `0.0.0.0:80`: every IPv4 address.
    AnyV4,
    /// `listen [::]:80`: every IPv6 address.
    AnyV6,
    Ip(IpAddr),
    /// A host name, resolved by nginx at startup: `localhost` is the loopback addresses, another
    /// name could be any address.
    Name(String),
}

impl ListenAddr {
    /// How well this listen takes a connection to `addr`: 2 the same address, 1 the port's
    /// wildcard (or a name that may resolve to it), 0 not at all.
    fn takes(&self, addr: IpAddr) -> u8 {
        match self {
            ListenAddr::Ip(ip) => 2 * u8::from(*ip == addr),
            ListenAddr::AnyV4 => u8::from(addr.is_ipv4()),
            ListenAddr::AnyV6 => u8::from(addr.is_ipv6()),
            ListenAddr::Name(n) if n.eq_ignore_ascii_case("localhost") => {
                2 * u8::from(addr.is_loopback())
            }
            ListenAddr::Name(_) => 1,
        }
    }

    fn text(&self, port: u16) -> String {
        match self {
            ListenAddr::AnyV4 => format!("*:{port}"),
            ListenAddr::AnyV6 => format!("[::]:{port}"),
            ListenAddr::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            ListenAddr::Ip(ip) => format!("{ip}:{port}"),
            ListenAddr::Name(n) => format!("{n}:{port}"),
        }
    }
}

/// One `listen` of a server block.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ListenSocket {
    addr: ListenAddr,
    port: u16,
    default: bool,
}

#[derive(Clone, Debug)]
struct ServerInfo {
    id: NodeId,
    /// What nginx prints as `server:` for this block.
    primary: String,
    names: Vec<(NamePattern, String)>,
    /// `listen` sockets, with `default_server`.
    listens: Vec<ListenSocket>,
}

impl ServerInfo {
    /// How well this block's listens on `port` take a connection to `addr` (see
    /// [`ListenAddr::takes`]); 1 for any listen on the port when the address is unknown.
    fn takes(&self, port: u16, addr: Option<IpAddr>) -> u8 {
        self.listens
            .iter()
            .filter(|l| l.port == port)
            .map(|l| addr.map_or(1, |a| l.addr.takes(a)))
            .max()
            .unwrap_or(0)
    }

    /// `default_server` of the socket: on `port`, at `addr`'s level of match when known.
    fn is_default_for(&self, port: u16, addr: Option<IpAddr>, level: u8) -> bool {
        self.listens
            .iter()
            .any(|l| l.port == port && l.default && addr.is_none_or(|a| l.addr.takes(a) == level))
    }

    /// The listen sockets, as `listen` writes them.
    fn sockets_text(&self) -> String {
        self.listens
            .iter()
            .map(|l| l.addr.text(l.port))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What the logs say about the socket a request came in on: the access log's `$server_addr`
/// and `$server_port`. The error log says neither.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Socket {
    pub addr: Option<IpAddr>,
    pub port: Option<u16>,
}

impl Socket {
    /// From the access log's `$server_addr` (`127.0.0.1`, `::1`) and `$server_port`.
    pub fn parse(addr: Option<&str>, port: Option<&str>) -> Socket {
        Socket {
            addr: addr.and_then(|a| a.trim_start_matches('[').trim_end_matches(']').parse().ok()),
            port: port.and_then(|p| p.parse().ok()),
        }
    }

    pub fn is_known(&self) -> bool {
        self.addr.is_some() || self.port.is_some()
    }
}

impl std::fmt::Display for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.addr, self.port) {
            (Some(IpAddr::V6(a)), Some(p)) => write!(f, "[{a}]:{p}"),
            (Some(a), Some(p)) => write!(f, "{a}:{p}"),
            (Some(a), None) => write!(f, "{a}"),
            (None, Some(p)) => write!(f, "port {p}"),
            (None, None) => f.write_str("an unknown socket"),
        }
    }
}

/// The chosen server block and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerChoice {
    pub id: NodeId,
    /// Shared by the findings of the requests this choice is made for.
    pub how: std::sync::Arc<str>,
    /// Other blocks with the same name that the logs do not rule out: they listen on other
    /// sockets, and the request's socket is not known (config order).
    pub others: Vec<NodeId>,
}

/// The result of nginx's location search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LocationMatch {
    pub location: Option<NodeId>,
    /// Regex locations that could not be compiled and were treated as not matching, with why.
    pub skipped: Vec<(NodeId, String)>,
}

/// How well a handler's address fits the `upstream:` nginx logged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddrMatch {
    /// It cannot be this handler (another family, address or port).
    No,
    /// It may be (a variable, or a host name that would need DNS to compare).
    Possible,
    /// The same address (or an `upstream` block with a server at that address).
    Exact,
}

/// A handler and how it fits the logged upstream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerFit {
    pub handler: NodeId,
    pub fit: AddrMatch,
    /// The `server` line of an `upstream` block that has the logged address.
    pub upstream_server: Option<NodeId>,
    /// The `upstream` block the handler names, if any.
    pub upstream_block: Option<NodeId>,
    /// Set when the address matched through `localhost` (nginx resolves it to 127.0.0.1 and ::1).
    pub via_localhost: bool,
}

/// Lookup structures over one resolved configuration, built once per `diagnose` run.
pub struct ConfigMap<'c, 't> {
    pub cfg: &'c ResolvedConfig<'t>,
    servers: Vec<ServerInfo>,
    /// `location ~` node -> its regex in `regexes`: each distinct pattern (and caseless flag)
    /// is compiled once, however many server blocks include the location.
    location_regexes: HashMap<NodeId, usize>,
    /// Compiled location regexes; `Err` holds why PCRE2 refused one.
    regexes: Vec<Result<Regex, String>>,
    name_regexes: Vec<Result<Regex, String>>,
    /// Every handler in http (location or `if` in location), in config order.
    handlers: Vec<NodeId>,
    /// Indexes into `servers` (ascending: config order) by listen port, by what nginx prints
    /// as `server:`, and by exact (lower-cased) server_name: selection looks servers up
    /// instead of scanning every block per incident.
    by_port: HashMap<u16, Vec<usize>>,
    by_primary: HashMap<String, Vec<usize>>,
    by_exact: HashMap<String, Vec<usize>>,
    /// Indexes into `handlers` (ascending) by the peer nginx would log for them: the literal
    /// address, the `upstream` block's name and its servers' literal addresses. Handlers whose
    /// peer only DNS or a variable decides are in `fuzzy_handlers`: [`Self::handlers_for`]
    /// fits the candidates for a peer instead of every handler of the configuration.
    by_peer: HashMap<Peer, Vec<usize>>,
    fuzzy_handlers: Vec<usize>,
}

/// A peer as nginx logs it in `upstream:` (`127.0.0.1:3000`, `unix:/run/php.sock`, an
/// `upstream` block's name for "no live upstreams").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Peer {
    Ip(IpAddr, u16),
    Unix(String),
    Name(String),
}

impl Peer {
    /// The peer a configured address stands for, when it is a literal one.
    fn of(addr: &Address, default_port: Option<u16>) -> Option<Peer> {
        if let Some(path) = addr.unix_path() {
            return Some(Peer::Unix(path.to_owned()));
        }
        let port = addr.port.or(default_port)?;
        Some(Peer::Ip(host_ip(&addr.host)?, port))
    }

    /// The logged peer.
    fn logged(peer: &str) -> Option<Peer> {
        if let Some(path) = peer.strip_prefix("unix:") {
            return Some(Peer::Unix(path.trim_end_matches(':').to_owned()));
        }
        let a = parse_host_port(peer, false);
        match (&a.host, a.port) {
            (Host::Ipv4(_) | Host::Ipv6(_), Some(p)) => Some(Peer::Ip(host_ip(&a.host)?, p)),
            (Host::Name(n), _) => Some(Peer::Name(n.to_ascii_lowercase())),
            _ => None,
        }
    }
}

impl<'c, 't> ConfigMap<'c, 't> {
    pub fn new(cfg: &'c ResolvedConfig<'t>) -> Self {
        let mut map = ConfigMap {
            cfg,
            servers: Vec::new(),
            location_regexes: HashMap::new(),
            regexes: Vec::new(),
            name_regexes: Vec::new(),
            handlers: Vec::new(),
            by_port: HashMap::new(),
            by_primary: HashMap::new(),
            by_exact: HashMap::new(),
            by_peer: HashMap::new(),
            fuzzy_handlers: Vec::new(),
        };
        let mut by_pattern: HashMap<(String, bool), usize> = HashMap::new();
        for (id, node) in cfg.iter() {
            if node.directive.has_block() && node.inner_context() == Context::Server {
                let info = map.server_info(id);
                let i = map.servers.len();
                for l in &info.listens {
                    let v = map.by_port.entry(l.port).or_default();
                    if v.last() != Some(&i) {
                        v.push(i);
                    }
                }
                map.by_primary
                    .entry(info.primary.clone())
                    .or_default()
                    .push(i);
                for (p, _) in &info.names {
                    if let NamePattern::Exact(n) = p {
                        let v = map.by_exact.entry(n.clone()).or_default();
                        if v.last() != Some(&i) {
                            v.push(i);
                        }
                    }
                }
                map.servers.push(info);
            } else if node.name() == "location" && node.directive.has_block() {
                if let Some((LocationKind::Regex { caseless }, re)) = location_kind(node) {
                    let regexes = &mut map.regexes;
                    let i = *by_pattern
                        .entry((re, caseless))
                        .or_insert_with_key(|(re, c)| {
                            regexes.push(compile(re, *c));
                            regexes.len() - 1
                        });
                    map.location_regexes.insert(id, i);
                }
            } else if Family::from_pass(node.name()).is_some()
                && matches!(node.context, Context::Location | Context::IfLocation)
            {
                map.index_handler(id);
                map.handlers.push(id);
            }
        }
        map
    }

    /// Files the handler about to be pushed under the peers it can log.
    fn index_handler(&mut self, id: NodeId) {
        let i = self.handlers.len();
        let cfg = self.cfg;
        let node = cfg.node(id);
        let Some(arg) = node.arg(0) else {
            return;
        };
        let addr = parse_pass(node.name(), arg);
        let mut peers: Vec<Peer> = Vec::new();
        let mut fuzzy = false;
        match addr
            .name()
            .and_then(|n| cfg.upstream_block(n).map(|b| (n, b)))
        {
            Some((name, block)) => {
                peers.push(Peer::Name(name.to_ascii_lowercase()));
                for (server, _) in cfg.upstream_servers(block) {
                    match Peer::of(&server, None) {
                        Some(p) => peers.push(p),
                        None => fuzzy = true,
                    }
                }
            }
            None => match Peer::of(&addr, addr.scheme.default_port()) {
                Some(p) => peers.push(p),
                None => fuzzy = true,
            },
        }
        if fuzzy {
            self.fuzzy_handlers.push(i);
        }
        for p in peers {
            let v = self.by_peer.entry(p).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }

    /// Every handler that may send a request to the logged `upstream` (fit `Possible` or
    /// `Exact`), config order: [`Self::handler_fit`] over the indexed candidates only.
    pub fn handlers_for(&self, upstream: &Upstream<'_>) -> Vec<HandlerFit> {
        let mut idx: Vec<usize> = self.fuzzy_handlers.clone();
        if let Some(v) = Peer::logged(upstream.peer).and_then(|p| self.by_peer.get(&p)) {
            idx.extend_from_slice(v);
        }
        idx.sort_unstable();
        idx.dedup();
        idx.into_iter()
            .map(|i| self.handler_fit(self.handlers[i], upstream))
            .filter(|f| f.fit != AddrMatch::No)
            .collect()
    }

    fn server_info(&mut self, id: NodeId) -> ServerInfo {
        let cfg = self.cfg;
        let mut names = Vec::new();
        for n in cfg.children_named(Some(id), "server_name") {
            for word in cfg.node(n).directive.args() {
                let raw = word.as_str();
                names.push((self.name_pattern(raw), raw.to_owned()));
            }
        }
        // What nginx prints as `server:`: the first name, a regex as written (with its `~`),
        // others lower-cased and without a leading dot.
        let primary = match names.first() {
            None => String::new(),
            Some((_, raw)) if raw.starts_with('~') => raw.clone(),
            Some((_, raw)) => raw.strip_prefix('.').unwrap_or(raw).to_ascii_lowercase(),
        };
        let mut listens = Vec::new();
        for l in cfg.children_named(Some(id), "listen") {
            let node = cfg.node(l);
            let Some((addr, port)) = node.arg(0).and_then(listen_socket) else {
                continue;
            };
            let default = node
                .directive
                .args()
                .iter()
                .skip(1)
                .any(|a| matches!(a.as_str(), "default_server" | "default"));
            listens.push(ListenSocket {
                addr,
                port,
                default,
            });
        }
        if listens.is_empty() {
            // No `listen`: *:80 (nginx run as root; *:8000 otherwise).
            listens.push(ListenSocket {
                addr: ListenAddr::AnyV4,
                port: 80,
                default: false,
            });
        }
        ServerInfo {
            id,
            primary,
            names,
            listens,
        }
    }

    fn name_pattern(&mut self, raw: &str) -> NamePattern {
        if let Some(re) = raw.strip_prefix('~') {
            // ngx_http_core_server_name: caseless only when the pattern has an upper-case letter
            // (host names are lower-cased before matching).
            let caseless = re.bytes().any(|b| b.is_ascii_uppercase());
            self.name_regexes.push(compile(re, caseless));
            return NamePattern::Regex(self.name_regexes.len() - 1);
        }
        let lower = raw.to_ascii_lowercase();
        if let Some(suffix) = lower.strip_prefix('*') {
            return NamePattern::Leading {
                suffix: suffix.to_owned(),
                also_bare: false,
            };
        }
        if lower.starts_with('.') && lower.len() > 1 {
            return NamePattern::Leading {
                suffix: lower,
                also_bare: true,
            };
        }
        if let Some(prefix) = lower.strip_suffix('*') {
            return NamePattern::Trailing(prefix.to_owned());
        }
        NamePattern::Exact(lower)
    }

    /// The server block that handled a request, from the log's `server:` and `host:` fields.
    pub fn select_server(
        &self,
        server_field: Option<&str>,
        host: Option<&str>,
    ) -> Option<ServerChoice> {
        self.select_server_on(server_field, host, Socket::default())
    }

    /// nginx's selection: the socket picks the servers (the access log's `$server_addr` /
    /// `$server_port` when known, else a port in `Host`, else 80 and 443, where a `Host`
    /// without a port came in), then the name picks among them (the log's `server:` field,
    /// else the `Host` against `server_name`), else the socket's `default_server`, else its
    /// first server. [`ServerChoice::others`] lists the blocks of the same name on sockets the
    /// logs do not rule out.
    pub fn select_server_on(
        &self,
        server_field: Option<&str>,
        host: Option<&str>,
        socket: Socket,
    ) -> Option<ServerChoice> {
        if self.servers.is_empty() {
            return None;
        }
        let (host_name, host_port) = host.map_or((None, None), split_host);
        let on = |p: u16| self.by_port.get(&p).map_or(&[][..], Vec::as_slice);
        let ports: Vec<u16> = match socket.port.or(host_port) {
            Some(p) => vec![p],
            None => vec![80, 443],
        };
        // Per port, the servers at the best address level: the same address, else the wildcard
        // (`ngx_http_init_connection` falls back to the port's last, wildcard, address).
        let mut levels: Vec<(u16, u8)> = Vec::new();
        let mut pool: Vec<usize> = Vec::new();
        for &p in &ports {
            let best = on(p)
                .iter()
                .map(|&i| self.servers[i].takes(p, socket.addr))
                .max()
                .unwrap_or(0);
            if best == 0 {
                continue;
            }
            levels.push((p, best));
            pool.extend(
                on(p)
                    .iter()
                    .copied()
                    .filter(|&i| self.servers[i].takes(p, socket.addr) == best),
            );
        }
        pool.sort_unstable();
        pool.dedup();
        let port_known = !pool.is_empty();
        if !port_known {
            pool = (0..self.servers.len()).collect();
        }
        let port_text = match (socket.is_known(), &ports[..]) {
            (true, _) => format!("{socket} (the access log's $server_addr/$server_port)"),
            (false, [p]) => format!("port {p}"),
            _ => "port 80/443".to_owned(),
        };
        let on_socket = |i: usize| {
            if socket.port.is_none() && !(host_port.is_some() && port_known) {
                // Nothing says the port: every socket is possible.
                return true;
            }
            ports
                .iter()
                .any(|&p| self.servers[i].takes(p, socket.addr) > 0)
        };
        let finish = |i: usize, how: String| {
            let chosen = self.servers[i].id;
            let others = self
                .same_name_indexes(server_field, host)
                .into_iter()
                .filter(|&j| j != i && on_socket(j))
                .map(|j| self.servers[j].id)
                .collect();
            Some(ServerChoice {
                id: chosen,
                how: how.into(),
                others,
            })
        };

        if let Some(field) = server_field {
            let with_field = self.by_primary.get(field).map_or(&[][..], Vec::as_slice);
            let mut named: Vec<usize> = with_field
                .iter()
                .copied()
                .filter(|i| pool.binary_search(i).is_ok())
                .collect();
            if named.is_empty() {
                named = with_field.to_vec();
            }
            if let [only] = named[..] {
                let how = if field.is_empty() {
                    "log server: \"\", the only server block without server_name".to_owned()
                } else {
                    format!("log server: \"{field}\", its first server_name")
                };
                let how = if socket.is_known() {
                    format!("on {port_text}, {how}")
                } else {
                    how
                };
                return finish(only, how);
            }
            if !named.is_empty() {
                pool = named;
            }
        }

        if let Some(name) = host_name.as_deref() {
            if let Some((i, pattern)) = self.match_server_name(&pool, name) {
                let how = if socket.is_known() {
                    format!("on {port_text}, Host \"{name}\" matches server_name {pattern}")
                } else {
                    format!("Host \"{name}\" matches server_name {pattern}")
                };
                return finish(i, how);
            }
        }
        let default = pool.iter().copied().find(|&i| {
            levels
                .iter()
                .any(|&(p, level)| self.servers[i].is_default_for(p, socket.addr, level))
        });
        if let Some(i) = default {
            return finish(i, format!("default_server for {port_text}"));
        }
        let first = *pool.first()?;
        let how = if port_known {
            format!("first server block for {port_text}")
        } else {
            "first server block (no server listens on the Host's port)".to_owned()
        };
        finish(first, how)
    }

    /// The `listen` sockets of a server block, as written (`*:80, [::]:443`).
    pub fn listen_text(&self, server: NodeId) -> String {
        self.servers
            .iter()
            .find(|s| s.id == server)
            .map(ServerInfo::sockets_text)
            .unwrap_or_default()
    }

    /// Some server block prints `field` as its `server:` (its first server_name).
    pub fn knows_server_field(&self, field: &str) -> bool {
        self.by_primary.contains_key(field)
    }

    /// Distinct location regexes compiled (each once, whatever the number of blocks using it).
    pub fn compiled_location_regexes(&self) -> usize {
        self.regexes.len()
    }

    /// Other server blocks the same request may have reached when the log does not say the
    /// port: those with the same `server:` name, or (without one) whose names match the Host,
    /// on any port; `chosen` excluded, config order.
    pub fn same_name_servers(
        &self,
        server_field: Option<&str>,
        host: Option<&str>,
        chosen: NodeId,
    ) -> Vec<NodeId> {
        self.same_name_indexes(server_field, host)
            .into_iter()
            .map(|i| self.servers[i].id)
            .filter(|id| *id != chosen)
            .collect()
    }

    /// [`Self::same_name_servers`] as indexes into `servers`, chosen included: by the
    /// `server:` index when the log names one, else every block whose names match the Host.
    fn same_name_indexes(&self, server_field: Option<&str>, host: Option<&str>) -> Vec<usize> {
        if let Some(f) = server_field.filter(|f| !f.is_empty()) {
            return self.by_primary.get(f).cloned().unwrap_or_default();
        }
        let Some(name) = host.and_then(|h| split_host(h).0) else {
            return Vec::new();
        };
        (0..self.servers.len())
            .filter(|&i| self.match_server_name(&[i], &name).is_some())
            .collect()
    }

    /// nginx's name order: exact, longest leading wildcard, longest trailing wildcard, first
    /// regex. Returns the server index and the pattern as written.
    /// `pool` is ascending (config order).
    fn match_server_name(&self, pool: &[usize], name: &str) -> Option<(usize, String)> {
        let exact = self.by_exact.get(name).map_or(&[][..], Vec::as_slice);
        if let Some(&i) = exact.iter().find(|i| pool.binary_search(i).is_ok()) {
            let raw = self.servers[i]
                .names
                .iter()
                .find(|(p, _)| matches!(p, NamePattern::Exact(n) if n == name))
                .map(|(_, raw)| raw.clone())
                .unwrap_or_default();
            return Some((i, raw));
        }
        let mut best: Option<(usize, usize, &str)> = None;
        for &i in pool {
            for (p, raw) in &self.servers[i].names {
                if let NamePattern::Leading { suffix, also_bare } = p {
                    let hit = (name.len() > suffix.len() && name.ends_with(suffix.as_str()))
                        || (*also_bare && name == &suffix[1..]);
                    if hit && best.is_none_or(|(_, len, _)| suffix.len() > len) {
                        best = Some((i, suffix.len(), raw));
                    }
                }
            }
        }
        if let Some((i, _, raw)) = best {
            return Some((i, raw.to_owned()));
        }
        for &i in pool {
            for (p, raw) in &self.servers[i].names {
                if let NamePattern::Trailing(prefix) = p {
                    let hit = name.len() > prefix.len() && name.starts_with(prefix.as_str());
                    if hit && best.is_none_or(|(_, len, _)| prefix.len() > len) {
                        best = Some((i, prefix.len(), raw));
                    }
                }
            }
        }
        if let Some((i, _, raw)) = best {
            return Some((i, raw.to_owned()));
        }
        for &i in pool {
            for (p, raw) in &self.servers[i].names {
                if let NamePattern::Regex(r) = p {
                    if let Some(Ok(re)) = self.name_regexes.get(*r) {
                        if crate::semantic::regex::is_match(re, name) {
                            return Some((i, raw.clone()));
                        }
                    }
                }
            }
        }
        None
    }

    /// nginx's location search for `uri` (a path, not yet normalized) in `server`.
    pub fn find_location(&self, server: NodeId, uri: &str) -> LocationMatch {
        let uri = normalize_uri(uri);
        let mut out = LocationMatch::default();
        let (found, _) = self.find_in(server, &uri, &mut out.skipped, 0);
        out.location = found;
        out
    }

    /// One level of `ngx_http_core_find_location`: `(location, final)`, where `final` means an
    /// exact or regex match (no outer regex may override it).
    fn find_in(
        &self,
        block: NodeId,
        uri: &str,
        skipped: &mut Vec<(NodeId, String)>,
        depth: usize,
    ) -> (Option<NodeId>, bool) {
        // Nesting depth is bounded by the config; this guards pathological trees.
        if depth > 64 {
            return (None, false);
        }
        let cfg = self.cfg;
        let mut prefix: Option<(NodeId, usize, bool)> = None;
        let mut regexes = Vec::new();
        for id in cfg.children_named(Some(block), "location") {
            let node = cfg.node(id);
            if !node.directive.has_block() {
                continue;
            }
            let Some((kind, name)) = location_kind(node) else {
                continue;
            };
            match kind {
                LocationKind::Exact if name == uri => return (Some(id), true),
                LocationKind::Prefix | LocationKind::PrefixNoRegex => {
                    let better = prefix.is_none_or(|(_, len, _)| name.len() > len);
                    if uri.starts_with(name.as_str()) && better {
                        prefix = Some((id, name.len(), kind == LocationKind::PrefixNoRegex));
                    }
                }
                LocationKind::Regex { .. } => regexes.push(id),
                LocationKind::Exact | LocationKind::Named => {}
            }
        }
        let mut current = None;
        let mut noregex = false;
        if let Some((id, _, stop)) = prefix {
            current = Some(id);
            noregex = stop;
            let (nested, done) = self.find_in(id, uri, skipped, depth + 1);
            if done {
                return (nested, true);
            }
            if nested.is_some() {
                current = nested;
            }
        }
        if !noregex {
            for id in regexes {
                match self
                    .location_regexes
                    .get(&id)
                    .and_then(|&i| self.regexes.get(i))
                {
                    Some(Ok(re)) if crate::semantic::regex::is_match(re, uri) => {
                        let (nested, _) = self.find_in(id, uri, skipped, depth + 1);
                        return (nested.or(Some(id)), true);
                    }
                    Some(Err(why)) if !skipped.iter().any(|(s, _)| *s == id) => {
                        skipped.push((id, why.clone()));
                    }
                    _ => {}
                }
            }
        }
        (current, false)
    }

    /// The handlers that may serve a location: its own `*_pass`, those in its `if` blocks, and
    /// those of the named locations its `try_files`/`error_page` send requests to. The string
    /// says how the handler is reached when it is not the location's own.
    pub fn location_handlers(&self, location: NodeId) -> Vec<(NodeId, Option<String>)> {
        let cfg = self.cfg;
        let mut out = Vec::new();
        if let Some((_, h)) = cfg.handler(location) {
            out.push((h, None));
        }
        for &c in cfg.children(Some(location)) {
            let node = cfg.node(c);
            if node.name() == "if" && node.directive.has_block() {
                if let Some((_, h)) = cfg.handler(c) {
                    let cond: Vec<&str> =
                        node.directive.args().iter().map(|a| a.as_str()).collect();
                    out.push((h, Some(format!("inside `if {}`", cond.join(" ")))));
                }
            }
        }
        let server = cfg.enclosing_server(location);
        for &c in cfg.children(Some(location)) {
            let node = cfg.node(c);
            if !matches!(node.name(), "try_files" | "error_page") {
                continue;
            }
            let Some(target) = node.directive.args().last().map(|a| a.as_str()) else {
                continue;
            };
            if !target.starts_with('@') {
                continue;
            }
            let named = server.and_then(|s| {
                cfg.children_named(Some(s), "location")
                    .find(|l| cfg.node(*l).arg(0) == Some(target))
            });
            if let Some((_, h)) = named.and_then(|l| cfg.handler(l)) {
                if !out.iter().any(|(x, _)| *x == h) {
                    out.push((h, Some(format!("through `{} ... {target}`", node.name()))));
                }
            }
        }
        out
    }

    /// Every handler in http locations, in config order.
    pub fn all_handlers(&self) -> &[NodeId] {
        &self.handlers
    }

    /// How a handler fits the logged `upstream:` field.
    pub fn handler_fit(&self, handler: NodeId, upstream: &Upstream<'_>) -> HandlerFit {
        let cfg = self.cfg;
        let node = cfg.node(handler);
        let mut fit = HandlerFit {
            handler,
            fit: AddrMatch::No,
            upstream_server: None,
            upstream_block: None,
            via_localhost: false,
        };
        let Some(family) = Family::from_pass(node.name()) else {
            return fit;
        };
        if let Some(scheme) = upstream.scheme {
            if scheme_family(scheme).is_some_and(|f| f != family) {
                return fit;
            }
        }
        let Some(arg) = node.arg(0) else { return fit };
        let addr = parse_pass(node.name(), arg);
        if let Host::Variable(_) = addr.host {
            fit.fit = AddrMatch::Possible;
            return fit;
        }
        if let Some(name) = addr.name() {
            if let Some(block) = cfg.upstream_block(name) {
                fit.upstream_block = Some(block);
                if upstream.peer.eq_ignore_ascii_case(name) {
                    // "no live upstreams": nginx prints the block's name.
                    fit.fit = AddrMatch::Exact;
                    return fit;
                }
                // The upstream's servers as `check` reads them (port 80 when none is written).
                for (server_addr, s) in cfg.upstream_servers(block) {
                    let (m, localhost) = addr_fit(&server_addr, None, upstream.peer);
                    if m > fit.fit {
                        fit.fit = m;
                        fit.upstream_server = Some(s);
                        fit.via_localhost = localhost;
                    }
                    if m == AddrMatch::Exact {
                        break;
                    }
                }
                return fit;
            }
        }
        let (m, localhost) = addr_fit(&addr, addr.scheme.default_port(), upstream.peer);
        fit.fit = m;
        fit.via_localhost = localhost;
        fit
    }
}

fn compile(re: &str, caseless: bool) -> Result<Regex, String> {
    crate::semantic::regex::compile(re, caseless)
}

/// The family an `upstream:` scheme belongs to (`ngx_http_*_module`'s `u->schema`).
fn scheme_family(scheme: &str) -> Option<Family> {
    Some(match scheme {
        "http" | "https" => Family::Proxy,
        "fastcgi" => Family::FastCgi,
        "grpc" | "grpcs" => Family::Grpc,
        "uwsgi" | "suwsgi" => Family::Uwsgi,
        "scgi" => Family::Scgi,
        "memcached" => Family::Memcached,
        _ => return None,
    })
}

/// Compares a configured address with the peer nginx logged (`127.0.0.1:3000`, `[::1]:3000`,
/// `unix:/run/php.sock`). Returns the fit and whether it went through `localhost`.
fn addr_fit(cfg: &Address, default_port: Option<u16>, peer: &str) -> (AddrMatch, bool) {
    if let Some(path) = peer.strip_prefix("unix:") {
        let same = cfg.unix_path() == Some(path.trim_end_matches(':'));
        return (
            if same {
                AddrMatch::Exact
            } else {
                AddrMatch::No
            },
            false,
        );
    }
    if cfg.is_unix() {
        return (AddrMatch::No, false);
    }
    let logged = parse_host_port(peer, false);
    let cfg_port = cfg.port.or(default_port);
    if let (Some(a), Some(b)) = (cfg_port, logged.port) {
        if a != b {
            return (AddrMatch::No, false);
        }
    }
    let logged_ip = host_ip(&logged.host);
    match (&cfg.host, logged_ip) {
        (Host::Ipv4(_) | Host::Ipv6(_), Some(ip)) => {
            let same = host_ip(&cfg.host) == Some(ip);
            (
                if same {
                    AddrMatch::Exact
                } else {
                    AddrMatch::No
                },
                false,
            )
        }
        (Host::Name(n), Some(ip)) if n.eq_ignore_ascii_case("localhost") => {
            // /etc/hosts maps localhost to 127.0.0.1 and (Debian, Ubuntu) ::1: nginx makes a peer
            // of each.
            let local =
                ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || ip == IpAddr::V6(Ipv6Addr::LOCALHOST);
            if local {
                (AddrMatch::Exact, true)
            } else {
                (AddrMatch::No, false)
            }
        }
        // Another name: only DNS could tell.
        (Host::Name(_), Some(_)) => (AddrMatch::Possible, false),
        (Host::Name(a), None) => match &logged.host {
            Host::Name(b) if a.eq_ignore_ascii_case(b) => (AddrMatch::Exact, false),
            _ => (AddrMatch::Possible, false),
        },
        (Host::Variable(_), _) => (AddrMatch::Possible, false),
        _ => (AddrMatch::No, false),
    }
}

fn host_ip(h: &Host) -> Option<IpAddr> {
    match h {
        Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        _ => None,
    }
}

/// The port of a `listen` argument: `8080`, `127.0.0.1:8080`, `[::]:80`, `*:80`, `localhost`;
/// `None` for a unix socket.
fn listen_socket(arg: &str) -> Option<(ListenAddr, u16)> {
    if arg.starts_with("unix:") {
        return None;
    }
    if arg.bytes().all(|b| b.is_ascii_digit()) {
        return Some((ListenAddr::AnyV4, arg.parse().ok()?));
    }
    let addr = parse_host_port(arg, false);
    let port = addr.port.unwrap_or(80);
    let a = match addr.host {
        Host::Ipv4(ip) if ip.is_unspecified() => ListenAddr::AnyV4,
        Host::Ipv6(ip) if ip.is_unspecified() => ListenAddr::AnyV6,
        Host::Ipv4(ip) => ListenAddr::Ip(IpAddr::V4(ip)),
        Host::Ipv6(ip) => ListenAddr::Ip(IpAddr::V6(ip)),
        Host::Name(n) if n == "*" => ListenAddr::AnyV4,
        Host::Name(n) => ListenAddr::Name(n.to_ascii_lowercase()),
        _ => return None,
    };
    Some((a, port))
}

/// `Host` header -> (lower-case name without port and trailing dot, port).
pub fn split_host(host: &str) -> (Option<String>, Option<u16>) {
    let host = host.trim();
    let (name, port) = if let Some(v6) = host.strip_prefix('[') {
        match v6.split_once(']') {
            Some((ip, rest)) => (
                format!("[{ip}]"),
                rest.strip_prefix(':').and_then(|p| p.parse().ok()),
            ),
            None => (host.to_owned(), None),
        }
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (n.to_owned(), p.parse().ok()),
            _ => (host.to_owned(), None),
        }
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    ((!name.is_empty()).then_some(name), port)
}

/// The URI nginx matches locations against (`ngx_http_parse_complex_uri`): percent-decoded,
/// `//` merged (merge_slashes on, the default), `.` and `..` segments resolved, no query.
pub fn normalize_uri(uri: &str) -> String {
    let path = super::logline::uri_path(uri);
    let bytes = path.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                decoded.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        decoded.push(bytes[i]);
        i += 1;
    }
    let text = String::from_utf8_lossy(&decoded);
    let mut segments: Vec<&str> = Vec::new();
    for seg in text.split('/').skip(1) {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(text.len() + 1);
    for s in &segments {
        out.push('/');
        out.push_str(s);
    }
    let trailing = text.ends_with('/') || text.ends_with("/.") || text.ends_with("/..");
    if out.is_empty() || (trailing && !out.ends_with('/')) {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::test_tree as tree;

    /// The first argument of the handler of the location found for `uri` in the first server.
    fn route(map: &ConfigMap<'_, '_>, uri: &str) -> (String, Vec<String>) {
        let server = map.servers[0].id;
        let m = map.find_location(server, uri);
        let skipped = m
            .skipped
            .iter()
            .map(|(id, _)| map.cfg.node(*id).arg(1).unwrap_or("").to_owned())
            .collect();
        let Some(loc) = m.location else {
            return ("none".to_owned(), skipped);
        };
        let handler = map
            .location_handlers(loc)
            .first()
            .and_then(|(h, _)| map.cfg.node(*h).arg(0))
            .unwrap_or("no handler")
            .to_owned();
        (handler, skipped)
    }

    const LOCATIONS: &str = r"
events {}
http {
    server {
        listen 80;
        location = / { proxy_pass http://127.0.0.1:1; }
        location / { proxy_pass http://127.0.0.1:2; }
        location /images/ {
            proxy_pass http://127.0.0.1:3;
            location ~ \.png$ { proxy_pass http://127.0.0.1:31; }
            location /images/thumbs/ { proxy_pass http://127.0.0.1:32; }
        }
        location ^~ /static/ { proxy_pass http://127.0.0.1:4; }
        location ~* \.(gif|jpg|png)$ { proxy_pass http://127.0.0.1:5; }
        location ~ ^/api/ { proxy_pass http://127.0.0.1:6; }
        location ~ ^/api/v2 { proxy_pass http://127.0.0.1:7; }
        location /api/long/prefix/ { proxy_pass http://127.0.0.1:8; }
        location ~ (?<=foo)bar { proxy_pass http://127.0.0.1:9; }
        location ~ ^/bro(ken { proxy_pass http://127.0.0.1:14; }
        location @named { proxy_pass http://127.0.0.1:10; }
        location /app { try_files $uri @named; }
        location =/exact { proxy_pass http://127.0.0.1:11; }
        location ~^/tilde-no-space { proxy_pass http://127.0.0.1:12; }
        location /if {
            if ($arg_x) { proxy_pass http://127.0.0.1:13; }
        }
    }
}";

    #[test]
    fn location_search_follows_nginx() {
        let t = tree(LOCATIONS);
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        let cases = [
            // `=` wins for exactly its URI, and only for it.
            ("/", "http://127.0.0.1:1"),
            ("/index.html", "http://127.0.0.1:2"),
            ("/exact", "http://127.0.0.1:11"),
            ("/exact/more", "http://127.0.0.1:2"),
            // `^~` stops the regex search.
            ("/static/x.png", "http://127.0.0.1:4"),
            // Nested regex inside the longest prefix is tried before the outer regexes.
            ("/images/a.png", "http://127.0.0.1:31"),
            // No nested match: the outer regexes still override the prefix.
            ("/images/a.gif", "http://127.0.0.1:5"),
            ("/images/a.txt", "http://127.0.0.1:3"),
            // Nested prefix, then the nested regex is case-sensitive, the outer `~*` is not.
            ("/images/thumbs/a.txt", "http://127.0.0.1:32"),
            ("/images/thumbs/a.PNG", "http://127.0.0.1:5"),
            // Regexes in config order: the first match wins, whatever its length.
            ("/api/v2/users", "http://127.0.0.1:6"),
            // A regex match beats a longer prefix.
            ("/api/long/prefix/x", "http://127.0.0.1:6"),
            // Named location reached through try_files.
            ("/app/page", "http://127.0.0.1:10"),
            ("/tilde-no-space", "http://127.0.0.1:12"),
            ("/if/x", "http://127.0.0.1:13"),
            // The URI is normalized as nginx does before matching.
            ("/a//b/../../static/x.png", "http://127.0.0.1:4"),
            ("/%73tatic/x.png", "http://127.0.0.1:4"),
            ("/static/x.png?a=/api/", "http://127.0.0.1:4"),
        ];
        for (uri, want) in cases {
            assert_eq!(route(&map, uri).0, want, "{uri}");
        }
        // PCRE-only syntax (lookbehind) matches as in nginx.
        let (handler, skipped) = route(&map, "/foobar");
        assert_eq!(handler, "http://127.0.0.1:9");
        assert!(skipped.is_empty(), "{skipped:?}");
        // A regex PCRE2 refuses (nginx -t refuses it too) is skipped and reported.
        let (handler, skipped) = route(&map, "/broken");
        assert_eq!(handler, "http://127.0.0.1:2");
        assert_eq!(skipped, vec![r"^/bro(ken".to_owned()]);
    }

    #[test]
    fn no_location_matches() {
        let t = tree("events {}\nhttp { server { location /only/ { proxy_pass http://a:1; } } }");
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        assert_eq!(route(&map, "/other").0, "none");
    }

    const SERVERS: &str = r"
events {}
http {
    server { listen 80; server_name example.com www.example.com; }
    server { listen 80; server_name *.example.com; }
    server { listen 80; server_name *.api.example.com; }
    server { listen 80; server_name mail.*; }
    server { listen 80; server_name ~^(?<user>\w+)\.example\.net$; }
    server { listen 80 default_server; server_name _; }
    server { listen 8080; }
    server { listen 127.0.0.1:8080; server_name .example.org; }
    server { listen [::]:8443 default; server_name second.example.com; }
}";

    #[test]
    fn each_distinct_location_regex_is_compiled_once() {
        let mut conf = String::from("http {\n");
        for i in 0..50 {
            conf.push_str(&format!(
                "server {{ listen {}; location ~ \\.php$ {{ fastcgi_pass unix:/s; }} location ~* \\.PHP$ {{ }} location ~ \\.php$ {{ }} }}\n",
                8000 + i
            ));
        }
        conf.push_str("}\n");
        let t = tree(&conf);
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        // `~ \.php$` and `~* \.PHP$`: two patterns, whatever the number of servers.
        assert_eq!(map.compiled_location_regexes(), 2);
        let server = map.select_server(None, Some("x:8049")).map(|c| c.id);
        let found = server.and_then(|s| map.find_location(s, "/a.php").location);
        let text = found.map(|l| cfg.node(l).arg(1).unwrap_or("").to_owned());
        assert_eq!(text.as_deref(), Some("\\.php$"));
    }

    #[test]
    fn server_selection_follows_nginx() {
        let t = tree(SERVERS);
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        let index = |choice: Option<ServerChoice>| {
            let id = choice.map(|c| c.id);
            map.servers.iter().position(|s| Some(s.id) == id)
        };
        let by_host = |host: &str| index(map.select_server(None, Some(host)));
        assert_eq!(by_host("example.com"), Some(0));
        assert_eq!(by_host("WWW.Example.com."), Some(0));
        assert_eq!(by_host("a.example.com"), Some(1));
        // The longest leading wildcard wins, whatever the order.
        assert_eq!(by_host("x.api.example.com"), Some(2));
        assert_eq!(by_host("mail.foo.org"), Some(3));
        assert_eq!(by_host("bob.example.net"), Some(4));
        // Nothing matches: the port's default_server.
        assert_eq!(by_host("unknown.test"), Some(5));
        assert_eq!(by_host("127.0.0.1"), Some(5));
        // Port from Host; no default there: the first server for that port.
        assert_eq!(by_host("unknown:8080"), Some(6));
        assert_eq!(by_host("example.org:8080"), Some(7));
        assert_eq!(by_host("sub.example.org:8080"), Some(7));
        // Names are only compared among the servers of the port.
        assert_eq!(by_host("example.com:8443"), Some(8));
        // The log's `server:` names the block directly.
        let by_field =
            |field: &str, host: Option<&str>| index(map.select_server(Some(field), host));
        assert_eq!(by_field("example.com", Some("anything")), Some(0));
        assert_eq!(by_field("_", None), Some(5));
        assert_eq!(by_field("", Some("127.0.0.1:8080")), Some(6));
        assert_eq!(by_field("example.org", Some("x:8080")), Some(7));
        assert_eq!(
            by_field(r"~^(?<user>\w+)\.example\.net$", Some("bob.example.net")),
            Some(4)
        );
        // An unknown `server:` falls back to the Host header.
        assert_eq!(by_field("gone.example", Some("a.example.com")), Some(1));
    }

    #[test]
    fn the_socket_picks_the_servers_before_the_name() {
        let t = tree(SERVERS);
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        let on = |host: Option<&str>, addr: &str, port: &str| {
            let c = map.select_server_on(None, host, Socket::parse(Some(addr), Some(port)));
            let id = c.as_ref().map(|c| c.id);
            (
                map.servers.iter().position(|s| Some(s.id) == id),
                c.map(|c| c.how),
            )
        };
        // 127.0.0.1:8080 has a server of its own: the *:8080 one never sees those connections,
        // whatever the Host (ngx_http_init_connection takes the exact address first).
        assert_eq!(on(Some("unknown"), "127.0.0.1", "8080").0, Some(7));
        // Another address of the machine goes to the wildcard, even for a name of the other.
        assert_eq!(on(Some("example.org"), "10.0.0.5", "8080").0, Some(6));
        // The port of the socket, not the Host's: a Host of :80 that came in on 8443 (IPv6).
        let (i, how) = on(Some("second.example.com"), "::1", "8443");
        assert_eq!(i, Some(8));
        assert!(how.is_some_and(|h| h.contains("[::1]:8443")));
        // No name matches on the socket: its default_server.
        assert_eq!(on(Some("x"), "192.0.2.1", "80").0, Some(5));
        // Without the socket, the Host's port narrows, the address does not.
        assert_eq!(
            map.select_server(None, Some("example.org:8080"))
                .map(|c| map.servers.iter().position(|s| s.id == c.id)),
            Some(Some(7))
        );
    }

    #[test]
    fn blocks_of_one_name_on_other_sockets_are_listed() {
        let t = tree(
            "events {}\nhttp {\n server { listen 80; server_name shop.test; return 301 https://$host$request_uri; }\n server { listen 443 ssl; server_name shop.test; }\n server { listen 8080; server_name shop.test; }\n server { listen 80; server_name other.test; }\n}",
        );
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        let idx = |id: NodeId| map.servers.iter().position(|s| s.id == id);
        let others = |field: Option<&str>, host: &str, socket: Socket| {
            let c = map
                .select_server_on(field, Some(host), socket)
                .unwrap_or_else(|| panic!("no server for {host}"));
            (
                idx(c.id),
                c.others.iter().map(|o| idx(*o)).collect::<Vec<_>>(),
            )
        };
        // Nothing says the port: the 80 block by nginx's order, the other two are possible.
        assert_eq!(
            others(Some("shop.test"), "shop.test", Socket::default()),
            (Some(0), vec![Some(1), Some(2)])
        );
        // A port in Host that a block listens on rules the others out.
        assert_eq!(
            others(Some("shop.test"), "shop.test:8080", Socket::default()),
            (Some(2), vec![])
        );
        // So does the access log's socket.
        assert_eq!(
            others(
                Some("shop.test"),
                "shop.test",
                Socket::parse(None, Some("443"))
            ),
            (Some(1), vec![])
        );
        assert_eq!(
            others(Some("other.test"), "other.test", Socket::default()),
            (Some(3), vec![])
        );
    }

    #[test]
    fn host_header_forms() {
        assert_eq!(
            split_host("127.0.0.1:18081"),
            (Some("127.0.0.1".to_owned()), Some(18081))
        );
        assert_eq!(
            split_host("[::1]:8080"),
            (Some("[::1]".to_owned()), Some(8080))
        );
        assert_eq!(
            split_host("Example.COM."),
            (Some("example.com".to_owned()), None)
        );
        assert_eq!(split_host(""), (None, None));
    }

    const UPSTREAMS: &str = r"
events {}
http {
    upstream node_app { server localhost:3000; }
    upstream pool { server 10.0.0.1:80; server 10.0.0.2; }
    server {
        location /a { proxy_pass http://node_app; }
        location /b { fastcgi_pass unix:/run/php/php8.2-fpm.sock; }
        location /c { proxy_pass http://localhost:4000; }
        location /d { proxy_pass http://$backend; }
        location /e { proxy_pass http://pool; }
        location /f { grpc_pass 127.0.0.1:50051; }
        location /g { proxy_pass http://unix:/run/app.sock:/api/; }
    }
}";

    #[test]
    fn handler_fits_logged_upstream() {
        let t = tree(UPSTREAMS);
        let cfg = ResolvedConfig::build(&t);
        let map = ConfigMap::new(&cfg);
        let handler = |loc: &str| {
            let server = map.servers[0].id;
            let l = map.find_location(server, loc).location;
            let l = l.unwrap_or_else(|| panic!("no location for {loc}"));
            map.location_handlers(l)[0].0
        };
        let fit = |loc: &str, up: &str| map.handler_fit(handler(loc), &Upstream::parse(up));
        let f = fit("/a", "http://127.0.0.1:3000/x");
        assert_eq!((f.fit, f.via_localhost), (AddrMatch::Exact, true));
        assert_eq!(
            f.upstream_server.and_then(|s| cfg.node(s).arg(0)),
            Some("localhost:3000")
        );
        assert_eq!(fit("/a", "http://[::1]:3000/").fit, AddrMatch::Exact);
        assert_eq!(fit("/a", "http://node_app/").fit, AddrMatch::Exact);
        assert_eq!(fit("/a", "http://127.0.0.1:3001/").fit, AddrMatch::No);
        assert_eq!(fit("/a", "fastcgi://127.0.0.1:3000").fit, AddrMatch::No);
        // Unix sockets with and without nginx's trailing `:`.
        assert_eq!(
            fit("/b", "fastcgi://unix:/run/php/php8.2-fpm.sock:").fit,
            AddrMatch::Exact
        );
        assert_eq!(
            fit("/b", "fastcgi://unix:/run/php/php8.2-fpm.sock").fit,
            AddrMatch::Exact
        );
        assert_eq!(
            fit("/b", "fastcgi://unix:/run/php/php7.4-fpm.sock:").fit,
            AddrMatch::No
        );
        let c = fit("/c", "http://[::1]:4000/");
        assert_eq!((c.fit, c.via_localhost), (AddrMatch::Exact, true));
        assert_eq!(fit("/d", "http://10.1.1.1:80/").fit, AddrMatch::Possible);
        // An upstream server without a port is port 80.
        assert_eq!(fit("/e", "http://10.0.0.2:80/").fit, AddrMatch::Exact);
        assert_eq!(fit("/e", "http://10.0.0.3:80/").fit, AddrMatch::No);
        assert_eq!(fit("/f", "grpc://127.0.0.1:50051").fit, AddrMatch::Exact);
        assert_eq!(
            fit("/g", "http://unix:/run/app.sock:/api/x").fit,
            AddrMatch::Exact
        );
    }

    #[test]
    fn location_forms() {
        let t = tree("events {}\nhttp { server { location = /a {} location ^~/b {} location ~* c {} location @d {} location /e {} } }");
        let cfg = ResolvedConfig::build(&t);
        let kinds: Vec<_> = cfg
            .iter()
            .filter(|(_, n)| n.name() == "location")
            .filter_map(|(_, n)| location_kind(n))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (LocationKind::Exact, "/a".to_owned()),
                (LocationKind::PrefixNoRegex, "/b".to_owned()),
                (LocationKind::Regex { caseless: true }, "c".to_owned()),
                (LocationKind::Named, "@d".to_owned()),
                (LocationKind::Prefix, "/e".to_owned()),
            ]
        );
    }

    #[test]
    fn uri_normalization() {
        assert_eq!(normalize_uri("/"), "/");
        assert_eq!(normalize_uri(""), "/");
        assert_eq!(normalize_uri("/a//b/./c/../d?x=1#f"), "/a/b/d");
        assert_eq!(normalize_uri("/a/b/"), "/a/b/");
        assert_eq!(normalize_uri("/../../etc"), "/etc");
        assert_eq!(normalize_uri("/caf%C3%A9/%7euser"), "/café/~user");
        assert_eq!(normalize_uri("/bad%zz%"), "/bad%zz%");
        assert_eq!(normalize_uri("http://h.example/p/q"), "/p/q");
    }
}
