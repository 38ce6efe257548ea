//! Command-line interface: clap types and dispatch. Only this module and main.rs print.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::backends::compose::ComposeProject;
use crate::backends::{self, PhpSetup};
use crate::baseline::{self, Baseline, BaselineError};
use crate::config::{load_dump, load_dump_with, load_path, ConfigTree, LoadError};
use crate::diagnostic::{Diagnostic, Severity};
use crate::fix::{self, Checked, FixError, FixOptions, FixOutcome};
use crate::lint::Selection;
use crate::report::{self, parse_json, rules_doc};
use crate::rules;
use crate::settings::{Settings, SettingsError};
use crate::workspace::Workspace;

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
    Check(Box<CheckArgs>),
    /// Explain an incident from nginx's error.log: cause, config line, fix.
    Diagnose(DiagnoseArgs),
    /// Print the syntax tree as JSON in crossplane's shape.
    Parse(ParseArgs),
    /// List every rule: id, name, default severity, fix.
    Rules(RulesArgs),
    /// Print the full documentation of a rule (or of every rule with --all).
    Explain {
        /// Rule id (GW101) or name (timeout-wrong-module).
        #[arg(required_unless_present = "all")]
        rule: Option<String>,
        /// Every rule's page, in id order.
        #[arg(long, conflicts_with = "rule")]
        all: bool,
    },
    /// Run the language server (LSP over standard input and output) for editors: findings,
    /// fixes, hover and go to definition as you type. See docs/editors.md.
    Server(ServerArgs),
    /// Print a shell completion script: `nginx-gwlint completions bash > /etc/bash_completion.d/nginx-gwlint`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): `nginx-gwlint man check > nginx-gwlint-check.1`, or write every
    /// page with `--dir /usr/local/share/man/man1`.
    Man {
        /// The subcommand whose page to print (default: the overview, nginx-gwlint(1)).
        command: Option<String>,
        /// Write nginx-gwlint.1 and nginx-gwlint-COMMAND.1 for every subcommand into DIR.
        #[arg(long, value_name = "DIR", conflicts_with = "command")]
        dir: Option<PathBuf>,
    },
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
    /// GitLab Code Quality JSON (the merge-request widget).
    Gitlab,
    /// JUnit XML (test-result views of Jenkins, GitLab, Azure Pipelines, ...).
    Junit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set (FORCE_COLOR or CLICOLOR_FORCE force it on).
    Auto,
    Always,
    Never,
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
    /// Every rule's default severity and options, as `nginx-gwlint.toml` takes them (the
    /// repository's rules.toml).
    Toml,
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
    /// Read one configuration file's text from standard input and check it as the file NAME,
    /// with the tree around it read from disk as usual (editors: an unsaved buffer). Findings
    /// name NAME; `--diff` shows fixes to the text read; `--fix` is refused.
    #[arg(long, value_name = "NAME", conflicts_with = "dump")]
    pub stdin_filename: Option<PathBuf>,
    /// `nginx -T` outputs saved to files, one per host (a directory: every file in it, sorted):
    /// each is checked as `-` would be, in a section of its own named after the file
    /// (`web1.txt` is host `web1`; JSON adds `"host"`). Fleets in one run.
    #[arg(long, value_name = "FILE|DIR", num_args = 1..)]
    pub dump: Vec<PathBuf>,
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
    /// The Docker Compose file nginx runs in (default: compose.yaml, compose.yml,
    /// docker-compose.yaml or docker-compose.yml in the checked directory or a parent up to
    /// the repository root).
    #[arg(long, value_name = "FILE")]
    pub compose: Option<PathBuf>,
    #[command(flatten)]
    pub single: Box<SingleFileArgs>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Write the report (or the diff of --diff) to FILE instead of standard output; written
    /// atomically when the run ends.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Print the report only: no summary lines or notes on standard error.
    #[arg(short, long)]
    pub quiet: bool,
    /// Print how many findings each rule has, instead of the findings.
    #[arg(long)]
    pub statistics: bool,
    /// Colors in human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Show only findings at or above this severity (the exit code still follows --fail-on).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub min_severity: Option<FailOn>,
    /// Settings file in rules.toml format (default: nginx-gwlint.toml upward from the checked
    /// path, then upward from the current directory).
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
    /// unless it passes. Default: the installed nginx when it is the target version.
    #[arg(long, value_name = "NGINX", conflicts_with = "no_verify")]
    pub verify_with: Option<PathBuf>,
    /// With --fix or --diff: do not run `nginx -t` on the fixed copy.
    #[arg(long)]
    pub no_verify: bool,
    /// With --fix or --diff: list each fix applied (file:line, rule, title) on stderr.
    #[arg(long)]
    pub show_fixes: bool,
}

/// Where a single site file sits in nginx's configuration (`check sites-available/app.conf`).
#[derive(Debug, clap::Args)]
pub struct SingleFileArgs {
    /// nginx's configuration prefix for a single site file (default: the directory of the
    /// nginx.conf above it that includes it).
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,
    /// The context a single file's top level is checked in (default: `http` for a file of
    /// `server`/`upstream`/`map` blocks, `server` for one of `location` blocks, else `main`).
    #[arg(long, value_parser = ["main", "http", "server", "location"])]
    pub context: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ServerArgs {
    /// Settings file in rules.toml format for every tree (default: nginx-gwlint.toml upward
    /// from each tree's main file, then upward from the current directory).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The nginx version to check against (default: `nginx-version` in settings, else what the
    /// installed `nginx -v` says, else the newest version known).
    #[arg(long, value_name = "X.Y.Z")]
    pub nginx_version: Option<String>,
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
    /// php-fpm log(s), to tie resets to request_terminate_timeout kills and to children killed
    /// by a signal (SIGKILL, SIGSEGV).
    #[arg(long = "fpm-log", value_name = "FILE")]
    pub fpm_log: Vec<PathBuf>,
    /// php-fpm configuration (php-fpm.conf, pool files, or directories of them) that wrote the
    /// --fpm-log: a fastcgi upstream is tied only to the pools listening at its address, and
    /// their request_terminate_timeout is quoted. Default with --fpm-log and the live
    /// /etc/nginx: the usual places under /etc/php.
    #[arg(long, value_name = "PATH", requires = "fpm_log")]
    pub php: Vec<PathBuf>,
    /// nginx access log(s), read with the log_format the configuration declares for them
    /// (combined by default): client 502/504 counts and $upstream_response_time /
    /// $request_time against the timeout in force, per handler.
    #[arg(long = "access-log", value_name = "FILE")]
    pub access_log: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiagnoseFormat::Human)]
    pub format: DiagnoseFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagnoseFormat {
    Human,
    Json,
    /// One self-contained page (inline CSS and SVG, no script) for an incident review.
    Html,
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
    #[error(transparent)]
    Compose(#[from] crate::backends::compose::ComposeError),
    #[error(transparent)]
    Server(#[from] crate::server::ServerError),
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
        Command::Server(args) => server(&args),
        Command::Rules(args) => {
            print_out(&match args.format {
                RulesFormat::Text => rules_table(),
                RulesFormat::Json => rules_doc::rules_json(),
                RulesFormat::Markdown => rules_doc::rules_markdown(),
                RulesFormat::Toml => rules::options::defaults_toml(),
            })?;
            Ok(EXIT_CLEAN)
        }
        Command::Explain { rule, all } => {
            if all {
                let mut metas: Vec<_> = rules::all_meta().collect();
                metas.sort_by_key(|m| m.id);
                let pages: Vec<String> = metas.into_iter().map(explain).collect();
                print_out(&pages.join("\n"))?;
                return Ok(EXIT_CLEAN);
            }
            let rule = rule.unwrap_or_default();
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
        Command::Man { command, dir } => {
            if let Some(dir) = dir {
                let mut names = vec![None];
                names.extend(
                    Cli::command()
                        .get_subcommands()
                        .map(|c| Some(c.get_name().to_owned())),
                );
                for name in names {
                    let page = man_page(name.as_deref())?;
                    let file = match &name {
                        Some(n) => dir.join(format!("nginx-gwlint-{n}.1")),
                        None => dir.join("nginx-gwlint.1"),
                    };
                    std::fs::write(&file, page).map_err(|e| {
                        CliError::Output(std::io::Error::new(
                            e.kind(),
                            format!("{}: {e}", file.display()),
                        ))
                    })?;
                }
                return Ok(EXIT_CLEAN);
            }
            print_bytes(&man_page(command.as_deref())?)?;
            Ok(EXIT_CLEAN)
        }
    }
}

/// The man page of the program (`None`) or of one subcommand, with EXIT STATUS and ENVIRONMENT
/// sections after clap_mangen's.
fn man_page(command: Option<&str>) -> Result<Vec<u8>, CliError> {
    let root = Cli::command();
    let (cmd, title) = match command {
        None => (root, "nginx-gwlint".to_owned()),
        Some(name) => {
            let Some(sub) = root.find_subcommand(name).cloned() else {
                return Err(CliError::Usage(format!(
                    "no subcommand `{name}` (see `nginx-gwlint --help`)"
                )));
            };
            let title = format!("nginx-gwlint-{name}");
            (
                sub.bin_name(title.clone()).display_name(title.clone()),
                title,
            )
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .title(title)
        .render(&mut out)
        .map_err(CliError::Output)?;
    let exit = match command {
        Some("check") | None => {
            "0: nothing at or above --fail-on (or --exit-zero, or --write-baseline).\n.br\n\
             1: findings at or above --fail-on remain (with --diff: on the files as they are).\n.br\n\
             2: usage error, unreadable input, a file that does not parse, or --fix could not \
             write (nothing was written then)."
        }
        Some("diagnose") => {
            "0: the logs hold no gateway failure.\n.br\n1: they do.\n.br\n\
             2: a log or the configuration cannot be read, or a usage error."
        }
        Some("server") => {
            "0: the editor sent shutdown, then exit.\n.br\n1: exit came without shutdown.\n.br\n\
             2: a usage error, or the connection broke (a message that is not JSON-RPC)."
        }
        Some(_) => "0: success.\n.br\n2: usage error or unreadable input.",
    };
    let env = "NO_COLOR: when set and not empty, no colors (--color auto).\n.br\n\
               FORCE_COLOR, CLICOLOR_FORCE: when set (not 0), colors even when not on a terminal.\n.br\n\
               PATH: its absolute entries are searched for nginx (nginx -v gives the target \
               version; nginx -t verifies fixes); /usr/sbin and /usr/local/sbin are searched too.";
    // roff: `\-` is a hyphen that stays one (options), never a dash.
    let (exit, env) = (exit.replace('-', "\\-"), env.replace('-', "\\-"));
    out.extend_from_slice(
        format!(".SH \"EXIT STATUS\"\n{exit}\n.SH ENVIRONMENT\n{env}\n").as_bytes(),
    );
    Ok(out)
}

fn print_out(text: &str) -> Result<(), CliError> {
    print_bytes(text.as_bytes())
}

fn print_bytes(bytes: &[u8]) -> Result<(), CliError> {
    printed(std::io::stdout().lock().write_all(bytes))
}

/// A write to standard output as the command's result: a reader that stopped early (`| head`)
/// is no error.
fn printed(written: std::io::Result<()>) -> Result<(), CliError> {
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(CliError::Output),
    }
}

fn load_input(path: &std::path::Path, no_includes: bool) -> Result<ConfigTree, CliError> {
    if path.as_os_str() == "-" {
        let input = crate::config::read_bounded(std::io::stdin()).map_err(CliError::Stdin)?;
        return Ok(load_dump(&input)?);
    }
    if no_includes {
        return Ok(crate::config::load_single(path)?);
    }
    Ok(load_path(path)?)
}

/// The settings for a checked path (`--config`, else `nginx-gwlint.toml` upward from it or from
/// the current directory), with every rule option checked against its rule's options type.
fn settings_for(args: &CheckArgs, checked: &std::path::Path) -> Result<Settings, CliError> {
    let settings = match &args.config {
        Some(path) => Settings::with_file(path)?,
        None => {
            let cwd = std::env::current_dir().unwrap_or_default();
            let from_checked = (checked.as_os_str() != "-")
                .then(|| std::path::absolute(checked).ok())
                .flatten()
                .and_then(|p| Settings::discover(&p));
            match from_checked.or_else(|| Settings::discover(&cwd)) {
                Some(path) => Settings::with_file(&path)?,
                None => Settings::defaults()?,
            }
        }
    };
    rules::options::validate(&settings)?;
    Ok(settings)
}

impl CheckArgs {
    /// How the loader reads the checked trees (`--sysroot`, `--prefix`, `--context`).
    fn load_options(&self) -> crate::config::LoadOptions {
        crate::config::LoadOptions {
            sysroot: self.sysroot.clone(),
            prefix: self.single.prefix.clone(),
            context: self
                .single
                .context
                .as_deref()
                .and_then(crate::directives::Context::from_name),
        }
    }
}

fn check(args: &CheckArgs) -> Result<u8, CliError> {
    let selection = check_selection(args)?;
    let color = args.format == Format::Human && use_color(args.color, args.output_file.is_some());
    let mut sink = Sink {
        report: Vec::new(),
        file: args.output_file.clone(),
        quiet: args.quiet,
    };
    let mut exit = EXIT_CLEAN;
    let mut matcher = match &args.baseline {
        Some(path) => Some(Baseline::read(path)?.matcher()),
        None => None,
    };
    let mut recorded = Baseline::default();
    let mut documents = Documents::default();
    let mut hidden = 0;
    let inputs = checked_inputs(args)?;
    for (input, (out, ran)) in inputs.iter().zip(check_inputs(args, &selection, &inputs)) {
        if let (Some(host), Format::Human | Format::Concise) = (input.host(), args.format) {
            sink.report(format!("== host {host} ==\n").as_bytes())?;
        }
        out.replay(&mut sink)?;
        let mut outcome = ran?;
        // --diff reports on the files as they are on disk (nothing was fixed); --fix on what
        // remains after fixing; a plain check on the one lint it made. The findings are moved
        // out of the outcome, not copied (nothing reads them there after this).
        let mut diagnostics = if args.diff {
            outcome.original().into_iter().cloned().collect()
        } else {
            std::mem::take(&mut outcome.checked.diagnostics)
        };
        let shown = if args.diff {
            outcome.on_disk()
        } else {
            &outcome.checked
        };
        let tree = &shown.ws.tree;
        let mut fingerprints = baseline::fingerprints(tree, &diagnostics);
        if let Some(m) = &mut matcher {
            hidden += m.hide(tree, &mut diagnostics, &mut fingerprints);
        }
        if args.write_baseline.is_some() {
            recorded.extend(tree, &diagnostics, &fingerprints);
        }
        let code = exit_code(tree, &diagnostics, args);
        if let Some(min) = args.min_severity {
            let keep: Vec<bool> = diagnostics
                .iter()
                .map(|d| d.severity >= min.threshold())
                .collect();
            let mut k = keep.iter();
            diagnostics.retain(|_| k.next().copied().unwrap_or(true));
            let mut k = keep.iter();
            fingerprints.retain(|_| k.next().copied().unwrap_or(true));
        }
        // --diff (and --fix on an `nginx -T` dump) printed the diff: the output stays the diff.
        let diff_printed = args.diff || (args.fix && tree.from_dump);
        let shown = Shown {
            tree,
            diagnostics: &diagnostics,
            fingerprints: &fingerprints,
            host: input.host(),
        };
        documents.render(args, &shown, color, (!diff_printed).then_some(&mut sink))?;
        exit = exit.max(code);
        // The process ends after this command: freeing every syntax tree and source copy one
        // allocation at a time was ~6% of a run (the OS takes the memory back at once). The
        // other inputs' results are already held by `check_inputs`, so peak memory is the same.
        std::mem::forget(outcome);
    }
    if !args.statistics && !args.diff {
        documents.finish(args.format, &mut sink)?;
    }
    if let Some(m) = &matcher {
        baseline_note(m, hidden, &sink);
    }
    if let Some(path) = &args.write_baseline {
        recorded.write(path)?;
        sink.note(&format!(
            "nginx-gwlint: wrote {} finding{} to {}",
            recorded.entries.len(),
            if recorded.entries.len() == 1 { "" } else { "s" },
            path.display()
        ));
        // Recording is not a gate: only unreadable or unparsable input still fails.
        if exit == EXIT_FINDINGS {
            exit = EXIT_CLEAN;
        }
    }
    sink.finish()?;
    Ok(exit)
}

/// Loads, lints (and fixes) every input, each with its own settings. Several inputs (a fleet
/// of `--dump` files, several trees) are checked in parallel, one thread per core, unless
/// `--fix` writes files on disk, where one input's writes must be seen by the next. Results come
/// back in input order, each with what its run said, so the output does not depend on timing.
fn check_inputs(
    args: &CheckArgs,
    selection: &Selection,
    inputs: &[Input],
) -> Vec<(RunOutput, Result<FixOutcome, CliError>)> {
    let one = |input: &Input| {
        let mut out = RunOutput::default();
        let ran = settings_for_run(args, selection, input.path())
            .and_then(|settings| run_check(args, &settings, selection, input, &mut out));
        (out, ran)
    };
    let writes_disk = args.fix && inputs.iter().any(|i| !matches!(i, Input::Dump { .. }));
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(inputs.len());
    if threads <= 1 || writes_disk {
        return inputs.iter().map(one).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<_> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else {
                            return done;
                        };
                        done.push((i, one(input)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| match w.join() {
                Ok(done) => done,
                // A panic in a worker is a bug: raise it here as it would have been raised
                // without threads.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// What one input's run printed: the report bytes it produced (a diff) and its notes for
/// stderr, in order, replayed into the [`Sink`] after the run.
#[derive(Default)]
struct RunOutput {
    items: Vec<RunItem>,
}

enum RunItem {
    Report(Vec<u8>),
    /// A note; `always`: shown even with --quiet (asked for explicitly, e.g. --show-fixes).
    Note {
        text: String,
        always: bool,
    },
}

impl RunOutput {
    fn report(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        self.items.push(RunItem::Report(bytes.to_vec()));
        Ok(())
    }

    fn note(&mut self, text: &str) {
        self.items.push(RunItem::Note {
            text: text.to_owned(),
            always: false,
        });
    }

    fn always_note(&mut self, text: String) {
        self.items.push(RunItem::Note { text, always: true });
    }

    fn replay(self, sink: &mut Sink) -> Result<(), CliError> {
        for item in self.items {
            match item {
                RunItem::Report(bytes) => sink.report(&bytes)?,
                RunItem::Note {
                    text,
                    always: false,
                } => sink.note(&text),
                RunItem::Note { text, always: true } => eprintln!("{text}"),
            }
        }
        Ok(())
    }
}

/// The command line's rule selection, after checking the flags that need each other.
fn check_selection(args: &CheckArgs) -> Result<Selection, CliError> {
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
    if args.stdin_filename.is_some() {
        if args.fix {
            return Err(CliError::Usage(
                "--fix with --stdin-filename: the text came from standard input, so there is no file to write; use --diff".to_owned(),
            ));
        }
        if args.paths.iter().any(|p| p.as_os_str() != "-") {
            return Err(CliError::Usage(
                "--stdin-filename checks standard input as that file: give no other paths"
                    .to_owned(),
            ));
        }
    }
    php_paths_exist(&args.php)?;
    Ok(selection)
}

/// `--php` (check and diagnose): every path given must exist.
fn php_paths_exist(paths: &[PathBuf]) -> Result<(), CliError> {
    match paths.iter().find(|p| !p.exists()) {
        Some(missing) => Err(CliError::Usage(format!(
            "--php {}: No such file or directory",
            missing.display()
        ))),
        None => Ok(()),
    }
}

/// What one checked input is.
#[derive(Clone, Debug)]
enum Input {
    /// A directory or file on disk (its tree), or `-`: an `nginx -T` dump on stdin.
    Path(PathBuf),
    /// `--stdin-filename NAME`: standard input is NAME's text, the tree around it on disk.
    StdinAs(PathBuf),
    /// `--dump FILE`: a saved `nginx -T` output of one host, read before anything is checked.
    Dump { host: String, text: Vec<u8> },
}

impl Input {
    /// The path settings are looked up from and PHP discovery keys on.
    fn path(&self) -> &std::path::Path {
        match self {
            Input::Path(p) | Input::StdinAs(p) => p,
            // A dump is another machine's /etc/nginx: settings from the current directory.
            Input::Dump { .. } => std::path::Path::new("-"),
        }
    }

    fn host(&self) -> Option<&str> {
        match self {
            Input::Dump { host, .. } => Some(host),
            _ => None,
        }
    }
}

/// The inputs to check: `--stdin-filename`, the `--dump` files, the path arguments, else
/// /etc/nginx (under `--sysroot` when given).
fn checked_inputs(args: &CheckArgs) -> Result<Vec<Input>, CliError> {
    if let Some(name) = &args.stdin_filename {
        return Ok(vec![Input::StdinAs(name.clone())]);
    }
    if !args.dump.is_empty() {
        if !args.paths.is_empty() {
            return Err(CliError::Usage(
                "--dump checks saved `nginx -T` outputs: give the trees to check in another run"
                    .to_owned(),
            ));
        }
        let mut files = Vec::new();
        for given in &args.dump {
            if given.is_dir() {
                let mut found: Vec<PathBuf> = std::fs::read_dir(given)
                    .map_err(|e| CliError::Usage(format!("--dump {}: {e}", given.display())))?
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect();
                found.sort();
                if found.is_empty() {
                    return Err(CliError::Usage(format!(
                        "--dump {}: the directory holds no files",
                        given.display()
                    )));
                }
                files.extend(found);
            } else {
                files.push(given.clone());
            }
        }
        // Every dump is read (a regular file of bounded size) before anything is printed.
        return files
            .into_iter()
            .map(|file| {
                let text = crate::config::read_config_file(&file)
                    .map_err(|e| CliError::Usage(format!("--dump {}: {e}", file.display())))?;
                let host = file.file_stem().map_or_else(
                    || file.display().to_string(),
                    |s| s.to_string_lossy().into_owned(),
                );
                Ok(Input::Dump { host, text })
            })
            .collect();
    }
    if !args.paths.is_empty() {
        return Ok(args.paths.iter().cloned().map(Input::Path).collect());
    }
    Ok(vec![Input::Path(args.sysroot.as_ref().map_or_else(
        || PathBuf::from("/etc/nginx"),
        |r| r.join("etc/nginx"),
    ))])
}

/// The settings one checked path runs with: its settings file, the target version, rules
/// `--select` names turned on whatever the file says, and `--app-config` backends.
fn settings_for_run(
    args: &CheckArgs,
    selection: &Selection,
    path: &std::path::Path,
) -> Result<Settings, CliError> {
    let mut settings = settings_for(args, path)?;
    set_target_version(&mut settings, args)?;
    for meta in rules::all_meta() {
        if selection.explicitly_selected(meta.id) {
            settings.rules.entry(meta.id).or_default().enabled = Some(true);
        }
    }
    for app in &args.app_config {
        let declared =
            backends::apps::read_app_config(app).map_err(|e| CliError::Usage(e.to_string()))?;
        settings.backends.extend(declared);
    }
    Ok(settings)
}

/// The formats that are one document for all checked paths (SARIF, checkstyle, GitLab,
/// JUnit), gathered path by path; the others print per path.
#[derive(Default)]
struct Documents {
    sarif_runs: Vec<serde_json::Value>,
    checkstyle: String,
    junit: String,
    gitlab: Vec<serde_json::Value>,
}

impl Documents {
    /// Prints one input's report to `sink` (`None`: the output is a diff, printed already),
    /// or keeps it for [`Self::finish`] in the formats that are one document for all inputs.
    fn render(
        &mut self,
        args: &CheckArgs,
        shown: &Shown<'_>,
        color: bool,
        sink: Option<&mut Sink>,
    ) -> Result<(), CliError> {
        let Shown {
            tree,
            diagnostics,
            fingerprints,
            host,
        } = *shown;
        let sources = &tree.sources;
        let text = if args.statistics {
            report::render_statistics(diagnostics)
        } else {
            match args.format {
                Format::Human => report::render_human(sources, diagnostics, color),
                Format::Concise => report::render_concise(sources, diagnostics),
                Format::Json => {
                    // Streamed: the report of many findings is not held whole in memory.
                    return match sink {
                        Some(sink) => sink.stream(|w| {
                            report::write_json_with_external(
                                w,
                                sources,
                                &tree.nginx_files,
                                &tree.machine_files,
                                diagnostics,
                                fingerprints,
                                host,
                            )
                        }),
                        None => Ok(()),
                    };
                }
                Format::Github => report::render_github(sources, diagnostics),
                Format::Sarif => {
                    self.sarif_runs
                        .push(report::sarif_run(sources, diagnostics, fingerprints));
                    String::new()
                }
                Format::Checkstyle => {
                    self.checkstyle
                        .push_str(&report::checkstyle_files(sources, diagnostics));
                    String::new()
                }
                Format::Gitlab => {
                    self.gitlab
                        .extend(report::gitlab_issues(sources, diagnostics, fingerprints));
                    String::new()
                }
                Format::Junit => {
                    self.junit.push_str(&report::junit_suites(
                        sources,
                        &tree.nginx_files,
                        diagnostics,
                    ));
                    String::new()
                }
            }
        };
        match sink {
            Some(sink) if !text.is_empty() => sink.report(text.as_bytes()),
            _ => Ok(()),
        }
    }

    /// Prints the gathered document of a one-document format.
    fn finish(self, format: Format, sink: &mut Sink) -> Result<(), CliError> {
        match format {
            Format::Sarif => sink.report(report::render_sarif(self.sarif_runs).as_bytes()),
            Format::Checkstyle => {
                sink.report(report::render_checkstyle(&self.checkstyle).as_bytes())
            }
            Format::Gitlab => sink.report(report::render_gitlab(self.gitlab).as_bytes()),
            Format::Junit => sink.report(report::render_junit(&self.junit).as_bytes()),
            _ => Ok(()),
        }
    }
}

/// What the baseline hid, and which of its entries no longer match.
fn baseline_note(matcher: &baseline::Matcher, hidden: usize, sink: &Sink) {
    let stale = matcher.unmatched();
    if hidden > 0 || stale > 0 {
        sink.note(&format!(
            "nginx-gwlint: baseline: {hidden} known finding{} hidden{}",
            if hidden == 1 { "" } else { "s" },
            if stale > 0 {
                format!(
                    "; {stale} entr{} no longer found (fixed? rewrite it with --write-baseline)",
                    if stale == 1 { "y" } else { "ies" }
                )
            } else {
                String::new()
            }
        ));
    }
}

/// One input's findings as they are shown.
#[derive(Clone, Copy)]
struct Shown<'a> {
    tree: &'a ConfigTree,
    diagnostics: &'a [Diagnostic],
    fingerprints: &'a [String],
    host: Option<&'a str>,
}

/// [`Sink::stream`]'s writer.
type Buffered<'a> = std::io::BufWriter<Box<dyn Write + 'a>>;

/// Where `check` writes: the report (or diff) to standard output, or with `-o FILE` to FILE
/// when the run ends (a temp file renamed over it); notes to standard error unless `--quiet`.
struct Sink {
    report: Vec<u8>,
    file: Option<PathBuf>,
    quiet: bool,
}

impl Sink {
    fn report(&mut self, bytes: &[u8]) -> Result<(), CliError> {
        if self.file.is_some() {
            self.report.extend_from_slice(bytes);
            return Ok(());
        }
        print_bytes(bytes)
    }

    /// [`Self::report`] for a document written piece by piece: through one buffer straight
    /// to standard output, or kept for `--output-file`. The buffer is a concrete type, so
    /// the serializer's many small writes are inlined copies.
    fn stream(
        &mut self,
        write: impl FnOnce(&mut Buffered<'_>) -> std::io::Result<()>,
    ) -> Result<(), CliError> {
        let inner: Box<dyn Write + '_> = match self.file {
            Some(_) => Box::new(&mut self.report),
            None => Box::new(std::io::stdout().lock()),
        };
        let mut out = std::io::BufWriter::with_capacity(1 << 16, inner);
        printed(write(&mut out).and_then(|()| out.flush()))
    }

    fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    fn finish(self) -> Result<(), CliError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let failed = |e: std::io::Error| {
            CliError::Output(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            ))
        };
        let (temp, mut file) = crate::temp::create_beside(path).map_err(failed)?;
        let written = file
            .write_all(&self.report)
            .and_then(|()| {
                use std::os::unix::fs::PermissionsExt;
                file.set_permissions(std::fs::Permissions::from_mode(0o644))
            })
            .and_then(|()| std::fs::rename(&temp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(failed(e));
        }
        Ok(())
    }
}

/// `--color`: auto means a terminal without NO_COLOR, and FORCE_COLOR / CLICOLOR_FORCE turn it
/// on anywhere (<https://no-color.org>, <https://force-color.org>, <https://bixense.com/clicolors/>).
fn use_color(choice: ColorChoice, to_file: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if set("NO_COLOR") {
                return false;
            }
            if set("FORCE_COLOR") || set("CLICOLOR_FORCE") {
                return true;
            }
            !to_file && std::io::stdout().is_terminal()
        }
    }
}

/// The one check pipeline: `check`, `--fix`, `--diff` and `--probe` all run here. The
/// configuration is loaded and linted through the fix engine (zero passes without
/// `--fix`/`--diff`), `--probe` findings join the lint of the files as they are; with fixes the
/// result is verified with `nginx -t` when possible, then written or printed as a diff. Messages
/// about fixing go to stderr, so stdout stays the report (or the diff) alone.
fn run_check(
    args: &CheckArgs,
    settings: &Settings,
    selection: &Selection,
    input: &Input,
    sink: &mut RunOutput,
) -> Result<FixOutcome, CliError> {
    let path = input.path();
    let fixing = args.fix || args.diff;
    let read_stdin = || crate::config::read_bounded(std::io::stdin()).map_err(CliError::Stdin);
    // `--stdin-filename NAME`: standard input is NAME's text, laid over the disk.
    let stdin_file = match input {
        Input::StdinAs(name) => Some((crate::config::lexical_absolute(name), read_stdin()?)),
        _ => None,
    };
    let stdin_dump = match input {
        Input::Path(p) if p.as_os_str() == "-" => Some(read_stdin()?),
        _ => None,
    };
    let dump: Option<&[u8]> = match input {
        Input::Dump { text, .. } => Some(text),
        _ => stdin_dump.as_deref(),
    };
    // A saved dump is another machine: its PHP is not this one's.
    let php = match input {
        Input::Dump { .. } if args.php.is_empty() && args.sysroot.is_none() => PhpSetup::default(),
        _ => php_setup(args, path),
    };
    let compose = compose_project(args, input, sink)?;
    // Fixing lints with every rule, so the engine sees any finding a fix would introduce;
    // only the selected rules' fixes are applied and their findings reported.
    let everything = Selection::default();
    let lint_selection = if fixing { &everything } else { selection };
    let mut every_rule = settings.clone();
    every_rule.selection.select = None;
    every_rule.selection.extend_select.clear();
    every_rule.selection.ignore.clear();
    let lint_settings = if fixing { &every_rule } else { settings };
    let options = FixOptions {
        unsafe_fixes: args.unsafe_fixes,
        max_passes: if fixing { fix::DEFAULT_MAX_PASSES } else { 0 },
        sysroot: args.sysroot.clone(),
        rules: fixing.then(|| {
            rules::all_meta()
                .map(|m| m.id)
                .filter(|id| selection.allows_rule(&settings.selection, *id))
                .map(|id| id.code())
                .collect()
        }),
        from_stdin: stdin_file.as_ref().map(|(name, _)| name.clone()),
    };
    let mut first = true;
    let mut outcome = fix::fix_until_stable(
        |overlay| {
            let tree = match (dump, &stdin_file) {
                (Some(input), _) => load_dump_with(input, overlay)?,
                (None, Some((name, text))) if overlay.get(name).is_none() => {
                    let mut with_stdin = overlay.clone();
                    with_stdin.insert(name.clone(), text.clone());
                    crate::config::load_path_opts(path, &with_stdin, &args.load_options())?
                }
                (None, _) => crate::config::load_path_opts(path, overlay, &args.load_options())?,
            };
            let ws = Workspace::new(tree, php.clone(), args.sysroot.clone())
                .with_compose(compose.clone());
            // The live system is probed once, with the files as they are.
            let probe = args.probe && std::mem::take(&mut first);
            let diagnostics = crate::lint::check(&ws, lint_settings, lint_selection, probe);
            Ok(Checked { ws, diagnostics })
        },
        &options,
    )
    .map_err(|e| match e {
        FixError::Load(e) => CliError::Load(e),
        other => CliError::Fix(other),
    })?;
    if !fixing {
        return Ok(outcome);
    }
    if args.probe && outcome.passes > 0 {
        let ws = &outcome.checked.ws;
        let mut again = crate::lint::check(ws, settings, selection, true);
        again.retain(|d| options.selects(d.rule));
        outcome.checked.diagnostics = again;
    }
    if let Some(source) = &settings.source {
        sink.note(&format!("nginx-gwlint: settings: {}", source.display()));
    }
    for dropped in &outcome.dropped {
        sink.note(&format!("nginx-gwlint: warning: not applied: {dropped}"));
    }
    if outcome.hit_pass_limit {
        sink.note(&format!(
            "nginx-gwlint: warning: stopped after {} passes with fixes still to apply; run again",
            options.max_passes
        ));
    }
    let tree = &outcome.checked.ws.tree;
    if tree.has_parse_errors() {
        sink.note("nginx-gwlint: nothing fixed: a file has a syntax error (GW001); mend it first");
        return Ok(outcome);
    }
    if !outcome.changes.is_empty() {
        verify(args, settings, &outcome, sink)?;
    }
    let writes = args.fix && !tree.from_dump;
    if writes {
        if !outcome.changes.is_empty() {
            fix::write_outcome(&outcome)?;
        }
    } else {
        sink.report(&fix::unified_diff(&outcome.changes))?;
        if args.fix && !outcome.changes.is_empty() {
            sink.note(
                "nginx-gwlint: note: the configuration came from an `nginx -T` dump on standard \
                 input: nothing was written; apply the diff above to the files it names",
            );
        }
    }
    if args.show_fixes {
        // Asked for explicitly: shown even with --quiet.
        let verb = if writes { "fixed" } else { "would fix" };
        for a in &outcome.applied {
            sink.always_note(format!(
                "{verb}: {}:{}: {} {}",
                a.file, a.line, a.rule, a.title
            ));
        }
    }
    sink.note(&outcome.summary_line(writes));
    Ok(outcome)
}

/// `nginx -t` on a fixed copy before anything is written or shown: with `--verify-with NGINX`
/// always; by default with the installed nginx when it is the target version (it was detected
/// from it), unless `--no-verify`. Says what ran and what nginx answered.
fn verify(
    args: &CheckArgs,
    settings: &Settings,
    outcome: &FixOutcome,
    sink: &mut RunOutput,
) -> Result<(), CliError> {
    use crate::settings::TargetOrigin;
    let nginx = match (&args.verify_with, &settings.directives.target_origin) {
        (Some(nginx), _) => nginx.clone(),
        (None, _) if args.no_verify => {
            sink.note("nginx-gwlint: not verified with `nginx -t` (--no-verify)");
            return Ok(());
        }
        (None, TargetOrigin::Detected(binary)) => binary.clone(),
        (None, _) => {
            // The target was given (--nginx-version, settings): verify with the installed
            // nginx only when it is that version.
            let installed = crate::system::installed_nginx(&args.paths);
            let version = installed
                .as_deref()
                .and_then(crate::system::detect_nginx_version);
            match installed {
                Some(binary) if version.as_ref() == Some(&settings.directives.target) => binary,
                _ => {
                    sink.note(&format!(
                        "nginx-gwlint: not verified with `nginx -t`: no installed nginx {} (give \
                         --verify-with NGINX to check with a binary of that version)",
                        settings.directives.target
                    ));
                    return Ok(());
                }
            }
        }
    };
    match fix::verify_with_nginx(&nginx, outcome) {
        Ok(fix::Verified::Passes) => {
            sink.note(&format!(
                "nginx-gwlint: verified: `{} -t` accepts the fixed configuration",
                nginx.display()
            ));
            Ok(())
        }
        Ok(fix::Verified::SameFailure(stderr)) if args.verify_with.is_some() => {
            Err(CliError::Fix(FixError::VerifySameFailure { stderr }))
        }
        Ok(fix::Verified::SameFailure(stderr)) => {
            sink.note(&format!(
                "nginx-gwlint: note: `{} -t` refuses the unfixed configuration already, with the \
                 same first error as the fixed one; nginx stops there, so what follows it is not \
                 verified:\n{stderr}",
                nginx.display()
            ));
            Ok(())
        }
        Ok(fix::Verified::Skipped(reason)) if args.verify_with.is_none() => {
            sink.note(&format!(
                "nginx-gwlint: not verified with `nginx -t`: {reason}"
            ));
            Ok(())
        }
        Ok(fix::Verified::Skipped(reason)) => {
            Err(CliError::Fix(FixError::VerifyRefused { reason }))
        }
        Err(e) => Err(CliError::Fix(e)),
    }
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
    // A copied system root is checked for its own nginx, never this machine's: the version its
    // binary holds, else the newest.
    if let Some(root) = &args.sysroot {
        if let Some((binary, build)) = crate::system::sysroot_build(root) {
            settings.directives.target = build.version;
            settings.directives.target_origin = TargetOrigin::Sysroot(binary);
        }
        return Ok(());
    }
    let checked: Vec<PathBuf> = args.paths.iter().chain(&args.sysroot).cloned().collect();
    if let Some(binary) = crate::system::installed_nginx(&checked) {
        if let Some(v) = crate::system::detect_nginx_version(&binary) {
            settings.directives.target = v;
            settings.directives.target_origin = TargetOrigin::Detected(binary);
        }
    }
    Ok(())
}

/// The PHP files to read for one nginx tree: `--php`, else the usual places under `--sysroot`,
/// else the system's when the tree is the live /etc/nginx (or an `nginx -T` dump of it).
/// The Compose project: `--compose FILE` (an error when it cannot be read), else the one found
/// beside a checked directory or file ([`ComposeProject::discover`]; one that cannot be read is
/// left out with a warning, as the check does not depend on it). A dump has none of its own.
fn compose_project(
    args: &CheckArgs,
    input: &Input,
    sink: &mut RunOutput,
) -> Result<Option<ComposeProject>, CliError> {
    if let Some(file) = &args.compose {
        return Ok(Some(ComposeProject::load(file, false)?));
    }
    let Input::Path(path) = input else {
        return Ok(None);
    };
    if path.as_os_str() == "-" {
        return Ok(None);
    }
    let Some(found) = ComposeProject::discover(path) else {
        return Ok(None);
    };
    match ComposeProject::load(&found, true) {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            sink.note(&format!(
                "nginx-gwlint: warning: {e} (compose file found beside the configuration; not used)"
            ));
            Ok(None)
        }
    }
}

/// The php-fpm configuration for `diagnose`: `--php` (each path must exist), else the
/// system's when the configuration is the live /etc/nginx.
fn diagnose_php(args: &DiagnoseArgs, root: Option<&std::path::Path>) -> Result<PhpSetup, CliError> {
    php_paths_exist(&args.php)?;
    if !args.php.is_empty() {
        return Ok(backends::discover_copy(&args.php));
    }
    let live =
        root.is_some_and(|r| std::fs::canonicalize(r).is_ok_and(|p| p.starts_with("/etc/nginx")));
    Ok(if live {
        backends::discover(&backends::system_paths(std::path::Path::new("/")))
    } else {
        PhpSetup::default()
    })
}

fn php_setup(args: &CheckArgs, nginx_path: &std::path::Path) -> PhpSetup {
    let root = args.sysroot.as_deref();
    if !args.php.is_empty() {
        return match root {
            Some(root) => backends::discover_with_root(&args.php, Some(root)),
            None => backends::discover_copy(&args.php),
        };
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

/// `server`: the language server, until the editor says `exit`.
fn server(args: &ServerArgs) -> Result<u8, CliError> {
    let nginx_version = match &args.nginx_version {
        Some(text) => Some(
            text.parse()
                .map_err(|e| CliError::Usage(format!("--nginx-version {text}: {e}")))?,
        ),
        None => None,
    };
    if let Some(path) = &args.config {
        Settings::with_file(path)?;
    }
    let options = crate::server::Options {
        config: args.config.clone(),
        nginx_version,
    };
    Ok(crate::server::run(options)?)
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
    let options = ScanOptions {
        since,
        retry_window_secs: resolved
            .as_ref()
            .map_or(dg::DEFAULT_RETRY_WINDOW_SECS, dg::retry_window_secs),
        ..ScanOptions::default()
    };
    let mut notes = Vec::new();
    let mut scanner = IncidentScanner::new(options.clone());
    let logs = dg::distinct_files(&args.error_log, &mut notes);
    for path in &logs {
        scanner.read(dg::open_log(path)?, path)?;
    }
    // A dump names the files of the machine it came from: their times here mean nothing.
    if let (Some(cfg), false) = (
        &resolved,
        root.as_deref() == Some(std::path::Path::new("-")),
    ) {
        notes.extend(dg::config_newer_than_logs(cfg, &logs));
    }
    let scan = scanner.finish();
    let fpm = if args.fpm_log.is_empty() {
        None
    } else {
        let mut all = dg::FpmReport::default();
        for path in dg::distinct_files(&args.fpm_log, &mut notes) {
            let r = dg::scan_fpm_log_path(path, &options)?;
            all.lines += r.lines;
            all.unparsed += r.unparsed;
            all.ignored += r.ignored;
            all.before_since += r.before_since;
            all.incidents.extend(r.incidents);
        }
        let php = diagnose_php(args, root.as_deref())?;
        // What could not be read of the files given is said: a pool left out ties nothing.
        if !args.php.is_empty() {
            for p in php.all_problems() {
                let at = match p.line {
                    0 => p.file.display().to_string(),
                    n => format!("{}:{n}", p.file.display()),
                };
                notes.push(format!("php-fpm configuration: {at}: {}", p.message));
            }
        }
        all.pools = dg::FpmPool::of(&php);
        Some(all)
    };

    // One map for both logs; the access log first: its sockets pick among server blocks
    // that share a name.
    let map = resolved.as_ref().map(dg::ConfigMap::new);
    let access = if args.access_log.is_empty() {
        None
    } else {
        let mut access = dg::AccessScanner::new(map.as_ref(), since);
        for path in dg::distinct_files(&args.access_log, &mut notes) {
            let choice = dg::choose_format(resolved.as_ref(), path);
            access.read(dg::open_log(path)?, path, choice)?;
        }
        Some(access.finish())
    };
    let mut diagnosis = dg::diagnose_with(scan, fpm, map.as_ref(), access);
    diagnosis.notes.extend(notes);
    diagnosis.since = since;
    if let Some(tree) = &tree {
        for (file, e) in tree.first_parse_errors() {
            let f = tree.sources.get(*file);
            let (line, col) = f.line_col(e.offset);
            diagnosis.notes.push(format!(
                "{}:{line}:{col}: {} (nginx refuses this configuration; the mapping reads that \
                 file past the error)",
                f.display, e.message
            ));
        }
    }
    // Human and JSON are streamed: a few groups' text in memory at a time.
    let stdout = std::io::stdout().lock();
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, stdout);
    let written = match args.format {
        DiagnoseFormat::Human => dg::write_human(&diagnosis, &mut w),
        DiagnoseFormat::Html => dg::write_html(&diagnosis, &mut w),
        DiagnoseFormat::Json => dg::write_json(&diagnosis, &mut w),
    };
    match written.and_then(|()| w.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.map_err(CliError::Output)?,
    }
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
