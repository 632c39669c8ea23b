use serde::Serialize;
use std::fmt;

/// A validation failure tied to one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field name as the API and forms know it (e.g. `id_number`).
    pub field: String,
    /// A stable machine code (e.g. `checksum`).
    pub code: &'static str,
    /// A human message in Simplified Chinese.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code, message: message.into() }
    }
    /// The same error attached to another field name (types are field-agnostic).
    pub fn on(mut self, field: &str) -> Self {
        self.field = field.to_string();
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Several field errors collected from one form or request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    /// Collect the error of `r` (if any) and return its value.
    pub fn check<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    pub fn first(&self) -> Option<&FieldError> {
        self.0.first()
    }
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl From<FieldError> for Invalid {
    fn from(e: FieldError) -> Self {
        Invalid(vec![e])
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}
