//! Hover: a rule id or name → its `explain` page; a directive name → what the directive table
//! knows of it and, for the directives nginx inherits into inner blocks, the value in effect
//! there and where it was set ([`ResolvedConfig::effective`]).

use std::fmt::Write as _;

use lsp_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use super::locate::{self, Part};
use super::position::Text;
use super::{Cursor, Failure, Session};
use crate::codes::RuleId;
use crate::config::{ConfigTree, NodeId, ResolvedConfig};
use crate::directives::{DirectiveSpec, Lookup, ValueKind};
use crate::report::rules_doc;
use crate::source::FileId;
use crate::syntax::{Ast, DirRef, Span};

pub fn hover(session: &Session, params: HoverParams) -> Result<Option<Hover>, Failure> {
    let at = params.text_document_position_params;
    let Some(Cursor {
        tree,
        file,
        source,
        ast,
        offset,
    }) = session.cursor(&at.text_document.uri, at.position)?
    else {
        return Ok(None);
    };
    let config_tree = &tree.checked.ws.tree;
    let text = Text {
        bytes: &source.text,
        lines: &source.lines,
    };
    let markdown_hover = |value: String, span: Span| Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(text.range(span, session.encoding)),
    };
    if let Some((start, word)) = locate::word_at(&source.text, offset) {
        if let Some(rule) = rule_named(ast, offset, word) {
            let Some(meta) = crate::rules::meta_by_id_or_name(rule.code()) else {
                return Ok(None);
            };
            let span = Span::new(start, start + word.len());
            return Ok(Some(markdown_hover(rules_doc::explain_page(meta), span)));
        }
    }
    let Some((directive, Part::Name, _)) = locate::at(ast, offset) else {
        return Ok(None);
    };
    let name = directive.name();
    let directives = tree.settings.directives_view();
    let mut out = String::new();
    match directives.lookup(name) {
        Lookup::Known(specs) => {
            for spec in specs {
                describe(&mut out, spec);
            }
        }
        Lookup::WrongVersion(spec) => {
            describe(&mut out, spec);
            let _ = writeln!(
                out,
                "\nNot in nginx {} (the target version).",
                tree.settings.directives.target
            );
        }
        Lookup::SetNotEnabled(spec) => {
            describe(&mut out, spec);
            let _ = writeln!(
                out,
                "\nFrom the third-party set `{}`, which is not enabled (`[directives] enable_sets` in nginx-gwlint.toml, or a `load_module` of it).",
                spec.set.as_deref().unwrap_or_default()
            );
        }
        Lookup::Unknown => {
            let _ = writeln!(
                out,
                "**{name}**: not a directive of stock nginx or of a known module."
            );
        }
    }
    let specs: Vec<&DirectiveSpec> = match directives.lookup(name) {
        Lookup::Known(specs) => specs,
        Lookup::WrongVersion(spec) | Lookup::SetNotEnabled(spec) => vec![spec],
        Lookup::Unknown => Vec::new(),
    };
    let inherited = specs.iter().any(|s| {
        s.kind
            .is_some_and(|k| !matches!(k, ValueKind::Keyval | ValueKind::Bitmask))
    });
    if inherited {
        let config = ResolvedConfig::build(config_tree);
        effective_values(&mut out, &config, config_tree, file, directive);
    }
    Ok(Some(markdown_hover(out, directive.name_word().span())))
}

/// A rule named by the word under the cursor: an id (`GW201`) anywhere, a rule name
/// (`localhost-upstream`) only in a comment, where suppressions name rules.
fn rule_named(ast: &Ast, offset: usize, word: &str) -> Option<RuleId> {
    let id = RuleId::from_code_or_name(word)?;
    if id.code().eq_ignore_ascii_case(word) {
        return Some(id);
    }
    let in_comment = ast
        .comments()
        .chain(ast.walk().flat_map(|d| d.inner_comments()))
        .any(|c| c.span().start() <= offset && offset <= c.span().end());
    in_comment.then_some(id)
}

fn describe(out: &mut String, spec: &DirectiveSpec) {
    let contexts: Vec<&str> = spec.contexts.names().collect();
    let _ = writeln!(out, "**{}** ({})\n", spec.name, spec.module);
    let _ = writeln!(out, "- contexts: {}", contexts.join(", "));
    let _ = writeln!(
        out,
        "- arguments: {}{}",
        spec.args.describe(),
        if spec.block { ", then a block" } else { "" }
    );
    if let Some(kind) = spec.kind {
        let _ = writeln!(out, "- value: {}", kind_name(kind));
    }
    if !spec.values.is_empty() {
        let _ = writeln!(out, "- one of: {}", spec.values.join(", "));
    }
    let range = spec.version_range();
    if !range.is_empty() {
        let _ = writeln!(out, "- {range}");
    }
    out.push('\n');
}

fn kind_name(kind: ValueKind) -> &'static str {
    match kind {
        ValueKind::Time => "a time (`30s`, `1m30s`; a bare number is milliseconds)",
        ValueKind::TimeSec => "a time (`30s`, `1m`; a bare number is seconds)",
        ValueKind::Size => "a size (`16k`, `1m`)",
        ValueKind::Offset => "a size or offset (`16k`, `1m`, `1g`)",
        ValueKind::Flag => "on or off",
        ValueKind::Number => "a number",
        ValueKind::Enum => "one keyword",
        ValueKind::Bitmask => "one or more keywords",
        ValueKind::Bufs => "a number and a size (`8 4k`)",
        ValueKind::String => "a string",
        ValueKind::Path => "a path",
        ValueKind::Keyval => "a key and a value",
    }
}

/// For each place the directive's file is read (a few at most): the value in effect in its
/// block, and the one it replaces from the blocks around it.
fn effective_values(
    out: &mut String,
    config: &ResolvedConfig<'_>,
    tree: &ConfigTree,
    file: FileId,
    directive: DirRef<'_>,
) {
    const SHOWN: usize = 3;
    let name = directive.name();
    let nodes = locate::nodes_of(config, file, directive);
    let many = nodes.len() > 1;
    for node in nodes.iter().take(SHOWN) {
        let n = config.node(*node);
        let Some(block) = n.parent() else {
            continue;
        };
        if many {
            let reader = n.included_from().unwrap_or(block);
            let _ = writeln!(
                out,
                "\nWhere the include at {} reads it:\n",
                where_is(config, tree, reader)
            );
        }
        if let Some(here) = config.effective(block, name) {
            let _ = writeln!(
                out,
                "- in effect in this `{}` block: `{}` ({})",
                config.node(block).name(),
                head_text(config, tree, here),
                where_is(config, tree, here)
            );
        }
        let outer = config.node(block);
        let stops = matches!(
            outer.inner_context(),
            crate::directives::Context::Http | crate::directives::Context::Stream
        );
        let above = if stops {
            None
        } else {
            outer.parent().and_then(|p| config.effective(p, name))
        };
        match above {
            Some(up) => {
                let _ = writeln!(
                    out,
                    "- it replaces `{}` from {}",
                    head_text(config, tree, up),
                    where_is(config, tree, up)
                );
            }
            None if stops => {}
            None => {
                let _ = writeln!(
                    out,
                    "- not set in the blocks around it: without it nginx's default applies"
                );
            }
        }
    }
    if nodes.len() > SHOWN {
        let _ = writeln!(
            out,
            "\n({} more places read this file.)",
            nodes.len() - SHOWN
        );
    }
}

/// `file:line` of a node.
fn where_is(config: &ResolvedConfig<'_>, tree: &ConfigTree, id: NodeId) -> String {
    let (file, span) = config.location(id);
    let source = tree.sources.get(file);
    format!("{}:{}", source.display, source.line_col(span.start()).0)
}

/// A directive's name and arguments as written.
fn head_text(config: &ResolvedConfig<'_>, tree: &ConfigTree, id: NodeId) -> String {
    let n = config.node(id);
    let source = tree.sources.get(n.file);
    String::from_utf8_lossy(source.slice(n.directive.head_span())).into_owned()
}
