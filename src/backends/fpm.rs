//! php-fpm configuration: `php-fpm.conf`, pool files and their `include=` lines.
//!
//! php-fpm reads its files line by line, handing each line to PHP's ini parser
//! (`fpm_conf_load_ini_file`, sapi/fpm/fpm/fpm_conf.c), so the syntax is [`super::ini`]'s with
//! [`Dialect::Fpm`]. What this module adds is php-fpm's meaning, taken from the same file:
//!
//! - `[global]` (any case) switches to global options; any other `[name]` starts a pool or, when a
//!   pool of that name exists (compared without case), continues it.
//! - `include=pattern` is expanded with glob(3) and each match is read *at that point*, in sorted
//!   order; the section in force afterwards is whatever the included files left (php-fpm keeps one
//!   `current_wp`). A relative pattern is relative to the php-fpm prefix (`-p`, else the compiled
//!   prefix: `/usr` on Debian, `/usr/local` in the Docker php images), *not* to the including file
//!   (`fpm_evaluate_full_path`). Nothing matching is only a warning there. More than 5 nested
//!   files is fatal ("failed to include more than 5 files recursively").
//! - A value's `${NAME}` is NAME from php-fpm's environment (the ini scanner's
//!   `zend_ini_get_var` falls back to getenv): unknown here, so a value written so that must be
//!   a number, mode, address or flag is not judged and stays unset.
//! - `$pool` in a string value or a `php_value[...]`-style value is replaced by the pool name
//!   (`fpm_conf_expand_pool_name`); in `[global]` it is fatal.
//! - A later scalar line overrides an earlier one; `php_value[...]` lines are kept in a list that
//!   is *prepended* to and applied from its head (`fpm_conf_set_array`, `fpm_php_apply_defines`),
//!   so for one name the **first** line in the file wins; admin values are applied after user ones
//!   and win over them. (Checked against php-fpm 8.2 on Debian: with `php_value[max_execution_time]`
//!   set to 11 and then 22, a script's `ini_get()` returns 11; `php-fpm -tt` lists 22 first.)
//! - An unknown key is fatal ("unknown entry"); so is an array key other than `env`,
//!   `php_value`, `php_admin_value`, `php_flag`, `php_admin_flag`, `access.suppress_path`.
//!
//! Every value this module keeps is [`Located`], so rules can point at the line to change.

use std::path::{Component, Path, PathBuf};

use super::ini::{parse_ini, Dialect, IniEntry, IniItem};
use super::listen::Listen;
use super::{BackendError, Located, Problem};
use crate::system::map_under_root;

/// php-fpm refuses to nest more files than this (`ini_recursion++ > 4` in fpm_conf.c).
pub const MAX_INCLUDE_DEPTH: usize = 5;

/// `listen.mode` when unset: "Mode is set to 0660" (www.conf; fpm_unix.c since the fix for PHP
/// bug #67060 / CVE-2014-0185, before which it was 0666).
pub const DEFAULT_LISTEN_MODE: u32 = 0o660;

/// Options that decide how paths in the config map to files on this machine.
#[derive(Clone, Debug, Default)]
pub struct FpmOptions {
    /// Prefixed to every absolute path the config names (`include=/etc/...`), to read a copy of a
    /// system under another directory (tests, containers' filesystems, backups).
    pub root: Option<PathBuf>,
    /// php-fpm's prefix as the running system sees it (`-p`, else the compiled-in one); relative
    /// `include=` patterns and unix socket paths are resolved against it. When None it is
    /// inferred: `X/etc/php-fpm.conf` has prefix `X` (that is where php-fpm looks for its config
    /// under a prefix), anything else gets `/usr`, the Debian/RHEL packages' prefix.
    pub prefix: Option<PathBuf>,
    /// A copy of a PHP configuration directory (`--php DIR` without a sysroot): an absolute
    /// `include=` pattern outside it (`/etc/php/8.2/fpm/pool.d/*.conf`) is looked for under it
    /// first, as the nginx loader re-roots the absolute includes of a copied tree
    /// (`DIR/php/8.2/fpm/pool.d/*.conf`, ..., `DIR/pool.d/*.conf`: the longest suffix that
    /// matches wins).
    pub copy_root: Option<PathBuf>,
}

/// Global options php-fpm's lint rules care about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FpmGlobal {
    /// Every `include=` line, as written, in reading order (global or inside a pool: php-fpm
    /// accepts it anywhere).
    pub includes: Vec<Located<String>>,
    pub error_log: Option<Located<String>>,
    pub pid: Option<Located<String>>,
}

/// `pm` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessManager {
    Static,
    Dynamic,
    Ondemand,
}

/// Which of the four pool-level ways to set a PHP ini value a line used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhpDefineKind {
    /// `php_value[name]`: can be changed by the script with ini_set() / set_time_limit().
    Value,
    /// `php_admin_value[name]`: fixed for the pool, wins over php_value.
    AdminValue,
    /// `php_flag[name]`: a boolean php_value.
    Flag,
    /// `php_admin_flag[name]`: a boolean php_admin_value.
    AdminFlag,
}

impl PhpDefineKind {
    pub fn is_admin(self) -> bool {
        matches!(self, PhpDefineKind::AdminValue | PhpDefineKind::AdminFlag)
    }

    pub fn directive(self) -> &'static str {
        match self {
            PhpDefineKind::Value => "php_value",
            PhpDefineKind::AdminValue => "php_admin_value",
            PhpDefineKind::Flag => "php_flag",
            PhpDefineKind::AdminFlag => "php_admin_flag",
        }
    }
}

/// One `php_value[name] = value` (or admin/flag) line; `value` has `$pool` expanded and flags
/// normalised to "1"/"0" as php-fpm does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhpDefine {
    pub kind: PhpDefineKind,
    pub name: String,
    pub value: Located<String>,
}

/// One pool (`[www]`), possibly spread over several sections with the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pool {
    /// Name as first written.
    pub name: String,
    /// The first `[name]` header: file, line and span of the whole header.
    pub header: Located<String>,
    pub prefix: Option<Located<String>>,
    pub user: Option<Located<String>>,
    pub group: Option<Located<String>>,
    /// The address, with a relative unix path resolved against the pool's prefix.
    pub listen: Option<Located<Listen>>,
    pub listen_owner: Option<Located<String>>,
    pub listen_group: Option<Located<String>>,
    /// `listen.mode` as a number (written in octal).
    pub listen_mode: Option<Located<u32>>,
    pub listen_acl_users: Option<Located<String>>,
    pub listen_acl_groups: Option<Located<String>>,
    pub pm: Option<Located<ProcessManager>>,
    pub pm_max_children: Option<Located<u32>>,
    /// In seconds; 0 means off.
    pub request_terminate_timeout: Option<Located<u64>>,
    /// `pm.status_path`: the URI (the request's SCRIPT_NAME) php-fpm answers with its status
    /// page itself, running no script (fpm_status.c, before the script is opened in fpm_main.c).
    pub pm_status_path: Option<Located<String>>,
    /// `ping.path`: likewise answered by php-fpm itself (with `ping.response`, default "pong").
    pub ping_path: Option<Located<String>>,
    /// Every php_value/php_admin_value/php_flag/php_admin_flag line, in file order.
    pub php_defines: Vec<PhpDefine>,
}

impl Pool {
    fn new(name: &str, header: Located<String>) -> Self {
        Pool {
            name: name.to_string(),
            header,
            prefix: None,
            user: None,
            group: None,
            listen: None,
            listen_owner: None,
            listen_group: None,
            listen_mode: None,
            listen_acl_users: None,
            listen_acl_groups: None,
            pm: None,
            pm_max_children: None,
            request_terminate_timeout: None,
            pm_status_path: None,
            ping_path: None,
            php_defines: Vec::new(),
        }
    }

    /// The permission bits the socket gets: `listen.mode`, else 0660.
    pub fn socket_mode(&self) -> u32 {
        self.listen_mode
            .as_ref()
            .map_or(DEFAULT_LISTEN_MODE, |m| m.value)
    }

    /// True when POSIX ACLs are configured: php-fpm then ignores listen.owner and listen.group
    /// ("When set, listen.owner and listen.group are ignored", www.conf) on builds with ACL
    /// support, which Debian's are.
    pub fn uses_acl(&self) -> bool {
        let set = |v: &Option<Located<String>>| v.as_ref().is_some_and(|v| !v.value.is_empty());
        set(&self.listen_acl_users) || set(&self.listen_acl_groups)
    }

    /// Who owns the unix socket.
    ///
    /// Not the pool's `user`: when listen.owner is unset php-fpm does not chown the socket, so it
    /// belongs to the user running the master process, normally root ("Owner is set to the
    /// master process running user", www.conf; `socket_uid = -1` in fpm_unix.c).
    pub fn socket_owner(&self) -> SocketOwner<'_> {
        match &self.listen_owner {
            Some(owner) if !owner.value.is_empty() => SocketOwner::Configured(owner),
            _ => SocketOwner::MasterProcess,
        }
    }

    /// Which group owns the unix socket: listen.group, else the primary group of a listen.owner
    /// given by name, else the master process's group ("If the group is not set, the owner's
    /// group is used", www.conf; fpm_unix.c takes `pw_gid` only for a name, not a numeric uid).
    pub fn socket_group(&self) -> SocketGroup<'_> {
        if let Some(group) = self.listen_group.as_ref().filter(|g| !g.value.is_empty()) {
            return SocketGroup::Configured(group);
        }
        match self.socket_owner() {
            SocketOwner::Configured(owner) if !owner.value.bytes().all(|b| b.is_ascii_digit()) => {
                SocketGroup::PrimaryGroupOf(owner)
            }
            _ => SocketGroup::MasterProcess,
        }
    }

    /// The lines that set one PHP ini value for this pool, the winning one first: admin lines
    /// before user lines, and within each the first line of the file (see the module docs).
    pub fn php_define(&self, name: &str) -> Option<&PhpDefine> {
        let first = |admin: bool| {
            self.php_defines
                .iter()
                .find(|d| d.kind.is_admin() == admin && d.name == name)
        };
        first(true).or_else(|| first(false))
    }
}

/// See [`Pool::socket_owner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketOwner<'a> {
    Configured(&'a Located<String>),
    /// The user that started php-fpm (root for the system service).
    MasterProcess,
}

/// See [`Pool::socket_group`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketGroup<'a> {
    Configured(&'a Located<String>),
    /// listen.owner's primary group (resolved on the running system).
    PrimaryGroupOf(&'a Located<String>),
    /// The group of the user that started php-fpm.
    MasterProcess,
}

/// Everything read starting from one file (a php-fpm.conf or a stand-alone pool file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FpmConfig {
    /// The file reading started at.
    pub entry: PathBuf,
    /// Every file read, in reading order (the entry first).
    pub files: Vec<PathBuf>,
    pub global: FpmGlobal,
    pub pools: Vec<Pool>,
    pub problems: Vec<Problem>,
}

/// Reads a php-fpm config file and everything it includes. Only the entry file's I/O fails;
/// problems with included files are [`FpmConfig::problems`].
pub fn read_fpm_config(path: &Path, options: &FpmOptions) -> Result<FpmConfig, BackendError> {
    let src = crate::config::read_config_file(path).map_err(|source| BackendError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(parse_fpm_config(path, &src, options))
}

/// Like [`read_fpm_config`] with the entry file's bytes given; includes are still read from disk.
pub fn parse_fpm_config(path: &Path, src: &[u8], options: &FpmOptions) -> FpmConfig {
    let mut loader = Loader {
        prefix: effective_prefix(path, options),
        options,
        config: FpmConfig {
            entry: path.to_path_buf(),
            ..FpmConfig::default()
        },
        current: None,
        unknown_section: !path.ends_with("php-fpm.conf"),
        stack: Vec::new(),
    };
    loader.load(path, src);
    loader.finish()
}

/// A file named php-fpm.conf is read as php-fpm's main file unless it has no `[section]`
/// header and no global-only entry (`include`, `error_log`, `pid`, ...): such a file is a
/// pool fragment copied under that name (a project's `php/php-fpm.conf` holding only
/// `pm.max_children = 10`, which its image installs into php-fpm.d/), whose lines land in the
/// section open where php-fpm includes it.
fn reads_as_main(items: &[IniItem]) -> bool {
    items.iter().any(|item| match item {
        IniItem::Section(_) => true,
        IniItem::Entry(e) => {
            let key = e.key.to_ascii_lowercase();
            e.offset.is_none()
                && (key == "include"
                    || (GLOBAL_KEYS.contains(&key.as_str()) && !POOL_KEYS.contains(&key.as_str())))
        }
    })
}

fn effective_prefix(entry: &Path, options: &FpmOptions) -> PathBuf {
    if let Some(prefix) = &options.prefix {
        return map_under_root(options.root.as_deref(), prefix);
    }
    // php-fpm's default config path under a prefix is `<prefix>/etc/php-fpm.conf`.
    let etc = entry.parent().filter(|_| entry.ends_with("php-fpm.conf"));
    match etc
        .filter(|etc| etc.ends_with("etc"))
        .and_then(Path::parent)
    {
        Some(prefix) => prefix.to_path_buf(),
        None => map_under_root(options.root.as_deref(), Path::new("/usr")),
    }
}

struct Loader<'o> {
    options: &'o FpmOptions,
    prefix: PathBuf,
    config: FpmConfig,
    /// Index of the pool whose section is in force; None in `[global]` (php-fpm's `current_wp`).
    current: Option<usize>,
    /// The lines read so far are in a section this reading does not know: a pool file (no
    /// php-fpm.conf) before its first `[section]` header is a file php-fpm reads through an
    /// `include=` (or a pool.d glob after another file), so its lines land in the section open
    /// there: `env[...]` or `php_admin_value[...]` lines there cannot be judged.
    unknown_section: bool,
    /// Files being read, outermost first.
    stack: Vec<PathBuf>,
}

const GLOBAL_KEYS: &[&str] = &[
    "pid",
    "error_log",
    "syslog.ident",
    "syslog.facility",
    "log_buffering",
    "log_level",
    "log_limit",
    "emergency_restart_threshold",
    "emergency_restart_interval",
    "process_control_timeout",
    "process.max",
    "process.priority",
    "daemonize",
    "rlimit_files",
    "rlimit_core",
    "events.mechanism",
    "systemd_interval",
];

const POOL_KEYS: &[&str] = &[
    "prefix",
    "user",
    "group",
    "listen",
    "listen.backlog",
    "listen.acl_users",
    "listen.acl_groups",
    "listen.owner",
    "listen.group",
    "listen.mode",
    "listen.allowed_clients",
    "listen.setfib",
    "process.priority",
    "process.dumpable",
    "pm",
    "pm.max_children",
    "pm.start_servers",
    "pm.min_spare_servers",
    "pm.max_spare_servers",
    "pm.max_spawn_rate",
    "pm.process_idle_timeout",
    "pm.max_requests",
    "pm.status_path",
    "pm.status_listen",
    "ping.path",
    "ping.response",
    "access.log",
    "access.format",
    "slowlog",
    "request_slowlog_timeout",
    "request_slowlog_trace_depth",
    "request_terminate_timeout",
    "request_terminate_timeout_track_finished",
    "rlimit_files",
    "rlimit_core",
    "chroot",
    "chdir",
    "catch_workers_output",
    "decorate_workers_output",
    "clear_env",
    "security.limit_extensions",
    "apparmor_hat",
];

fn located<T>(file: &Path, entry: &IniEntry, value: T) -> Located<T> {
    Located {
        value,
        file: file.to_path_buf(),
        line: entry.line,
        span: entry.span,
    }
}

impl Loader<'_> {
    fn problem(&mut self, file: &Path, line: usize, message: impl Into<String>) {
        self.config.problems.push(Problem {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        });
    }

    fn load(&mut self, path: &Path, src: &[u8]) {
        self.config.files.push(path.to_path_buf());
        self.stack.push(path.to_path_buf());
        let ini = parse_ini(path, src, Dialect::Fpm);
        if self.stack.len() == 1 && !self.unknown_section && !reads_as_main(&ini.items) {
            // The entry file is named php-fpm.conf but reads as a pool fragment.
            self.unknown_section = true;
        }
        self.config.problems.extend(ini.problems);
        for item in ini.items {
            match item {
                IniItem::Section(section) => self.section(path, section),
                IniItem::Entry(entry) => self.entry(path, &entry),
            }
        }
        self.stack.pop();
    }

    fn section(&mut self, path: &Path, section: super::ini::IniSection) {
        self.unknown_section = false;
        if section.name.eq_ignore_ascii_case("global") {
            self.current = None;
            return;
        }
        let existing = self
            .config
            .pools
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(&section.name));
        self.current = Some(existing.unwrap_or_else(|| {
            let header = Located {
                value: section.name.clone(),
                file: path.to_path_buf(),
                line: section.line,
                span: section.span,
            };
            self.config.pools.push(Pool::new(&section.name, header));
            self.config.pools.len() - 1
        }));
    }

    /// `$pool` expansion; outside a pool php-fpm refuses the line.
    fn expand(&mut self, path: &Path, entry: &IniEntry) -> Option<String> {
        if !entry.value.contains("$pool") {
            return Some(entry.value.clone());
        }
        match self.current {
            Some(i) => Some(entry.value.replace("$pool", &self.config.pools[i].name)),
            None if self.unknown_section => None,
            None => {
                self.problem(
                    path,
                    entry.line,
                    "'$pool' outside a pool section: php-fpm refuses to start (\"Can't use '$pool' when the pool is not defined\")",
                );
                None
            }
        }
    }

    fn entry(&mut self, path: &Path, entry: &IniEntry) {
        // php-fpm compares `include` exactly, every other option name without case.
        if entry.key == "include" && entry.offset.is_none() {
            self.include(path, entry);
            return;
        }
        if let Some(offset) = &entry.offset {
            self.array_entry(path, entry, offset);
            return;
        }
        let key = entry.key.to_ascii_lowercase();
        let Some(value) = self.expand(path, entry) else {
            return;
        };
        let Some(pool_index) = self.current else {
            if self.unknown_section {
                if !GLOBAL_KEYS.contains(&key.as_str()) && !POOL_KEYS.contains(&key.as_str()) {
                    self.unknown(path, entry, "php-fpm's configuration");
                }
                return;
            }
            match key.as_str() {
                "error_log" => self.config.global.error_log = Some(located(path, entry, value)),
                "pid" => self.config.global.pid = Some(located(path, entry, value)),
                k if GLOBAL_KEYS.contains(&k) => {}
                _ => self.unknown(path, entry, "[global]"),
            }
            return;
        };
        // `${VAR}`: php-fpm's ini scanner puts the variable from its environment there
        // (zend_ini_get_var falls back to getenv), unknown here: a value that must parse as a
        // number, mode or address is not judged and stays unknown.
        if from_environment(&value)
            && matches!(
                key.as_str(),
                "listen" | "listen.mode" | "pm" | "pm.max_children" | "request_terminate_timeout"
            )
        {
            return;
        }
        let here = |v: String| located(path, entry, v);
        let pool = &mut self.config.pools[pool_index];
        let mut problem = None;
        match key.as_str() {
            "prefix" => pool.prefix = Some(here(value)),
            "user" => pool.user = Some(here(value)),
            "group" => pool.group = Some(here(value)),
            "listen.owner" => pool.listen_owner = Some(here(value)),
            "listen.group" => pool.listen_group = Some(here(value)),
            "listen.acl_users" => pool.listen_acl_users = Some(here(value)),
            "listen.acl_groups" => pool.listen_acl_groups = Some(here(value)),
            "listen" => match Listen::parse(&value) {
                Ok(listen) => pool.listen = Some(located(path, entry, listen)),
                Err(e) => {
                    pool.listen = None;
                    problem = Some(e.to_string());
                }
            },
            "listen.mode" => match parse_octal_mode(&value) {
                Some(mode) => pool.listen_mode = Some(located(path, entry, mode)),
                None => problem = Some(format!("listen.mode '{value}' is not an octal mode like 0660")),
            },
            "pm" => match value.to_ascii_lowercase().as_str() {
                "static" => pool.pm = Some(located(path, entry, ProcessManager::Static)),
                "dynamic" => pool.pm = Some(located(path, entry, ProcessManager::Dynamic)),
                "ondemand" => pool.pm = Some(located(path, entry, ProcessManager::Ondemand)),
                _ => problem = Some(format!("invalid process manager '{value}' (static, dynamic or ondemand): php-fpm refuses to start")),
            },
            "pm.max_children" => match value.trim().parse::<u32>() {
                Ok(n) => pool.pm_max_children = Some(located(path, entry, n)),
                Err(_) => problem = Some(format!("pm.max_children '{value}' is not a number")),
            },
            "request_terminate_timeout" => match parse_fpm_time(&value) {
                Ok(seconds) => pool.request_terminate_timeout = Some(located(path, entry, seconds)),
                Err(e) => problem = Some(format!("request_terminate_timeout: {e}")),
            },
            // php-fpm ignores an empty value (`if (... && *path)` in fpm_conf.c).
            "pm.status_path" => pool.pm_status_path = (!value.is_empty()).then(|| here(value)),
            "ping.path" => pool.ping_path = (!value.is_empty()).then(|| here(value)),
            k if POOL_KEYS.contains(&k) => {}
            _ => {
                let pool_name = format!("pool [{}]", pool.name);
                self.unknown(path, entry, &pool_name);
            }
        }
        if let Some(message) = problem {
            self.problem(path, entry.line, message);
        }
    }

    fn unknown(&mut self, path: &Path, entry: &IniEntry, place: &str) {
        self.problem(
            path,
            entry.line,
            format!(
                "unknown entry '{}' in {place}: php-fpm refuses to start",
                entry.key
            ),
        );
    }

    fn array_entry(&mut self, path: &Path, entry: &IniEntry, offset: &str) {
        let kind = match entry.key.as_str() {
            "php_value" => PhpDefineKind::Value,
            "php_admin_value" => PhpDefineKind::AdminValue,
            "php_flag" => PhpDefineKind::Flag,
            "php_admin_flag" => PhpDefineKind::AdminFlag,
            "env" | "access.suppress_path" => {
                if self.current.is_none() && !self.unknown_section {
                    self.problem(
                        path,
                        entry.line,
                        "arrays are not allowed in the global section: php-fpm refuses to start",
                    );
                }
                return;
            }
            other => {
                let message = format!("unknown directive '{other}[...]': php-fpm refuses to start");
                self.problem(path, entry.line, message);
                return;
            }
        };
        let Some(pool_index) = self.current else {
            if !self.unknown_section {
                self.problem(
                    path,
                    entry.line,
                    "arrays are not allowed in the global section: php-fpm refuses to start",
                );
            }
            return;
        };
        if offset.is_empty() {
            let message = format!(
                "you must provide a key for field '{}': php-fpm refuses to start",
                entry.key
            );
            self.problem(path, entry.line, message);
            return;
        }
        let value = match kind {
            // `${VAR}` from php-fpm's environment: unknown here, not judged.
            PhpDefineKind::Flag | PhpDefineKind::AdminFlag if from_environment(&entry.value) => {
                return;
            }
            PhpDefineKind::Flag | PhpDefineKind::AdminFlag => match entry.as_bool() {
                Some(b) => String::from(if b { "1" } else { "0" }),
                None => {
                    let message = format!(
                        "{}[{offset}] = '{}' is not a boolean: php-fpm refuses to start",
                        entry.key, entry.value
                    );
                    self.problem(path, entry.line, message);
                    return;
                }
            },
            PhpDefineKind::Value | PhpDefineKind::AdminValue => match self.expand(path, entry) {
                Some(v) => v,
                None => return,
            },
        };
        let duplicate = self.config.pools[pool_index]
            .php_defines
            .iter()
            .find(|d| d.name == offset && d.kind.is_admin() == kind.is_admin())
            .map(|earlier| {
                format!(
                    "{}[{offset}] is already set on line {} of {}: php-fpm keeps the first one and ignores this line",
                    kind.directive(),
                    earlier.value.line,
                    earlier.value.file.display()
                )
            });
        if let Some(message) = duplicate {
            self.problem(path, entry.line, message);
        }
        self.config.pools[pool_index].php_defines.push(PhpDefine {
            kind,
            name: offset.to_string(),
            value: located(path, entry, value),
        });
    }

    fn include(&mut self, path: &Path, entry: &IniEntry) {
        let pattern = entry.value.clone();
        self.config
            .global
            .includes
            .push(located(path, entry, pattern.clone()));
        if pattern.is_empty() {
            return;
        }
        let pattern_path = Path::new(&pattern);
        let mut matches = if pattern_path.is_absolute() {
            match (
                self.options.root.as_deref(),
                self.options.copy_root.as_deref(),
            ) {
                (Some(root), _) => glob_in_root(root, pattern_path),
                (None, Some(copy)) => {
                    rerooted_glob(copy, pattern_path).unwrap_or_else(|| expand_glob(pattern_path))
                }
                (None, None) => expand_glob(pattern_path),
            }
        } else {
            expand_glob(&self.prefix.join(pattern_path))
        };
        if matches.is_empty() && !pattern_path.is_absolute() {
            // A common mistake is to expect paths relative to the including file; say so instead
            // of pretending the pools do not exist.
            let beside = path
                .parent()
                .map(|dir| expand_glob(&dir.join(pattern_path)));
            if let Some(found) = beside.filter(|found| !found.is_empty()) {
                let message = format!(
                    "include '{pattern}' is relative: php-fpm resolves it against its prefix {} where nothing matches; read from beside this file instead",
                    self.prefix.display()
                );
                self.problem(path, entry.line, message);
                matches = found;
            }
        }
        if matches.is_empty() {
            let message = format!(
                "nothing matches the include pattern '{pattern}' (php-fpm warns and goes on)"
            );
            self.problem(path, entry.line, message);
        }
        for file in matches {
            if self.stack.contains(&file) {
                let message = format!("include cycle: {} includes itself", file.display());
                self.problem(path, entry.line, message);
                continue;
            }
            if self.stack.len() >= MAX_INCLUDE_DEPTH {
                let message = format!(
                    "{} would be the {}th nested file: php-fpm refuses more than {MAX_INCLUDE_DEPTH}",
                    file.display(),
                    self.stack.len() + 1
                );
                self.problem(path, entry.line, message);
                continue;
            }
            match crate::config::read_config_file(&file) {
                Ok(src) => self.load(&file, &src),
                Err(e) => {
                    let message = format!("cannot read included file {}: {e}", file.display());
                    self.problem(path, entry.line, message);
                }
            }
        }
    }

    fn finish(mut self) -> FpmConfig {
        // Relative unix socket paths are relative to the pool prefix, else the global one
        // (fpm_conf_process_all_pools -> fpm_evaluate_full_path).
        let root = self.options.root.clone();
        for pool in &mut self.config.pools {
            let Some(listen) = &mut pool.listen else {
                continue;
            };
            let Listen::Unix(socket) = &listen.value else {
                continue;
            };
            if socket.is_absolute() {
                continue;
            }
            let prefix = match &pool.prefix {
                Some(p) if Path::new(&p.value).is_absolute() => PathBuf::from(&p.value),
                Some(p) => unrooted(&self.prefix, root.as_deref()).join(&p.value),
                None => unrooted(&self.prefix, root.as_deref()),
            };
            listen.value = Listen::Unix(prefix.join(socket));
        }
        self.config
    }
}

/// The system path of a path that may lie under `root` (socket paths are what nginx sees).
fn unrooted(path: &Path, root: Option<&Path>) -> PathBuf {
    match root.and_then(|r| path.strip_prefix(r).ok()) {
        Some(rest) => Path::new("/").join(rest),
        None => path.to_path_buf(),
    }
}

/// Parses a php-fpm time value ("Available units: s(econds)(default), m(inutes), h(ours), or
/// d(ays)", www.conf) into seconds, like `fpm_conf_set_time`: the last character picks the unit,
/// the rest is a number. php-fpm's atoi() would read `1x5s` as 1; this is stricter and says so.
pub fn parse_fpm_time(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let Some(last) = value.chars().last() else {
        return Err("invalid time value: empty (php-fpm refuses to start)".to_string());
    };
    let (number, unit) = match last {
        's' => (&value[..value.len() - 1], 1),
        'm' => (&value[..value.len() - 1], 60),
        'h' => (&value[..value.len() - 1], 3600),
        'd' => (&value[..value.len() - 1], 86_400),
        c if c.is_ascii_digit() => (value, 1),
        _ => {
            return Err(format!(
                "unknown suffix used in time value '{value}' (use s, m, h or d): php-fpm refuses to start"
            ))
        }
    };
    let n: u64 = number.trim().parse().map_err(|_| {
        format!("'{value}' is not a whole number of seconds, minutes, hours or days")
    })?;
    Ok(n.saturating_mul(unit))
}

/// `listen.mode` is read with strtoul(.., 8); only clean octal is accepted here.
fn parse_octal_mode(value: &str) -> Option<u32> {
    let value = value.trim();
    if value.is_empty() || !value.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(value, 8).ok().filter(|m| *m <= 0o7777)
}

/// True when a value holds `${NAME}`, which php-fpm replaces with its environment's NAME.
fn from_environment(value: &str) -> bool {
    value
        .split("${")
        .skip(1)
        .any(|rest| rest.find('}').is_some_and(|end| end > 0))
}

/// An absolute pattern outside the copied directory `copy`, re-rooted under it: the longest
/// suffix of its path whose literal directory exists inside `copy` (not `copy` itself, unless
/// only a plain file name is left) and matches something. None when the pattern lies in `copy`
/// already or no re-rooted form matches.
fn rerooted_glob(copy: &Path, pattern: &Path) -> Option<Vec<PathBuf>> {
    // The bare file name is always tried here; nginx includes try it only from a stock or
    // same-named directory (see `Loader::remapped`).
    crate::config::reroot_candidates(copy, pattern, true)
        .into_iter()
        .map(|candidate| expand_glob(&candidate))
        .find(|found| !found.is_empty())
}

/// [`expand_glob`] for an absolute pattern of the system under `root`: listed and opened inside
/// the root, symlinks resolved there (a pool file linked to `/etc/php/...` is the root's file).
fn glob_in_root(root: &Path, pattern: &Path) -> Vec<PathBuf> {
    let sysroot = crate::config::Sysroot::new(root);
    let Ok(found) = sysroot.glob(pattern) else {
        return Vec::new();
    };
    found
        .into_iter()
        .map(|m| m.file)
        .filter(|f| !f.is_dir() && f.exists())
        .collect()
}

/// Expands a glob(3) pattern to the files it matches, sorted, never failing: missing or
/// unreadable directories match nothing, directories themselves are skipped (php-fpm uses
/// GLOB_MARK and skips names ending in `/`), and `*` does not match a leading dot, as in glob(3).
/// `{a,b}` is literal, as glob(3) without GLOB_BRACE has it.
pub(crate) fn expand_glob(pattern: &Path) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = vec![PathBuf::new()];
    for component in pattern.components() {
        let Component::Normal(part) = component else {
            for c in &mut candidates {
                c.push(component.as_os_str());
            }
            continue;
        };
        let part_text = part.to_string_lossy();
        if !part_text.contains(['*', '?', '[']) {
            for c in &mut candidates {
                c.push(part);
            }
            continue;
        }
        let escaped = part_text.replace('{', "[{]").replace('}', "[}]");
        let Ok(glob) = globset::GlobBuilder::new(&escaped)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
        else {
            return Vec::new();
        };
        let matcher = glob.compile_matcher();
        let explicit_dot = part_text.starts_with('.');
        let mut next = Vec::new();
        for dir in &candidates {
            let listing = if dir.as_os_str().is_empty() {
                std::fs::read_dir(".")
            } else {
                std::fs::read_dir(dir)
            };
            let Ok(listing) = listing else {
                continue;
            };
            for dirent in listing.flatten() {
                let name = dirent.file_name();
                if name.to_string_lossy().starts_with('.') && !explicit_dot {
                    continue;
                }
                if matcher.is_match(Path::new(&name)) {
                    next.push(dir.join(&name));
                }
            }
        }
        candidates = next;
    }
    let mut files: Vec<PathBuf> = candidates.into_iter().filter(|p| p.is_file()).collect();
    files.sort();
    files.dedup();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Read as a php-fpm.conf: lines before the first header are `[global]`'s.
    fn parse(src: &str) -> FpmConfig {
        parse_fpm_config(
            Path::new("/nonexistent/php-fpm.conf"),
            src.as_bytes(),
            &FpmOptions::default(),
        )
    }

    fn only_pool(cfg: &FpmConfig) -> &Pool {
        assert_eq!(cfg.pools.len(), 1, "{cfg:#?}");
        &cfg.pools[0]
    }

    #[test]
    fn reads_a_debian_pool() {
        let src = "; comment\n[www]\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\n;listen.mode = 0660\npm = dynamic\npm.max_children = 5\npm.start_servers = 2\n";
        let cfg = parse(src);
        assert!(cfg.problems.is_empty(), "{:#?}", cfg.problems);
        let pool = only_pool(&cfg);
        assert_eq!(pool.name, "www");
        assert_eq!(
            (pool.header.line, pool.header.span),
            (2, crate::syntax::Span::new(10, 15))
        );
        let listen = pool.listen.as_ref().map(|l| &l.value);
        assert_eq!(
            listen,
            Some(&Listen::Unix("/run/php/php8.2-fpm.sock".into()))
        );
        let l = pool.listen.as_ref().map(|l| (l.line, &src[l.span.range()]));
        assert_eq!(l, Some((5, "/run/php/php8.2-fpm.sock")));
        assert_eq!(
            pool.user.as_ref().map(|u| u.value.as_str()),
            Some("www-data")
        );
        assert_eq!(
            pool.pm.as_ref().map(|p| p.value),
            Some(ProcessManager::Dynamic)
        );
        assert_eq!(pool.pm_max_children.as_ref().map(|p| p.value), Some(5));
        assert_eq!(pool.socket_mode(), 0o660);
        assert!(matches!(pool.socket_owner(), SocketOwner::Configured(o) if o.value == "www-data"));
        assert!(matches!(pool.socket_group(), SocketGroup::Configured(g) if g.value == "www-data"));
    }

    #[test]
    fn socket_ownership_defaults_follow_fpm_unix_c() {
        let cfg = parse("[a]\nuser = app\nlisten = /run/a.sock\n[b]\nlisten = /run/b.sock\nlisten.owner = nginx\nlisten.mode = 0666\n[c]\nlisten=/run/c.sock\nlisten.owner = 33\n[d]\nlisten=/run/d.sock\nlisten.acl_users = nginx\n");
        let [a, b, c, d] = &cfg.pools[..] else {
            panic!("{cfg:#?}")
        };
        // Not the pool user: the master's.
        assert_eq!(a.socket_owner(), SocketOwner::MasterProcess);
        assert_eq!(a.socket_group(), SocketGroup::MasterProcess);
        assert!(matches!(b.socket_group(), SocketGroup::PrimaryGroupOf(o) if o.value == "nginx"));
        assert_eq!(b.socket_mode(), 0o666);
        assert_eq!(c.socket_group(), SocketGroup::MasterProcess);
        assert!(d.uses_acl() && !a.uses_acl());
    }

    #[test]
    fn pool_substitution_and_php_defines() {
        let src = "[global]\nerror_log = /var/log/fpm.log\n[shop]\nlisten = /run/php/$pool.sock\nphp_value[max_execution_time] = 60\nphp_admin_value[error_log] = /var/log/$pool.err\nphp_flag[display_errors] = off\nphp_admin_flag[log_errors] = on\nphp_value[max_execution_time] = 90\n";
        let cfg = parse(src);
        let pool = only_pool(&cfg);
        let listen = pool.listen.as_ref().map(|l| &l.value);
        assert_eq!(listen, Some(&Listen::Unix("/run/php/shop.sock".into())));
        let values: Vec<(PhpDefineKind, &str, &str)> = pool
            .php_defines
            .iter()
            .map(|d| (d.kind, d.name.as_str(), d.value.value.as_str()))
            .collect();
        assert_eq!(
            values,
            [
                (PhpDefineKind::Value, "max_execution_time", "60"),
                (PhpDefineKind::AdminValue, "error_log", "/var/log/shop.err"),
                (PhpDefineKind::Flag, "display_errors", "0"),
                (PhpDefineKind::AdminFlag, "log_errors", "1"),
                (PhpDefineKind::Value, "max_execution_time", "90"),
            ]
        );
        // The first php_value line wins; the duplicate is reported.
        assert_eq!(
            pool.php_define("max_execution_time").map(|d| d.value.line),
            Some(5)
        );
        assert_eq!(cfg.problems.len(), 1, "{:#?}", cfg.problems);
        assert_eq!(cfg.problems[0].line, 9);
        assert_eq!(
            cfg.global.error_log.as_ref().map(|e| e.value.as_str()),
            Some("/var/log/fpm.log")
        );
    }

    #[test]
    fn sections_merge_without_case_and_global_switches_back() {
        let cfg = parse("[www]\nlisten = 9000\n[global]\npid = /run/fpm.pid\n[WWW]\nuser = u\n");
        let pool = only_pool(&cfg);
        assert_eq!(pool.user.as_ref().map(|u| u.line), Some(6));
        assert_eq!(pool.header.line, 1);
        assert_eq!(
            cfg.global.pid.as_ref().map(|p| p.value.as_str()),
            Some("/run/fpm.pid")
        );
        assert!(cfg.problems.is_empty(), "{:#?}", cfg.problems);
    }

    #[test]
    fn fatal_lines_are_problems() {
        let cfg = parse("listen = $pool.sock\nbogus = 1\n[p]\nnope = 2\npm = sometimes\nlisten = 0\nrequest_terminate_timeout = 5x\nlisten.mode = rw\nphp_value[] = 1\nenvv[X] = 1\nphp_flag[x] = maybe\nerror_log = /x\n");
        let lines: Vec<usize> = cfg.problems.iter().map(|p| p.line).collect();
        assert_eq!(
            lines,
            [1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            "{:#?}",
            cfg.problems
        );
        let pool = only_pool(&cfg);
        assert!(
            pool.listen.is_none() && pool.pm.is_none() && pool.request_terminate_timeout.is_none()
        );
    }

    #[test]
    fn fpm_time_units() {
        assert_eq!(parse_fpm_time("0"), Ok(0));
        assert_eq!(parse_fpm_time("30"), Ok(30));
        assert_eq!(parse_fpm_time("30s"), Ok(30));
        assert_eq!(parse_fpm_time("5m"), Ok(300));
        assert_eq!(parse_fpm_time("2h"), Ok(7200));
        assert_eq!(parse_fpm_time("1d"), Ok(86_400));
        assert!(parse_fpm_time("").is_err());
        assert!(parse_fpm_time("10ms").is_err());
        assert!(parse_fpm_time("m").is_err());
        assert!(parse_fpm_time("5 min").is_err());
    }

    #[test]
    fn octal_modes() {
        assert_eq!(parse_octal_mode("0660"), Some(0o660));
        assert_eq!(parse_octal_mode("666"), Some(0o666));
        assert_eq!(parse_octal_mode("0o660"), None);
        assert_eq!(parse_octal_mode("0990"), None);
        assert_eq!(parse_octal_mode(""), None);
    }

    #[test]
    fn tcp_listen_and_relative_socket() {
        let cfg = parse("[a]\nlisten = 127.0.0.1:9000\n[b]\nlisten = var/run/b.sock\n[c]\nprefix = /srv/$pool\nlisten = c.sock\n");
        let got: Vec<String> = cfg
            .pools
            .iter()
            .filter_map(|p| p.listen.as_ref().map(|l| l.value.to_string()))
            .collect();
        assert_eq!(
            got,
            ["127.0.0.1:9000", "/usr/var/run/b.sock", "/srv/c/c.sock"]
        );
    }

    #[test]
    fn absolute_includes_are_rerooted_in_a_copy() -> std::io::Result<()> {
        let tmp = tempfile::tempdir()?;
        let copy = tmp.path().join("copy");
        fs::create_dir_all(copy.join("pool.d/www.d"))?;
        fs::write(
            copy.join("php-fpm.conf"),
            "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n",
        )?;
        fs::write(
            copy.join("pool.d/www.conf"),
            "[www]\nlisten = /run/www.sock\ninclude=/etc/php/8.2/fpm/pool.d/www.d/*.inc\n",
        )?;
        fs::write(
            copy.join("pool.d/www.d/app.inc"),
            "env[A] = 1\nphp_admin_value[memory_limit] = 256M\n",
        )?;
        let options = FpmOptions {
            copy_root: Some(copy.clone()),
            ..FpmOptions::default()
        };
        let cfg =
            read_fpm_config(&copy.join("php-fpm.conf"), &options).map_err(std::io::Error::other)?;
        assert!(cfg.problems.is_empty(), "{:?}", cfg.problems);
        assert_eq!(cfg.files.len(), 3, "{:?}", cfg.files);
        assert_eq!(cfg.pools.len(), 1);
        assert_eq!(cfg.pools[0].php_defines.len(), 1);
        // A glob is never re-rooted down to the copy's top directory.
        assert_eq!(rerooted_glob(&copy, Path::new("/etc/*.conf")), None);
        assert_eq!(
            rerooted_glob(&copy, Path::new("/x/pool.d/www.d/app.inc")),
            Some(vec![copy.join("pool.d/www.d/app.inc")])
        );
        Ok(())
    }

    #[test]
    fn a_pool_file_before_its_first_section_and_environment_values() {
        // Lines before the first header of a pool file read on its own belong to the section
        // open where php-fpm includes it: not judged. In php-fpm.conf they are [global]'s.
        let cfg = parse_fpm_config(
            Path::new("/x/pool.d/extra.conf"),
            b"env[A] = 1\nphp_admin_value[x] = $pool\nbogus = 1\n[www]\nlisten = /run/w.sock\n",
            &FpmOptions::default(),
        );
        assert_eq!(cfg.problems.len(), 1, "{:?}", cfg.problems);
        assert!(cfg.problems[0].message.contains("'bogus'"));
        let cfg = parse_fpm_config(
            Path::new("/x/php-fpm.conf"),
            b"error_log = /var/log/fpm.log\nenv[A] = 1\n",
            &FpmOptions::default(),
        );
        assert_eq!(cfg.problems.len(), 1);
        // Named php-fpm.conf but with no header and no global-only entry: a pool fragment
        // copied under that name, not judged.
        let cfg = parse_fpm_config(
            Path::new("/x/php-fpm.conf"),
            b"env[A] = 1\npm.max_children = 10\n",
            &FpmOptions::default(),
        );
        assert!(cfg.problems.is_empty(), "{:?}", cfg.problems);
        let cfg = parse(
            "[www]\nlisten = ${L}\nlisten.mode = ${M}\npm = ${PM}\npm.max_children = ${N}\nrequest_terminate_timeout = ${T}\nphp_admin_flag[display_errors] = ${D}\npm.max_requests = ${}\n",
        );
        assert!(cfg.problems.is_empty(), "{:?}", cfg.problems);
        assert_eq!(cfg.pools[0].listen, None);
        assert_eq!(cfg.pools[0].request_terminate_timeout, None);
        assert!(!from_environment("${}") && from_environment("a${B}c"));
    }

    #[test]
    fn includes_are_read_in_place_sorted_and_rooted() -> std::io::Result<()> {
        let tmp = tempfile::tempdir()?;
        let root = tmp.path();
        let etc = root.join("etc/php/8.2/fpm");
        fs::create_dir_all(etc.join("pool.d/sub.conf"))?; // a directory matching the glob
        fs::write(
            etc.join("php-fpm.conf"),
            "[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\nerror_log = /var/log/x.log\ninclude=/etc/php/none/*.conf\n",
        )?;
        fs::write(etc.join("pool.d/b.conf"), "[b]\nlisten = /run/b.sock\n")?;
        fs::write(etc.join("pool.d/a.conf"), "[a]\nlisten = /run/$pool.sock\n")?;
        fs::write(etc.join("pool.d/.hidden.conf"), "[hidden]\nlisten = 1\n")?;
        fs::write(etc.join("pool.d/a.conf.bak"), "[bak]\n")?;
        let options = FpmOptions {
            root: Some(root.to_path_buf()),
            prefix: None,
            copy_root: None,
        };
        let cfg =
            read_fpm_config(&etc.join("php-fpm.conf"), &options).map_err(std::io::Error::other)?;
        let names: Vec<&str> = cfg.pools.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(cfg.pools[0].header.file, etc.join("pool.d/a.conf"));
        assert_eq!(cfg.files.len(), 3);
        // After the include, the last included pool is still in force: `error_log` lands in
        // pool [b], where php-fpm does not know it.
        assert!(cfg.global.error_log.is_none());
        let messages: Vec<&str> = cfg.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(messages.len(), 2, "{messages:#?}");
        assert!(messages[0].contains("unknown entry 'error_log' in pool [b]"));
        assert!(messages[1].contains("nothing matches"));
        assert_eq!(cfg.global.includes.len(), 2);
        Ok(())
    }

    #[test]
    fn relative_includes_use_the_prefix_and_cycles_stop() -> std::io::Result<()> {
        let tmp = tempfile::tempdir()?;
        let root = tmp.path();
        let etc = root.join("usr/local/etc");
        fs::create_dir_all(etc.join("php-fpm.d"))?;
        fs::write(
            etc.join("php-fpm.conf"),
            "[global]\ninclude=etc/php-fpm.d/*.conf\n",
        )?;
        fs::write(
            etc.join("php-fpm.d/www.conf"),
            "[www]\nlisten = 9000\ninclude=/usr/local/etc/php-fpm.d/www.conf\n",
        )?;
        let options = FpmOptions {
            root: Some(root.to_path_buf()),
            prefix: None,
            copy_root: None,
        };
        let cfg =
            read_fpm_config(&etc.join("php-fpm.conf"), &options).map_err(std::io::Error::other)?;
        assert_eq!(cfg.pools.len(), 1);
        assert_eq!(cfg.problems.len(), 1, "{:#?}", cfg.problems);
        assert!(cfg.problems[0].message.contains("cycle"));

        // Relative to the including file only as a reported fallback.
        let other = root.join("opt/fpm");
        fs::create_dir_all(other.join("pools"))?;
        fs::write(other.join("main.conf"), "include=pools/*.conf\n")?;
        fs::write(other.join("pools/x.conf"), "[x]\nlisten = 9001\n")?;
        let cfg =
            read_fpm_config(&other.join("main.conf"), &options).map_err(std::io::Error::other)?;
        assert_eq!(cfg.pools.len(), 1);
        assert!(
            cfg.problems[0].message.contains("prefix"),
            "{:#?}",
            cfg.problems
        );
        Ok(())
    }

    #[test]
    fn include_depth_is_limited() -> std::io::Result<()> {
        let tmp = tempfile::tempdir()?;
        for i in 0..8 {
            let next = tmp.path().join(format!("f{}.conf", i + 1));
            fs::write(
                tmp.path().join(format!("f{i}.conf")),
                format!("include={}\n", next.display()),
            )?;
        }
        fs::write(tmp.path().join("f8.conf"), "[deep]\nlisten=9000\n")?;
        let cfg = read_fpm_config(&tmp.path().join("f0.conf"), &FpmOptions::default())
            .map_err(std::io::Error::other)?;
        assert_eq!(cfg.files.len(), MAX_INCLUDE_DEPTH);
        assert!(cfg.pools.is_empty());
        assert!(cfg.problems.iter().any(|p| p.message.contains("nested")));
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn value_parsers_never_panic(value in "\\PC{0,12}") {
            let _ = parse_fpm_time(&value);
            let _ = parse_octal_mode(&value);
            let _ = Listen::parse(&value);
            let cfg = parse(&format!("[p]\nlisten = {value}\nrequest_terminate_timeout = {value}\nphp_value[{value}] = {value}\n"));
            proptest::prop_assert!(cfg.pools.len() <= 1);
        }
    }

    #[test]
    fn glob_on_missing_dirs_is_empty() {
        assert!(expand_glob(Path::new("/nonexistent-gwlint/*/x*.conf")).is_empty());
        assert!(expand_glob(Path::new("/nonexistent-gwlint/plain.conf")).is_empty());
        assert!(expand_glob(Path::new("[")).is_empty());
    }
}
