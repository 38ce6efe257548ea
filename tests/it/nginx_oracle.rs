//! The real nginx decides. Needs the nginx binary (Debian's nginx 1.22 in CI, installed by
//! .ci/run); fails loudly when it is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use nginx_gwlint::syntax::{parse, LineIndex};

fn scratch_copy(conf: &std::path::Path) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("nginx.conf");
    std::fs::copy(conf, &target).unwrap();
    (dir, target)
}

#[test]
fn nginx_accepts_every_ok_case() {
    if common::oracle::nginx().is_none() {
        return;
    }
    for conf in common::conf_files(&common::root().join("tests/parser/ok")) {
        let (_dir, copy) = scratch_copy(&conf);
        if let Some((msg, line)) = common::nginx_test(&copy) {
            panic!("nginx -t rejects {}: {msg} at line {line}", conf.display());
        }
        assert!(parse(&std::fs::read(&conf).unwrap()).is_ok());
    }
}

#[test]
fn nginx_reports_the_same_error_and_line_for_every_err_case() {
    if common::oracle::nginx().is_none() {
        return;
    }
    for conf in common::conf_files(&common::root().join("tests/parser/err")) {
        let (_dir, copy) = scratch_copy(&conf);
        let (nginx_msg, nginx_line) = common::nginx_test(&copy)
            .unwrap_or_else(|| panic!("nginx -t accepts {}", conf.display()));
        let src = std::fs::read(&conf).unwrap();
        let ours = parse(&src).expect_err("we accept what nginx rejects");
        let our_line = LineIndex::new(&src).line(ours.offset);
        assert_eq!(
            (ours.message.as_str(), our_line),
            (nginx_msg.as_str(), nginx_line),
            "{}",
            conf.display()
        );
    }
}
