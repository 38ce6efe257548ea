//! Where a directive sits: nginx's `NGX_*_CONF` contexts, as the directive table names them.

/// Where a directive is written, in nginx's terms (the `NGX_*_CONF` flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    Main,
    Events,
    Http,
    Server,
    Location,
    Upstream,
    IfServer,
    IfLocation,
    LimitExcept,
    Stream,
    StreamServer,
    StreamUpstream,
    Mail,
    MailServer,
    /// The body of `map`, `geo`, `types`, ...: entries, not directives.
    Entries,
    /// Inside a block nginx-gwlint does not know (a third-party module's).
    Unknown,
}

impl Context {
    /// The name used in grammar/directives.toml.
    pub fn as_str(self) -> &'static str {
        match self {
            Context::Main => "main",
            Context::Events => "events",
            Context::Http => "http",
            Context::Server => "server",
            Context::Location => "location",
            Context::Upstream => "upstream",
            Context::IfServer => "if_server",
            Context::IfLocation => "if_location",
            Context::LimitExcept => "limit_except",
            Context::Stream => "stream",
            Context::StreamServer => "stream_server",
            Context::StreamUpstream => "stream_upstream",
            Context::Mail => "mail",
            Context::MailServer => "mail_server",
            Context::Entries => "entries",
            Context::Unknown => "unknown",
        }
    }

    /// The context inside the block of directive `name` written in `self`.
    pub fn inner(self, name: &str) -> Context {
        use Context::*;
        match (self, name) {
            (_, "map" | "geo" | "types" | "split_clients" | "charset_map" | "match") => Entries,
            (Main, "events") => Events,
            (Main, "http") => Http,
            (Main, "stream") => Stream,
            (Main, "mail") => Mail,
            (Http, "server") => Server,
            (Http, "upstream") => Upstream,
            (Server | Location, "location") => Location,
            (Server, "if") => IfServer,
            (Location | IfLocation, "if") => IfLocation,
            (Location | IfLocation, "limit_except") => LimitExcept,
            (Stream, "server") => StreamServer,
            (Stream, "upstream") => StreamUpstream,
            (Mail, "server") => MailServer,
            _ => Unknown,
        }
    }

    /// http-level blocks whose settings are inherited by the blocks below them.
    pub fn is_http_like(self) -> bool {
        matches!(
            self,
            Context::Http
                | Context::Server
                | Context::Location
                | Context::IfServer
                | Context::IfLocation
                | Context::LimitExcept
        )
    }
}

/// A tree's entry file is nginx.conf (main) unless told otherwise.
impl Default for Context {
    fn default() -> Self {
        Context::Main
    }
}

impl Context {
    /// The context `--context` names: `main`, `http`, `server` or `location`.
    pub fn from_name(name: &str) -> Option<Context> {
        match name {
            "main" => Some(Context::Main),
            "http" => Some(Context::Http),
            "server" => Some(Context::Server),
            "location" => Some(Context::Location),
            _ => None,
        }
    }
}
