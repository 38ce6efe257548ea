//! Where `--fix` may write: only regular files inside the checked tree.
//!
//! A path the loader read is resolved here the way the kernel would resolve it, one component
//! at a time, so that a symlink cannot carry a write out of the tree: Debian's
//! `sites-enabled/app -> /etc/nginx/sites-available/app` inside a copied tree points at this
//! machine's live configuration, not at the copy. With `--sysroot DIR` the checked system is
//! DIR: an absolute link target is resolved inside DIR (as it would be on that system), and
//! `..` never climbs above it.
//!
//! A file is writable when its resolved path lies under the scope's root (the sysroot, else the
//! directory of the main file), is a regular file with one link, carries a write bit, and holds
//! exactly the bytes the loader read through the original path (when it does not, the file that
//! was checked is not the file that would be written).

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::Sysroot;

/// The part of the file system `--fix` may write into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteScope {
    /// Canonical directory every written file must lie under.
    root: PathBuf,
    /// Canonical system root absolute link targets are resolved in (`--sysroot`).
    sysroot: Option<PathBuf>,
    /// The sysroot as given (absolute, maybe through a link): the loader's paths start with it.
    sysroot_given: Option<PathBuf>,
}

/// Why a file is not written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutOfScope {
    #[error("it resolves to {}, outside the checked tree {}", target.display(), root.display())]
    Outside { target: PathBuf, root: PathBuf },
    #[error("{} is not a regular file", target.display())]
    NotRegular { target: PathBuf },
    #[error("{} has {links} hard links; replacing it would leave the others with the old text", target.display())]
    HardLinked { target: PathBuf, links: u64 },
    #[error("{} is read-only (mode {mode:04o}); make it writable to let --fix change it", target.display())]
    ReadOnly { target: PathBuf, mode: u32 },
    #[error("{} is not the file that was checked (the checked text was read through {}): check the tree with --sysroot or fix it by hand", target.display(), read.display())]
    NotTheCheckedFile { target: PathBuf, read: PathBuf },
    #[error("cannot resolve {}: {reason}", path.display())]
    Unresolvable { path: PathBuf, reason: String },
}

impl WriteScope {
    /// The scope of a tree whose main file lies in `prefix`: the copied system `sysroot` when
    /// the tree is part of it, else the directory `prefix` (a repository's config checked
    /// against a copied system's accounts and sockets).
    pub fn new(prefix: &Path, sysroot: Option<&Path>) -> io::Result<Self> {
        let sysroot_given = sysroot.map(std::path::absolute).transpose()?;
        let sysroot = sysroot.map(std::fs::canonicalize).transpose()?;
        let prefix = std::fs::canonicalize(prefix)?;
        let root = match &sysroot {
            Some(s) if prefix.starts_with(s) => s.clone(),
            _ => prefix,
        };
        Ok(Self {
            root,
            sysroot,
            sysroot_given,
        })
    }

    /// The canonical root: `--diff` paths are relative to it.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The real file `path` names: resolved as the kernel would, inside the sysroot when the
    /// path lies in it (the loader's [`Sysroot`] model), else from `/`.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, OutOfScope> {
        let unresolvable = |reason: String| OutOfScope::Unresolvable {
            path: path.to_path_buf(),
            reason,
        };
        let absolute = std::path::absolute(path).map_err(|e| unresolvable(e.to_string()))?;
        let within = [&self.sysroot, &self.sysroot_given]
            .into_iter()
            .flatten()
            .find_map(|s| absolute.strip_prefix(s).ok());
        let (root, inner) = match (within, &self.sysroot) {
            (Some(rest), Some(floor)) => (Sysroot::new(floor), Path::new("/").join(rest)),
            _ => (Sysroot::new(Path::new("/")), absolute.clone()),
        };
        root.resolve(&inner)
            .map_err(|e| unresolvable(e.to_string()))
    }

    /// Where `path` (read by the loader, with the bytes `read`) may be written, or why not.
    pub fn writable(&self, path: &Path, read: &[u8]) -> Result<PathBuf, OutOfScope> {
        let target = self.resolve(path)?;
        if !target.starts_with(&self.root) {
            return Err(OutOfScope::Outside {
                target,
                root: self.root.clone(),
            });
        }
        let meta = std::fs::symlink_metadata(&target).map_err(|e| OutOfScope::Unresolvable {
            path: target.clone(),
            reason: e.to_string(),
        })?;
        if !meta.is_file() {
            return Err(OutOfScope::NotRegular { target });
        }
        if meta.nlink() > 1 {
            return Err(OutOfScope::HardLinked {
                target,
                links: meta.nlink(),
            });
        }
        if meta.mode() & 0o222 == 0 {
            return Err(OutOfScope::ReadOnly {
                target,
                mode: meta.mode() & 0o7777,
            });
        }
        let on_disk = std::fs::read(&target).map_err(|e| OutOfScope::Unresolvable {
            path: target.clone(),
            reason: e.to_string(),
        })?;
        if on_disk != read {
            return Err(OutOfScope::NotTheCheckedFile {
                target,
                read: path.to_path_buf(),
            });
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_links_resolve_inside_the_sysroot() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc/nginx/sites-available"))?;
        std::fs::create_dir_all(root.join("etc/nginx/sites-enabled"))?;
        std::fs::write(root.join("etc/nginx/sites-available/app"), "x;\n")?;
        symlink(
            "/etc/nginx/sites-available/app",
            root.join("etc/nginx/sites-enabled/app"),
        )?;
        let scope = WriteScope::new(&root.join("etc/nginx"), Some(&root))?;
        let real = std::fs::canonicalize(&root)?;
        assert_eq!(
            scope.resolve(&root.join("etc/nginx/sites-enabled/app")),
            Ok(real.join("etc/nginx/sites-available/app"))
        );
        // `..` stops at the sysroot's top.
        assert_eq!(
            scope.resolve(&root.join("../../../../etc/x")),
            Ok(real.join("etc/x"))
        );
        symlink("../../../../../../x", root.join("etc/up"))?;
        assert_eq!(scope.resolve(&root.join("etc/up")), Ok(real.join("x")));
        Ok(())
    }

    #[test]
    fn a_link_out_of_a_copied_tree_is_not_writable() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let tree = dir.path().join("tree");
        let outside = dir.path().join("outside.conf");
        std::fs::create_dir_all(&tree)?;
        std::fs::write(&outside, "x;\n")?;
        symlink(&outside, tree.join("app.conf"))?;
        let scope = WriteScope::new(&tree, None)?;
        let r = scope.writable(&tree.join("app.conf"), b"x;\n");
        assert!(matches!(r, Err(OutOfScope::Outside { .. })), "{r:?}");
        Ok(())
    }

    #[test]
    fn read_only_changed_and_linked_files_are_not_writable() -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let a = dir.path().join("a.conf");
        std::fs::write(&a, "x;\n")?;
        let scope = WriteScope::new(dir.path(), None)?;
        assert!(scope.writable(&a, b"x;\n").is_ok());
        assert!(matches!(
            scope.writable(&a, b"y;\n"),
            Err(OutOfScope::NotTheCheckedFile { .. })
        ));
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o444))?;
        assert!(matches!(
            scope.writable(&a, b"x;\n"),
            Err(OutOfScope::ReadOnly { mode: 0o444, .. })
        ));
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o644))?;
        std::fs::hard_link(&a, dir.path().join("b.conf"))?;
        assert!(matches!(
            scope.writable(&a, b"x;\n"),
            Err(OutOfScope::HardLinked { links: 2, .. })
        ));
        Ok(())
    }
}
