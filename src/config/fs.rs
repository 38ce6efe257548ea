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
pub trait FileSource {
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
    std::fs::read(path)
}

/// The real file system.
#[derive(Debug, Default)]
pub struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        read_config_file(path)
    }

    fn glob(&self, pattern: &Path) -> io::Result<Vec<PathBuf>> {
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
                let listing = if dir.as_os_str().is_empty() {
                    std::fs::read_dir(".")
                } else {
                    std::fs::read_dir(dir)
                };
                let Ok(listing) = listing else { continue };
                for entry in listing.flatten() {
                    let name = entry.file_name();
                    let name_str = name.to_string_lossy();
                    if name_str.starts_with('.') && !explicit_dot {
                        continue;
                    }
                    if m.is_match(name_str.as_ref()) {
                        let p = dir.join(&name);
                        if last || p.is_dir() {
                            next.push(p);
                        }
                    }
                }
            }
            current = next;
        }
        let mut out: Vec<PathBuf> = current.into_iter().filter(|p| p.exists()).collect();
        out.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        out.dedup();
        Ok(out)
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
