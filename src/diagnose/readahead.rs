//! Reads and parses an error log's lines ahead of the scanner, on a thread of its own.
//!
//! Reading a line, checking its UTF-8 and parsing it ([`parse_line`]) cost about as much as the
//! scanner's grouping of it (`IncidentScanner::take`): profiled on a 500,000-line log, 2,800 and
//! 2,600 instructions a line. With two or more threads in rayon's pool, a reader thread does the
//! first half, plus what the caller's `prepare` works out from the line alone (the scanner's
//! `LineFacts`: the cause, the group key's ranges, hashes), into batches of lines with their
//! entries as byte ranges ([`EntryAt`]); the caller's thread rebuilds each entry over the
//! batch's copy of the line and groups it. The lines reach the caller in the order of the log,
//! each once, with the entry it would have parsed itself, so the result does not depend on the
//! thread count. With one thread (`RAYON_NUM_THREADS=1`, or one CPU) the same loop runs on the
//! caller's thread.
//!
//! Memory stays flat: at most [`DEPTH`] full batches wait, each of about [`BATCH_BYTES`] of text
//! (plus one line of at most the caller's cap), and drained batches go back to the reader to be
//! filled again.

use std::io::{self, BufRead};
use std::sync::mpsc;

use super::incidents::{read_line_capped, utf8};
use super::logline::{parse_line, EntryAt, LogEntry};

/// Text per batch before it is handed over.
const BATCH_BYTES: usize = 256 * 1024;

/// Lines per batch at most (short lines).
const BATCH_LINES: usize = 2048;

/// Full batches waiting for the caller at most.
const DEPTH: usize = 4;

/// One line of a batch: where it ends in the batch's text (it starts where the previous one
/// ended), whether it was cut at the cap, and its parse.
#[derive(Debug)]
struct Line<T> {
    end: u32,
    cut: bool,
    parse: Parse<T>,
}

#[derive(Debug)]
enum Parse<T> {
    /// Not an nginx line (a continuation, another program's output).
    NotNginx,
    Entry(EntryAt, T),
    /// A field that is no slice of the line (never seen): the caller parses it again.
    Again,
}

#[derive(Debug)]
struct Batch<T> {
    text: String,
    lines: Vec<Line<T>>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Self {
            text: String::new(),
            lines: Vec::new(),
        }
    }
}

/// Calls `each(line, cut, parsed)` for every line of `reader` in order: the line without its
/// line end, whether it was longer than `cap` bytes (and cut there), and [`parse_line`]'s entry
/// with what `prepare` makes of it and the line (on the reading thread: it must depend on
/// nothing else).
pub(crate) fn for_each_line<R, P, T, F>(
    reader: R,
    cap: usize,
    prepare: P,
    each: F,
) -> io::Result<()>
where
    R: BufRead + Send,
    P: Fn(&str, &LogEntry<'_>) -> T + Send + Copy,
    T: Send,
    F: FnMut(&str, bool, Option<(LogEntry<'_>, T)>),
{
    if rayon::current_num_threads() > 1 {
        ahead(reader, cap, prepare, each)
    } else {
        inline(reader, cap, prepare, each)
    }
}

/// [`parse_line`] and `prepare`: what a line gives on either path.
pub(crate) fn parse<T>(
    line: &str,
    prepare: impl Fn(&str, &LogEntry<'_>) -> T,
) -> Option<(LogEntry<'_>, T)> {
    parse_line(line).map(|e| {
        let t = prepare(line, &e);
        (e, t)
    })
}

/// Everything on the caller's thread.
fn inline<R: BufRead, P, T, F>(mut reader: R, cap: usize, prepare: P, mut each: F) -> io::Result<()>
where
    P: Fn(&str, &LogEntry<'_>) -> T + Copy,
    F: FnMut(&str, bool, Option<(LogEntry<'_>, T)>),
{
    let mut buf = Vec::with_capacity(4096);
    while let Some(cut) = read_line_capped(&mut reader, &mut buf, cap)? {
        let text = utf8(&buf);
        let line = text.trim_end_matches(['\n', '\r']);
        each(line, cut, parse(line, prepare));
    }
    Ok(())
}

/// Reading and parsing on a scoped thread, grouping on the caller's.
fn ahead<R, P, T, F>(reader: R, cap: usize, prepare: P, mut each: F) -> io::Result<()>
where
    R: BufRead + Send,
    P: Fn(&str, &LogEntry<'_>) -> T + Send + Copy,
    T: Send,
    F: FnMut(&str, bool, Option<(LogEntry<'_>, T)>),
{
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch<T>>(DEPTH);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch<T>>();
    std::thread::scope(|scope| {
        let reading = scope.spawn(move || fill(reader, cap, prepare, &full_tx, &empty_rx));
        for mut batch in full_rx {
            let mut start = 0;
            for l in batch.lines.drain(..) {
                let end = l.end as usize;
                let line = batch.text.get(start..end).unwrap_or_default();
                start = end;
                let parsed = match l.parse {
                    Parse::NotNginx => None,
                    Parse::Entry(at, t) => match at.entry(line) {
                        Some(e) => Some((e, t)),
                        None => parse(line, prepare),
                    },
                    Parse::Again => parse(line, prepare),
                };
                each(line, l.cut, parsed);
            }
            // `drain` emptied the lines.
            batch.text.clear();
            // The reader may have finished: then the batch is simply dropped.
            let _ = empty_tx.send(batch);
        }
        reading
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the log reading thread panicked")))
    })
}

/// The reading thread: fills batches (reusing the drained ones) and sends them in order.
fn fill<R: BufRead, T>(
    mut reader: R,
    cap: usize,
    prepare: impl Fn(&str, &LogEntry<'_>) -> T,
    full: &mpsc::SyncSender<Batch<T>>,
    empty: &mpsc::Receiver<Batch<T>>,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(4096);
    let mut batch = Batch::default();
    loop {
        let cut = match read_line_capped(&mut reader, &mut buf, cap) {
            Ok(Some(cut)) => cut,
            Ok(None) => break,
            Err(e) => {
                // The lines before the error are delivered, as on one thread.
                let _ = full.send(batch);
                return Err(e);
            }
        };
        let text = utf8(&buf);
        let start = batch.text.len();
        batch.text.push_str(text.trim_end_matches(['\n', '\r']));
        let Ok(end) = u32::try_from(batch.text.len()) else {
            // Unreachable: a batch is handed over at BATCH_BYTES plus one line of at most `cap`.
            return Err(io::Error::other("log batch over 4 GiB"));
        };
        let line = batch.text.get(start..).unwrap_or_default();
        let parse = match parse_line(line) {
            None => Parse::NotNginx,
            Some(e) => match EntryAt::of(line, &e) {
                Some(at) => Parse::Entry(at, prepare(line, &e)),
                None => Parse::Again,
            },
        };
        batch.lines.push(Line { end, cut, parse });
        if batch.text.len() >= BATCH_BYTES || batch.lines.len() >= BATCH_LINES {
            let next = empty.try_recv().unwrap_or_default();
            if full.send(std::mem::replace(&mut batch, next)).is_err() {
                // The caller stopped listening.
                return Ok(());
            }
        }
    }
    if !batch.lines.is_empty() {
        let _ = full.send(batch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the scanner's facts: something of both the line and the entry.
    fn prepare(line: &str, e: &LogEntry<'_>) -> usize {
        line.len() * 7 + e.message.len()
    }

    /// Every line the scanner would see, with its entry, from both paths.
    fn collect(log: &str, cap: usize, threaded: bool) -> Vec<(String, bool, Option<String>)> {
        let mut out = Vec::new();
        let each = |line: &str, cut: bool, e: Option<(LogEntry<'_>, usize)>| {
            out.push((line.to_owned(), cut, e.map(|e| format!("{e:?}"))));
        };
        let reader = io::Cursor::new(log.as_bytes().to_vec());
        let ran = if threaded {
            ahead(reader, cap, prepare, each)
        } else {
            inline(reader, cap, prepare, each)
        };
        assert!(ran.is_ok());
        out
    }

    #[test]
    fn both_paths_give_the_same_lines_and_entries() {
        let lines = [
            "2026/11/26 02:00:01 [error] 4242#4242: *1 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.1.0, server: a.example.com, request: \"GET /x?y=1 HTTP/1.1\", upstream: \"http://127.0.0.1:3000/x?y=1\", host: \"a.example.com\"",
            "2026/11/26 02:00:02 [error] 4242#4242: *2 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 10.0.2.0, server: b, request: \"GET http://h HTTP/1.1\", upstream: \"fastcgi://unix:/run/php.sock:\", host: \"b\", referrer: \"http://r/\"",
            "2026/11/26 02:00:03 [crit] 4242#4242: *3 connect() to unix:/run/php.sock failed (2: No such file or directory) while connecting to upstream, client: 10.0.3.0",
            "2026/11/26 02:00:04 [error] 4242#4242: *4 FastCGI sent in stderr: \"PHP message: first",
            "PHP message: continued, client: x",
            "2026/11/26 02:00:05 [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address in use)",
            "2026/11/26 02:00:05 [info] 4242#",
            "nginx: [emerg] unknown directive \"x\" in /etc/nginx/nginx.conf:3",
            "not a log line at all",
            "2026/11/26 02:00:06 [error] 4242#4242: *5 upstream sent invalid header: \"X-\u{e9}\" while reading response header from upstream, client: 10.0.5.0, server: caf\u{e9}, request: \"GET /caf\u{e9} HTTP/1.1\"",
            "",
        ];
        let mut log = String::new();
        // Enough lines for several batches, CRLF and LF.
        for i in 0..3000 {
            log.push_str(lines[i % lines.len()]);
            log.push_str(if i % 7 == 0 { "\r\n" } else { "\n" });
        }
        log.push_str("2026/11/26 02:00:07 [error] 1#1: *9 no newline at the end");
        let one = collect(&log, 64 * 1024, false);
        let two = collect(&log, 64 * 1024, true);
        assert_eq!(one.len(), 3001);
        assert!(one.iter().filter(|l| l.2.is_some()).count() > 1800);
        assert_eq!(one, two);
        // Cut lines keep their flag and what fits.
        let one = collect(&log, 60, false);
        assert!(one.iter().any(|l| l.1));
        assert_eq!(one, collect(&log, 60, true));
    }

    #[test]
    fn invalid_utf8_is_replaced_on_both_paths() {
        let mut log = b"2026/11/26 02:00:01 [error] 1#1: *1 recv() failed (104: x), client: 1.2.3.4, server: \xff\xfe, request: \"GET /\xc3 HTTP/1.1\"\n".to_vec();
        log.extend_from_slice(&log.clone());
        let run = |threaded: bool| {
            let mut out = Vec::new();
            let each = |line: &str, _: bool, e: Option<(LogEntry<'_>, usize)>| {
                out.push((line.to_owned(), e.map(|e| format!("{e:?}"))));
            };
            let reader = io::Cursor::new(log.clone());
            let ran = if threaded {
                ahead(reader, 1024, prepare, each)
            } else {
                inline(reader, 1024, prepare, each)
            };
            assert!(ran.is_ok());
            out
        };
        let one = run(false);
        assert_eq!(one.len(), 2);
        assert!(one[0].0.contains('\u{fffd}'));
        assert!(one[0].1.is_some());
        assert_eq!(one, run(true));
    }

    #[test]
    fn a_read_error_reaches_the_caller() {
        struct Failing(usize);
        impl io::Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk gone"));
                }
                self.0 -= 1;
                let line = b"2026/11/26 02:00:01 [error] 1#1: *1 x, client: 1.2.3.4\n";
                let n = line.len().min(buf.len());
                buf[..n].copy_from_slice(&line[..n]);
                Ok(n)
            }
        }
        for threaded in [false, true] {
            let mut seen = 0;
            let reader = io::BufReader::new(Failing(3000));
            let each = |_: &str, _: bool, _: Option<(LogEntry<'_>, usize)>| seen += 1;
            let ran = if threaded {
                ahead(reader, 1024, prepare, each)
            } else {
                inline(reader, 1024, prepare, each)
            };
            let err = ran.err().map(|e| e.to_string());
            assert_eq!(err.as_deref(), Some("disk gone"));
            // The lines read before the error were all delivered.
            assert_eq!(seen, 3000);
        }
    }
}
