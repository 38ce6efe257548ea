//! grammar/directives.toml against the real nginx (Debian's 1.22.1 in CI). For every stock entry
//! that exists in the installed version and whose module is compiled into it (`nginx -V`), a
//! generated config puts the directive
//! - in each allowed context (core and http ones): nginx must not answer "unknown directive",
//!   "not allowed here", "invalid number of arguments" or a block-shape error (any other error,
//!   e.g. about the made-up argument, is fine: arguments are hard to invent generically);
//! - in a context the table refuses: nginx must answer "is not allowed here";
//! - with an argument count the table refuses: nginx must answer "invalid number of arguments";
//! - (generic-slot directives) with an invalid value: nginx's message is GW013's.
//!
//! Names that no entry has in the installed version must be unknown to nginx. Modules not in
//! the build (dynamic modules whose .so is not installed, optional modules not configured,
//! other operating systems' event modules) are printed as skipped with the reason.
//! Fails loudly when nginx is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use nginx_gwlint::config::load_path;

use nginx_gwlint::directives::Context;
use nginx_gwlint::directives::{
    DirectiveSpec, DirectiveTable, ValueKind, Version, CUSTOM_DUPLICATE_DIRECTIVES,
    DISTRO_BACKPORTS,
};
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::settings::Settings;
use nginx_gwlint::workspace::Workspace;

/// `nginx -v`: "nginx version: nginx/1.22.1".
fn installed() -> (Version, String) {
    let out = std::process::Command::new(common::nginx_binary())
        .arg("-V")
        .output()
        .expect("run nginx -V");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    let version = text
        .split("nginx/")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("nginx -V prints its version")
        .parse()
        .expect("X.Y.Z");
    (version, text)
}

/// http modules nginx builds only with `--with-<name>` (auto/options: HTTP_*=NO).
const HTTP_OPTIONAL: &[&str] = &[
    "http_ssl_module",
    "http_v2_module",
    "http_v3_module",
    "http_realip_module",
    "http_addition_module",
    "http_xslt_module",
    "http_image_filter_module",
    "http_geoip_module",
    "http_sub_module",
    "http_dav_module",
    "http_flv_module",
    "http_mp4_module",
    "http_gunzip_module",
    "http_gzip_static_module",
    "http_auth_request_module",
    "http_random_index_module",
    "http_secure_link_module",
    "http_degradation_module",
    "http_slice_module",
    "http_stub_status_module",
    "http_perl_module",
    "google_perftools_module",
    "http_cpp_test_module",
];

/// Directives that exist only with a build feature Debian's configure line does not enable.
const FEATURE_GATED: &[(&str, &str)] = &[
    (
        "worker_aio_requests",
        "needs --with-file-aio (NGX_HAVE_FILE_AIO)",
    ),
    ("quic_bpf", "needs HTTP/3 (--with-http_v3_module)"),
];

/// Why a module is not in the installed binary, or None when it is.
fn skip_reason(module: &str, configure: &str) -> Option<String> {
    let os_specific = [
        "ngx_kqueue_module",
        "ngx_devpoll_module",
        "ngx_eventport_module",
        "ngx_iocp_module",
        "ngx_select_module",
        "ngx_poll_module",
        "ngx_aio_module",
        "ngx_rtsig_module",
    ];
    if os_specific.contains(&module) {
        return Some("event module of another operating system".to_owned());
    }
    let name = module.strip_prefix("ngx_").unwrap_or(module);
    // Modules whose configure switch is not their module name.
    let name = match name {
        "http_xslt_filter_module" => "http_xslt_module",
        other => other,
    };
    for family in ["stream", "mail", "imap"] {
        if name.starts_with(&format!("{family}_")) {
            let flag = if family == "imap" { "mail" } else { family };
            if configure.contains(&format!("--with-{flag}=dynamic")) {
                return Some(format!(
                    "--with-{flag}=dynamic: the .so is not loaded by the generated config"
                ));
            }
            if !configure.contains(&format!("--with-{flag}")) {
                return Some(format!("not configured (--with-{flag})"));
            }
        }
    }
    if configure.contains(&format!("--with-{name}=dynamic")) {
        return Some(format!(
            "--with-{name}=dynamic: the .so is not loaded by the generated config"
        ));
    }
    if configure.contains(&format!("--without-{name}")) {
        return Some(format!("--without-{name}"));
    }
    let stream_optional = name.starts_with("stream_")
        && ["ssl", "realip", "geoip", "ssl_preread"]
            .iter()
            .any(|m| name == format!("stream_{m}_module"));
    let mail_optional = name == "mail_ssl_module";
    if (HTTP_OPTIONAL.contains(&name) || stream_optional || mail_optional)
        && !configure.contains(&format!("--with-{name}"))
    {
        return Some(format!("optional, not configured (--with-{name})"));
    }
    None
}

/// The core and http contexts a generated config can put a directive in.
const PLACEABLE: &[Context] = &[
    Context::Main,
    Context::Events,
    Context::Http,
    Context::Server,
    Context::Location,
    Context::Upstream,
    Context::IfServer,
    Context::IfLocation,
    Context::LimitExcept,
];

fn wrap(ctx: Context, line: &str) -> String {
    let (before, after) = match ctx {
        Context::Main => ("", "events {}\n"),
        Context::Events => ("events {\n", "}\n"),
        Context::Http => ("events {}\nhttp {\n", "}\n"),
        Context::Server => ("events {}\nhttp {\nserver {\n", "}\n}\n"),
        Context::Location => ("events {}\nhttp {\nserver {\nlocation / {\n", "}\n}\n}\n"),
        Context::Upstream => (
            "events {}\nhttp {\nupstream u {\nserver 127.0.0.1:9;\n",
            "}\n}\n",
        ),
        Context::IfServer => ("events {}\nhttp {\nserver {\nif ($host) {\n", "}\n}\n}\n"),
        Context::IfLocation => (
            "events {}\nhttp {\nserver {\nlocation / {\nif ($host) {\n",
            "}\n}\n}\n}\n",
        ),
        Context::LimitExcept => (
            "events {}\nhttp {\nserver {\nlocation / {\nlimit_except GET {\n",
            "}\n}\n}\n}\n",
        ),
        _ => unreachable!("not placeable"),
    };
    format!("{before}{line}\n{after}")
}

/// A plausible first argument for the directive's kind, then filler words.
fn args_for(spec: &DirectiveSpec, n: usize) -> Vec<String> {
    let first = match spec.kind {
        Some(ValueKind::Flag) => "on".to_owned(),
        Some(ValueKind::Time | ValueKind::TimeSec) => "1s".to_owned(),
        Some(ValueKind::Size | ValueKind::Offset) => "1k".to_owned(),
        Some(ValueKind::Number) => "1".to_owned(),
        Some(ValueKind::Enum | ValueKind::Bitmask) => spec.values[0].clone(),
        Some(ValueKind::Bufs) => "4".to_owned(),
        _ => "x".to_owned(),
    };
    let rest = if spec.kind == Some(ValueKind::Bufs) {
        "8k"
    } else {
        "x"
    };
    (0..n)
        .map(|i| {
            if i == 0 {
                first.clone()
            } else {
                rest.to_owned()
            }
        })
        .collect()
}

fn directive_line(spec: &DirectiveSpec, args: &[String], block: bool) -> String {
    let mut line = spec.name.clone();
    for a in args {
        line.push(' ');
        line.push_str(a);
    }
    line.push_str(if block { " {\n}" } else { ";" });
    line
}

/// Runs nginx -t on `text` in a scratch directory: None when it passes, else the first
/// [emerg]/[alert]/[crit] message without its location.
fn nginx_on(dir: &Path, text: &str) -> Option<String> {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, text).unwrap();
    let out = std::process::Command::new(common::nginx_binary())
        .arg("-t")
        .arg("-p")
        .arg(format!("{}/", dir.display()))
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg("stderr")
        .output()
        .expect("run nginx -t");
    if out.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| {
            ["[emerg]", "[alert]", "[crit]"]
                .iter()
                .any(|t| l.contains(t))
        })
        .unwrap_or("");
    let msg = line.split_once("] ").map_or(line, |(_, m)| m);
    let msg = match msg.split_once(": ") {
        Some((pid, rest)) if pid.contains('#') => rest,
        _ => msg,
    };
    let at = format!(" in {}:", conf.display());
    Some(msg.rsplit_once(&at).map_or(msg, |(m, _)| m).to_owned())
}

const STRUCTURAL: &[&str] = &[
    "unknown directive",
    "is not allowed here",
    "invalid number of arguments",
    "has no opening",
    "is not terminated by",
];

#[derive(Default)]
struct Outcome {
    checked: usize,
    failures: Vec<String>,
}

/// Runs `jobs` over two worker threads (the machine is shared).
fn run_parallel<T: Sync>(jobs: &[T], work: impl Fn(&Path, &T, &mut Outcome) + Sync) -> Outcome {
    let total = Mutex::new(Outcome::default());
    let next = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let dir = tempfile::tempdir().unwrap();
                let mut local = Outcome::default();
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        *n += 1;
                        *n - 1
                    };
                    let Some(job) = jobs.get(i) else { break };
                    work(dir.path(), job, &mut local);
                }
                let mut t = total.lock().unwrap();
                t.checked += local.checked;
                t.failures.extend(local.failures);
            });
        }
    });
    total.into_inner().unwrap()
}

#[test]
fn directive_table_agrees_with_installed_nginx() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let (version, configure) = installed();
    let table = DirectiveTable::builtin();
    let mut skipped: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut specs: Vec<&DirectiveSpec> = Vec::new();
    for spec in table.iter() {
        if spec.set.is_some() || !spec.exists_in(version) {
            continue;
        }
        if let Some((_, why)) = FEATURE_GATED.iter().find(|(n, _)| *n == spec.name) {
            skipped
                .entry(format!("{} ({why})", spec.module))
                .or_default()
                .insert(spec.name.clone());
            continue;
        }
        if let Some(why) = skip_reason(&spec.module, &configure) {
            skipped
                .entry(format!("{} ({why})", spec.module))
                .or_default()
                .insert(spec.name.clone());
            continue;
        }
        specs.push(spec);
    }
    println!(
        "nginx {version}: checking {} entries; skipped modules:",
        specs.len()
    );
    for (module, names) in &skipped {
        println!("  skipped {module}: {} directives", names.len());
    }
    assert!(specs.len() > 500, "too few entries checked");

    let outcome = run_parallel(&specs, |dir, spec, out| {
        let siblings: Vec<&DirectiveSpec> = table
            .get(&spec.name)
            .iter()
            .filter(|s| s.set.is_none() && s.exists_in(version))
            .collect();
        check_spec(dir, spec, &siblings, out)
    });

    // Names that exist in the table but not in this version must be unknown to nginx.
    let absent: Vec<&str> = table
        .names()
        .filter(|n| {
            let entries = table.get(n);
            entries.iter().all(|s| s.set.is_none()) && !table.known_in(n, version)
        })
        .filter(|n| match DISTRO_BACKPORTS.iter().find(|(b, _)| b == n) {
            Some((_, why)) => {
                println!("  skipped {n}: newer than {version} upstream, but {why}");
                false
            }
            None => true,
        })
        .collect();
    let absent_outcome = run_parallel(&absent, |dir, name, out| {
        out.checked += 1;
        let text = format!("{name} x;\nevents {{}}\n");
        let said = nginx_on(dir, &text).unwrap_or_default();
        if said != format!("unknown directive \"{name}\"") {
            out.failures.push(format!(
                "{name}: the table says it is not in nginx {version}, nginx -t said {said:?}"
            ));
        }
    });
    println!(
        "{} placements checked, {} names absent from {version} checked",
        outcome.checked, absent_outcome.checked
    );
    let failures: Vec<String> = outcome
        .failures
        .into_iter()
        .chain(absent_outcome.failures)
        .collect();
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check_spec(dir: &Path, spec: &DirectiveSpec, siblings: &[&DirectiveSpec], out: &mut Outcome) {
    let name = &spec.name;
    let good_count = (0..8).find(|n| spec.accepts_arg_count(*n)).unwrap_or(1);
    let good_args = args_for(spec, good_count);
    let good_line = directive_line(spec, &good_args, spec.is_block());
    // Allowed contexts.
    for ctx in PLACEABLE.iter().filter(|c| spec.allows_context(**c)) {
        out.checked += 1;
        if let Some(msg) = nginx_on(dir, &wrap(*ctx, &good_line)) {
            if STRUCTURAL.iter().any(|s| msg.contains(s)) && msg.contains(&format!("\"{name}\"")) {
                out.failures.push(format!(
                    "{name} ({}) in {}: {msg}",
                    spec.module,
                    ctx.as_str()
                ));
            }
        }
    }
    // A refused context: refused by every entry of the name (error_log has a core and an
    // http entry), one of the same family when there is one.
    let refused = PLACEABLE
        .iter()
        .filter(|c| !siblings.iter().any(|s| s.allows_context(**c)))
        .find(|c| c.is_http_like() || **c == Context::Main);
    if let Some(ctx) = refused {
        out.checked += 1;
        let msg = nginx_on(dir, &wrap(*ctx, &good_line)).unwrap_or_default();
        if msg != format!("\"{name}\" directive is not allowed here") {
            out.failures.push(format!(
                "{name} ({}) in {} (refused by the table): nginx said {msg:?}",
                spec.module,
                ctx.as_str()
            ));
        }
    }
    // A count the table refuses, in the first allowed placeable context.
    let bad_count = (0..=8).find(|n| !spec.accepts_arg_count(*n));
    let home = PLACEABLE.iter().find(|c| spec.allows_context(**c));
    if let (Some(n), Some(ctx)) = (bad_count, home) {
        out.checked += 1;
        let line = directive_line(spec, &args_for(spec, n), spec.is_block());
        let msg = nginx_on(dir, &wrap(*ctx, &line)).unwrap_or_default();
        if msg != format!("invalid number of arguments in \"{name}\" directive") {
            out.failures.push(format!(
                "{name} ({}) with {n} arguments in {}: nginx said {msg:?}",
                spec.module,
                ctx.as_str()
            ));
        }
    }
    // An invalid value for generic-slot directives: nginx and GW013 say the same.
    let bad_value = match spec.kind {
        Some(ValueKind::Flag) => Some("maybe"),
        Some(ValueKind::Time | ValueKind::TimeSec) => Some("5x"),
        Some(ValueKind::Size | ValueKind::Offset) => Some("5kk"),
        Some(ValueKind::Number) => Some("five"),
        Some(ValueKind::Enum | ValueKind::Bitmask) => Some("no_such_word"),
        _ => None,
    };
    if let (Some(value), Some(ctx), true) = (bad_value, home, spec.accepts_arg_count(1)) {
        out.checked += 1;
        let line = directive_line(spec, &[value.to_owned()], spec.is_block());
        let text = wrap(*ctx, &line);
        let said = nginx_on(dir, &text).unwrap_or_default();
        let ours = gw013_messages(dir);
        if !ours.contains(&said) {
            out.failures.push(format!(
                "{name} ({}) = {value}: nginx said {said:?}, GW013 said {ours:?}",
                spec.module
            ));
        }
    }
}

/// GW013's messages for dir/nginx.conf.
fn gw013_messages(dir: &Path) -> Vec<String> {
    let tree = load_path(&dir.join("nginx.conf")).unwrap();
    let settings = Settings::defaults().unwrap();
    let selection = Selection {
        select: vec!["GW013".to_owned()],
        ignore: Vec::new(),
    };
    let ws = Workspace::nginx_only(tree);
    lint(&ws, &settings, &selection)
        .into_iter()
        .map(|d| d.message)
        .collect()
}

/// Sample arguments for the custom setters GW014 treats as single-valued.
const DUPLICATE_SAMPLES: &[(&str, &str, Context)] = &[
    ("alias", "/tmp/", Context::Location),
    ("auth_request", "/auth", Context::Location),
    ("expires", "1h", Context::Location),
    ("fastcgi_cache", "off", Context::Location),
    ("fastcgi_cache_key", "$uri", Context::Location),
    ("fastcgi_pass", "127.0.0.1:9000", Context::Location),
    ("grpc_pass", "127.0.0.1:9000", Context::Location),
    ("internal", "", Context::Location),
    ("keepalive_timeout", "5s", Context::Location),
    ("memcached_pass", "127.0.0.1:11211", Context::Location),
    ("proxy_cache", "off", Context::Location),
    ("proxy_cache_key", "$uri", Context::Location),
    ("proxy_pass", "http://127.0.0.1:3000", Context::Location),
    ("resolver", "127.0.0.1", Context::Location),
    ("root", "/tmp", Context::Location),
    ("scgi_cache", "off", Context::Location),
    ("scgi_cache_key", "$uri", Context::Location),
    ("scgi_pass", "127.0.0.1:9000", Context::Location),
    ("try_files", "$uri =404", Context::Location),
    ("uwsgi_cache", "off", Context::Location),
    ("uwsgi_cache_key", "$uri", Context::Location),
    ("uwsgi_pass", "127.0.0.1:9000", Context::Location),
];

#[test]
fn custom_duplicate_list_agrees_with_installed_nginx() {
    if common::oracle::nginx().is_none() {
        return;
    }
    let names: Vec<&str> = DUPLICATE_SAMPLES.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(
        names, CUSTOM_DUPLICATE_DIRECTIVES,
        "samples and list differ"
    );
    let dir = tempfile::tempdir().unwrap();
    for (name, args, ctx) in DUPLICATE_SAMPLES {
        let line = format!("{name} {args};");
        // A single one may still fail later (memcached_pass wants $memcached_key), never as a
        // duplicate.
        let once = nginx_on(dir.path(), &wrap(*ctx, &line)).unwrap_or_default();
        assert!(!once.contains("duplicate"), "{name} {args}: {once}");
        let twice = nginx_on(dir.path(), &wrap(*ctx, &format!("{line}\n{line}")));
        assert_eq!(
            twice.as_deref(),
            Some(format!("\"{name}\" directive is duplicate").as_str()),
            "{name}"
        );
    }
}
