//! Parser golden tests: `tests/parser/ok/*.conf` parse to the tree in `*.tree`;
//! `tests/parser/err/*.conf` fail with nginx's message and line, recorded in `*.err` from
//! Debian's nginx 1.22 (`nginx_oracle.rs` re-checks both against the real binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use nginx_gwlint::syntax::{parse, parse_recovering, LineIndex};

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

/// Every error case read past its errors (`parse_recovering`, what the loader keeps): the
/// first error is `parse`'s, every span lies in the file and in order, and the errors with
/// their lines and the tree read are recorded in `*.recovered`.
#[test]
fn err_cases_recover_to_their_golden_tree() {
    for conf in common::conf_files(&common::root().join("tests/parser/err")) {
        let src = std::fs::read(&conf).unwrap();
        let first = parse(&src).unwrap_err();
        let r = parse_recovering(&src);
        assert_eq!(r.errors.first(), Some(&first), "{}", conf.display());
        let spans = r.ast.token_spans();
        assert!(
            spans.windows(2).all(|w| w[0].end() <= w[1].start())
                && spans.iter().all(|s| s.end() <= src.len()),
            "{}: spans out of order or past the end",
            conf.display()
        );
        let idx = LineIndex::new(&src);
        let mut out = String::new();
        for e in &r.errors {
            out.push_str(&format!("error {}: {}\n", idx.line(e.offset), e.message));
        }
        out.push_str(if r.complete {
            "read to the end\n"
        } else {
            "cut short\n"
        });
        out.push_str(&common::dump_tree(&r.ast, &src));
        common::golden(&conf.with_extension("recovered"), &out);
    }
}
