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

/// Why work on one resource failed: AWS's answer, or something that is not AWS's doing. JSON
/// output tells them apart by `kind` (`aws`, `local`, `other`).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ResourceError {
    /// AWS refused the call, or could not be reached.
    #[error("{0}")]
    Aws(#[from] AwsError),
    /// Something on this machine: packaging function code, a local file (a key, a CSR), a
    /// request that could not be put together.
    #[error("{operation}: {message}")]
    Local {
        operation: &'static str,
        message: String,
    },
    /// Neither: AWS accepted a write that it then does not show when read back.
    #[error("{operation}: {message}")]
    Other {
        operation: &'static str,
        message: String,
    },
}

impl ResourceError {
    pub fn local(operation: &'static str, message: impl fmt::Display) -> Self {
        ResourceError::Local {
            operation,
            message: message.to_string(),
        }
    }

    /// The AWS error, when AWS answered.
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            ResourceError::Aws(e) => Some(e),
            _ => None,
        }
    }

    /// `aws`, `local` or `other`: the `kind` of the JSON error.
    pub fn kind(&self) -> &'static str {
        match self {
            ResourceError::Aws(_) => "aws",
            ResourceError::Local { .. } => "local",
            ResourceError::Other { .. } => "other",
        }
    }

    pub fn operation(&self) -> &'static str {
        match self {
            ResourceError::Aws(e) => e.operation,
            ResourceError::Local { operation, .. } | ResourceError::Other { operation, .. } => {
                operation
            }
        }
    }

    /// AWS's error code (none for local and other failures).
    pub fn code(&self) -> Option<&str> {
        self.aws().and_then(|e| e.code.as_deref())
    }

    pub fn message(&self) -> &str {
        match self {
            ResourceError::Aws(e) => &e.message,
            ResourceError::Local { message, .. } | ResourceError::Other { message, .. } => message,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input, found before any AWS call. Every problem is listed.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
    /// Work on one resource of the stack failed (AWS refused, or something local did).
    #[error("{action} {resource}: {source}")]
    Resource {
        action: &'static str,
        resource: String,
        source: ResourceError,
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
