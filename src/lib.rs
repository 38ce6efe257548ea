//! nginx-gwlint: finds the nginx, PHP-FPM and backend settings behind 502 and 504 errors.

pub mod syntax;
pub mod config;
pub mod source;
pub mod diagnostic;
pub mod fix;
pub mod rules;
pub mod settings;
pub mod cli;
pub mod lint;
pub mod report;
