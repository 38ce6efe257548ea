//! Fixes are text edits on byte spans, so everything a fix does not touch stays byte-identical.
//!
//! - [`apply`]: the fix loop: apply the fixes of one lint, re-parse, re-lint from the patched
//!   texts, repeat until nothing applies ([`fix_until_stable`]).
//! - [`write`]: atomic writes (temp file + rename, mode and owner kept, through symlinks).
//! - [`verify`]: `nginx -t` on a patched copy of the tree before anything is written.
//! - [`diff`]: the unified diff of `--diff`.

pub mod apply;
pub mod diff;
pub mod scope;
pub mod verify;
pub mod write;

use std::path::PathBuf;

pub use apply::{
    fix_until_stable, AppliedFix, Checked, DroppedFix, FileChange, FixOptions, FixOutcome,
    DEFAULT_MAX_PASSES,
};
pub use diff::unified_diff;
pub use verify::{verify_with_nginx, Verified};
pub use write::{write_changes, write_outcome};

use crate::config::LoadError;

/// Why fixing stopped, or why one fix was left out.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A fix would leave a file nginx cannot parse (reported, the fix is dropped).
    #[error("it would break parsing: {file}:{line}:{column}: {message}")]
    ParseAfterFix {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A fix edits a file that is not one of the tree's nginx files (php.ini, a pool file).
    #[error("it edits {file}, which is not an nginx file of this configuration")]
    OutsideTree { file: String },
    /// A fix edits a file `--fix` may not write (outside the checked tree, read-only, ...).
    #[error("it edits {file}, which is not written: {reason}")]
    NotInScope { file: String, reason: String },
    /// The tree with the fix applied has a finding the original did not have.
    #[error("it would introduce {finding}")]
    WouldIntroduce { finding: String },
    /// A fix's edit does not fit its file (a rule bug).
    #[error("its edit at bytes {start}..{end} lies outside {file}")]
    InvalidEdit {
        file: String,
        start: usize,
        end: usize,
    },
    /// A fix's own edits overlap (a rule bug).
    #[error("its own edits overlap in {file}")]
    OverlappingEdits { file: String },
    #[error("nothing written: {file} does not parse")]
    TreeDoesNotParse { file: String },
    #[error("nothing written: {file} could not be read")]
    TreeIncomplete { file: String },
    #[error("nothing written: the configuration came from an `nginx -T` dump")]
    FromDump,
    /// Two paths lead to one file with different new texts (cannot happen through the engine,
    /// which edits a file reached twice once).
    #[error("nothing written: {} would get two different texts", path.display())]
    ConflictingWrites { path: PathBuf },
    #[error("nothing written: {} is not a regular file", path.display())]
    NotRegular { path: PathBuf },
    #[error("nothing written: {} has {links} hard links, and replacing it would leave the others with the old text", path.display())]
    HardLinked { path: PathBuf, links: u64 },
    /// Creating or filling a temp file failed: nothing was replaced.
    #[error("nothing written: cannot write next to {}: {source}", path.display())]
    NotWritable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A target no longer holds the text that was checked (edited meanwhile, or another run).
    #[error("nothing written: {} changed since it was read; run the check again", path.display())]
    ChangedSinceRead { path: PathBuf },
    /// A rename failed; the files already replaced were put back.
    #[error("nothing written: {}: cannot replace the file: {source} (put back: {})", path.display(), list(restored))]
    RolledBack {
        path: PathBuf,
        #[source]
        source: std::io::Error,
        restored: Vec<PathBuf>,
    },
    /// Renaming a finished temp file over its target failed after `written` were replaced, and
    /// putting those back failed too.
    #[error("{}: cannot replace the file: {source} (left written: {})", path.display(), list(written))]
    PartialWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
        written: Vec<PathBuf>,
    },
    #[error("cannot run {}: {source}", nginx.display())]
    VerifyRun {
        nginx: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--verify-with` was asked for and nginx refuses the unfixed configuration already, with the
    /// same first error: what follows that error cannot be verified.
    #[error("nothing written: `nginx -t` refuses the unfixed configuration already, with the same first error as the fixed one (nginx stops there, so the rest cannot be verified):\n{stderr}")]
    VerifySameFailure { stderr: String },
    /// `--verify-with` was asked for, but running nginx on the copy would not be safe.
    #[error("nothing written: not verified with `nginx -t`: {reason}")]
    VerifyRefused { reason: String },
    #[error("nothing written: `nginx -t` rejects the fixed configuration{}:\n{stderr}", if *original_fails { " (and the unfixed one too)" } else { "" })]
    VerifyFailed {
        stderr: String,
        original_fails: bool,
    },
}

fn list(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "none".to_owned();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
