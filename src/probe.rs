//! `check --probe`: looks at the live system for every upstream address the configuration
//! names — and nothing else. TCP addresses get a connect with a short timeout (every address a
//! name resolves to, so `localhost` is tried on 127.0.0.1 and ::1); unix sockets are checked
//! for existence, type, a listener, and whether the nginx worker user may connect (owner,
//! group, mode of the socket, and search permission on every directory above it).
//!
//! Findings are diagnostics of the rule that covers the cause (GW202 refused or timed out,
//! GW301 missing socket, GW302 permission), on the line that names the address, with messages
//! starting "(probe)".
//!
//! An upstream `server ... down;` is not probed (nginx never connects to it). A `backup`
//! server is probed, but a refusal there is at most a warning that says it is a backup (nginx
//! uses it only when every primary has failed). A name with several addresses where one answers
//! (`localhost` -> ::1 refused, 127.0.0.1 accepts) is at most a warning too: nginx tries the next
//! address. Stream upstreams and stream `proxy_pass` are probed like http ones.
//!
//! When nothing answers on a loopback address, or a unix socket is missing, the finding says
//! what does listen on this machine (its network namespace), read from /proc/net/tcp, tcp6 and
//! unix like `ss -lntpx`, with the owning process from /proc/PID/fd where readable: the same
//! port on another address (an app bound to ::1 only), else the nearest ports reachable from
//! loopback (the configuration's own `listen` ports left out), or sockets like the missing one.

use std::collections::{BTreeSet, HashMap};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::address::Host;
use crate::codes::RuleId;
use crate::config::{NamedAddress, ResolvedConfig};
use crate::diagnostic::Diagnostic;
use crate::rules::common::worker_user;
use crate::rules::{self, RuleMeta};
use crate::settings::Settings;
use crate::system::WorkerUser;
use crate::system::{access, Access, Accounts};
use crate::workspace::Workspace;

/// How long one connect may take: a local backend answers in microseconds; a filtered port or
/// dead host would otherwise hold the check for minutes.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// What one connect attempt found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    Ok,
    Refused,
    TimedOut,
    Other(String),
}

impl Reach {
    fn describe(&self) -> String {
        match self {
            Reach::Ok => "ok".to_owned(),
            Reach::Refused => "(111: Connection refused)".to_owned(),
            Reach::TimedOut => "(110: Connection timed out)".to_owned(),
            Reach::Other(e) => format!("({e})"),
        }
    }
}

/// Connects to a TCP address with a timeout.
pub fn connect_tcp(addr: SocketAddr, timeout: Duration) -> Reach {
    match TcpStream::connect_timeout(&addr, timeout) {
        Ok(_) => Reach::Ok,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => Reach::Refused,
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            Reach::TimedOut
        }
        Err(e) => Reach::Other(e.to_string()),
    }
}

/// Connects to a unix socket, giving up after `timeout` (a full backlog blocks a connect).
pub fn connect_unix(path: &Path, timeout: Duration) -> Reach {
    let (tx, rx) = mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let r = match std::os::unix::net::UnixStream::connect(&path) {
            Ok(_) => Reach::Ok,
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => Reach::Refused,
            Err(e) => Reach::Other(e.to_string()),
        };
        let _ = tx.send(r);
    });
    rx.recv_timeout(timeout).unwrap_or(Reach::TimedOut)
}

struct Prober<'a, 't> {
    ws: &'a Workspace,
    config: &'a ResolvedConfig<'t>,
    settings: &'a Settings,
    worker: WorkerUser,
    accounts: Accounts,
    timeout: Duration,
    tcp_cache: HashMap<SocketAddr, Reach>,
    /// What listens on this machine, read from /proc once, when a refusal needs it.
    inventory: Option<Inventory>,
    /// The ports the configuration itself listens on (its own sockets are no backend).
    own_ports: BTreeSet<u16>,
    out: Vec<Diagnostic>,
}

/// Probes every address the configuration names.
pub fn run(ws: &Workspace, config: &ResolvedConfig<'_>, settings: &Settings) -> Vec<Diagnostic> {
    run_with_timeout(ws, config, settings, CONNECT_TIMEOUT)
}

pub fn run_with_timeout(
    ws: &Workspace,
    config: &ResolvedConfig<'_>,
    settings: &Settings,
    timeout: Duration,
) -> Vec<Diagnostic> {
    let mut p = Prober {
        ws,
        config,
        settings,
        worker: worker_user(ws, config, settings),
        // The live system's accounts (or the sysroot's, for a container root filesystem).
        accounts: Accounts::read(ws.sysroot.as_deref()),
        timeout,
        tcp_cache: HashMap::new(),
        inventory: None,
        own_ports: crate::rules::common::listen_ports(config),
        out: Vec::new(),
    };
    let mut seen = BTreeSet::new();
    for named in config.named_addresses() {
        if !seen.insert(named.node) {
            continue;
        }
        match &named.address.host {
            Host::Unix(path) => p.unix(named, path),
            Host::Ipv4(_) | Host::Ipv6(_) | Host::Name(_) => p.tcp(named),
            Host::Variable(_) | Host::Invalid(_) => {}
        }
    }
    p.out
}

impl Prober<'_, '_> {
    fn inventory(&mut self) -> &Inventory {
        self.inventory
            .get_or_insert_with(|| Inventory::read(Path::new("/proc")))
    }

    fn push(&mut self, id: RuleId, named: &NamedAddress, message: String, help: &str) {
        self.push_at_most(id, named, message, help, crate::diagnostic::Severity::Error);
    }

    /// [`Prober::push`] with the severity capped at `most` (a backup server, a name whose
    /// other addresses answer).
    fn push_at_most(
        &mut self,
        id: RuleId,
        named: &NamedAddress,
        message: String,
        help: &str,
        most: crate::diagnostic::Severity,
    ) {
        let meta = rules::rule(id).meta();
        if !self.settings.enabled(meta.id) {
            return;
        }
        let node = self.config.node(named.node);
        let span = node
            .directive
            .args()
            .first()
            .map_or(node.directive.span(), |w| w.span());
        self.out.push(
            Diagnostic::new(
                meta.id.code(),
                meta.id.name(),
                self.settings
                    .severity(meta.id)
                    .unwrap_or(meta.severity)
                    .min(most),
                node.file,
                span,
                format!("(probe) {message}"),
            )
            .with_help(help.to_owned()),
        );
    }

    fn tcp(&mut self, named: &NamedAddress) {
        let Some(port) = named.address.effective_port() else {
            return;
        };
        let shown = {
            let mut a = named.address.clone();
            a.uri = None;
            a.scheme = crate::address::Scheme::None;
            a.to_string()
        };
        let addrs: Vec<SocketAddr> = match &named.address.host {
            Host::Ipv4(ip) => vec![SocketAddr::new((*ip).into(), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new((*ip).into(), port)],
            Host::Name(n) => match (n.as_str(), port).to_socket_addrs() {
                Ok(it) => {
                    let mut v: Vec<SocketAddr> = it.collect();
                    v.dedup();
                    v
                }
                Err(e) => {
                    self.push(
                        RuleId::GW202,
                        named,
                        format!("{shown}: host not found ({e}): nginx cannot start with it (\"host not found in upstream\")"),
                        "use an address that resolves on this machine",
                    );
                    return;
                }
            },
            _ => return,
        };
        let mut failed = Vec::new();
        for addr in &addrs {
            let timeout = self.timeout;
            let reach = self
                .tcp_cache
                .entry(*addr)
                .or_insert_with(|| connect_tcp(*addr, timeout))
                .clone();
            if reach != Reach::Ok {
                failed.push((*addr, reach));
            }
        }
        let answering: Vec<SocketAddr> = addrs
            .iter()
            .filter(|a| !failed.iter().any(|(f, _)| f == *a))
            .copied()
            .collect();
        for (addr, reach) in failed {
            let log_line = match reach {
                Reach::TimedOut => "\"upstream timed out (110: Connection timed out) while connecting to upstream\"",
                _ => "\"connect() failed (111: Connection refused) while connecting to upstream\"",
            };
            let mut most = crate::diagnostic::Severity::Error;
            let (via, symptom) = if let Some(ok) = answering.first() {
                // nginx makes one peer per address and tries the next on error
                // (proxy_next_upstream error, the default): not a certain failure.
                most = crate::diagnostic::Severity::Warning;
                (
                    format!(" ({shown} resolves to {} addresses; {ok} accepts)", addrs.len()),
                    format!("nginx tries the next address, so requests succeed while each failed try logs {log_line} and marks the peer failed for fail_timeout; a 502 only where the next try is not allowed (proxy_next_upstream off, a non-idempotent request)"),
                )
            } else if named.stream {
                (
                    String::new(),
                    format!("stream clients are disconnected, error.log says {log_line}"),
                )
            } else {
                let status = match reach {
                    Reach::TimedOut => "502/504",
                    _ => "502",
                };
                (String::new(), format!("{status} {log_line}"))
            };
            let backup = if named.backup {
                most = crate::diagnostic::Severity::Warning;
                " (a backup server: nginx sends requests there only when every primary server has failed)"
            } else {
                ""
            };
            // Where nothing answers on this machine's loopback, what does listen is the
            // next thing to compare (the app bound to ::1 only, or to another port).
            let nearby =
                if reach == Reach::Refused && answering.is_empty() && addr.ip().is_loopback() {
                    let own = self.own_ports.clone();
                    self.inventory()
                        .nearby_tcp(&addr, &own)
                        .map(|e| format!("; {e}"))
                        .unwrap_or_default()
                } else {
                    String::new()
                };
            self.push_at_most(
                RuleId::GW202,
                named,
                format!(
                    "connect() to {addr} failed {}{via}{backup}: nothing accepts connections there right now: {symptom}{nearby}",
                    reach.describe()
                ),
                "start the backend, or point nginx at the address it listens on (ss -ltnp shows listeners)",
                most,
            );
        }
    }

    fn unix(&mut self, named: &NamedAddress, path: &str) {
        // The socket as the checked system opens it (its own /var/run -> /run link included).
        let on_disk = crate::system::map_under_root(self.ws.sysroot.as_deref(), Path::new(path));
        let meta = match std::fs::metadata(&on_disk) {
            Ok(m) => m,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let nearby = self
                    .inventory()
                    .nearby_unix(path)
                    .map(|e| format!("; {e}"))
                    .unwrap_or_default();
                self.push(
                    RuleId::GW301,
                    named,
                    format!("unix:{path} does not exist: 502 \"connect() to unix:{path} failed (2: No such file or directory)\"{nearby}"),
                    "start the backend that creates it, or use the socket path it listens on",
                );
                return;
            }
            Err(e) => {
                self.push(
                    RuleId::GW301,
                    named,
                    format!("unix:{path} cannot be checked: {e}"),
                    "run the probe as root to see every path",
                );
                return;
            }
        };
        if !meta.file_type().is_socket() {
            self.push(
                RuleId::GW301,
                named,
                format!("unix:{path} exists but is not a socket: 502 \"connect() to unix:{path} failed (111: Connection refused)\""),
                "point nginx at the socket the backend creates",
            );
            return;
        }
        self.permissions(named, path, &on_disk, &meta);
        if connect_unix(&on_disk, self.timeout) == Reach::Refused {
            self.push(
                RuleId::GW202,
                named,
                format!("unix:{path} is a socket nobody listens on (a stale file left by a stopped backend): 502 \"connect() to unix:{path} failed (111: Connection refused)\""),
                "start (or restart) the backend that owns the socket",
            );
        }
    }

    fn permissions(
        &mut self,
        named: &NamedAddress,
        path: &str,
        on_disk: &Path,
        meta: &std::fs::Metadata,
    ) {
        let user = self.worker.user.clone();
        let groups = self
            .accounts
            .process_groups(&self.worker.user, &self.worker.group);
        let name_of_uid = |uid: u32| {
            self.accounts
                .user_by_uid(uid)
                .map_or_else(|| uid.to_string(), |u| u.name.clone())
        };
        let name_of_gid = |gid: u32| {
            self.accounts
                .group_by_gid(gid)
                .map_or_else(|| gid.to_string(), |g| g.name.clone())
        };
        let membership_note = if groups.is_none() {
            format!(
                " (group membership not checked: {} not readable)",
                self.accounts.origin
            )
        } else {
            String::new()
        };
        // Every directory above the socket needs search (x) permission.
        let mut dirs: Vec<PathBuf> = on_disk.ancestors().skip(1).map(Path::to_path_buf).collect();
        dirs.reverse();
        for dir in dirs {
            let Ok(m) = std::fs::metadata(&dir) else {
                continue;
            };
            let (owner, group) = (name_of_uid(m.uid()), name_of_gid(m.gid()));
            let mode = m.mode() & 0o777;
            if access(&user, groups.as_ref(), &owner, &group, mode, 0o1) == Access::Denied {
                let shown = dir.display().to_string();
                self.push(
                    RuleId::GW302,
                    named,
                    format!(
                        "nginx workers run as {}; they cannot search directory {shown} ({owner}:{group} mode {mode:04o}) above unix:{path}{membership_note}: 502 \"connect() to unix:{path} failed (13: Permission denied)\"",
                        self.worker.describe()
                    ),
                    "give the worker user search (x) permission on every directory above the socket, or move the socket (e.g. to /run/php/)",
                );
                return;
            }
        }
        // The pool's ACL, when it sets one, is what the kernel checks besides the mode bits.
        let acl_allows = self.ws.php.pools().any(|p| {
            p.listen
                .as_ref()
                .is_some_and(|l| named.address.matches_listen(&l.value))
                && p.uses_acl()
                && [&p.listen_acl_users, &p.listen_acl_groups]
                    .iter()
                    .filter_map(|v| v.as_ref())
                    .flat_map(|v| v.value.split(','))
                    .any(|n| {
                        let n = n.trim();
                        n == user || groups.as_ref().is_some_and(|g| g.contains(n))
                    })
        });
        let (owner, group) = (name_of_uid(meta.uid()), name_of_gid(meta.gid()));
        let mode = meta.mode() & 0o777;
        if !acl_allows
            && access(&user, groups.as_ref(), &owner, &group, mode, 0o6) == Access::Denied
        {
            self.push(
                RuleId::GW302,
                named,
                format!(
                    "nginx workers run as {}; unix:{path} is {owner}:{group} mode {mode:04o}, which does not let them read and write it{membership_note}: 502 \"connect() to unix:{path} failed (13: Permission denied)\"",
                    self.worker.describe()
                ),
                "set the pool's listen.owner/listen.group to the nginx user (or listen.acl_users), or run nginx as a user the socket allows",
            );
        }
    }
}

/// The ports of the configuration's own `listen` directives (http and stream).
/// One listening socket of this machine (of this network namespace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listener {
    pub addr: Listening,
    /// The socket's inode, which /proc/PID/fd links name (`socket:[INODE]`).
    pub inode: u64,
    /// `comm` and pid of a process holding it, when /proc lets us see it.
    pub owner: Option<(String, u32)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listening {
    Tcp(SocketAddr),
    Unix(String),
}

impl Listener {
    fn describe(&self) -> String {
        let what = match &self.addr {
            Listening::Tcp(a) => a.to_string(),
            Listening::Unix(p) => format!("unix:{p}"),
        };
        match &self.owner {
            Some((comm, pid)) => format!("{what} ({comm}, pid {pid})"),
            None => what,
        }
    }
}

/// The listening sockets of this machine, like `ss -lntpx`: /proc/net/tcp, tcp6 and unix, with
/// owners from /proc/PID/fd where readable (all of them as root).
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub listeners: Vec<Listener>,
}

/// How many listeners a message names at most.
const NEARBY_SHOWN: usize = 3;

impl Inventory {
    /// Reads the inventory under `proc` (`/proc`); missing files give fewer listeners.
    pub fn read(proc: &Path) -> Inventory {
        let read =
            |name: &str| std::fs::read_to_string(proc.join("net").join(name)).unwrap_or_default();
        let mut listeners: Vec<Listener> = Vec::new();
        for (addr, inode) in parse_proc_net_tcp(&read("tcp"))
            .into_iter()
            .chain(parse_proc_net_tcp(&read("tcp6")))
        {
            listeners.push(Listener {
                addr: Listening::Tcp(addr),
                inode,
                owner: None,
            });
        }
        for (path, inode) in parse_proc_net_unix(&read("unix")) {
            listeners.push(Listener {
                addr: Listening::Unix(path),
                inode,
                owner: None,
            });
        }
        let owners = socket_owners(proc);
        for l in &mut listeners {
            l.owner = owners.get(&l.inode).cloned();
        }
        listeners.sort_by(|a, b| format!("{:?}", a.addr).cmp(&format!("{:?}", b.addr)));
        listeners.dedup_by(|a, b| a.addr == b.addr);
        Inventory { listeners }
    }

    /// What a refused loopback `target` should be compared with: the same port on another
    /// address (an app bound to ::1 only, or to one interface), else the nearest ports that
    /// accept loopback connections. `own` are the configuration's own listen ports (nginx
    /// itself), left out.
    pub fn nearby_tcp(&self, target: &SocketAddr, own: &BTreeSet<u16>) -> Option<String> {
        let tcp: Vec<(&Listener, SocketAddr)> = self
            .listeners
            .iter()
            .filter_map(|l| match l.addr {
                Listening::Tcp(a) => Some((l, a)),
                Listening::Unix(_) => None,
            })
            .collect();
        let same_port: Vec<String> = tcp
            .iter()
            .filter(|(_, a)| a.port() == target.port() && a.ip() != target.ip())
            .map(|(l, _)| l.describe())
            .collect();
        if !same_port.is_empty() {
            return Some(format!(
                "on this machine {} listens on that port, on another address: the application is bound there only (bind it to {} too, or point nginx at the address it uses)",
                same_port.join(" and "),
                target.ip()
            ));
        }
        // A listener reachable from loopback: bound to loopback or to every address.
        let reachable = |a: &SocketAddr| a.ip().is_loopback() || a.ip().is_unspecified();
        let near: Vec<(u16, &Listener)> = tcp
            .iter()
            .filter(|(_, a)| reachable(a) && !own.contains(&a.port()))
            .map(|(l, a)| (a.port().abs_diff(target.port()), *l))
            .collect();
        let shown = nearest_first(near);
        if shown.is_empty() {
            return Some("nothing else listens on this machine's loopback either (apart from nginx's own ports)".to_owned());
        }
        Some(format!(
            "what listens nearby on this machine: {} (nearest port first)",
            shown.join(", ")
        ))
    }

    /// For a missing unix socket: the listening sockets in the same directory or with a close
    /// name (`php8.2-fpm.sock` for a missing `php7.4-fpm.sock`).
    pub fn nearby_unix(&self, path: &str) -> Option<String> {
        let dir = Path::new(path).parent();
        let near: Vec<(usize, &Listener)> = self
            .listeners
            .iter()
            .filter_map(|l| match &l.addr {
                Listening::Unix(p) => {
                    let d = crate::address::edit_distance(path, p);
                    let same_dir = dir.is_some() && Path::new(p).parent() == dir;
                    (same_dir || d <= path.len() / 3).then_some((d, l))
                }
                Listening::Tcp(_) => None,
            })
            .collect();
        let shown = nearest_first(near);
        if shown.is_empty() {
            return None;
        }
        Some(format!(
            "listening unix sockets like it on this machine: {}",
            shown.join(", ")
        ))
    }
}

/// The [`NEARBY_SHOWN`] closest listeners (by `distance`, then name), described.
fn nearest_first<K: Ord + Copy>(mut near: Vec<(K, &Listener)>) -> Vec<String> {
    near.sort_by_key(|(d, l)| (*d, l.describe()));
    near.iter()
        .take(NEARBY_SHOWN)
        .map(|(_, l)| l.describe())
        .collect()
}

/// The LISTEN sockets (state 0A) of /proc/net/tcp or tcp6: (address, inode). Addresses are
/// the kernel's words printed in host byte order (`0100007F:0BB8` is 127.0.0.1:3000 on
/// little-endian machines); ports are plain hex.
pub fn parse_proc_net_tcp(text: &str) -> Vec<(SocketAddr, u64)> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(local), Some(state), Some(inode)) = (f.get(1), f.get(3), f.get(9)) else {
            continue;
        };
        if *state != "0A" {
            continue;
        }
        let Some((ip_hex, port_hex)) = local.split_once(':') else {
            continue;
        };
        let Ok(port) = u16::from_str_radix(port_hex, 16) else {
            continue;
        };
        let Ok(inode) = inode.parse::<u64>() else {
            continue;
        };
        let ip: std::net::IpAddr = match ip_hex.len() {
            8 => match u32::from_str_radix(ip_hex, 16) {
                Ok(w) => std::net::Ipv4Addr::from(w.to_ne_bytes()).into(),
                Err(_) => continue,
            },
            32 => {
                let mut bytes = [0u8; 16];
                let mut ok = true;
                for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                    match ip_hex
                        .get(i * 8..i * 8 + 8)
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                    {
                        Some(w) => chunk.copy_from_slice(&w.to_ne_bytes()),
                        None => ok = false,
                    }
                }
                if !ok {
                    continue;
                }
                let v6 = std::net::Ipv6Addr::from(bytes);
                // An IPv4 listener seen through an IPv6 socket is shown as IPv4.
                match v6.to_ipv4_mapped() {
                    Some(v4) => v4.into(),
                    None => v6.into(),
                }
            }
            _ => continue,
        };
        out.push((SocketAddr::new(ip, port), inode));
    }
    out
}

/// The listening sockets with a path of /proc/net/unix: (path, inode). A listening socket has
/// `__SO_ACCEPTCON` (0x10000) in its flags; abstract names (`@...`) are left out.
pub fn parse_proc_net_unix(text: &str) -> Vec<(String, u64)> {
    const SO_ACCEPTCON: u64 = 0x10000;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(flags), Some(inode), Some(path)) = (f.get(3), f.get(6), f.get(7)) else {
            continue;
        };
        let Ok(flags) = u64::from_str_radix(flags, 16) else {
            continue;
        };
        if flags & SO_ACCEPTCON == 0 || !path.starts_with('/') {
            continue;
        }
        if let Ok(inode) = inode.parse::<u64>() {
            out.push(((*path).to_owned(), inode));
        }
    }
    out
}

/// Socket inode -> (comm, pid) of a process holding it, from /proc/PID/fd links; processes
/// whose fds cannot be read (another user's, without root) are skipped.
fn socket_owners(proc: &Path) -> HashMap<u64, (String, u32)> {
    let mut owners = HashMap::new();
    let Ok(entries) = std::fs::read_dir(proc) else {
        return owners;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let mut comm: Option<String> = None;
        for fd in fds.flatten() {
            let Ok(link) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Some(inode) = link
                .to_str()
                .and_then(|l| l.strip_prefix("socket:["))
                .and_then(|l| l.strip_suffix(']'))
                .and_then(|l| l.parse::<u64>().ok())
            else {
                continue;
            };
            let name = comm.get_or_insert_with(|| {
                std::fs::read_to_string(entry.path().join("comm"))
                    .map(|c| c.trim().to_owned())
                    .unwrap_or_else(|_| "?".to_owned())
            });
            owners.entry(inode).or_insert_with(|| (name.clone(), pid));
        }
    }
    owners
}

/// The rule metadata probe findings belong to (documentation cross-check).
pub fn rules_used() -> Vec<&'static RuleMeta> {
    [RuleId::GW202, RuleId::GW301, RuleId::GW302]
        .into_iter()
        .map(|id| rules::rule(id).meta())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Captured from a Debian machine (little-endian): a listener on 127.0.0.1:3000, one on
    /// 0.0.0.0:80, an established connection, and ::1:8080 in tcp6.
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 41234 1 0000000000000000 100 0 0 10 0\n   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1504 1 0000000000000000 100 0 0 10 0\n   2: 0100007F:4755 0100007F:837A 06 00000000:00000000 03:00000CB1 00000000     0        0 0 3 0000000000000000\n";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 51234 1 0000000000000000 100 0 0 10 0\n   1: 0000000000000000FFFF00000100007F:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 51235 1 0000000000000000 100 0 0 10 0\n";
    const UNIX: &str = "Num       RefCount Protocol Flags    Type St Inode Path\n0000000000000000: 00000002 00000000 00010000 0001 01 23456 /run/php/php8.2-fpm.sock\n0000000000000000: 00000003 00000000 00000000 0001 03 23457 /run/php/php8.2-fpm.sock\n0000000000000000: 00000002 00000000 00010000 0001 01 23458 @/tmp/.X11-unix/X0\n0000000000000000: 00000002 00000000 00010000 0001 01 23459 /run/systemd/notify\n";

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_proc_net() -> Result<(), std::net::AddrParseError> {
        let tcp = parse_proc_net_tcp(TCP);
        assert_eq!(
            tcp,
            vec![
                ("127.0.0.1:3000".parse()?, 41234),
                ("0.0.0.0:80".parse()?, 1504)
            ]
        );
        let tcp6 = parse_proc_net_tcp(TCP6);
        assert_eq!(
            tcp6,
            vec![
                ("[::1]:8080".parse()?, 51234),
                ("127.0.0.1:8081".parse()?, 51235)
            ]
        );
        assert_eq!(
            parse_proc_net_unix(UNIX),
            vec![
                ("/run/php/php8.2-fpm.sock".to_owned(), 23456),
                ("/run/systemd/notify".to_owned(), 23459)
            ]
        );
        Ok(())
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn names_what_listens_nearby() -> Result<(), std::net::AddrParseError> {
        let mut listeners: Vec<Listener> = parse_proc_net_tcp(TCP)
            .into_iter()
            .chain(parse_proc_net_tcp(TCP6))
            .map(|(a, inode)| Listener {
                addr: Listening::Tcp(a),
                inode,
                owner: (inode == 51234).then(|| ("node".to_owned(), 4242)),
            })
            .collect();
        listeners.extend(
            parse_proc_net_unix(UNIX)
                .into_iter()
                .map(|(p, inode)| Listener {
                    addr: Listening::Unix(p),
                    inode,
                    owner: Some(("php-fpm8.2".to_owned(), 900)),
                }),
        );
        let inv = Inventory { listeners };
        let own: BTreeSet<u16> = [80].into_iter().collect();
        // 127.0.0.1:8080 refused, the app listens on ::1 only.
        let same = inv
            .nearby_tcp(&"127.0.0.1:8080".parse()?, &own)
            .unwrap_or_default();
        assert!(
            same.contains("[::1]:8080 (node, pid 4242) listens on that port, on another address"),
            "{same}"
        );
        // 127.0.0.1:3001 refused: 3000 is nearest; nginx's own port 80 is not named.
        let near = inv
            .nearby_tcp(&"127.0.0.1:3001".parse()?, &own)
            .unwrap_or_default();
        assert!(
            near.contains("127.0.0.1:3000, [::1]:8080 (node, pid 4242), 127.0.0.1:8081"),
            "{near}"
        );
        assert!(!near.contains(":80 "), "{near}");
        let php = inv
            .nearby_unix("/run/php/php7.4-fpm.sock")
            .unwrap_or_default();
        assert!(
            php.contains("unix:/run/php/php8.2-fpm.sock (php-fpm8.2, pid 900)"),
            "{php}"
        );
        assert!(!php.contains("notify"), "{php}");
        Ok(())
    }

    #[test]
    fn reads_this_machines_listeners() -> std::io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let inv = Inventory::read(Path::new("/proc"));
        let me = inv
            .listeners
            .iter()
            .find(|l| l.addr == Listening::Tcp(addr))
            .map(|l| l.owner.clone());
        // Our own fds are always readable: the owner is this process.
        assert_eq!(me.flatten().map(|(_, pid)| pid), Some(std::process::id()));
        Ok(())
    }

    #[test]
    fn tcp_connect_outcomes() -> std::io::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let open = listener.local_addr()?;
        assert_eq!(connect_tcp(open, CONNECT_TIMEOUT), Reach::Ok);
        drop(listener);
        assert_eq!(connect_tcp(open, CONNECT_TIMEOUT), Reach::Refused);
        Ok(())
    }

    #[test]
    fn unix_connect_outcomes() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("s.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path)?;
        assert_eq!(connect_unix(&path, CONNECT_TIMEOUT), Reach::Ok);
        drop(listener);
        // The file stays behind: a stale socket.
        assert_eq!(connect_unix(&path, CONNECT_TIMEOUT), Reach::Refused);
        assert_eq!(rules_used().len(), 3);
        Ok(())
    }
}
