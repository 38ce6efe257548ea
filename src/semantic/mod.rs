//! What nginx checks while it reads a configuration, beyond the directive table: how it parses
//! variable references in scripts (`ngx_http_script_compile`), URLs (`ngx_parse_url`), regular
//! expressions (PCRE2, as `ngx_regex_compile` calls it), and which variables exist. The GW02x
//! rules and `diagnose` share these helpers, so both read the configuration as nginx does.

pub mod condition;
pub mod refs;
pub mod regex;
pub mod script;
pub mod sites;
pub mod upstreams;
pub mod url;
pub mod variables;
