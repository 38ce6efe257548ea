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
        worker: worker_user(config, settings),
        // The live system's accounts (or the sysroot's, for a container root filesystem).
        accounts: Accounts::read(ws.sysroot.as_deref()),
        timeout,
        tcp_cache: HashMap::new(),
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
            .args
            .first()
            .map_or(node.directive.span, |w| w.span);
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
            .with_help(help),
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
            self.push_at_most(
                RuleId::GW202,
                named,
                format!(
                    "connect() to {addr} failed {}{via}{backup}: nothing accepts connections there right now: {symptom}",
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
                self.push(
                    RuleId::GW301,
                    named,
                    format!("unix:{path} does not exist: 502 \"connect() to unix:{path} failed (2: No such file or directory)\""),
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
