//! The rule catalogue as people and tools read it: `nginx-gwlint rules` (text, json,
//! markdown), the `explain` page, and the README's Rules table. All are generated from
//! [`crate::rules::REGISTRY`], the single source.

use std::fmt::Write as _;

use serde::Serialize;

use crate::rules::{self, RuleMeta};

/// Markers around the generated table in README.md.
pub const README_TABLE_START: &str = "<!-- rules-table:start -->";
pub const README_TABLE_END: &str = "<!-- rules-table:end -->";

/// The `explain` page: title, defaults, the rule's doc, its options.
pub fn explain_page(meta: &RuleMeta) -> String {
    let mut out = format!(
        "# {} {}\n\nDefault severity: {}. Fix: {}.\n\n{}\n",
        meta.id,
        meta.id.name(),
        meta.severity.as_str(),
        meta.fix.as_str(),
        meta.doc
    );
    if let Some(spec) = &meta.options {
        out.push_str("\n## Options (nginx-gwlint.toml)\n");
        let defaults = spec.defaults();
        for (key, doc) in spec.docs {
            match defaults.get(*key) {
                Some(value) => {
                    let _ = writeln!(out, "- `{key}` (default `{value}`): {doc}");
                }
                None => {
                    let _ = writeln!(out, "- `{key}`: {doc}");
                }
            }
        }
    }
    out
}

/// The body of the `## {title}` section of a rule doc, trimmed.
pub fn section<'a>(doc: &'a str, title: &str) -> Option<&'a str> {
    let heading = format!("## {title}\n");
    let start = doc.find(&heading)? + heading.len();
    let body = &doc[start..];
    let end = body.find("\n## ").unwrap_or(body.len());
    Some(body[..end].trim())
}

/// `nginx-gwlint rules`: one line per rule.
pub fn rules_text() -> String {
    let mut out =
        String::from("id     name                              severity  fix     summary\n");
    for m in rules::all_meta() {
        let _ = writeln!(
            out,
            "{:<6} {:<33} {:<9} {:<7} {}",
            m.id,
            m.id.name(),
            m.severity.as_str(),
            m.fix.as_str(),
            m.summary
        );
    }
    out
}

#[derive(Serialize)]
struct JsonRule {
    id: &'static str,
    name: &'static str,
    severity: &'static str,
    fix: &'static str,
    summary: &'static str,
    options: Vec<JsonOption>,
}

#[derive(Serialize)]
struct JsonOption {
    name: &'static str,
    description: &'static str,
}

/// `nginx-gwlint rules --format json`: `{"version": 1, "rules": [{id, name, severity, fix,
/// summary, options: [{name, description}]}]}`.
pub fn rules_json() -> String {
    let rules: Vec<JsonRule> = rules::all_meta()
        .map(|m| JsonRule {
            id: m.id.code(),
            name: m.id.name(),
            severity: m.severity.as_str(),
            fix: m.fix.as_str(),
            summary: m.summary,
            options: m
                .options
                .iter()
                .flat_map(|spec| spec.docs)
                .map(|(name, description)| JsonOption { name, description })
                .collect(),
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&serde_json::json!({"version": 1, "rules": rules}))
        .unwrap_or_default();
    text.push('\n');
    text
}

/// `nginx-gwlint rules --format markdown`: the table between the README markers.
pub fn rules_markdown() -> String {
    let mut out = String::from("| id | name | severity | fix | summary |\n|---|---|---|---|---|\n");
    for m in rules::all_meta() {
        let _ = writeln!(
            out,
            "| [{}]({}) | `{}` | {} | {} | {} |",
            m.id,
            rule_page_path(m),
            m.id.name(),
            m.severity.as_str(),
            m.fix.as_str(),
            m.summary.replace('|', "\\|")
        );
    }
    out
}

/// Where a rule's page is in the repository: `docs/rules/GW101.md` (the `explain` page,
/// generated; SARIF's `helpUri` points there).
pub fn rule_page_path(meta: &RuleMeta) -> String {
    format!("docs/rules/{}.md", meta.id)
}

/// `readme` with the text between the rules-table markers replaced by the current table;
/// `None` when the markers are missing.
pub fn readme_with_rules_table(readme: &str) -> Option<String> {
    let start = readme.find(README_TABLE_START)? + README_TABLE_START.len();
    let end = start + readme[start..].find(README_TABLE_END)?;
    Some(format!(
        "{}\n{}{}",
        &readme[..start],
        rules_markdown(),
        &readme[end..]
    ))
}

#[cfg(test)]
mod tests {
    /// docs/rules/GWnnn.md are the explain pages (`UPDATE_DOCS=1 cargo test --lib rule_pages`
    /// writes them), one per rule and no other.
    #[test]
    fn rule_pages_are_the_explain_pages() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let update = std::env::var_os("UPDATE_DOCS").is_some();
        let mut stale = Vec::new();
        for meta in super::rules::all_meta() {
            let path = root.join(super::rule_page_path(meta));
            let page = super::explain_page(meta);
            if update {
                let _ = std::fs::create_dir_all(path.parent().unwrap_or(root));
                std::fs::write(&path, &page).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(page.as_str()) {
                stale.push(meta.id.code());
            }
        }
        assert!(
            stale.is_empty(),
            "docs/rules pages out of date for {stale:?}: run `UPDATE_DOCS=1 cargo test --lib rule_pages`"
        );
        let known: Vec<String> = super::rules::all_meta()
            .map(|m| format!("{}.md", m.id))
            .collect();
        for entry in std::fs::read_dir(root.join("docs/rules"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(known.contains(&name), "docs/rules/{name} names no rule");
        }
    }

    use super::*;

    #[test]
    fn sections_are_found() {
        let doc = "## What it finds\nA thing.\n\n## Why it matters\nB.";
        assert_eq!(section(doc, "What it finds"), Some("A thing."));
        assert_eq!(section(doc, "Why it matters"), Some("B."));
        assert_eq!(section(doc, "Fix safety"), None);
    }

    #[test]
    fn table_replacement_keeps_the_rest() -> Result<(), String> {
        let readme = format!("a\n{README_TABLE_START}\nold\n{README_TABLE_END}\nb\n");
        let new = readme_with_rules_table(&readme).ok_or("markers")?;
        assert!(new.starts_with(&format!("a\n{README_TABLE_START}\n| id |")));
        assert!(new.ends_with(&format!("|\n{README_TABLE_END}\nb\n")));
        assert_eq!(readme_with_rules_table(&new).as_deref(), Some(new.as_str()));
        Ok(())
    }
}
