//! What a rule reports. Locations are byte spans in a [`FileId`]; line and column are computed
//! when a report is rendered.

use serde::{Deserialize, Serialize};

pub mod edits;
mod fix;

pub use fix::{Applicability, Edit, Fix};

use crate::source::FileId;
use crate::syntax::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity \"{other}\" (expected error, warning or info)"
            )),
        }
    }
}

/// A secondary location: where an inherited value was set, the php.ini line of a limit, ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Rule id, `GWnnn`.
    pub rule: &'static str,
    /// Rule name, kebab-case.
    pub name: &'static str,
    pub severity: Severity,
    pub file: FileId,
    pub span: Span,
    /// What is wrong and why it leads to a 502/504.
    pub message: String,
    /// What to do about it. Most rules' advice is fixed text, kept borrowed: a run with a
    /// million findings does not hold a million copies of it.
    pub help: Option<std::borrow::Cow<'static, str>>,
    pub labels: Vec<Label>,
    pub fix: Option<Fix>,
}

impl Diagnostic {
    pub fn new(
        rule: &'static str,
        name: &'static str,
        severity: Severity,
        file: FileId,
        span: Span,
        message: impl Into<String>,
    ) -> Self {
        Self {
            rule,
            name,
            severity,
            file,
            span,
            message: message.into(),
            help: None,
            labels: Vec::new(),
            fix: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, file: FileId, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            file,
            span,
            message: message.into(),
        });
        self
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(fix);
        self
    }

    /// The message followed by `help: ...` on its own line: for formats with one text field
    /// (SARIF, GitHub annotations, checkstyle).
    pub fn message_with_help(&self) -> String {
        match &self.help {
            Some(help) => format!("{}\nhelp: {help}", self.message),
            None => self.message.clone(),
        }
    }

    /// Sort key: file, position, rule.
    pub fn sort_key(&self) -> (FileId, usize, usize, &'static str) {
        (self.file, self.span.start(), self.span.end(), self.rule)
    }
}

/// Counts shown in summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Findings with a fix `--fix` or `--unsafe-fixes` applies.
    pub fixable: usize,
    /// Of those, the ones only `--unsafe-fixes` applies.
    pub unsafe_fixable: usize,
}

impl Summary {
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        let mut s = Summary::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Info => s.infos += 1,
            }
            if let Some(f) = &d.fix {
                if f.applicability > Applicability::DisplayOnly {
                    s.fixable += 1;
                }
                if f.applicability == Applicability::Unsafe {
                    s.unsafe_fixable += 1;
                }
            }
        }
        s
    }

    pub fn total(&self) -> usize {
        self.errors + self.warnings + self.infos
    }
}
