//! Reads the entry file and everything it includes. Each file is read and parsed once; include
//! arguments are resolved against the prefix (the entry file's directory), never against the
//! including file, exactly as nginx's `ngx_conf_full_name` does.

use std::collections::VecDeque;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::fs::{is_glob, Disk, Dump, FileSource, Layered, Overlay, Sysroot};
use super::{dump, ConfigTree, LoadProblem, LoadProblemKind};
use crate::directives::Context;
use crate::source::{FileId, SourceFile};
use crate::syntax::{
    parse, parse_source, Ast, DirRef, ItemRef, Items, LineIndex, ParseError, ParseErrorKind,
    Recovered, SourceText,
};

/// Why nothing could be loaded at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: no nginx.conf here, and no single file with a top-level http, events, stream or mail block{candidates}")]
    NoMainFile { path: String, candidates: String },
    #[error("standard input: not an `nginx -T` dump (no \"# configuration file PATH:\" line)")]
    NotADump,
}

/// Finds the main file of a directory: `nginx.conf`, else the single file that has a top-level
/// `http`, `events`, `stream` or `mail` block.
pub fn find_main_file(dir: &Path) -> Result<PathBuf, LoadError> {
    let direct = dir.join("nginx.conf");
    if direct.is_file() {
        return Ok(direct);
    }
    let mut candidates = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .max_depth(3)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(text) = std::fs::read(entry.path()) else {
            continue;
        };
        if text.len() > 8 << 20 {
            continue;
        }
        let Ok(ast) = parse(&text) else { continue };
        let is_main = ast
            .directives()
            .any(|d| d.has_block() && matches!(d.name(), "http" | "events" | "stream" | "mail"));
        if is_main {
            candidates.push(entry.into_path());
        }
    }
    if candidates.len() == 1 {
        return Ok(candidates.remove(0));
    }
    let listed = if candidates.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        format!(
            " (several candidates: {}; pass one of them)",
            names.join(", ")
        )
    };
    Err(LoadError::NoMainFile {
        path: dir.display().to_string(),
        candidates: listed,
    })
}

/// Loads a config from a directory (finds its main file) or a file.
pub fn load_path(path: &Path) -> Result<ConfigTree, LoadError> {
    load_path_with(path, &Overlay::default())
}

/// [`load_path`] with some files' texts replaced in memory (the fixer re-lints patched texts
/// this way). Paths, display paths and include resolution are exactly those of [`load_path`];
/// overlay keys are the absolute paths the loader reads ([`SourceFile::path`]).
pub fn load_path_with(path: &Path, overlay: &Overlay) -> Result<ConfigTree, LoadError> {
    load_path_opts(path, overlay, &LoadOptions::default())
}

/// How to read a tree beyond its path: the system it belongs to and, for a single site file,
/// where it sits in nginx's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--sysroot DIR`: the checked system's root. Every path nginx would open is resolved inside
    /// it (symlinks included, see [`Sysroot`]), and nothing outside it is read.
    pub sysroot: Option<PathBuf>,
    /// `--prefix DIR`: nginx's configuration prefix for a single site file (else found by walking
    /// up to the nginx.conf that includes it).
    pub prefix: Option<PathBuf>,
    /// `--context`: the context a single file's top level is checked in (else guessed from its
    /// top-level directives).
    pub context: Option<Context>,
}

/// [`load_path_with`] under [`LoadOptions`].
pub fn load_path_opts(
    path: &Path,
    overlay: &Overlay,
    options: &LoadOptions,
) -> Result<ConfigTree, LoadError> {
    load_path_parsed(path, overlay, options, &mut Parses::none(), &Disk)
}

/// The parses of one load, kept for the next: a file read again with the same path and the
/// same bytes is not parsed again, its syntax tree is shared (the language server re-loads a
/// tree after every keystroke, and only the edited file changed). Bounded by one tree: a
/// load keeps only the files it read.
#[derive(Debug, Default)]
pub struct ParseCache {
    files: foldhash::HashMap<PathBuf, CachedParse>,
    /// Texts read from the disk, by path: read again only when the file's size or
    /// modification time changed (see [`CachedDisk`]).
    disk: foldhash::HashMap<PathBuf, DiskText>,
    /// A single site file's nginx.conf, as last searched for (that search loads every
    /// nginx.conf above the file): by the file and the options it was searched with.
    including: Option<IncludingPrefix>,
    /// Parses reused and made by the last load that used this cache.
    pub hits: usize,
    pub misses: usize,
}

type IncludingPrefix = (PathBuf, LoadOptions, Option<(PathBuf, Option<Context>)>);

impl ParseCache {
    /// The disk may have changed in ways a file's size and time do not show (a file created
    /// that a glob now matches): the next load searches a site file's nginx.conf again.
    pub fn disk_changed(&mut self) {
        self.including = None;
    }
}

/// A file as the loader keeps it ([`read_config`]): the tree read past its syntax errors, shared
/// with the [`ParseCache`], and the errors.
#[derive(Clone, Debug)]
pub(crate) struct Parsed {
    /// The file's text, one allocation with the tree's.
    text: SourceText,
    ast: Arc<Ast>,
    errors: Vec<ParseError>,
    complete: bool,
    /// The file's `include` directives (span, argument), found once per parse: walking every
    /// file's whole tree again at each load was most of a re-load in the language server.
    includes: Arc<[(crate::syntax::Span, String)]>,
    /// The text's line starts ([`SourceFile::lines`]).
    lines: Arc<LineIndex>,
}

impl Parsed {
    /// Reads `text` ([`read_config`]), with its include directives and its line index: both
    /// kept with the parse, so a file the [`ParseCache`] reuses is not scanned again.
    fn read(text: Vec<u8>) -> Self {
        // The buffer the file was read into becomes the source text: no copy.
        let text = SourceText::new(text);
        let r = read_source(&text);
        let mut includes = Vec::new();
        collect_includes(&r.ast, &mut includes);
        Parsed {
            lines: Arc::new(LineIndex::new(&text)),
            text,
            ast: Arc::new(r.ast),
            errors: r.errors,
            complete: r.complete,
            includes: includes.into(),
        }
    }
}

#[derive(Debug)]
struct CachedParse {
    result: Parsed,
}

/// [`load_path_opts`] reusing the parses of the last load through `cache` (see [`ParseCache`]);
/// the tree is the one [`load_path_opts`] gives.
pub fn load_path_cached(
    path: &Path,
    overlay: &Overlay,
    options: &LoadOptions,
    cache: &mut ParseCache,
) -> Result<ConfigTree, LoadError> {
    let mut parses = Parses {
        previous: std::mem::take(&mut cache.files),
        including: cache.including.take(),
        keep: true,
        kept: foldhash::HashMap::default(),
        hits: 0,
        misses: 0,
    };
    let disk = CachedDisk {
        previous: std::mem::take(&mut cache.disk),
        kept: Default::default(),
    };
    let result = load_path_parsed(path, overlay, options, &mut parses, &disk);
    *cache = ParseCache {
        files: parses.kept,
        including: parses.including,
        disk: disk.kept.into_inner().unwrap_or_default(),
        hits: parses.hits,
        misses: parses.misses,
    };
    result
}

#[derive(Debug)]
struct DiskText {
    len: u64,
    modified: std::time::SystemTime,
    /// When it was read: a file modified within a second before that may have changed again
    /// in the same clock tick, so its time says nothing (git's "racy" entries).
    read_at: std::time::SystemTime,
    text: Vec<u8>,
}

/// The disk, with the texts of the last load kept: a file whose size and modification time are
/// those it had when read is not read again (one `stat` instead of a read per file).
struct CachedDisk {
    previous: foldhash::HashMap<PathBuf, DiskText>,
    kept: std::sync::Mutex<foldhash::HashMap<PathBuf, DiskText>>,
}

impl CachedDisk {
    fn read_cached(&self, path: &Path) -> io::Result<Vec<u8>> {
        let meta = std::fs::metadata(path)?;
        let modified = meta.modified().ok();
        let known = self.previous.get(path).filter(|d| {
            meta.is_file()
                && d.len == meta.len()
                && Some(d.modified) == modified
                && d.read_at
                    .duration_since(d.modified)
                    .is_ok_and(|age| age > std::time::Duration::from_secs(1))
        });
        let (text, read_at) = match known {
            Some(d) => (d.text.clone(), d.read_at),
            None => (Disk.read(path)?, std::time::SystemTime::now()),
        };
        if let Some(modified) = modified {
            let kept = DiskText {
                len: meta.len(),
                modified,
                read_at,
                text: text.clone(),
            };
            // Files are read on several threads; a poisoned lock only loses the cache.
            if let Ok(mut map) = self.kept.lock() {
                map.insert(path.to_path_buf(), kept);
            }
        }
        Ok(text)
    }
}

impl FileSource for CachedDisk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.read_cached(path)
    }
    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        Disk.glob(pattern)
    }
    fn is_file(&self, path: &Path) -> bool {
        Disk.is_file(path)
    }
    fn is_dir(&self, path: &Path) -> bool {
        Disk.is_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        Disk.exists(path)
    }
}

/// Where a load gets its parses: the previous load's (same path, same bytes), else the
/// parser; every parse used is kept for the next load.
struct Parses {
    previous: foldhash::HashMap<PathBuf, CachedParse>,
    /// The cache's [`ParseCache::including`], kept only by a load with a cache.
    including: Option<IncludingPrefix>,
    /// False for a load without a cache: nothing is kept.
    keep: bool,
    kept: foldhash::HashMap<PathBuf, CachedParse>,
    hits: usize,
    misses: usize,
}

impl Parses {
    fn none() -> Self {
        Parses {
            previous: foldhash::HashMap::default(),
            including: None,
            keep: false,
            kept: foldhash::HashMap::default(),
            hits: 0,
            misses: 0,
        }
    }

    /// [`find_including_prefix`], searched once per cache.
    fn including_prefix(
        &mut self,
        file: &Path,
        options: &LoadOptions,
    ) -> Option<(PathBuf, Option<Context>)> {
        if let Some((f, o, found)) = &self.including {
            if f == file && o == options {
                return found.clone();
            }
        }
        let found = find_including_prefix(file, options);
        if self.keep {
            self.including = Some((file.to_path_buf(), options.clone(), found.clone()));
        }
        found
    }

    /// The previous load's parse of `path` when its bytes were `text` (kept for the next).
    fn reuse(&mut self, path: &Path, text: &[u8]) -> Option<Parsed> {
        if self
            .previous
            .get(path)
            .is_none_or(|c| c.result.text != *text)
        {
            return None;
        }
        let (path, cached) = self.previous.remove_entry(path)?;
        let hit = cached.result.clone();
        if self.keep {
            self.kept.insert(path, cached);
        }
        self.hits += 1;
        Some(hit)
    }

    fn parse(&mut self, path: &Path, text: Vec<u8>) -> Parsed {
        if let Some(hit) = self.reuse(path, &text) {
            return hit;
        }
        self.misses += 1;
        let result = Parsed::read(text);
        self.keep(path, &result);
        result
    }

    fn keep(&mut self, path: &Path, result: &Parsed) {
        if !self.keep {
            return;
        }
        self.kept.insert(
            path.to_path_buf(),
            CachedParse {
                result: result.clone(),
            },
        );
    }
}

fn load_path_parsed(
    path: &Path,
    overlay: &Overlay,
    options: &LoadOptions,
    parses: &mut Parses,
    disk: &dyn FileSource,
) -> Result<ConfigTree, LoadError> {
    let sysroot = options.sysroot.as_deref().map(Sysroot::new);
    // Inside a sysroot, DIR/nginx.conf may be a link into the root (`/etc/nginx/nginx.conf ->
    // /opt/docker/etc/nginx/nginx.conf`) that this machine cannot follow.
    let linked_main = sysroot.as_ref().and_then(|root| {
        let inside = root.inside(&lexical_absolute(path))?.join("nginx.conf");
        root.resolve(&inside)
            .is_ok_and(|f| f.is_file())
            .then(|| path.join("nginx.conf"))
    });
    let main = match linked_main {
        Some(main) if path.is_dir() => main,
        _ if path.is_dir() => find_main_file(path)?,
        _ => path.to_path_buf(),
    };
    let abs_main = lexical_absolute(&main);
    let fs = Layered {
        base: disk,
        overlay,
    };
    // The main file itself may be a link (a Docker image's /etc/nginx/nginx.conf pointing into
    // /opt/docker): inside a sysroot it is followed there.
    let target_main = sysroot.as_ref().and_then(|r| r.inside(&abs_main));
    let main_file = match (&sysroot, &target_main) {
        (Some(root), Some(inside)) => root.resolve(inside).unwrap_or_else(|_| abs_main.clone()),
        _ => abs_main.clone(),
    };
    let text = fs
        .read(&main_file)
        .map_err(|source| LoadError::Unreadable {
            path: main.display().to_string(),
            source,
        })?;
    let parsed = parses.parse(&main_file, text);
    // The top level tells a site file's context; with syntax errors, the tree read past them
    // (a stray `;` in a site file does not make it nginx.conf).
    let ast = parsed.complete.then_some(&*parsed.ast);
    // A file named nginx.conf is the main file when its top level is (a directory's
    // nginx.conf always is); many repositories name a file of `server` blocks nginx.conf too.
    let is_main_file = path.is_dir()
        || (main.file_name().is_some_and(|n| n == "nginx.conf")
            && ast.is_none_or(|a| top_level_context(a) == Context::Main));
    let mut context = match options.context {
        Some(c) => c,
        None if is_main_file => Context::Main,
        None => ast.map_or(Context::Main, top_level_context),
    };
    let given_dir = main.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut prefix = abs_main.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut display_prefix = given_dir;
    let mut prefix_known = true;
    if context != Context::Main || options.prefix.is_some() {
        match &options.prefix {
            Some(p) => {
                prefix = lexical_absolute(p);
                display_prefix = p.clone();
            }
            None => match parses.including_prefix(&abs_main, options) {
                Some((found, included_in)) => {
                    display_prefix = relative_display(&display_prefix, &prefix, &found);
                    prefix = found;
                    // The context of the include that reads it is the one nginx uses.
                    if let (None, Some(c)) = (options.context, included_in) {
                        context = c;
                    }
                }
                None => prefix_known = context == Context::Main,
            },
        }
    }
    let target_prefix = sysroot.as_ref().and_then(|r| r.inside(&prefix));
    // A file of main-context lines (`load_module ...;`) that is no nginx.conf, or one that is
    // only `http { }`, `stream { }` or `mail { }` blocks (a fragment nginx.conf includes at its
    // top level, `include http.conf;` beside `events { }`; a main file is named nginx.conf): a
    // snippet whose nginx.conf has the `events` block.
    let entry_is_snippet = !is_main_file
        && options.context.is_none()
        && ast.is_none_or(|a| {
            let protocol_block =
                |d: DirRef<'_>| d.has_block() && matches!(d.name(), "http" | "stream" | "mail");
            let only_protocol_blocks =
                a.directives().next().is_some() && a.directives().all(protocol_block);
            only_protocol_blocks
                || !a.directives().any(|d| {
                    d.has_block() && matches!(d.name(), "events" | "http" | "stream" | "mail")
                })
        });
    let mut loader = Loader {
        fs: &fs,
        tree: ConfigTree {
            prefix: prefix.clone(),
            root_context: context,
            entry_is_snippet,
            ..ConfigTree::default()
        },
        display_prefix: without_dot_components(&display_prefix),
        copy: !STOCK_DIRS.iter().any(|d| prefix == Path::new(d)),
        remap_root: Some(prefix),
        resolved: Default::default(),
        links: Default::default(),
        sysroot,
        target_prefix,
        sysroot_display: options.sysroot.as_deref().map(without_dot_components),
        prefix_known,
        parses,
        includes: Default::default(),
    };
    let display = loader.display(&abs_main);
    let root = loader.add_parsed(main_file, display, parsed);
    loader.tree.root = root;
    loader.follow_includes(root);
    Ok(loader.tree)
}

/// The context a file's top level belongs in, from its directives: the one where the fewest of
/// them (nested ones included) are refused (nginx's directive table), preferring `http`, then `server`,
/// `location`, and `main` last. A site file (`server`, `upstream`, `map` ...) is `http`, a file of
/// `location` blocks `server`, a file with `events`, `http` or `user` at the top `main`.
fn top_level_context(ast: &Ast) -> Context {
    let table = crate::directives::DirectiveTable::builtin();
    // Every directive of the file, nested ones in the context their block gives them.
    let refused = |ctx: Context| {
        let mut count = 0usize;
        let mut stack: Vec<(Items<'_>, Context)> = vec![(ast.items(), ctx)];
        while let Some((items, here)) = stack.pop() {
            for node in items {
                let ItemRef::Directive(d) = node else {
                    continue;
                };
                let specs = table.get(d.name());
                if !specs.is_empty() && !specs.iter().any(|s| s.allows_context(here)) {
                    count += 1;
                }
                if let Some(block) = d.block() {
                    let inner = here.inner(d.name());
                    if !matches!(inner, Context::Entries | Context::Unknown) {
                        stack.push((block.items(), inner));
                    }
                }
            }
        }
        count
    };
    // A directive nginx allows only at the top level (`http`, `events`, `user`, `load_module`):
    // a main file, or a snippet of the main context.
    let main_only = ast.directives().any(|d| {
        let specs = table.get(d.name());
        !specs.is_empty()
            && specs.iter().all(|s| {
                s.allows_context(Context::Main)
                    && ![Context::Http, Context::Server, Context::Location]
                        .iter()
                        .any(|c| s.allows_context(*c))
            })
    });
    if main_only {
        return Context::Main;
    }
    [
        Context::Http,
        Context::Server,
        Context::Location,
        Context::Main,
    ]
    .into_iter()
    .min_by_key(|c| refused(*c))
    .unwrap_or(Context::Main)
}

/// nginx's prefix for a site file: the directory of the nearest nginx.conf above it whose tree
/// includes it (through any glob or link), with the context of the first include that reads it.
fn find_including_prefix(file: &Path, options: &LoadOptions) -> Option<(PathBuf, Option<Context>)> {
    let wanted = std::fs::canonicalize(file).ok()?;
    let main_options = LoadOptions {
        sysroot: options.sysroot.clone(),
        prefix: None,
        context: Some(Context::Main),
    };
    for dir in file.ancestors().skip(1).take(6) {
        let candidate = dir.join("nginx.conf");
        if candidate == file || !candidate.is_file() {
            continue;
        }
        let Ok(tree) = load_path_opts(&candidate, &Overlay::default(), &main_options) else {
            continue;
        };
        let Some(id) = tree.nginx_files.iter().skip(1).copied().find(|id| {
            std::fs::canonicalize(&tree.sources.get(*id).path).is_ok_and(|p| p == wanted)
        }) else {
            continue;
        };
        let config = super::ResolvedConfig::build(&tree);
        let included_in = config.nodes_named("include").iter().find_map(|inc| {
            let n = config.node(*inc);
            tree.include_targets(n.file, n.directive.span())
                .contains(&id)
                .then_some(n.context)
        });
        return Some((tree.prefix.clone(), included_in));
    }
    None
}

/// The prefix as the user would write it: `found` relative to how the file's own directory was
/// given (`sites-available` given, prefix one level up -> `sites-available/..` shown as `.`).
fn relative_display(given: &Path, given_abs: &Path, found: &Path) -> PathBuf {
    let Ok(up) = given_abs.strip_prefix(found) else {
        return found.to_path_buf();
    };
    let levels = up.components().count();
    let mut shown = given.to_path_buf();
    let mut up_dirs = PathBuf::new();
    for _ in 0..levels {
        let last_is_up = shown.file_name().is_none() && !shown.as_os_str().is_empty();
        if last_is_up || !shown.pop() {
            up_dirs.push("..");
        }
    }
    if up_dirs.as_os_str().is_empty() {
        shown
    } else {
        shown.join(up_dirs)
    }
}

/// `path` as the user wrote it, without `.` components: displayed paths never start with `./`
/// (`./site` shows as `site`, `.` as nothing).
fn without_dot_components(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// `path` made absolute without following links, `.` and `..` removed.
pub fn lexical_absolute(path: &Path) -> PathBuf {
    normalize(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// Loads one file without following its includes (`parse --no-includes`).
pub fn load_single(path: &Path) -> Result<ConfigTree, LoadError> {
    let text = super::fs::read_config_file(path).map_err(|source| LoadError::Unreadable {
        path: path.display().to_string(),
        source,
    })?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let prefix = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut parses = Parses::none();
    let mut loader = Loader {
        fs: &Disk,
        tree: ConfigTree {
            prefix,
            ..ConfigTree::default()
        },
        display_prefix: path
            .parent()
            .map(without_dot_components)
            .unwrap_or_default(),
        remap_root: None,
        copy: false,
        resolved: Default::default(),
        links: Default::default(),
        sysroot: None,
        target_prefix: None,
        sysroot_display: None,
        prefix_known: true,
        parses: &mut parses,
        includes: Default::default(),
    };
    let root = loader.add_file(abs, text);
    loader.tree.root = root;
    Ok(loader.tree)
}

/// Loads the files of an `nginx -T` dump; the first file is the main one.
pub fn load_dump(input: &[u8]) -> Result<ConfigTree, LoadError> {
    load_dump_with(input, &Overlay::default())
}

/// [`load_dump`] with some files' texts replaced in memory (keys: the paths in the dump).
pub fn load_dump_with(input: &[u8], overlay: &Overlay) -> Result<ConfigTree, LoadError> {
    let files = dump::split_dump(input);
    let Some(first) = files.first() else {
        return Err(LoadError::NotADump);
    };
    let main_path = first.path.clone();
    let prefix = main_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut dumped = Dump::default();
    for f in &files {
        dumped
            .files
            .entry(f.path.clone())
            .or_insert_with(|| f.text.clone());
    }
    let fs = Layered {
        base: &dumped,
        overlay,
    };
    let main_text = overlay
        .get(&main_path)
        .map_or_else(|| first.text.clone(), <[u8]>::to_vec);
    let mut parses = Parses::none();
    let mut loader = Loader {
        fs: &fs,
        tree: ConfigTree {
            prefix: prefix.clone(),
            from_dump: true,
            ..ConfigTree::default()
        },
        display_prefix: prefix,
        remap_root: None,
        copy: false,
        resolved: Default::default(),
        links: Default::default(),
        sysroot: None,
        target_prefix: None,
        sysroot_display: None,
        prefix_known: true,
        parses: &mut parses,
        includes: Default::default(),
    };
    let root = loader.add_file(main_path, main_text);
    loader.tree.root = root;
    loader.follow_includes(root);
    // Files in the dump that nothing included (e.g. read by a module) are still shown.
    Ok(loader.tree)
}

struct Loader<'f> {
    fs: &'f dyn FileSource,
    tree: ConfigTree,
    /// The prefix as the user wrote it, used to show paths.
    display_prefix: PathBuf,
    /// When checking a copy of a config tree outside its real location, absolute include paths
    /// (`/etc/nginx/conf.d/*.conf`) are looked up under this directory first.
    remap_root: Option<PathBuf>,
    /// The checked tree is a copy, not an installed configuration directory: a `remap_root`
    /// that is no stock nginx directory ([`Loader::is_copy`], asked for every include).
    copy: bool,
    /// Include arguments already resolved: the result depends only on the argument (paths are
    /// relative to the prefix), and a snippet is often included from thousands of places.
    resolved: foldhash::HashMap<String, Result<Vec<Target>, LoadProblemKind>>,
    /// [`Loader::copy_link`]'s answer per file: a snippet included from a thousand places
    /// is looked at once per load, not once per include (a `stat` each).
    links: foldhash::HashMap<PathBuf, Option<Result<PathBuf, LoadProblemKind>>>,
    /// `--sysroot`: every include is resolved inside it, and nothing outside it is read.
    sysroot: Option<Sysroot>,
    /// The prefix as a path of the checked system (`/etc/nginx`), when it lies in the sysroot.
    target_prefix: Option<PathBuf>,
    /// The sysroot as the user wrote it, used to show paths under it.
    sysroot_display: Option<PathBuf>,
    /// False for a single site file whose nginx.conf was not found: relative includes that
    /// resolve to nothing may exist under the real prefix.
    prefix_known: bool,
    /// The previous load's parses, and this one's for the next.
    parses: &'f mut Parses,
    /// Each file's includes ([`Parsed::includes`]).
    includes: foldhash::HashMap<FileId, Arc<[(crate::syntax::Span, String)]>>,
}

/// One file an include names.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    /// The path as nginx names it (on this machine: under the sysroot or the checked copy).
    name: PathBuf,
    /// The file read for it (symlinks inside a sysroot resolved there).
    file: PathBuf,
    /// Taken from this machine's nginx package because the checked copy lacks it.
    from_machine: bool,
}

impl Target {
    fn plain(path: PathBuf) -> Self {
        Target {
            name: path.clone(),
            file: path,
            from_machine: false,
        }
    }
}

impl Loader<'_> {
    fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.tree.prefix) {
            Ok(rel) if self.display_prefix.as_os_str().is_empty() => rel.display().to_string(),
            Ok(rel) => self.display_prefix.join(rel).display().to_string(),
            Err(_) => match (&self.sysroot, &self.sysroot_display) {
                // Under the sysroot: shown from the sysroot as the user wrote it.
                (Some(root), Some(shown)) => match path.strip_prefix(root.root()) {
                    Ok(rel) => shown.join(rel).display().to_string(),
                    Err(_) => path.display().to_string(),
                },
                _ => path.display().to_string(),
            },
        }
    }

    fn add_file(&mut self, path: PathBuf, text: Vec<u8>) -> FileId {
        let display = self.display(&path);
        self.add_file_as(path, display, text)
    }

    fn add_file_as(&mut self, path: PathBuf, display: String, text: Vec<u8>) -> FileId {
        let result = self.parses.parse(&path, text);
        self.add_parsed(path, display, result)
    }

    /// Adds a parsed file: its text is the parse's (the bytes read, shared with the tree).
    fn add_parsed(&mut self, path: PathBuf, display: String, result: Parsed) -> FileId {
        let text = result.text.clone();
        let id = self
            .tree
            .sources
            .add(SourceFile::with_lines(path, display, text, result.lines));
        self.tree.nginx_files.push(id);
        if !result.complete {
            self.tree.incomplete.push(id);
        }
        self.tree
            .parse_errors
            .extend(result.errors.iter().cloned().map(|e| (id, e)));
        self.tree.asts.insert(id, result.ast);
        self.includes.insert(id, result.includes);
        id
    }

    /// Breadth-first over files: every include of every file read so far. The files one
    /// include names (a glob's matches) are read in order, then parsed in parallel, then
    /// added in order, so file ids, problems and output are what a sequential run gives.
    fn follow_includes(&mut self, root: FileId) {
        let mut queue = VecDeque::from([root]);
        while let Some(file) = queue.pop_front() {
            let includes = self
                .includes
                .get(&file)
                .cloned()
                .unwrap_or_else(|| [].into());
            for (span, arg) in includes.iter() {
                let (span, arg) = (*span, arg.as_str());
                let targets = self.resolve_include(file, span, arg);
                let mut read = Vec::with_capacity(targets.len());
                // Where each file first read for this include is in `read` (a glob of
                // thousands of files must not compare every path with every other).
                let mut new_at: foldhash::HashMap<PathBuf, usize> = Default::default();
                for mut target in targets {
                    let step = match self.copy_link_once(&target.file) {
                        Some(Ok(inside)) => {
                            target.file = inside;
                            None
                        }
                        Some(Err(kind)) => Some(Read::Problem(kind)),
                        None => None,
                    };
                    let step = step.unwrap_or_else(|| {
                        if let Some(id) = self.tree.sources.find(&target.file) {
                            return Read::Known(id);
                        }
                        match new_at.get(&target.file) {
                            Some(i) => Read::Again(*i),
                            None => {
                                new_at.insert(target.file.clone(), read.len());
                                Read::Unread(target)
                            }
                        }
                    });
                    read.push(step);
                }
                read_all(&mut read, self.fs);
                for i in 0..read.len() {
                    let problem = match &read[i] {
                        Read::Failed(target, e) => LoadProblemKind::IncludeUnreadable {
                            path: self.display(&target.name),
                            reason: io_reason(e),
                        },
                        // The same file again after a failed read: the same problem again.
                        Read::Again(first) => match read.get(*first) {
                            Some(Read::Problem(kind)) => kind.clone(),
                            _ => continue,
                        },
                        _ => continue,
                    };
                    read[i] = Read::Problem(problem);
                }
                let mut parsed = parse_all(&mut read, self.parses).into_iter();
                let mut added: Vec<Option<FileId>> = Vec::with_capacity(read.len());
                let mut ids = Vec::with_capacity(read.len());
                for step in read {
                    let id = match step {
                        Read::Problem(kind) => {
                            self.tree.problems.push(LoadProblem { file, span, kind });
                            None
                        }
                        // [`read_all`] read them all; the failures became problems above.
                        Read::Unread(_) | Read::Failed(..) => None,
                        Read::Known(id) => Some(id),
                        Read::Again(i) => added.get(i).copied().flatten(),
                        Read::New(target, _) => {
                            let Some(result) = parsed.next() else {
                                added.push(None);
                                continue;
                            };
                            let display = self.display(&target.name);
                            let id = self.add_parsed(target.file.clone(), display, result);
                            if target.from_machine {
                                // Said once, at the first include that reads it.
                                self.tree.machine_files.push(id);
                                self.tree.problems.push(LoadProblem {
                                    file,
                                    span,
                                    kind: LoadProblemKind::ReadFromMachine {
                                        path: target.file.display().to_string(),
                                    },
                                });
                            }
                            queue.push_back(id);
                            Some(id)
                        }
                    };
                    added.push(id);
                    ids.extend(id);
                }
                self.tree.includes.insert((file, span.start()), ids);
            }
        }
    }

    /// The files an include argument names, in the order nginx reads them; a problem is
    /// recorded at this include when the argument names nothing readable.
    fn resolve_include(
        &mut self,
        file: FileId,
        span: crate::syntax::Span,
        arg: &str,
    ) -> Vec<Target> {
        let result = match self.resolved.get(arg) {
            Some(r) => r.clone(),
            None => {
                let r = match &self.sysroot {
                    Some(root) => self.resolve_in_sysroot(root, arg),
                    None => self.resolve_uncached(arg),
                };
                self.resolved.insert(arg.to_owned(), r.clone());
                r
            }
        };
        match result {
            Ok(paths) => paths,
            Err(kind) => {
                self.tree.problems.push(LoadProblem { file, span, kind });
                Vec::new()
            }
        }
    }

    /// An include under `--sysroot`: the path nginx on that system opens, resolved inside the
    /// root (its own symlinks, `..` bounded by the root). Relative paths are taken from the
    /// prefix; when the checked prefix is not inside the root, from the prefix as given.
    fn resolve_in_sysroot(
        &self,
        root: &Sysroot,
        arg: &str,
    ) -> Result<Vec<Target>, LoadProblemKind> {
        let target = if Path::new(arg).is_absolute() {
            PathBuf::from(arg)
        } else if let Some(prefix) = &self.target_prefix {
            prefix.join(arg)
        } else {
            // A tree given outside the sysroot: its relative includes are its own files.
            let full = normalize(&self.tree.prefix.join(arg));
            return self.resolve_plain_on_disk(&full, arg);
        };
        if is_glob(arg) {
            return match root.glob(&target) {
                Ok(found) => Ok(found
                    .into_iter()
                    .map(|m| Target {
                        name: m.name,
                        file: m.file,
                        from_machine: false,
                    })
                    .collect()),
                Err(e) => Err(self.unlistable(&e, &root.lexical(&target))),
            };
        }
        let name = root.lexical(&target);
        let file = root
            .resolve(&target)
            .map_err(|e| LoadProblemKind::IncludeUnreadable {
                path: self.display(&name),
                reason: io_reason(&e),
            })?;
        if self.fs.is_file(&file) {
            return Ok(vec![Target {
                name,
                file,
                from_machine: false,
            }]);
        }
        Err(self.missing_kind(&file, &name))
    }

    /// Why a plain include path names no readable file: a directory, something that is not a
    /// regular file, or nothing at all.
    fn missing_kind(&self, file: &Path, name: &Path) -> LoadProblemKind {
        if self.fs.is_dir(file) {
            return LoadProblemKind::IncludeUnreadable {
                path: self.display(name),
                reason: "is a directory".to_owned(),
            };
        }
        if self.fs.exists(file) {
            return LoadProblemKind::IncludeUnreadable {
                path: self.display(name),
                reason: "not a regular file".to_owned(),
            };
        }
        if !self.prefix_known {
            return LoadProblemKind::PrefixUnknown {
                path: self.display(name),
            };
        }
        LoadProblemKind::IncludeNotFound {
            path: self.display(name),
        }
    }

    /// A glob whose directory cannot be listed: what it would include cannot be known.
    fn unlistable(&self, e: &io::Error, pattern: &Path) -> LoadProblemKind {
        let dir = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<super::fs::UnlistableDir>());
        match dir {
            Some(d) => LoadProblemKind::IncludeUnreadable {
                path: self.display(&d.dir),
                reason: format!("{}{}", io_reason(&d.source), super::UNLISTABLE_SUFFIX),
            },
            None => LoadProblemKind::IncludeUnreadable {
                path: self.display(pattern),
                reason: io_reason(e),
            },
        }
    }

    /// A path read as it is on this disk (no re-rooting, no stock files).
    fn resolve_plain_on_disk(
        &self,
        full: &Path,
        arg: &str,
    ) -> Result<Vec<Target>, LoadProblemKind> {
        if is_glob(arg) {
            return match self.fs.glob(full) {
                Ok(found) => Ok(found.into_iter().map(Target::plain).collect()),
                Err(e) => Err(self.unlistable(&e, full)),
            };
        }
        if self.fs.is_file(full) {
            return Ok(vec![Target::plain(full.to_path_buf())]);
        }
        Err(self.missing_kind(full, full))
    }

    fn resolve_uncached(&self, arg: &str) -> Result<Vec<Target>, LoadProblemKind> {
        let full = normalize(&self.tree.prefix.join(arg));
        let candidates = self.remapped(&full);
        // Checking a copy of a tree (a repository, a build context): an absolute path outside
        // it is not read from this machine, whose files there belong to another setup.
        let outside_copy = self.is_copy() && !full.starts_with(&self.tree.prefix);
        let direct = (!outside_copy).then_some(&full);
        if is_glob(arg) {
            for candidate in candidates.iter().chain(direct) {
                match self.fs.glob(candidate) {
                    Ok(found) if !found.is_empty() => {
                        return Ok(found.into_iter().map(Target::plain).collect())
                    }
                    Ok(_) => {}
                    // The directory is there but cannot be listed: what it holds is unknown.
                    Err(e) if e.kind() != io::ErrorKind::InvalidInput => {
                        return Err(self.unlistable(&e, candidate))
                    }
                    Err(_) => {}
                }
            }
            // The directory exists inside the copy and is empty (Debian's conf.d): the glob
            // matches nothing there, as it would for nginx.
            if outside_copy
                && candidates
                    .iter()
                    .any(|c| self.fs.is_dir(&literal_parent(c)))
            {
                return Ok(Vec::new());
            }
            if outside_copy {
                return Err(LoadProblemKind::OutsideTree {
                    path: self.display(&full),
                });
            }
            // nginx: a glob matching nothing is not an error.
            return Ok(Vec::new());
        }
        for candidate in candidates.iter().chain(direct) {
            if self.fs.is_file(candidate) {
                return Ok(vec![Target::plain(candidate.clone())]);
            }
        }
        // A link that leaves the copy and dangles here names a file of the target system: it
        // is taken as a glob's match is ([`Loader::copy_link`]), not called missing. One that
        // leads to something that is not a regular file here (`/dev/zero`) is refused below.
        if let Some(link) = candidates
            .iter()
            .chain(direct)
            .find(|c| !self.fs.exists(c) && self.copy_link(c).is_some())
        {
            return Ok(vec![Target::plain(link.clone())]);
        }
        if !outside_copy && (self.fs.is_dir(&full) || self.fs.exists(&full)) {
            return Err(self.missing_kind(&full, &full));
        }
        if self.remap_root.is_some() {
            if let Some(stock) = stock_file(arg) {
                // A copied tree often leaves out the files the nginx package installs
                // (mime.types, fastcgi_params): nginx on the target has them. Read the
                // package's copy on this machine when there is one, and say so.
                for dir in STOCK_DIRS {
                    let candidate = Path::new(dir).join(stock);
                    if self.fs.is_file(&candidate) {
                        return Ok(vec![Target {
                            name: candidate.clone(),
                            file: candidate,
                            from_machine: true,
                        }]);
                    }
                }
                return Err(LoadProblemKind::StockIncludeMissing {
                    path: self.display(&full),
                });
            }
        }
        if outside_copy {
            return Err(LoadProblemKind::OutsideTree {
                path: self.display(&full),
            });
        }
        Err(self.missing_kind(&full, &full))
    }

    /// [`Loader::copy_link`], asked once per file and load.
    fn copy_link_once(&mut self, path: &Path) -> Option<Result<PathBuf, LoadProblemKind>> {
        if let Some(known) = self.links.get(path) {
            return known.clone();
        }
        let answer = self.copy_link(path);
        self.links.insert(path.to_path_buf(), answer.clone());
        answer
    }

    /// In a checked copy, a symlink that leaves the copy (`sites-enabled/default ->
    /// /etc/nginx/sites-available/default`) names a file of the target system: it is read from
    /// the same place inside the copy when there is one, else not read (never this machine's
    /// file). `None` for anything else.
    fn copy_link(&self, path: &Path) -> Option<Result<PathBuf, LoadProblemKind>> {
        if self.sysroot.is_some() || !self.is_copy() {
            return None;
        }
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.file_type().is_symlink() {
            return None;
        }
        let inside_copy = std::fs::canonicalize(&self.tree.prefix)
            .ok()
            .zip(std::fs::canonicalize(path).ok())
            .is_some_and(|(root, real)| real.starts_with(root));
        if inside_copy {
            return None;
        }
        let target = std::fs::read_link(path).ok()?;
        // A relative link that stays inside the copy is the copy's own (dangling or not).
        if target.is_relative() {
            let lexical = normalize(&path.parent().unwrap_or(Path::new("")).join(&target));
            if lexical.starts_with(&self.tree.prefix) {
                return None;
            }
        }
        if target.is_absolute() {
            if let Some(found) = self
                .remapped(&target)
                .into_iter()
                .find(|c| self.fs.is_file(c))
            {
                return Some(Ok(found));
            }
        }
        Some(Err(LoadProblemKind::OutsideTree {
            path: format!("{} -> {}", self.display(path), target.display()),
        }))
    }

    /// True when the checked tree is a copy, not an installed configuration directory.
    fn is_copy(&self) -> bool {
        self.copy
    }

    /// For an absolute path outside the checked tree, the same path re-rooted under the tree
    /// ([`reroot_candidates`]), most specific first.
    fn remapped(&self, full: &Path) -> Vec<PathBuf> {
        let Some(root) = &self.remap_root else {
            return Vec::new();
        };
        // Down to the bare file name only where the include's directory is where this tree
        // plausibly sits on the target: a stock nginx directory, or one named like the tree's
        // own (`/etc/nginx/x.conf` for a tree checked from `deploy/nginx/`). Elsewhere a file
        // of the tree that merely has the same name would be read instead
        // (`/opt/app/nginx.conf` became the tree's own nginx.conf: a false include cycle).
        let home_dir = full.parent().is_some_and(|dir| {
            STOCK_DIRS.iter().any(|d| dir == Path::new(d))
                || (dir.file_name().is_some() && dir.file_name() == root.file_name())
        });
        reroot_candidates(root, full, home_dir)
    }
}

/// An absolute path (or glob) outside a copied tree at `root`, re-rooted under it: by each
/// suffix in turn, longest first (`/etc/nginx/conf.d/a.conf` tries `ROOT/nginx/conf.d/a.conf`,
/// then `ROOT/conf.d/a.conf`, ...), kept where the suffix's literal directory exists in the
/// copy; the bare file name alone only when `bare_name` allows it and the name is no glob
/// (a glob would match every file of the copy's top directory). Empty for a path inside
/// `root`. Shared by nginx includes and php-fpm `include=` patterns.
pub(crate) fn reroot_candidates(root: &Path, full: &Path, bare_name: bool) -> Vec<PathBuf> {
    if full.starts_with(root) {
        return Vec::new();
    }
    let parts: Vec<Component<'_>> = full
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .collect();
    let last_is_glob = parts
        .last()
        .is_some_and(|c| is_glob(&c.as_os_str().to_string_lossy()));
    let mut out = Vec::new();
    for skip in 1..parts.len() {
        let rel: PathBuf = parts[skip..].iter().collect();
        let candidate = root.join(&rel);
        let literal_dir = literal_parent(&candidate);
        let is_bare = skip + 1 == parts.len();
        if literal_dir != *root && literal_dir.is_dir() || (is_bare && bare_name && !last_is_glob) {
            out.push(candidate);
        }
    }
    out
}

/// Where nginx packages install their configuration files.
const STOCK_DIRS: &[&str] = &[
    "/etc/nginx",
    "/usr/local/etc/nginx",
    "/usr/local/nginx/conf",
];

/// Files every nginx package installs next to nginx.conf (and Debian's snippets).
const STOCK_FILES: &[&str] = &[
    "mime.types",
    "fastcgi_params",
    "fastcgi.conf",
    "scgi_params",
    "uwsgi_params",
    "koi-utf",
    "koi-win",
    "win-utf",
    "proxy_params",
    "snippets/fastcgi-php.conf",
    "snippets/snakeoil.conf",
];

/// The stock file an include argument names (`mime.types`, `/etc/nginx/fastcgi_params`), as a
/// path relative to the package's configuration directory.
fn stock_file(arg: &str) -> Option<&'static str> {
    let rel = STOCK_DIRS
        .iter()
        .find_map(|d| arg.strip_prefix(d).and_then(|r| r.strip_prefix('/')))
        .unwrap_or(arg);
    STOCK_FILES.iter().copied().find(|s| *s == rel)
}

/// The directory part of a (possibly glob) path before its first wildcard component.
fn literal_parent(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        if is_glob(&c.as_os_str().to_string_lossy()) {
            break;
        }
        out.push(c);
    }
    if out == path {
        out.pop();
    }
    out
}

/// Removes `.` and resolves `..` lexically (nginx passes the string to open(), where `..` after
/// a symlink would differ; configs use `..` rarely and never through links).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// An I/O error as nginx prints it: `2: No such file or directory` (errno and strerror).
fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "2: No such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "13: Permission denied".to_owned(),
        _ => match e.raw_os_error() {
            Some(40) => "40: Too many levels of symbolic links".to_owned(),
            _ => e.to_string(),
        },
    }
}

/// One target of an include, read but not yet added.
enum Read {
    /// Already in the tree.
    Known(FileId),
    /// The same file as an earlier target of this include.
    Again(usize),
    New(Target, Vec<u8>),
    /// A file to read ([`read_all`] makes it `New` or `Failed`).
    Unread(Target),
    Failed(Target, std::io::Error),
    Problem(LoadProblemKind),
}

/// Reads every [`Read::Unread`] file of one include, on every core when there are several
/// (the kernel's copy into a fresh buffer is a good part of a load); each becomes
/// [`Read::New`] with its text or [`Read::Failed`], in place.
fn read_all(read: &mut [Read], fs: &dyn FileSource) {
    let one = |r: &mut Read| {
        if !matches!(r, Read::Unread(_)) {
            return;
        }
        if let Read::Unread(target) = std::mem::replace(r, Read::Again(usize::MAX)) {
            *r = match fs.read(&target.file) {
                Ok(text) => Read::New(target, text),
                Err(e) => Read::Failed(target, e),
            };
        }
    };
    if read.iter().filter(|r| matches!(r, Read::Unread(_))).count() < 2 {
        read.iter_mut().for_each(one);
    } else {
        use rayon::prelude::*;
        read.par_iter_mut().for_each(one);
    }
}

/// Below this many bytes a batch is parsed on this thread: spreading it costs more than it saves.
const PARALLEL_PARSE_BYTES: usize = 256 * 1024;

/// The parse of every [`Read::New`] text, in order: the previous load's when the bytes are
/// the same, else parsed, across threads when the batch is large.
fn parse_all(read: &mut [Read], parses: &mut Parses) -> Vec<Parsed> {
    let mut out: Vec<Option<Parsed>> = Vec::new();
    // The texts not reused are moved out of `read` into their parses (the buffer each file
    // was read into becomes its source text); `read` keeps the targets.
    let mut missing: Vec<Vec<u8>> = Vec::new();
    let mut paths: Vec<&Path> = Vec::new();
    for r in read.iter_mut() {
        if let Read::New(target, text) = r {
            let hit = parses.reuse(&target.file, text);
            if hit.is_none() {
                missing.push(std::mem::take(text));
            }
            out.push(hit);
            paths.push(target.file.as_path());
        }
    }
    parses.misses += missing.len();
    let bytes: usize = missing.iter().map(|t| t.len()).sum();
    let fresh: Vec<Parsed> = if missing.len() < 2 || bytes < PARALLEL_PARSE_BYTES {
        missing.into_iter().map(Parsed::read).collect()
    } else {
        use rayon::prelude::*;
        missing.into_par_iter().map(Parsed::read).collect()
    };
    let mut fresh = fresh.into_iter();
    paths
        .into_iter()
        .zip(out)
        .filter_map(|(path, reused)| match reused {
            Some(hit) => Some(hit),
            None => {
                let result = fresh.next()?;
                parses.keep(path, &result);
                Some(result)
            }
        })
        .collect()
}

/// Parses a config file, refusing binary files with a clear message: a NUL byte in a token (a
/// directive name or argument) or in a file that does not parse. NUL bytes inside comments are
/// harmless to nginx and accepted. Only the first error, as nginx reports it.
pub(crate) fn parse_config(text: &[u8]) -> Result<Ast, ParseError> {
    let r = read_config(text);
    match r.errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(r.ast),
    }
}

/// [`parse_config`] read past syntax errors ([`parse_recovering`]): what the loader keeps, so
/// that the checks see every directive and nginx's first error is among the findings. A binary
/// file is not read at all.
pub(crate) fn read_config(text: &[u8]) -> Recovered {
    read_source(&SourceText::from(text))
}

/// [`read_config`] of a shared text: the tree keeps it, as its file in the source map does.
fn read_source(source: &SourceText) -> Recovered {
    let r = parse_source(source.clone());
    let text = source.as_bytes();
    let Some(first_nul) = memchr::memchr(0, text) else {
        return r;
    };
    let binary = |at: usize| Recovered {
        ast: Ast::of_text(source.clone()),
        errors: vec![ParseError {
            kind: ParseErrorKind::Unexpected(0),
            offset: at,
            message: "binary file: NUL byte where nginx expects configuration text".to_owned(),
        }],
        complete: false,
    };
    if !r.errors.is_empty() {
        return binary(first_nul);
    }
    let comments = comment_spans(&r.ast);
    for at in memchr::memchr_iter(0, text) {
        // The last comment starting at or before `at` is the only one that can hold it.
        let before = comments.partition_point(|c| c.start() <= at);
        let inside = before > 0 && at < comments[before - 1].end();
        if !inside {
            return binary(at);
        }
    }
    r
}

/// Spans of every comment of a tree, at any depth, inner comments included (sorted).
fn comment_spans(ast: &crate::syntax::Ast) -> Vec<crate::syntax::Span> {
    let mut out: Vec<crate::syntax::Span> = ast.comments().map(|c| c.span()).collect();
    for d in ast.walk() {
        out.extend(d.inner_comments().map(|c| c.span()));
    }
    out.sort_unstable();
    out
}

/// Every `include FILE;` in a file, at any depth, with its span and argument.
fn collect_includes(ast: &crate::syntax::Ast, out: &mut Vec<(crate::syntax::Span, String)>) {
    for d in ast.walk() {
        if is_include(d.name()) {
            if let Some([arg]) = d.args().array() {
                out.push((d.span(), arg.as_str().to_owned()));
            }
        }
    }
}

/// The directive name of `include FILE;` (the loader reads its files, the expansion puts
/// their directives in its place).
pub(crate) fn is_include(name: &str) -> bool {
    name == "include"
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a load gives, in a form two loads can be compared by.
    fn shape(t: &ConfigTree) -> Vec<String> {
        let mut out: Vec<String> = t
            .nginx_files
            .iter()
            .map(|id| {
                let f = t.sources.get(*id);
                format!("{} {:?} {:?}", f.display, f.text, t.ast(*id))
            })
            .collect();
        out.push(format!("{:?}", t.problems));
        let mut includes: Vec<_> = t.includes.iter().collect();
        includes.sort();
        out.push(format!("{includes:?}"));
        out
    }

    #[test]
    fn cached_loads_reuse_parses_and_give_the_same_tree() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let root = std::fs::canonicalize(dir.path())?;
        std::fs::create_dir(root.join("sites"))?;
        std::fs::write(
            root.join("nginx.conf"),
            "events {}\nhttp {\n    include sites/*.conf;\n    include missing.conf;\n}\n",
        )?;
        let site = |n: u32| format!("server {{\n    listen {n};\n}}\n");
        for n in 0..3 {
            std::fs::write(root.join(format!("sites/{n}.conf")), site(8000 + n))?;
        }
        let main = root.join("nginx.conf");
        let options = LoadOptions::default();
        let mut cache = ParseCache::default();
        let mut overlay = Overlay::default();
        let first = load_path_cached(&main, &overlay, &options, &mut cache)?;
        assert_eq!((cache.hits, cache.misses), (0, 4));
        assert_eq!(
            shape(&first),
            shape(&load_path_opts(&main, &overlay, &options)?)
        );

        // One file changed in the editor: only it is parsed again.
        overlay.insert(root.join("sites/1.conf"), site(9001).into_bytes());
        let second = load_path_cached(&main, &overlay, &options, &mut cache)?;
        assert_eq!((cache.hits, cache.misses), (3, 1));
        assert_eq!(
            shape(&second),
            shape(&load_path_opts(&main, &overlay, &options)?)
        );
        let ids = |t: &ConfigTree, name: &str| t.sources.find(&root.join(name));
        let ast_of = |t: &ConfigTree, name: &str| {
            ids(t, name)
                .and_then(|id| t.ast(id))
                .map(|a| a as *const Ast)
        };
        // The syntax trees of unchanged files are shared, not copied.
        assert_eq!(
            ast_of(&first, "sites/0.conf"),
            ast_of(&second, "sites/0.conf")
        );
        assert_ne!(
            ast_of(&first, "sites/1.conf"),
            ast_of(&second, "sites/1.conf")
        );

        // A file rewritten on disk right away with the same length is read again (its time
        // cannot tell), and a new file the glob matches is read.
        std::fs::write(root.join("sites/2.conf"), site(7002))?;
        std::fs::write(root.join("sites/3.conf"), site(8003))?;
        let third = load_path_cached(&main, &overlay, &options, &mut cache)?;
        assert_eq!((cache.hits, cache.misses), (3, 2));
        assert_eq!(
            shape(&third),
            shape(&load_path_opts(&main, &overlay, &options)?)
        );
        Ok(())
    }

    #[test]
    fn disk_texts_are_read_again_only_when_size_or_time_changed(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let main = std::fs::canonicalize(dir.path())?.join("nginx.conf");
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        let write = |text: &str| -> std::io::Result<()> {
            std::fs::write(&main, text)?;
            std::fs::File::options()
                .write(true)
                .open(&main)?
                .set_modified(old)
        };
        write("events {}\n")?;
        let (overlay, options) = (Overlay::default(), LoadOptions::default());
        let mut cache = ParseCache::default();
        let text = |t: &ConfigTree| t.sources.get(t.root).text.to_vec();
        assert_eq!(
            text(&load_path_cached(&main, &overlay, &options, &mut cache)?),
            b"events {}\n"
        );
        // Same size, same time: taken as unchanged, not read (what a `stat` can tell).
        write("events{ }\n")?;
        assert_eq!(
            text(&load_path_cached(&main, &overlay, &options, &mut cache)?),
            b"events {}\n"
        );
        // Another size: read again.
        write("events {  }\n")?;
        assert_eq!(
            text(&load_path_cached(&main, &overlay, &options, &mut cache)?),
            b"events {  }\n"
        );
        Ok(())
    }

    #[test]
    fn a_site_files_nginx_conf_is_searched_once_per_cache() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let root = std::fs::canonicalize(dir.path())?;
        std::fs::create_dir(root.join("sites"))?;
        let main = root.join("nginx.conf");
        std::fs::write(&main, "events {}\nhttp {\n    include sites/*.conf;\n}\n")?;
        let site = root.join("sites/a.conf");
        std::fs::write(&site, "server {\n    listen 80;\n}\n")?;
        let (overlay, options) = (Overlay::default(), LoadOptions::default());
        let mut cache = ParseCache::default();
        let prefix = |cache: &mut ParseCache| -> Result<PathBuf, LoadError> {
            Ok(load_path_cached(&site, &overlay, &options, cache)?.prefix)
        };
        assert_eq!(prefix(&mut cache)?, root);
        // nginx.conf no longer includes it: the search is not made again on every load...
        std::fs::write(&main, "events {}\nhttp {\n}\n")?;
        assert_eq!(prefix(&mut cache)?, root);
        // ...until the disk is said to have changed.
        cache.disk_changed();
        assert_eq!(prefix(&mut cache)?, root.join("sites"));
        assert_eq!(
            load_path_opts(&site, &overlay, &options)?.prefix,
            root.join("sites")
        );
        Ok(())
    }

    #[test]
    fn normalize_dots() {
        assert_eq!(
            normalize(Path::new("/etc/nginx/./conf.d/../a.conf")),
            PathBuf::from("/etc/nginx/a.conf")
        );
    }

    #[test]
    fn literal_parent_of_glob() {
        assert_eq!(
            literal_parent(Path::new("/a/b/*.conf")),
            PathBuf::from("/a/b")
        );
        assert_eq!(
            literal_parent(Path::new("/a/b/c.conf")),
            PathBuf::from("/a/b")
        );
    }
}
