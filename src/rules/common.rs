//! Questions several rules ask about a location, and where a fix may edit.

use foldhash::{HashMap, HashMapExt, HashSet};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::LintContext;
use crate::backends::compose::{ComposeProject, NginxMatch, Service};
use crate::config::{NodeId, ResolvedConfig};
use crate::diagnostic::Edit;
use crate::settings::Settings;
use crate::source::FileId;
use crate::system::{Accounts, WorkerUser};
use crate::workspace::Workspace;

/// A directive as written: its physical file (or, for a file outside the tree's nginx files,
/// its id) and its span.
pub(crate) type Written = (Option<usize>, usize, usize, usize);

/// An edit keyed by physical file: (physical file, start, end, content).
type PhysicalEdit = (Option<usize>, usize, usize, String);

/// How many places of the configuration each file is read into. nginx reads an included file
/// once per `include` that names it (an include inside a file read twice counts twice), so an
/// edit to a snippet changes every block that includes it. Every rule that offers a fix asks
/// [`FileUses::read_once`] before editing a file: a fix inside a file read at several places
/// is applied only when it is right in each of them; else it goes into the including block or
/// is not offered.
///
/// A file reached by two paths (a symlink and its target) is one file here, as it is for the
/// fix engine, which writes it once.
pub(crate) struct FileUses {
    /// The physical file (index into `reads`) of each nginx file.
    physical: HashMap<FileId, usize>,
    /// How often each physical file is read.
    reads: Vec<usize>,
}

impl FileUses {
    pub fn of(config: &ResolvedConfig<'_>) -> Self {
        use std::os::unix::fs::MetadataExt;
        let tree = config.tree;
        // One stat per file: the device and inode name the file behind any symlink.
        let mut by_key: HashMap<Result<(u64, u64), PathBuf>, usize> = HashMap::new();
        let mut physical = HashMap::new();
        for &id in &tree.nginx_files {
            let path = &tree.sources.get(id).path;
            let stat = (!tree.from_dump)
                .then(|| std::fs::metadata(path).ok())
                .flatten();
            let key = stat.map_or_else(|| Err(path.clone()), |m| Ok((m.dev(), m.ino())));
            let next = by_key.len();
            physical.insert(id, *by_key.entry(key).or_insert(next));
        }
        let mut reads = vec![0; by_key.len()];
        let mut count = |file: FileId| {
            if let Some(&p) = physical.get(&file) {
                reads[p] += 1;
            }
        };
        count(tree.root);
        for &include in config.nodes_named("include") {
            let n = config.node(include);
            for &target in tree.include_targets(n.file, n.directive.span()) {
                count(target);
            }
        }
        FileUses { physical, reads }
    }

    /// True when nginx reads `file` at exactly one place, so an edit to it changes that place
    /// only: the main file, or a file that one include names once.
    pub fn read_once(&self, file: FileId) -> bool {
        self.physical
            .get(&file)
            .is_some_and(|&p| self.reads[p] == 1)
    }

    /// The directive `id` as written, the same for every place its file is read into.
    pub fn written(&self, config: &ResolvedConfig<'_>, id: NodeId) -> Written {
        let n = config.node(id);
        let span = n.directive.span();
        match self.physical.get(&n.file) {
            Some(p) => (Some(*p), 0, span.start(), span.end()),
            None => (None, n.file.index(), span.start(), span.end()),
        }
    }

    /// The places a finding at the directive `id` stands for, the first time a rule meets that
    /// written directive (`seen` remembers them); empty after that. A directive in a file read
    /// once is one place; in a shared snippet it is every place the snippet is read into. The
    /// findings of one written directive are reported once (see [`crate::rules::run`]), so a
    /// rule whose fix goes into each including block gathers the edits of every place into
    /// that one finding's fix.
    pub fn places(
        &self,
        config: &ResolvedConfig<'_>,
        id: NodeId,
        seen: &mut HashSet<Written>,
    ) -> Vec<NodeId> {
        let n = config.node(id);
        if !seen.insert(self.written(config, id)) {
            return Vec::new();
        }
        if self.read_once(n.file) {
            return vec![id];
        }
        self.expansions(config, id).collect()
    }

    /// The edits of a finding that stands for `places` (see [`FileUses::places`]).
    /// `fix_at(place, strict)` gives one place's edits: `None` when that place needs none,
    /// `Err(why)` when it cannot be fixed; with `strict` it edits only files read once
    /// ([`FileUses::read_once`]: the including block rather than the shared snippet), without,
    /// any file.
    ///
    /// Every place fixed strictly: all those edits. Else, when every place gives the very same
    /// edits editing shared files too, those (one edit right in every context: a file included
    /// twice at the same level). Else the strict edits that exist, and the reasons the others
    /// have none.
    pub fn fix_for_places(
        &self,
        places: &[NodeId],
        fix_at: impl Fn(NodeId, bool) -> Option<Result<Vec<Edit>, String>>,
    ) -> (Vec<Edit>, Vec<String>) {
        let mut edits: Vec<Edit> = Vec::new();
        let mut reasons: Vec<String> = Vec::new();
        for &place in places {
            match fix_at(place, true) {
                None => {}
                Some(Ok(e)) => {
                    for edit in e {
                        if !edits.contains(&edit) {
                            edits.push(edit);
                        }
                    }
                }
                Some(Err(why)) if !reasons.contains(&why) => reasons.push(why),
                Some(Err(_)) => {}
            }
        }
        if reasons.is_empty() || places.len() < 2 {
            return (edits, reasons);
        }
        // Compared by physical file: a file reached through a symlink and its target is one.
        let key = |e: &Vec<Edit>| -> Vec<PhysicalEdit> {
            e.iter()
                .map(|x| {
                    let file = self.physical.get(&x.file).copied();
                    (file, x.span.start(), x.span.end(), x.content.clone())
                })
                .collect()
        };
        let mut same: Option<(Vec<Edit>, Vec<PhysicalEdit>)> = None;
        for &place in places {
            match (fix_at(place, false), &same) {
                (Some(Ok(e)), None) if !e.is_empty() && !key(&e).iter().any(|k| k.0.is_none()) => {
                    let k = key(&e);
                    same = Some((e, k));
                }
                (Some(Ok(e)), Some((_, k))) if key(&e) == *k => {}
                _ => return (edits, reasons),
            }
        }
        match same {
            Some((e, _)) => (e, Vec::new()),
            None => (edits, reasons),
        }
    }

    /// Every expansion of the directive written at `id` (itself included): the nodes of the
    /// same file and span, one per place the file is read into.
    pub fn expansions<'c>(
        &'c self,
        config: &'c ResolvedConfig<'_>,
        id: NodeId,
    ) -> impl Iterator<Item = NodeId> + 'c {
        let n = config.node(id);
        let (file, span) = (self.physical.get(&n.file).copied(), n.directive.span());
        config
            .nodes_named(n.name())
            .iter()
            .copied()
            .filter(move |&other| {
                let o = config.node(other);
                o.directive.span() == span
                    && (o.file == n.file
                        || (file.is_some() && self.physical.get(&o.file).copied() == file))
            })
    }
}

/// An `include` directly in `block` whose file was not read (missing, unreadable, outside a
/// checked copy): it may set anything there, so a fix must not add to that block what the file
/// could already hold (nginx would refuse the duplicate). A glob matching nothing is no such
/// include: nginx reads nothing from it either.
pub(crate) fn unread_include(config: &ResolvedConfig<'_>, block: NodeId) -> Option<NodeId> {
    let tree = config.tree;
    config.children_named(Some(block), "include").find(|id| {
        let n = config.node(*id);
        let span = n.directive.span();
        let problem = tree
            .problems
            .iter()
            .any(|p| p.file == n.file && p.span == span);
        problem
            || (tree.include_targets(n.file, span).is_empty()
                && n.arg(0).is_some_and(|a| !crate::config::is_glob(a)))
    })
}

/// The `proxy_set_header Upgrade ...` in effect for `block`, if requests there are upgraded to
/// WebSocket.
pub(crate) fn upgrade_header(cx: &LintContext<'_, '_>, block: NodeId) -> Option<NodeId> {
    cx.config
        .effective_header(block, "proxy_set_header", "upgrade")
}

/// True when a location is meant to hold connections open: WebSocket upgrade, or buffering
/// turned off (server-sent events, streaming), or a path that names such an endpoint.
pub(crate) fn is_long_lived(cx: &LintContext<'_, '_>, block: NodeId, paths: &[String]) -> bool {
    if upgrade_header(cx, block).is_some() {
        return true;
    }
    let buffering_off = [
        "proxy_buffering",
        "fastcgi_buffering",
        "uwsgi_buffering",
        "scgi_buffering",
    ]
    .iter()
    .any(|name| {
        cx.config
            .effective(block, name)
            .and_then(|id| cx.config.node(id).arg(0).map(str::to_owned))
            .is_some_and(|v| v.eq_ignore_ascii_case("off"))
    });
    if buffering_off {
        return true;
    }
    // grpc streams may legitimately stay open.
    if cx
        .config
        .handler(block)
        .is_some_and(|(f, _)| f == crate::config::Family::Grpc)
    {
        return true;
    }
    let location_path = std::iter::once(block)
        .chain(cx.config.ancestors(block))
        .filter(|id| cx.config.node(*id).name() == "location")
        .filter_map(|id| {
            cx.config
                .node(id)
                .directive
                .args()
                .last()
                .map(|a| a.as_str().to_ascii_lowercase())
        })
        .collect::<Vec<_>>();
    location_path
        .iter()
        .any(|p| paths.iter().any(|needle| p.contains(needle.as_str())))
}

/// Replaces argument `i` of a directive with `value` (keeping the word's quotes, adding them
/// when the value needs them).
pub(crate) fn replace_arg(
    config: &ResolvedConfig<'_>,
    id: NodeId,
    i: usize,
    value: &str,
) -> Option<Edit> {
    let n = config.node(id);
    let word = n.directive.args().get(i)?;
    Some(crate::diagnostic::edits::replace_word(n.file, word, value))
}

/// Adds `lines` as the first directives of `block`'s body (see
/// [`crate::diagnostic::edits::insert_directives_in_block`]).
pub(crate) fn insert_in_block(
    config: &ResolvedConfig<'_>,
    block: NodeId,
    lines: &[&str],
) -> Option<Edit> {
    let n = config.node(block);
    crate::diagnostic::edits::insert_directives_in_block(
        n.file,
        config.tree.sources.get(n.file),
        n.directive,
        lines,
    )
}

/// Adds `lines` after the directive `id` (see [`crate::diagnostic::edits::insert_directives_after`]).
pub(crate) fn insert_after(config: &ResolvedConfig<'_>, id: NodeId, lines: &[&str]) -> Edit {
    let n = config.node(id);
    crate::diagnostic::edits::insert_directives_after(
        n.file,
        config.tree.sources.get(n.file),
        n.directive.span(),
        lines,
    )
}

/// The worker user as nginx.service (when the checked system's units are read), the
/// configuration or GW302's `default-user` / `default-group` options say
/// ([`WorkerUser::of`], [`WorkerUser::with_unit`]).
pub(crate) fn worker_user(
    ws: &Workspace,
    config: &ResolvedConfig<'_>,
    settings: &Settings,
) -> WorkerUser {
    let options: super::gw302_socket_permission_denied::Options =
        super::options::read(settings, crate::codes::RuleId::GW302);
    let unit = UnitScope::of(ws)
        .root()
        .and_then(|root| crate::system::Unit::read(root, "nginx.service"));
    let accounts = Accounts::read(ws.sysroot.as_deref());
    let build = target_build(ws);
    let given =
        |s: String| (s != super::gw302_socket_permission_denied::BUILD_DEFAULT).then_some(s);
    let default = crate::system::DefaultWorker::new(
        given(options.default_user),
        given(options.default_group),
        build.as_ref().map(|(binary, b)| (binary.as_str(), b)),
        &accounts,
    );
    WorkerUser::of(config, default).with_unit(unit.as_ref(), &accounts)
}

/// The build of the nginx that will read the checked configuration, when this run can know it:
/// this machine's (`nginx -V`) when the checked nginx.conf is its `--conf-path`, or the binary
/// inside `--sysroot` (read, never run); with which binary it is, in words.
pub(crate) fn target_build(ws: &Workspace) -> Option<(String, crate::system::NginxBuild)> {
    if ws.tree.from_dump {
        return None;
    }
    if let Some(root) = &ws.sysroot {
        return crate::system::sysroot_build(root)
            .map(|(binary, b)| (format!("the --sysroot's {}", binary.display()), b));
    }
    live_build_of(ws).map(|b| ("this machine's nginx".to_owned(), b))
}

/// The Compose project, the service that runs nginx in it and why it was taken for nginx,
/// and the compose file's id; `None` without a project or when no service is nginx.
pub(crate) fn compose_nginx(
    ws: &Workspace,
) -> Option<(&ComposeProject, &Service, NginxMatch, Option<FileId>)> {
    let (project, file) = ws.compose.as_ref()?;
    let checked: Vec<PathBuf> = ws
        .tree
        .nginx_files
        .iter()
        .map(|id| crate::config::lexical_absolute(&ws.tree.sources.get(*id).path))
        .collect();
    let (service, how) = project.nginx_service(&checked)?;
    Some((project, service, how, *file))
}

/// Whose systemd units describe the checked system: those under `--sysroot`, this machine's
/// when the checked tree is its installed configuration (or its `nginx -T`), none for a copied
/// tree (its system is not this machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnitScope<'a> {
    Sysroot(&'a Path),
    Live,
    Copy,
}

impl<'a> UnitScope<'a> {
    pub fn of(ws: &'a Workspace) -> Self {
        if let Some(root) = ws.sysroot.as_deref() {
            return UnitScope::Sysroot(root);
        }
        let installed = [
            "/etc/nginx",
            "/usr/local/etc/nginx",
            "/usr/local/nginx/conf",
        ]
        .iter()
        .any(|d| ws.tree.prefix == Path::new(d));
        if ws.tree.from_dump || installed {
            UnitScope::Live
        } else {
            UnitScope::Copy
        }
    }

    /// The root to read units under (`Some(None)`: this machine), `None` for a copied tree.
    pub fn root(self) -> Option<Option<&'a Path>> {
        match self {
            UnitScope::Sysroot(r) => Some(Some(r)),
            UnitScope::Live => Some(None),
            UnitScope::Copy => None,
        }
    }

    /// The checked system's nginx and php-fpm units ([`crate::system::systemd::web_units`]).
    pub fn web_units(self) -> Vec<crate::system::Unit> {
        self.root()
            .map(crate::system::systemd::web_units)
            .unwrap_or_default()
    }

    /// Where units were looked for, for messages: "under ROOT", "on this machine".
    pub fn describe(self) -> String {
        match self {
            UnitScope::Sysroot(_) => "under --sysroot".to_owned(),
            UnitScope::Live => "on this machine".to_owned(),
            UnitScope::Copy => {
                "for a copied tree (check with --sysroot to read its system's units)".to_owned()
            }
        }
    }
}

/// The ports the configuration's `listen` directives name (`8080`, `127.0.0.1:8080`, `[::]:443`,
/// `*:80`; an address without a port is port 80): the configuration's own sockets, which are
/// no backend.
pub(crate) fn listen_ports(config: &ResolvedConfig<'_>) -> BTreeSet<u16> {
    config
        .nodes_named("listen")
        .iter()
        .filter_map(|id| {
            let arg = config.node(*id).arg(0)?;
            if arg.starts_with("unix:") {
                return None;
            }
            if let Ok(port) = arg.parse::<u16>() {
                return Some(port);
            }
            let after_host = match arg.strip_prefix('[') {
                Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
                None => arg.rfind(':').map_or("", |i| &arg[i..]),
            };
            match after_host.strip_prefix(':') {
                Some(port) => port.parse::<u16>().ok(),
                None => Some(80),
            }
        })
        .collect()
}

/// The installed nginx's build (`nginx -V`) when it is the nginx that reads the checked
/// configuration: the checked entry file is its `--conf-path` (links resolved), and the tree is
/// neither a dump nor a `--sysroot` copy. What that build knows is then a fact about the target.
pub(crate) fn live_build(cx: &LintContext<'_, '_>) -> Option<crate::system::NginxBuild> {
    live_build_of(cx.ws)
}

/// [`live_build`] of a workspace.
fn live_build_of(ws: &Workspace) -> Option<crate::system::NginxBuild> {
    if ws.tree.from_dump || ws.sysroot.is_some() {
        return None;
    }
    let entry = &ws.tree.sources.get(ws.tree.root).path;
    let build = crate::system::installed_build(std::slice::from_ref(entry))?;
    is_live(entry, &build.conf_path).then_some(build)
}

/// The checked entry file is the one the installed nginx reads (`--conf-path`), links resolved.
fn is_live(entry: &Path, conf_path: &Path) -> bool {
    match (
        std::fs::canonicalize(entry),
        std::fs::canonicalize(conf_path),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether the target nginx version is a guess: neither `--nginx-version`, settings, the
/// installed nginx (`nginx -v`) nor a `--sysroot` binary said it, so it is the newest the
/// directive table knows. Advice that holds only from some version on must say so.
pub(crate) fn target_is_guess(cx: &LintContext<'_, '_>) -> bool {
    cx.settings.directives.target_origin == crate::settings::TargetOrigin::Newest
}

/// The target version for messages: "1.22.1", or, when it is a guess, "1.29.7, assumed: no
/// target version was given (--nginx-version, settings) and no nginx binary of the target was read".
pub(crate) fn target_described(cx: &LintContext<'_, '_>) -> String {
    if target_is_guess(cx) {
        format!(
            "{}, assumed: no target version was given (--nginx-version, `nginx-version` in settings) and no nginx binary of the target was read",
            cx.directives.target
        )
    } else {
        cx.directives.target.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_dump;

    fn dump(files: &[(&str, &str)]) -> crate::config::ConfigTree {
        let text: String = files
            .iter()
            .map(|(path, text)| format!("# configuration file /etc/nginx/{path}:\n{text}\n"))
            .collect();
        load_dump(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn live_means_the_installed_nginx_reads_this_file() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, "events {}\n")?;
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(&conf, &link)?;
        assert!(super::is_live(&conf, &conf));
        assert!(super::is_live(&link, &conf));
        assert!(!super::is_live(&conf, &dir.path().join("other.conf")));
        Ok(())
    }

    #[test]
    fn files_read_at_one_place_and_at_several() {
        let tree = dump(&[
            (
                "nginx.conf",
                "events {}\nhttp {\n    include site.conf;\n    server {\n        location /a { include shared.conf; }\n        location /b { include shared.conf; }\n    }\n}",
            ),
            ("site.conf", "server { location / { include inner.conf; } }"),
            ("inner.conf", "proxy_pass http://a;"),
            ("shared.conf", "proxy_pass http://b;"),
        ]);
        let config = ResolvedConfig::build(&tree);
        let uses = FileUses::of(&config);
        let file = |name: &str| {
            tree.nginx_files
                .iter()
                .copied()
                .find(|id| tree.sources.get(*id).path.ends_with(name))
                .unwrap_or_else(|| panic!("no {name}"))
        };
        assert!(uses.read_once(tree.root));
        assert!(uses.read_once(file("site.conf")));
        assert!(uses.read_once(file("inner.conf")));
        assert!(!uses.read_once(file("shared.conf")));
        // The two expansions of the shared snippet's directive are one finding's places.
        let shared: Vec<NodeId> = config
            .nodes_named("proxy_pass")
            .iter()
            .copied()
            .filter(|id| config.node(*id).file == file("shared.conf"))
            .collect();
        assert_eq!(shared.len(), 2);
        let mut seen = HashSet::default();
        assert_eq!(uses.places(&config, shared[0], &mut seen), shared);
        assert!(uses.places(&config, shared[1], &mut seen).is_empty());
    }

    #[test]
    fn a_fix_for_several_places_is_strict_first_then_the_same_edit_everywhere() {
        let tree = dump(&[("nginx.conf", "events {}\n")]);
        let config = ResolvedConfig::build(&tree);
        let uses = FileUses::of(&config);
        let (a, b) = (NodeId(0), NodeId(0));
        let edit = |at: usize| Edit::insert(tree.root, at, "x;");
        // Strictly fixable everywhere: the union.
        let (edits, why) = uses.fix_for_places(&[a], |_, _| Some(Ok(vec![edit(1)])));
        assert_eq!((edits.len(), why.len()), (1, 0));
        // Not strictly, but the same edit at both places: that edit.
        let (edits, why) = uses.fix_for_places(&[a, b], |_, strict| {
            Some(if strict {
                Err("shared".into())
            } else {
                Ok(vec![edit(2)])
            })
        });
        assert_eq!(edits, vec![edit(2)]);
        assert!(why.is_empty());
        // Different edits per place: nothing, with the reason.
        let calls = std::cell::Cell::new(0);
        let (edits, why) = uses.fix_for_places(&[a, b], |_, strict| {
            calls.set(calls.get() + 1);
            Some(if strict {
                Err("shared".into())
            } else {
                Ok(vec![edit(calls.get())])
            })
        });
        assert!(edits.is_empty());
        assert_eq!(why, vec!["shared".to_owned()]);
    }
}
