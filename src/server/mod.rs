//! `nginx-gwlint server`: the language server. Diagnostics for every file of the tree an open
//! document belongs to, code actions (each rule's fix, "ignore this finding", "fix all safe in
//! file"), hover (directive knowledge, effective values, rule pages), go to definition
//! (includes, upstreams, named locations, variables) and directive-name completion.
//!
//! Everything goes through the pipeline `check` uses: an open document is an entry of a
//! [`Overlay`] (as for `--stdin-filename`), the tree is loaded with it and linted by
//! [`lint::check`]; the fix engine plans "fix all" on the same overlay. The server never probes
//! the live system and never writes a file: edits go back to the editor.
//!
//! [`Session`] holds the state and turns each incoming message into outgoing ones, so the
//! protocol logic runs the same over stdio ([`run`]), in the re-lint benchmark and in tests.

mod actions;
mod completion;
mod definition;
mod diagnostics;
mod documents;
mod hover;
mod locate;
mod position;
mod transport;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    InitializeParams, InitializeResult, PositionEncodingKind, ServerCapabilities, ServerInfo,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions, Url,
};
use serde_json::Value;

use crate::backends::{self, PhpSetup};
use crate::config::{self, LoadOptions, Overlay};
use crate::directives::Version;
use crate::fix::Checked;
use crate::lint::{self, Selection};
use crate::rules;
use crate::settings::{Settings, TargetOrigin};
use crate::workspace::Workspace;

pub use documents::DocumentError;
pub use position::Encoding;

/// What the command line gives the server.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--config FILE`: the settings file for every tree (else `nginx-gwlint.toml` found
    /// upward from each tree's entry file, then from the current directory).
    pub config: Option<PathBuf>,
    /// `--nginx-version`: the target version (else settings, else the installed `nginx -v`).
    pub nginx_version: Option<Version>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("language server connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("language server connection closed before `exit`")]
    Disconnected,
}

/// Serves LSP over standard input and output until `exit`. Returns the process exit code: 0
/// after `shutdown` then `exit`, 1 for an `exit` without `shutdown` (as the protocol says).
pub fn run(options: Options) -> Result<u8, ServerError> {
    let stdio = transport::Stdio::start()?;
    let code = serve(&stdio, options);
    stdio.finish()?;
    code
}

fn serve(stdio: &transport::Stdio, options: Options) -> Result<u8, ServerError> {
    let mut session = Session::new(options);
    let send = |frame: std::io::Result<Vec<u8>>| -> Result<(), ServerError> {
        stdio
            .outgoing
            .send(frame?)
            .map_err(|_| ServerError::Disconnected)
    };
    loop {
        let Ok(first) = stdio.incoming.recv() else {
            return Err(ServerError::Disconnected);
        };
        let mut flow = session.receive(first);
        // Keystrokes arrive faster than a tree is linted, and the reader keeps reading while
        // it is: take every message already waiting before linting, so one lint covers them
        // all and only the latest text is linted.
        while flow.is_none() {
            match stdio.incoming.try_recv() {
                Ok(next) => flow = session.receive(next),
                Err(_) => break,
            }
        }
        if flow.is_none() {
            session.flush();
        }
        for out in session.take_outgoing_frames() {
            send(out)?;
        }
        if let Some(code) = flow {
            return Ok(code);
        }
    }
}

/// A JSON-RPC error answer.
#[derive(Debug)]
pub(crate) struct Failure {
    code: i32,
    message: String,
}

impl Failure {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code as i32,
            message: message.into(),
        }
    }

    fn invalid_params(message: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::InvalidParams, message.to_string())
    }

    fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::RequestFailed, message)
    }
}

impl From<DocumentError> for Failure {
    fn from(e: DocumentError) -> Self {
        Failure::invalid_params(e)
    }
}

/// One linted tree: its entry file, the settings it ran with, the lint, and the diagnostics
/// last published per file (a file whose diagnostics did not change is not sent again; one
/// that no longer has any is cleared).
pub(crate) struct Tree {
    pub entry: PathBuf,
    pub settings: Settings,
    pub checked: Checked,
    published: BTreeMap<Url, Vec<lsp_types::Diagnostic>>,
}

/// Where the last lint's time went (the benchmark reports it).
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Loading the tree: reading, and parsing the files whose text changed.
    pub load: std::time::Duration,
    /// [`lint::check`]: the expansion and every rule.
    pub check: std::time::Duration,
    /// Diagnostics converted, compared with the last published, and queued.
    pub publish: std::time::Duration,
    /// Files parsed, and files whose previous parse was reused.
    pub parsed: usize,
    pub reused: usize,
    /// Files whose diagnostics were sent.
    pub published: usize,
}

/// Where the session is in the protocol's life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Uninitialized,
    Running,
    ShutDown,
}

/// The server's state; see the module doc.
pub struct Session {
    options: Options,
    phase: Phase,
    encoding: Encoding,
    docs: documents::Documents,
    /// The entry file of the tree each open document is linted in.
    entries: BTreeMap<PathBuf, PathBuf>,
    /// Linted trees by entry file.
    trees: BTreeMap<PathBuf, Tree>,
    /// Documents changed since the last lint.
    pending: BTreeSet<PathBuf>,
    /// Found once: the installed nginx's version, the system's PHP setup.
    detected_version: Option<Option<(Version, PathBuf)>>,
    system_php: Option<PhpSetup>,
    /// Per tree: the settings it is checked with (read again after a save or a watched file's
    /// change, never on a keystroke) and the parses of its last load.
    settings: BTreeMap<PathBuf, Settings>,
    parses: BTreeMap<PathBuf, config::ParseCache>,
    /// `initializationOptions.rulePageUrl`: where a rule's page is, `{code}` standing for its id.
    rule_page_url: Option<String>,
    /// Trees that must be linted again even when no open document's text changed: a document
    /// was saved or closed (read from the disk now), or a watched file changed.
    stale: BTreeSet<PathBuf>,
    /// The client registers file watchers for the server (`workspace/didChangeWatchedFiles`).
    can_watch: bool,
    timings: Timings,
    outgoing: Vec<Message>,
    /// Framed answers to invalid frames, and the messages queued before them.
    outgoing_frames: Vec<std::io::Result<Vec<u8>>>,
}

impl Session {
    pub fn new(options: Options) -> Self {
        Self {
            options,
            phase: Phase::Uninitialized,
            encoding: Encoding::Utf16,
            docs: documents::Documents::default(),
            entries: BTreeMap::new(),
            trees: BTreeMap::new(),
            pending: BTreeSet::new(),
            detected_version: None,
            system_php: None,
            settings: BTreeMap::new(),
            parses: BTreeMap::new(),
            rule_page_url: None,
            stale: BTreeSet::new(),
            can_watch: false,
            timings: Timings::default(),
            outgoing: Vec::new(),
            outgoing_frames: Vec::new(),
        }
    }

    /// Where the last lint's time went.
    pub fn timings(&self) -> Timings {
        self.timings
    }

    /// The messages to send, in order.
    pub fn take_outgoing(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.outgoing)
    }

    /// Every outgoing message and error answer, framed, in order.
    fn take_outgoing_frames(&mut self) -> Vec<std::io::Result<Vec<u8>>> {
        std::mem::take(&mut self.outgoing_frames)
            .into_iter()
            .chain(self.take_outgoing().iter().map(transport::frame))
            .collect()
    }

    /// A frame from the transport: a message, or a JSON-RPC error to answer (`-32700` for a
    /// body that is not JSON, `-32600` for JSON that is no message) before serving on.
    fn receive(&mut self, incoming: transport::Incoming) -> Option<u8> {
        match incoming {
            transport::Incoming::Message(message) => self.handle(message),
            transport::Incoming::Invalid { id, code, message } => {
                // Answered in order with what came before it.
                let before: Vec<_> = self.take_outgoing().iter().map(transport::frame).collect();
                self.outgoing_frames.extend(before);
                self.outgoing_frames
                    .push(transport::error_frame(id.as_ref(), code, &message));
                None
            }
        }
    }

    /// Handles one message; `Some(code)` when the server must exit with that code.
    pub fn handle(&mut self, message: Message) -> Option<u8> {
        match message {
            Message::Request(req) => {
                self.request(req);
                None
            }
            Message::Notification(n) => self.notification(n),
            // The server sends no requests, so no response is expected.
            Message::Response(_) => None,
        }
    }

    fn respond(&mut self, id: RequestId, result: Result<Value, Failure>) {
        let response = match result {
            Ok(value) => Response::new_ok(id, value),
            Err(f) => Response::new_err(id, f.code, f.message),
        };
        self.outgoing.push(response.into());
    }

    fn notify(&mut self, method: &str, params: impl serde::Serialize) {
        self.outgoing
            .push(Notification::new(method.to_owned(), params).into());
    }

    fn show_error(&mut self, message: String) {
        self.notify(
            "window/showMessage",
            lsp_types::ShowMessageParams {
                typ: lsp_types::MessageType::ERROR,
                message,
            },
        );
    }

    fn request(&mut self, req: Request) {
        let Request { id, method, params } = req;
        let result = match (self.phase, method.as_str()) {
            (Phase::Uninitialized, "initialize") => self.initialize(params),
            (Phase::Uninitialized, _) => Err(Failure::new(
                ErrorCode::ServerNotInitialized,
                format!("`{method}` before `initialize`"),
            )),
            (_, "initialize") => Err(Failure::new(
                ErrorCode::InvalidRequest,
                "`initialize` was already received",
            )),
            (Phase::ShutDown, _) => Err(Failure::new(
                ErrorCode::InvalidRequest,
                format!("`{method}` after `shutdown`"),
            )),
            (Phase::Running, "shutdown") => {
                self.phase = Phase::ShutDown;
                Ok(Value::Null)
            }
            (Phase::Running, _) => {
                // Answers describe the texts as they are now.
                self.flush();
                self.feature(&method, params)
            }
        };
        self.respond(id, result);
    }

    fn feature(&mut self, method: &str, params: Value) -> Result<Value, Failure> {
        fn parse<P: serde::de::DeserializeOwned>(params: Value) -> Result<P, Failure> {
            serde_json::from_value(params).map_err(Failure::invalid_params)
        }
        fn to_json<T: serde::Serialize>(v: Result<T, Failure>) -> Result<Value, Failure> {
            v.and_then(|v| serde_json::to_value(v).map_err(|e| Failure::failed(e.to_string())))
        }
        match method {
            "textDocument/codeAction" => to_json(actions::code_actions(self, parse(params)?)),
            "textDocument/hover" => to_json(hover::hover(self, parse(params)?)),
            "textDocument/definition" => to_json(definition::definition(self, parse(params)?)),
            "textDocument/completion" => to_json(completion::completion(self, parse(params)?)),
            _ => Err(Failure::new(
                ErrorCode::MethodNotFound,
                format!("unknown method `{method}`"),
            )),
        }
    }

    fn initialize(&mut self, params: Value) -> Result<Value, Failure> {
        let params: InitializeParams =
            serde_json::from_value(params).map_err(Failure::invalid_params)?;
        let offers_utf8 = params
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.as_ref())
            .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
        self.can_watch = params
            .capabilities
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        let rule_page_url = params
            .initialization_options
            .as_ref()
            .and_then(|o| o.get("rulePageUrl"));
        match rule_page_url.map(rule_page_template).transpose() {
            Ok(url) => self.rule_page_url = url,
            Err(message) => self.notify(
                "window/showMessage",
                lsp_types::ShowMessageParams {
                    typ: lsp_types::MessageType::WARNING,
                    message: format!("nginx-gwlint: initializationOptions.rulePageUrl: {message}"),
                },
            ),
        }
        self.encoding = if offers_utf8 {
            Encoding::Utf8
        } else {
            Encoding::Utf16
        };
        self.phase = Phase::Running;
        let result = InitializeResult {
            capabilities: capabilities(self.encoding),
            server_info: Some(ServerInfo {
                name: "nginx-gwlint".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
        };
        serde_json::to_value(result).map_err(|e| Failure::failed(e.to_string()))
    }

    fn notification(&mut self, n: Notification) -> Option<u8> {
        if n.method == "exit" {
            return Some(if self.phase == Phase::ShutDown { 0 } else { 1 });
        }
        if self.phase != Phase::Running {
            return None;
        }
        // Notifications get no answer: a malformed one is reported in the editor's log window.
        if let Err(message) = self.document_event(&n.method, n.params) {
            self.notify(
                "window/logMessage",
                lsp_types::LogMessageParams {
                    typ: lsp_types::MessageType::WARNING,
                    message: format!("nginx-gwlint: {}: {message}", n.method),
                },
            );
        }
        None
    }

    fn document_event(&mut self, method: &str, params: Value) -> Result<(), String> {
        use lsp_types::{
            DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
            DidSaveTextDocumentParams,
        };
        fn parse<P: serde::de::DeserializeOwned>(params: Value) -> Result<P, String> {
            serde_json::from_value(params).map_err(|e| e.to_string())
        }
        match method {
            "textDocument/didOpen" => {
                let p: DidOpenTextDocumentParams = parse(params)?;
                let doc = p.text_document;
                let path = self
                    .docs
                    .open(doc.uri, doc.version, doc.text)
                    .map_err(|e| e.to_string())?;
                self.pending.insert(path);
            }
            "textDocument/didChange" => {
                let p: DidChangeTextDocumentParams = parse(params)?;
                let path = self
                    .docs
                    .change(
                        &p.text_document.uri,
                        p.text_document.version,
                        p.content_changes,
                        self.encoding,
                    )
                    .map_err(|e| e.to_string())?;
                self.pending.insert(path);
            }
            "textDocument/didSave" => {
                let p: DidSaveTextDocumentParams = parse(params)?;
                let path = documents::path_of(&p.text_document.uri).map_err(|e| e.to_string())?;
                // Saving may change which files include which (a new file a glob matches):
                // find every tree again, with its settings.
                self.disk_changed();
                self.pending.insert(path);
            }
            "workspace/didChangeWatchedFiles" => {
                // A file changed outside the editor (a checkout, a settings file): every open
                // document's tree is found and linted again.
                self.disk_changed();
                self.pending
                    .extend(self.docs.paths().map(Path::to_path_buf).collect::<Vec<_>>());
            }
            "initialized" => self.watch_files(),
            "textDocument/didClose" => {
                let p: DidCloseTextDocumentParams = parse(params)?;
                let uri = p.text_document.uri;
                let path = documents::path_of(&uri).map_err(|e| e.to_string())?;
                self.docs.close(&uri).map_err(|e| e.to_string())?;
                self.pending.remove(&path);
                if let Some(entry) = self.entries.remove(&path) {
                    self.stale.insert(entry.clone());
                    let still_used = self.entries.values().any(|e| *e == entry);
                    if still_used {
                        // The tree is linted again with the file as it is on disk.
                        if let Some(other) = self
                            .entries
                            .iter()
                            .find(|(_, e)| **e == entry)
                            .map(|(d, _)| d.clone())
                        {
                            self.pending.insert(other);
                        }
                    } else {
                        self.drop_tree(&entry);
                    }
                }
            }
            // Other notifications ($/cancelRequest, initialized, workspace/...) need nothing.
            _ => {}
        }
        Ok(())
    }

    /// What the disk holds may have changed: trees are found again, settings read again, and
    /// no tree is taken as unchanged.
    fn disk_changed(&mut self) {
        self.entries.clear();
        self.settings.clear();
        for cache in self.parses.values_mut() {
            cache.disk_changed();
        }
        self.stale.extend(self.trees.keys().cloned());
    }

    /// Asks the client to report changes of configuration and settings files
    /// (`client/registerCapability`), when it can.
    fn watch_files(&mut self) {
        use lsp_types::{
            DidChangeWatchedFilesRegistrationOptions, FileSystemWatcher, GlobPattern, Registration,
            RegistrationParams,
        };
        if !self.can_watch {
            return;
        }
        let watchers = ["**/*.conf", "**/nginx-gwlint.toml"]
            .into_iter()
            .map(|glob| FileSystemWatcher {
                glob_pattern: GlobPattern::String(glob.to_owned()),
                kind: None,
            })
            .collect();
        let Ok(options) =
            serde_json::to_value(DidChangeWatchedFilesRegistrationOptions { watchers })
        else {
            return;
        };
        let params = RegistrationParams {
            registrations: vec![Registration {
                id: "nginx-gwlint-files".to_owned(),
                method: "workspace/didChangeWatchedFiles".to_owned(),
                register_options: Some(options),
            }],
        };
        self.outgoing.push(
            Request::new(
                RequestId::from("register-watchers".to_owned()),
                "client/registerCapability".to_owned(),
                params,
            )
            .into(),
        );
    }

    /// Lints the trees of every document changed since the last lint and publishes their
    /// diagnostics.
    pub fn flush(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        let mut linted = BTreeSet::new();
        for path in pending {
            if self.docs.get(&path).is_none() {
                continue;
            }
            let entry = self.entry_for(&path);
            if linted.insert(entry.clone()) {
                self.lint_tree(&entry, &path);
            }
        }
        self.stale.retain(|e| !linted.contains(e));
    }

    /// The entry file of the tree `path` belongs to: the nginx.conf above it whose includes
    /// reach it (the nearest one, up to six levels, as `check FILE` looks for its prefix), else
    /// the file itself, checked as `check FILE` checks a single file.
    fn entry_for(&mut self, path: &Path) -> PathBuf {
        if let Some(entry) = self.entries.get(path) {
            return entry.clone();
        }
        let overlay = self.docs.overlay();
        let entry = including_main(path, &overlay, &self.trees, &mut self.parses)
            .unwrap_or_else(|| path.to_path_buf());
        self.entries.insert(path.to_path_buf(), entry.clone());
        entry
    }

    /// Loads and lints the tree of `entry` with the open documents' texts, then publishes.
    /// Nothing is linted again when no text of the tree changed since its last lint (an open
    /// or a change that leaves the text as the tree has it): the last lint is published again.
    fn lint_tree(&mut self, entry: &Path, document: &Path) {
        let settings = match self.settings_for(entry) {
            Ok(s) => s,
            Err(message) => {
                self.show_error(format!("nginx-gwlint: settings: {message}"));
                return;
            }
        };
        let overlay = self.docs.overlay();
        if let Some(tree) = self.trees.remove(entry) {
            if self.unchanged(&tree, &overlay) {
                let Tree {
                    checked, published, ..
                } = tree;
                self.store(entry.to_path_buf(), settings, checked, published, document);
                return;
            }
            self.trees.insert(entry.to_path_buf(), tree);
        }
        let php = self.php_for(entry);
        let started = std::time::Instant::now();
        let cache = self.parses.entry(entry.to_path_buf()).or_default();
        let loaded = config::load_path_cached(entry, &overlay, &LoadOptions::default(), cache);
        let (parsed, reused) = (cache.misses, cache.hits);
        let tree = match loaded {
            Ok(t) => t,
            Err(e) => {
                self.show_error(format!("nginx-gwlint: {e}"));
                return;
            }
        };
        let loaded_at = std::time::Instant::now();
        let checked = check_loaded(tree, &settings, php);
        self.timings = Timings {
            load: loaded_at - started,
            check: loaded_at.elapsed(),
            parsed,
            reused,
            ..Timings::default()
        };
        // An edit may have removed the include that read the document: find its tree again.
        let tree = &checked.ws.tree;
        if entry != document && tree.sources.find(document).is_none() {
            self.entries.remove(document);
            let other = self.entry_for(document);
            if other != entry {
                // The old tree stays for the other open documents it reads; else its
                // diagnostics are cleared (the new tree publishes its own next).
                if self.entries.values().any(|e| e == entry) {
                    let published = self.take_published(entry);
                    self.store(entry.to_path_buf(), settings, checked, published, document);
                } else {
                    self.drop_tree(entry);
                }
                self.lint_tree(&other, document);
                return;
            }
        }
        let published = self.take_published(entry);
        self.store(entry.to_path_buf(), settings, checked, published, document);
    }

    /// True when every open document the last lint of `tree` read still has the text it read,
    /// and the disk may not have changed since (no save, no watched file changed).
    fn unchanged(&self, tree: &Tree, overlay: &Overlay) -> bool {
        let sources = &tree.checked.ws.tree.sources;
        !self.stale.contains(&tree.entry)
            && overlay.iter().all(|(path, text)| {
                sources
                    .find(path)
                    .is_none_or(|id| *sources.get(id).text == *text)
            })
    }

    fn take_published(&mut self, entry: &Path) -> BTreeMap<Url, Vec<lsp_types::Diagnostic>> {
        self.trees
            .remove(entry)
            .map(|t| t.published)
            .unwrap_or_default()
    }

    /// Keeps a tree's lint and publishes its diagnostics: for each file whose diagnostics
    /// differ from the ones last published, and for the edited document (its new version);
    /// files that no longer have any are cleared.
    fn store(
        &mut self,
        entry: PathBuf,
        settings: Settings,
        checked: Checked,
        previous: BTreeMap<Url, Vec<lsp_types::Diagnostic>>,
        document: &Path,
    ) {
        let started = std::time::Instant::now();
        let edited = self.docs.get(document).map(|d| d.uri.clone());
        let publish = diagnostics::publish(
            &checked,
            &self.docs,
            self.encoding,
            self.rule_page_url.as_deref(),
        );
        let mut published = BTreeMap::new();
        let mut sent = 0;
        for params in publish {
            let same = previous
                .get(&params.uri)
                .is_some_and(|before| *before == params.diagnostics);
            if !same || edited.as_ref() == Some(&params.uri) {
                sent += 1;
                self.notify("textDocument/publishDiagnostics", &params);
            }
            published.insert(params.uri, params.diagnostics);
        }
        let cleared: Vec<Url> = previous
            .into_keys()
            .filter(|uri| !published.contains_key(uri))
            .chain(edited.filter(|uri| !published.contains_key(uri)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for uri in cleared {
            sent += 1;
            let version = self.docs.by_uri(&uri).ok().map(|d| d.version);
            self.notify(
                "textDocument/publishDiagnostics",
                lsp_types::PublishDiagnosticsParams {
                    uri,
                    diagnostics: Vec::new(),
                    version,
                },
            );
        }
        self.timings.publish = started.elapsed();
        self.timings.published = sent;
        self.trees.insert(
            entry.clone(),
            Tree {
                entry,
                settings,
                checked,
                published,
            },
        );
    }

    fn drop_tree(&mut self, entry: &Path) {
        self.parses.remove(entry);
        self.settings.remove(entry);
        let Some(tree) = self.trees.remove(entry) else {
            return;
        };
        for uri in tree.published.into_keys() {
            self.notify(
                "textDocument/publishDiagnostics",
                lsp_types::PublishDiagnosticsParams {
                    uri,
                    diagnostics: Vec::new(),
                    version: None,
                },
            );
        }
    }

    /// The settings a tree is checked with, as `check` finds them: `--config`, else
    /// `nginx-gwlint.toml` upward from the entry file, else from the current directory; the
    /// target version from `--nginx-version`, the file, or the installed nginx.
    fn settings_for(&mut self, entry: &Path) -> Result<Settings, String> {
        if let Some(settings) = self.settings.get(entry) {
            return Ok(settings.clone());
        }
        let settings = self.read_settings(entry)?;
        self.settings.insert(entry.to_path_buf(), settings.clone());
        Ok(settings)
    }

    fn read_settings(&mut self, entry: &Path) -> Result<Settings, String> {
        let file = match &self.options.config {
            Some(path) => Some(path.clone()),
            None => Settings::discover(entry).or_else(|| {
                std::env::current_dir()
                    .ok()
                    .and_then(|cwd| Settings::discover(&cwd))
            }),
        };
        let mut settings = match file {
            Some(path) => Settings::with_file(&path),
            None => Settings::defaults(),
        }
        .map_err(|e| e.to_string())?;
        rules::options::validate(&settings).map_err(|e| e.to_string())?;
        if let Some(version) = self.options.nginx_version {
            settings.directives.target = version;
            settings.directives.target_origin = TargetOrigin::CommandLine;
        } else if settings.directives.target_origin == TargetOrigin::Newest {
            let detected = self.detected_version.get_or_insert_with(|| {
                let binary = crate::system::installed_nginx(&[])?;
                let version = crate::system::detect_nginx_version(&binary)?;
                Some((version, binary))
            });
            if let Some((version, binary)) = detected {
                settings.directives.target = *version;
                settings.directives.target_origin = TargetOrigin::Detected(binary.clone());
            }
        }
        Ok(settings)
    }

    /// The PHP side, as `check` reads it: the system's php-fpm and php.ini for the live
    /// /etc/nginx, nothing for another tree.
    fn php_for(&mut self, entry: &Path) -> PhpSetup {
        let live = std::fs::canonicalize(entry).is_ok_and(|p| p.starts_with("/etc/nginx"));
        if !live {
            return PhpSetup::default();
        }
        self.system_php
            .get_or_insert_with(|| backends::discover(&backends::system_paths(Path::new("/"))))
            .clone()
    }

    /// The tree an open document was last linted in.
    pub(crate) fn tree_of(&self, uri: &Url) -> Result<(&Tree, &Path), Failure> {
        let doc = self.docs.by_uri(uri)?;
        let entry = self.entries.get(&doc.path).ok_or_else(|| {
            Failure::failed(format!("{uri}: the document has not been linted yet"))
        })?;
        let tree = self.trees.get(entry).ok_or_else(|| {
            Failure::failed(format!(
                "{uri}: its configuration could not be loaded (see the message shown)"
            ))
        })?;
        Ok((tree, &doc.path))
    }
}

/// A position in an open document, resolved against its last lint.
pub(crate) struct Cursor<'s> {
    pub tree: &'s Tree,
    pub file: crate::source::FileId,
    pub source: &'s crate::source::SourceFile,
    pub ast: &'s crate::syntax::Ast,
    pub offset: usize,
}

impl Session {
    /// The file, its syntax tree and the byte offset at `position` of an open document; `None`
    /// when the lint did not read the document or it does not parse.
    pub(crate) fn cursor(
        &self,
        uri: &Url,
        position: lsp_types::Position,
    ) -> Result<Option<Cursor<'_>>, Failure> {
        let (tree, path) = self.tree_of(uri)?;
        let config_tree = &tree.checked.ws.tree;
        let Some(file) = config_tree.sources.find(path) else {
            return Ok(None);
        };
        let source = config_tree.sources.get(file);
        let Some(ast) = config_tree.ast(file) else {
            return Ok(None);
        };
        let offset = position::Text {
            bytes: &source.text,
            lines: &source.lines,
        }
        .offset(position, self.encoding);
        Ok(Some(Cursor {
            tree,
            file,
            source,
            ast,
            offset,
        }))
    }
}

/// `initializationOptions.rulePageUrl`: a URL with `{code}` where the rule id goes
/// (`https://example.com/nginx-gwlint/rules/{code}.html`), checked with a real id in place.
fn rule_page_template(value: &Value) -> Result<String, String> {
    let Some(template) = value.as_str() else {
        return Err("not a string".to_owned());
    };
    if !template.contains("{code}") {
        return Err(format!("`{template}` has no `{{code}}` for the rule id"));
    }
    let sample = template.replace("{code}", "GW001");
    Url::parse(&sample).map_err(|e| format!("`{sample}`: {e}"))?;
    Ok(template.to_owned())
}

/// The capabilities this server offers.
fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![
                CodeActionKind::QUICKFIX,
                CodeActionKind::SOURCE_FIX_ALL,
            ]),
            ..Default::default()
        })),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp_types::OneOf::Left(true)),
        completion_provider: Some(CompletionOptions::default()),
        ..Default::default()
    }
}

/// The nginx.conf above `path` (up to six levels) whose tree reads `path`, with the open
/// documents' texts in place. A candidate already linted is answered from its lint; another
/// is loaded with its parse cache, which its lint then reuses.
fn including_main(
    path: &Path,
    overlay: &Overlay,
    trees: &BTreeMap<PathBuf, Tree>,
    parses: &mut BTreeMap<PathBuf, config::ParseCache>,
) -> Option<PathBuf> {
    let wanted = std::fs::canonicalize(path).ok();
    let reads = |tree: &config::ConfigTree| {
        tree.nginx_files.iter().skip(1).any(|id| {
            let p = &tree.sources.get(*id).path;
            p == path
                || wanted
                    .as_ref()
                    .is_some_and(|w| std::fs::canonicalize(p).is_ok_and(|c| c == *w))
        })
    };
    for dir in path.ancestors().skip(1).take(6) {
        let candidate = dir.join("nginx.conf");
        if candidate == path {
            return None;
        }
        if let Some(tree) = trees.get(&candidate) {
            if reads(&tree.checked.ws.tree) {
                return Some(candidate);
            }
            continue;
        }
        if overlay.get(&candidate).is_none() && !candidate.is_file() {
            continue;
        }
        let cache = parses.entry(candidate.clone()).or_default();
        let Ok(tree) =
            config::load_path_cached(&candidate, overlay, &LoadOptions::default(), cache)
        else {
            parses.remove(&candidate);
            continue;
        };
        if reads(&tree) {
            return Some(candidate);
        }
        parses.remove(&candidate);
    }
    None
}

/// One lint of the tree of `entry`, as `check` makes it (every selected rule, suppressions,
/// no probe).
pub(crate) fn check_tree(
    entry: &Path,
    overlay: &Overlay,
    settings: &Settings,
    php: PhpSetup,
) -> Result<Checked, config::LoadError> {
    let tree = config::load_path_opts(entry, overlay, &LoadOptions::default())?;
    Ok(check_loaded(tree, settings, php))
}

/// [`check_tree`] on a loaded tree.
fn check_loaded(tree: config::ConfigTree, settings: &Settings, php: PhpSetup) -> Checked {
    let ws = Workspace::new(tree, php, None);
    let diagnostics = lint::check(&ws, settings, &Selection::default(), false);
    Checked { ws, diagnostics }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn publishes(out: &[Message]) -> Vec<(String, Option<i64>, usize)> {
        out.iter()
            .filter_map(|m| match m {
                Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => {
                    let p = &n.params;
                    Some((
                        p["uri"].as_str().unwrap_or_default().to_owned(),
                        p["version"].as_i64(),
                        p["diagnostics"].as_array().map_or(0, Vec::len),
                    ))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn queued_changes_are_linted_once_at_the_latest_version(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = std::fs::canonicalize(dir.path())?;
        std::fs::create_dir(root.join("sites"))?;
        std::fs::write(
            root.join("nginx.conf"),
            "events {}\nhttp {\n    include sites/*.conf;\n}\n",
        )?;
        let good = "server {\n    listen 80;\n}\n";
        let bad = "server {\n    listen 80;\n    location / {\n        fastcgi_pass 127.0.0.1:9000;\n        proxy_read_timeout 300s;\n    }\n}\n";
        std::fs::write(root.join("sites/a.conf"), good)?;
        std::fs::write(root.join("sites/b.conf"), bad)?;
        let uri = Url::from_file_path(root.join("sites/a.conf"))
            .map_err(|()| "no file URI")?
            .to_string();
        let b_uri = Url::from_file_path(root.join("sites/b.conf"))
            .map_err(|()| "no file URI")?
            .to_string();
        let mut session = Session::new(Options::default());
        session.handle(Message::Request(Request::new(
            1.into(),
            "initialize".to_owned(),
            json!({"processId": null, "rootUri": null, "capabilities": {}}),
        )));
        let notify = |session: &mut Session, method: &str, params: Value| {
            session.handle(Message::Notification(Notification::new(
                method.to_owned(),
                params,
            )))
        };
        notify(
            &mut session,
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "nginx", "version": 1, "text": good}}),
        );
        session.flush();
        let mut opened = publishes(&session.take_outgoing());
        opened.sort();
        // The document (no findings), and the findings the tree has in b.conf.
        let in_bad = opened.iter().find(|p| p.0 == b_uri).map_or(0, |p| p.2);
        assert!(in_bad > 0, "{opened:?}");
        assert_eq!(
            opened,
            [(uri.clone(), Some(1), 0), (b_uri.clone(), None, in_bad)]
        );
        for version in 2..=6 {
            let text = if version % 2 == 0 { bad } else { good };
            notify(
                &mut session,
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri, "version": version},
                       "contentChanges": [{"text": text}]}),
            );
        }
        session.flush();
        // One lint, of version 6 (bad): a.conf's findings; b.conf's did not change, not sent.
        let sent = publishes(&session.take_outgoing());
        assert!(
            matches!(&sent[..], [(u, Some(6), n)] if *u == uri && *n > 0),
            "{sent:?}"
        );
        let timings = session.timings();
        assert_eq!((timings.parsed, timings.reused), (1, 2));
        Ok(())
    }
}
