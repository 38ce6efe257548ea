use foldhash::{HashSet, HashSetExt};

use super::{FixAvailability, LintContext, Rule, RuleMeta};
use crate::config::NodeId;
use crate::directives::Context;
use crate::diagnostic::{Diagnostic, Severity};

pub struct InvalidBufferSizes;

static META: RuleMeta = RuleMeta {
    id: crate::codes::RuleId::GW028,
    severity: Severity::Error,
    summary: "*_buffer_size / *_buffers / *_busy_buffers_size (proxy, fastcgi, uwsgi, scgi) in a relation nginx refuses",
    fix: FixAvailability::None,
    options: None,
    doc: r#"## What it finds
The relations nginx checks when it merges the proxy (fastcgi, uwsgi, scgi) settings of every
http, server and location block (ngx_http_proxy_merge_loc_conf and its siblings), with nginx's
defaults for what is not set (`*_buffers 8 4k`, `*_buffer_size 4k`: one memory page;
`*_busy_buffers_size` and `*_temp_file_write_size` twice the larger of `*_buffer_size` and one
`*_buffers` buffer; `*_max_temp_file_size 1024m`):

- fewer than 2 `*_buffers`;
- `*_busy_buffers_size` smaller than the larger of `*_buffer_size` and one buffer, or larger
  than all `*_buffers` but one;
- `*_temp_file_write_size` smaller than that size; `*_max_temp_file_size` neither 0 nor at
  least that size.

The classic: raising `proxy_buffer_size 128k;` for big headers alone. The busy size then defaults
to 256k, more than `8 4k` buffers minus one (28k), and nginx refuses the configuration.

## Why it matters
`nginx -t` fails:

```
[emerg] "proxy_busy_buffers_size" must be less than the size of all "proxy_buffers" minus one buffer in /etc/nginx/nginx.conf:80
```

## Example
```nginx
location / {
    proxy_buffer_size 128k;
    proxy_pass http://app;
}
```

## Use instead
```nginx
location / {
    proxy_buffer_size 128k;
    proxy_buffers 4 256k;
    proxy_busy_buffers_size 256k;
    proxy_pass http://app;
}
```

## Fix safety
No automatic fix: the sizes depend on the responses your backend sends."#,
};

/// One memory page on the platforms nginx-gwlint targets (x86_64, arm64 with 4k pages): the
/// default of `*_buffer_size` and of one `*_buffers` buffer.
const PAGE: u64 = 4096;

/// The directives whose values the checks relate, after the family prefix.
const SUFFIXES: [&str; 5] = [
    "buffer_size",
    "buffers",
    "busy_buffers_size",
    "temp_file_write_size",
    "max_temp_file_size",
];

struct Effective {
    buffer_size: u64,
    num: u64,
    size: u64,
    busy: Option<u64>,
    temp_write: Option<u64>,
    max_temp: Option<u64>,
    /// The innermost directive that sets any of them.
    culprit: Option<NodeId>,
}

fn effective(cx: &LintContext<'_, '_>, block: NodeId, family: &str) -> Option<Effective> {
    let config = cx.config;
    let get = |suffix: &str| config.effective(block, &format!("{family}_{suffix}"));
    let size_of = |id: Option<NodeId>, i: usize| {
        id.and_then(|id| config.node(id).arg(i))
            .and_then(crate::values::parse_size)
    };
    let buffer_size_id = get("buffer_size");
    let buffers_id = get("buffers");
    let busy_id = get("busy_buffers_size");
    let temp_id = get("temp_file_write_size");
    let max_id = get("max_temp_file_size");
    let (num, size) = match buffers_id {
        Some(id) => (
            crate::semantic::url::atoi(config.node(id).arg(0)?)?,
            size_of(Some(id), 1)?,
        ),
        None => (8, PAGE),
    };
    let depth = |id: &NodeId| config.ancestors(*id).count();
    let culprit = [buffer_size_id, buffers_id, busy_id, temp_id, max_id]
        .into_iter()
        .flatten()
        .max_by_key(|id| (depth(id), *id));
    Some(Effective {
        buffer_size: match buffer_size_id {
            Some(id) => size_of(Some(id), 0)?,
            None => PAGE,
        },
        num,
        size,
        busy: match busy_id {
            Some(id) => Some(size_of(Some(id), 0)?),
            None => None,
        },
        temp_write: match temp_id {
            Some(id) => Some(size_of(Some(id), 0)?),
            None => None,
        },
        max_temp: match max_id {
            Some(id) => Some(size_of(Some(id), 0)?),
            None => None,
        },
        culprit,
    })
}

fn error(e: &Effective, f: &str) -> Option<String> {
    if e.num < 2 {
        return Some(format!("there must be at least 2 \"{f}_buffers\""));
    }
    let size = e.buffer_size.max(e.size);
    let max_of =
        format!("the maximum of the value of \"{f}_buffer_size\" and one of the \"{f}_buffers\"");
    let busy = e.busy.unwrap_or(2 * size);
    if busy < size {
        return Some(format!(
            "\"{f}_busy_buffers_size\" must be equal to or greater than {max_of}"
        ));
    }
    if busy > (e.num - 1) * e.size {
        return Some(format!("\"{f}_busy_buffers_size\" must be less than the size of all \"{f}_buffers\" minus one buffer"));
    }
    if e.temp_write.unwrap_or(2 * size) < size {
        return Some(format!(
            "\"{f}_temp_file_write_size\" must be equal to or greater than {max_of}"
        ));
    }
    if let Some(m) = e.max_temp {
        if m != 0 && m < size {
            return Some(format!("\"{f}_max_temp_file_size\" must be equal to zero to disable temporary files usage or must be equal to or greater than {max_of}"));
        }
    }
    None
}

impl Rule for InvalidBufferSizes {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &LintContext<'_, '_>, out: &mut Vec<Diagnostic>) {
        let config = cx.config;
        let mut reported: HashSet<NodeId> = HashSet::new();
        for family in ["proxy", "fastcgi", "uwsgi", "scgi"] {
            // nginx's defaults are consistent: only blocks at or below one that sets a size can
            // fail, so only those are evaluated.
            // The union of the blocks each one reaches, each block walked once however many
            // levels of a deep nest set a size.
            let mut todo: Vec<NodeId> = SUFFIXES
                .iter()
                .flat_map(|s| config.nodes_named(&format!("{family}_{s}")).to_vec())
                .filter_map(|d| config.node(d).parent())
                .collect();
            let mut reached: HashSet<NodeId> = HashSet::new();
            while let Some(b) = todo.pop() {
                if reached.insert(b) {
                    todo.extend(config.reached_children(b));
                }
            }
            let mut blocks: Vec<NodeId> = reached.into_iter().collect();
            blocks.sort();
            for id in blocks {
                let n = config.node(id);
                if n.directive.block().is_none()
                    || !matches!(
                        n.inner_context(),
                        Context::Http
                            | Context::Server
                            | Context::Location
                            | Context::IfLocation
                            | Context::LimitExcept
                    )
                {
                    continue;
                }
                let Some(e) = effective(cx, id, family) else {
                    continue;
                };
                let Some(culprit) = e.culprit else { continue };
                let Some(message) = error(&e, family) else {
                    continue;
                };
                if !reported.insert(culprit) {
                    continue;
                }
                let c = config.node(culprit);
                let size = e.buffer_size.max(e.size);
                let mut d = cx.diagnostic(&META, c.file, c.directive.head_span(), message);
                // nginx checks while merging, after reading all of http { }: its message names
                // the line of http's closing brace.
                if let Some((file, close)) = crate::semantic::refs::http_close(config, culprit) {
                    d = d.with_label(
                        file,
                        close,
                        "nginx -t reports it at this line (the end of http { })",
                    );
                }
                let d = d.with_help(format!(
                    "keep {f}_buffer_size <= {f}_busy_buffers_size <= ({f}_buffers count - 1) x buffer size; e.g. {f}_buffers 4 {k}k; {f}_busy_buffers_size {k}k;",
                    f = family,
                    k = (size * 2).div_ceil(1024).max(8)
                ));
                // A size taken from nginx's default may be set by a file that was not read.
                let names: Vec<String> = [
                    "buffer_size",
                    "buffers",
                    "busy_buffers_size",
                    "temp_file_write_size",
                    "max_temp_file_size",
                ]
                .iter()
                .map(|s| format!("{family}_{s}"))
                .collect();
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                out.push(cx.hedged(d, id, &names));
            }
        }
    }
}
