//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod lab;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nginx_gwlint::syntax::{Ast, LineIndex, Node, Quote};

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` (corpus, lab, schemas), found by walking up from the crate. Panics with a clear
/// message when absent: tests that need it must not pass silently.
pub fn shared() -> PathBuf {
    for dir in root().ancestors() {
        let candidate = dir.join("shared");
        if candidate.join("corpus").is_dir() {
            return candidate;
        }
    }
    panic!(
        "../shared (corpus, lab) not found above {}",
        root().display()
    );
}

/// The nginx binary for oracle tests: $NGINX or `nginx` on PATH. Panics loudly when missing:
/// CI installs nginx (see .ci/run), and these tests must never skip silently.
pub fn nginx_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("NGINX") {
        return PathBuf::from(p);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .chain([PathBuf::from("/usr/sbin")])
    {
        let candidate = dir.join("nginx");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("this test needs the real nginx binary (apt-get install -y nginx, or set NGINX=/path/to/nginx)");
}

/// Result of `nginx -t` on a config file: None when it passes, else (message, line).
pub fn nginx_test(conf: &Path) -> Option<(String, usize)> {
    let dir = conf.parent().unwrap();
    let out = std::process::Command::new(nginx_binary())
        .arg("-t")
        .arg("-p")
        .arg(format!("{}/", dir.display()))
        .arg("-c")
        .arg(conf)
        .arg("-e")
        .arg("stderr")
        .output()
        .expect("run nginx -t");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return None;
    }
    let line = stderr
        .lines()
        .find(|l| l.contains("[emerg]"))
        .unwrap_or_else(|| panic!("nginx -t failed without [emerg]: {stderr}"));
    let msg = line.split_once("[emerg] ").unwrap().1;
    // Drop the "PID#TID: " prefix of the stderr log shape.
    let msg = match msg.split_once(": ") {
        Some((pid, rest)) if pid.contains('#') => rest,
        _ => msg,
    };
    let (text, loc) = msg.rsplit_once(" in ").unwrap_or((msg, ""));
    let line_no = loc
        .rsplit_once(':')
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0);
    Some((text.to_owned(), line_no))
}

/// A readable dump of a tree: one line per node, words with their quoting.
pub fn dump_tree(ast: &Ast, src: &[u8]) -> String {
    let idx = LineIndex::new(src);
    let mut out = String::new();
    fn walk(items: &[Node], src: &[u8], idx: &LineIndex, depth: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        for node in items {
            match node {
                Node::Comment(c) => {
                    let (l, col) = idx.line_col(src, c.span.start);
                    let _ = writeln!(out, "{pad}# {:?} @{l}:{col}", c.text.as_str());
                }
                Node::Directive(d) => {
                    let (l, col) = idx.line_col(src, d.span.start);
                    let words: Vec<String> = d
                        .args
                        .iter()
                        .map(|a| {
                            let q = match a.quote {
                                Quote::None => "",
                                Quote::Single => "s",
                                Quote::Double => "d",
                                Quote::Raw => "raw",
                            };
                            format!("{q}{:?}", a.as_str())
                        })
                        .collect();
                    let _ = write!(out, "{pad}{:?} [{}] @{l}:{col}", d.name(), words.join(", "));
                    for c in &d.inner_comments {
                        let _ = write!(out, " (# {:?})", c.text.as_str());
                    }
                    match &d.block {
                        Some(b) => {
                            let _ = writeln!(out, " {{ ({:?})", b.kind);
                            if let Some(raw) = &b.raw {
                                let _ = writeln!(out, "{pad}  raw {:?}", raw.as_str());
                            }
                            walk(&b.items, src, idx, depth + 1, out);
                            let _ = writeln!(out, "{pad}}}");
                        }
                        None => out.push('\n'),
                    }
                }
            }
        }
    }
    walk(&ast.items, src, &idx, 0, &mut out);
    out
}

/// Asserts the tree is lossless: token spans are ordered, do not overlap, and only nginx
/// whitespace lies between them.
pub fn assert_lossless(ast: &Ast, src: &[u8]) {
    let spans = ast.token_spans();
    let mut pos = 0;
    for s in spans {
        assert!(s.start >= pos, "overlapping spans at {}", s.start);
        let gap = &src[pos..s.start];
        assert!(
            gap.iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')),
            "non-whitespace between tokens at {pos}..{}: {:?}",
            s.start,
            String::from_utf8_lossy(gap)
        );
        pos = s.end;
    }
    assert!(src[pos..]
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n')));
}

/// Compares `actual` with the golden file; `UPDATE_GOLDEN=1` rewrites it.
pub fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "golden file {} is missing: run with UPDATE_GOLDEN=1, review, commit",
            path.display()
        )
    });
    assert_eq!(expected, actual, "golden mismatch for {}", path.display());
}

/// `*.conf` files of a directory, sorted.
pub fn conf_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    v.sort();
    v
}
