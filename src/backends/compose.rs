//! Docker Compose: the services beside an nginx that runs in a container, read from the
//! project's compose file, for what decides where nginx's upstream addresses go: service
//! names (and aliases, `container_name`, `hostname`, `links`, `extra_hosts`), their ports
//! (`expose`, `ports`), `network_mode`, images, and which service is nginx.
//!
//! What is read, and what is not (the Compose Specification, compose-spec.io):
//! - The file: `--compose FILE`, else the first of compose.yaml, compose.yml,
//!   docker-compose.yaml, docker-compose.yml (Compose's own order of preference) in the
//!   checked directory, then in each parent up to the repository root (the first directory
//!   with a `.git`), as `docker compose` looks upward from where it runs. Outside a
//!   repository only the checked directory is looked at: a config under /etc/nginx does not
//!   pick up a file from /. With a found file (not with `--compose`), compose.override.yaml
//!   / docker-compose.override.yml beside it is merged the way Compose merges it: maps key by
//!   key, `ports`/`expose`/`volumes`/`networks` lists added to.
//! - Interpolation (`$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
//!   `${VAR:?err}`, `$$`) with the variables of the project's `.env` file; a variable it does
//!   not set takes its default; one with no default makes the value unknown (it is left
//!   out, never taken as empty). The shell's environment is not read: the machine that runs
//!   the check is not the one that deploys.
//! - YAML anchors and aliases (by the YAML loader, with its recursion and repetition limits)
//!   and merge keys (`<<: *default`, the Compose idiom for `x-` templates) are followed. YAML is
//!   read as libyaml reads it (serde_norway), as lenient as Compose's own go-yaml: a flow
//!   sequence closed at its key's indentation (`test: [` ... `]`, common in healthchecks) is
//!   accepted, which a strict YAML 1.2 reader refuses. Values carry no positions: findings
//!   point at the service's key, found in the text.
//! - Not read: `extends`, top-level `include`, profiles (every service counts), the images'
//!   own EXPOSE (the image is not pulled; a few well-known ports are named as guesses).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Located;
use crate::syntax::Span;

/// The compose file names, in Compose's order of preference.
pub const COMPOSE_FILE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// Reading a compose file failed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

/// A `ports` entry: `[HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]` or the long syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortMapping {
    pub host_ip: Option<String>,
    /// The host side, a range (`8080`, `8080-8081`); `None` when Docker picks one.
    pub published: Option<(u16, u16)>,
    /// The container side, a range.
    pub target: (u16, u16),
    pub protocol: String,
}

/// One service of the project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// The service name, where its key is written.
    pub name: Located<String>,
    pub image: Option<Located<String>>,
    /// The image of the build's Dockerfile (its last `FROM`), when it can be read.
    pub build_from: Option<String>,
    pub container_name: Option<String>,
    pub hostname: Option<String>,
    /// `network_mode` (`host`, `none`, `bridge`, `service:NAME`, `container:NAME`).
    pub network_mode: Option<Located<String>>,
    /// The networks joined, with their aliases (`networks:` as a list or a map).
    pub networks: Vec<(String, Vec<String>)>,
    pub links: Vec<String>,
    /// `extra_hosts` names (resolvable in this service's container).
    pub extra_hosts: Vec<String>,
    pub ports: Vec<Located<PortMapping>>,
    /// `expose` ranges.
    pub expose: Vec<Located<(u16, u16)>>,
    /// Bind mounts: the host path (resolved against the project directory) and the path in
    /// the container.
    pub binds: Vec<(PathBuf, String)>,
    /// Values that used a variable with no value and no default: left out, named here.
    pub unknown: Vec<String>,
}

impl Service {
    /// The image name, from `image:` or the build's Dockerfile.
    pub fn image_name(&self) -> Option<&str> {
        self.image
            .as_ref()
            .map(|i| i.value.as_str())
            .or(self.build_from.as_deref())
    }

    /// True when the image is nginx's or OpenResty's (`nginx:1.25`, `nginxinc/nginx-unprivileged`,
    /// `bitnami/nginx`, `openresty/openresty`, `docker.io/library/nginx@sha256:..`): a
    /// container that runs nginx and nothing else.
    pub fn runs_nginx_image(&self) -> bool {
        self.image_name().is_some_and(is_nginx_image)
    }

    /// The container ports declared (`expose`, the container side of `ports`) contain `port`.
    pub fn declares_port(&self, port: u16) -> bool {
        self.expose
            .iter()
            .any(|e| (e.value.0..=e.value.1).contains(&port))
            || self
                .ports
                .iter()
                .any(|p| (p.value.target.0..=p.value.target.1).contains(&port))
    }

    /// The container port published on the host as `port`, when one is.
    pub fn container_port_published_as(&self, port: u16) -> Option<u16> {
        self.ports.iter().find_map(|p| {
            let (lo, hi) = p.value.published?;
            (lo..=hi)
                .contains(&port)
                .then(|| p.value.target.0 + (port - lo))
        })
    }

    /// Every container port it declares, for messages.
    pub fn declared_ports(&self) -> Vec<u16> {
        let mut out: Vec<u16> = self
            .expose
            .iter()
            .map(|e| e.value.0)
            .chain(self.ports.iter().map(|p| p.value.target.0))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// `network_mode: host`.
    pub fn host_network(&self) -> bool {
        self.network_mode
            .as_ref()
            .is_some_and(|m| m.value == "host")
    }

    /// The service whose network namespace this one shares (`network_mode: service:NAME`).
    pub fn shares_network_of(&self) -> Option<&str> {
        self.network_mode
            .as_ref()
            .and_then(|m| m.value.strip_prefix("service:"))
    }

    /// The names this service answers to on its networks: its name, aliases, container_name,
    /// hostname.
    pub fn dns_names(&self) -> Vec<&str> {
        let mut out = vec![self.name.value.as_str()];
        out.extend(self.container_name.as_deref());
        out.extend(self.hostname.as_deref());
        for (_, aliases) in &self.networks {
            out.extend(aliases.iter().map(String::as_str));
        }
        out
    }

    /// The port an image of this kind usually listens on, as a guess (the image's EXPOSE is
    /// not read).
    pub fn well_known_port(&self) -> Option<u16> {
        let image = self.image_name()?;
        let base = image_base(image);
        let tag = image.rsplit_once(':').map_or("", |(_, t)| t);
        WELL_KNOWN_PORTS.iter().find_map(|(name, fpm_only, port)| {
            (base == *name && (!fpm_only || tag.contains("fpm"))).then_some(*port)
        })
    }
}

/// Images whose listening port is well known: (last path component, only `*fpm*` tags, port).
const WELL_KNOWN_PORTS: &[(&str, bool, u16)] = &[
    ("php", true, 9000),
    ("wordpress", true, 9000),
    ("wordpress", false, 80),
    ("httpd", false, 80),
    ("tomcat", false, 8080),
    ("grafana", false, 3000),
    ("gitea", false, 3000),
    ("ghost", false, 2368),
    ("nextcloud", true, 9000),
    ("nextcloud", false, 80),
    ("jenkins", false, 8080),
    ("node-red", false, 1880),
];

/// The repository name of an image without registry, namespace, tag or digest
/// (`docker.io/library/nginx:1.25` -> `nginx`).
fn image_base(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

fn is_nginx_image(image: &str) -> bool {
    let base = image_base(image);
    base.starts_with("nginx") || base.starts_with("openresty")
}

/// One compose project as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComposeProject {
    /// The compose file on this machine, and the override merged into it.
    pub path: PathBuf,
    pub override_path: Option<PathBuf>,
    /// Services by name, in file order.
    pub services: Vec<Service>,
    /// Networks declared `external: true`: other projects' containers may be on them.
    pub external_networks: Vec<String>,
    /// The file uses what is not read (`include`, `extends`).
    pub unread: Vec<String>,
}

/// Why a service was taken to be nginx.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NginxMatch {
    /// A bind mount puts the checked configuration into it.
    MountsConfig,
    /// Its image is nginx's or OpenResty's.
    Image,
}

impl ComposeProject {
    /// The compose file for a check of `start` (a directory or a file): see the module doc.
    pub fn discover(start: &Path) -> Option<PathBuf> {
        let start = crate::config::lexical_absolute(start);
        let first = if start.is_dir() {
            start.clone()
        } else {
            start.parent()?.to_path_buf()
        };
        let in_repo = first.ancestors().any(|d| d.join(".git").exists());
        for dir in first.ancestors() {
            if let Some(found) = COMPOSE_FILE_NAMES
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
            {
                // Shown relative to the current directory when it is under it, like the
                // checked files.
                let relative = std::env::current_dir()
                    .ok()
                    .and_then(|cwd| found.strip_prefix(cwd).ok().map(Path::to_path_buf));
                return Some(relative.unwrap_or(found));
            }
            if !in_repo || dir.join(".git").exists() {
                break;
            }
        }
        None
    }

    /// Reads `path` (and, when `with_override`, the override file beside it).
    pub fn load(path: &Path, with_override: bool) -> Result<ComposeProject, ComposeError> {
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let env = read_dotenv(&dir.join(".env"));
        let (mut doc, text) = read_yaml(path)?;
        let mut override_path = None;
        if with_override {
            let stem = if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("docker-compose"))
            {
                "docker-compose.override"
            } else {
                "compose.override"
            };
            if let Some(o) = ["yaml", "yml"]
                .iter()
                .map(|e| dir.join(format!("{stem}.{e}")))
                .find(|p| p.is_file())
            {
                let (extra, _) = read_yaml(&o)?;
                merge(&mut doc, extra);
                override_path = Some(o);
            }
        }
        let file = path.to_path_buf();
        let ctx = Ctx {
            env: &env,
            file: &file,
            dir: &dir,
        };
        let mut services = Vec::new();
        if let Some(Value::Map(entries)) = doc.get("services").map(|n| &n.value) {
            for (key, body) in entries {
                let Value::Scalar(name) = &key.value else {
                    continue;
                };
                let mut key = key.clone();
                if let Some((line, span)) = service_key(&text, name) {
                    key.line = line;
                    key.span = span;
                }
                services.push(ctx.service(name, &key, body));
            }
        }
        let external_networks = match doc.get("networks").map(|n| &n.value) {
            Some(Value::Map(entries)) => entries
                .iter()
                .filter(|(_, v)| {
                    v.get("external")
                        .and_then(|e| e.scalar())
                        .is_some_and(|e| e == "true")
                })
                .filter_map(|(k, _)| k.scalar().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let mut unread = Vec::new();
        if doc.get("include").is_some() {
            unread.push("include".to_owned());
        }
        if let Some(Value::Map(entries)) = doc.get("services").map(|n| &n.value) {
            if entries.iter().any(|(_, b)| b.get("extends").is_some()) {
                unread.push("extends".to_owned());
            }
        }
        Ok(ComposeProject {
            path: file,
            override_path,
            services,
            external_networks,
            unread,
        })
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name.value == name)
    }

    /// The service a DNS name reaches on the project's networks (service name, alias,
    /// container_name, hostname).
    pub fn service_named(&self, name: &str) -> Option<&Service> {
        self.service(name).or_else(|| {
            self.services
                .iter()
                .find(|s| s.dns_names().iter().any(|n| n.eq_ignore_ascii_case(name)))
        })
    }

    /// The service that runs nginx: the one whose bind mounts hold one of `config_files`
    /// (the checked files, as absolute paths on this machine: a mount of the file or of a
    /// directory above it; with several, the one with an nginx image), else the only one with
    /// an nginx or OpenResty image.
    pub fn nginx_service(&self, config_files: &[PathBuf]) -> Option<(&Service, NginxMatch)> {
        let mounts = |s: &&Service| {
            s.binds
                .iter()
                .any(|(src, _)| config_files.iter().any(|f| f.starts_with(src)))
        };
        let mounting: Vec<&Service> = self.services.iter().filter(mounts).collect();
        match mounting.as_slice() {
            [one] => return Some((one, NginxMatch::MountsConfig)),
            [] => {}
            several => {
                return several
                    .iter()
                    .find(|s| s.runs_nginx_image())
                    .map(|s| (*s, NginxMatch::MountsConfig))
            }
        }
        let images: Vec<&Service> = self
            .services
            .iter()
            .filter(|s| s.runs_nginx_image())
            .collect();
        match images.as_slice() {
            [one] => Some((one, NginxMatch::Image)),
            _ => None,
        }
    }

    /// The file name as shown in messages.
    pub fn file_name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// A YAML node with owned text and byte spans.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Node {
    value: Value,
    span: Span,
    line: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Value {
    Null,
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    fn scalar(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` in a map (merge keys are applied when the file is read).
    fn get(&self, key: &str) -> Option<&Node> {
        let Value::Map(entries) = &self.value else {
            return None;
        };
        entries
            .iter()
            .find(|(k, _)| k.scalar() == Some(key))
            .map(|(_, v)| v)
    }

    /// The entries of a map.
    fn entries(&self) -> Vec<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries.iter().map(|(k, v)| (k, v)).collect(),
            _ => Vec::new(),
        }
    }

    fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }
}

fn read_yaml(path: &Path) -> Result<(Node, String), ComposeError> {
    let bytes = std::fs::read(path).map_err(|source| ComposeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let syntax = |line: usize, column: usize, message: String| ComposeError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        syntax(
            1,
            1,
            format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        )
    })?;
    if text.len() > MAX_COMPOSE_BYTES {
        return Err(syntax(
            1,
            1,
            format!(
                "larger than {} MiB: not a compose file",
                MAX_COMPOSE_BYTES >> 20
            ),
        ));
    }
    if let Some((line, column)) = too_deep(&text) {
        return Err(syntax(
            line,
            column,
            format!("flow collections nested deeper than {MAX_FLOW_DEPTH}"),
        ));
    }
    let error = |e: serde_norway::Error| {
        let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        syntax(line, column, e.to_string())
    };
    let mut value: serde_norway::Value = serde_norway::from_str(&text).map_err(error)?;
    value.apply_merge().map_err(error)?;
    Ok((convert(&value, 0), text))
}

/// Compose files are a few KiB; the bounds keep a hostile one from costing time: libyaml's
/// scanner checks every open flow level for each token, so tens of thousands of nested `[`
/// take minutes.
const MAX_COMPOSE_BYTES: usize = 8 << 20;
const MAX_FLOW_DEPTH: usize = 64;

/// The line and column (1-based) where `[`/`{` nesting first passes [`MAX_FLOW_DEPTH`],
/// outside quotes and comments (a rough scan: it only has to bound the parser's work).
fn too_deep(text: &str) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = '\n';
    for c in text.chars() {
        column += 1;
        match (c, quote) {
            ('\n', _) => {
                line += 1;
                column = 0;
                comment = false;
                if quote == Some('\'') {
                    quote = None;
                }
            }
            _ if comment => {}
            ('#', None) if previous.is_whitespace() => comment = true,
            ('"' | '\'', None) => quote = Some(c),
            (q, Some(open)) if q == open => quote = None,
            ('[' | '{', None) => {
                depth += 1;
                if depth > MAX_FLOW_DEPTH {
                    return Some((line, column));
                }
            }
            (']' | '}', None) => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
    }
    None
}

/// The YAML value as a [`Node`] (positions are filled in later, from the text: serde's
/// values carry none). Deeper than the parser's own recursion limit cannot occur; the bound
/// only keeps this function's stack small.
fn convert(v: &serde_norway::Value, depth: usize) -> Node {
    use serde_norway::Value as Y;
    let value = match v {
        _ if depth > 64 => Value::Null,
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Scalar(b.to_string()),
        Y::Number(n) => Value::Scalar(n.to_string()),
        Y::String(s) => Value::Scalar(s.clone()),
        Y::Sequence(items) => Value::Seq(items.iter().map(|i| convert(i, depth + 1)).collect()),
        Y::Mapping(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (convert(k, depth + 1), convert(v, depth + 1)))
                .collect(),
        ),
        Y::Tagged(t) => return convert(&t.value, depth + 1),
    };
    Node {
        value,
        span: Span::new(0, 0),
        line: 0,
    }
}

/// Where the key of service `name` is written in a compose file's `text`: the first line
/// after `services:` that is `NAME:` (or quoted) at the services' indentation. The line
/// (1-based) and byte span; `None` when not found (a service from the override file, or one
/// written in flow style).
fn service_key(text: &str, name: &str) -> Option<(usize, Span)> {
    let mut offset = 0;
    let mut in_services = false;
    let mut indent: Option<usize> = None;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        let depth = line.len() - trimmed.len();
        if trimmed.trim().is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if depth == 0 {
            in_services = trimmed.starts_with("services:");
            continue;
        }
        if !in_services || *indent.get_or_insert(depth) != depth {
            continue;
        }
        let key = trimmed.split(':').next().unwrap_or("");
        let unquoted = key.trim_matches(|c| c == '"' || c == '\'');
        if unquoted == name {
            let at = start + depth + usize::from(key.len() != unquoted.len());
            return Some((index + 1, Span::new(at, at + name.len())));
        }
    }
    None
}

/// Merges an override document into `base` as Compose does: maps key by key, the listed
/// sequences added to, anything else replaced.
fn merge(base: &mut Node, extra: Node) {
    match (&mut base.value, extra.value) {
        (Value::Map(entries), Value::Map(more)) => {
            for (k, v) in more {
                match entries.iter_mut().find(|(ek, _)| ek.scalar() == k.scalar()) {
                    Some((_, existing)) => {
                        let name = k.scalar().unwrap_or("");
                        let append = matches!(
                            name,
                            "ports" | "expose" | "volumes" | "links" | "extra_hosts"
                        );
                        match (&mut existing.value, v.value) {
                            (Value::Seq(items), Value::Seq(add)) if append => items.extend(add),
                            (_, value) => merge_value(existing, value, v.span, v.line),
                        }
                    }
                    None => entries.push((k, v)),
                }
            }
        }
        (_, value) => {
            base.value = value;
            base.span = extra.span;
            base.line = extra.line;
        }
    }
}

fn merge_value(existing: &mut Node, value: Value, span: Span, line: usize) {
    merge(existing, Node { value, span, line });
}

/// What interpolation and paths need.
struct Ctx<'a> {
    env: &'a BTreeMap<String, String>,
    file: &'a PathBuf,
    dir: &'a PathBuf,
}

impl Ctx<'_> {
    fn located(&self, node: &Node, value: String) -> Located<String> {
        Located {
            value,
            file: self.file.clone(),
            line: node.line,
            span: node.span,
        }
    }

    /// A located value of the service whose key is `key`: YAML values carry no position, so
    /// they point at the service's key.
    fn at_key(&self, key: &Node, value: String) -> Located<String> {
        self.located(key, value)
    }

    /// A scalar, interpolated; `Err(raw)` when a variable has no value.
    fn text(&self, node: &Node) -> Option<Result<String, String>> {
        let raw = node.scalar()?;
        Some(interpolate(raw, self.env).ok_or_else(|| raw.to_owned()))
    }

    fn service(&self, name: &str, key: &Node, body: &Node) -> Service {
        let mut unknown = Vec::new();
        let mut text = |field: &str| -> Option<(String, &Node)> {
            let node = body.get(field)?;
            match self.text(node)? {
                Ok(v) => Some((v, node)),
                Err(raw) => {
                    unknown.push(format!("{field}: {raw}"));
                    None
                }
            }
        };
        let image = text("image").map(|(v, _)| self.at_key(key, v));
        let container_name = text("container_name").map(|(v, _)| v);
        let hostname = text("hostname").map(|(v, _)| v);
        let network_mode = text("network_mode").map(|(v, _)| self.at_key(key, v));
        let build_from = body.get("build").and_then(|b| self.dockerfile_from(b));
        let networks = match body.get("networks").map(|n| &n.value) {
            Some(Value::Seq(items)) => items
                .iter()
                .filter_map(|i| i.scalar().map(|s| (s.to_owned(), Vec::new())))
                .collect(),
            Some(Value::Map(_)) => body
                .get("networks")
                .map(|n| n.entries())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, v)| {
                    let aliases = v
                        .get("aliases")
                        .map(|a| {
                            a.items()
                                .iter()
                                .filter_map(|x| x.scalar().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    Some((k.scalar()?.to_owned(), aliases))
                })
                .collect(),
            _ => Vec::new(),
        };
        let list = |field: &str| -> Vec<String> {
            body.get(field)
                .map(|l| {
                    l.items()
                        .iter()
                        .filter_map(|i| self.text(i)?.ok())
                        .collect()
                })
                .unwrap_or_default()
        };
        let links = list("links")
            .into_iter()
            .map(|l| l.rsplit(':').next().unwrap_or(&l).to_owned())
            .collect();
        let extra_hosts = match body.get("extra_hosts").map(|n| &n.value) {
            Some(Value::Map(_)) => body
                .get("extra_hosts")
                .map(|n| n.entries())
                .unwrap_or_default()
                .into_iter()
                .filter_map(|(k, _)| k.scalar().map(str::to_owned))
                .collect(),
            _ => list("extra_hosts")
                .into_iter()
                .filter_map(|h| {
                    let cut = h.find([':', '='])?;
                    Some(h[..cut].to_owned())
                })
                .collect(),
        };
        let mut ports = Vec::new();
        for item in body.get("ports").map(Node::items).unwrap_or_default() {
            let parsed = match &item.value {
                Value::Map(_) => self.long_port(item),
                Value::Scalar(_) => match self.text(item) {
                    Some(Ok(v)) => parse_port(&v),
                    Some(Err(raw)) => {
                        unknown.push(format!("ports: {raw}"));
                        None
                    }
                    None => None,
                },
                _ => None,
            };
            if let Some(p) = parsed {
                ports.push(Located {
                    value: p,
                    file: self.file.clone(),
                    line: key.line,
                    span: key.span,
                });
            }
        }
        let mut expose = Vec::new();
        for item in body.get("expose").map(Node::items).unwrap_or_default() {
            match self.text(item) {
                Some(Ok(v)) => {
                    let no_proto = v.split('/').next().unwrap_or(&v);
                    if let Some(range) = parse_range(no_proto) {
                        expose.push(Located {
                            value: range,
                            file: self.file.clone(),
                            line: key.line,
                            span: key.span,
                        });
                    }
                }
                Some(Err(raw)) => unknown.push(format!("expose: {raw}")),
                None => {}
            }
        }
        let mut binds = Vec::new();
        for item in body.get("volumes").map(Node::items).unwrap_or_default() {
            let (source, target) = match &item.value {
                Value::Map(_) => {
                    let kind = item.get("type").and_then(Node::scalar).unwrap_or("volume");
                    if kind != "bind" {
                        continue;
                    }
                    let (Some(Some(Ok(s))), Some(Some(Ok(t)))) = (
                        item.get("source").map(|n| self.text(n)),
                        item.get("target").map(|n| self.text(n)),
                    ) else {
                        continue;
                    };
                    (s, t)
                }
                _ => {
                    let Some(Ok(v)) = self.text(item) else {
                        continue;
                    };
                    let mut parts = v.splitn(3, ':');
                    let (Some(s), Some(t)) = (parts.next(), parts.next()) else {
                        continue;
                    };
                    // A named volume (`data:/var/lib`) is no bind mount.
                    if !(s.starts_with('.') || s.starts_with('/') || s.starts_with('~')) {
                        continue;
                    }
                    (s.to_owned(), t.to_owned())
                }
            };
            let source = crate::config::lexical_absolute(&self.dir.join(&source));
            binds.push((source, target));
        }
        Service {
            name: self.located(key, name.to_owned()),
            image,
            build_from,
            container_name,
            hostname,
            network_mode,
            networks,
            links,
            extra_hosts,
            ports,
            expose,
            binds,
            unknown,
        }
    }

    fn long_port(&self, item: &Node) -> Option<PortMapping> {
        let field = |k: &str| item.get(k).and_then(|n| self.text(n)?.ok());
        let target = parse_range(&field("target")?)?;
        Some(PortMapping {
            host_ip: field("host_ip"),
            published: field("published").and_then(|p| parse_range(&p)),
            target,
            protocol: field("protocol").unwrap_or_else(|| "tcp".to_owned()),
        })
    }

    /// The image the build's Dockerfile ends on (its last `FROM`, `AS name` dropped; a stage
    /// name or an image with a build argument is not followed).
    fn dockerfile_from(&self, build: &Node) -> Option<String> {
        let (context, dockerfile) = match &build.value {
            Value::Scalar(_) => (self.text(build)?.ok()?, "Dockerfile".to_owned()),
            Value::Map(_) => (
                build
                    .get("context")
                    .and_then(|n| self.text(n)?.ok())
                    .unwrap_or_else(|| ".".to_owned()),
                build
                    .get("dockerfile")
                    .and_then(|n| self.text(n)?.ok())
                    .unwrap_or_else(|| "Dockerfile".to_owned()),
            ),
            _ => return None,
        };
        if context.contains("://") {
            return None;
        }
        let path = self.dir.join(context).join(dockerfile);
        let text = std::fs::read_to_string(path).ok()?;
        let last = text
            .lines()
            .map(str::trim)
            .rfind(|l| l.get(..5).is_some_and(|w| w.eq_ignore_ascii_case("FROM ")))?;
        let image = last
            .get(5..)?
            .split_whitespace()
            .find(|w| !w.starts_with("--"))?
            .to_owned();
        (!image.contains('$')).then_some(image)
    }
}

/// `3000`, `3000-3005`.
fn parse_range(text: &str) -> Option<(u16, u16)> {
    let text = text.trim();
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (a.parse().ok()?, b.parse().ok()?);
            (a <= b).then_some((a, b))
        }
        None => text.parse().ok().map(|p| (p, p)),
    }
}

/// The short `ports` syntax: `[HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]`; `HOST_IP` may be an
/// IPv6 address in brackets.
fn parse_port(text: &str) -> Option<PortMapping> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.to_owned()),
        None => (text, "tcp".to_owned()),
    };
    let (host_ip, rest) = match spec.strip_prefix('[') {
        Some(v6) => {
            let (ip, rest) = v6.split_once("]:")?;
            (Some(ip.to_owned()), rest)
        }
        None => (None, spec),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, target) = match (host_ip, parts.as_slice()) {
        (None, [t]) => (None, None, *t),
        (h, [p, t]) if h.is_some() => (h, (!p.is_empty()).then_some(*p), *t),
        (None, [p, t]) => (None, Some(*p), *t),
        (None, [ip, p, t]) => (Some((*ip).to_owned()), (!p.is_empty()).then_some(*p), *t),
        _ => return None,
    };
    Some(PortMapping {
        host_ip,
        published: match published {
            Some(p) => Some(parse_range(p)?),
            None => None,
        },
        target: parse_range(target)?,
        protocol,
    })
}

/// `KEY=VALUE` lines of a `.env` file (`#` comments, optional `export `, quotes removed).
fn read_dotenv(path: &Path) -> BTreeMap<String, String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim();
        let v = match (v.chars().next(), v.chars().last()) {
            (Some(q @ ('"' | '\'')), Some(e)) if q == e && v.len() >= 2 => &v[1..v.len() - 1],
            _ => v.split(" #").next().unwrap_or(v).trim(),
        };
        out.insert(k.trim().to_owned(), v.to_owned());
    }
    out
}

/// Compose's interpolation of one value; `None` when a variable has no value and no default
/// (or `${VAR:?err}` would fail).
pub fn interpolate(text: &str, env: &BTreeMap<String, String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = closing_brace(body)?;
            out.push_str(&expand(&body[..end], env)?);
            rest = &body[end + 1..];
        } else {
            let len = after
                .char_indices()
                .find(|(i, c)| {
                    !(c.is_ascii_alphanumeric() || *c == '_') || (*i == 0 && c.is_ascii_digit())
                })
                .map_or(after.len(), |(i, _)| i);
            if len == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            out.push_str(env.get(&after[..len])?);
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Some(out)
}

/// The index of the `}` that closes a `${`, nested `${...}` skipped.
fn closing_brace(body: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// One `${...}` body: `VAR`, `VAR:-default`, `VAR-default`, `VAR:+alt`, `VAR+alt`,
/// `VAR:?err`, `VAR?err`.
fn expand(body: &str, env: &BTreeMap<String, String>) -> Option<String> {
    let name_len = body
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(body.len(), |(i, _)| i);
    let (name, op) = body.split_at(name_len);
    let value = env.get(name);
    let set_nonempty = value.is_some_and(|v| !v.is_empty());
    let ops: [(&str, bool); 6] = [
        (":-", true),
        ("-", false),
        (":+", true),
        ("+", false),
        (":?", true),
        ("?", false),
    ];
    if op.is_empty() {
        return value.cloned();
    }
    for (prefix, colon) in ops {
        let Some(arg) = op.strip_prefix(prefix) else {
            continue;
        };
        let present = if colon { set_nonempty } else { value.is_some() };
        return match prefix.trim_start_matches(':') {
            "-" => match present {
                true => value.cloned(),
                false => interpolate(arg, env),
            },
            "+" => match present {
                true => interpolate(arg, env),
                false => Some(String::new()),
            },
            _ => match present {
                true => value.cloned(),
                false => None,
            },
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation() {
        let env: BTreeMap<String, String> = [
            ("PORT".to_owned(), "3000".to_owned()),
            ("EMPTY".to_owned(), String::new()),
        ]
        .into();
        let i = |t: &str| interpolate(t, &env);
        assert_eq!(i("${PORT}").as_deref(), Some("3000"));
        assert_eq!(i("$PORT:80").as_deref(), Some("3000:80"));
        assert_eq!(i("${NOPE:-8080}").as_deref(), Some("8080"));
        assert_eq!(i("${EMPTY:-8080}").as_deref(), Some("8080"));
        assert_eq!(i("${EMPTY-8080}").as_deref(), Some(""));
        assert_eq!(i("${NOPE:-${PORT}}").as_deref(), Some("3000"));
        assert_eq!(i("${PORT:+set}").as_deref(), Some("set"));
        assert_eq!(i("${NOPE:+set}").as_deref(), Some(""));
        assert_eq!(i("$$PORT").as_deref(), Some("$PORT"));
        assert_eq!(i("${NOPE}"), None);
        assert_eq!(i("${NOPE:?required}"), None);
        assert_eq!(i("${PORT"), None);
    }

    #[test]
    fn port_syntax() {
        let p = |t: &str| parse_port(t).map(|p| (p.host_ip, p.published, p.target));
        assert_eq!(p("3000"), Some((None, None, (3000, 3000))));
        assert_eq!(p("8080:80"), Some((None, Some((8080, 8080)), (80, 80))));
        assert_eq!(
            p("127.0.0.1:8080:80/udp"),
            Some((Some("127.0.0.1".to_owned()), Some((8080, 8080)), (80, 80)))
        );
        assert_eq!(
            p("[::1]:8080:80"),
            Some((Some("::1".to_owned()), Some((8080, 8080)), (80, 80)))
        );
        assert_eq!(
            p("9000-9001:3000-3001"),
            Some((None, Some((9000, 9001)), (3000, 3001)))
        );
        assert_eq!(
            p("127.0.0.1::80"),
            Some((Some("127.0.0.1".to_owned()), None, (80, 80)))
        );
        assert_eq!(p("x:y"), None);
    }

    #[test]
    fn nesting_bound_and_lenient_flow_indentation() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(too_deep(&"[".repeat(64)), None);
        assert_eq!(
            too_deep(&format!("a:\n  b: {}", "[".repeat(65))),
            Some((2, 70))
        );
        // Brackets in quotes and comments do not count.
        assert_eq!(
            too_deep(&format!("a: '{0}' # {0}\n", "[".repeat(100))),
            None
        );
        let dir = tempfile::tempdir()?;
        // A flow sequence closed at its key's indentation: refused by strict YAML 1.2
        // readers, accepted by Compose (go-yaml) and libyaml.
        std::fs::write(
            dir.path().join("compose.yaml"),
            "services:\n  app:\n    image: node\n    healthcheck:\n      test: [\n          \"CMD\", \"true\",\n      ]\n    expose: [\"3000\"]\n",
        )?;
        let p = ComposeProject::load(&dir.path().join("compose.yaml"), false)?;
        assert!(p.service("app").ok_or("app")?.declares_port(3000));
        std::fs::write(
            dir.path().join("compose.yaml"),
            format!("services: {}", "[".repeat(100_000)),
        )?;
        let err = ComposeProject::load(&dir.path().join("compose.yaml"), false)
            .err()
            .ok_or("no error")?;
        assert!(err.to_string().contains("deeper than 64"), "{err}");
        Ok(())
    }

    #[test]
    fn images() {
        assert!(is_nginx_image("nginx"));
        assert!(is_nginx_image("docker.io/library/nginx:1.25-alpine"));
        assert!(is_nginx_image("nginxinc/nginx-unprivileged:stable"));
        assert!(is_nginx_image("openresty/openresty@sha256:abc"));
        assert!(!is_nginx_image("node:20"));
        assert!(!is_nginx_image("trafex/php-nginx"));
    }

    #[test]
    fn project_services_merge_keys_override_and_errors() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let d = dir.path();
        std::fs::write(d.join(".env"), "APP_PORT=3000\n# c\nexport TAG='1.25'\n")?;
        std::fs::write(
            d.join("compose.yaml"),
            "x-app: &app\n  expose: [\"${APP_PORT}\"]\nservices:\n  web:\n    image: nginx:${TAG}\n    ports: [\"8080:80\"]\n    volumes:\n      - ./nginx:/etc/nginx:ro\n      - data:/data\n  app:\n    <<: *app\n    image: node:20\n    networks:\n      default:\n        aliases: [api]\n  db:\n    image: postgres\n    ports:\n      - target: 5432\n        published: \"${DB_PORT}\"\n",
        )?;
        std::fs::write(
            d.join("compose.override.yaml"),
            "services:\n  app:\n    ports: [\"9229:9229\"]\n",
        )?;
        let p = ComposeProject::load(&d.join("compose.yaml"), true)?;
        assert_eq!(p.services.len(), 3);
        let web = p.service("web").ok_or("web")?;
        assert_eq!(
            web.image.as_ref().map(|i| i.value.as_str()),
            Some("nginx:1.25")
        );
        assert_eq!(web.binds.len(), 1);
        let app = p.service_named("api").ok_or("api")?;
        assert_eq!(app.name.value, "app");
        assert!(app.declares_port(3000));
        assert!(app.declares_port(9229));
        assert_eq!(
            p.service("db")
                .and_then(|s| s.ports.first())
                .map(|p| p.value.published),
            Some(None)
        );
        let (nginx, how) = p
            .nginx_service(&[d.join("nginx/nginx.conf")])
            .ok_or("nginx")?;
        assert_eq!(
            (nginx.name.value.as_str(), how),
            ("web", NginxMatch::MountsConfig)
        );
        assert_eq!(
            p.override_path.as_deref(),
            Some(d.join("compose.override.yaml").as_path())
        );
        // The key's span is its bytes in the file.
        let text = std::fs::read_to_string(d.join("compose.yaml"))?;
        assert_eq!(&text[app.name.span.range()], "app");
        std::fs::write(d.join("bad.yaml"), "services:\n  web: [\n")?;
        let err = ComposeProject::load(&d.join("bad.yaml"), false)
            .err()
            .ok_or("no error")?;
        assert!(matches!(err, ComposeError::Syntax { line: 3, .. }), "{err}");
        Ok(())
    }

    #[test]
    fn discovery_stops_at_the_repository_root() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let d = dir.path();
        std::fs::create_dir_all(d.join("repo/.git"))?;
        std::fs::create_dir_all(d.join("repo/deploy/nginx"))?;
        std::fs::write(d.join("compose.yaml"), "services: {}\n")?;
        assert_eq!(ComposeProject::discover(&d.join("repo/deploy/nginx")), None);
        std::fs::write(d.join("repo/docker-compose.yml"), "services: {}\n")?;
        std::fs::write(d.join("repo/compose.yml"), "services: {}\n")?;
        assert_eq!(
            ComposeProject::discover(&d.join("repo/deploy/nginx")),
            Some(d.join("repo/compose.yml"))
        );
        // Outside a repository only the directory itself.
        std::fs::create_dir_all(d.join("plain/conf"))?;
        std::fs::write(d.join("plain/compose.yaml"), "services: {}\n")?;
        assert_eq!(ComposeProject::discover(&d.join("plain/conf")), None);
        assert_eq!(
            ComposeProject::discover(&d.join("plain")),
            Some(d.join("plain/compose.yaml"))
        );
        Ok(())
    }
}
