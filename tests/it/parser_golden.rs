//! Parser golden tests: `tests/parser/ok/*.conf` parse to the tree in `*.tree`;
//! `tests/parser/err/*.conf` fail with nginx's message and line, recorded in `*.err` from
//! Debian's nginx 1.22 (`nginx_oracle.rs` re-checks both against the real binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use nginx_gwlint::syntax::{parse, LineIndex};

#[test]
fn ok_cases_parse_to_their_golden_tree() {
    for dir in ["ok", "parser-only"] {
        for conf in common::conf_files(&common::root().join("tests/parser").join(dir)) {
            let src = std::fs::read(&conf).unwrap();
            let ast = parse(&src)
                .unwrap_or_else(|e| panic!("{}: {} at byte {}", conf.display(), e, e.offset));
            common::assert_lossless(&ast, &src);
            common::golden(&conf.with_extension("tree"), &common::dump_tree(&ast, &src));
        }
    }
}

#[test]
fn err_cases_fail_like_nginx() {
    let cases = common::conf_files(&common::root().join("tests/parser/err"));
    assert!(cases.len() >= 15);
    for conf in cases {
        let src = std::fs::read(&conf).unwrap();
        let err = match parse(&src) {
            Ok(_) => panic!("{} parsed but nginx rejects it", conf.display()),
            Err(e) => e,
        };
        let line = LineIndex::new(&src).line(err.offset);
        common::golden(
            &conf.with_extension("err"),
            &format!("{}: {}\n", line, err.message),
        );
    }
}
