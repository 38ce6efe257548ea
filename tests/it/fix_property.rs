//! The fix invariant over real and generated trees (issue #11): for every corpus main file (its
//! repository copied), every rule fixture and every example, `check --fix --unsafe-fixes`:
//!
//! - leaves `nginx -t`'s verdict no worse (checked with the real nginx on a confined copy:
//!   `--diff --verify-with`);
//! - introduces no finding: no rule reports more findings after fixing than before;
//! - is idempotent: a second `--fix` changes nothing;
//! - equals its `--diff`: `git apply` of the diff on another copy gives the same bytes;
//! - changes nothing outside the copy: this machine's /etc/nginx and the corpus are checksummed
//!   before and after.
//!
//! `cargo test --test it fix_property -- --nocapture` prints the counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use crate::common;
use crate::common::bin;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

/// A tree to fix: the directory copied, the main file inside it, extra arguments relative to
/// the copy.
struct Case {
    name: String,
    dir: PathBuf,
    main: PathBuf,
    args: Vec<String>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let corpus = common::shared().join("corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols[4] != "nginx-main" {
            continue;
        }
        let repo = cols[0].replace('/', "__");
        out.push(Case {
            name: format!("corpus {repo}/{}", cols[2]),
            dir: corpus.join(&repo),
            main: PathBuf::from(cols[2]),
            args: Vec::new(),
        });
    }
    let cases = crate::rules::cases().unwrap_or_else(|errors| panic!("{}", errors.join("\n")));
    for case in cases {
        let mut args = case.cli_args();
        let main = PathBuf::from(args.pop().unwrap());
        out.push(Case {
            name: format!("rule case {}", case.label()),
            dir: case.dir,
            main,
            args,
        });
    }
    for (example, main, args) in [
        ("grpc", "nginx.conf", vec![]),
        ("node-proxy", "nginx.conf", vec![]),
        ("compose-node", "nginx.conf", vec![]),
        (
            "php-fpm-wordpress",
            "etc/nginx/nginx.conf",
            vec!["--sysroot".to_owned(), ".".to_owned()],
        ),
    ] {
        out.push(Case {
            name: format!("example {example}"),
            dir: common::root().join("examples").join(example),
            main: PathBuf::from(main),
            args,
        });
    }
    out
}

fn copy(case: &Case) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Std::new("cp")
        .arg("-a")
        .arg(format!("{}/.", case.dir.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "{}", case.name);
    dir
}

/// Every regular file and symlink under `dir` (relative path -> bytes or link target).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let rel = e.path().strip_prefix(dir).ok()?.to_path_buf();
            if e.path_is_symlink() {
                let t = std::fs::read_link(e.path()).ok()?;
                return Some((rel, t.into_os_string().into_encoded_bytes()));
            }
            e.file_type()
                .is_file()
                .then(|| (rel, std::fs::read(e.path()).unwrap_or_default()))
        })
        .collect()
}

/// Runs the binary in `dir` (relative arguments resolve there).
fn run(dir: &Path, case: &Case, mode: &[&str]) -> std::process::Output {
    bin()
        .current_dir(dir)
        .args(["check", "--unsafe-fixes", "--nginx-version", "1.22.1"])
        .args(mode)
        .args(&case.args)
        .arg(&case.main)
        .output()
        .unwrap()
}

/// Findings per rule in the JSON report.
fn counts(out: &std::process::Output) -> BTreeMap<String, usize> {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut m = BTreeMap::new();
    for d in v["diagnostics"].as_array().into_iter().flatten() {
        *m.entry(d["rule"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    m
}

fn fixed_count(stderr: &str) -> usize {
    stderr
        .lines()
        .rev()
        .find(|l| l.contains(" remaining"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn fixing_never_makes_a_tree_worse() {
    if common::oracle::shared().is_none() || common::oracle::nginx().is_none() {
        return;
    }
    let nginx = common::nginx_binary();
    let etc_before = snapshot(Path::new("/etc/nginx"));
    let corpus_before = snapshot(&common::shared().join("corpus"));
    let mut violations: Vec<String> = Vec::new();
    let (mut trees, mut fixed_trees, mut fixes, mut verified, mut same_failure, mut skipped) =
        (0, 0, 0, 0, 0, 0);
    for case in cases() {
        trees += 1;
        // `--diff` writes nothing: run it on the tree itself to see whether there is anything
        // to fix (most trees have nothing); the corpus snapshot proves it wrote nothing.
        let probe = run(&case.dir, &case, &["--diff", "--no-verify"]);
        if probe.stdout.is_empty() {
            continue;
        }
        let original = copy(&case);
        let before = run(original.path(), &case, &["--format", "json"]);

        let fixed = copy(&case);
        let out = run(
            fixed.path(),
            &case,
            &["--fix", "--no-verify", "--format", "json"],
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let n = fixed_count(&err);
        if n == 0 {
            if snapshot(fixed.path()) != snapshot(original.path()) {
                violations.push(format!("{}: changed files with 0 fixes", case.name));
            }
            continue;
        }
        fixed_trees += 1;
        fixes += n;

        // No rule reports more than before (the report after --fix is what remains).
        let (b, a) = (counts(&before), counts(&out));
        for (rule, after) in &a {
            let was = b.get(rule).copied().unwrap_or(0);
            if *after > was {
                violations.push(format!(
                    "{}: {rule} {was} -> {after} after fixing\n{err}",
                    case.name
                ));
            }
        }

        // Idempotent.
        let once = snapshot(fixed.path());
        let again = run(
            fixed.path(),
            &case,
            &["--fix", "--no-verify", "--format", "json"],
        );
        let again_err = String::from_utf8_lossy(&again.stderr);
        if fixed_count(&again_err) != 0 || snapshot(fixed.path()) != once {
            violations.push(format!(
                "{}: second --fix changed more: {again_err}",
                case.name
            ));
        }

        // --diff applied with git apply equals --fix.
        let applied = copy(&case);
        let diff = run(applied.path(), &case, &["--diff", "--no-verify"]);
        let scratch = tempfile::tempdir().unwrap();
        let patch = scratch.path().join("fix.diff");
        std::fs::write(&patch, &diff.stdout).unwrap();
        // The diff is relative to the root of the write scope: the sysroot, else the main
        // file's directory.
        let sysroot = case
            .args
            .iter()
            .position(|a| a == "--sysroot")
            .map(|i| case.args[i + 1].clone());
        let apply_dir = match &sysroot {
            Some(s) if case.main.starts_with("etc") => applied.path().join(s),
            _ => applied
                .path()
                .join(case.main.parent().unwrap_or(Path::new(""))),
        };
        let git = Std::new("git")
            .args(["apply", "-p1"])
            .arg(&patch)
            .current_dir(&apply_dir)
            .output()
            .unwrap();
        if !git.status.success() || snapshot(applied.path()) != once {
            violations.push(format!(
                "{}: git apply of --diff differs from --fix: {}",
                case.name,
                String::from_utf8_lossy(&git.stderr)
            ));
        }

        // nginx -t's verdict is no worse (the real nginx on a confined copy).
        let verify = copy(&case);
        let v = bin()
            .current_dir(verify.path())
            .args([
                "check",
                "--unsafe-fixes",
                "--nginx-version",
                "1.22.1",
                "--diff",
            ])
            .arg("--verify-with")
            .arg(&nginx)
            .args(&case.args)
            .arg(&case.main)
            .output()
            .unwrap();
        let v_err = String::from_utf8_lossy(&v.stderr);
        if v_err.contains("verified: ") {
            verified += 1;
        } else if v_err.contains("not verified with `nginx -t`: ") {
            skipped += 1;
        } else if v_err.contains("with the same first error")
            || v_err.contains("(and the unfixed one too)")
        {
            // nginx refuses the tree as it is (a copy without its certificates, a host only its
            // deployment resolves, a rule case of what nginx refuses): the verdict is the same
            // before and after (the first error may move or be another one the fix left).
            same_failure += 1;
        } else {
            violations.push(format!("{}: nginx -t: {v_err}", case.name));
        }
    }
    println!(
        "fix property: {trees} trees, {fixed_trees} with fixes, {fixes} fixes applied; nginx -t: \
         {verified} verified, {same_failure} refused before and after, {skipped} not run (code \
         or modules from the tree)"
    );
    assert_eq!(
        snapshot(Path::new("/etc/nginx")),
        etc_before,
        "/etc/nginx changed"
    );
    assert_eq!(
        snapshot(&common::shared().join("corpus")),
        corpus_before,
        "the corpus changed"
    );
    assert!(fixed_trees >= 10, "too few trees with fixes: {fixed_trees}");
    assert!(violations.is_empty(), "{}", violations.join("\n\n"));
}
