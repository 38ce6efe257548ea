//! GW010-GW014 over the real-world corpus (../shared/corpus): every nginx-main file is linted
//! and the findings are printed by rule (`cargo test --test it structure_corpus -- --nocapture`).
//! The verdicts (true finding or false positive) were read against RESULTS.tsv, which records
//! Debian nginx 1.22.1's `nginx -t` for each file; the assertions pin what was verified.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use crate::common;

use std::collections::BTreeMap;

use nginx_gwlint::config::load_path;
use nginx_gwlint::directives::Version;
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::report::render_concise;
use nginx_gwlint::settings::Settings;
use nginx_gwlint::workspace::Workspace;

const RULES: [&str; 5] = ["GW010", "GW011", "GW012", "GW013", "GW014"];

/// Files RESULTS.tsv ran `nginx -t` on alone ("no events section") that are no main
/// configuration: a file that is no nginx.conf and holds only an `http { }` block is a fragment
/// an nginx.conf includes at its top level, checked alone without the `events` it gets there
/// (GW011's page). nginx -t on the file alone is not the oracle for them; no GW011 is expected.
const FRAGMENTS: [(&str, &str); 3] = [
    (
        "nginxinc__crossplane/tests/configs/includes-globbed/http.conf",
        "the nginx.conf beside it is `events {}` then `include http.conf;`",
    ),
    (
        "dvershinin__gixy/tests/plugins/simply/add_header_redefinition/duplicate_fp.conf",
        "a gixy plugin input, read alone by gixy, never by nginx; no file of the project includes it and no main file is in its folder",
    ),
    (
        "dvershinin__gixy/tests/plugins/simply/add_header_redefinition/step_replaces.conf",
        "a gixy plugin input, read alone by gixy, never by nginx; no file of the project includes it and no main file is in its folder",
    ),
];

/// (path, first error nginx 1.22.1 reported) for every nginx-main file.
/// `None` without ../shared (the test is skipped, see common::oracle).
fn main_files() -> Option<Vec<(String, String)>> {
    let shared = common::oracle::shared()?;
    let corpus = shared.join("corpus");
    let manifest = std::fs::read_to_string(corpus.join("MANIFEST.tsv")).unwrap();
    let results = std::fs::read_to_string(corpus.join("RESULTS.tsv")).unwrap();
    let nginx_said: BTreeMap<&str, &str> = results
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Some((*cols.first()?, *cols.get(2)?))
        })
        .collect();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            if cols.get(4) != Some(&"nginx-main") {
                return None;
            }
            let path = format!("{}/{}", cols[0].replace('/', "__"), cols[2]);
            let said = nginx_said.get(path.as_str()).copied().unwrap_or("?");
            Some((path, said.to_owned()))
        })
        .collect::<Vec<_>>()
        .into()
}

#[test]
fn structure_rules_over_the_corpus() {
    let Some(shared) = common::oracle::shared() else {
        return;
    };
    let corpus = shared.join("corpus");
    let mut settings = Settings::defaults().unwrap();
    // RESULTS.tsv comes from Debian's nginx 1.22.1.
    settings.directives.target = Version::new(1, 22, 1);
    settings.directives.target_origin = nginx_gwlint::settings::TargetOrigin::Settings;
    let selection = Selection {
        select: RULES.iter().map(|s| (*s).to_owned()).collect(),
        ignore: Vec::new(),
    };
    let Some(files) = main_files() else {
        return;
    };
    assert_eq!(files.len(), 60, "MANIFEST.tsv changed");
    let mut counts: BTreeMap<&str, usize> = RULES.iter().map(|r| (*r, 0)).collect();
    let mut report = String::new();
    let mut problems = Vec::new();
    let mut agreed = 0;
    for (path, nginx_said) in &files {
        let ws = Workspace::nginx_only(load_path(&corpus.join(path)).unwrap());
        let tree = &ws.tree;
        let found = lint(&ws, &settings, &selection);
        let found: Vec<_> = found.into_iter().filter(|d| d.rule != "GW001").collect();
        for d in &found {
            *counts.entry(d.rule).or_default() += 1;
        }
        // nginx accepted the file: no structure finding may exist.
        if nginx_said.is_empty() && !found.is_empty() {
            problems.push(format!(
                "{path}: nginx accepts it, we report {}",
                found.len()
            ));
        }
        if let Some((_, why)) = FRAGMENTS.iter().find(|(p, _)| p == path) {
            if nginx_said.contains("no \"events\" section") && !found.is_empty() {
                problems.push(format!(
                    "{path}: a fragment ({why}), we report {}",
                    found.len()
                ));
            }
            report.push_str(&format!("== {path}\n   fragment: {why}\n"));
            continue;
        }
        // nginx stopped at a structural error: one of ours has its message at its line.
        if let Some((text, file, line)) = structural_error(nginx_said) {
            let agrees = found.iter().any(|d| {
                let src = tree.sources.get(d.file);
                let (l, _) = src.line_col(d.span.start());
                let same_place = file.is_empty() || (src.path.ends_with(&file) && l == line);
                d.message.starts_with(&text) && same_place
            });
            if agrees {
                agreed += 1;
            } else {
                problems.push(format!(
                    "{path}: nginx says {text:?} at {file}:{line}, we do not"
                ));
            }
        }
        if !found.is_empty() {
            report.push_str(&format!("== {path}\n   nginx -t: {nginx_said}\n"));
            report.push_str(&render_concise(&tree.sources, &found));
        }
    }
    println!("{report}");
    println!("counts: {counts:?}");
    println!("nginx's first error reproduced (message and line): {agreed} files");
    // 13 files stop at a structural error in RESULTS.tsv (lua x3, rtmp, upload_progress,
    // proxy_passs, "user" arity, "if" not allowed, 5 without events); 3 of the 5 are the
    // FRAGMENTS, no main files.
    assert!(agreed >= 10, "only {agreed} structural errors reproduced");
    assert!(
        problems.is_empty(),
        "disagreements with nginx -t:\n{}",
        problems.join("\n")
    );
}

/// nginx's first error as (message, file, line) when it is one the structure rules model.
fn structural_error(first_error_line: &str) -> Option<(String, String, usize)> {
    let msg = first_error_line.strip_prefix("[emerg] ")?;
    let located = msg.rsplit_once(" in ").and_then(|(text, loc)| {
        let (file, line) = loc.rsplit_once(':')?;
        Some((text, file.to_owned(), line.parse().ok()?))
    });
    let (text, file, line) = located.unwrap_or((msg, String::new(), 0));
    let modelled = [
        "unknown directive",
        "is not allowed here",
        "invalid number of arguments",
        "no \"events\" section",
        "is duplicate",
        "invalid value",
        "has no opening",
        "is not terminated",
    ];
    modelled
        .iter()
        .any(|m| text.contains(m))
        .then(|| (text.to_owned(), file, line))
}
