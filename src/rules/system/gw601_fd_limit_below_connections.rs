use std::path::Path;

use super::common::UnitScope;
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};
use crate::system::{UnitNofile, SYSTEMD_DEFAULT_NOFILE_SOFT};

pub struct FdLimitBelowConnections;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW601,
    severity: Severity::Warning,
    summary: "`worker_connections` above the open-file limit of the workers (\"Too many open files\" under load)",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
`worker_connections` set above the number of files an nginx worker may open:
`worker_rlimit_nofile` when set; else the soft `LimitNOFILE=` of the nginx systemd unit
(unit file and drop-ins under `--sysroot`, or this machine's when the checked tree is its
installed configuration), else systemd's `DefaultLimitNOFILE=` (system.conf), else systemd's
built-in soft default of 1024. When no unit can be read (a copied tree, a container), the
usual soft default of 1024 is assumed and the finding is info: the real limit is not known.
A `worker_connections` equal to the limit is not reported, as nginx does not warn about it
either (a worker's other descriptors make even that reachable under load).

## Why it matters
Every connection of a worker, to a client or to an upstream, is one file descriptor and
one of its `worker_connections`; a proxied request needs two, and log files, static files and
temp files need more. With `worker_connections` above the descriptor limit, the limit is
reached first: under load nginx logs

```
[alert] socket() failed (24: Too many open files) while connecting to upstream
[crit] accept4() failed (24: Too many open files)
```

A request whose upstream `socket()` fails is answered `500 Internal Server Error`
(ngx_http_upstream_connect finalizes it with NGX_HTTP_INTERNAL_SERVER_ERROR; tried on nginx
1.22 with `worker_rlimit_nofile 40`), and while `accept4()` fails new clients wait unanswered
in the listen queue (a load balancer in front times out on them). At start nginx only warns
`N worker_connections exceed open file resource limit: M` (ngx_event.c), which is easy to
miss in the journal.

## Example
```nginx
events {
    worker_connections 4096;      # with the default soft limit of 1024
}
```

## Use instead
```nginx
worker_rlimit_nofile 8192;        # twice worker_connections: client + upstream + files
events {
    worker_connections 4096;
}
```
(or `LimitNOFILE=8192` in a systemd drop-in for nginx.service)

## Fix safety
No automatic fix: how many descriptors the system allows is a system decision (the hard
limit, the kernel's fs.nr_open)."#,
};

impl Rule for FdLimitBelowConnections {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let Some(events) = config.blocks_with_inner(Context::Events).next() else {
            return;
        };
        let Some(wc_node) = config
            .children_named(Some(events), "worker_connections")
            .last()
        else {
            // nginx's default, 512 (ngx_event.c DEFAULT_CONNECTIONS), is below every soft limit
            // in use; a worker_rlimit_nofile below it is rare enough not to guess about.
            return;
        };
        let Some(connections) = config
            .node(wc_node)
            .arg(0)
            .and_then(|v| v.parse::<u64>().ok())
        else {
            return;
        };
        let wc = config.node(wc_node);
        let span = wc.directive.head_span();
        let proxied = |limit: u64| {
            format!(
                "each worker runs out of descriptors after about {limit} connections, about {} proxied requests (a client and an upstream descriptor each); beyond that requests get 500 \"socket() failed (24: Too many open files) while connecting to upstream\" and new clients wait unaccepted (\"accept4() failed (24: Too many open files)\")",
                limit / 2
            )
        };
        if let Some(rl) = config.main_directive("worker_rlimit_nofile") {
            let Some(limit) = config.node(rl).arg(0).and_then(|v| v.parse::<u64>().ok()) else {
                return;
            };
            if connections <= limit {
                return;
            }
            let r = config.node(rl);
            out.push(
                cx.diagnostic(
                    &META,
                    wc.file,
                    span,
                    format!(
                        "worker_connections {connections} is above worker_rlimit_nofile {limit} ({}): {}",
                        cx.where_is(rl),
                        proxied(limit)
                    ),
                )
                .with_label(r.file, r.directive.head_span(), "the workers' open-file limit")
                .with_help(format!(
                    "raise worker_rlimit_nofile to at least {} (twice worker_connections), or lower worker_connections",
                    connections * 2
                )),
            );
            return;
        }
        let scope = UnitScope::of(cx.ws);
        let unit = scope
            .root()
            .and_then(|root| crate::system::unit_limit_nofile(root, "nginx.service"));
        let help = format!(
            "add `worker_rlimit_nofile {};` (twice worker_connections) at the top of nginx.conf, or raise LimitNOFILE= for nginx.service",
            connections * 2
        );
        match unit {
            Some(UnitNofile { soft: None, .. }) => {}
            Some(UnitNofile {
                unit,
                soft: Some(limit),
                set_in,
            }) => {
                if connections <= limit {
                    return;
                }
                let source = match set_in {
                    Some(file) if file == unit => format!("LimitNOFILE in {}", unit.display()),
                    Some(file) if is_manager_conf(&file) => {
                        format!(
                            "DefaultLimitNOFILE in {} ({} sets none)",
                            file.display(),
                            unit.display()
                        )
                    }
                    Some(file) => format!("LimitNOFILE in {}", file.display()),
                    None => format!(
                        "systemd's default soft LimitNOFILE; {} and its drop-ins set none",
                        unit.display()
                    ),
                };
                out.push(
                    cx.diagnostic(
                        &META,
                        wc.file,
                        span,
                        format!(
                            "worker_connections {connections} is above the open-file limit {limit} nginx starts with ({source}) and no worker_rlimit_nofile raises it: {}",
                            proxied(limit)
                        ),
                    )
                    .with_help(help),
                );
            }
            None => {
                let limit = SYSTEMD_DEFAULT_NOFILE_SOFT;
                if connections <= limit {
                    return;
                }
                let why = match scope {
                    UnitScope::Copy => {
                        "the system's units are not read for a copied tree; --sysroot reads them"
                            .to_owned()
                    }
                    _ => format!("no nginx.service unit was found {}", scope.describe()),
                };
                let mut d = cx
                    .diagnostic(
                        &META,
                        wc.file,
                        span,
                        format!(
                            "worker_connections {connections} with no worker_rlimit_nofile: the workers keep the open-file limit nginx is started with, which is not known here ({why}); where that is the usual soft default of {limit} (systemd, a login shell), {}",
                            proxied(limit)
                        ),
                    )
                    .with_help(help);
                d.severity = Severity::Info;
                out.push(d);
            }
        }
    }
}

fn is_manager_conf(file: &Path) -> bool {
    file.ends_with("system.conf") || file.parent().is_some_and(|p| p.ends_with("system.conf.d"))
}
