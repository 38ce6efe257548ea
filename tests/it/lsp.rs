//! `nginx-gwlint server` through the real binary, speaking JSON-RPC with Content-Length
//! framing on its stdin/stdout: diagnostics on open and on full and incremental changes, code
//! actions whose edits really fix the finding (applied here and re-linted), hover, go to
//! definition, errors for bad requests, and the shutdown/exit life cycle.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::{json, Value};

/// How long any single answer may take (a debug binary on a tiny tree answers in milliseconds;
/// this only keeps a broken server from hanging the suite).
const WAIT: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for something else.
    backlog: Vec<Value>,
}

impl Client {
    fn start(cwd: &Path) -> Client {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("nginx-gwlint"))
            .arg("server")
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        length = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("Content-Length header")];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            incoming,
            next_id: 1,
            backlog: Vec::new(),
        }
    }

    fn send(&mut self, message: &Value) {
        self.send_body(&serde_json::to_vec(message).unwrap());
    }

    /// One frame with any body.
    fn send_body(&mut self, body: &[u8]) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n", body.len()).unwrap();
        self.stdin.write_all(body).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next response whose id is `id` (`null` for an answer to an unreadable frame).
    fn response_with_id(&mut self, id: &Value) -> Value {
        loop {
            let msg = self.incoming.recv_timeout(WAIT).expect("a response");
            if msg.get("id") == Some(id) && msg.get("method").is_none() {
                return msg;
            }
            self.backlog.push(msg);
        }
    }

    /// The next notification named `method`.
    fn notification(&mut self, method: &str) -> Value {
        if let Some(i) = self.backlog.iter().position(|m| m["method"] == method) {
            return self.backlog.remove(i);
        }
        loop {
            let msg = self
                .incoming
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no {method}"));
            if msg["method"] == method {
                return msg;
            }
            self.backlog.push(msg);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its whole response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let msg = self.incoming.recv_timeout(WAIT).expect("a response");
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return msg;
            }
            self.backlog.push(msg);
        }
    }

    fn result(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        response["result"].clone()
    }

    /// The next publishDiagnostics for `uri`.
    fn diagnostics_for(&mut self, uri: &str) -> Vec<Value> {
        if let Some(i) = self.backlog.iter().position(|m| is_publish_for(m, uri)) {
            let m = self.backlog.remove(i);
            return m["params"]["diagnostics"].as_array().unwrap().clone();
        }
        loop {
            let msg = self
                .incoming
                .recv_timeout(WAIT)
                .unwrap_or_else(|_| panic!("no diagnostics for {uri}"));
            if is_publish_for(&msg, uri) {
                return msg["params"]["diagnostics"].as_array().unwrap().clone();
            }
            self.backlog.push(msg);
        }
    }

    fn initialize(&mut self, encodings: &[&str]) -> Value {
        let result = self.result(
            "initialize",
            json!({
                "processId": null,
                "rootUri": null,
                "capabilities": {"general": {"positionEncodings": encodings}},
            }),
        );
        self.notify("initialized", json!({}));
        result
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "nginx", "version": 1, "text": text}}),
        );
    }

    fn change(&mut self, uri: &str, version: i32, changes: Value) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}),
        );
    }

    /// shutdown, exit, and the process's exit code.
    fn finish(mut self) -> i32 {
        assert_eq!(self.result("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin);
        let status = self.child.wait().unwrap();
        status.code().unwrap_or(-1)
    }
}

fn is_publish_for(msg: &Value, uri: &str) -> bool {
    msg["method"] == "textDocument/publishDiagnostics" && msg["params"]["uri"] == uri
}

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn find<'a>(diagnostics: &'a [Value], code: &str) -> Option<&'a Value> {
    diagnostics.iter().find(|d| d["code"] == code)
}

fn uri_of(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// Applies LSP text edits (UTF-16 positions, as negotiated by default) to `text`.
fn apply_edits(text: &str, edits: &[Value]) -> String {
    let offset = |pos: &Value| -> usize {
        let line = pos["line"].as_u64().unwrap() as usize;
        let character = pos["character"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let line_text = &text[start..];
        let mut units = 0;
        for (i, ch) in line_text.char_indices() {
            if units >= character || ch == '\n' {
                return start + i;
            }
            units += ch.len_utf16();
        }
        text.len()
    };
    let mut spans: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_owned();
    for (start, end, new) in spans {
        out.replace_range(start..end, &new);
    }
    out
}

const MAIN: &str = "events {}\nhttp {\n    map $http_upgrade $conn {\n        default close;\n    }\n    upstream app {\n        server 127.0.0.1:3000;\n    }\n    include sites/*.conf;\n}\n";

/// GW101 on line 5 (0-based), after non-ASCII text on the same line.
const SITE: &str = "# see GW101 for the timeout rule\nserver {\n    listen 8080;\n    location ~ \\.php$ {\n        fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n        add_header X-Who \"Zoë 𝄞\"; proxy_read_timeout 300s;\n    }\n    location /api/ {\n        proxy_pass http://app;\n        proxy_set_header Connection $conn;\n        error_page 502 @down;\n    }\n    location @down {\n        return 502;\n    }\n}\n";

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::common::write(dir.path(), "nginx.conf", MAIN);
    crate::common::write(dir.path(), "sites/app.conf", SITE);
    dir
}

#[test]
fn diagnostics_actions_hover_definition_and_exit() {
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = uri_of(&root.join("sites/app.conf"));
    let main = uri_of(&root.join("nginx.conf"));
    let mut client = Client::start(&root);
    let init = client.initialize(&["utf-16"]);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");

    // didOpen: the finding, at the UTF-16 column after "Zoë 𝄞".
    client.open(&site, SITE);
    let diags = client.diagnostics_for(&site);
    let gw101 = find(&diags, "GW101").unwrap_or_else(|| panic!("GW101 in {:?}", codes(&diags)));
    let line = SITE.lines().nth(5).unwrap();
    let column = line[..line.find("proxy_read_timeout").unwrap()]
        .encode_utf16()
        .count();
    assert_eq!(
        gw101["range"]["start"],
        json!({"line": 5, "character": column})
    );
    assert_eq!(gw101["source"], "nginx-gwlint");
    assert_eq!(gw101["severity"], 1);

    // didChange, full text: the directive removed, the finding gone.
    let without = SITE.replace(" proxy_read_timeout 300s;", "");
    client.change(&site, 2, json!([{"text": without}]));
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101").is_none(), "{:?}", codes(&diags));

    // didChange, incremental: typed back in at the end of line 5.
    let end = without.lines().nth(5).unwrap().encode_utf16().count();
    client.change(
        &site,
        3,
        json!([{"range": {"start": {"line": 5, "character": end}, "end": {"line": 5, "character": end}},
                "text": " proxy_read_timeout 300s;"}]),
    );
    let diags = client.diagnostics_for(&site);
    let gw101 = find(&diags, "GW101").unwrap().clone();
    assert_eq!(gw101["range"]["start"]["character"], column);
    let text = SITE.to_owned();

    // codeAction: the rule's safe fix; applied here and sent back, the finding is gone.
    let actions = client.result(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": site}, "range": gw101["range"], "context": {"diagnostics": [gw101]}}),
    );
    let actions = actions.as_array().unwrap();
    let titles: Vec<&str> = actions
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    let fix = actions
        .iter()
        .find(|a| a["title"].as_str().unwrap().contains("GW101, safe fix"))
        .unwrap_or_else(|| panic!("a safe GW101 fix in {titles:?}"));
    assert_eq!(fix["kind"], "quickfix");
    let fixed = apply_edits(&text, fix["edit"]["changes"][&site].as_array().unwrap());
    assert!(fixed.contains("fastcgi_read_timeout 300s;"), "{fixed}");
    client.change(&site, 4, json!([{"text": fixed}]));
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101").is_none(), "{:?}", codes(&diags));

    // "Ignore": the suppression comment silences it (and is not reported unused).
    client.change(&site, 5, json!([{"text": text}]));
    let diags = client.diagnostics_for(&site);
    let gw101 = find(&diags, "GW101").unwrap().clone();
    let actions = client.result(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": site}, "range": gw101["range"], "context": {"diagnostics": [gw101]}}),
    );
    let ignore = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["title"] == "Ignore GW101 for this directive")
        .unwrap()
        .clone();
    let ignored = apply_edits(&text, ignore["edit"]["changes"][&site].as_array().unwrap());
    assert!(
        ignored.contains("# nginx-gwlint: ignore GW101\n"),
        "{ignored}"
    );
    client.change(&site, 6, json!([{"text": ignored}]));
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101").is_none(), "{:?}", codes(&diags));
    assert!(find(&diags, "GW005").is_none(), "{:?}", codes(&diags));

    // "Fix all safe fixes in this file", through the fix engine.
    client.change(&site, 7, json!([{"text": text}]));
    let _ = client.diagnostics_for(&site);
    let actions = client.result(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": site},
               "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
               "context": {"diagnostics": [], "only": ["source.fixAll"]}}),
    );
    let all = &actions.as_array().unwrap()[0];
    assert_eq!(all["kind"], "source.fixAll");
    let fixed_all = apply_edits(&text, all["edit"]["changes"][&site].as_array().unwrap());
    assert!(
        fixed_all.contains("fastcgi_read_timeout 300s;"),
        "{fixed_all}"
    );
    client.change(&site, 8, json!([{"text": fixed_all}]));
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101").is_none(), "{:?}", codes(&diags));

    // Hover on a directive name: the table's entry; on a rule id: its explain page.
    let hover = client.result(
        "textDocument/hover",
        json!({"textDocument": {"uri": site}, "position": {"line": 4, "character": 10}}),
    );
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(
        value.contains("**fastcgi_pass** (ngx_http_fastcgi_module)"),
        "{value}"
    );
    assert!(value.contains("contexts: location, if_location"), "{value}");
    // On a directive nginx inherits: the value in effect and where it was set.
    let fixed_line = fixed_all.lines().nth(5).unwrap();
    let at = fixed_line[..fixed_line.find("fastcgi_read_timeout").unwrap()]
        .encode_utf16()
        .count();
    let hover = client.result(
        "textDocument/hover",
        json!({"textDocument": {"uri": site}, "position": {"line": 5, "character": at + 3}}),
    );
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.contains("- value: a time"), "{value}");
    assert!(
        value.contains("in effect in this `location` block: `fastcgi_read_timeout 300s` (")
            && value.contains("app.conf:6)"),
        "{value}"
    );
    assert!(value.contains("not set in the blocks around it"), "{value}");
    let hover = client.result(
        "textDocument/hover",
        json!({"textDocument": {"uri": site}, "position": {"line": 0, "character": 8}}),
    );
    let value = hover["contents"]["value"].as_str().unwrap();
    assert!(value.starts_with("# GW101 timeout-wrong-module"), "{value}");

    // Definition: `proxy_pass http://app` -> the upstream block in nginx.conf.
    let def = client.result(
        "textDocument/definition",
        json!({"textDocument": {"uri": site}, "position": {"line": 8, "character": 25}}),
    );
    assert_eq!(def["uri"], main);
    assert_eq!(def["range"]["start"], json!({"line": 5, "character": 4}));
    // A variable -> the map that defines it; a named location -> its block.
    let def = client.result(
        "textDocument/definition",
        json!({"textDocument": {"uri": site}, "position": {"line": 9, "character": 38}}),
    );
    assert_eq!(def["uri"], main);
    assert_eq!(def["range"]["start"], json!({"line": 2, "character": 22}));
    let def = client.result(
        "textDocument/definition",
        json!({"textDocument": {"uri": site}, "position": {"line": 10, "character": 25}}),
    );
    assert_eq!(def["uri"], site);
    assert_eq!(def["range"]["start"], json!({"line": 12, "character": 4}));

    // Definition of an include, from nginx.conf: the files its glob matched.
    // Its text is the one the tree was linted with: nothing is linted again, the opened
    // document gets its diagnostics, the site's unchanged ones are not sent again.
    client.open(&main, MAIN);
    let _ = client.diagnostics_for(&main);
    let def = client.result(
        "textDocument/definition",
        json!({"textDocument": {"uri": main}, "position": {"line": 8, "character": 16}}),
    );
    assert_eq!(def["uri"], site, "{def}");

    // Completion: the directive names allowed in a location (the file is read in http).
    let items = client.result(
        "textDocument/completion",
        json!({"textDocument": {"uri": site}, "position": {"line": 8, "character": 8}}),
    );
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(labels.contains(&"proxy_read_timeout"), "{labels:?}");
    assert!(!labels.contains(&"listen"), "{labels:?}");
    assert!(!labels.contains(&"worker_processes"), "{labels:?}");
    // After a directive's name, arguments follow: nothing to complete.
    let none = client.result(
        "textDocument/completion",
        json!({"textDocument": {"uri": site}, "position": {"line": 8, "character": 19}}),
    );
    assert_eq!(none, Value::Null);

    // Errors, not crashes.
    let unknown = client.request("textDocument/formatting", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    let malformed = client.request("textDocument/hover", json!({"textDocument": 5}));
    assert_eq!(malformed["error"]["code"], -32602);
    let closed = client.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": "file:///nowhere/x.conf"}, "position": {"line": 0, "character": 0}}),
    );
    assert_eq!(closed["error"]["code"], -32602);

    assert_eq!(client.finish(), 0);
}

#[test]
fn utf8_positions_when_the_client_offers_them() {
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = uri_of(&root.join("sites/app.conf"));
    let mut client = Client::start(&root);
    let init = client.initialize(&["utf-8", "utf-16"]);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    client.open(&site, SITE);
    let diags = client.diagnostics_for(&site);
    let line = SITE.lines().nth(5).unwrap();
    let bytes = line.find("proxy_read_timeout").unwrap();
    assert_eq!(
        find(&diags, "GW101").unwrap()["range"]["start"],
        json!({"line": 5, "character": bytes})
    );
    assert_eq!(client.finish(), 0);
}

#[test]
fn findings_in_other_files_are_published_and_cleared() {
    // Editing nginx.conf: its include reaches sites/app.conf, whose finding is published too
    // (the file is not open); removing the include clears it.
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = uri_of(&root.join("sites/app.conf"));
    let main = uri_of(&root.join("nginx.conf"));
    let mut client = Client::start(&root);
    client.initialize(&[]);
    client.open(&main, MAIN);
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101").is_some(), "{:?}", codes(&diags));
    client.change(
        &main,
        2,
        json!([{"text": MAIN.replace("    include sites/*.conf;\n", "")}]),
    );
    let diags = client.diagnostics_for(&site);
    assert!(diags.is_empty(), "{:?}", codes(&diags));
    assert_eq!(client.finish(), 0);
}

#[test]
fn exit_without_shutdown_is_code_1() {
    let dir = tree();
    let mut client = Client::start(dir.path());
    client.initialize(&[]);
    client.notify("exit", Value::Null);
    assert_eq!(client.child.wait().unwrap().code(), Some(1));
}

#[test]
fn malformed_messages_are_answered_and_serving_goes_on() {
    // JSON-RPC 2.0 §5.1: -32700 for a body that is not JSON (id null), -32600 for JSON that is
    // not a request (with its id when it has one); the server keeps serving after each.
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = uri_of(&root.join("sites/app.conf"));
    let mut client = Client::start(&root);
    client.send_body(b"hello");
    let answer = client.response_with_id(&Value::Null);
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    assert_eq!(answer["jsonrpc"], "2.0");
    client.initialize(&[]);
    client.send_body(br#"{"jsonrpc": "2.0", "id": 41, "params": {}}"#);
    let answer = client.response_with_id(&json!(41));
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    client.send_body(br#"[{"jsonrpc": "2.0", "id": 42, "method": "shutdown"}]"#);
    let answer = client.response_with_id(&Value::Null);
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    // A frame without Content-Length, then a cut-off JSON text with one.
    client.stdin.write_all(b"Content-Type: x\r\n\r\n").unwrap();
    let answer = client.response_with_id(&Value::Null);
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    client.send_body(br#"{"jsonrpc": "2.0", "id": 43, "method": "#);
    let answer = client.response_with_id(&Value::Null);
    assert_eq!(answer["error"]["code"], -32700, "{answer}");
    // Still serving: a document is linted and a request answered.
    client.open(&site, SITE);
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101").is_some(), "{:?}", codes(&diags));
    let hover = client.result(
        "textDocument/hover",
        json!({"textDocument": {"uri": site}, "position": {"line": 4, "character": 10}}),
    );
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("fastcgi_pass"));
    assert_eq!(client.finish(), 0);
}

#[test]
fn rule_pages_are_linked_only_when_configured() {
    // The build names no repository: without `rulePageUrl` no href is invented.
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = uri_of(&root.join("sites/app.conf"));
    let mut client = Client::start(&root);
    client.initialize(&[]);
    client.open(&site, SITE);
    let diags = client.diagnostics_for(&site);
    let gw101 = find(&diags, "GW101").unwrap();
    assert!(gw101.get("codeDescription").is_none(), "{gw101}");
    assert_eq!(client.finish(), 0);

    let mut client = Client::start(&root);
    client.result(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {},
               "initializationOptions": {"rulePageUrl": "https://docs.example.org/rules/{code}.html"}}),
    );
    client.open(&site, SITE);
    let diags = client.diagnostics_for(&site);
    let gw101 = find(&diags, "GW101").unwrap();
    assert_eq!(
        gw101["codeDescription"]["href"],
        "https://docs.example.org/rules/GW101.html"
    );
    assert_eq!(client.finish(), 0);

    // A template without `{code}` is refused with a message, and nothing is linked.
    let mut client = Client::start(&root);
    client.result(
        "initialize",
        json!({"processId": null, "rootUri": null, "capabilities": {},
               "initializationOptions": {"rulePageUrl": "https://docs.example.org/rules/"}}),
    );
    let shown = client.notification("window/showMessage");
    assert!(
        shown["params"]["message"]
            .as_str()
            .unwrap()
            .contains("has no `{code}`"),
        "{shown}"
    );
    client.open(&site, SITE);
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101")
        .unwrap()
        .get("codeDescription")
        .is_none());
    assert_eq!(client.finish(), 0);
}

#[test]
fn a_file_outside_any_tree_and_a_change_to_a_file_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    // No nginx.conf above it: the file is checked on its own, as `check FILE` does.
    let lone = root.join("lone/site.conf");
    crate::common::write(&root, "lone/site.conf", SITE);
    let lone = uri_of(&lone);
    let mut client = Client::start(&root);
    client.initialize(&[]);
    // A change for a document never opened: a warning in the log, nothing else.
    client.change(&lone, 2, json!([{"text": "events {}\n"}]));
    let logged = client.notification("window/logMessage");
    assert!(
        logged["params"]["message"]
            .as_str()
            .unwrap()
            .contains("not open"),
        "{logged}"
    );
    client.open(&lone, SITE);
    let diags = client.diagnostics_for(&lone);
    assert!(find(&diags, "GW101").is_some(), "{:?}", codes(&diags));
    client.change(
        &lone,
        2,
        json!([{"text": SITE.replace(" proxy_read_timeout 300s;", "")}]),
    );
    let diags = client.diagnostics_for(&lone);
    assert!(find(&diags, "GW101").is_none(), "{:?}", codes(&diags));
    assert_eq!(client.finish(), 0);
}

#[test]
fn a_document_deleted_on_disk_while_open() {
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let path = root.join("sites/app.conf");
    let site = uri_of(&path);
    let mut client = Client::start(&root);
    client.initialize(&[]);
    client.open(&site, SITE);
    assert!(find(&client.diagnostics_for(&site), "GW101").is_some());
    std::fs::remove_file(&path).unwrap();
    // The glob no longer matches it: the editor's text is checked on its own, still with its
    // finding; then saved back, the tree reads it again.
    client.change(&site, 2, json!([{"text": SITE}]));
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101").is_some(), "{:?}", codes(&diags));
    let hover = client.result(
        "textDocument/hover",
        json!({"textDocument": {"uri": site}, "position": {"line": 4, "character": 10}}),
    );
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap()
        .contains("fastcgi_pass"));
    std::fs::write(&path, SITE).unwrap();
    client.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": site}}),
    );
    let diags = client.diagnostics_for(&site);
    assert!(find(&diags, "GW101").is_some(), "{:?}", codes(&diags));
    // In the tree again: the upstream in nginx.conf is found.
    let def = client.result(
        "textDocument/definition",
        json!({"textDocument": {"uri": site}, "position": {"line": 8, "character": 25}}),
    );
    assert_eq!(def["uri"], uri_of(&root.join("nginx.conf")), "{def}");
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": site}}),
    );
    assert_eq!(client.finish(), 0);
}

#[test]
fn an_include_cycle_typed_one_key_at_a_time() {
    // Typing `include sites/*.conf;` into a site that sites/*.conf reads: every intermediate
    // text is linted (none hangs or crashes), and the finished one is the cycle nginx refuses.
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = uri_of(&root.join("sites/app.conf"));
    let mut client = Client::start(&root);
    client.initialize(&[]);
    client.open(&site, SITE);
    let _ = client.diagnostics_for(&site);
    let typed = "include sites/*.conf;\n";
    for (i, ch) in typed.char_indices() {
        let at = json!({"line": 0, "character": i});
        client.change(
            &site,
            2 + i as i32,
            json!([{"range": {"start": at, "end": at}, "text": ch.to_string()}]),
        );
    }
    let started = std::time::Instant::now();
    let version = 1 + typed.len() as i64;
    let diags = loop {
        let msg = client.notification("textDocument/publishDiagnostics");
        if msg["params"]["uri"] == site && msg["params"]["version"] == version {
            break msg["params"]["diagnostics"].as_array().unwrap().clone();
        }
    };
    assert!(started.elapsed() < WAIT);
    let cycle = find(&diags, "GW003").unwrap_or_else(|| panic!("GW003 in {:?}", codes(&diags)));
    assert!(
        cycle["message"].as_str().unwrap().contains("cycle"),
        "{cycle}"
    );
    assert_eq!(client.finish(), 0);
}

#[test]
fn a_five_megabyte_paste_is_linted_in_bounded_time() {
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = uri_of(&root.join("sites/app.conf"));
    let mut client = Client::start(&root);
    client.initialize(&[]);
    client.open(&site, SITE);
    let _ = client.diagnostics_for(&site);
    let block = "server {\n    listen 8080;\n    server_name a.example;\n    location / {\n        proxy_pass http://app;\n        proxy_read_timeout 30s;\n    }\n}\n";
    let mut pasted = SITE.to_owned();
    while pasted.len() < 5 << 20 {
        pasted.push_str(block);
    }
    let started = std::time::Instant::now();
    client.change(&site, 2, json!([{"text": pasted}]));
    let diags = client.diagnostics_for(&site);
    let took = started.elapsed();
    assert!(find(&diags, "GW101").is_some(), "{:?}", codes(&diags));
    // A keystroke after it: still answered, and the server is still alive.
    client.change(
        &site,
        3,
        json!([{"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "text": "#"}]),
    );
    let _ = client.diagnostics_for(&site);
    assert!(took < WAIT, "{took:?}");
    assert_eq!(client.finish(), 0);
}

#[test]
fn files_changed_outside_the_editor_are_read_again_when_watched() {
    let dir = tree();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    let site = uri_of(&root.join("sites/app.conf"));
    let mut client = Client::start(&root);
    client.result(
        "initialize",
        json!({"processId": null, "rootUri": null,
               "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}}}),
    );
    client.notify("initialized", json!({}));
    // The server asks to be told about configuration and settings files.
    let register = client.notification("client/registerCapability");
    let globs: Vec<&str> = register["params"]["registrations"][0]["registerOptions"]["watchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["globPattern"].as_str().unwrap())
        .collect();
    assert_eq!(globs, ["**/*.conf", "**/nginx-gwlint.toml"], "{register}");
    let id = register["id"].clone();
    client.send(&json!({"jsonrpc": "2.0", "id": id, "result": null}));
    client.open(&site, SITE);
    let _ = client.diagnostics_for(&site);
    // A new site file appears (a checkout): the glob now reads it, and its finding is shown.
    let added = root.join("sites/added.conf");
    std::fs::write(&added, SITE).unwrap();
    client.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": uri_of(&added), "type": 1}]}),
    );
    let diags = client.diagnostics_for(&uri_of(&added));
    assert!(find(&diags, "GW101").is_some(), "{:?}", codes(&diags));
    assert_eq!(client.finish(), 0);
}
