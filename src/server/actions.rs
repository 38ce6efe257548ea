//! Code actions: each finding's fix (labelled safe or unsafe from its [`Applicability`]),
//! "ignore this finding" (the suppression comment [`crate::suppress`] reads), and "fix all
//! safe fixes in this file" through the fix engine ([`fix::fix_until_stable`] on the open
//! documents' overlay, keeping only fixes that edit this file).

use std::collections::HashMap;
use std::path::Path;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse,
    TextEdit, Url, WorkspaceEdit,
};

use super::diagnostics::{to_lsp, uri_of};
use super::position::{Encoding, Text};
use super::{check_tree, Failure, Session, Tree};
use crate::codes::RuleId;
use crate::diagnostic::{Applicability, Diagnostic};
use crate::fix::{self, FixError, FixOptions};
use crate::source::{FileId, SourceFile};
use crate::suppress;
use crate::syntax::{Ast, Span};

pub fn code_actions(
    session: &Session,
    params: CodeActionParams,
) -> Result<Option<CodeActionResponse>, Failure> {
    let (tree, path) = session.tree_of(&params.text_document.uri)?;
    let sources = &tree.checked.ws.tree.sources;
    let Some(file) = sources.find(path) else {
        return Ok(None);
    };
    let source = sources.get(file);
    let text = Text {
        bytes: &source.text,
        lines: &source.lines,
    };
    let range = text.span(params.range, session.encoding);
    let only = params.context.only.as_deref();
    let wanted = |kind: &CodeActionKind| {
        only.is_none_or(|kinds| {
            kinds.iter().any(|k| {
                kind.as_str() == k.as_str()
                    || kind.as_str().starts_with(&format!("{}.", k.as_str()))
            })
        })
    };
    let mut actions = Vec::new();
    let here = tree.checked.diagnostics.iter().filter(|d| {
        d.file == file && d.span.start() <= range.end() && range.start() <= d.span.end()
    });
    if wanted(&CodeActionKind::QUICKFIX) {
        for d in here {
            let lsp = to_lsp(
                sources,
                d,
                &session.docs,
                session.encoding,
                session.rule_page_url.as_deref(),
            );
            if let Some(action) = fix_action(session, tree, d, lsp.clone()) {
                actions.push(CodeActionOrCommand::CodeAction(action));
            }
            if let Some(action) =
                ignore_action(session, source, tree.checked.ws.tree.ast(file), d, lsp)
            {
                actions.push(CodeActionOrCommand::CodeAction(action));
            }
        }
    }
    let has_safe_fix = tree.checked.diagnostics.iter().any(|d| {
        d.file == file
            && d.fix
                .as_ref()
                .is_some_and(|f| f.applicability == Applicability::Safe)
    });
    if has_safe_fix && wanted(&CodeActionKind::SOURCE_FIX_ALL) {
        let uri = params.text_document.uri.clone();
        if let Some(edit) = fix_all(session, tree, path, &uri)? {
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: "Apply every safe nginx-gwlint fix in this file".to_owned(),
                kind: Some(CodeActionKind::SOURCE_FIX_ALL),
                edit: Some(edit),
                ..Default::default()
            }));
        }
    }
    Ok(Some(actions))
}

/// The edits of a fix as a workspace edit (they may reach into other files of the tree).
fn fix_action(
    session: &Session,
    tree: &Tree,
    d: &Diagnostic,
    lsp: lsp_types::Diagnostic,
) -> Option<CodeAction> {
    let fix = d.fix.as_ref()?;
    let label = match fix.applicability {
        Applicability::Safe => "safe fix",
        Applicability::Unsafe => "unsafe fix: check it keeps what you rely on",
        Applicability::DisplayOnly => return None,
    };
    let sources = &tree.checked.ws.tree.sources;
    let mut changes: HashMap<Url, Vec<TextEdit>> = HashMap::new();
    for edit in &fix.edits {
        let source = sources.get(edit.file);
        let uri = uri_of(&source.path, &session.docs)?;
        let text = Text {
            bytes: &source.text,
            lines: &source.lines,
        };
        changes.entry(uri).or_default().push(TextEdit {
            range: text.range(edit.span, session.encoding),
            new_text: edit.content.clone(),
        });
    }
    Some(CodeAction {
        title: format!("{} ({}, {label})", fix.title, d.rule),
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![lsp]),
        edit: Some(WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        }),
        is_preferred: Some(fix.applicability == Applicability::Safe),
        ..Default::default()
    })
}

/// `# nginx-gwlint: ignore GWnnn` on its own line before the directive whose head the finding
/// starts in (a suppression covers exactly that: see [`crate::suppress`]); when no directive
/// head holds it, `ignore-file` at the top of the file.
fn ignore_action(
    session: &Session,
    source: &SourceFile,
    ast: Option<&Ast>,
    d: &Diagnostic,
    lsp: lsp_types::Diagnostic,
) -> Option<CodeAction> {
    // Parse errors are never hidden, and a GW005 is fixed by removing the comment.
    if d.rule == RuleId::GW001.code() || d.rule == RuleId::GW005.code() {
        return None;
    }
    let uri = uri_of(&source.path, &session.docs)?;
    let text = Text {
        bytes: &source.text,
        lines: &source.lines,
    };
    let eol = if source.text.windows(2).any(|w| w == b"\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let marker = suppress::MARKER;
    let headed = ast.and_then(|ast| {
        ast.walk()
            .filter(|dir| {
                let head = suppress::head_region(*dir);
                head.start() <= d.span.start() && d.span.start() < head.end()
            })
            .last()
    });
    let (title, edit) = match headed {
        Some(dir) => {
            let start = dir.name_word().span().start();
            let line_start = source.lines.line_start(source.lines.line(start));
            let before = &source.text[line_start..start];
            let indent: String = before
                .iter()
                .take_while(|b| **b == b' ' || **b == b'\t')
                .map(|b| *b as char)
                .collect();
            let comment = format!("# {marker} ignore {}", d.rule);
            let (at, content) = if before.iter().all(|b| *b == b' ' || *b == b'\t') {
                (line_start, format!("{indent}{comment}{eol}"))
            } else {
                // Not first on its line: the comment goes on a line of its own right before
                // it (after a `{` on the same line it would annotate that block instead).
                (start, format!("{eol}{indent}{comment}{eol}{indent}"))
            };
            (
                format!("Ignore {} for this directive", d.rule),
                TextEdit {
                    range: text.range(Span::empty(at), session.encoding),
                    new_text: content,
                },
            )
        }
        None => (
            format!("Ignore {} in this whole file", d.rule),
            TextEdit {
                range: text.range(Span::empty(0), session.encoding),
                new_text: format!("# {marker} ignore-file {}{eol}", d.rule),
            },
        ),
    };
    Some(CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![lsp]),
        edit: Some(WorkspaceEdit {
            changes: Some(HashMap::from([(uri, vec![edit])])),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Every safe fix of this file, applied by the fix engine until nothing changes (each pass
/// re-linted, a fix that would add a finding left out), as one edit of the document. Fixes
/// that edit other files are left for those files.
fn fix_all(
    session: &Session,
    tree: &Tree,
    path: &Path,
    uri: &Url,
) -> Result<Option<WorkspaceEdit>, Failure> {
    let open = session.docs.overlay();
    let php = tree.checked.ws.php.clone();
    let options = FixOptions {
        // The document's text is the editor's, whatever the disk holds; nothing is written.
        from_stdin: Some(path.to_path_buf()),
        ..FixOptions::default()
    };
    let outcome = fix::fix_until_stable(
        |patched| {
            let mut overlay = open.clone();
            for (p, text) in patched.iter() {
                overlay.insert(p.to_path_buf(), text.to_vec());
            }
            let mut checked = check_tree(&tree.entry, &overlay, &tree.settings, php.clone())
                .map_err(FixError::Load)?;
            let this: Option<FileId> = checked.ws.tree.sources.find(path);
            for d in &mut checked.diagnostics {
                let elsewhere = d
                    .fix
                    .as_ref()
                    .is_some_and(|f| f.edits.iter().any(|e| Some(e.file) != this));
                if elsewhere {
                    d.fix = None;
                }
            }
            Ok(checked)
        },
        &options,
    )
    .map_err(|e| Failure::failed(format!("fix all: {e}")))?;
    let Some(change) = outcome
        .changes
        .iter()
        .find(|c| c.path == path || c.aliases.iter().any(|a| a == path))
    else {
        return Ok(None);
    };
    Ok(Some(WorkspaceEdit {
        changes: Some(HashMap::from([(
            uri.clone(),
            vec![replacement(
                &change.original,
                &change.fixed,
                session.encoding,
            )],
        )])),
        ..Default::default()
    }))
}

/// One edit turning `old` into `new`: the bytes between their common prefix and suffix (kept
/// on character boundaries).
fn replacement(old: &[u8], new: &[u8], encoding: Encoding) -> TextEdit {
    let mut prefix = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    while prefix > 0 && (is_continuation(old.get(prefix)) || is_continuation(new.get(prefix))) {
        prefix -= 1;
    }
    let max_suffix = old.len().min(new.len()) - prefix;
    let mut suffix = old
        .iter()
        .rev()
        .zip(new.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    while suffix > 0
        && (is_continuation(old.get(old.len() - suffix))
            || is_continuation(new.get(new.len() - suffix)))
    {
        suffix -= 1;
    }
    let lines = crate::syntax::LineIndex::new(old);
    let text = Text {
        bytes: old,
        lines: &lines,
    };
    TextEdit {
        range: text.range(Span::new(prefix, old.len() - suffix), encoding),
        new_text: String::from_utf8_lossy(&new[prefix..new.len() - suffix]).into_owned(),
    }
}

fn is_continuation(b: Option<&u8>) -> bool {
    b.is_some_and(|b| b & 0xC0 == 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replacement_covers_only_the_change() {
        let edit = replacement(
            "a é 1;\nb;\n".as_bytes(),
            "a é 22;\nb;\n".as_bytes(),
            Encoding::Utf16,
        );
        assert_eq!(edit.new_text, "22");
        assert_eq!(edit.range.start, lsp_types::Position::new(0, 4));
        assert_eq!(edit.range.end, lsp_types::Position::new(0, 5));
    }
}
