//! Reads the entry file and everything it includes. Each file is read and parsed once; include
//! arguments are resolved against the prefix (the entry file's directory), never against the
//! including file, exactly as nginx's `ngx_conf_full_name` does.

use std::collections::VecDeque;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::fs::{is_glob, Disk, Dump, FileSource, Layered, Overlay};
use super::{dump, ConfigTree, LoadProblem, LoadProblemKind};
use crate::source::{FileId, SourceFile};
use crate::syntax::{parse, Ast, Directive, ParseError, ParseErrorKind};

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
        let is_main = ast.directives().any(|d| {
            d.block.is_some() && matches!(d.name(), "http" | "events" | "stream" | "mail")
        });
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
    let main = if path.is_dir() {
        find_main_file(path)?
    } else {
        path.to_path_buf()
    };
    let abs_main = std::path::absolute(&main).unwrap_or_else(|_| main.clone());
    let fs = Layered {
        base: &Disk,
        overlay,
    };
    let text = fs.read(&abs_main).map_err(|source| LoadError::Unreadable {
        path: main.display().to_string(),
        source,
    })?;
    let given_dir = main.parent().map(Path::to_path_buf).unwrap_or_default();
    let prefix = abs_main.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut loader = Loader {
        fs: &fs,
        tree: ConfigTree {
            prefix: prefix.clone(),
            ..ConfigTree::default()
        },
        display_prefix: given_dir,
        remap_root: Some(prefix),
        resolved: Default::default(),
    };
    let root = loader.add_file(abs_main, text);
    loader.tree.root = root;
    loader.follow_includes(root);
    Ok(loader.tree)
}

/// Loads one file without following its includes (`parse --no-includes`).
pub fn load_single(path: &Path) -> Result<ConfigTree, LoadError> {
    let text = super::fs::read_config_file(path).map_err(|source| LoadError::Unreadable {
        path: path.display().to_string(),
        source,
    })?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let prefix = abs.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut loader = Loader {
        fs: &Disk,
        tree: ConfigTree {
            prefix,
            ..ConfigTree::default()
        },
        display_prefix: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        remap_root: None,
        resolved: Default::default(),
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
    let mut loader = Loader {
        fs: &fs,
        tree: ConfigTree {
            prefix: prefix.clone(),
            from_dump: true,
            ..ConfigTree::default()
        },
        display_prefix: prefix,
        remap_root: None,
        resolved: Default::default(),
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
    /// Include arguments already resolved: the result depends only on the argument (paths are
    /// relative to the prefix), and a snippet is often included from thousands of places.
    resolved: std::collections::HashMap<String, Result<Vec<PathBuf>, LoadProblemKind>>,
}

impl Loader<'_> {
    fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.tree.prefix) {
            Ok(rel) if self.display_prefix.as_os_str().is_empty() => rel.display().to_string(),
            Ok(rel) => self.display_prefix.join(rel).display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }

    fn add_file(&mut self, path: PathBuf, text: Vec<u8>) -> FileId {
        let display = self.display(&path);
        let result = parse_config(&text);
        let id = self.tree.sources.add(SourceFile::new(path, display, text));
        self.tree.nginx_files.push(id);
        match result {
            Ok(ast) => {
                self.tree.asts.insert(id, ast);
            }
            Err(e) => self.tree.parse_errors.push((id, e)),
        }
        id
    }

    /// Breadth-first over files: every include of every file read so far.
    fn follow_includes(&mut self, root: FileId) {
        let mut queue = VecDeque::from([root]);
        while let Some(file) = queue.pop_front() {
            let mut includes = Vec::new();
            if let Some(ast) = self.tree.asts.get(&file) {
                collect_includes(ast, &mut includes);
            }
            for (span, arg) in includes {
                let targets = self.resolve_include(file, span, &arg);
                let mut ids = Vec::with_capacity(targets.len());
                for path in targets {
                    if let Some(id) = self.tree.sources.find(&path) {
                        ids.push(id);
                        continue;
                    }
                    match self.fs.read(&path) {
                        Ok(text) => {
                            let id = self.add_file(path, text);
                            ids.push(id);
                            queue.push_back(id);
                        }
                        Err(e) => self.tree.problems.push(LoadProblem {
                            file,
                            span,
                            kind: LoadProblemKind::IncludeUnreadable {
                                path: self.display(&path),
                                reason: io_reason(&e),
                            },
                        }),
                    }
                }
                self.tree.includes.insert((file, span.start), ids);
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
    ) -> Vec<PathBuf> {
        let result = match self.resolved.get(arg) {
            Some(r) => r.clone(),
            None => {
                let r = self.resolve_uncached(arg);
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

    fn resolve_uncached(&self, arg: &str) -> Result<Vec<PathBuf>, LoadProblemKind> {
        let full = normalize(&self.tree.prefix.join(arg));
        let candidates = self.remapped(&full);
        // Checking a copy of a tree (a repository, a build context): an absolute path outside
        // it is not read from this machine, whose files there belong to another setup.
        let outside_copy = self.is_copy() && !full.starts_with(&self.tree.prefix);
        let direct = (!outside_copy).then_some(&full);
        if is_glob(arg) {
            for candidate in candidates.iter().chain(direct) {
                match self.fs.glob(candidate) {
                    Ok(found) if !found.is_empty() => return Ok(found),
                    _ => {}
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
                return Ok(vec![candidate.clone()]);
            }
        }
        if !outside_copy && self.fs.is_dir(&full) {
            return Err(LoadProblemKind::IncludeUnreadable {
                path: self.display(&full),
                reason: "is a directory".to_owned(),
            });
        }
        if !outside_copy && self.fs.exists(&full) {
            return Err(LoadProblemKind::IncludeUnreadable {
                path: self.display(&full),
                reason: "not a regular file".to_owned(),
            });
        }
        if self.remap_root.is_some() {
            if let Some(stock) = stock_file(arg) {
                // A copied tree often leaves out the files the nginx package installs
                // (mime.types, fastcgi_params): nginx on the target has them. Read the
                // package's copy on this machine when there is one.
                for dir in STOCK_DIRS {
                    let candidate = Path::new(dir).join(stock);
                    if self.fs.is_file(&candidate) {
                        return Ok(vec![candidate]);
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
        Err(LoadProblemKind::IncludeNotFound {
            path: self.display(&full),
        })
    }

    /// True when the checked tree is a copy, not an installed configuration directory.
    fn is_copy(&self) -> bool {
        self.remap_root.is_some() && !STOCK_DIRS.iter().any(|d| self.tree.prefix == Path::new(d))
    }

    /// For an absolute path outside the checked tree, the same path re-rooted under the tree:
    /// `/etc/nginx/conf.d/a.conf` checked from `./deploy/nginx/` tries `./deploy/nginx/conf.d/a.conf`,
    /// then `./deploy/nginx/nginx/conf.d/a.conf` ... (longest suffix first is the most specific).
    fn remapped(&self, full: &Path) -> Vec<PathBuf> {
        let Some(root) = &self.remap_root else {
            return Vec::new();
        };
        if full.starts_with(root) {
            return Vec::new();
        }
        let parts: Vec<Component<'_>> = full
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .collect();
        let mut out = Vec::new();
        // Keep at least the file name plus one directory, or the file name alone.
        for skip in 1..parts.len() {
            let rel: PathBuf = parts[skip..].iter().collect();
            let candidate = root.join(&rel);
            let literal_dir = literal_parent(&candidate);
            // Re-rooting down to the bare file name is only safe for a plain file: for a glob it
            // would match every file of the tree's top directory.
            let bare_name = skip + 1 == parts.len();
            let last_is_glob = parts
                .last()
                .is_some_and(|c| is_glob(&c.as_os_str().to_string_lossy()));
            if literal_dir != *root && literal_dir.is_dir() || (bare_name && !last_is_glob) {
                out.push(candidate);
            }
        }
        out
    }
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

fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => "No such file or directory".to_owned(),
        io::ErrorKind::PermissionDenied => "Permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// Parses a config file, refusing binary files with a clear message: a NUL byte in a token (a
/// directive name or argument) or in a file that does not parse. NUL bytes inside comments are
/// harmless to nginx and accepted.
pub(crate) fn parse_config(text: &[u8]) -> Result<Ast, ParseError> {
    let Some(first_nul) = memchr::memchr(0, text) else {
        return parse(text);
    };
    let binary = |at: usize| ParseError {
        kind: ParseErrorKind::Unexpected(0),
        offset: at,
        message: "binary file: NUL byte where nginx expects configuration text".to_owned(),
    };
    let ast = parse(text).map_err(|_| binary(first_nul))?;
    let comments = comment_spans(&ast);
    for at in memchr::memchr_iter(0, text) {
        // The last comment starting at or before `at` is the only one that can hold it.
        let before = comments.partition_point(|c| c.start <= at);
        let inside = before > 0 && at < comments[before - 1].end;
        if !inside {
            return Err(binary(at));
        }
    }
    Ok(ast)
}

/// Spans of every comment of a tree, at any depth, inner comments included (sorted).
fn comment_spans(ast: &crate::syntax::Ast) -> Vec<crate::syntax::Span> {
    let mut out: Vec<crate::syntax::Span> = ast.comments().map(|c| c.span).collect();
    for d in ast.walk() {
        out.extend(d.inner_comments.iter().map(|c| c.span));
    }
    out.sort_unstable();
    out
}

/// Every `include FILE;` in a file, at any depth, with its span and argument.
fn collect_includes(ast: &crate::syntax::Ast, out: &mut Vec<(crate::syntax::Span, String)>) {
    for d in ast.walk() {
        if is_include(d) {
            if let [arg] = d.args.as_slice() {
                out.push((d.span, arg.as_str().to_owned()));
            }
        }
    }
}

pub(crate) fn is_include(d: &Directive) -> bool {
    d.name() == "include"
}

#[cfg(test)]
mod tests {
    use super::*;

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
