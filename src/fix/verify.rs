//! `--verify-with NGINX`: before anything is written, the fixed configuration is copied to a
//! temp directory and checked with the real `nginx -t`, which is the authority on what nginx
//! accepts.
//!
//! The copy keeps the layout under the configuration prefix (files outside it go under
//! `_outside/`), and nginx runs with `-p <tmp>/ -c <tmp>/<main file>`, so relative includes land
//! in the copy. An `include` naming a file by absolute path (`include /etc/nginx/conf.d/*.conf;`)
//! would read the live files instead, so in the copy each include is replaced, on the same line,
//! by includes of the copies of exactly the files the loader found for it (line numbers in
//! nginx's messages stay those of the user's files). Everything else under the prefix that the
//! copy does not hold (certificates, htpasswd files, `modules/`, `logs/`) is linked into it, so
//! paths relative to the prefix resolve as they do with `nginx -t -p <prefix>/` on the original
//! (only the directories that hold copies are walked). `-e /dev/null` keeps nginx's startup log
//! away from the system's error log; its messages still come on stderr
//! (`nginx: [emerg] ... in FILE:LINE`), with the copies' paths shown as the user's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::edits::quote_word;
use super::{FixError, FixOutcome};
use crate::config::{is_glob, parse_config, ConfigTree};
use crate::source::FileId;
use crate::syntax::{Node, Quote, Span};

/// Runs `nginx -t` on a copy of the fixed configuration. `Ok(())` when nginx accepts it; else
/// [`FixError::VerifyFailed`] with nginx's messages (and whether the unfixed configuration
/// fails too, in which case the fixes are not to blame).
pub fn verify_with_nginx(nginx: &Path, outcome: &FixOutcome) -> Result<(), FixError> {
    let tree = &outcome.checked.ws.tree;
    let fixed = |id: FileId| tree.sources.get(id).text.clone();
    let stderr = match nginx_t(nginx, tree, &fixed)? {
        Verdict::Passes => return Ok(()),
        Verdict::Fails(stderr) => stderr,
        Verdict::Unknown => {
            return Err(FixError::VerifyFailed {
                stderr: "the configuration could not be copied for `nginx -t`".to_owned(),
                original_fails: false,
            })
        }
    };
    let originals: HashMap<&Path, &[u8]> = outcome
        .changes
        .iter()
        .flat_map(|c| {
            c.aliases
                .iter()
                .map(|a| (a.as_path(), c.original.as_slice()))
        })
        .collect();
    let original = |id: FileId| {
        let file = tree.sources.get(id);
        originals
            .get(file.path.as_path())
            .map_or_else(|| file.text.clone(), |t| t.to_vec())
    };
    let original_fails = matches!(nginx_t(nginx, tree, &original)?, Verdict::Fails(_));
    Err(FixError::VerifyFailed {
        stderr,
        original_fails,
    })
}

enum Verdict {
    Passes,
    /// nginx's stderr, with the copies' paths replaced by display paths.
    Fails(String),
    /// The copy could not be made (another version of a file whose includes differ).
    Unknown,
}

/// `nginx -t` on a copy of `tree` with the texts `text_of` gives.
fn nginx_t(
    nginx: &Path,
    tree: &ConfigTree,
    text_of: &dyn Fn(FileId) -> Vec<u8>,
) -> Result<Verdict, FixError> {
    let tmp = TempDir::new()?;
    let copies: HashMap<FileId, PathBuf> = tree
        .nginx_files
        .iter()
        .map(|&id| (id, copy_path(tmp.path(), tree, &tree.sources.get(id).path)))
        .collect();
    for &id in &tree.nginx_files {
        let Some(dest) = copies.get(&id) else {
            continue;
        };
        let Some(text) = rewrite_includes(tree, id, &text_of(id), &copies) else {
            return Ok(Verdict::Unknown);
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|source| FixError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(dest, text).map_err(|source| FixError::Io {
            path: dest.clone(),
            source,
        })?;
    }
    if !tree.from_dump {
        link_the_rest(&tree.prefix, tmp.path());
    }
    let Some(main) = copies.get(&tree.root) else {
        return Ok(Verdict::Unknown);
    };
    let output = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(format!("{}/", tmp.path().display()))
        .arg("-c")
        .arg(main)
        .arg("-e")
        .arg("/dev/null")
        .output()
        .map_err(|source| FixError::VerifyRun {
            nginx: nginx.to_path_buf(),
            source,
        })?;
    if output.status.success() {
        return Ok(Verdict::Passes);
    }
    let mut stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let mut shown: Vec<(String, &str)> = copies
        .iter()
        .map(|(id, p)| {
            (
                p.display().to_string(),
                tree.sources.get(*id).display.as_str(),
            )
        })
        .collect();
    // Longest first, so `a.conf.bak` is not half-replaced by `a.conf`.
    shown.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
    for (copy, display) in shown {
        stderr = stderr.replace(&copy, display);
    }
    Ok(Verdict::Fails(stderr.trim_end().to_owned()))
}

/// Links every entry under `prefix` that the copy in `tmp` does not hold, descending only into
/// directories the copy has too (those hold copied files). Best effort: a link that cannot be
/// made only matters if nginx reads that path, and then nginx says so.
fn link_the_rest(prefix: &Path, tmp: &Path) {
    /// Enough for any /etc/nginx; a bound for a prefix like a home directory.
    const MAX_ENTRIES: usize = 20_000;
    let mut walk = walkdir::WalkDir::new(prefix)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    let mut seen = 0;
    while let Some(entry) = walk.next() {
        let Ok(entry) = entry else { continue };
        seen += 1;
        if seen > MAX_ENTRIES {
            break;
        }
        if entry.path() == tmp {
            // The copy itself, when the prefix is the system temp dir.
            walk.skip_current_dir();
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(prefix) else {
            continue;
        };
        let dest = tmp.join(rel);
        match std::fs::symlink_metadata(&dest) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => {
                if entry.file_type().is_dir() {
                    walk.skip_current_dir();
                }
                continue;
            }
            Err(_) => {}
        }
        let _ = std::os::unix::fs::symlink(entry.path(), &dest);
        if entry.file_type().is_dir() {
            walk.skip_current_dir();
        }
    }
}

/// Where the copy of `path` goes under `tmp`.
fn copy_path(tmp: &Path, tree: &ConfigTree, path: &Path) -> PathBuf {
    match path.strip_prefix(&tree.prefix) {
        Ok(rel) => tmp.join(rel),
        Err(_) => {
            let rel: PathBuf = path
                .components()
                .filter(|c| matches!(c, std::path::Component::Normal(_)))
                .collect();
            tmp.join("_outside").join(rel)
        }
    }
}

/// The text of `file` for the copy: each `include` replaced by includes of the copies of the
/// files the loader found for it. A glob that matched nothing in the tree is dropped (in nginx
/// it is a no-op; in the copy it could match live files); a missing plain file is left as it is,
/// so nginx reports it. `text` may be another version of the file than the tree's (the unfixed
/// one): its includes are matched to the tree's in order; `None` when they do not correspond.
fn rewrite_includes(
    tree: &ConfigTree,
    file: FileId,
    text: &[u8],
    copies: &HashMap<FileId, PathBuf>,
) -> Option<Vec<u8>> {
    let Some(tree_ast) = tree.ast(file) else {
        return Some(text.to_vec());
    };
    let in_tree = include_spans(&tree_ast.items);
    let in_text = if text == tree.sources.get(file).text.as_slice() {
        in_tree.clone()
    } else {
        include_spans(&parse_config(text).ok()?.items)
    };
    if in_text.len() != in_tree.len() {
        return None;
    }
    let mut out = Vec::with_capacity(text.len());
    let mut cursor = 0;
    for ((tree_span, glob), (span, _)) in in_tree.into_iter().zip(in_text) {
        let targets = tree.include_targets(file, tree_span);
        if targets.is_empty() && !glob {
            continue;
        }
        if span.start < cursor || span.end > text.len() {
            return None;
        }
        let replacement: Vec<String> = targets
            .iter()
            .filter_map(|t| copies.get(t))
            .map(|p| {
                format!(
                    "include {};",
                    quote_word(Quote::Double, &p.display().to_string())
                )
            })
            .collect();
        out.extend_from_slice(&text[cursor..span.start]);
        out.extend_from_slice(replacement.join(" ").as_bytes());
        cursor = span.end;
    }
    out.extend_from_slice(&text[cursor..]);
    Some(out)
}

/// Every one-argument `include` of a file, in source order, with whether it is a glob.
fn include_spans(items: &[Node]) -> Vec<(Span, bool)> {
    let mut out = Vec::new();
    let mut stack: Vec<&[Node]> = vec![items];
    while let Some(items) = stack.pop() {
        for node in items {
            let Node::Directive(d) = node else { continue };
            if d.name() == "include" && d.args.len() == 1 {
                out.push((d.span, is_glob(d.args[0].as_str())));
            }
            if let Some(b) = &d.block {
                stack.push(&b.items);
            }
        }
    }
    out.sort_by_key(|(span, _)| span.start);
    out
}

/// A directory under the system temp dir, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, FixError> {
        let base = std::env::temp_dir();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut attempt = 0u32;
        loop {
            let dir = base.join(format!(
                "nginx-gwlint-verify-{}-{stamp}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Self(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(source) => return Err(FixError::Io { path: dir, source }),
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
