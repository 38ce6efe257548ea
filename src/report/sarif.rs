//! `--format sarif`: SARIF 2.1.0, what GitHub code scanning and most CI dashboards read.
//!
//! One run per checked path. `tool.driver.rules` is the whole catalogue (so `ruleIndex` is a
//! rule's position in `nginx-gwlint rules`); each result carries its location, secondary
//! labels as `relatedLocations`, its fix as `fixes[].artifactChanges`, and the baseline
//! fingerprint as `partialFingerprints` so dashboards track a finding across line shifts.
//! Columns count Unicode code points (`columnKind`), as in every other format.

use serde_json::{json, Map, Value};

use super::rules_doc::{explain_page, section};
use super::Position;
use crate::diagnostic::{Diagnostic, Severity};
use crate::rules::{self, RuleMeta};
use crate::source::SourceMap;

/// The SARIF version and schema written.
pub const SARIF_VERSION: &str = "2.1.0";
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// The key of our fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "nginxGwlintFingerprint/v2";

/// Where the project lives: `repository` in Cargo.toml, when set. Without it the optional
/// SARIF fields that point there are left out rather than filled with a made-up address.
pub fn information_uri() -> Option<&'static str> {
    const REPOSITORY: &str = env!("CARGO_PKG_REPOSITORY");
    (!REPOSITORY.is_empty()).then_some(REPOSITORY)
}

/// The rule's page in the repository (docs/rules/GWnnn.md, its `explain` page).
pub fn help_uri(meta: &RuleMeta) -> Option<String> {
    information_uri().map(|repo| {
        format!(
            "{}/blob/main/{}",
            repo.trim_end_matches('/'),
            super::rules_doc::rule_page_path(meta)
        )
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A display path as a SARIF URI: relative paths stay relative (to the directory the check
/// ran in, normally the repository root), absolute ones become `file://` URIs.
pub fn uri(display: &str) -> String {
    let mut out = String::with_capacity(display.len());
    if display.starts_with('/') {
        out.push_str("file://");
    }
    let path = display.strip_prefix("./").unwrap_or(display);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn region(p: &Position) -> Value {
    json!({
        "startLine": p.line,
        "startColumn": p.column,
        "endLine": p.end_line,
        "endColumn": p.end_column,
    })
}

fn physical(p: &Position) -> Value {
    json!({
        "artifactLocation": {"uri": uri(&p.file)},
        "region": region(p),
    })
}

fn rule_descriptor(meta: &RuleMeta) -> Value {
    let page = explain_page(meta);
    let full = section(meta.doc, "What it finds").unwrap_or(meta.summary);
    let mut rule = json!({
        "id": meta.id.code(),
        "name": meta.id.name(),
        "shortDescription": {"text": meta.summary},
        "fullDescription": {"text": full},
        "help": {"text": page, "markdown": page},
        "defaultConfiguration": {"level": level(meta.severity)},
        "properties": {"fix": meta.fix.as_str()},
    });
    if let (Some(uri), Some(obj)) = (help_uri(meta), rule.as_object_mut()) {
        obj.insert("helpUri".to_owned(), uri.into());
    }
    rule
}

fn result(
    sources: &SourceMap,
    d: &Diagnostic,
    fingerprint: Option<&String>,
    rule_index: Option<usize>,
) -> Value {
    let p = Position::of(sources, d.file, d.span);
    let text = d.message_with_help();
    let mut r = Map::new();
    r.insert("ruleId".into(), json!(d.rule));
    if let Some(i) = rule_index {
        r.insert("ruleIndex".into(), json!(i));
    }
    r.insert("level".into(), json!(level(d.severity)));
    r.insert("message".into(), json!({ "text": text }));
    r.insert(
        "locations".into(),
        json!([{ "physicalLocation": physical(&p) }]),
    );
    if !d.labels.is_empty() {
        let related: Vec<Value> = d
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let lp = Position::of(sources, l.file, l.span);
                json!({"id": i, "physicalLocation": physical(&lp), "message": {"text": l.message}})
            })
            .collect();
        r.insert("relatedLocations".into(), Value::Array(related));
    }
    if let Some(fix) = &d.fix {
        // One artifactChange per file, edits in order.
        let mut changes: Vec<(String, Vec<Value>)> = Vec::new();
        for e in &fix.edits {
            let ep = Position::of(sources, e.file, e.span);
            let replacement = json!({
                "deletedRegion": region(&ep),
                "insertedContent": {"text": e.content},
            });
            match changes.iter_mut().find(|(f, _)| *f == ep.file) {
                Some((_, reps)) => reps.push(replacement),
                None => changes.push((ep.file.clone(), vec![replacement])),
            }
        }
        let changes: Vec<Value> = changes
            .into_iter()
            .map(|(file, replacements)| {
                json!({"artifactLocation": {"uri": uri(&file)}, "replacements": replacements})
            })
            .collect();
        r.insert(
            "fixes".into(),
            json!([{
                "description": {"text": format!("{} ({})", fix.title, fix.applicability.as_str())},
                "artifactChanges": changes,
            }]),
        );
    }
    if let Some(fp) = fingerprint {
        r.insert("partialFingerprints".into(), json!({ FINGERPRINT_KEY: fp }));
    }
    Value::Object(r)
}

/// One SARIF run: the catalogue and the results of one checked tree. `fingerprints` is
/// parallel to `diagnostics` (see [`crate::baseline::fingerprints`]); may be empty.
pub fn sarif_run(
    sources: &SourceMap,
    diagnostics: &[Diagnostic],
    fingerprints: &[String],
) -> Value {
    let catalogue: Vec<&RuleMeta> = rules::all_meta().collect();
    let results: Vec<Value> = diagnostics
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let index = catalogue.iter().position(|m| m.id == d.rule);
            result(sources, d, fingerprints.get(i), index)
        })
        .collect();
    let mut driver = json!({
        "name": env!("CARGO_PKG_NAME"),
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": catalogue.iter().map(|m| rule_descriptor(m)).collect::<Vec<_>>(),
    });
    if let (Some(uri), Some(obj)) = (information_uri(), driver.as_object_mut()) {
        obj.insert("informationUri".to_owned(), uri.into());
    }
    json!({
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": results,
    })
}

/// The SARIF log around `runs` (one per checked path).
pub fn render_sarif(runs: Vec<Value>) -> String {
    let log = json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": runs,
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(uri("sites-enabled/app.conf"), "sites-enabled/app.conf");
        assert_eq!(uri("./nginx.conf"), "nginx.conf");
        assert_eq!(
            uri("/etc/nginx/my app.conf"),
            "file:///etc/nginx/my%20app.conf"
        );
        assert_eq!(uri("a#b%c"), "a%23b%25c");
    }
}
