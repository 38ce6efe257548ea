//! Writing fixed files: each through a temp file in the target's own directory, renamed over
//! the target, so a reader (a reloading nginx) sees the old file or the new one, never half of
//! one. All or nothing across files:
//!
//! 1. every target must still hold the bytes that were checked (an edit saved meanwhile, or a
//!    concurrent run, is never overwritten);
//! 2. every new text goes to a temp file created exclusively ([`crate::temp`]: random name,
//!    `O_EXCL | O_NOFOLLOW`: a planted file or symlink is never followed) with the original's
//!    owner, mode and extended attributes (ACLs, SELinux labels);
//! 3. every original is kept under a second name (a hard link) until the last rename succeeded;
//! 4. just before the renames each target is checked again (same inode, size, mtime and bytes);
//! 5. when a rename fails, the originals already replaced are put back.
//!
//! A symlink (Debian's sites-enabled -> sites-available) stays a link: the change's `target` is
//! the real file. A file reached by two paths is written once.

use std::fs::{self, File, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{FileChange, FixError, FixOutcome};
use crate::config::LoadProblemKind;

/// Writes the changes of a fix run, refusing when the result must not be written: the tree came
/// from an `nginx -T` dump, a file does not parse, or an included file could not be read.
/// Returns the files written (real paths).
pub fn write_outcome(outcome: &FixOutcome) -> Result<Vec<PathBuf>, FixError> {
    let tree = &outcome.checked.ws.tree;
    if tree.from_dump {
        return Err(FixError::FromDump);
    }
    if let Some((id, _)) = tree.parse_errors.first() {
        return Err(FixError::TreeDoesNotParse {
            file: tree.sources.get(*id).display.clone(),
        });
    }
    if let Some(p) = tree
        .problems
        .iter()
        .find(|p| matches!(p.kind, LoadProblemKind::IncludeUnreadable { .. }))
    {
        let file = match &p.kind {
            LoadProblemKind::IncludeUnreadable { path, .. } => path.clone(),
            _ => tree.sources.get(p.file).display.clone(),
        };
        return Err(FixError::TreeIncomplete { file });
    }
    write_changes(&outcome.changes)
}

/// One file to replace.
struct Target<'c> {
    path: PathBuf,
    original: &'c [u8],
    fixed: &'c [u8],
    /// (device, inode, size, mtime seconds, mtime nanoseconds) when it was checked.
    stamp: Stamp,
    temp: Option<PathBuf>,
    backup: Option<PathBuf>,
}

type Stamp = (u64, u64, u64, i64, i64);

fn stamp(meta: &fs::Metadata) -> Stamp {
    (
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
    )
}

/// Writes every change atomically (see the module docs). Returns the files written. On error
/// nothing has been replaced: the originals are put back when a rename fails midway
/// ([`FixError::PartialWrite`] only when even that fails, naming what was left replaced).
pub fn write_changes(changes: &[FileChange]) -> Result<Vec<PathBuf>, FixError> {
    write_changes_with(changes, &mut |from, to| fs::rename(from, to))
}

/// [`write_changes`] with the rename step given (tests make it fail midway).
pub(crate) fn write_changes_with(
    changes: &[FileChange],
    rename: &mut dyn FnMut(&Path, &Path) -> io::Result<()>,
) -> Result<Vec<PathBuf>, FixError> {
    let mut targets: Vec<Target<'_>> = Vec::new();
    for change in changes {
        let path = if change.target.as_os_str().is_empty() {
            change.path.clone()
        } else {
            change.target.clone()
        };
        match targets.iter().find(|t| t.path == path) {
            Some(t) if t.fixed == change.fixed.as_slice() => continue,
            Some(_) => return Err(FixError::ConflictingWrites { path }),
            None => {}
        }
        let stamp = check_unchanged(&path, &change.original, 1)?;
        targets.push(Target {
            path,
            original: &change.original,
            fixed: &change.fixed,
            stamp,
            temp: None,
            backup: None,
        });
    }

    let prepared = prepare(&mut targets);
    if let Err(e) = prepared {
        cleanup(&targets);
        return Err(e);
    }
    // The last look before anything is replaced.
    for t in &targets {
        // The backup is a second link now.
        match check_unchanged(&t.path, t.original, 2) {
            Ok(s) if s == t.stamp => {}
            Ok(_) => {
                cleanup(&targets);
                return Err(FixError::ChangedSinceRead {
                    path: t.path.clone(),
                });
            }
            Err(e) => {
                cleanup(&targets);
                return Err(e);
            }
        }
    }

    let mut written: Vec<PathBuf> = Vec::with_capacity(targets.len());
    for (i, t) in targets.iter().enumerate() {
        let Some(temp) = &t.temp else { continue };
        if let Err(source) = rename(temp, &t.path) {
            // Put back what was replaced: the backups are the original inodes.
            let mut still_replaced = Vec::new();
            for done in &targets[..i] {
                let restored = done
                    .backup
                    .as_ref()
                    .is_some_and(|b| fs::rename(b, &done.path).is_ok());
                if !restored {
                    still_replaced.push(done.path.clone());
                }
            }
            for rest in &targets[i..] {
                remove(rest.temp.as_ref());
                remove(rest.backup.as_ref());
            }
            if still_replaced.is_empty() {
                return Err(FixError::RolledBack {
                    path: t.path.clone(),
                    source,
                    restored: targets[..i].iter().map(|d| d.path.clone()).collect(),
                });
            }
            return Err(FixError::PartialWrite {
                path: t.path.clone(),
                source,
                written: still_replaced,
            });
        }
        written.push(t.path.clone());
    }
    for t in &targets {
        remove(t.backup.as_ref());
    }
    for dir in written.iter().filter_map(|p| p.parent()) {
        // Make the renames durable; a directory that cannot be synced is no reason to fail.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(written)
}

/// Temp files with the new texts and backups of the originals, for every target.
fn prepare(targets: &mut [Target<'_>]) -> Result<(), FixError> {
    for t in targets.iter_mut() {
        let meta = fs::symlink_metadata(&t.path).map_err(|source| FixError::Io {
            path: t.path.clone(),
            source,
        })?;
        let not_writable = |source| FixError::NotWritable {
            path: t.path.clone(),
            source,
        };
        let (temp, mut file) = crate::temp::create_beside(&t.path).map_err(not_writable)?;
        t.temp = Some(temp.clone());
        fill(&mut file, t.fixed, &t.path, &meta).map_err(not_writable)?;
        drop(file);
        let backup = crate::temp::link_beside(&t.path).map_err(not_writable)?;
        t.backup = Some(backup);
    }
    Ok(())
}

/// The target holds exactly `original` (what was checked) and is a regular file with `links`
/// links (1, or 2 once its backup exists).
fn check_unchanged(path: &Path, original: &[u8], links: u64) -> Result<Stamp, FixError> {
    let io_err = |source| FixError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = fs::symlink_metadata(path).map_err(io_err)?;
    if !meta.is_file() {
        return Err(FixError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    if meta.nlink() > links {
        // A rename would leave the other names with the old text.
        return Err(FixError::HardLinked {
            path: path.to_path_buf(),
            links: meta.nlink(),
        });
    }
    let now = fs::read(path).map_err(io_err)?;
    if now != original {
        return Err(FixError::ChangedSinceRead {
            path: path.to_path_buf(),
        });
    }
    Ok(stamp(&meta))
}

fn cleanup(targets: &[Target<'_>]) {
    for t in targets {
        remove(t.temp.as_ref());
        remove(t.backup.as_ref());
    }
}

fn remove(path: Option<&PathBuf>) {
    if let Some(p) = path {
        let _ = fs::remove_file(p);
    }
}

fn fill(file: &mut File, text: &[u8], target: &Path, original: &fs::Metadata) -> io::Result<()> {
    file.write_all(text)?;
    let created = file.metadata()?;
    // Owner first: chown clears set-id bits, the chmod after it restores the exact mode.
    if created.uid() != original.uid() || created.gid() != original.gid() {
        std::os::unix::fs::fchown(&*file, Some(original.uid()), Some(original.gid()))?;
    }
    file.set_permissions(Permissions::from_mode(original.mode() & 0o7777))?;
    copy_xattrs(target, file)?;
    file.sync_all()
}

/// Gives `file` every extended attribute of `target` (ACLs are `system.posix_acl_*`, SELinux
/// labels `security.selinux`). A file system without them has nothing to copy; an attribute
/// that cannot be set is an error, so the file is not replaced without it.
fn copy_xattrs(target: &Path, file: &File) -> io::Result<()> {
    use xattr::FileExt as _;
    let names = match xattr::list(target) {
        Ok(names) => names,
        Err(e) if e.raw_os_error() == Some(95) => return Ok(()), // EOPNOTSUPP
        Err(e) => return Err(e),
    };
    for name in names {
        let Some(value) = xattr::get(target, &name)? else {
            continue;
        };
        // Already there (an SELinux label the directory gives every new file): nothing to set.
        if file.get_xattr(&name).ok().flatten().as_deref() == Some(value.as_slice()) {
            continue;
        }
        file.set_xattr(&name, &value).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot keep extended attribute {}: {e}",
                    name.to_string_lossy()
                ),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(path: &Path, fixed: &str) -> FileChange {
        FileChange {
            path: path.to_path_buf(),
            aliases: vec![path.to_path_buf()],
            display: path.display().to_string(),
            diff_path: path.display().to_string(),
            target: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            original: std::fs::read(path).unwrap_or_default(),
            fixed: fixed.as_bytes().to_vec(),
        }
    }

    #[test]
    fn writes_through_symlinks_keeps_mode_and_writes_once() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let avail = dir.path().join("sites-available");
        let enabled = dir.path().join("sites-enabled");
        fs::create_dir_all(&avail)?;
        fs::create_dir_all(&enabled)?;
        let target = avail.join("app.conf");
        fs::write(&target, "old;\n")?;
        fs::set_permissions(&target, Permissions::from_mode(0o640))?;
        let link = enabled.join("app.conf");
        std::os::unix::fs::symlink("../sites-available/app.conf", &link)?;
        let written = write_changes(&[change(&link, "new;\n"), change(&target, "new;\n")])
            .map_err(std::io::Error::other)?;
        assert_eq!(written.len(), 1);
        assert!(fs::symlink_metadata(&link)?.file_type().is_symlink());
        assert_eq!(fs::read_to_string(&target)?, "new;\n");
        assert_eq!(fs::metadata(&target)?.mode() & 0o7777, 0o640);
        let leftovers = fs::read_dir(&avail)?.count();
        assert_eq!(leftovers, 1);
        Ok(())
    }

    #[test]
    fn hard_links_are_not_split() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let a = dir.path().join("a.conf");
        fs::write(&a, "old;\n")?;
        fs::hard_link(&a, dir.path().join("b.conf"))?;
        let r = write_changes(&[change(&a, "new;\n")]);
        assert!(matches!(r, Err(FixError::HardLinked { links: 2, .. })));
        assert_eq!(fs::read_to_string(&a)?, "old;\n");
        Ok(())
    }

    #[test]
    fn two_texts_for_one_file_is_refused() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("a.conf");
        fs::write(&target, "old;\n")?;
        let r = write_changes(&[change(&target, "x;\n"), change(&target, "y;\n")]);
        assert!(matches!(r, Err(FixError::ConflictingWrites { .. })));
        assert_eq!(fs::read_to_string(&target)?, "old;\n");
        Ok(())
    }
}
