//! `diagnose`: read nginx's error.log (and php-fpm's log) and say why requests failed.
//!
//! The log-reading half, independent of any config tree:
//!
//! * [`parse_line`] turns one error.log line into a [`LogEntry`] (time, level, pid, connection,
//!   message, and the `client:`/`server:`/`request:`/`upstream:`/`host:`/`referrer:` fields);
//! * [`classify`] names the gateway failure a line reports as a [`Cause`], with the HTTP status
//!   the client got, a one-line explanation and the static rule (GWnnn) that would have caught it;
//! * [`parse_fpm_line`] reads php-fpm's log (`execution timed out`, `pm.max_children`, signals);
//! * [`IncidentScanner`] / [`scan_error_log`] stream any number of logs (plain or gzip, see
//!   [`open_log`]) with flat memory and group identical failures into [`Incident`]s with counts and
//!   first/last times; [`scan_fpm_log`] does the same for php-fpm logs.
//!
//! The config half ([`diagnose`]) maps each group to the configuration: the server block
//! (`server:`/`host:`), the location (nginx's own search on the request URI, see [`mapping`]),
//! the handler line cross-checked with the logged upstream address, the timeout in force, the
//! static rule that would have caught it and a fix; php-fpm "execution timed out" lines are tied
//! to the resets they caused. [`render_human`] / [`render_json`] print the result.
//!
//! Line shapes come from nginx's source (`ngx_log_error_core`, `ngx_http_log_error_handler`) and
//! from real nginx 1.22 captures in `../shared/lab/scenarios/*/expected.txt`.

mod accesslog;
mod chunked;
mod classify;
mod diagnosis;
mod fpmlog;
mod histogram;
mod html;
mod incidents;
mod logline;
pub mod mapping;
mod readahead;
mod render;
mod since;
mod texts;

pub use accesslog::{
    access_for, access_index, access_shown, choose_format, timeout_drift, AccessGroup,
    AccessReport, AccessScanner, AccessShown, FormatChoice, FormatError, LogFormat, SocketEvidence,
    COMBINED, NEAR_TIMEOUT,
};
pub use classify::{classify, unclassified_kind, unresolved_host, Cause, NextUpstream};
pub use diagnosis::{
    config_newer_than_logs, diagnose, diagnose_with, place, retry_window_secs, Diagnosis, Finding,
    FpmKill, Group, Outcome, Place, PlaceText, Setting, UpstreamSummary,
};
pub use fpmlog::{parse_fpm_line, FpmEntry, FpmEvent, FpmLevel};
pub use histogram::{Histogram, RELATIVE_ERROR};
pub use html::{escape as html_escape, render_html, write_html};
pub use incidents::{
    distinct_files, open_log, scan_error_log, scan_error_log_path, scan_fpm_log, scan_fpm_log_path,
    DiagnoseError, FpmIncident, FpmPool, FpmReport, Incident, IncidentKey, IncidentScanner,
    KeyDetail, KindCount, MemberTries, ScanOptions, ScanReport, DEFAULT_MAX_GROUPS,
    DEFAULT_RETRY_WINDOW_SECS, HARD_GROUP_FACTOR, MAX_LINE, MAX_OPEN_REQUESTS,
};
pub use logline::{parse_line, Level, LogEntry, LogTime, Request, TimeParseError, Upstream};
pub use mapping::{ConfigMap, Socket};
pub use render::{render_human, render_json, write_human, write_json};
pub use since::{newest_time, Since, SinceError};
