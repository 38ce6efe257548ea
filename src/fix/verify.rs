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

use super::{FixError, FixOutcome};
use crate::config::{is_glob, parse_config, ConfigTree};
use crate::diagnostic::edits::quote_word;
use crate::source::FileId;
use crate::syntax::{ItemRef, Items, Quote, Span};

/// What `nginx -t` said about the fixed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// nginx accepts it.
    Passes,
    /// nginx refuses the unfixed configuration with the same messages: the fixes changed
    /// nothing nginx objects to (a copied tree without its certificates, a host only the
    /// deployment resolves).
    SameFailure(String),
    /// Not run: running it could execute code from the checked tree or write outside the copy.
    Skipped(String),
}

/// Runs `nginx -t` on a copy of the fixed configuration. `Ok(Passes)` when nginx accepts it,
/// `Ok(SameFailure)` when it refuses the unfixed configuration the same way; else
/// [`FixError::VerifyFailed`] with nginx's messages (and whether the unfixed configuration
/// fails too, with other messages).
///
/// Never runs code from the checked tree: a `load_module` is pointed at the module of the same
/// name in this machine's module folder (or verification is skipped when there is none), and a
/// configuration using perl, njs or Lua code is not run. Never writes outside its temp dir: every
/// log, pid, lock, temp and cache path in the copy is pointed into it, and so are the compiled-in
/// defaults for the paths nginx creates at start (temp paths, the default access and error log).
pub fn verify_with_nginx(nginx: &Path, outcome: &FixOutcome) -> Result<Verified, FixError> {
    let tree = &outcome.checked.ws.tree;
    if let Some(reason) = runs_code(tree) {
        return Ok(Verified::Skipped(reason));
    }
    let fixed = |id: FileId| tree.sources.get(id).text.to_vec();
    let stderr = match nginx_t(nginx, tree, &fixed)? {
        Verdict::Passes => return Ok(Verified::Passes),
        Verdict::Fails(stderr) => stderr,
        Verdict::Skipped(reason) => return Ok(Verified::Skipped(reason)),
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
            .map_or_else(|| file.text.to_vec(), |t| t.to_vec())
    };
    match nginx_t(nginx, tree, &original)? {
        Verdict::Fails(before) if before == stderr => Ok(Verified::SameFailure(stderr)),
        before => Err(FixError::VerifyFailed {
            stderr,
            original_fails: matches!(before, Verdict::Fails(_)),
        }),
    }
}

/// Directives whose code nginx runs while it reads the configuration (`nginx -t` included).
fn runs_code(tree: &ConfigTree) -> Option<String> {
    for &id in &tree.nginx_files {
        let Some(ast) = tree.ast(id) else { continue };
        let mut stack: Vec<Items<'_>> = vec![ast.items()];
        while let Some(items) = stack.pop() {
            for node in items {
                let ItemRef::Directive(d) = node else {
                    continue;
                };
                let name = d.name();
                if name.starts_with("perl") || name.starts_with("js_") || name.contains("_by_lua") {
                    let file = tree.sources.get(id);
                    let line = file.line_col(d.span().start()).0;
                    return Some(format!(
                        "`{name}` ({}:{line}) runs code from the configuration when nginx reads it",
                        file.display
                    ));
                }
                if let Some(b) = d.block() {
                    stack.push(b.items());
                }
            }
        }
    }
    None
}

enum Verdict {
    Passes,
    /// nginx's stderr, with the copies' paths replaced by display paths.
    Fails(String),
    /// The copy could not be made (another version of a file whose includes differ).
    Unknown,
    /// Running nginx on the copy would not be safe (see [`verify_with_nginx`]).
    Skipped(String),
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
        let text = match confine(&text, id == tree.root, tmp.path()) {
            Ok(Some(text)) => text,
            Ok(None) => return Ok(Verdict::Unknown),
            Err(reason) => return Ok(Verdict::Skipped(reason)),
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

/// Where this machine's nginx packages keep their dynamic modules.
const SYSTEM_MODULE_DIRS: &[&str] = &[
    "/usr/lib/nginx/modules",
    "/usr/lib64/nginx/modules",
    "/usr/share/nginx/modules",
    "/usr/local/nginx/modules",
    "/usr/local/lib/nginx/modules",
    "/etc/nginx/modules",
];

/// Paths nginx opens for writing or creates, by directive: the index of the path argument.
fn written_path_arg(name: &str) -> Option<usize> {
    match name {
        "error_log" | "access_log" | "pid" | "lock_file" | "ssl_keylog_file" => Some(0),
        n if n.ends_with("_temp_path") || n.ends_with("_cache_path") => Some(0),
        _ => None,
    }
}

/// Temp paths nginx creates at start from compiled-in defaults (`ngx_create_paths`) unless the
/// http block sets them.
const DEFAULT_TEMP_PATHS: &[&str] = &[
    "client_body_temp_path",
    "proxy_temp_path",
    "fastcgi_temp_path",
    "uwsgi_temp_path",
    "scgi_temp_path",
];

/// The copy's text with everything nginx would write pointed into `tmp/_written/` and every
/// `load_module` pointed at this machine's module of the same name. `Err` when a module has no
/// counterpart here; `None` when the text does not parse.
fn confine(text: &[u8], is_main: bool, tmp: &Path) -> Result<Option<Vec<u8>>, String> {
    let Ok(ast) = parse_config(text) else {
        return Ok(None);
    };
    let written = tmp.join("_written");
    let _ = std::fs::create_dir_all(&written);
    let mut edits: Vec<(Span, String)> = Vec::new();
    let mut counter = 0usize;
    let mut fresh = |kind: &str| {
        counter += 1;
        let p = written.join(format!("{kind}-{counter}"));
        quote_word(Quote::Double, &p.display().to_string())
    };
    let mut main_has_error_log = false;
    let mut stack: Vec<(Items<'_>, usize)> = vec![(ast.items(), 0)];
    while let Some((items, depth)) = stack.pop() {
        for node in items {
            let ItemRef::Directive(d) = node else {
                continue;
            };
            let name = d.name();
            if depth == 0 && name == "error_log" {
                main_has_error_log = true;
            }
            if name == "load_module" {
                let Some(arg) = d.args().first() else {
                    continue;
                };
                let file_name = Path::new(arg.as_str()).file_name();
                let system = file_name.and_then(|f| {
                    SYSTEM_MODULE_DIRS
                        .iter()
                        .map(|dir| Path::new(dir).join(f))
                        .find(|p| p.is_file())
                });
                let Some(system) = system else {
                    return Err(format!(
                        "`load_module {}` names no module of this machine's nginx (looked in {}); \
                         loading it would run code from the checked tree",
                        arg.as_str(),
                        SYSTEM_MODULE_DIRS.join(", ")
                    ));
                };
                edits.push((
                    arg.span(),
                    quote_word(Quote::Double, &system.display().to_string()),
                ));
                continue;
            }
            if let Some(i) = written_path_arg(name) {
                if let Some(arg) = d.args().get(i) {
                    let value = arg.as_str();
                    let special = value == "off"
                        || value == "stderr"
                        || value.starts_with("syslog:")
                        || value.starts_with("memory:")
                        || value == "/dev/null";
                    if !special {
                        edits.push((arg.span(), fresh(name)));
                    }
                }
            }
            if let Some(b) = d.block() {
                if name == "http" {
                    let set_here: Vec<&str> = b.directives().map(|c| c.name()).collect();
                    let mut defaults = String::new();
                    for temp in DEFAULT_TEMP_PATHS {
                        if !set_here.contains(temp) {
                            defaults.push_str(&format!(" {temp} {};", fresh(temp)));
                        }
                    }
                    if !set_here.contains(&"access_log") {
                        defaults.push_str(&format!(" access_log {};", fresh("access_log")));
                    }
                    edits.push((Span::empty(b.open().end()), defaults));
                }
                stack.push((b.items(), depth + 1));
            }
        }
    }
    if is_main && !main_has_error_log {
        // On the first line, before anything: line numbers stay those of the user's file.
        edits.push((
            Span::empty(0),
            format!("error_log {}; ", fresh("error_log")),
        ));
    }
    edits.sort_by_key(|(span, _)| (span.start(), span.end()));
    let mut out = Vec::with_capacity(text.len() + 256);
    let mut cursor = 0;
    for (span, content) in edits {
        if span.start() < cursor || span.end() > text.len() {
            return Ok(None);
        }
        out.extend_from_slice(&text[cursor..span.start()]);
        out.extend_from_slice(content.as_bytes());
        cursor = span.end();
    }
    out.extend_from_slice(&text[cursor..]);
    Ok(Some(out))
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
    let in_tree = include_spans(tree_ast.items());
    let in_text = if text == tree.sources.get(file).text.as_slice() {
        in_tree.clone()
    } else {
        include_spans(parse_config(text).ok()?.items())
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
        if span.start() < cursor || span.end() > text.len() {
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
        out.extend_from_slice(&text[cursor..span.start()]);
        out.extend_from_slice(replacement.join(" ").as_bytes());
        cursor = span.end();
    }
    out.extend_from_slice(&text[cursor..]);
    Some(out)
}

/// Every one-argument `include` of a file, in source order, with whether it is a glob.
fn include_spans(items: Items<'_>) -> Vec<(Span, bool)> {
    let mut out = Vec::new();
    let mut stack: Vec<Items<'_>> = vec![items];
    while let Some(items) = stack.pop() {
        for node in items {
            let ItemRef::Directive(d) = node else {
                continue;
            };
            if let Some([arg]) = d.args().array().filter(|_| d.name() == "include") {
                out.push((d.span(), is_glob(arg.as_str())));
            }
            if let Some(b) = d.block() {
                stack.push(b.items());
            }
        }
    }
    out.sort_by_key(|(span, _)| span.start());
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
