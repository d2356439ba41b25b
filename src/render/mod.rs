//! Rendering: human text, JSON and progress. These only read results; they never decide.

pub mod doctor;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod human;
pub mod json;
pub mod outputs;
pub mod progress;
pub mod validate;

use std::io::IsTerminal;

/// Whether to use colour on a stream: a terminal, no `--no-color`, no `NO_COLOR`.
pub fn color_enabled(no_color_flag: bool, stream_is_tty: bool) -> bool {
    stream_is_tty && !no_color_flag && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

/// ANSI styling that becomes a no-op without colour.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn green(&self, s: &str) -> String {
        self.wrap("32", s)
    }
    pub fn yellow(&self, s: &str) -> String {
        self.wrap("33", s)
    }
    pub fn red(&self, s: &str) -> String {
        self.wrap("31", s)
    }
    pub fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    pub fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
}
