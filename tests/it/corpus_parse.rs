//! Conformance over ../shared/corpus: real nginx files from public projects. Every file parses,
//! except those nginx's tokenizer rejects, which fail with nginx's message at nginx's line
//! (RESULTS.tsv holds what Debian's nginx 1.22.1 said about each main file).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use crate::common;

use std::collections::BTreeMap;

use nginx_gwlint::syntax::{parse, LineIndex};

#[test]
fn every_corpus_nginx_file_parses_like_nginx() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let Some(shared) = common::oracle::shared() else {
        return;
    };
    let corpus = shared.join("corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let results = std::fs::read_to_string(corpus.join("RESULTS.tsv")).unwrap();
    // path -> nginx's first error, for main files nginx stopped on at tokenizer level.
    let mut tokenizer_errors: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for line in results.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (path, first_error) = (cols[0], cols[2]);
        let Some(rest) = first_error.strip_prefix("[emerg] ") else {
            continue;
        };
        let Some((msg, loc)) = rest.rsplit_once(" in ") else {
            continue;
        };
        let is_tokenizer = msg.starts_with("unexpected ") || msg.starts_with("too long parameter");
        if is_tokenizer && loc.starts_with(path) {
            let line_no = loc.rsplit_once(':').unwrap().1.parse().unwrap();
            tokenizer_errors.insert(path.to_owned(), (msg.to_owned(), line_no));
        }
    }
    let (mut ok, mut rejected_like_nginx, mut files, mut bytes) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (repo, path, kind) = (cols[0], cols[2], cols[4]);
        if !kind.starts_with("nginx") {
            continue;
        }
        let rel = format!("{}/{}", repo.replace('/', "__"), path);
        let src = std::fs::read(corpus.join(&rel)).unwrap();
        files += 1;
        bytes += src.len();
        match (parse(&src), tokenizer_errors.get(&rel)) {
            (Ok(ast), None) => {
                common::assert_lossless(&ast, &src);
                ok += 1;
            }
            (Err(e), Some((msg, line))) => {
                let ours = LineIndex::new(&src).line(e.offset);
                if (&e.message, ours) == (msg, *line) {
                    rejected_like_nginx += 1;
                } else {
                    failures.push(format!(
                        "{rel}: nginx: {msg} at {line}; ours: {} at {ours}",
                        e.message
                    ));
                }
            }
            (Ok(_), Some((msg, line))) => {
                failures.push(format!("{rel}: nginx rejects ({msg} at {line}), we accept"))
            }
            (Err(e), None) => {
                // No recorded verdict (a snippet): ask the real nginx about the file alone.
                // A tokenizer error is reported before anything the directives could say, as
                // long as no directive before it fails first.
                let ours = LineIndex::new(&src).line(e.offset);
                let dir = tempfile::tempdir().unwrap();
                let copy = dir.path().join("nginx.conf");
                std::fs::write(&copy, &src).unwrap();
                match common::nginx_test(&copy) {
                    Some((msg, line)) if msg == e.message && line == ours => {
                        rejected_like_nginx += 1;
                    }
                    other => failures.push(format!(
                        "{rel}: we reject ({} at line {ours}), nginx -t says {other:?}",
                        e.message
                    )),
                }
            }
        }
    }
    println!(
        "corpus: {files} nginx files ({bytes} bytes): {ok} parse, {rejected_like_nginx} rejected with nginx's message and line, {} disagree",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(files > 700);
}
