//! The rules run on rayon's pool and share one cache of facts (src/rules/facts.rs): the first
//! rule to ask computes a fact, the others wait for it. The report must not depend on that
//! race: the binary's output with one thread is the output with several, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use assert_cmd::Command;

#[path = "../../benches/support/tree.rs"]
#[allow(dead_code)]
mod tree;

/// `check --format json` on `target` with `threads` rayon threads: its exit code and stdout.
fn check_with_threads(target: &std::path::Path, threads: usize) -> (Option<i32>, Vec<u8>) {
    let out = Command::cargo_bin("nginx-gwlint")
        .unwrap()
        .env("RAYON_NUM_THREADS", threads.to_string())
        .args(["check", "--format", "json"])
        .arg(target)
        .output()
        .unwrap();
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}: {}",
        target.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), out.stdout)
}

fn assert_same_for_any_thread_count(target: &std::path::Path) {
    let one = check_with_threads(target, 1);
    assert!(!one.1.is_empty(), "{}: no report", target.display());
    for threads in [2, 4, 8] {
        let many = check_with_threads(target, threads);
        assert_eq!(
            one.0,
            many.0,
            "{}: exit code, {threads} threads",
            target.display()
        );
        assert!(
            one.1 == many.1,
            "{}: the report with {threads} threads differs from one thread's",
            target.display()
        );
    }
}

#[test]
fn facts_shared_by_parallel_rules_leave_the_examples_report_as_one_thread_gives_it() {
    for example in [
        "examples/node-proxy/nginx.conf",
        "examples/grpc/nginx.conf",
        "examples/compose-node/nginx.conf",
        "examples/php-fpm-wordpress/etc/nginx/nginx.conf",
    ] {
        assert_same_for_any_thread_count(&common::root().join(example));
    }
}

/// A tree with findings of many rules in each of its 200 servers, so that several rules ask
/// for the same facts at the same time.
#[test]
fn facts_shared_by_parallel_rules_leave_a_generated_tree_report_as_one_thread_gives_it() {
    let dir = tempfile::tempdir().unwrap();
    tree::write_tree(dir.path(), 20, 10).unwrap();
    assert_same_for_any_thread_count(&dir.path().join("nginx.conf"));
}
