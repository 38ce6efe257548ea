use super::common::{worker_user, UnitScope};
use super::options::OptionsSpec;
use super::{Elsewhere, FixAvailability, LintContext, Rule, RuleMeta};
use crate::backends::{Pool, SocketGroup, SocketOwner};
use crate::diagnostic::{Diagnostic, Severity};
use crate::directives::Context;
use crate::system::WorkerUser;
use crate::system::systemd::php_fpm_unit_for;
use crate::system::{access, Access, Accounts, FpmMaster};

pub struct SocketPermissionDenied;

pub(crate) static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW302,
    severity: Severity::Error,
    summary: "nginx workers may not connect to the php-fpm pool's unix socket",
    fix: FixAvailability::None,
    options: Some(OptionsSpec::of::<Options>(&[
        (
            "default-user",
            "the worker user assumed when nginx.conf has no `user` directive (\"build\": the target build's --user when its binary is known, else nginx's compiled-in \"nobody\")",
        ),
        (
            "default-group",
            "the worker group assumed without a `user` directive (\"build\": the build's --group, else \"nogroup\" or \"nobody\" as nginx's configure picks it, else the user's name)",
        ),
    ])),
    doc: r#"## What it finds
A unix socket in `fastcgi_pass` (or an upstream `server` line) created by a known php-fpm
pool that the nginx worker user cannot read and write. Connecting to a unix socket needs write
permission on it (and search permission on every directory above it, which only `--probe`
can check).

- The worker user is nginx.service's `User=` when the unit (with its drop-ins) starts nginx
  as another user than root: the master is then unprivileged, nginx ignores the `user`
  directive ("the "user" directive makes sense only if the master process runs with
  super-user privileges, ignored") and the workers keep the master's user; its group is
  `Group=`, else the user's primary group. Else the `user` directive's (its group defaults to
  the group named like the user, as nginx does), else the build default: the `default-user`
  option when set, else the target binary's `--user`/`--group` (`nginx -V` of this machine's
  nginx when it reads the checked nginx.conf, or the nginx binary inside `--sysroot`, read,
  never run), else nginx's compiled-in "nobody" (auto/unix; its group is "nobody" or
  "nogroup", whichever the build machine has). Debian's and Ubuntu's nginx are built without
  `--user`, so without a `user` directive their workers run as nobody:nogroup; their stock
  nginx.conf says `user www-data;`. nginx.org's packages, Alpine's and RHEL's are built with
  `--user=nginx`. The message says which one it was; when it is nginx's compiled-in default
  for a binary this run does not know, the finding is a warning. Units are read under `--sysroot`,
  or on this machine when the checked tree is its installed configuration.
- The socket's owner, group and mode come from the pool: `listen.owner` (else the user
  running the php-fpm master: its unit's `User=`, `php8.2-fpm.service` for a pool under
  /etc/php/8.2/, else root), `listen.group` (else listen.owner's primary group, else the
  master's group: `Group=`, else `User=`'s primary group), `listen.mode` (else 0660). With `listen.acl_users` /
  `listen.acl_groups`, php-fpm ignores owner and group and grants access by ACL instead.
- A pool without `user` (and no unit read that starts php-fpm as another user) is not judged:
  php-fpm started as root refuses such a pool ("[pool www] please specify user and group
  other than root", `fpm_unix_conf_wp` in php-src's sapi/fpm/fpm/fpm_unix.c, unless run with
  `--allow-to-run-as-root`), so its master runs as some other user — a container's `USER`,
  typically the one nginx runs as — and that user owns the socket.
- Group membership comes from /etc/passwd and /etc/group (under `--sysroot` when given; the
  worker gets the `user` directive's group plus every group that lists the user, as
  `initgroups()` gives it). When those files cannot be read the decision uses owner and mode
  only and says so; a case that depends on unknown membership is not reported.

`check --probe` checks the socket that exists right now (owner, group, mode, directories) and
reports here, marked "(probe)".

## Why it matters
```
[crit] connect() to unix:/run/php/php8.2-fpm.sock failed (13: Permission denied) while connecting to upstream, client: 127.0.0.1, server: , request: "GET /index.php HTTP/1.1", upstream: "fastcgi://unix:/run/php/php8.2-fpm.sock:"
```
Every PHP request gets 502 (lab scenario C: socket www-data:www-data 0660, `user nobody
nogroup`).

## Example
```nginx
user nobody nogroup;
# pool: listen.owner = www-data, listen.group = www-data, listen.mode = 0660
location ~ \.php$ {
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
}
```

## Use instead
```nginx
user www-data;   # or in the pool: listen.owner = nobody / listen.acl_users = nobody
```

## Fix safety
No automatic fix: the change belongs in the pool file (the message points at the line) or in
the `user` directive, and either affects other sites."#,
};

/// GW302's options (the probe's permission check reads them too, through
/// [`super::common::worker_user`]).
/// The value of `default-user` / `default-group` that means "as the target's nginx was built".
pub(crate) const BUILD_DEFAULT: &str = "build";

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct Options {
    /// [`BUILD_DEFAULT`]: the target build's default.
    pub default_user: String,
    /// [`BUILD_DEFAULT`]: the build's, or what goes with the user.
    pub default_group: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            default_user: BUILD_DEFAULT.to_owned(),
            default_group: BUILD_DEFAULT.to_owned(),
        }
    }
}


impl Rule for SocketPermissionDenied {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        // Only a pool's socket is judged: without pools, nothing to read the accounts for.
        if cx.ws.php.pools().next().is_none() {
            return;
        }
        let worker = worker_user(cx.ws, cx.config, cx.settings);
        let accounts = Accounts::read(cx.ws.sysroot.as_deref());
        let units = UnitScope::of(cx.ws).web_units();
        for named in cx.config.named_addresses() {
            if named.address.unix_path().is_none() {
                continue;
            }
            let Some(pool) = cx.ws.php.pools().find(|p| {
                p.listen
                    .as_ref()
                    .is_some_and(|l| named.address.matches_listen(&l.value))
            }) else {
                continue;
            };
            let master = FpmMaster::of(php_fpm_unit_for(&units, &pool.header.file), &accounts);
            let verdict = pool_socket_access(pool, &worker, &accounts, &master);
            if verdict.access != Access::Denied {
                continue;
            }
            let node = cx.config.node(named.node);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            let path = named.address.unix_path().unwrap_or_default();
            let mut d = cx
                .diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    format!(
                        "nginx workers run as {}; the socket {path} of pool `{}` {}{}: 502 \"connect() to unix:{path} failed (13: Permission denied)\"",
                        worker.describe(),
                        pool.name,
                        verdict.why,
                        if accounts.known() { String::new() } else { format!(" (group membership not checked: {} not readable)", accounts.origin) },
                    ),
                )
                .with_help(format!(
                    "in pool `{}` set `listen.owner = {}` and `listen.group = {}` (or `listen.acl_users = {}`), or run nginx as a user the socket allows",
                    pool.name, worker.user, worker.group, worker.user
                ));
            // Both sides on their defaults (no `user`, no listen.owner/group/mode/acl): the usual
            // container layout, where nginx and php-fpm run as one unprivileged user and the
            // socket is theirs. The verdict rests on two assumptions, so it is a warning.
            let all_defaults = worker.assumed()
                && master.set_at.is_none()
                && pool.listen_owner.is_none()
                && pool.listen_group.is_none()
                && pool.listen_mode.is_none()
                && !pool.uses_acl();
            // Without a `user` here, an unread main-level include or the nginx.conf around a
            // file checked on its own may set it.
            let user_elsewhere = cx.defined_elsewhere().filter(|e| match e {
                Elsewhere::Unread(inc) => cx.config.node(*inc).context == Context::Main,
                Elsewhere::AroundThisFile => true,
            });
            if worker.guessed() {
                // Who the workers are rests on the build default of a binary not known.
                d.severity = d.severity.min(crate::diagnostic::Severity::Warning);
            }
            if all_defaults {
                d.severity = d.severity.min(crate::diagnostic::Severity::Warning);
                d.message.push_str(
                    " — unless nginx and php-fpm run as the same user (containers started as one non-root user): neither the `user` directive nor listen.owner/listen.group/listen.mode is set, so both sides are assumed",
                );
            }
            for (file, span, what) in pool_lines(cx, pool) {
                d = d.with_label(file, span, what);
            }
            if let (Some(u), None) = (worker.directive, &worker.unit) {
                let n = cx.config.node(u);
                d = d.with_label(n.file, n.directive.span(), "nginx worker user");
            }
            if worker.assumed() && user_elsewhere.is_some() {
                d = cx.hedged_by(d, "may set `user`", user_elsewhere);
            }
            out.push(d);
        }
    }
}

/// The decision and its reason, in words.
pub(crate) struct Verdict {
    pub access: Access,
    pub why: String,
}

/// Whether `worker` may connect to the socket `pool` creates, from the pool's settings.
pub(crate) fn pool_socket_access(
    pool: &Pool,
    worker: &WorkerUser,
    accounts: &Accounts,
    master: &FpmMaster,
) -> Verdict {
    let groups = accounts.process_groups(&worker.user, &worker.group);
    let mode = pool.socket_mode();
    if pool.uses_acl() {
        let list = |v: &Option<crate::backends::Located<String>>| -> Vec<String> {
            v.as_ref()
                .map(|l| l.value.split(',').map(|s| s.trim().to_owned()).collect())
                .unwrap_or_default()
        };
        let users = list(&pool.listen_acl_users);
        let acl_groups = list(&pool.listen_acl_groups);
        let by_group = groups
            .as_ref()
            .is_some_and(|g| acl_groups.iter().any(|a| g.contains(a)));
        if users.contains(&worker.user) || by_group || worker.user == "root" {
            return Verdict {
                access: Access::Allowed,
                why: "grants access by ACL".to_owned(),
            };
        }
        let a = access(&worker.user, groups.as_ref(), "root", "root", mode, 0o6);
        return Verdict {
            access: if a == Access::Denied && groups.is_none() && !acl_groups.is_empty() {
                Access::Unknown
            } else {
                a
            },
            why: format!(
                "grants access by ACL to users [{}] and groups [{}] only (listen.mode {mode:04o} for others), and {} is in neither",
                users.join(", "),
                acl_groups.join(", "),
                worker.user
            ),
        };
    }
    if pool.user.is_none() && master.set_at.is_none() && pool.socket_owner() == SocketOwner::MasterProcess
    {
        // php-fpm started as root refuses a pool without `user` ("[pool www] please specify
        // user and group other than root", fpm_unix_conf_wp in sapi/fpm/fpm/fpm_unix.c, unless
        // started with --allow-to-run-as-root), so this pool runs under a master started as
        // another user (a container's USER, a unit not read here), which then owns the
        // socket: who that is is not known.
        return Verdict {
            access: Access::Unknown,
            why: format!(
                "has no `user`, so its php-fpm master is not root and owns the socket (mode {mode:04o}); which user that is is not known here"
            ),
        };
    }
    let owner = match pool.socket_owner() {
        SocketOwner::Configured(o) => o.value.clone(),
        SocketOwner::MasterProcess => master.user.clone(),
    };
    let group = match pool.socket_group() {
        SocketGroup::Configured(g) => Some(g.value.clone()),
        SocketGroup::PrimaryGroupOf(o) => accounts
            .user(&o.value)
            .and_then(|u| accounts.group_by_gid(u.gid))
            .map(|g| g.name.clone()),
        SocketGroup::MasterProcess => master.group.clone(),
    };
    let a = match &group {
        Some(g) => access(&worker.user, groups.as_ref(), &owner, g, mode, 0o6),
        // The group is unknown: only an owner match or the "other" bits decide.
        None => access(&worker.user, None, &owner, "\u{0}", mode, 0o6),
    };
    let group_text = group.as_deref().unwrap_or("(unknown group)");
    let member = match &groups {
        Some(g) if group.as_ref().is_some_and(|x| g.contains(x)) => "is",
        Some(_) => "is not",
        None => "may or may not be",
    };
    Verdict {
        access: a,
        why: format!(
            "is {owner}:{group_text} mode {mode:04o}{}, and {} {member} in group {group_text}",
            match (&master.set_at, pool.socket_owner()) {
                (Some(at), SocketOwner::MasterProcess) => format!(
                    " (no listen.owner: the php-fpm master's user, User= at {})",
                    at.at()
                ),
                _ => String::new(),
            },
            worker.user
        ),
    }
}

/// The pool lines that decide the socket's permissions (or its listen line).
fn pool_lines(
    cx: &LintContext<'_, '_>,
    pool: &Pool,
) -> Vec<(crate::source::FileId, crate::syntax::Span, String)> {
    let mut out = Vec::new();
    let add = |out: &mut Vec<_>,
               located: Option<(crate::source::FileId, crate::syntax::Span)>,
               what: &str| {
        if let Some((f, s)) = located {
            out.push((f, s, what.to_owned()));
        }
    };
    if pool.uses_acl() {
        add(
            &mut out,
            pool.listen_acl_users
                .as_ref()
                .and_then(|v| cx.ws.php_location(v)),
            "listen.acl_users",
        );
        add(
            &mut out,
            pool.listen_acl_groups
                .as_ref()
                .and_then(|v| cx.ws.php_location(v)),
            "listen.acl_groups",
        );
    } else {
        add(
            &mut out,
            pool.listen_owner
                .as_ref()
                .and_then(|v| cx.ws.php_location(v)),
            "listen.owner",
        );
        add(
            &mut out,
            pool.listen_group
                .as_ref()
                .and_then(|v| cx.ws.php_location(v)),
            "listen.group",
        );
    }
    add(
        &mut out,
        pool.listen_mode
            .as_ref()
            .and_then(|v| cx.ws.php_location(v)),
        "listen.mode",
    );
    if out.is_empty() {
        add(
            &mut out,
            pool.listen.as_ref().and_then(|v| cx.ws.php_location(v)),
            "socket created here with php-fpm's default owner root and mode 0660",
        );
    }
    out
}
