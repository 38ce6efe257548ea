//! Writing fixed files: each through a temp file in the target's own directory, renamed over
//! the target, so a reader (a reloading nginx) sees the old file or the new one, never half of
//! one. All temp files are written first and renamed only when every one of them is complete:
//! a read-only directory or a full disk leaves every file as it was.
//!
//! The mode and the owner of the original are kept. A symlink (Debian's sites-enabled ->
//! sites-available) is written through to its target and stays a link; a file reached by two
//! paths is written once.

use std::fs::{self, File, Permissions};
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::{FileChange, FixError, FixOutcome};
use crate::config::LoadProblemKind;

/// Writes the changes of a fix run, refusing when the result must not be written: the tree came
/// from an `nginx -T` dump, a file does not parse, or an included file could not be read.
/// Returns the files written (canonical paths).
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

/// A finished temp file waiting to be renamed over `target`.
struct Pending {
    temp: PathBuf,
    target: PathBuf,
}

/// Writes every change atomically (see the module docs). Returns the files written, as
/// canonical paths. On error nothing has been replaced, except when a rename fails after
/// others succeeded ([`FixError::PartialWrite`] names those).
pub fn write_changes(changes: &[FileChange]) -> Result<Vec<PathBuf>, FixError> {
    let mut targets: Vec<(PathBuf, &[u8])> = Vec::new();
    for change in changes {
        let target = fs::canonicalize(&change.path).map_err(|source| FixError::Io {
            path: change.path.clone(),
            source,
        })?;
        match targets.iter().find(|(t, _)| *t == target) {
            Some((_, text)) if *text == change.fixed.as_slice() => {}
            Some(_) => return Err(FixError::ConflictingWrites { path: target }),
            None => targets.push((target, &change.fixed)),
        }
    }

    let mut pending: Vec<Pending> = Vec::with_capacity(targets.len());
    for (target, text) in &targets {
        match write_temp(target, text) {
            Ok(temp) => pending.push(Pending {
                temp,
                target: target.clone(),
            }),
            Err(e) => {
                remove_temps(&pending);
                return Err(e);
            }
        }
    }

    let mut written = Vec::with_capacity(pending.len());
    for (i, p) in pending.iter().enumerate() {
        if let Err(source) = fs::rename(&p.temp, &p.target) {
            remove_temps(&pending[i..]);
            return Err(FixError::PartialWrite {
                path: p.target.clone(),
                source,
                written,
            });
        }
        written.push(p.target.clone());
    }
    for dir in written.iter().filter_map(|p| p.parent()) {
        // Make the renames durable; a directory that cannot be synced is no reason to fail.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(written)
}

fn remove_temps(pending: &[Pending]) {
    for p in pending {
        let _ = fs::remove_file(&p.temp);
    }
}

/// Writes `text` to a new temp file beside `target` with the target's owner and mode.
fn write_temp(target: &Path, text: &[u8]) -> Result<PathBuf, FixError> {
    let io_err = |source| FixError::Io {
        path: target.to_path_buf(),
        source,
    };
    let meta = fs::metadata(target).map_err(io_err)?;
    if !meta.is_file() {
        return Err(FixError::NotRegular {
            path: target.to_path_buf(),
        });
    }
    if meta.nlink() > 1 {
        // A rename would leave the other names with the old text.
        return Err(FixError::HardLinked {
            path: target.to_path_buf(),
            links: meta.nlink(),
        });
    }
    let (temp, mut file) =
        crate::temp::create_beside(target).map_err(|source| FixError::NotWritable {
            path: target.to_path_buf(),
            source,
        })?;
    let filled = fill(&mut file, text, &meta);
    drop(file);
    match filled {
        Ok(()) => Ok(temp),
        Err(source) => {
            let _ = fs::remove_file(&temp);
            Err(FixError::NotWritable {
                path: target.to_path_buf(),
                source,
            })
        }
    }
}

fn fill(file: &mut File, text: &[u8], original: &fs::Metadata) -> std::io::Result<()> {
    file.write_all(text)?;
    let created = file.metadata()?;
    // Owner first: chown clears set-id bits, the chmod after it restores the exact mode.
    if created.uid() != original.uid() || created.gid() != original.gid() {
        std::os::unix::fs::fchown(&*file, Some(original.uid()), Some(original.gid()))?;
    }
    file.set_permissions(Permissions::from_mode(original.mode() & 0o7777))?;
    file.sync_all()
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
            original: Vec::new(),
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
