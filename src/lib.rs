//! nginx-gwlint: finds the nginx, PHP-FPM and backend settings behind 502 and 504 errors.

pub mod address;
pub mod backends;
pub mod baseline;
pub mod cli;
pub mod codes;
pub mod config;
pub mod diagnose;
pub mod diagnostic;
pub mod directives;
pub mod fix;
pub mod lint;
pub mod probe;
pub mod report;
pub mod rules;
pub mod semantic;
pub mod server;
pub mod settings;
pub mod source;
pub mod suppress;
pub mod syntax;
pub mod system;
pub mod temp;
pub mod values;
pub mod workspace;

#[cfg(test)]
mod layering;
