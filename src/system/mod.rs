//! What the running system (or a copy of it under `--sysroot`) says about users, groups and
//! host names: `/etc/passwd`, `/etc/group`, `/etc/hosts`. Only files are read (no NSS, no
//! LDAP): what is not in them is unknown, never guessed.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

mod nginx;
pub mod systemd;

pub use nginx::{
    detect_nginx_version, installed_build, installed_nginx, parse_nginx_build, parse_nginx_v,
    sysroot_build, DynamicModule, NginxBuild, NGINX_LOCATIONS,
};
pub use systemd::{Unit, UnitSetting};

use crate::config::{NodeId, ResolvedConfig};

/// `path` under `root` (`/etc/passwd` -> `ROOT/etc/passwd`), or as is without a root.
pub fn under_root(root: Option<&Path>, path: &str) -> PathBuf {
    match root {
        Some(root) => root.join(path.trim_start_matches('/')),
        None => PathBuf::from(path),
    }
}

/// The file on this machine that an absolute `path` of the system under `root` opens:
/// `/etc/php` with root `/tmp/sys` is `/tmp/sys/etc/php`, symlinks resolved inside the root as
/// the kernel would in a chroot there ([`Sysroot::resolve`](crate::config::Sysroot::resolve)).
pub(crate) fn map_under_root(root: Option<&Path>, path: &Path) -> PathBuf {
    match root {
        Some(root) if path.is_absolute() => {
            let sysroot = crate::config::Sysroot::new(root);
            sysroot
                .resolve(path)
                .unwrap_or_else(|_| sysroot.lexical(path))
        }
        _ => path.to_path_buf(),
    }
}

/// The user and group nginx workers run as, and where that comes from: nginx.service's
/// `User=` when it starts nginx unprivileged (nginx then ignores the `user` directive, with
/// "the "user" directive makes sense only if the master process runs with super-user
/// privileges, ignored", and its workers keep the master's user); else the `user` directive
/// (group defaults to the user's name, as `ngx_set_user` does); else the build default
/// ([`DefaultWorker`]).
pub struct WorkerUser {
    pub user: String,
    pub group: String,
    /// The `user` directive, when there is one.
    pub directive: Option<NodeId>,
    /// nginx.service's `User=` when it is not root, and its `Group=` when set.
    pub unit: Option<(UnitSetting, Option<UnitSetting>)>,
    /// Without a `user` directive: where the default account comes from, in words.
    pub default_from: Option<String>,
    /// False when that default is nginx's compiled-in one, assumed for a build not known.
    pub default_known: bool,
}

/// The workers' account when nginx.conf has no `user` directive, and where that comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefaultWorker {
    pub user: String,
    pub group: String,
    pub from: String,
    /// Given (an option) or read from the target's build; false when assumed.
    pub known: bool,
}

impl DefaultWorker {
    /// GW302's `default-user`/`default-group` options when set; else the target build's
    /// `--user`/`--group` (`build`: which binary, and its facts); else nginx's compiled-in
    /// default, nobody (auto/unix: `NGX_USER=${NGX_USER:-nobody}`), whose group the build took
    /// from its machine's /etc/group: nobody when that has a nobody group, else nogroup when it
    /// has one (Debian's 1.22.1 is built so: `strings /usr/sbin/nginx` shows nobody and
    /// nogroup); the target's accounts stand in for the build machine's.
    pub fn new(
        option_user: Option<String>,
        option_group: Option<String>,
        build: Option<(&str, &NginxBuild)>,
        accounts: &Accounts,
    ) -> Self {
        if let Some(user) = option_user {
            let group = option_group.unwrap_or_else(|| user.clone());
            return DefaultWorker {
                user,
                group,
                from: "option default-user".to_owned(),
                known: true,
            };
        }
        let mut default = Self::of_build(build, accounts);
        if let Some(group) = option_group {
            default.group = group;
        }
        default
    }

    fn of_build(build: Option<(&str, &NginxBuild)>, accounts: &Accounts) -> Self {
        let compiled_group = |user: &str| {
            if user != "nobody" {
                return user.to_owned();
            }
            if accounts.group("nobody").is_none() && accounts.group("nogroup").is_some() {
                "nogroup".to_owned()
            } else {
                "nobody".to_owned()
            }
        };
        match build {
            Some((binary, b)) => {
                let user = b.user.clone().unwrap_or_else(|| "nobody".to_owned());
                let group = b.group.clone().unwrap_or_else(|| compiled_group(&user));
                let how = match &b.user {
                    Some(u) => format!("configured with --user={u}"),
                    None => "configured without --user: nginx's compiled-in nobody".to_owned(),
                };
                DefaultWorker {
                    user,
                    group,
                    from: format!("the build default of {binary}, {how}"),
                    known: true,
                }
            }
            None => DefaultWorker {
                group: compiled_group("nobody"),
                user: "nobody".to_owned(),
                from: "nginx's compiled-in default, assumed; packages built with --user differ \
                       (nginx.org's and Alpine's use nginx): option default-user"
                    .to_owned(),
                known: false,
            },
        }
    }
}

impl WorkerUser {
    /// The `user` directive's account, else `default`'s.
    pub fn of(config: &ResolvedConfig<'_>, default: DefaultWorker) -> Self {
        if let Some(id) = config.main_directive("user") {
            let n = config.node(id);
            if let Some(user) = n.arg(0) {
                return WorkerUser {
                    user: user.to_owned(),
                    group: n.arg(1).unwrap_or(user).to_owned(),
                    directive: Some(id),
                    unit: None,
                    default_from: None,
                    default_known: true,
                };
            }
        }
        WorkerUser {
            user: default.user,
            group: default.group,
            directive: None,
            unit: None,
            default_from: Some(default.from),
            default_known: default.known,
        }
    }

    /// The worker user once nginx.service (`unit`, when read) is taken into account: a `User=`
    /// other than root runs the master, and so the workers, as that user; its group is
    /// `Group=`, else the user's primary group (systemd.exec(5)) from `accounts`, else a group
    /// named like the user. A `User=` with an unresolved specifier changes nothing.
    pub fn with_unit(mut self, unit: Option<&Unit>, accounts: &Accounts) -> Self {
        let Some(unit) = unit else { return self };
        let Some(user) = unit.user() else { return self };
        let Some(name) = user.value.as_deref() else {
            return self;
        };
        if name == "root" || name == "0" {
            return self;
        }
        let name = match name.parse::<u32>() {
            Ok(uid) => accounts
                .user_by_uid(uid)
                .map_or_else(|| name.to_owned(), |u| u.name.clone()),
            Err(_) => name.to_owned(),
        };
        let group_setting = unit.group().filter(|g| g.value.is_some()).cloned();
        let group = match group_setting.as_ref().and_then(|g| g.value.clone()) {
            Some(g) => g,
            None => accounts
                .user(&name)
                .and_then(|u| accounts.group_by_gid(u.gid))
                .map_or_else(|| name.clone(), |g| g.name.clone()),
        };
        self.user = name;
        self.group = group;
        self.unit = Some((user.clone(), group_setting));
        self
    }

    /// How a message says where the user came from.
    pub fn describe(&self) -> String {
        if let Some((user, _)) = &self.unit {
            return format!(
                "{}:{} (User= at {}: nginx starts unprivileged, so its workers run as that user{})",
                self.user,
                self.group,
                user.at(),
                if self.directive.is_some() {
                    " and the `user` directive is ignored"
                } else {
                    ""
                }
            );
        }
        match self.directive {
            Some(_) => format!("`user {} {}`", self.user, self.group),
            None => format!(
                "{}:{} (no `user` directive; {})",
                self.user,
                self.group,
                self.default_from.as_deref().unwrap_or("nginx's default")
            ),
        }
    }

    /// True when nothing in the configuration or units says who the workers are (no
    /// directive, no unit): the build's default decides.
    pub fn assumed(&self) -> bool {
        self.directive.is_none() && self.unit.is_none()
    }

    /// True when even the build's default is a guess (the target's binary is not known and no
    /// option says): nginx's compiled-in nobody.
    pub fn guessed(&self) -> bool {
        self.assumed() && !self.default_known
    }
}

/// The user and group the php-fpm master runs as: its unit's `User=`/`Group=`, else root (a
/// packaged php-fpm starts as root and switches each pool to its `user`). A socket without
/// `listen.owner`/`listen.group` is the master's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FpmMaster {
    pub user: String,
    pub group: Option<String>,
    /// The unit line that set it, when it is no default.
    pub set_at: Option<UnitSetting>,
}

impl Default for FpmMaster {
    fn default() -> Self {
        FpmMaster {
            user: "root".to_owned(),
            group: Some("root".to_owned()),
            set_at: None,
        }
    }
}

impl FpmMaster {
    /// The master of a php-fpm `unit` (root when it sets no `User=`).
    pub fn of(unit: Option<&Unit>, accounts: &Accounts) -> Self {
        let Some(unit) = unit else {
            return FpmMaster::default();
        };
        let Some(setting) = unit.user() else {
            return FpmMaster::default();
        };
        let Some(user) = setting.value.clone() else {
            return FpmMaster::default();
        };
        let group = unit.group().and_then(|g| g.value.clone()).or_else(|| {
            accounts
                .user(&user)
                .and_then(|u| accounts.group_by_gid(u.gid))
                .map(|g| g.name.clone())
        });
        FpmMaster {
            user,
            group,
            set_at: Some(setting.clone()),
        }
    }
}

/// True when /var/run of the checked system is /run: as its own /var/run link says under a
/// sysroot that has one (Debian, RHEL, Alpine: `/var/run -> /run` or `../run`), false when it is
/// a directory of its own, and as every current distribution has it when the root does not say
/// (a copy of /etc only, or no sysroot).
pub fn var_run_is_run(root: Option<&Path>) -> bool {
    let Some(root) = root else { return true };
    let sysroot = crate::config::Sysroot::new(root);
    let link = sysroot.lexical(Path::new("/var/run"));
    match std::fs::symlink_metadata(&link) {
        Ok(meta) if meta.file_type().is_symlink() => sysroot
            .resolve(Path::new("/var/run"))
            .ok()
            .and_then(|p| sysroot.inside(&p))
            .is_some_and(|p| p == Path::new("/run")),
        Ok(_) => false,
        Err(_) => true,
    }
}

/// The open-file limit (`LimitNOFILE=`) a systemd service starts with, as its unit file and
/// drop-ins say, else the manager's `DefaultLimitNOFILE=` (system.conf and system.conf.d), else
/// systemd's built-in default (soft 1024 since systemd 240).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitNofile {
    /// The unit file read, as a path on this machine.
    pub unit: PathBuf,
    /// The soft limit; `None` for `infinity`.
    pub soft: Option<u64>,
    /// The file whose line set it (the unit, a drop-in, system.conf); `None` for systemd's
    /// built-in default.
    pub set_in: Option<PathBuf>,
}

/// systemd's built-in soft `DefaultLimitNOFILE` (systemd 240 and later: 1024:524288).
pub const SYSTEMD_DEFAULT_NOFILE_SOFT: u64 = 1024;

/// [`UnitNofile`] of the service `name` (`nginx.service`) under `root` (this machine for
/// `None`); `None` when no unit file of that name is found (masked or unreadable units too).
pub fn unit_limit_nofile(root: Option<&Path>, name: &str) -> Option<UnitNofile> {
    let unit = Unit::read(root, name)?;
    // An empty assignment (`LimitNOFILE=`) resets to the manager's default: the unit then has
    // no setting.
    if let Some(s) = unit.setting("LimitNOFILE") {
        if let Some(soft) = s.value.as_deref().and_then(parse_nofile) {
            return Some(UnitNofile {
                unit: unit.path.clone(),
                soft,
                set_in: Some(s.file.clone()),
            });
        }
    }
    let open = |p: &str| map_under_root(root, Path::new(p));
    let mut default: Option<(Option<u64>, PathBuf)> = None;
    let mut manager = vec![open("/etc/systemd/system.conf")];
    let mut extra: Vec<PathBuf> = [
        "/etc/systemd/system.conf.d",
        "/run/systemd/system.conf.d",
        "/usr/lib/systemd/system.conf.d",
    ]
    .iter()
    .filter_map(|d| std::fs::read_dir(open(d)).ok())
    .flat_map(|l| l.flatten().map(|e| e.path()))
    .filter(|p| p.extension().is_some_and(|e| e == "conf"))
    .collect();
    extra.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    manager.extend(extra);
    for file in manager {
        if let Some(Some(v)) = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| last_assignment(&t, "DefaultLimitNOFILE"))
            .map(|v| parse_nofile(&v))
        {
            default = Some((v, file));
        }
    }
    Some(match default {
        Some((soft, file)) => UnitNofile {
            unit: unit.path,
            soft,
            set_in: Some(file),
        },
        None => UnitNofile {
            unit: unit.path,
            soft: Some(SYSTEMD_DEFAULT_NOFILE_SOFT),
            set_in: None,
        },
    })
}

/// The value of the last `KEY=value` line of a systemd manager config text (system.conf;
/// comments `#`/`;` skipped); `Some("")` for an empty assignment.
fn last_assignment(text: &str, key: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k.trim() == key {
            found = Some(v.trim().to_owned());
        }
    }
    found
}

/// The soft limit of a `LimitNOFILE=` value (`N`, `SOFT:HARD`, `infinity`): `Some(None)` for
/// infinity, `None` for an empty or unreadable value.
fn parse_nofile(value: &str) -> Option<Option<u64>> {
    let soft = value.split(':').next()?.trim();
    if soft.eq_ignore_ascii_case("infinity") {
        return Some(None);
    }
    soft.parse::<u64>().ok().map(Some)
}

/// One line of /etc/passwd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

/// One line of /etc/group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupEntry {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// The users and groups of one system; `None` lists when the file could not be read.
#[derive(Clone, Debug, Default)]
pub struct Accounts {
    pub passwd: Option<Vec<PasswdEntry>>,
    pub group: Option<Vec<GroupEntry>>,
    /// Where they were read from, for messages.
    pub origin: String,
}

impl Accounts {
    /// Reads `/etc/passwd` and `/etc/group` under `root` (the live system for `None`).
    pub fn read(root: Option<&Path>) -> Self {
        let passwd_path = under_root(root, "/etc/passwd");
        let group_path = under_root(root, "/etc/group");
        let passwd = std::fs::read_to_string(&passwd_path)
            .ok()
            .map(|t| parse_passwd(&t));
        let group = std::fs::read_to_string(&group_path)
            .ok()
            .map(|t| parse_group(&t));
        Accounts {
            passwd,
            group,
            origin: match root {
                Some(r) => format!("{0}/etc/passwd and {0}/etc/group", r.display()),
                None => "/etc/passwd and /etc/group".to_owned(),
            },
        }
    }

    pub fn known(&self) -> bool {
        self.passwd.is_some() && self.group.is_some()
    }

    pub fn user(&self, name: &str) -> Option<&PasswdEntry> {
        self.passwd.as_ref()?.iter().find(|u| u.name == name)
    }

    pub fn user_by_uid(&self, uid: u32) -> Option<&PasswdEntry> {
        self.passwd.as_ref()?.iter().find(|u| u.uid == uid)
    }

    pub fn group(&self, name: &str) -> Option<&GroupEntry> {
        self.group.as_ref()?.iter().find(|g| g.name == name)
    }

    pub fn group_by_gid(&self, gid: u32) -> Option<&GroupEntry> {
        self.group.as_ref()?.iter().find(|g| g.gid == gid)
    }

    /// The groups of a process started as `user` with primary group `group` the way nginx starts
    /// its workers: `setgid(group)` then `initgroups(user, group)`, i.e. `group` plus every
    /// group that lists `user` as a member. `None` when /etc/group is unknown.
    pub fn process_groups(&self, user: &str, group: &str) -> Option<BTreeSet<String>> {
        let groups = self.group.as_ref()?;
        let mut out = BTreeSet::new();
        out.insert(group.to_owned());
        for g in groups {
            if g.members.iter().any(|m| m == user) {
                out.insert(g.name.clone());
            }
        }
        Some(out)
    }
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(PasswdEntry {
                name: (*f.first()?).to_owned(),
                uid: f.get(2)?.parse().ok()?,
                gid: f.get(3)?.parse().ok()?,
            })
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some(GroupEntry {
                name: (*f.first()?).to_owned(),
                gid: f.get(2)?.parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The addresses /etc/hosts (under `root`) gives a name, in file order; `None` when the file
/// cannot be read.
pub fn hosts_addresses(root: Option<&Path>, name: &str) -> Option<Vec<IpAddr>> {
    let text = std::fs::read_to_string(under_root(root, "/etc/hosts")).ok()?;
    Some(parse_hosts(&text, name))
}

fn parse_hosts(text: &str, name: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(ip) = words.next().and_then(|w| w.parse::<IpAddr>().ok()) else {
            continue;
        };
        if words.any(|w| w.eq_ignore_ascii_case(name)) && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// Who may do what on a file, from its owner, group and permission bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Allowed,
    Denied,
    /// The answer depends on group membership that is not known.
    Unknown,
}

/// Whether a process running as `user` with groups `groups` (None = unknown) has all of
/// `want` (a 3-bit rwx mask, e.g. 0o6 for read+write) on a file owned by `owner`:`group` with
/// permission bits `mode`. Follows the kernel: the owner class wins, then group, then other;
/// root may do anything.
pub fn access(
    user: &str,
    groups: Option<&BTreeSet<String>>,
    owner: &str,
    group: &str,
    mode: u32,
    want: u32,
) -> Access {
    let ok = |bits: u32| bits & want == want;
    if user == "root" {
        return Access::Allowed;
    }
    if user == owner {
        return if ok(mode >> 6) {
            Access::Allowed
        } else {
            Access::Denied
        };
    }
    match groups {
        Some(g) if g.contains(group) => {
            if ok(mode >> 3) {
                Access::Allowed
            } else {
                Access::Denied
            }
        }
        Some(_) => {
            if ok(mode) {
                Access::Allowed
            } else {
                Access::Denied
            }
        }
        None => {
            if ok(mode >> 3) == ok(mode) {
                if ok(mode) {
                    Access::Allowed
                } else {
                    Access::Denied
                }
            } else {
                Access::Unknown
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_limit_nofile() {
        assert_eq!(parse_nofile("65535"), Some(Some(65535)));
        assert_eq!(parse_nofile("1024:524288"), Some(Some(1024)));
        assert_eq!(parse_nofile("infinity"), Some(None));
        assert_eq!(parse_nofile(""), None);
        let unit = "[Service]\n# LimitNOFILE=1\nLimitNOFILE=4096\nLimitNOFILE=8192:16384\n";
        assert_eq!(
            last_assignment(unit, "LimitNOFILE").as_deref(),
            Some("8192:16384")
        );
        assert_eq!(
            last_assignment("LimitNOFILE=\n", "LimitNOFILE").as_deref(),
            Some("")
        );
    }

    #[test]
    fn unit_limit_from_unit_dropin_and_defaults() -> std::io::Result<()> {
        let root = tempfile::tempdir()?;
        let r = root.path();
        std::fs::create_dir_all(r.join("lib/systemd/system"))?;
        std::fs::write(
            r.join("lib/systemd/system/nginx.service"),
            "[Service]\nType=forking\n",
        )?;
        // No LimitNOFILE anywhere: systemd's built-in soft default.
        let got = unit_limit_nofile(Some(r), "nginx.service");
        assert_eq!(
            got.as_ref().map(|u| (u.soft, u.set_in.is_none())),
            Some((Some(1024), true))
        );
        // The manager's default.
        std::fs::create_dir_all(r.join("etc/systemd/system/nginx.service.d"))?;
        std::fs::write(
            r.join("etc/systemd/system.conf"),
            "[Manager]\nDefaultLimitNOFILE=2048:4096\n",
        )?;
        let got = unit_limit_nofile(Some(r), "nginx.service");
        assert_eq!(got.map(|u| u.soft), Some(Some(2048)));
        // A drop-in wins.
        std::fs::write(
            r.join("etc/systemd/system/nginx.service.d/limits.conf"),
            "[Service]\nLimitNOFILE=65535\n",
        )?;
        let got = unit_limit_nofile(Some(r), "nginx.service");
        assert_eq!(got.as_ref().map(|u| u.soft), Some(Some(65535)));
        assert!(got
            .and_then(|u| u.set_in)
            .is_some_and(|p| p.ends_with("limits.conf")));
        assert_eq!(unit_limit_nofile(Some(r), "php8.2-fpm.service"), None);
        Ok(())
    }

    #[test]
    fn reads_files() {
        let p = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\nbad\n",
        );
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].uid, 33);
        let g = parse_group("www-data:x:33:\nphp:x:1001:nobody, www-data\n");
        assert_eq!(g[1].members, ["nobody", "www-data"]);
        let acc = Accounts {
            passwd: Some(p),
            group: Some(g),
            origin: String::new(),
        };
        let groups = acc.process_groups("nobody", "nogroup");
        assert_eq!(
            groups.map(|g| g.into_iter().collect::<Vec<_>>()),
            Some(vec!["nogroup".to_owned(), "php".to_owned()])
        );
        let h = parse_hosts(
            "127.0.0.1 localhost\n::1 localhost ip6-localhost # v6\n# 10.0.0.1 localhost\n",
            "localhost",
        );
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn access_classes() {
        let g: BTreeSet<String> = ["nogroup".to_owned()].into();
        let wd: BTreeSet<String> = ["www-data".to_owned()].into();
        assert_eq!(
            access("nobody", Some(&g), "www-data", "www-data", 0o660, 0o6),
            Access::Denied
        );
        assert_eq!(
            access("nobody", Some(&wd), "www-data", "www-data", 0o660, 0o6),
            Access::Allowed
        );
        assert_eq!(
            access("www-data", None, "www-data", "www-data", 0o600, 0o6),
            Access::Allowed
        );
        assert_eq!(
            access("nobody", None, "www-data", "www-data", 0o660, 0o6),
            Access::Unknown
        );
        assert_eq!(
            access("nobody", None, "www-data", "www-data", 0o600, 0o6),
            Access::Denied
        );
        assert_eq!(
            access("nobody", None, "www-data", "www-data", 0o666, 0o6),
            Access::Allowed
        );
        assert_eq!(access("root", None, "x", "x", 0o000, 0o6), Access::Allowed);
    }
}
