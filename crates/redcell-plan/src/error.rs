//! The one error type of the crate.

use std::fmt;

/// Everything that can go wrong reading, checking, solving or writing.
///
/// Messages name the offending entry, e.g.
/// `members[12] (id "m-7"): max is negative (-3)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The instance (or a plan) breaks the contract; `at` names the entry,
    /// e.g. `members[12] (id "m-7")` or `params.move_penalty`.
    Invalid {
        /// Which entry: list and index, with the id when there is one.
        at: String,
        /// What is wrong with it.
        message: String,
    },
    /// A plan handed to [`crate::evaluate`] is not feasible for the instance.
    Infeasible {
        /// Which entry of the plan.
        at: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file could not be parsed as JSON of the expected shape.
    Parse {
        /// The file (or `<input>` for in-memory text).
        file: String,
        /// The JSON path of the offending field, e.g. `households[3].x`.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// Reading or writing a file failed.
    Io {
        /// The file.
        file: String,
        /// The operating system's message.
        message: String,
    },
}

impl PlanError {
    pub(crate) fn invalid(at: impl Into<String>, message: impl Into<String>) -> Self {
        PlanError::Invalid { at: at.into(), message: message.into() }
    }

    pub(crate) fn infeasible(at: impl Into<String>, message: impl Into<String>) -> Self {
        PlanError::Infeasible { at: at.into(), message: message.into() }
    }

    pub(crate) fn io(file: &std::path::Path, e: &std::io::Error) -> Self {
        PlanError::Io { file: file.display().to_string(), message: e.to_string() }
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Invalid { at, message } => write!(f, "{at}: {message}"),
            PlanError::Infeasible { at, message } => write!(f, "infeasible plan: {at}: {message}"),
            PlanError::Parse { file, path, message } => {
                if path.is_empty() || path == "." {
                    write!(f, "{file}: {message}")
                } else {
                    write!(f, "{file}: {path}: {message}")
                }
            }
            PlanError::Io { file, message } => write!(f, "{file}: {message}"),
        }
    }
}

impl std::error::Error for PlanError {}
