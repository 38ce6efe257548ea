//! nginx-gwlint: finds the nginx, PHP-FPM and backend settings behind 502 and 504 errors.

pub mod diagnose;
pub mod syntax;
