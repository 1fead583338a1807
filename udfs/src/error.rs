//! Errors that carry a PostgreSQL SQLSTATE, so a server in front of DataFusion can report the
//! right code (`22023` invalid parameter value, ...) instead of a generic internal error.

use datafusion::error::DataFusionError;

/// An error raised by a Sightline function, with the SQLSTATE a Postgres client should see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SqlError {
    /// Five-character SQLSTATE, e.g. `22023`.
    pub sqlstate: &'static str,
    pub message: String,
}

impl SqlError {
    /// `22023 invalid_parameter_value`: a constant argument is out of range or unknown.
    pub fn invalid_parameter(message: impl Into<String>) -> DataFusionError {
        Self::with_code("22023", message)
    }

    /// `42883 undefined_function`: no signature of the function accepts these arguments.
    pub fn wrong_arguments(message: impl Into<String>) -> DataFusionError {
        Self::with_code("42883", message)
    }

    /// `22000 data_exception`: the data cannot be processed as asked.
    pub fn data_exception(message: impl Into<String>) -> DataFusionError {
        Self::with_code("22000", message)
    }

    /// `42601 syntax_error`: the call is written in a form the function cannot take.
    pub fn syntax(message: impl Into<String>) -> DataFusionError {
        Self::with_code("42601", message)
    }

    pub fn with_code(sqlstate: &'static str, message: impl Into<String>) -> DataFusionError {
        DataFusionError::External(Box::new(SqlError {
            sqlstate,
            message: message.into(),
        }))
    }
}
