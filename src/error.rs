//! One error type for the whole tool, and the one place that maps errors to exit codes.

use std::fmt;
use std::path::PathBuf;

/// Where a problem is: a place in a file, or a command-line flag / environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File {
        path: PathBuf,
        line: usize,
        col: usize,
    },
    /// A flag such as `--prefix`, or an environment variable such as `IOTSTACK_PREFIX`.
    Flag(String),
    None,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File { path, line, col } => write!(f, "{}:{line}:{col}", path.display()),
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::None => Ok(()),
        }
    }
}

/// One problem found before any AWS call: where, what, and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub origin: Origin,
    pub message: String,
    pub hint: Option<String>,
    pub warning: bool,
}

impl Diagnostic {
    pub fn error(origin: Origin, message: impl Into<String>) -> Self {
        Diagnostic {
            origin,
            message: message.into(),
            hint: None,
            warning: false,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = if self.warning { "warning" } else { "error" };
        match &self.origin {
            Origin::None => write!(f, "{level}: {}", self.message)?,
            o => write!(f, "{o}: {level}: {}", self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// An AWS call that failed: which operation, AWS's error code and AWS's own message.
#[derive(Debug, Clone)]
pub struct AwsError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl std::error::Error for AwsError {}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{}: {c}: {}", self.operation, self.message),
            None => write!(f, "{}: {}", self.operation, self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, found before any AWS call. Every problem is listed.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
    /// An AWS operation failed while working on one resource of the stack.
    #[error("{action} {resource}: {source}")]
    Resource {
        action: &'static str,
        resource: String,
        source: AwsError,
    },
    /// An AWS operation failed outside any one resource (account lookup, client set-up).
    #[error("{0}")]
    Aws(AwsError),
    /// The user did not confirm, or could not be asked.
    #[error("{0}")]
    Refused(String),
    /// Ctrl-C or a termination signal stopped the command (the stack's lock is released).
    #[error("{0}")]
    Interrupted(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

fn render_diagnostics(d: &[Diagnostic]) -> String {
    let errors = d.iter().filter(|d| !d.warning).count();
    let mut out = d
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    if errors > 1 {
        out.push_str(&format!("\n{errors} errors found; nothing was changed."));
    }
    out
}

impl Error {
    /// The process exit code: 130 when interrupted (128 + SIGINT, as shells report it), 1 for
    /// every other error (2 is reserved for "changes pending" and "a doctor check failed", which
    /// are results, not errors).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Interrupted(_) => 130,
            _ => 1,
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<AwsError> for Error {
    fn from(e: AwsError) -> Self {
        Error::Aws(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
