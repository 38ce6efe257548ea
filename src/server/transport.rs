//! The stdio transport: LSP's base protocol (`Content-Length` headers, then a JSON-RPC body)
//! read and written on threads of their own. lsp-server's reader ends the connection at the
//! first body that is not a message; JSON-RPC 2.0 wants an answer instead — `-32700` for a body
//! that is not JSON, `-32600` for JSON that is not a request or notification (JSON-RPC 2.0
//! §5.1) — and the server keeps serving. So the frames are read here and only well-formed
//! messages are handed on as [`lsp_server::Message`]s.
//!
//! The reader keeps reading while the server lints: every message queued during a lint is in
//! the channel when it ends, so one lint covers all the keystrokes typed meanwhile.

use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use lsp_server::{ErrorCode, Message, RequestId};
use serde_json::Value;

/// A body larger than this is refused with `-32700` (and skipped): a client sends nothing near
/// it (a 5 MB document is far below), a broken one may send anything.
pub const MAX_BODY: usize = 256 << 20;
/// A header line longer than this is not LSP.
const MAX_HEADER_LINE: usize = 8 << 10;

/// What the reader hands on.
#[derive(Debug)]
pub enum Incoming {
    Message(Message),
    /// A frame that is no message: answered with this error, and the server reads on.
    Invalid {
        /// The request's id when one could be read, else JSON-RPC's `null`.
        id: Option<RequestId>,
        code: i32,
        message: String,
    },
}

/// Reads frames from `input` until it ends. Malformed frames become [`Incoming::Invalid`]; only
/// a read error or the end of the input stops it. Returns when the receiver is gone too.
pub fn read_frames(input: &mut impl BufRead, to: &Sender<Incoming>) -> io::Result<()> {
    loop {
        let incoming = match read_frame(input)? {
            Frame::End => return Ok(()),
            Frame::Body(body) => classify(&body),
            Frame::Bad(message) => Incoming::Invalid {
                id: None,
                code: ErrorCode::ParseError as i32,
                message,
            },
        };
        if to.send(incoming).is_err() {
            return Ok(());
        }
    }
}

enum Frame {
    End,
    Body(Vec<u8>),
    /// Headers that frame no body (no or a bad `Content-Length`, an oversized body).
    Bad(String),
}

/// One header block and its body. Headers end at an empty line; `\r\n` is the protocol's line
/// end, a bare `\n` is accepted. Unknown headers (`Content-Type`) are ignored.
fn read_frame(input: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Result<Option<usize>, String> = Ok(None);
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        let n = input
            .by_ref()
            .take(MAX_HEADER_LINE as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            // The end of the input: between frames it is the end; inside headers too (nothing
            // follows to answer).
            return Ok(Frame::End);
        }
        if line.last() != Some(&b'\n') && n == MAX_HEADER_LINE {
            // Skip the rest of the line and report the frame as unreadable.
            skip_line(input)?;
            length = Err(format!("header line longer than {MAX_HEADER_LINE} bytes"));
            saw_header = true;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() {
            if !saw_header {
                // Blank lines between frames.
                continue;
            }
            break;
        }
        saw_header = true;
        let Some((name, value)) = text.split_once(':') else {
            length = Err(format!("malformed header line {text:?}"));
            continue;
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            if let Ok(prev) = &length {
                length = match value.trim().parse::<usize>() {
                    Ok(n) if prev.is_none() || *prev == Some(n) => Ok(Some(n)),
                    Ok(_) => Err("two different Content-Length headers".to_owned()),
                    Err(_) => Err(format!("bad Content-Length {:?}", value.trim())),
                };
            }
        }
    }
    let length = match length {
        Ok(Some(n)) => n,
        Ok(None) => return Ok(Frame::Bad("no Content-Length header".to_owned())),
        Err(message) => return Ok(Frame::Bad(message)),
    };
    if length > MAX_BODY {
        io::copy(&mut input.by_ref().take(length as u64), &mut io::sink())?;
        return Ok(Frame::Bad(format!(
            "a body of {length} bytes (at most {MAX_BODY} are read)"
        )));
    }
    let mut body = Vec::new();
    input.by_ref().take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        // The input ended inside the body: nothing follows to answer.
        return Ok(Frame::End);
    }
    Ok(Frame::Body(body))
}

fn skip_line(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        if let Some(i) = memchr::memchr(b'\n', buf) {
            input.consume(i + 1);
            return Ok(());
        }
        let n = buf.len();
        input.consume(n);
    }
}

/// A body as a message, or the JSON-RPC error that answers it.
pub fn classify(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return Incoming::Invalid {
                id: None,
                code: ErrorCode::ParseError as i32,
                message: format!("parse error: {e}"),
            }
        }
    };
    let invalid = |id: Option<RequestId>, message: String| Incoming::Invalid {
        id,
        code: ErrorCode::InvalidRequest as i32,
        message,
    };
    let Value::Object(object) = &value else {
        // A batch (an array) too: LSP sends none.
        return invalid(
            None,
            "invalid request: not a JSON-RPC message object".to_owned(),
        );
    };
    let id = object
        .get("id")
        .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok());
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(id, "invalid request: `jsonrpc` must be \"2.0\"".to_owned());
    }
    match object.get("method") {
        Some(Value::String(_)) => {}
        Some(_) => return invalid(id, "invalid request: `method` is not a string".to_owned()),
        // An answer to a request of ours (the server sends none): handed on and dropped.
        None if object.contains_key("result") || object.contains_key("error") => {}
        None => return invalid(id, "invalid request: no `method`".to_owned()),
    }
    if object.get("id").is_some_and(|raw| !raw.is_null()) && id.is_none() {
        return invalid(
            None,
            "invalid request: `id` must be an integer or a string".to_owned(),
        );
    }
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Incoming::Message(message),
        Err(e) => invalid(id, format!("invalid request: {e}")),
    }
}

/// The frame of an outgoing message.
pub fn frame(message: &Message) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    message.write(&mut out)?;
    Ok(out)
}

/// The frame of an error answer whose id may be `null` (lsp-server's `Response` cannot say it).
pub fn error_frame(id: Option<&RequestId>, code: i32, message: &str) -> io::Result<Vec<u8>> {
    let body = serde_json::to_vec(&serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": code, "message": message},
    }))?;
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}

/// The reader and writer threads on standard input and output.
pub struct Stdio {
    pub incoming: Receiver<Incoming>,
    pub outgoing: Sender<Vec<u8>>,
    reader: JoinHandle<io::Result<()>>,
    writer: JoinHandle<io::Result<()>>,
}

impl Stdio {
    pub fn start() -> io::Result<Stdio> {
        let (to_server, incoming) = std::sync::mpsc::channel();
        let reader = std::thread::Builder::new()
            .name("lsp-reader".to_owned())
            .spawn(move || read_frames(&mut io::stdin().lock(), &to_server))?;
        let (outgoing, frames) = std::sync::mpsc::channel::<Vec<u8>>();
        let writer = std::thread::Builder::new()
            .name("lsp-writer".to_owned())
            .spawn(move || {
                let mut stdout = io::stdout().lock();
                for frame in frames {
                    stdout.write_all(&frame)?;
                    stdout.flush()?;
                }
                Ok(())
            })?;
        Ok(Stdio {
            incoming,
            outgoing,
            reader,
            writer,
        })
    }

    /// Waits for the writer to send everything queued. The reader is not waited for: after
    /// `exit` it may be blocked on standard input, and the process ends around it.
    pub fn finish(self) -> io::Result<()> {
        let Stdio {
            incoming,
            outgoing,
            reader,
            writer,
        } = self;
        drop((outgoing, incoming, reader));
        writer
            .join()
            .map_err(|_| io::Error::other("the writer thread panicked"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<Incoming> {
        let (tx, rx) = std::sync::mpsc::channel();
        read_frames(&mut io::BufReader::new(input), &tx).unwrap_or_else(|e| panic!("{e}"));
        drop(tx);
        rx.into_iter().collect()
    }

    fn framed(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    fn code(i: &Incoming) -> Option<i32> {
        match i {
            Incoming::Invalid { code, .. } => Some(*code),
            Incoming::Message(_) => None,
        }
    }

    #[test]
    fn garbage_then_a_request() {
        let input = [
            framed("hello"),
            framed(r#"{"jsonrpc":"2.0","id":7}"#),
            framed(r#"[1,2]"#),
            framed(r#"{"jsonrpc":"2.0","id":{"x":1},"method":"m"}"#),
            framed(r#"{"jsonrpc":"1.0","id":8,"method":"m"}"#),
            "Content-Type: x\r\n\r\n".to_owned(),
            "Content-Length: lots\r\n\r\n".to_owned(),
            framed(r#"{"jsonrpc":"2.0","id":9,"method":"shutdown"}"#),
        ]
        .concat();
        let got = read_all(input.as_bytes());
        let codes: Vec<Option<i32>> = got.iter().map(code).collect();
        assert_eq!(
            codes,
            [
                Some(-32700),
                Some(-32600),
                Some(-32600),
                Some(-32600),
                Some(-32600),
                Some(-32700),
                Some(-32700),
                None
            ]
        );
        // The id is kept where it could be read.
        assert!(matches!(&got[1], Incoming::Invalid { id: Some(id), .. } if *id == 7.into()));
        assert!(matches!(&got[3], Incoming::Invalid { id: None, .. }));
        assert!(
            matches!(&got[7], Incoming::Message(Message::Request(r)) if r.method == "shutdown")
        );
    }

    #[test]
    fn a_truncated_body_is_the_end() {
        let got = read_all(b"Content-Length: 50\r\n\r\n{\"jsonrpc\"");
        assert!(got.is_empty());
    }

    #[test]
    fn bare_newlines_and_case_in_headers() {
        let body = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!("content-length:{}\n\n{body}", body.len());
        let got = read_all(input.as_bytes());
        assert!(matches!(
            &got[..],
            [Incoming::Message(Message::Notification(n))] if n.method == "initialized"
        ));
    }

    #[test]
    fn the_error_frame_has_a_null_id() {
        let frame = error_frame(None, -32700, "x").unwrap_or_default();
        let text = String::from_utf8(frame).unwrap_or_default();
        let (_, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        let v: Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(v["id"], Value::Null);
        assert_eq!(v["error"]["code"], -32700);
    }
}
