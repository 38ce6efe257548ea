//! Findings as LSP diagnostics, grouped by file.

use std::collections::BTreeMap;
use std::path::Path;

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString,
    PublishDiagnosticsParams, Url,
};

use super::documents::Documents;
use super::position::{Encoding, Text};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::Checked;
use crate::source::{FileId, SourceMap};
use crate::syntax::Span;

/// The URI of a loaded file: the open document's own URI when the editor has it open (it may
/// spell the path differently), else a `file:` URI of its path.
pub fn uri_of(path: &Path, docs: &Documents) -> Option<Url> {
    if let Some(doc) = docs.get(path) {
        return Some(doc.uri.clone());
    }
    Url::from_file_path(crate::config::lexical_absolute(path)).ok()
}

/// A span of a loaded file as an LSP location.
pub fn location(
    sources: &SourceMap,
    file: FileId,
    span: Span,
    docs: &Documents,
    encoding: Encoding,
) -> Option<Location> {
    let source = sources.get(file);
    let text = Text {
        bytes: &source.text,
        lines: &source.lines,
    };
    Some(Location {
        uri: uri_of(&source.path, docs)?,
        range: text.range(span, encoding),
    })
}

/// One finding as an LSP diagnostic: the rule id as its code, the help on its own line, labels
/// as related information. The code links the rule's page only where one is known: the
/// client's `rulePageUrl` ([`rule_page`]), else the repository the build names (none today).
/// Hover on the code shows the page either way.
pub fn to_lsp(
    sources: &SourceMap,
    d: &Diagnostic,
    docs: &Documents,
    encoding: Encoding,
    rule_page_url: Option<&str>,
) -> lsp_types::Diagnostic {
    let source = sources.get(d.file);
    let text = Text {
        bytes: &source.text,
        lines: &source.lines,
    };
    let href = rule_page(d.rule, rule_page_url);
    let related: Vec<DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation {
                location: location(sources, l.file, l.span, docs, encoding)?,
                message: l.message.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: text.range(d.span, encoding),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.rule.to_owned())),
        code_description: href.map(|href| CodeDescription { href }),
        source: Some("nginx-gwlint".to_owned()),
        message: d.message_with_help(),
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// The page of a rule: `{code}` of the client's template replaced by its id, else the page in
/// the repository the build names; `None` when neither is known.
pub fn rule_page(rule: &str, template: Option<&str>) -> Option<Url> {
    let meta = crate::rules::meta_by_id_or_name(rule)?;
    let url = match template {
        Some(t) => t.replace("{code}", meta.id.code()),
        None => crate::report::sarif::help_uri(meta)?,
    };
    Url::parse(&url).ok()
}

/// The diagnostics to publish for a lint: one entry per file that has findings.
pub fn publish(
    checked: &Checked,
    docs: &Documents,
    encoding: Encoding,
    rule_page_url: Option<&str>,
) -> Vec<PublishDiagnosticsParams> {
    let sources = &checked.ws.tree.sources;
    let mut by_file: BTreeMap<FileId, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    for d in &checked.diagnostics {
        by_file
            .entry(d.file)
            .or_default()
            .push(to_lsp(sources, d, docs, encoding, rule_page_url));
    }
    let mut out: BTreeMap<Url, PublishDiagnosticsParams> = BTreeMap::new();
    for (file, diagnostics) in by_file {
        let path = &sources.get(file).path;
        let Some(uri) = uri_of(path, docs) else {
            continue;
        };
        let version = docs.get(path).map(|d| d.version);
        // A file reached twice (a snippet included in many places) is one file in the editor.
        out.entry(uri.clone())
            .or_insert_with(|| PublishDiagnosticsParams {
                uri,
                diagnostics: Vec::new(),
                version,
            })
            .diagnostics
            .extend(diagnostics);
    }
    out.into_values().collect()
}
