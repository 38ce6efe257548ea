//! Temp files for atomic replacement (`--fix`, `--write-baseline`): created beside the target,
//! exclusively, under a name nobody can guess, so a planted file or symlink is never opened,
//! followed or truncated (another local user could otherwise make root overwrite any file).

use std::fs::{File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Names tried before giving up (each one is random: a collision means someone is guessing).
const ATTEMPTS: u32 = 16;

/// Creates a new empty file, mode 0600, in `target`'s directory, named `.NAME.gwlint-RANDOM.tmp`.
/// `O_CREAT | O_EXCL | O_NOFOLLOW`: an existing file or symlink at the chosen name is an error
/// (`EEXIST`, then another name is tried), never opened.
pub fn create_beside(target: &Path) -> io::Result<(PathBuf, File)> {
    let mut last = io::Error::new(io::ErrorKind::AlreadyExists, "no free temp name");
    for attempt in 0..ATTEMPTS {
        let temp = random_name_beside(target, "tmp", attempt);
        match open_exclusive(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// Links `target` under a second random name beside it (`.NAME.gwlint-RANDOM.orig`), to put
/// the original back with. link(2) fails when the new name exists in any form, so nothing
/// planted there is touched.
pub fn link_beside(target: &Path) -> io::Result<PathBuf> {
    let mut last = io::Error::new(io::ErrorKind::AlreadyExists, "no free backup name");
    for attempt in 0..ATTEMPTS {
        let backup = random_name_beside(target, "orig", attempt);
        match std::fs::hard_link(target, &backup) {
            Ok(()) => return Ok(backup),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// `.NAME.gwlint-RANDOM.KIND` in `target`'s directory.
fn random_name_beside(target: &Path, kind: &str, attempt: u32) -> PathBuf {
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    dir.join(format!(".{name}.gwlint-{:016x}.{kind}", random(attempt)))
}

/// Creates `path`, which must not exist in any form (file, directory, dangling symlink).
fn open_exclusive(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(path)
}

/// 64 unpredictable bits without a new dependency: std's `RandomState` is keyed from the
/// operating system's random source, mixed here with the time, the process id and `salt`.
fn random(salt: u32) -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.write_u32(std::process::id());
    h.write_u32(salt);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planted_links_and_files_are_never_opened() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious")?;
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link)?;
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling)?;
        let file = dir.path().join("file");
        std::fs::write(&file, "mine")?;
        for planted in [&link, &dangling, &file] {
            let e = open_exclusive(planted).err().map(|e| e.kind());
            assert_eq!(
                e,
                Some(io::ErrorKind::AlreadyExists),
                "{}",
                planted.display()
            );
        }
        assert_eq!(std::fs::read_to_string(&victim)?, "precious");
        assert_eq!(std::fs::read_to_string(&file)?, "mine");
        assert!(!dir.path().join("nowhere").exists());
        Ok(())
    }

    #[test]
    fn names_differ_and_stay_beside_the_target() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("baseline.json");
        let (a, _) = create_beside(&target)?;
        let (b, _) = create_beside(&target)?;
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(dir.path()));
        let name = a.file_name().map(|n| n.to_string_lossy().into_owned());
        assert!(name.is_some_and(|n| n.starts_with(".baseline.json.gwlint-")));
        Ok(())
    }
}
