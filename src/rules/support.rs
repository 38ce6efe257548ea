//! Helpers shared by rules: minimal text edits that keep a file's own indentation and line
//! endings, and the nginx worker's user.

use crate::config::{NodeId, ResolvedConfig};
use crate::fix::Edit;
use crate::settings::Settings;
use crate::source::FileId;
use crate::syntax::Span;

pub(crate) use crate::fix::edits::line_ending;

/// Start of the line holding `offset`.
fn line_start(src: &[u8], offset: usize) -> usize {
    memchr::memrchr(b'\n', &src[..offset.min(src.len())]).map_or(0, |i| i + 1)
}

/// The whitespace before `offset` on its line, when only whitespace precedes it there.
pub(crate) fn indent_of(src: &[u8], offset: usize) -> Option<&[u8]> {
    let start = line_start(src, offset);
    let before = &src[start..offset.min(src.len())];
    before
        .iter()
        .all(|b| matches!(b, b' ' | b'\t'))
        .then_some(before)
}

/// Inserts `lines` (directives without indentation or line ending) before the directive that
/// starts at `at`: as lines of their own with its indentation when it starts a line, else
/// inline before it (`location / { proxy_pass ...; }` written on one line).
pub(crate) fn insert_before(file: FileId, src: &[u8], at: usize, lines: &[String]) -> Edit {
    match indent_of(src, at) {
        Some(indent) => {
            let indent = String::from_utf8_lossy(indent);
            let eol = line_ending(src);
            let text: String = lines.iter().map(|l| format!("{indent}{l}{eol}")).collect();
            Edit::insert(file, line_start(src, at), text)
        }
        None => {
            let text: String = lines.iter().map(|l| format!("{l} ")).collect();
            Edit::insert(file, at, text)
        }
    }
}

/// Inserts `lines` as the first entries of a block whose `{` is at `open`: before its first
/// child (`child_start`, which gives the indentation), or, in an empty block, on new lines
/// indented four spaces deeper than the block's own line.
pub(crate) fn insert_at_block_start(
    file: FileId,
    src: &[u8],
    open: Span,
    child_start: Option<usize>,
    lines: &[String],
) -> Edit {
    if let Some(child) = child_start {
        return insert_before(file, src, child, lines);
    }
    let eol = line_ending(src);
    let start = line_start(src, open.start);
    let n = src[start..]
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    let outer = String::from_utf8_lossy(&src[start..start + n]);
    let text: String = lines
        .iter()
        .map(|l| format!("{eol}{outer}    {l}"))
        .collect();
    Edit::insert(file, open.end, text)
}

/// Inserts `lines` after the directive spanning `span`: as lines of their own, with its
/// indentation, after the end of its line when nothing but a comment follows it there; else
/// inline right after it.
pub(crate) fn insert_after(file: FileId, src: &[u8], span: Span, lines: &[String]) -> Edit {
    let end = span.end.min(src.len());
    let line_end = memchr::memchr(b'\n', &src[end..]).map_or(src.len(), |i| end + i);
    let rest = String::from_utf8_lossy(&src[end..line_end]);
    let rest = rest.trim();
    match indent_of(src, span.start) {
        Some(indent) if rest.is_empty() || rest.starts_with('#') => {
            let indent = String::from_utf8_lossy(indent);
            let eol = line_ending(src);
            let body: String = lines.iter().map(|l| format!("{indent}{l}{eol}")).collect();
            if line_end < src.len() {
                Edit::insert(file, line_end + 1, body)
            } else {
                Edit::insert(
                    file,
                    src.len(),
                    format!("{eol}{}", body.trim_end_matches(eol)),
                )
            }
        }
        _ => {
            let text: String = lines.iter().map(|l| format!(" {l}")).collect();
            Edit::insert(file, end, text)
        }
    }
}

/// Inserts `lines` at the start of `block`'s body, before its first directive written in the
/// block's own file: the one place every rule inserting into a block uses, so that two rules
/// adding the same line make the same edit (a fixer then applies it once).
pub(crate) fn insert_in_block(
    config: &ResolvedConfig<'_>,
    block: NodeId,
    lines: &[String],
) -> Option<Edit> {
    let node = config.node(block);
    let open = node.directive.block.as_ref()?.open;
    let src = text(config, node.file);
    let first = config
        .children(Some(block))
        .iter()
        .map(|c| config.node(*c))
        .find(|c| c.included_from.is_none() && c.file == node.file)
        .map(|c| c.directive.span.start);
    Some(insert_at_block_start(node.file, src, open, first, lines))
}

/// A replacement of argument `i` of a directive.
pub(crate) fn replace_arg(
    config: &ResolvedConfig<'_>,
    id: NodeId,
    i: usize,
    content: &str,
) -> Option<Edit> {
    let n = config.node(id);
    let word = n.directive.args.get(i)?;
    Some(Edit::replace(n.file, word.span, content))
}

/// The file text of a node.
pub(crate) fn text<'a>(config: &'a ResolvedConfig<'_>, file: FileId) -> &'a [u8] {
    &config.tree.sources.get(file).text
}

/// The user and group nginx workers run as, and whether they come from the configuration:
/// the `user` directive (group defaults to the user's name, as `ngx_set_user` does), else the
/// build default from the `default-user` option of `rule` (Debian's nginx is built with
/// www-data; upstream's `./configure` default is nobody).
pub(crate) struct WorkerUser {
    pub user: String,
    pub group: String,
    /// The `user` directive, when there is one.
    pub directive: Option<NodeId>,
}

impl WorkerUser {
    pub fn of(config: &ResolvedConfig<'_>, settings: &Settings, rule: &str) -> Self {
        if let Some(id) = config.main_directive("user") {
            let n = config.node(id);
            if let Some(user) = n.arg(0) {
                return WorkerUser {
                    user: user.to_owned(),
                    group: n.arg(1).unwrap_or(user).to_owned(),
                    directive: Some(id),
                };
            }
        }
        let user: String = settings
            .option(rule, "default-user")
            .unwrap_or_else(|| "www-data".to_owned());
        let group: String = settings
            .option(rule, "default-group")
            .unwrap_or_else(|| user.clone());
        WorkerUser {
            user,
            group,
            directive: None,
        }
    }

    /// How a message says where the user came from.
    pub fn describe(&self) -> String {
        match self.directive {
            Some(_) => format!("`user {} {}`", self.user, self.group),
            None => format!(
                "{}:{} (no `user` directive; assumed the Debian/Ubuntu build default, option default-user; upstream nginx builds default to nobody)",
                self.user, self.group
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_keep_indentation_and_line_endings() {
        let src = b"location / {\r\n\t\tproxy_pass http://a;\r\n}\r\n";
        let at = 16;
        assert_eq!(&src[at..at + 10], b"proxy_pass");
        let e = insert_before(FileId(0), src, at, &["x 1;".to_owned()]);
        assert_eq!(e.span, Span::empty(14));
        assert_eq!(e.content, "\t\tx 1;\r\n");
        let inline = b"location / { proxy_pass http://a; }";
        let e = insert_before(FileId(0), inline, 13, &["x 1;".to_owned()]);
        assert_eq!((e.span.start, e.content.as_str()), (13, "x 1; "));
    }
}
