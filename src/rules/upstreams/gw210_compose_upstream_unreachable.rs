use super::common::{compose_nginx, listen_ports};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::address::Host;
use crate::backends::compose::{ComposeProject, NginxMatch, Service};
use crate::diagnostic::{Diagnostic, Severity};

pub struct ComposeUpstreamUnreachable;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW210,
    severity: Severity::Error,
    summary: "in Docker Compose, an upstream nginx's container cannot reach: loopback, or a service port not declared",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
With a Docker Compose project beside the configuration (compose.yaml, compose.yml,
docker-compose.yaml or docker-compose.yml in the checked directory or a parent up to the
repository root, or `--compose FILE`) and a service in it that runs nginx (the one whose bind
mounts hold the checked configuration, else the only one with an `nginx*`/`openresty*`
image), every `*_pass` and upstream `server` address is compared with the project:

- **Loopback in nginx's container.** `proxy_pass http://localhost:3000` or `127.0.0.1` /
  `[::1]`: each container has a network namespace of its own, so loopback is nginx's
  container, where nothing but nginx listens. An error naming the service to use instead:
  the one that declares the port (`expose`, the container side of `ports`), else the one
  that publishes it on the host (`ports: "3000:8080"` -> `app:8080`), else, stated as a
  guess, one whose image usually listens there (php-fpm images on 9000). Not reported: a port
  nginx listens on itself, a service sharing nginx's namespace (`network_mode:
  service:nginx`, or nginx's `network_mode: service:app`), and nginx with `network_mode:
  host`, where loopback is the host: then it is info when no service publishes the port.
  With an image that is not nginx's (the service was found by its mount), the app may run in
  the same container: info. When the service was found by its image only (no mount of the
  checked files) and the port is one a service publishes on the host, the configuration may
  be a host nginx in front of the project: info.
- **A service port.** `proxy_pass http://app:3000` where `app` is a service (or an alias,
  `container_name`, `hostname`): on a Compose network every port of a container is
  reachable, `expose` only documents it (Docker: it restricts nothing between containers of
  one network), and neither `expose` nor `ports` says what the app listens on, so the port
  cannot be checked for certain. Info when the service declares other ports and not this one
  (`expose: ["8080"]`), or declares none and its image usually listens on another port (a
  guess, the image is not read); nothing when it declares the port, or when a `fastcgi_pass`
  port is one a php-fpm pool given with `--php` listens on for every address (`listen =
  9000`): the pool's config is the app's real port. A service with `network_mode: host` is on
  no Compose network (a warning), and so is nginx with `network_mode: host`, which does not
  get Docker's DNS for service names (a warning).

Names that are no service at all are GW208's (an error when close to a service name).

Compose's variable interpolation is applied with the project's `.env` (`${PORT:-3000}` takes
its default when .env does not set it); a value with a variable that has neither is left
out. The override file beside a found compose file is merged; `extends` and `include` are not
read.

## Why it matters
```
[error] connect() failed (111: Connection refused) while connecting to upstream, client: 172.18.0.1, server: , request: "GET / HTTP/1.1", upstream: "http://127.0.0.1:3000/"
```
Every request is a 502: the app listens in its own container, at `app:3000` on the
project's network. It works when nginx runs on the host beside the app and breaks as soon as
nginx moves into Compose.

## Example
```yaml
# compose.yaml
services:
  web:
    image: nginx:1.25
    volumes: ["./nginx.conf:/etc/nginx/nginx.conf:ro"]
  app:
    build: .
    expose: ["3000"]
```
```nginx
location / { proxy_pass http://127.0.0.1:3000; }
```

## Use instead
```nginx
location / { proxy_pass http://app:3000; }
```

## Fix safety
No automatic fix: the configuration may also run outside Compose."#,
};

impl Rule for ComposeUpstreamUnreachable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let Some((project, nginx, how, compose_file)) = compose_nginx(cx.ws) else {
            return;
        };
        let own_ports = listen_ports(cx.config);
        let file = project.file_name();
        for named in cx.config.named_addresses() {
            let Some(port) = named.address.effective_port() else {
                continue;
            };
            let node = cx.config.node(named.node);
            let Some(word) = node.directive.args().first() else {
                continue;
            };
            let finding = if named.address.is_loopback() {
                loopback(project, nginx, how, port, &own_ports, &file)
            } else if let Host::Name(name) = &named.address.host {
                // A php-fpm pool given with --php that takes connections from other
                // containers on this port: the app's real port, whatever expose/ports say.
                let pool = named
                    .families
                    .contains(&crate::config::Family::FastCgi)
                    .then(|| pool_on_port(cx, port))
                    .flatten();
                match pool {
                    Some(_) => None,
                    None => service_port(
                        project,
                        nginx,
                        name,
                        port,
                        named.address.port.is_some(),
                        &file,
                    ),
                }
            } else {
                None
            };
            let Some(f) = finding else { continue };
            let mut d = cx
                .diagnostic(&META, node.file, word.span(), f.message)
                .with_help(f.help);
            if let Some(id) = compose_file {
                for (span, what) in f.labels {
                    d = d.with_label(id, span, what);
                }
            }
            d.severity = d.severity.min(f.severity);
            out.push(d);
        }
    }
}

/// A php-fpm pool that listens on `port` on every address (`listen = 9000`, `0.0.0.0:9000`,
/// `[::]:9000`): reachable from other containers there.
fn pool_on_port<'a>(cx: &'a LintContext<'_, '_>, port: u16) -> Option<&'a crate::backends::Pool> {
    cx.ws.php.pools().find(|pool| {
        matches!(
            pool.listen.as_ref().map(|l| &l.value),
            Some(crate::backends::Listen::Tcp { host, port: p })
                if *p == port && matches!(host.as_deref(), None | Some("0.0.0.0" | "::" | "*"))
        )
    })
}

struct Finding {
    message: String,
    help: String,
    severity: Severity,
    labels: Vec<(crate::syntax::Span, String)>,
}

fn nginx_label(nginx: &Service, how: NginxMatch) -> (crate::syntax::Span, String) {
    let what = match how {
        NginxMatch::MountsConfig => "nginx runs here (it mounts this configuration)",
        NginxMatch::Image => "nginx runs here (its image)",
    };
    (nginx.name.span, what.to_owned())
}

/// `localhost` / 127.0.0.1 / ::1 inside nginx's container.
fn loopback(
    project: &ComposeProject,
    nginx: &Service,
    how: NginxMatch,
    port: u16,
    own_ports: &std::collections::BTreeSet<u16>,
    file: &str,
) -> Option<Finding> {
    if own_ports.contains(&port) {
        return None;
    }
    let nginx_name = &nginx.name.value;
    let others = || project.services.iter().filter(|s| s.name.value != *nginx_name);
    if nginx.host_network() {
        // Loopback is the host's: a service reaches it by publishing the port there.
        if others().any(|s| s.container_port_published_as(port).is_some() || (s.host_network() && s.declares_port(port))) {
            return None;
        }
        return Some(Finding {
            message: format!(
                "service `{nginx_name}` uses network_mode: host, so port {port} on loopback is the host's; no service of {file} publishes {port} there (a process on the host may listen on it)"
            ),
            help: format!("publish the app's port on the host (`ports: [\"127.0.0.1:{port}:PORT\"]`) or make sure a host process listens on {port}"),
            severity: Severity::Info,
            labels: vec![(nginx.network_mode.as_ref().map_or(nginx.name.span, |m| m.span), "network_mode: host".to_owned())],
        });
    }
    // A namespace shared with another service: loopback is that service's too.
    let shared_with_nginx = |s: &Service| {
        s.shares_network_of() == Some(nginx_name.as_str())
            || nginx.shares_network_of() == Some(s.name.value.as_str())
    };
    if others().any(shared_with_nginx) {
        return None;
    }
    let declaring: Vec<&Service> = others().filter(|s| s.declares_port(port)).collect();
    let publishing: Vec<(&Service, u16)> = others()
        .filter_map(|s| s.container_port_published_as(port).map(|t| (s, t)))
        .collect();
    let guessed: Vec<&Service> = others()
        .filter(|s| s.well_known_port() == Some(port))
        .collect();
    let mut labels = vec![nginx_label(nginx, how)];
    let (suggestion, help) = if let Some(s) = declaring.first() {
        labels.push((s.name.span, format!("declares port {port}")));
        (
            format!("service `{}` declares port {port}: reach it as {}:{port}", s.name.value, s.name.value),
            format!("use http://{}:{port} (the service name, on the project's network)", s.name.value),
        )
    } else if let Some((s, target)) = publishing.first() {
        labels.push((s.name.span, format!("publishes {port} on the host")));
        (
            format!("service `{}` publishes its port {target} as {port} on the host; from another container it is {}:{target}", s.name.value, s.name.value),
            format!("use http://{}:{target} (the container port, not the published one)", s.name.value),
        )
    } else if let Some(s) = guessed.first() {
        labels.push((s.name.span, format!("its image usually listens on {port}")));
        (
            format!("service `{}` (image {}) usually listens on {port} — a guess from its image, whose EXPOSE is not read", s.name.value, s.image_name().unwrap_or("?")),
            format!("use {}:{port} if that is the app", s.name.value),
        )
    } else {
        (
            format!("no service of {file} declares port {port} (expose, ports)"),
            "use the app's service name and container port (http://SERVICE:PORT)".to_owned(),
        )
    };
    let (severity, hedge) = if how == NginxMatch::Image && declaring.is_empty() && !publishing.is_empty() {
        // Found by its image only, while the port is one a service publishes on the host:
        // this configuration may as well be a host nginx in front of the project.
        (
            Severity::Info,
            " — if this configuration is the one that service runs (no mount of it was found; on the host 127.0.0.1 would reach the published port)".to_owned(),
        )
    } else if nginx.runs_nginx_image() {
        (Severity::Error, String::new())
    } else {
        (
            Severity::Info,
            format!(
                " — unless its image ({}) runs the app in the same container",
                nginx.image_name().unwrap_or("not known")
            ),
        )
    };
    Some(Finding {
        message: format!(
            "nginx runs in service `{nginx_name}` of {file}, where loopback is its own container: nothing there listens on port {port}{hedge}, so every request gets 502 \"connect() failed (111: Connection refused)\"; {suggestion}"
        ),
        help,
        severity,
        labels,
    })
}

/// `app:3000` where `app` is a service.
fn service_port(
    project: &ComposeProject,
    nginx: &Service,
    name: &str,
    port: u16,
    port_written: bool,
    file: &str,
) -> Option<Finding> {
    let service = project.service_named(name)?;
    let sname = &service.name.value;
    if service.name.value == nginx.name.value {
        return None;
    }
    if nginx.host_network() {
        let published = service
            .ports
            .iter()
            .find(|p| (p.value.target.0..=p.value.target.1).contains(&port))
            .and_then(|p| p.value.published.map(|(lo, _)| lo + (port - p.value.target.0)));
        return Some(Finding {
            message: format!(
                "nginx's service `{}` uses network_mode: host: it is on no Compose network and Docker's DNS does not answer service names there, so `{name}` does not resolve (\"host not found in upstream\") unless the host's resolver knows it",
                nginx.name.value
            ),
            help: match published {
                Some(p) => format!("use 127.0.0.1:{p}, where service `{sname}` publishes its port {port} on the host"),
                None => format!("publish service `{sname}`'s port {port} on the host and use 127.0.0.1:PUBLISHED, or drop network_mode: host"),
            },
            severity: Severity::Warning,
            labels: vec![(nginx.network_mode.as_ref().map_or(nginx.name.span, |m| m.span), "network_mode: host".to_owned())],
        });
    }
    if service.host_network() || service.network_mode.as_ref().is_some_and(|m| m.value == "none") {
        let mode = service.network_mode.as_ref().map_or("", |m| m.value.as_str());
        return Some(Finding {
            message: format!(
                "service `{sname}` uses network_mode: {mode}: it is on no Compose network, so nginx's container cannot reach it as `{name}`"
            ),
            help: "drop its network_mode, or reach it through the host (extra_hosts: [\"host.docker.internal:host-gateway\"] in nginx's service)".to_owned(),
            severity: Severity::Warning,
            labels: vec![(service.network_mode.as_ref().map_or(service.name.span, |m| m.span), format!("network_mode: {mode}"))],
        });
    }
    if service.declares_port(port) {
        return None;
    }
    let written = if port_written {
        format!("port {port}")
    } else {
        format!("port {port} (the scheme's default)")
    };
    let declared = service.declared_ports();
    if !declared.is_empty() {
        let list: Vec<String> = declared.iter().map(u16::to_string).collect();
        // `expose` opens nothing and closes nothing between containers of one network, and
        // neither `expose` nor `ports` says what the app listens on: a hint, not a failure.
        return Some(Finding {
            message: format!(
                "service `{sname}` of {file} declares port {} (expose, ports), not {written}; Compose does not restrict traffic between containers by these, and they do not say what the app listens on: check that it listens on {port} (else every request gets 502 \"connect() failed (111: Connection refused)\")",
                list.join(", ")
            ),
            help: format!("use {name}:{} if that is the app's port, or declare {port} in its `expose` to document it", declared[0]),
            severity: Severity::Info,
            labels: vec![(service.name.span, format!("declares {}", list.join(", ")))],
        });
    }
    match service.well_known_port() {
        Some(w) if w == port => None,
        Some(w) => Some(Finding {
            message: format!(
                "service `{sname}` declares no port, and its image {} usually listens on {w}, not {written} — a guess from the image name, whose EXPOSE is not read",
                service.image_name().unwrap_or("?")
            ),
            help: format!("check the port the service listens on; declare it with `expose: [\"{port}\"]`"),
            severity: Severity::Info,
            labels: vec![(service.name.span, format!("usually listens on {w}"))],
        }),
        None => Some(Finding {
            message: format!(
                "service `{sname}` of {file} declares no port (expose, ports): whether it listens on {written} is not known here"
            ),
            help: format!("declare it with `expose: [\"{port}\"]` in service `{sname}`, which documents it and lets this check compare"),
            severity: Severity::Info,
            labels: vec![(service.name.span, "declares no port".to_owned())],
        }),
    }
}
