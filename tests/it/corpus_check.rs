//! Every rule over every main file of ../shared/corpus: no panic, and the counts by rule are
//! printed (`cargo test --test it corpus_check -- --nocapture`) so a change in behaviour on real
//! configurations shows up in review.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use crate::common;

use std::collections::BTreeMap;

use nginx_gwlint::config::load_path;
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::settings::Settings;
use nginx_gwlint::workspace::Workspace;

#[test]
fn every_rule_runs_on_every_corpus_main_file() {
    let Some(shared) = common::oracle::shared() else {
        return;
    };
    let corpus = shared.join("corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let mut settings = Settings::defaults().unwrap();
    settings.directives.target = "1.22.1".parse().unwrap();
    settings.directives.target_origin = nginx_gwlint::settings::TargetOrigin::Settings;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut files = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols[4] != "nginx-main" {
            continue;
        }
        let path = corpus.join(cols[0].replace('/', "__")).join(cols[2]);
        let ws = Workspace::nginx_only(load_path(&path).unwrap());
        for d in lint(&ws, &settings, &Selection::default()) {
            *counts.entry(d.rule).or_default() += 1;
        }
        files += 1;
    }
    println!("corpus: {files} main files, findings by rule: {counts:?}");
    assert_eq!(files, 60);
    // Spot checks that stay true whatever else changes: the two files crossplane keeps to
    // test a missing `;` fail to parse, and nginx's own missing include is found.
    assert_eq!(counts.get("GW001"), Some(&2));
    assert!(counts.get("GW002").is_some_and(|n| *n >= 1));
}

/// Snippets checked on their own (as if each were a main file): nothing to assert about the
/// findings, which are about missing context, but no input may crash a rule.
#[test]
fn every_rule_survives_every_corpus_snippet() {
    let Some(shared) = common::oracle::shared() else {
        return;
    };
    let corpus = shared.join("corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let settings = Settings::defaults().unwrap();
    let mut files = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols[4] != "nginx-snippet" {
            continue;
        }
        let path = corpus.join(cols[0].replace('/', "__")).join(cols[2]);
        let ws = Workspace::nginx_only(load_path(&path).unwrap());
        let _ = lint(&ws, &settings, &Selection::default());
        files += 1;
    }
    assert!(files > 600, "{files}");
}
