use foldhash::{HashSet, HashSetExt};

use super::common::{insert_after, unread_include, FileUses};
use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::{Family, NodeId, ResolvedConfig, ScopedArray};
use crate::diagnostic::{Diagnostic, Severity};
use crate::diagnostic::{Edit, Fix};

pub struct FastcgiNoScriptFilename;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW405,
    severity: Severity::Error,
    summary: "a PHP location whose `fastcgi_param`s never set SCRIPT_FILENAME (php-fpm: \"Primary script unknown\")",
    fix: FixAvailability::Sometimes(crate::diagnostic::Applicability::Safe),
    options: None,
    doc: r#"## What it finds
A `fastcgi_pass` to PHP where none of the `fastcgi_param` lines in effect sets
`SCRIPT_FILENAME` (or `PATH_TRANSLATED`, which php-fpm falls back to in `init_request_info`).
Included params files are read to decide: upstream nginx's `fastcgi_params` never set it, nor
does Debian's (nginx 1.22.1 on Debian 12); `fastcgi.conf` and Debian's
`snippets/fastcgi-php.conf` (which includes `fastcgi.conf`) do, also when they are read from
this machine's nginx package because the checked copy lacks them. `fastcgi_param` is an array
directive: the lines of the innermost level that has any are the only ones sent, so a
`SCRIPT_FILENAME` set at the server or http level reaches a location only when the location
has no `fastcgi_param` of its own (see GW404).

nginx -t accepts all of this; the failure comes per request. How sure the finding is follows
what says PHP is behind the address:

- an error when a php-fpm pool read with the configuration (`--php`, `--sysroot`) listens
  there, or the address names php (`unix:/run/php/php8.2-fpm.sock`, `php:9000`, an upstream
  whose servers do);
- a warning when only the location, `fastcgi_index` or `fastcgi_split_path_info` names `.php`:
  what listens at the address is not known;
- info when an included file was not read (missing, outside the checked copy), the file is a
  site file checked on its own, or the params file is a stock one the checked copy lacks,
  read from this machine's nginx package, and without the line (the target's copy decides:
  some distributions add it): that part may set it, and the finding says it cannot tell.

FastCGI applications that are not PHP are not checked: an address with no sign of PHP, and
fcgiwrap (its address names it), which runs the program SCRIPT_FILENAME names, else
DOCUMENT_ROOT + SCRIPT_NAME (both in `fastcgi_params`), even for a `.php` location.

## Why it matters
php-fpm finds the script to run through `SCRIPT_FILENAME`. Without it (tried with php-fpm
8.2 behind nginx 1.22):

- with `REQUEST_METHOD` passed, every request gets `404 File not found.` and nginx logs
  `FastCGI sent in stderr: "Primary script unknown" while reading response header from upstream`;
- with no parameters at all, php-fpm runs nothing and answers an empty `200`: a blank page;
  the same with `SCRIPT_FILENAME` but no `REQUEST_METHOD` (a location whose own
  `fastcgi_param` lines replaced the inherited `fastcgi_params`).

## Example
```nginx
location ~ \.php$ {
    include fastcgi_params;            # Debian's: no SCRIPT_FILENAME
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
}
```

## Use instead
```nginx
location ~ \.php$ {
    include fastcgi_params;
    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
    fastcgi_pass unix:/run/php/php8.2-fpm.sock;
}
```
(or `include snippets/fastcgi-php.conf;` on Debian/Ubuntu, or `include fastcgi.conf;`)

## Fix safety
Safe: adds `fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;` after the last
`fastcgi_param` (or params `include`) of the level whose parameters are in effect. Not
offered when those parameters lack `REQUEST_METHOD` too (with SCRIPT_FILENAME alone php-fpm
still answers an empty 200; `include fastcgi_params;` is the answer there), when no level has
any parameters (`include fastcgi.conf;` is the usual answer, but
nginx.org's Debian packages do not ship that file), under `alias` (where
`$document_root$fastcgi_script_name` is not the file), in a file read at several places, or
next to an unread include."#,
};

/// The line the fix adds (nginx's own `fastcgi.conf` sets it so).
const PARAM_LINE: &str = "fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;";

impl Rule for FastcgiNoScriptFilename {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut seen = HashSet::new();
        for p in cx.passes() {
            let (pass, family) = (p.node, p.family);
            if family != Family::FastCgi {
                continue;
            }
            let Some(block) = config.block_of(pass) else {
                continue;
            };
            let Some(evidence) = php_evidence(cx, block, pass) else {
                continue;
            };
            // Only a location or `fastcgi_index` naming .php says PHP is behind the address:
            // what listens there is not known, so the failure is not certain.
            let guessed = evidence == Evidence::LocationNamesPhp;
            let backend = config.node(pass).arg(0).unwrap_or("");
            let if_php = if guessed {
                format!(" (if the FastCGI server at `{backend}` is php-fpm, as the `.php` in the location or `fastcgi_index` suggests: nothing else says what listens there)")
            } else {
                String::new()
            };
            let node = config.node(pass);
            let uses = cx.file_uses();
            if uses.places(config, pass, &mut seen).is_empty() {
                continue;
            }
            let sets_script = |entries: &[NodeId]| {
                entries.iter().any(|id| {
                    config
                        .node(*id)
                        .arg(0)
                        .is_some_and(|p| p == "SCRIPT_FILENAME" || p == "PATH_TRANSLATED")
                })
            };
            let info = |message: String, include: Option<NodeId>| {
                let mut d = cx
                    .diagnostic(&META, node.file, node.directive.head_span(), message)
                    .with_help("check the whole tree (or with --sysroot), or set `fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;` (`include fastcgi.conf;`) where the other params are");
                if let Some(inc) = include {
                    let n = config.node(inc);
                    d = d.with_label(
                        n.file,
                        n.directive.head_span(),
                        "not read: may set SCRIPT_FILENAME",
                    );
                }
                d.severity = Severity::Info;
                d
            };
            let cannot_tell = |why: String, include: Option<NodeId>| {
                info(format!("whether a `fastcgi_param SCRIPT_FILENAME` reaches php-fpm here cannot be told: {why}; without it php-fpm answers 404 \"File not found.\" (\"Primary script unknown\")"), include)
            };
            match config.effective_array_scoped(block, "fastcgi_param") {
                ScopedArray::Set {
                    level,
                    entries,
                    unread,
                } => {
                    if sets_script(&entries) {
                        continue;
                    }
                    if let Some(inc) = unread {
                        out.push(cannot_tell(
                            format!("`include {}` was not read", config.include_argument(inc)),
                            Some(inc),
                        ));
                        continue;
                    }
                    // A stock params file the checked copy lacks, read from this machine's
                    // nginx package: the target's own copy decides (distributions differ).
                    let machine = entries
                        .iter()
                        .map(|id| config.node(*id).file)
                        .find(|f| cx.tree.machine_files.contains(f));
                    if let Some(file) = machine {
                        let shown = &cx.tree.sources.get(file).display;
                        out.push(info(
                            format!("whether a `fastcgi_param SCRIPT_FILENAME` reaches php-fpm here depends on the target system: the `fastcgi_param` lines in effect come from {shown}, read from this machine's nginx package because the checked tree lacks it, and set none; the target's copy decides (Debian's and upstream nginx's lack it, some distributions add it). Without it php-fpm answers 404 \"File not found.\" (\"Primary script unknown\")"),
                            None,
                        ));
                        continue;
                    }
                    let method = entries
                        .iter()
                        .any(|id| config.node(*id).arg(0) == Some("REQUEST_METHOD"));
                    let symptom = if method {
                        "php-fpm answers every request 404 \"File not found.\" and nginx logs FastCGI sent in stderr: \"Primary script unknown\""
                    } else {
                        "php-fpm gets no REQUEST_METHOD either, runs no script and answers an empty 200 (a blank page)"
                    };
                    let from = sources(config, level, &entries);
                    // An outer level's SCRIPT_FILENAME, not inherited: this level has lines of
                    // its own (ngx_http_fastcgi_merge_loc_conf takes the parent's params only
                    // when params_source is unset).
                    let outer = config
                        .array_levels(block, "fastcgi_param")
                        .into_iter()
                        .skip(1)
                        .find_map(|(_, outer)| {
                            outer
                                .into_iter()
                                .find(|id| sets_script(std::slice::from_ref(id)))
                        });
                    let not_inherited = match outer {
                        Some(o) => {
                            let n = config.node(o);
                            let src = cx.tree.sources.get(n.file);
                            let (line, _) = src.line_col(n.directive.head_span().start());
                            format!(" (the `fastcgi_param SCRIPT_FILENAME` at {}:{line} is not inherited here: a level with `fastcgi_param` lines of its own replaces the whole list)", src.display)
                        }
                        None => String::new(),
                    };
                    // With SCRIPT_FILENAME alone and no REQUEST_METHOD php-fpm still runs no
                    // script (tried: an empty 200), so the line is the fix only beside a method.
                    let help = if method {
                        format!("add `{PARAM_LINE}` after them, or include fastcgi.conf (snippets/fastcgi-php.conf on Debian/Ubuntu) instead of fastcgi_params")
                    } else {
                        format!("add `include fastcgi_params;` and `{PARAM_LINE}` beside them (or `include fastcgi.conf;`, `include snippets/fastcgi-php.conf;` on Debian/Ubuntu): REQUEST_METHOD and the other standard parameters are missing too, and SCRIPT_FILENAME alone still gives a blank page")
                    };
                    let mut d = cx
                        .diagnostic(
                            &META,
                            node.file,
                            node.directive.head_span(),
                            match entries.len() {
                                1 => format!("the one `fastcgi_param` line in effect here ({from}) does not set SCRIPT_FILENAME{not_inherited}: {symptom}{if_php}"),
                                n => format!("none of the {n} `fastcgi_param` lines in effect here ({from}) sets SCRIPT_FILENAME{not_inherited}: {symptom}{if_php}"),
                            },
                        )
                        .with_help(help);
                    for anchor in anchors(config, level, &entries) {
                        let n = config.node(anchor);
                        d = d.with_label(
                            n.file,
                            n.directive.head_span(),
                            "the params in effect: no SCRIPT_FILENAME",
                        );
                    }
                    if let Some(o) = outer {
                        let n = config.node(o);
                        d = d.with_label(
                            n.file,
                            n.directive.head_span(),
                            "not inherited: the level in effect has `fastcgi_param` lines of its own",
                        );
                    }
                    let fix = level
                        .filter(|_| method)
                        .and_then(|l| fix_set(config, uses, block, l, &entries));
                    if let Some(edit) = fix {
                        d = d.with_fix(Fix::safe("add fastcgi_param SCRIPT_FILENAME", vec![edit]));
                    }
                    if guessed {
                        d.severity = d.severity.min(Severity::Warning);
                    }
                    out.push(d);
                }
                ScopedArray::Unset => {
                    // No fix: `include fastcgi.conf;` depends on the target's package having the
                    // file (nginx.org's Debian packages do not ship it).
                    let mut d = cx
                        .diagnostic(
                            &META,
                            node.file,
                            node.directive.head_span(),
                            format!("no `fastcgi_param` is in effect here at all: php-fpm gets neither SCRIPT_FILENAME nor REQUEST_METHOD, runs no script and answers an empty 200 (a blank page){if_php}"),
                        )
                        .with_help("add `include fastcgi.conf;` to the location where the nginx package ships that file (`include snippets/fastcgi-php.conf;` on Debian/Ubuntu), else `include fastcgi_params;` and `fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;`");
                    if guessed {
                        d.severity = d.severity.min(Severity::Warning);
                    }
                    out.push(d);
                }
                ScopedArray::Unknown { include } => out.push(cannot_tell(
                    format!(
                        "no `fastcgi_param` was found, and `include {}` was not read",
                        config.include_argument(include)
                    ),
                    Some(include),
                )),
                ScopedArray::Outside => out.push(cannot_tell(
                    "no `fastcgi_param` was found, and this file is checked on its own: the blocks that include it were not read".to_owned(),
                    None,
                )),
            }
        }
    }
}

/// What says a FastCGI handler talks to PHP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Evidence {
    /// A php-fpm pool read with the configuration listens at the address.
    Pool,
    /// The pass address (or an upstream server of it) names php: `/run/php/php8.2-fpm.sock`,
    /// `php:9000`, `upstream php`.
    AddressNamesPhp,
    /// Only a location, `fastcgi_index` or `fastcgi_split_path_info` names php: the server at
    /// the address is not known.
    LocationNamesPhp,
}

/// Why the handler evidently talks to PHP, strongest first; None for a FastCGI application that
/// is not PHP, or one this cannot tell. fcgiwrap (its address names it) runs CGI programs and
/// finds them by SCRIPT_FILENAME, else DOCUMENT_ROOT and SCRIPT_NAME (get_cgi_filename), which
/// fastcgi_params sets: not this rule's concern, even for a `.php` location.
fn php_evidence(cx: &LintContext<'_, '_>, block: NodeId, pass: NodeId) -> Option<Evidence> {
    let config = cx.config;
    let lower = |s: &str| s.to_ascii_lowercase();
    let targets = config.pass_targets(pass);
    let mut addresses: Vec<String> = config.node(pass).arg(0).map(lower).into_iter().collect();
    addresses.extend(
        targets
            .iter()
            .filter_map(|(_, server)| config.node(*server).arg(0).map(lower)),
    );
    if addresses.iter().any(|a| a.contains("fcgiwrap")) {
        return None;
    }
    if targets
        .iter()
        .any(|(addr, _)| !cx.pools_for(addr).is_empty())
    {
        return Some(Evidence::Pool);
    }
    if addresses.iter().any(|a| a.contains("php")) {
        return Some(Evidence::AddressNamesPhp);
    }
    let names_php = |s: &str| lower(s).contains("php");
    let in_location = std::iter::once(block)
        .chain(config.ancestors(block))
        .filter(|id| config.node(*id).name() == "location")
        .any(|id| {
            config
                .node(id)
                .directive
                .args()
                .iter()
                .any(|a| names_php(a.as_str()))
        });
    let by_directive = ["fastcgi_index", "fastcgi_split_path_info"]
        .iter()
        .any(|d| {
            config
                .effective(block, d)
                .and_then(|id| config.node(id).arg(0))
                .is_some_and(names_php)
        });
    (in_location || by_directive).then_some(Evidence::LocationNamesPhp)
}

/// The directive in `level`'s own file that brought `entry` there: the entry itself, or the
/// `include` (of an include...) it came from.
fn anchor_in_level(config: &ResolvedConfig<'_>, level: Option<NodeId>, entry: NodeId) -> NodeId {
    let mut id = entry;
    while config.node(id).parent() == level && config.node(id).included_from().is_some() {
        let Some(inc) = config.node(id).included_from() else {
            break;
        };
        if config.node(inc).parent() != level {
            break;
        }
        id = inc;
    }
    id
}

/// The distinct directives of `level` that bring the entries (includes once each).
fn anchors(config: &ResolvedConfig<'_>, level: Option<NodeId>, entries: &[NodeId]) -> Vec<NodeId> {
    let mut out: Vec<NodeId> = Vec::new();
    for e in entries {
        let a = anchor_in_level(config, level, *e);
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// "`include fastcgi_params` in `server`, nginx.conf:6".
fn sources(config: &ResolvedConfig<'_>, level: Option<NodeId>, entries: &[NodeId]) -> String {
    let mut parts = Vec::new();
    for a in anchors(config, level, entries) {
        let n = config.node(a);
        let what = if n.name() == "include" {
            format!("`include {}`", n.arg(0).unwrap_or(""))
        } else {
            format!("`fastcgi_param {}`", n.arg(0).unwrap_or(""))
        };
        if !parts.contains(&what) {
            parts.push(what);
        }
    }
    let at = match level {
        Some(l) => super::gw404_inherited_headers_dropped::level_name(config, l),
        None => "the file's top level".to_owned(),
    };
    format!("{} in {at}", parts.join(", "))
}

/// `alias` in effect: `$document_root$fastcgi_script_name` would not name the file.
fn alias_in_effect(config: &ResolvedConfig<'_>, block: NodeId) -> bool {
    config.effective(block, "alias").is_some()
}

fn fix_set(
    config: &ResolvedConfig<'_>,
    uses: &FileUses,
    block: NodeId,
    level: NodeId,
    entries: &[NodeId],
) -> Option<Edit> {
    if alias_in_effect(config, block) || unread_include(config, level).is_some() {
        return None;
    }
    let last = anchors(config, Some(level), entries).into_iter().last()?;
    let n = config.node(last);
    if n.file != config.node(level).file || !uses.read_once(n.file) {
        return None;
    }
    Some(insert_after(config, last, &[PARAM_LINE]))
}
