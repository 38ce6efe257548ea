//! A whole nginx configuration: the entry file, every file it includes (globs, cycles), or the
//! files of an `nginx -T` dump, each read and parsed once.
//!
//! [`load_path`] and [`load_dump`] give a [`ConfigTree`] (files, syntax trees, include edges,
//! load problems); [`ResolvedConfig`] then expands the includes in the context where each is
//! written, which is the view every rule works on.

mod dump;
mod fs;
mod inherit;
mod loader;
mod resolved;

use foldhash::HashMap;
use std::path::PathBuf;

pub use dump::{split_dump, DumpedFile};
pub use fs::{
    is_glob, read_bounded, read_config_file, Disk, Dump, FileSource, GlobMatch, Layered, Overlay,
    Sysroot, UnlistableDir, MAX_FILE_SIZE, MAX_SYMLINKS,
};
pub use inherit::{
    EffectiveTime, Family, NamedAddress, Pass, Scoped, ScopedArray, DEFAULT_PROXY_HTTP_VERSION,
    DEFAULT_TIMEOUT_MS,
};
pub use loader::{
    find_main_file, lexical_absolute, load_dump, load_dump_with, load_path, load_path_cached,
    load_path_opts, load_path_with, load_single, LoadError, LoadOptions, ParseCache,
};
pub(crate) use loader::{parse_config, reroot_candidates};
pub use resolved::{NodeId, RNode, ResolvedConfig, MAX_RESOLVED_NODES};

use crate::directives::Context;
use crate::source::{FileId, SourceMap};
use crate::syntax::{Ast, ParseError, Span};

/// Ends the `reason` of an [`LoadProblemKind::IncludeUnreadable`] for a directory an include
/// glob had to list and could not (nginx, run as root, would read it; this check cannot).
pub const UNLISTABLE_SUFFIX: &str = "; the directory cannot be listed";

/// Something wrong with how files fit together (not with one file's syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadProblemKind {
    /// A plain include path that does not exist (a glob matching nothing is fine in nginx).
    IncludeNotFound { path: String },
    /// A file the nginx package installs (mime.types, fastcgi_params) missing from a checked
    /// copy of a tree, and not installed on this machine either.
    StockIncludeMissing { path: String },
    /// An absolute include outside a checked copy of a tree, with nothing at the same place
    /// inside the copy: not read (this machine's files there belong to another setup).
    OutsideTree { path: String },
    /// The include target exists but cannot be read.
    IncludeUnreadable { path: String, reason: String },
    /// The file includes itself through `chain` (display paths, first = last).
    IncludeCycle { chain: Vec<String> },
    /// The config expands to more nodes than [`MAX_RESOLVED_NODES`].
    TooLarge,
    /// A file the nginx package installs, missing from the checked copy, read from this
    /// machine's package instead (`path`: the file read). The verdict then depends on this
    /// machine: said as info.
    ReadFromMachine { path: String },
    /// A relative include of a single site file whose nginx.conf (and so nginx's prefix) was not
    /// found: the file may exist under the real prefix. Not read.
    PrefixUnknown { path: String },
}

impl LoadProblemKind {
    /// True when the include names a file that was not read, so what it sets is unknown:
    /// missing, unreadable, outside a checked copy, or under an unknown prefix.
    pub fn leaves_unread(&self) -> bool {
        matches!(
            self,
            LoadProblemKind::IncludeNotFound { .. }
                | LoadProblemKind::StockIncludeMissing { .. }
                | LoadProblemKind::OutsideTree { .. }
                | LoadProblemKind::IncludeUnreadable { .. }
                | LoadProblemKind::PrefixUnknown { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// The file and span of the `include` directive (or the file start).
    pub file: FileId,
    pub span: Span,
    pub kind: LoadProblemKind,
}

/// The loaded files of one configuration.
#[derive(Debug, Default)]
pub struct ConfigTree {
    pub sources: SourceMap,
    /// The entry file (nginx.conf, or the first file of a dump).
    pub root: FileId,
    /// nginx's configuration prefix: relative includes are resolved against it.
    pub prefix: PathBuf,
    /// nginx config files in the order they were read (php files are in `sources` too, later).
    pub nginx_files: Vec<FileId>,
    /// Shared with a [`ParseCache`] when one was given, so a re-load does not copy them.
    asts: HashMap<FileId, std::sync::Arc<Ast>>,
    /// Every syntax error, in file order per file (a file's first is the one nginx reports).
    /// The files are still in `asts`, as read past the errors ([`crate::syntax::parse_recovering`]).
    pub parse_errors: Vec<(FileId, ParseError)>,
    /// Files part of whose text could not be read as directives at all (an unterminated quote,
    /// a token past nginx's buffer, a binary file): what they would set is unknown.
    pub incomplete: Vec<FileId>,
    /// Targets of each include directive, keyed by (file, start of the directive's span).
    pub includes: HashMap<(FileId, usize), Vec<FileId>>,
    pub problems: Vec<LoadProblem>,
    /// The tree came from an `nginx -T` dump on stdin: nothing can be written back.
    pub from_dump: bool,
    /// Files read from this machine's nginx package because the checked copy lacks them.
    pub machine_files: Vec<FileId>,
    /// (file, start of the include directive) of every include that names a file not read.
    unread: std::sync::OnceLock<foldhash::HashSet<(FileId, usize)>>,
    /// The context of the entry file's top level: `main` for nginx.conf, `http` or `server` for
    /// a single site file checked on its own.
    pub root_context: Context,
    /// The entry file is a snippet checked on its own (no nginx.conf, and no `events`/`http`/
    /// `stream`/`mail` block at its top, or nothing but `http`/`stream`/`mail` blocks there),
    /// whatever its context.
    pub entry_is_snippet: bool,
}

impl ConfigTree {
    pub fn ast(&self, file: FileId) -> Option<&Ast> {
        self.asts.get(&file).map(|a| &**a)
    }

    pub fn include_targets(&self, file: FileId, directive: Span) -> &[FileId] {
        self.includes
            .get(&(file, directive.start()))
            .map_or(&[], Vec::as_slice)
    }

    /// Registers a non-nginx file (php.ini, a php-fpm pool) so diagnostics can point into it.
    /// Returns the existing id when the file is already known.
    pub fn add_external_file(&mut self, path: &std::path::Path) -> Option<FileId> {
        if let Some(id) = self.sources.find(path) {
            return Some(id);
        }
        let text = read_config_file(path).ok()?;
        let display = path.display().to_string();
        Some(self.sources.add(crate::source::SourceFile::new(
            path.to_path_buf(),
            display,
            text,
        )))
    }

    /// True when the include directive at `directive` (in `file`) names a file that was not
    /// read ([`LoadProblemKind::leaves_unread`]): what it would set is unknown.
    pub fn include_unread(&self, file: FileId, directive: Span) -> bool {
        self.unread
            .get_or_init(|| {
                self.problems
                    .iter()
                    .filter(|p| p.kind.leaves_unread())
                    .map(|p| (p.file, p.span.start()))
                    .collect()
            })
            .contains(&(file, directive.start()))
    }

    /// True when any nginx file has a syntax error: nginx refuses the configuration, and fixes
    /// and probes do not run.
    pub fn has_parse_errors(&self) -> bool {
        !self.parse_errors.is_empty()
    }

    /// True when every file was read to its end as directives, syntax errors or not: the rules
    /// can run on the tree. False when a file was cut short ([`Self::incomplete`]).
    pub fn fully_read(&self) -> bool {
        self.incomplete.is_empty()
    }

    /// The first syntax error of each file that has one: what nginx (or crossplane) reports.
    pub fn first_parse_errors(&self) -> impl Iterator<Item = &(FileId, ParseError)> {
        let mut seen = foldhash::HashSet::default();
        self.parse_errors
            .iter()
            .filter(move |(f, _)| seen.insert(*f))
    }
}

/// One configuration with a handler of each kind: an upstream, a literal address, two handlers
/// in one location, none, one inside `if`, and one without an argument (the unit tests of the
/// pass cache and of the rules' facts).
#[cfg(test)]
pub(crate) const HANDLERS_CONF: &str = "events {}\nhttp {\n    upstream app { server 127.0.0.1:3000; }\n    server {\n        listen 80;\n        location / { proxy_pass http://app; }\n        location /api { proxy_pass http://127.0.0.1:4000/; fastcgi_pass unix:/run/php/php8.2-fpm.sock; }\n        location /none { root /srv; }\n        location /if { if ($arg_x) { grpc_pass grpc://127.0.0.1:50051; } }\n        location /empty { proxy_pass; }\n    }\n}\n";

/// A tree from configuration text, as `nginx -T` would show it at /etc/nginx/nginx.conf (unit
/// tests of the modules that work on trees).
#[cfg(test)]
pub(crate) fn test_tree(conf: &str) -> ConfigTree {
    let dump = format!("# configuration file /etc/nginx/nginx.conf:\n{conf}\n");
    load_dump(dump.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}
