//! Where config files come from: the disk, or the files of an `nginx -T` dump. Include globs are
//! expanded here the way nginx's `ngx_open_glob` (glob(3) without flags) does: sorted, `*` does
//! not match a leading dot, `/` is never matched by a wildcard.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

/// True when nginx would treat an include argument as a glob (`strpbrk(file, "*?[")`).
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

fn matcher(component: &str) -> io::Result<GlobMatcher> {
    GlobBuilder::new(component)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
}

/// Reads files and expands globs.
/// `Sync`: the files one include names are read on several threads.
pub trait FileSource: Sync {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Paths matching `pattern`, sorted byte-wise, files only.
    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>>;
    fn is_file(&self, path: &Path) -> bool;
    fn is_dir(&self, path: &Path) -> bool;
    /// Something exists at `path` (a file, a directory, a device, a FIFO, ...).
    fn exists(&self, path: &Path) -> bool {
        self.is_file(path) || self.is_dir(path)
    }
}

/// Configuration files larger than this are refused (nginx reads them whole too; a file this
/// size is not a configuration but a mistake, e.g. a log included by a glob).
pub const MAX_FILE_SIZE: u64 = 1 << 30;

/// Reads a file that should hold configuration text: a regular file (not a directory, FIFO or
/// device such as /dev/zero, which would never end) of at most [`MAX_FILE_SIZE`] bytes.
pub fn read_config_file(path: &Path) -> io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    if !meta.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(io::Error::other(format!(
            "{} bytes, larger than the {} MiB a configuration file may have",
            meta.len(),
            MAX_FILE_SIZE >> 20
        )));
    }
    // Bounded again while reading (the file may have grown since the stat), into a buffer of
    // the size the stat gave: no regrowth, no zeroing.
    let mut text = Vec::with_capacity(meta.len() as usize);
    io::Read::read_to_end(
        &mut io::Read::take(std::fs::File::open(path)?, MAX_FILE_SIZE + 1),
        &mut text,
    )?;
    if text.len() as u64 > MAX_FILE_SIZE {
        return Err(io::Error::other(format!(
            "grew past the {} MiB a configuration file may have while read",
            MAX_FILE_SIZE >> 20
        )));
    }
    Ok(text)
}

/// Reads at most [`MAX_FILE_SIZE`] bytes from a stream of unknown length (standard input): more is an
/// error, not a text the parser's 32-bit offsets could not address. Read in chunks, so the
/// buffer never grows past the bound (`read_to_end` would double it to twice that first).
pub fn read_bounded(mut input: impl io::Read) -> io::Result<Vec<u8>> {
    let mut text = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut chunk) {
            Ok(0) => return Ok(text),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if (text.len() + n) as u64 > MAX_FILE_SIZE {
            return Err(io::Error::other(format!(
                "more than the {} MiB a configuration text may have",
                MAX_FILE_SIZE >> 20
            )));
        }
        text.extend_from_slice(&chunk[..n]);
    }
}

/// The real file system.
#[derive(Debug, Default)]
pub struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        read_config_file(path)
    }

    /// Dangling symlinks are kept (nginx fails to open them); a directory that cannot be
    /// listed is an error ([`UnlistableDir`]).
    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(glob_with(pattern, &|p| Ok(p.to_path_buf()))?
            .into_iter()
            .map(|(name, _)| name)
            .collect())
    }

    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }

    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }
}

/// The files of an `nginx -T` dump, by absolute path.
#[derive(Debug, Default)]
pub struct Dump {
    pub files: BTreeMap<PathBuf, Vec<u8>>,
}

impl FileSource for Dump {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.files.get(path).cloned().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "not in the nginx -T dump (No such file or directory)",
            )
        })
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        let pattern_text = pattern.to_string_lossy();
        let m = matcher(&pattern_text)?;
        // BTreeMap keys are already sorted.
        Ok(self
            .files
            .keys()
            .filter(|p| {
                let hidden = p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                let explicit = pattern
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                m.is_match(p.as_path()) && (!hidden || explicit)
            })
            .cloned()
            .collect())
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.files.keys().any(|p| p.starts_with(path) && p != path)
    }
}

/// In-memory replacements for some files, keyed by the exact path the loader reads (the
/// [`SourceFile::path`](crate::source::SourceFile) of a loaded file). The fixer re-lints patched
/// texts through it without touching the disk.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overlay {
    files: BTreeMap<PathBuf, Vec<u8>>,
}

impl Overlay {
    pub fn insert(&mut self, path: PathBuf, text: Vec<u8>) {
        self.files.insert(path, text);
    }

    pub fn get(&self, path: &Path) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Path, &[u8])> {
        self.files.iter().map(|(p, t)| (p.as_path(), t.as_slice()))
    }
}

/// A file source with some files replaced by an [`Overlay`]. Globs and directories come from
/// the base: an overlay replaces texts, it never adds or removes files.
pub struct Layered<'a> {
    pub base: &'a dyn FileSource,
    pub overlay: &'a Overlay,
}

impl FileSource for Layered<'_> {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        match self.overlay.get(path) {
            Some(text) => Ok(text.to_vec()),
            None => self.base.read(path),
        }
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
        self.base.glob(pattern)
    }

    fn is_file(&self, path: &Path) -> bool {
        self.overlay.get(path).is_some() || self.base.is_file(path)
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.base.is_dir(path)
    }

    fn exists(&self, path: &Path) -> bool {
        self.overlay.get(path).is_some() || self.base.exists(path)
    }
}

/// Linux's bound on symbolic links followed while resolving one path (`MAXSYMLINKS`, 40 since
/// 4.2; `open()` fails with ELOOP beyond it).
pub const MAX_SYMLINKS: usize = 40;

/// The root directory of the system being checked (`--sysroot DIR`): every path the target's
/// nginx or php-fpm would open is resolved inside it the way the kernel resolves it for a process
/// chrooted at DIR. An absolute symlink (`sites-enabled/default -> /etc/nginx/sites-available/default`)
/// starts again at DIR, `..` never climbs above DIR, and at most [`MAX_SYMLINKS`] links are
/// followed. Nothing outside DIR is ever opened through it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sysroot {
    root: PathBuf,
}

/// One file a glob matched inside a [`Sysroot`] (or on the disk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GlobMatch {
    /// The path as the glob produced it (what nginx passes to open(); what messages show).
    pub name: PathBuf,
    /// The file that path names on this machine, symlinks resolved (inside the sysroot).
    pub file: PathBuf,
}

/// The names a path walk visits: normal components and `..` (`/` and `.` dropped).
fn walk_parts<C: FromIterator<std::ffi::OsString>>(path: &Path) -> C {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

impl Sysroot {
    /// A sysroot at `dir` (made absolute; symlinks in `dir` itself are this machine's).
    pub fn new(dir: &Path) -> Self {
        let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let mut root = PathBuf::new();
        for c in absolute.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    root.pop();
                }
                other => root.push(other),
            }
        }
        Sysroot { root }
    }

    /// The root directory on this machine.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path inside the sysroot of a path on this machine under it (`DIR/etc/nginx` ->
    /// `/etc/nginx`); `None` when `host` is not under the root.
    pub fn inside(&self, host: &Path) -> Option<PathBuf> {
        let rest = host.strip_prefix(&self.root).ok()?;
        Some(Path::new("/").join(rest))
    }

    /// The path on this machine of `path` without following anything (`/etc/php` ->
    /// `DIR/etc/php`); relative paths are taken from the root too. For messages and identity.
    pub fn lexical(&self, path: &Path) -> PathBuf {
        let mut out = self.root.clone();
        let mut depth = 0usize;
        for c in path.components() {
            match c {
                Component::Normal(n) => {
                    out.push(n);
                    depth += 1;
                }
                Component::ParentDir if depth > 0 => {
                    out.pop();
                    depth -= 1;
                }
                _ => {}
            }
        }
        out
    }

    /// The file on this machine that `path` (a path of the checked system) opens, following
    /// every symlink inside the root. A missing component ends the lookup: the rest is appended
    /// as written, so opening the result fails with ENOENT as it would on the target. Fails
    /// with ELOOP past [`MAX_SYMLINKS`] links.
    pub fn resolve(&self, path: &Path) -> io::Result<PathBuf> {
        let mut pending: std::collections::VecDeque<std::ffi::OsString> = walk_parts(path);
        let mut done: Vec<std::ffi::OsString> = Vec::new();
        let mut links = 0usize;
        let mut missing = false;
        while let Some(part) = pending.pop_front() {
            if part == ".." {
                // `..` of the root is the root, as in a chroot.
                done.pop();
                continue;
            }
            if missing {
                done.push(part);
                continue;
            }
            let mut here = self.root.clone();
            here.extend(&done);
            here.push(&part);
            match std::fs::symlink_metadata(&here) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    links += 1;
                    if links > MAX_SYMLINKS {
                        return Err(io::Error::other("Too many levels of symbolic links"));
                    }
                    let target = std::fs::read_link(&here)?;
                    if target.is_absolute() {
                        done.clear();
                    }
                    let parts: Vec<std::ffi::OsString> = walk_parts(&target);
                    for p in parts.into_iter().rev() {
                        pending.push_front(p);
                    }
                }
                Ok(_) => done.push(part),
                Err(_) => {
                    missing = true;
                    done.push(part);
                }
            }
        }
        let mut out = self.root.clone();
        out.extend(&done);
        Ok(out)
    }

    /// Paths matching a glob(3) `pattern` of the checked system, sorted by name as glob(3)
    /// sorts them, each with the file it opens. Dangling links are kept (nginx then fails to
    /// open them); a directory on the way that cannot be listed is an error, since what it holds
    /// cannot be known.
    pub fn glob(&self, pattern: &Path) -> io::Result<Vec<GlobMatch>> {
        glob_with(pattern, &|p| self.resolve(p)).map(|found| {
            found
                .into_iter()
                .map(|(name, file)| GlobMatch {
                    name: self.lexical(&name),
                    file,
                })
                .collect()
        })
    }
}

/// The error of a directory a glob could not list, naming it.
#[derive(Debug)]
pub struct UnlistableDir {
    pub dir: PathBuf,
    pub source: io::Error,
}

impl std::fmt::Display for UnlistableDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.dir.display(), self.source)
    }
}

impl std::error::Error for UnlistableDir {}

/// glob(3) over `pattern` (components joined literally, wildcards matched per directory
/// listing), with `open` mapping a path to the file on this machine. Returns (path as
/// matched, file) pairs sorted by path.
fn glob_with(
    pattern: &Path,
    open: &dyn Fn(&Path) -> io::Result<PathBuf>,
) -> io::Result<Vec<(PathBuf, PathBuf)>> {
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    let components: Vec<Component<'_>> = pattern.components().collect();
    for (i, comp) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        let text = comp.as_os_str().to_string_lossy();
        if !matches!(comp, Component::Normal(_)) || !is_glob(&text) {
            current = current.into_iter().map(|p| p.join(comp)).collect();
            continue;
        }
        let m = matcher(&text)?;
        let explicit_dot = text.starts_with('.');
        let mut next = Vec::new();
        for dir in &current {
            let shown = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir.as_path()
            };
            let listing = match std::fs::read_dir(open(shown)?) {
                Ok(listing) => listing,
                // A directory that is not there (or not a directory) matches nothing.
                Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => {
                    continue
                }
                Err(source) => {
                    return Err(io::Error::new(
                        source.kind(),
                        UnlistableDir {
                            dir: shown.to_path_buf(),
                            source,
                        },
                    ))
                }
            };
            for entry in listing {
                let entry = entry.map_err(|source| {
                    io::Error::new(
                        source.kind(),
                        UnlistableDir {
                            dir: shown.to_path_buf(),
                            source,
                        },
                    )
                })?;
                let name = entry.file_name();
                let name_str = name.to_string_lossy();
                if name_str.starts_with('.') && !explicit_dot {
                    continue;
                }
                if m.is_match(name_str.as_ref()) {
                    let p = dir.join(&name);
                    if last || open(&p).is_ok_and(|f| f.is_dir()) {
                        next.push(p);
                    }
                }
            }
        }
        current = next;
    }
    let mut out = Vec::new();
    for name in current {
        let file = open(&name)?;
        // A literal pattern (no wildcard at all) names one path, which must exist to match;
        // every name a directory listing produced is kept, dangling links included.
        if !is_glob(&pattern.to_string_lossy()) && std::fs::symlink_metadata(&file).is_err() {
            continue;
        }
        out.push((name, file));
    }
    out.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_detection_matches_nginx() {
        assert!(is_glob("conf.d/*.conf"));
        assert!(is_glob("site?.conf"));
        assert!(is_glob("[ab].conf"));
        assert!(!is_glob("conf.d/app.conf"));
    }

    #[test]
    fn disk_glob_is_sorted_and_skips_dotfiles() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        for name in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            std::fs::write(dir.path().join(name), "")?;
        }
        std::fs::create_dir(dir.path().join("sub"))?;
        std::fs::write(dir.path().join("sub/x.conf"), "")?;
        let found = Disk.glob(&dir.path().join("*.conf"))?;
        let names: Vec<_> = found
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.conf", "b.conf"]);
        let nested = Disk.glob(&dir.path().join("*/*.conf"))?;
        assert_eq!(nested.len(), 1);
        Ok(())
    }

    #[test]
    fn overlay_replaces_texts_and_keeps_the_base_listing() -> io::Result<()> {
        let mut base = Dump::default();
        base.files.insert("/n/a.conf".into(), b"a;".to_vec());
        base.files.insert("/n/b.conf".into(), b"b;".to_vec());
        let mut overlay = Overlay::default();
        overlay.insert("/n/a.conf".into(), b"patched;".to_vec());
        let fs = Layered {
            base: &base,
            overlay: &overlay,
        };
        assert_eq!(fs.read(Path::new("/n/a.conf"))?, b"patched;");
        assert_eq!(fs.read(Path::new("/n/b.conf"))?, b"b;");
        assert!(fs.read(Path::new("/n/c.conf")).is_err());
        assert_eq!(fs.glob(Path::new("/n/*.conf"))?.len(), 2);
        assert!(fs.is_file(Path::new("/n/a.conf")) && fs.is_dir(Path::new("/n")));
        Ok(())
    }

    #[test]
    fn sysroot_resolves_links_like_a_chroot() -> io::Result<()> {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir_all(root.join("etc/nginx/sites-available"))?;
        std::fs::create_dir_all(root.join("etc/nginx/sites-enabled"))?;
        std::fs::create_dir_all(root.join("run/php"))?;
        std::fs::create_dir_all(root.join("var"))?;
        std::fs::write(root.join("etc/nginx/sites-available/default"), "x")?;
        symlink(
            "/etc/nginx/sites-available/default",
            root.join("etc/nginx/sites-enabled/default"),
        )?;
        symlink("../run", root.join("var/run"))?;
        symlink("loop-b", root.join("loop-a"))?;
        symlink("loop-a", root.join("loop-b"))?;
        symlink(
            "/nowhere/file",
            root.join("etc/nginx/sites-enabled/dangling"),
        )?;
        let sys = Sysroot::new(root);
        // An absolute link starts again at the root, never at this machine's /.
        assert_eq!(
            sys.resolve(Path::new("/etc/nginx/sites-enabled/default"))?,
            root.join("etc/nginx/sites-available/default")
        );
        // A relative link through a directory: /var/run/php is /run/php.
        assert_eq!(
            sys.resolve(Path::new("/var/run/php/x.sock"))?,
            root.join("run/php/x.sock")
        );
        assert_eq!(
            sys.inside(&root.join("run/php")),
            Some(PathBuf::from("/run/php"))
        );
        // `..` never climbs above the root.
        assert_eq!(
            sys.resolve(Path::new("/../../../etc/nginx/sites-available/default"))?,
            root.join("etc/nginx/sites-available/default")
        );
        // A dangling link resolves inside the root, to nothing.
        let gone = sys.resolve(Path::new("/etc/nginx/sites-enabled/dangling"))?;
        assert_eq!(gone, root.join("nowhere/file"));
        // Loops end with ELOOP's message, not a hang.
        let e = sys
            .resolve(Path::new("/loop-a"))
            .err()
            .map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("Too many levels of symbolic links"));
        // Globs keep dangling links (nginx then fails to open them), sorted by name.
        let found = sys.glob(Path::new("/etc/nginx/sites-enabled/*"))?;
        let names: Vec<_> = found.iter().filter_map(|m| m.name.file_name()).collect();
        assert_eq!(names, ["dangling", "default"]);
        assert_eq!(
            found[1].file,
            root.join("etc/nginx/sites-available/default")
        );
        Ok(())
    }

    #[test]
    fn disk_glob_keeps_dangling_links() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        std::os::unix::fs::symlink("/nonexistent-gwlint", dir.path().join("a.conf"))?;
        std::fs::write(dir.path().join("b.conf"), "")?;
        assert_eq!(Disk.glob(&dir.path().join("*.conf"))?.len(), 2);
        Ok(())
    }

    #[test]
    fn dump_glob() -> io::Result<()> {
        let mut d = Dump::default();
        d.files.insert("/etc/nginx/conf.d/b.conf".into(), vec![]);
        d.files.insert("/etc/nginx/conf.d/a.conf".into(), vec![]);
        d.files
            .insert("/etc/nginx/conf.d/sub/c.conf".into(), vec![]);
        let found = d.glob(Path::new("/etc/nginx/conf.d/*.conf"))?;
        assert_eq!(
            found,
            vec![
                PathBuf::from("/etc/nginx/conf.d/a.conf"),
                PathBuf::from("/etc/nginx/conf.d/b.conf")
            ]
        );
        Ok(())
    }
}
