//! Command-line interface: clap types and dispatch. Only this module and main.rs print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::backends::{self, PhpSetup};
use crate::baseline::{self, Baseline, BaselineError};
use crate::config::{load_dump, load_dump_with, load_path, load_path_with, ConfigTree, LoadError};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::{self, Checked, FixError, FixOptions, FixOutcome};
use crate::lint::{lint, Selection, Workspace};
use crate::report::{self, parse_json, rules_doc};
use crate::rules;
use crate::settings::{Settings, SettingsError};

#[derive(Debug, Parser)]
#[command(
    name = "nginx-gwlint",
    version,
    about = "Finds the nginx, PHP-FPM and backend settings that cause 502 Bad Gateway and 504 Gateway Time-out"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a configuration tree: a directory (finds nginx.conf), a file, or `-` for `nginx -T` output on stdin.
    Check(CheckArgs),
    /// Explain an incident from nginx's error.log: cause, config line, fix.
    Diagnose(DiagnoseArgs),
    /// Print the syntax tree as JSON in crossplane's shape.
    Parse(ParseArgs),
    /// List every rule: id, name, default severity, fix.
    Rules(RulesArgs),
    /// Print the full documentation of a rule.
    Explain {
        /// Rule id (GW101) or name (timeout-wrong-module).
        rule: String,
    },
    /// Print a shell completion script: `nginx-gwlint completions bash > /etc/bash_completion.d/nginx-gwlint`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `nginx-gwlint man > /usr/local/share/man/man1/nginx-gwlint.1`.
    Man,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Code frames (the default).
    Human,
    /// One line per finding.
    Concise,
    /// One JSON object, the documented contract.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other dashboards).
    Sarif,
    /// GitHub Actions annotations (`::error file=...`).
    Github,
    /// Checkstyle XML (Jenkins, reviewdog, ...).
    Checkstyle,
}

#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    pub format: RulesFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
    /// The README's Rules table.
    Markdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
}

impl FailOn {
    fn threshold(self) -> Severity {
        match self {
            FailOn::Error => Severity::Error,
            FailOn::Warning => Severity::Warning,
            FailOn::Info => Severity::Info,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Directories, files, or `-` (an `nginx -T` dump on stdin). Default: /etc/nginx (under --sysroot when given).
    pub paths: Vec<PathBuf>,
    /// php.ini / php-fpm config files or directories (default: the usual places under /etc
    /// when checking the system's /etc/nginx, or under --sysroot).
    #[arg(long, value_delimiter = ',')]
    pub php: Vec<PathBuf>,
    /// Application server configs whose limits nginx is compared with: gunicorn config files
    /// (`*.py`: bind, timeout, keepalive) and uWSGI ini files (socket, harakiri). Each becomes a
    /// declared backend, as `[[backend]]` in settings would.
    #[arg(long, value_delimiter = ',', value_name = "FILES")]
    pub app_config: Vec<PathBuf>,
    /// Treat DIR as the root of the system being checked (a copied /etc, a container image):
    /// absolute paths in configs, php-fpm includes and /etc/passwd, /etc/group are read under it.
    #[arg(long, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,
    /// Output format (human on a terminal).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Settings file in rules.toml format (default: nginx-gwlint.toml upward from the current directory).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Only these rules: ids, names or family prefixes (GW1), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Skip these rules: ids, names or family prefixes, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Exit 1 when a finding at or above this severity remains.
    #[arg(long, value_enum, default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,
    /// Also check the live system: connect to every upstream address the configuration names
    /// (short timeout), stat unix sockets and check the nginx worker user may use them.
    #[arg(long)]
    pub probe: bool,
    /// Always exit 0 on findings (2 still means the input could not be read or parsed).
    #[arg(long)]
    pub exit_zero: bool,
    /// Hide the findings recorded in this baseline file: only new ones are reported and gate.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in FILE (JSON) for later `--baseline` runs; exits 0 unless
    /// the input cannot be read or parsed.
    #[arg(long, value_name = "FILE", conflicts_with = "baseline")]
    pub write_baseline: Option<PathBuf>,
    /// Apply the fixes and write the files (atomically; symlinks written through, mode and
    /// owner kept). The report then shows what remains.
    #[arg(long, conflicts_with = "diff")]
    pub fix: bool,
    /// Print the fixes as one unified diff; write nothing.
    #[arg(long)]
    pub diff: bool,
    /// Also apply fixes marked unsafe (they may change behaviour the configuration relies on).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// The nginx version to check against (directives that do not exist there yet, or any
    /// more). Default: `nginx-version` in settings, else what the installed `nginx -v` says,
    /// else the newest version known.
    #[arg(long, value_name = "X.Y.Z")]
    pub nginx_version: Option<String>,
    /// With --fix or --diff: run `NGINX -t` on a fixed copy of the tree first; write nothing
    /// unless it passes.
    #[arg(long, value_name = "NGINX")]
    pub verify_with: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// A file or directory (finds nginx.conf), or `-` for an `nginx -T` dump on stdin.
    pub path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ParseFormat::Json)]
    pub format: ParseFormat,
    /// Parse only this file, do not follow includes.
    #[arg(long)]
    pub no_includes: bool,
    /// Include comments as `{"directive": "#", "comment": ...}` entries.
    #[arg(long)]
    pub include_comments: bool,
    /// Pretty-print the JSON with N spaces per level (compact when not given, like crossplane).
    #[arg(long, value_name = "N")]
    pub indent: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct DiagnoseArgs {
    /// nginx error log to read (repeat for rotated files, oldest first; .gz is read as is).
    #[arg(long = "error-log", value_name = "FILE", required = true)]
    pub error_log: Vec<PathBuf>,
    /// The nginx configuration that wrote the log: a directory (finds nginx.conf), a file, or
    /// `-` for an `nginx -T` dump on stdin. Default: /etc/nginx when it exists.
    #[arg(long, value_name = "DIR")]
    pub config_root: Option<PathBuf>,
    /// Only lines from this time on: `2026-11-26 02:55`, `2026-11-26`, or a span (`30m`, `1h`,
    /// `2d`) counted back from the newest line of the logs (not the clock: log times carry no
    /// time zone).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// php-fpm log(s), to tie resets to request_terminate_timeout kills.
    #[arg(long = "fpm-log", value_name = "FILE")]
    pub fpm_log: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnoseFormat::Human)]
    pub format: DiagnoseFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagnoseFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ParseFormat {
    Json,
}

/// Errors that end a run with exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot read standard input: {0}")]
    Stdin(std::io::Error),
    #[error("cannot write output: {0}")]
    Output(std::io::Error),
    #[error(transparent)]
    Fix(#[from] FixError),
    #[error(transparent)]
    Log(#[from] crate::diagnose::DiagnoseError),
    #[error(transparent)]
    Since(#[from] crate::diagnose::SinceError),
}

/// Process exit codes.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

pub fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Diagnose(args) => diagnose(&args),
        Command::Parse(args) => parse(&args),
        Command::Rules(args) => {
            print_out(&match args.format {
                RulesFormat::Text => rules_table(),
                RulesFormat::Json => rules_doc::rules_json(),
                RulesFormat::Markdown => rules_doc::rules_markdown(),
            })?;
            Ok(EXIT_CLEAN)
        }
        Command::Explain { rule } => {
            let meta = rules::meta_by_id_or_name(&rule).ok_or_else(|| {
                CliError::Usage(format!("unknown rule `{rule}` (see `nginx-gwlint rules`)"))
            })?;
            print_out(&explain(meta))?;
            Ok(EXIT_CLEAN)
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "nginx-gwlint", &mut out);
            print_out(&String::from_utf8_lossy(&out))?;
            Ok(EXIT_CLEAN)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(CliError::Output)?;
            print_out(&String::from_utf8_lossy(&out))?;
            Ok(EXIT_CLEAN)
        }
    }
}

fn print_out(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(CliError::Output),
    }
}

fn load_input(path: &std::path::Path, no_includes: bool) -> Result<ConfigTree, CliError> {
    if path.as_os_str() == "-" {
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .map_err(CliError::Stdin)?;
        return Ok(load_dump(&input)?);
    }
    if no_includes {
        return Ok(crate::config::load_single(path)?);
    }
    Ok(load_path(path)?)
}

/// `--config`, else `nginx-gwlint.toml` upward from the checked path, else upward from the
/// current directory, else the defaults.
fn settings_for(args: &CheckArgs, checked: &std::path::Path) -> Result<Settings, CliError> {
    if let Some(path) = &args.config {
        return Ok(Settings::with_file(path)?);
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let from_checked = (checked.as_os_str() != "-")
        .then(|| std::path::absolute(checked).ok())
        .flatten()
        .and_then(|p| Settings::discover(&p));
    match from_checked.or_else(|| Settings::discover(&cwd)) {
        Some(path) => Ok(Settings::with_file(&path)?),
        None => Ok(Settings::defaults()?),
    }
}

fn check(args: &CheckArgs) -> Result<u8, CliError> {
    let selection = Selection {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
    };
    selection.validate().map_err(CliError::Usage)?;
    if args.verify_with.is_some() && !args.fix && !args.diff {
        return Err(CliError::Usage(
            "--verify-with needs --fix or --diff".to_owned(),
        ));
    }
    let color = args.format == Format::Human
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());

    let mut exit = EXIT_CLEAN;
    let default_path = args
        .sysroot
        .as_ref()
        .map_or_else(|| PathBuf::from("/etc/nginx"), |r| r.join("etc/nginx"));
    let paths = if args.paths.is_empty() {
        vec![default_path]
    } else {
        args.paths.clone()
    };
    let mut matcher = match &args.baseline {
        Some(path) => Some(Baseline::read(path)?.matcher()),
        None => None,
    };
    let mut recorded = Baseline::default();
    // SARIF and checkstyle are one document for all paths; the others print per path.
    let mut sarif_runs = Vec::new();
    let mut checkstyle = String::new();
    let mut hidden = 0;
    for path in &paths {
        let mut settings = settings_for(args, path)?;
        set_target_version(&mut settings, args)?;
        for app in &args.app_config {
            let declared =
                backends::apps::read_app_config(app).map_err(|e| CliError::Usage(e.to_string()))?;
            settings.backends.extend(declared);
        }
        let fixed;
        let ws;
        let (tree, mut diagnostics): (&ConfigTree, Vec<Diagnostic>) = if args.fix || args.diff {
            fixed = fix_path(args, &settings, &selection, path)?;
            (&fixed.checked.ws.tree, fixed.remaining().to_vec())
        } else {
            let tree = load_input(path, false)?;
            ws = Workspace::new(tree, php_setup(args, path), args.sysroot.clone());
            let diagnostics = crate::lint::check(&ws, &settings, &selection, args.probe);
            (&ws.tree, diagnostics)
        };
        let mut fingerprints = baseline::fingerprints(tree, &diagnostics);
        if let Some(m) = &mut matcher {
            hidden += m.hide(tree, &mut diagnostics, &mut fingerprints);
        }
        if args.write_baseline.is_some() {
            recorded.extend(tree, &diagnostics, &fingerprints);
        }
        let sources = &tree.sources;
        let text = match args.format {
            Format::Human => report::render_human(sources, &diagnostics, color),
            Format::Concise => report::render_concise(sources, &diagnostics),
            Format::Json => {
                report::render_json(sources, &tree.nginx_files, &diagnostics, &fingerprints)
            }
            Format::Github => report::render_github(sources, &diagnostics),
            Format::Sarif => {
                sarif_runs.push(report::sarif_run(sources, &diagnostics, &fingerprints));
                String::new()
            }
            Format::Checkstyle => {
                checkstyle.push_str(&report::checkstyle_files(sources, &diagnostics));
                String::new()
            }
        };
        // --diff (and --fix on an `nginx -T` dump) printed the diff: stdout stays the diff.
        let diff_printed = args.diff || (args.fix && tree.from_dump);
        if !diff_printed {
            print_out(&text)?;
        }
        exit = exit.max(exit_code(tree, &diagnostics, args));
    }
    match args.format {
        Format::Sarif => print_out(&report::render_sarif(sarif_runs))?,
        Format::Checkstyle => print_out(&report::render_checkstyle(&checkstyle))?,
        _ => {}
    }
    if let Some(m) = &matcher {
        let stale = m.unmatched();
        if hidden > 0 || stale > 0 {
            eprintln!(
                "nginx-gwlint: baseline: {hidden} known finding{} hidden{}",
                if hidden == 1 { "" } else { "s" },
                if stale > 0 {
                    format!("; {stale} entr{} no longer found (fixed? rewrite it with --write-baseline)", if stale == 1 { "y" } else { "ies" })
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(path) = &args.write_baseline {
        recorded.write(path)?;
        eprintln!(
            "nginx-gwlint: wrote {} finding{} to {}",
            recorded.entries.len(),
            if recorded.entries.len() == 1 { "" } else { "s" },
            path.display()
        );
        // Recording is not a gate: only unreadable or unparsable input still fails.
        if exit == EXIT_FINDINGS {
            exit = EXIT_CLEAN;
        }
    }
    Ok(exit)
}

/// `check --fix` / `--diff` on one path: fix to a fixpoint in memory, then verify, write, or
/// print the diff. The caller reports what remains. Messages about the fixing go to stderr, so
/// stdout stays the report (or the diff) alone.
fn fix_path(
    args: &CheckArgs,
    settings: &Settings,
    selection: &Selection,
    path: &std::path::Path,
) -> Result<FixOutcome, CliError> {
    let dump = if path.as_os_str() == "-" {
        let mut input = Vec::new();
        std::io::stdin()
            .read_to_end(&mut input)
            .map_err(CliError::Stdin)?;
        Some(input)
    } else {
        None
    };
    let php = php_setup(args, path);
    let options = FixOptions {
        unsafe_fixes: args.unsafe_fixes,
        ..FixOptions::default()
    };
    let outcome = fix::fix_until_stable(
        |overlay| {
            let tree = match &dump {
                Some(input) => load_dump_with(input, overlay)?,
                None => load_path_with(path, overlay)?,
            };
            let ws = Workspace::new(tree, php.clone(), args.sysroot.clone());
            let diagnostics = lint(&ws, settings, selection);
            Ok(Checked { ws, diagnostics })
        },
        &options,
    )
    .map_err(|e| match e {
        FixError::Load(e) => CliError::Load(e),
        other => CliError::Fix(other),
    })?;
    for dropped in &outcome.dropped {
        eprintln!("nginx-gwlint: warning: {dropped}");
    }
    if outcome.hit_pass_limit {
        eprintln!(
            "nginx-gwlint: warning: stopped after {} passes with fixes still to apply; run again",
            options.max_passes
        );
    }
    let tree = &outcome.checked.ws.tree;
    if tree.has_parse_errors() {
        eprintln!("nginx-gwlint: nothing fixed: the configuration does not parse");
        return Ok(outcome);
    }
    if !outcome.changes.is_empty() {
        if let Some(nginx) = &args.verify_with {
            fix::verify_with_nginx(nginx, &outcome)?;
        }
    }
    let writes = args.fix && !tree.from_dump;
    if writes {
        if !outcome.changes.is_empty() {
            fix::write_outcome(&outcome)?;
        }
    } else {
        print_out(&fix::unified_diff(&outcome.changes))?;
        if args.fix && !outcome.changes.is_empty() {
            eprintln!(
                "nginx-gwlint: note: the configuration came from an `nginx -T` dump on standard \
                 input: nothing was written; apply the diff above to the files it names"
            );
        }
    }
    eprintln!("{}", outcome.summary_line(writes));
    Ok(outcome)
}

/// The nginx version to check against: `--nginx-version`, else settings, else the installed
/// nginx's own `nginx -v`, else the newest the directive table knows.
fn set_target_version(settings: &mut Settings, args: &CheckArgs) -> Result<(), CliError> {
    use crate::settings::TargetOrigin;
    if let Some(text) = &args.nginx_version {
        settings.directives.target = text
            .parse()
            .map_err(|e| CliError::Usage(format!("--nginx-version {text}: {e}")))?;
        settings.directives.target_origin = TargetOrigin::CommandLine;
        return Ok(());
    }
    if settings.directives.target_origin != TargetOrigin::Newest {
        return Ok(());
    }
    let checked: Vec<PathBuf> = args.paths.iter().chain(&args.sysroot).cloned().collect();
    if let Some(binary) = crate::settings::installed_nginx(&checked) {
        if let Some(v) = crate::settings::detect_nginx_version(&binary) {
            settings.directives.target = v;
            settings.directives.target_origin = TargetOrigin::Detected(binary);
        }
    }
    Ok(())
}

/// The PHP files to read for one nginx tree: `--php`, else the usual places under `--sysroot`,
/// else the system's when the tree is the live /etc/nginx (or an `nginx -T` dump of it).
fn php_setup(args: &CheckArgs, nginx_path: &std::path::Path) -> PhpSetup {
    let root = args.sysroot.as_deref();
    if !args.php.is_empty() {
        return backends::discover_with_root(&args.php, root);
    }
    if let Some(root) = root {
        return backends::discover_with_root(&backends::system_paths(root), Some(root));
    }
    let live = nginx_path.as_os_str() == "-"
        || std::fs::canonicalize(nginx_path).is_ok_and(|p| p.starts_with("/etc/nginx"));
    if live {
        return backends::discover(&backends::system_paths(std::path::Path::new("/")));
    }
    PhpSetup::default()
}

fn exit_code(tree: &ConfigTree, diagnostics: &[Diagnostic], args: &CheckArgs) -> u8 {
    let unreadable = tree.problems.iter().any(|p| {
        matches!(
            p.kind,
            crate::config::LoadProblemKind::IncludeUnreadable { .. }
        )
    });
    if tree.has_parse_errors() || unreadable {
        return EXIT_ERROR;
    }
    let threshold = args.fail_on.threshold();
    if !args.exit_zero && diagnostics.iter().any(|d| d.severity >= threshold) {
        return EXIT_FINDINGS;
    }
    EXIT_CLEAN
}

/// `diagnose`: exit 0 without gateway incidents, 1 with some, 2 when input cannot be read.
fn diagnose(args: &DiagnoseArgs) -> Result<u8, CliError> {
    use crate::diagnose::{self as dg, IncidentScanner, ScanOptions, Since};

    let since = match &args.since {
        None => None,
        Some(text) => match text.parse::<Since>()? {
            Since::At(t) => Some(t),
            ago @ Since::Ago(_) => {
                let mut newest = None;
                for path in &args.error_log {
                    newest = newest.max(dg::newest_time(path)?);
                }
                // No timestamp at all: nothing to count back from, keep every line.
                newest.and_then(|n| ago.resolve(Some(n)))
            }
        },
    };
    let options = ScanOptions {
        since,
        ..ScanOptions::default()
    };
    let mut scanner = IncidentScanner::new(options.clone());
    for path in &args.error_log {
        scanner.read(dg::open_log(path)?, path)?;
    }
    let scan = scanner.finish();
    let fpm = if args.fpm_log.is_empty() {
        None
    } else {
        let mut all = dg::FpmReport::default();
        for path in &args.fpm_log {
            let r = dg::scan_fpm_log_path(path, &options)?;
            all.lines += r.lines;
            all.unparsed += r.unparsed;
            all.ignored += r.ignored;
            all.before_since += r.before_since;
            all.incidents.extend(r.incidents);
        }
        Some(all)
    };

    let default_root = PathBuf::from("/etc/nginx");
    let root = match &args.config_root {
        Some(p) => Some(p.clone()),
        None => default_root.is_dir().then_some(default_root),
    };
    let tree = match &root {
        Some(p) => Some(load_input(p, false)?),
        None => None,
    };
    let resolved = tree.as_ref().map(crate::config::ResolvedConfig::build);
    let mut diagnosis = dg::diagnose(scan, fpm, resolved.as_ref());
    diagnosis.since = since;
    if let Some(tree) = &tree {
        for (file, e) in &tree.parse_errors {
            let f = tree.sources.get(*file);
            let (line, col) = f.line_col(e.offset);
            diagnosis.notes.push(format!(
                "{}:{line}:{col}: {} (that file is left out of the mapping)",
                f.display, e.message
            ));
        }
    }
    let text = match args.format {
        DiagnoseFormat::Human => dg::render_human(&diagnosis),
        DiagnoseFormat::Json => {
            let mut t = serde_json::to_string_pretty(&dg::render_json(&diagnosis))
                .map_err(|e| CliError::Output(std::io::Error::other(e)))?;
            t.push('\n');
            t
        }
    };
    print_out(&text)?;
    Ok(if diagnosis.has_incidents() {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    })
}

fn parse(args: &ParseArgs) -> Result<u8, CliError> {
    let tree = load_input(&args.path, args.no_includes)?;
    let opts = parse_json::ParseJsonOptions {
        include_comments: args.include_comments,
        indent: args.indent,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = parse_json::write_parse_json(&mut out, &tree, &opts)
        .and_then(|()| out.flush().map_err(serde_json::Error::io));
    match written {
        Err(e) if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) => {}
        Err(e) => return Err(CliError::Output(std::io::Error::other(e))),
        Ok(()) => {}
    }
    Ok(if tree.has_parse_errors() {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    })
}

/// The `rules` listing.
pub fn rules_table() -> String {
    rules_doc::rules_text()
}

/// The `explain` page.
pub fn explain(meta: &rules::RuleMeta) -> String {
    rules_doc::explain_page(meta)
}
