//! The rule harness: every case of every rule, in one format (see
//! `tests/rules/README.md`). A case is a folder `tests/rules/GWnnn/<case>/` holding the
//! configuration (`nginx.conf`, or `etc/nginx/nginx.conf` with `sysroot = true`), optionally
//! `php/` (php.ini and pools, read as `--php php`) and `nginx-gwlint.toml` (settings), a
//! `case.toml` and an `expected.snap`.
//!
//! Each case runs as `check [--sysroot .] [--php php] MAIN --select GWnnn --diff --unsafe-fixes
//! --no-verify` would: the real fix engine ([`fix::fix_until_stable`]) with every rule linted
//! (so the engine sees a finding a fix would introduce) and only the case's rule reported and
//! fixed. `expected.snap` holds that rule's findings (concise line, help, notes, fix title and
//! applicability), the fixes the engine left out and why, and the unified diff; UPDATE_SNAPSHOTS=1
//! rewrites it. A bad case must have a finding of its rule, a good case none. With the real
//! nginx installed, `nginx -t` must agree with `nginx_t` (a bad case nginx refuses is refused at
//! one of the rule's findings, in its words) and, after the fix, with `nginx_t_after_fix`.
//! The fixed tree must be stable: fixing it again changes nothing.
//!
//! Every registered rule needs a bad and a good case; a rule may only emit the fixes its meta
//! declares ([`fix_allowed`]).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nginx_gwlint::backends::compose::ComposeProject;
use nginx_gwlint::backends::{self, PhpSetup};
use nginx_gwlint::config::{load_path_opts, LoadOptions};
use nginx_gwlint::diagnostic::Diagnostic;
use nginx_gwlint::diagnostic::{Edit, Fix};
use nginx_gwlint::fix::{self, Checked, FixError, FixOptions, FixOutcome};
use nginx_gwlint::lint::{lint, Selection};
use nginx_gwlint::report::{render_concise, Position};
use nginx_gwlint::rules::{self, RuleMeta};
use nginx_gwlint::settings::{Settings, TargetOrigin};
use nginx_gwlint::workspace::Workspace;
use serde::Deserialize;

use crate::common;

/// `tests/rules`.
pub fn rules_dir() -> PathBuf {
    common::root().join("tests/rules")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The rule must report something here.
    Bad,
    /// The rule must report nothing here.
    Good,
}

/// What `nginx -t` says about a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NginxT {
    Accepts,
    Refuses,
    /// Not checked (the case needs a module, version or file this nginx lacks; say why in a
    /// comment).
    Skip,
}

/// `case.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseToml {
    pub kind: Kind,
    pub nginx_t: NginxT,
    /// What `nginx -t` says after the fix (bad cases whose fix changes something).
    pub nginx_t_after_fix: Option<NginxT>,
    /// The case folder is a system root: `etc/nginx/nginx.conf`, `etc/passwd`, `etc/php/...`.
    #[serde(default)]
    pub sysroot: bool,
}

/// One case folder.
pub struct Case {
    pub meta: &'static RuleMeta,
    pub name: String,
    pub dir: PathBuf,
    pub toml: CaseToml,
}

impl Case {
    /// `GW101/bad-grpc-and-uwsgi`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.meta.id, self.name)
    }

    /// The main nginx file, relative to the case folder.
    pub fn main_file(&self) -> &'static str {
        if self.toml.sysroot {
            "etc/nginx/nginx.conf"
        } else {
            "nginx.conf"
        }
    }

    /// The arguments `nginx-gwlint check` needs for this case, run from its folder (relative to
    /// it), main file last.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if self.toml.sysroot {
            args.extend(["--sysroot".to_owned(), ".".to_owned()]);
        }
        if self.dir.join("php").is_dir() {
            args.extend(["--php".to_owned(), "php".to_owned()]);
        }
        args.push(self.main_file().to_owned());
        args
    }

    /// The case's settings: its `nginx-gwlint.toml`, else the defaults.
    pub fn settings(&self) -> Result<Settings, String> {
        let file = self.dir.join("nginx-gwlint.toml");
        if file.is_file() {
            Settings::with_file(&file).map_err(|e| format!("{}: {e}", file.display()))
        } else {
            Settings::defaults().map_err(|e| e.to_string())
        }
    }
}

/// Every case, sorted by rule and name; a malformed folder is an error.
pub fn cases() -> Result<Vec<Case>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for rule_dir in sorted_dirs(&rules_dir()) {
        let id = file_name(&rule_dir);
        let Some(meta) = rules::all_meta().find(|m| m.id == id) else {
            errors.push(format!("tests/rules/{id}: no registered rule has this id"));
            continue;
        };
        for dir in sorted_dirs(&rule_dir) {
            let name = file_name(&dir);
            let toml = match std::fs::read_to_string(dir.join("case.toml")) {
                Ok(text) => match toml::from_str::<CaseToml>(&text) {
                    Ok(t) => t,
                    Err(e) => {
                        errors.push(format!("{id}/{name}/case.toml: {e}"));
                        continue;
                    }
                },
                Err(e) => {
                    errors.push(format!("{id}/{name}/case.toml: {e}"));
                    continue;
                }
            };
            let case = Case {
                meta,
                name,
                dir,
                toml,
            };
            let prefix = match case.toml.kind {
                Kind::Bad => "bad-",
                Kind::Good => "good-",
            };
            if !case.name.starts_with(prefix) {
                errors.push(format!("{}: a {prefix}* case by case.toml", case.label()));
                continue;
            }
            if !case.dir.join(case.main_file()).is_file() {
                errors.push(format!("{}: no {}", case.label(), case.main_file()));
                continue;
            }
            out.push(case);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Whether `meta` allows a rule to emit `fix`: no fix when it declares none, no unsafe (or
/// display-only) fix when it declares safe ones. The one place to adapt when the declaration
/// changes (FixAvailability on the rule, Applicability on each fix).
pub fn fix_allowed(meta: &RuleMeta, fix: &Fix) -> Result<(), String> {
    meta.fix.admits(Some(fix))
}

/// Runs the fix engine on the case's configuration under `root` (the case folder or a copy of
/// it), with `max_passes` passes (0: the plain check).
pub fn run_engine(case: &Case, root: &Path, max_passes: usize) -> Result<FixOutcome, String> {
    let settings = case.settings()?;
    // As `check --select RULE --fix` does: every rule is linted, so the engine sees a finding a
    // fix would introduce in another rule; only the case's rule is reported and fixed.
    let mut every_rule = settings;
    every_rule.selection.select = None;
    every_rule.selection.extend_select.clear();
    every_rule.selection.ignore.clear();
    let sysroot = case.toml.sysroot.then(|| root.to_path_buf());
    let php = php_setup(root, sysroot.as_deref());
    let main = root.join(case.main_file());
    // A compose file beside the configuration, found as `check` finds it.
    let compose = match ComposeProject::discover(&main) {
        Some(file) => {
            Some(ComposeProject::load(&file, true).map_err(|e| format!("compose file: {e}"))?)
        }
        None => None,
    };
    let load = LoadOptions {
        sysroot: sysroot.clone(),
        ..LoadOptions::default()
    };
    let options = FixOptions {
        unsafe_fixes: true,
        max_passes,
        sysroot: sysroot.clone(),
        rules: Some(BTreeSet::from([case.meta.id.code()])),
        from_stdin: None,
    };
    fix::fix_until_stable(
        |overlay| {
            let tree = load_path_opts(&main, overlay, &load)?;
            let ws =
                Workspace::new(tree, php.clone(), sysroot.clone()).with_compose(compose.clone());
            let diagnostics = lint(&ws, &every_rule, &Selection::default());
            Ok(Checked { ws, diagnostics })
        },
        &options,
    )
    .map_err(|e: FixError| format!("the fix engine failed: {e}"))
}

/// `--php php` when the case has `php/`, else with a sysroot the PHP files under it (as
/// `check --sysroot` finds them), else none.
fn php_setup(root: &Path, sysroot: Option<&Path>) -> PhpSetup {
    let php = root.join("php");
    if php.is_dir() {
        return match sysroot {
            Some(r) => backends::discover_with_root(&[php], Some(r)),
            None => backends::discover_copy(&[php]),
        };
    }
    match sysroot {
        Some(r) => backends::discover_with_root(&backends::system_paths(r), Some(r)),
        None => PhpSetup::default(),
    }
}

/// The snapshot text: the rule's findings, the fixes left out, the diff.
fn snapshot(case: &Case, outcome: &FixOutcome) -> String {
    let sources = &outcome.on_disk().ws.tree.sources;
    let mut out = String::new();
    for d in outcome.original() {
        out.push_str(&render_concise(sources, std::slice::from_ref(d)));
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  help: {}", help.replace('\n', "\n        "));
        }
        for l in &d.labels {
            let p = Position::of(sources, l.file, l.span);
            let _ = writeln!(
                out,
                "  note {}:{}:{}: {}",
                p.file, p.line, p.column, l.message
            );
        }
        if let Some(fix) = &d.fix {
            let _ = writeln!(out, "  fix ({}): {}", fix.applicability.as_str(), fix.title);
        }
    }
    if outcome.original().is_empty() {
        let _ = writeln!(out, "(no {} finding)", case.meta.id);
    }
    for dropped in &outcome.dropped {
        let _ = writeln!(out, "not applied: {dropped}");
    }
    let diff = fix::unified_diff(&outcome.changes);
    if !diff.is_empty() {
        out.push_str("--- diff (--select ");
        out.push_str(case.meta.id.code());
        out.push_str(" --diff --unsafe-fixes)\n");
        out.push_str(&String::from_utf8_lossy(&diff));
    }
    let root = format!("{}/", case.dir.display());
    out.replace(&root, "")
}

/// `nginx -t` on the (fixed) configuration of `outcome`, confined as `--verify-with` runs it:
/// `Ok(None)` when nginx accepts it, `Ok(Some(stderr))` when it refuses it. A tree that does not
/// parse cannot be copied that way (its includes are not known): nginx runs on a copy of the
/// case folder instead, which nginx stops reading at the syntax error.
fn nginx_t(nginx: &Path, case: &Case, outcome: &FixOutcome) -> Result<Option<String>, String> {
    if outcome.checked.ws.tree.has_parse_errors() {
        let copy = tempfile::tempdir().unwrap();
        common::copy_tree(&case.dir, copy.path()).unwrap();
        let main = copy.path().join(case.main_file());
        let out = std::process::Command::new(nginx)
            .arg("-t")
            .arg("-p")
            .arg(format!("{}/", main.parent().unwrap().display()))
            .arg("-c")
            .arg(&main)
            .args(["-e", "/dev/null"])
            .output()
            .map_err(|e| format!("cannot run {}: {e}", nginx.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr).replace(
            &copy.path().display().to_string(),
            &case.dir.display().to_string(),
        );
        return Ok((!out.status.success()).then_some(stderr));
    }
    let stderr = match fix::verify_with_nginx(nginx, outcome) {
        Ok(fix::Verified::Passes) => return Ok(None),
        Ok(fix::Verified::SameFailure(stderr)) => stderr,
        Ok(fix::Verified::Skipped(reason)) => {
            return Err(format!(
                "`nginx -t` cannot run on it ({reason}): set nginx_t = \"skip\""
            ))
        }
        Err(FixError::VerifyFailed { stderr, .. }) => stderr,
        Err(e) => return Err(format!("`nginx -t` failed to run: {e}")),
    };
    let prefix = case.dir.join(case.main_file());
    Ok(Some(without_verify_dir(&stderr, prefix.parent().unwrap())))
}

/// nginx names files it could not open by their path in the verification copy
/// (`/tmp/nginx-gwlint-verify-.../x.conf`): named under the case's prefix instead, as nginx
/// run on the case itself would.
fn without_verify_dir(stderr: &str, prefix: &Path) -> String {
    let mut out = String::new();
    let mut rest = stderr;
    while let Some(at) = rest.find("/nginx-gwlint-verify-") {
        let (head, tail) = rest.split_at(at);
        let start = head.rfind('"').map_or(head.len(), |q| q + 1);
        out.push_str(&head[..start]);
        let tail = &tail[1..];
        rest = tail.find('/').map_or("", |slash| &tail[slash..]);
        out.push_str(&prefix.display().to_string());
    }
    out.push_str(rest);
    out
}

/// nginx's first `[emerg]`: the message and, when nginx names one, the file as displayed and
/// the line.
fn emerg(stderr: &str) -> Option<(String, Option<(String, usize)>)> {
    let line = stderr.lines().find(|l| l.contains("[emerg]"))?;
    let msg = line.split_once("[emerg] ")?.1;
    let at = msg.rsplit_once(" in ").and_then(|(text, loc)| {
        let (file, line) = loc.rsplit_once(':')?;
        Some((text, (file.to_owned(), line.trim().parse().ok()?)))
    });
    Some(match at {
        Some((text, at)) => (text.to_owned(), Some(at)),
        None => (msg.to_owned(), None),
    })
}

/// The nginx -t checks of one case; `installed` is the installed nginx's version.
fn check_nginx(
    case: &Case,
    plain: &FixOutcome,
    fixed: &FixOutcome,
    nginx: &Path,
    installed: Option<&nginx_gwlint::directives::Version>,
) -> Vec<String> {
    let mut errors = Vec::new();
    let target = &plain.on_disk().ws;
    let settings = match case.settings() {
        Ok(s) => s,
        Err(e) => return vec![e],
    };
    let pinned = settings.directives.target_origin == TargetOrigin::Settings;
    if pinned && installed != Some(&settings.directives.target) && case.toml.nginx_t != NginxT::Skip
    {
        errors.push(format!(
            "the case targets nginx {} and the installed nginx is {}: set nginx_t = \"skip\"",
            settings.directives.target,
            installed.map_or("unknown".to_owned(), |v| v.to_string())
        ));
        return errors;
    }
    if case.toml.nginx_t != NginxT::Skip {
        match nginx_t(nginx, case, plain) {
            Err(e) => errors.push(e),
            Ok(None) if case.toml.nginx_t == NginxT::Refuses => {
                errors.push("nginx -t accepts it, case.toml says refuses".to_owned())
            }
            Ok(Some(stderr)) if case.toml.nginx_t == NginxT::Accepts => errors.push(format!(
                "nginx -t refuses it, case.toml says accepts:\n{stderr}"
            )),
            Ok(Some(stderr)) if case.toml.kind == Kind::Bad => {
                // Refused: nginx's error is one of the rule's findings, at its line.
                let sources = &target.tree.sources;
                // Merge-time errors (buffer sizes) are reported at the `}` where nginx finished
                // reading the enclosing block, after the directive. Rules quote nginx
                // with escaped quotes.
                let agrees = emerg(&stderr).is_some_and(|(msg, at)| {
                    plain.original().iter().any(|d| {
                        let p = Position::of(sources, d.file, d.span);
                        d.message.replace("\\\"", "\"").contains(&msg)
                            && at.as_ref().is_none_or(|(file, line)| {
                                let text = &sources.get(d.file).text;
                                let block_end = String::from_utf8_lossy(text)
                                    .lines()
                                    .nth(line.saturating_sub(1))
                                    .is_some_and(|l| l.trim() == "}");
                                (p.line == *line || (p.line < *line && block_end))
                                    && (file.ends_with(&p.file) || p.file.ends_with(file.as_str()))
                            })
                    })
                });
                if !agrees {
                    errors.push(format!(
                        "nginx -t refuses it, but not at one of the {} findings with nginx's message:\n{stderr}",
                        case.meta.id
                    ));
                }
            }
            Ok(_) => {}
        }
    }
    match (case.toml.nginx_t_after_fix, fixed.changes.is_empty()) {
        (Some(_), true) => {
            errors.push("nginx_t_after_fix is set but no fix changes anything".into())
        }
        (None, false) => errors.push(
            "a fix changes the configuration: say what nginx -t does after it (nginx_t_after_fix)"
                .into(),
        ),
        (Some(NginxT::Skip), false) | (None, true) => {}
        (Some(want), false) => match nginx_t(nginx, case, fixed) {
            Err(e) => errors.push(format!("after the fix: {e}")),
            Ok(None) if want == NginxT::Refuses => errors.push(
                "nginx -t accepts the fixed configuration, case.toml says refuses".to_owned(),
            ),
            Ok(Some(stderr)) if want == NginxT::Accepts => errors.push(format!(
                "nginx -t refuses the fixed configuration, case.toml says accepts:\n{stderr}"
            )),
            Ok(_) => {}
        },
    }
    errors
}

/// Copies the case folder to a temp dir with the fixed texts written in.
fn fixed_copy(case: &Case, outcome: &FixOutcome) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&case.dir, tmp.path()).unwrap();
    for change in &outcome.changes {
        let rel = change.target.strip_prefix(&case.dir).unwrap_or_else(|_| {
            panic!(
                "{}: a fix writes {} outside the case",
                case.label(),
                change.target.display()
            )
        });
        std::fs::write(tmp.path().join(rel), &change.fixed).unwrap();
    }
    tmp
}

/// Everything wrong with one case (empty: it passes).
fn check_case(
    case: &Case,
    nginx: Option<&(PathBuf, Option<nginx_gwlint::directives::Version>)>,
) -> Vec<String> {
    let mut errors = Vec::new();
    let outcome = match run_engine(case, &case.dir, fix::DEFAULT_MAX_PASSES) {
        Ok(o) => o,
        Err(e) => return vec![e],
    };
    let found: Vec<_> = outcome.original().into_iter().cloned().collect();
    match case.toml.kind {
        Kind::Bad if found.is_empty() => errors.push(format!("no {} finding", case.meta.id)),
        Kind::Good if !found.is_empty() => errors.push(format!(
            "a good case, but {} reports:\n{}",
            case.meta.id,
            render_concise(&outcome.on_disk().ws.tree.sources, &found)
        )),
        _ => {}
    }
    for d in found.iter().chain(outcome.remaining()) {
        if let Some(fix) = &d.fix {
            if let Err(e) = fix_allowed(case.meta, fix) {
                errors.push(format!("{}: {e}", d.rule));
            }
        }
    }
    if outcome.hit_pass_limit {
        errors.push(format!(
            "the fixes did not converge in {} passes",
            fix::DEFAULT_MAX_PASSES
        ));
    }
    // Stable: fixing the fixed tree again changes nothing.
    if !outcome.changes.is_empty() {
        let copy = fixed_copy(case, &outcome);
        match run_engine(case, copy.path(), fix::DEFAULT_MAX_PASSES) {
            Ok(again) if again.changes.is_empty() => {}
            Ok(again) => errors.push(format!(
                "a second fix run still changes something:\n{}",
                String::from_utf8_lossy(&fix::unified_diff(&again.changes))
            )),
            Err(e) => errors.push(format!("fixed copy: {e}")),
        }
    }
    let text = snapshot(case, &outcome);
    let snap = case.dir.join("expected.snap");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::write(&snap, &text).unwrap();
    } else {
        match std::fs::read_to_string(&snap) {
            Ok(expected) if expected == text => {}
            Ok(expected) => errors.push(format!(
                "expected.snap differs (UPDATE_SNAPSHOTS=1 rewrites it):\n{}",
                similar::TextDiff::from_lines(&expected, &text)
                    .unified_diff()
                    .header("expected.snap", "actual")
            )),
            Err(_) => {
                errors.push("no expected.snap: run with UPDATE_SNAPSHOTS=1, review, commit".into())
            }
        }
    }
    if let Some((binary, installed)) = nginx {
        let plain = match run_engine(case, &case.dir, 0) {
            Ok(o) => o,
            Err(e) => return vec![e],
        };
        errors.extend(check_nginx(
            case,
            &plain,
            &outcome,
            binary,
            installed.as_ref(),
        ));
    }
    errors
}

#[test]
fn rule_cases() {
    let cases = cases().unwrap_or_else(|errors| panic!("{}", errors.join("\n")));
    let nginx = common::oracle::nginx().map(|binary| {
        let version = nginx_gwlint::system::detect_nginx_version(&binary);
        (binary, version)
    });
    let mut failures = Vec::new();
    for case in &cases {
        for e in check_case(case, nginx.as_ref()) {
            failures.push(format!("{}: {e}", case.label()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rule cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every registered rule has a bad and a good case.
#[test]
fn every_rule_has_a_bad_and_a_good_case() {
    let cases = cases().unwrap_or_else(|errors| panic!("{}", errors.join("\n")));
    let mut missing = Vec::new();
    for meta in rules::all_meta() {
        for kind in [Kind::Bad, Kind::Good] {
            if !cases
                .iter()
                .any(|c| c.meta.id == meta.id && c.toml.kind == kind)
            {
                let kind = format!("{kind:?}").to_lowercase();
                missing.push(format!("{} has no {kind} case", meta.id));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "add cases under tests/rules/GWnnn/ (see tests/rules/README.md):\n{}",
        missing.join("\n")
    );
}

/// The fix declaration check itself, on the registry's own metas: a rule without fixes may not
/// emit one, a safe-only rule no unsafe one.
#[test]
fn fix_declarations_are_enforced() {
    use nginx_gwlint::diagnostic::Applicability;
    use nginx_gwlint::rules::FixAvailability;
    let of = |kind| rules::all_meta().find(|m| m.fix == kind).unwrap();
    let safe = Fix::safe("a", Vec::new());
    let unsafe_fix = Fix::unsafe_edit("b", Vec::new());
    assert!(fix_allowed(of(FixAvailability::None), &safe).is_err());
    assert!(fix_allowed(of(FixAvailability::None), &unsafe_fix).is_err());
    assert!(fix_allowed(
        of(FixAvailability::Sometimes(Applicability::Safe)),
        &unsafe_fix
    )
    .is_err());
    assert!(fix_allowed(of(FixAvailability::Sometimes(Applicability::Safe)), &safe).is_ok());
    assert!(fix_allowed(
        of(FixAvailability::Sometimes(Applicability::Unsafe)),
        &unsafe_fix
    )
    .is_ok());
    assert!(fix_allowed(of(FixAvailability::Sometimes(Applicability::Unsafe)), &safe).is_ok());
}

/// The findings of `rule` alone on `dir/nginx.conf` (for tests on generated trees).
pub fn findings(rule: &str, dir: &Path) -> Vec<Diagnostic> {
    let ws =
        Workspace::nginx_only(nginx_gwlint::config::load_path(&dir.join("nginx.conf")).unwrap());
    let selection = Selection {
        select: vec![rule.to_owned()],
        ignore: Vec::new(),
    };
    lint(&ws, &Settings::defaults().unwrap(), &selection)
}

/// GW207 and GW402 both add `proxy_http_version 1.1;` to a WebSocket location behind a
/// keep-alive upstream: they must make the identical edit, so a fixer applies it once (or
/// treats the pair as overlapping and takes the second in the next pass) and never writes the
/// directive twice, which nginx would refuse as a duplicate.
#[test]
fn gw207_and_gw402_add_the_http_version_with_one_identical_edit() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("nginx.conf"),
        "events {}\nhttp {\n    map $http_upgrade $connection_upgrade {\n        default upgrade;\n        ''      \"\";\n    }\n    upstream app {\n        server 127.0.0.1:3000;\n        keepalive 8;\n    }\n    server {\n        listen 8080;\n        location /ws/ {\n            proxy_pass http://app;\n            proxy_set_header Upgrade $http_upgrade;\n            proxy_set_header Connection $connection_upgrade;\n        }\n    }\n}\n",
    )
    .unwrap();
    let a = findings("GW207", dir.path());
    let b = findings("GW402", dir.path());
    let edits = |found: &[Diagnostic]| -> Vec<Edit> {
        found
            .iter()
            .filter_map(|d| d.fix.as_ref())
            .flat_map(|f| f.edits.clone())
            .collect()
    };
    let (ea, eb) = (edits(&a), edits(&b));
    assert_eq!(ea.len(), 1, "{ea:#?}");
    assert_eq!(ea, eb);
    assert_eq!(ea[0].content, "\n            proxy_http_version 1.1;");
}

#[test]
fn user_directive_settings_reject_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nginx-gwlint.toml");
    std::fs::write(
        &p,
        "[directives.my_directive]\ncontexts = [\"http\"]\nargs = \"TAKE1\"\nblok = true\n",
    )
    .unwrap();
    let err = Settings::with_file(&p).unwrap_err().to_string();
    assert!(err.contains("blok"), "{err}");
}
