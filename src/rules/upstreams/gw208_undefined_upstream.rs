use super::common::compose_nginx;
use super::{Elsewhere, FixAvailability, LintContext, Rule, RuleMeta};
use crate::backends::compose::ComposeProject;
use crate::address::{typo_of, Host};
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};

pub struct UndefinedUpstream;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW208,
    severity: Severity::Error,
    summary: "pass to a name that is no `upstream` block and no resolvable host",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
`proxy_pass http://NAME`, `fastcgi_pass NAME`, `grpc_pass grpc://NAME` (and uwsgi/scgi) where
NAME has no dot, is not `localhost`, is not an IP address, no `upstream NAME { }` block exists,
and /etc/hosts (under `--sysroot` when given) does not list it. Usually a typo in an upstream
name, or an upstream block in a file that is not included.

A name with an explicit port (`http://app:3000`) is not reported: that is how Docker Compose
service names are written, and only the container's DNS knows them. With a Compose project
beside the configuration (see GW210) whose nginx service is found, the names are known: a
service name, alias, `container_name`, `hostname`, `links` or `extra_hosts` entry is not
reported; a name close to a service name is an error ("no service `ap` in compose.yaml; did
you mean `app`?"), with or without a port; another name with a port is info (a container on
an external network, or the host's DNS, may know it). Without a port (`proxy_pass
http://web;`) it is an error when the name is close to an `upstream` name (a typo), else a
warning: nginx resolves the name when it starts and refuses to start where it does not
resolve, which is true of a Compose service name everywhere but inside its network. An address
with variables (`proxy_pass http://storage/$2;`) is resolved per request, not at start, and is
GW204's concern. When a file included at the main or http level was not read, an upstream
block there may define the name: info only; so for a site file checked on its own, whose
nginx.conf may define it.

## Why it matters
nginx resolves a name that is no upstream block when it starts, so it refuses to start or
reload:

```
[emerg] host not found in upstream "bakend" in /etc/nginx/conf.d/app.conf:9
```

## Example
```nginx
upstream backend { server 127.0.0.1:3000; }
server {
    location / { proxy_pass http://bakend; }
}
```

## Use instead
```nginx
upstream backend { server 127.0.0.1:3000; }
server {
    location / { proxy_pass http://backend; }
}
```

## Fix safety
No automatic fix; the message suggests the nearest upstream name."#,
};

impl Rule for UndefinedUpstream {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let upstream_names: Vec<String> = config
            .blocks_with_inner(Context::Upstream)
            .filter_map(|id| config.node(id).arg(0).map(str::to_owned))
            .collect();
        // An upstream block can be in any file read at the main or http level: one not read
        // (or the nginx.conf around a file checked on its own) may define it.
        let elsewhere = cx.defined_elsewhere();
        let compose = compose_nginx(cx.ws);
        for p in cx.passes() {
            let pass = p.node;
            // With variables nginx builds the address per request (ngx_http_proxy_pass compiles
            // a script): nothing is resolved at start, `nginx -t` passes. GW204 covers that.
            if config
                .node(pass)
                .directive
                .args()
                .first()
                .is_some_and(|w| w.has_variable())
            {
                continue;
            }
            let Some(addr) = p.address.as_ref() else {
                continue;
            };
            let Host::Name(name) = &addr.host else {
                continue;
            };
            // nginx in a Compose service: its project's names are known.
            if let Some((project, nginx, _, compose_file)) = compose {
                if name.contains('.')
                    || name.eq_ignore_ascii_case("localhost")
                    || config.upstream_block(name).is_some()
                    || project.service_named(name).is_some()
                    || nginx.extra_hosts.iter().chain(&nginx.links).any(|h| h.eq_ignore_ascii_case(name))
                {
                    continue;
                }
                if let Some(d) = not_a_service(cx, pass, name, project, compose_file) {
                    out.push(d);
                    continue;
                }
            }
            if addr.port.is_some()
                || name.contains('.')
                || name.eq_ignore_ascii_case("localhost")
                || config.upstream_block(name).is_some()
            {
                continue;
            }
            let in_hosts = crate::system::hosts_addresses(cx.ws.sysroot.as_deref(), name)
                .is_some_and(|ips| !ips.is_empty());
            if in_hosts {
                continue;
            }
            let node = config.node(pass);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            let nearest = typo_of(name, &upstream_names, |u| u.as_str());
            if elsewhere == Some(Elsewhere::AroundThisFile) {
                let mut d = cx
                    .diagnostic(
                        &META,
                        node.file,
                        word.span(),
                        format!("`{name}` is no upstream block of this file; whether the nginx.conf that includes it defines one cannot be told: the file is checked on its own"),
                    )
                    .with_help("check the nginx.conf that includes this file");
                d.severity = Severity::Info;
                out.push(d);
                continue;
            }
            if let Some(Elsewhere::Unread(include)) = elsewhere {
                let mut d = cx
                    .diagnostic(
                        &META,
                        node.file,
                        word.span(),
                        format!(
                            "`{name}` is no upstream block of the files read; whether one is defined cannot be told: `include {}` was not read",
                            config.include_argument(include)
                        ),
                    )
                    .with_help("check the tree where the included file exists (or with --sysroot)");
                let inc = config.node(include);
                d = d.with_label(
                    inc.file,
                    inc.directive.head_span(),
                    "not read: may define it",
                );
                d.severity = Severity::Info;
                out.push(d);
                continue;
            }
            let hosts = match cx.ws.sysroot.as_deref() {
                Some(root) => format!("{}/etc/hosts", root.display()),
                None => "/etc/hosts".to_owned(),
            };
            let (help, typo) = match nearest {
                Some(u) => (format!("did you mean upstream `{u}`?"), true),
                None => (format!(
                    "define `upstream {name} {{ server ...; }}` (in a file that is included), or use a host name that resolves where nginx runs"
                ), false),
            };
            let mut d = cx
                .diagnostic(
                    &META,
                    node.file,
                    word.span(),
                    format!(
                        "`{name}` is no upstream block and not in {hosts}: nginx resolves it when it starts and refuses to start where it does not resolve (\"host not found in upstream \\\"{name}\\\"\"); a Docker Compose service name resolves only inside its network"
                    ),
                )
                .with_help(help);
            // Near an upstream name: a typo. Otherwise it may be a container or DNS name that
            // resolves on the target: a warning, not a certain failure.
            if !typo {
                d.severity = d.severity.min(Severity::Warning);
            }
            out.push(d);
        }
    }
}

/// A name that is no service of the nginx container's Compose project (nor an alias,
/// container_name, hostname, link, extra_hosts entry): an error when it is close to a service
/// name (a typo), else info (an external network or the host's DNS may know it). `None` for a
/// name without a port that is not close to a service: the rule's usual verdict applies.
fn not_a_service(
    cx: &LintContext<'_, '_>,
    pass: crate::config::NodeId,
    name: &str,
    project: &ComposeProject,
    compose_file: Option<crate::source::FileId>,
) -> Option<Diagnostic> {
    let config = cx.config;
    let node = config.node(pass);
    let word = node.directive.args().first()?;
    let file = project.file_name();
    let has_port = config.pass_address(pass).is_some_and(|a| a.port.is_some());
    let nearest = typo_of(name, &project.services, |s| s.name.value.as_str());
    let names: Vec<&str> = project.services.iter().map(|s| s.name.value.as_str()).collect();
    if let Some(s) = nearest {
        let mut d = cx
            .diagnostic(
                &META,
                node.file,
                word.span(),
                format!(
                    "no service `{name}` in {file} (services: {}): nginx's container cannot resolve it, so nginx refuses to start (\"host not found in upstream \\\"{name}\\\"\") or, with a resolver, answers 502",
                    names.join(", ")
                ),
            )
            .with_help(format!("did you mean service `{}`?", s.name.value));
        if let Some(id) = compose_file {
            d = d.with_label(id, s.name.span, "the nearest service name");
        }
        return Some(d);
    }
    if !has_port {
        return None;
    }
    let external = if project.external_networks.is_empty() {
        String::new()
    } else {
        format!(
            " (a container of another project on external network {} may be called so)",
            project.external_networks.join(", ")
        )
    };
    let mut d = cx
        .diagnostic(
            &META,
            node.file,
            word.span(),
            format!(
                "`{name}` is no upstream block and no service of {file} (services: {}): it resolves in nginx's container only if Docker's DNS or the host's knows it{external}",
                names.join(", ")
            ),
        )
        .with_help("use a service name of the project, or check that the name resolves where nginx runs");
    d.severity = Severity::Info;
    Some(d)
}
