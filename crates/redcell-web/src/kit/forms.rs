//! One way to show a form's errors: every field error beside its field (the
//! `field` macro of `templates/macros.html`), the ones without a field on
//! the page in one summary above the form (the `errors` macro).

use redcell_domain::{FieldError, Invalid};
use redcell_store::StoreError;

/// The line above a form's errors.
pub const SUMMARY: &str = redcell_domain::i18n::FORM_HAS_ERRORS;

/// The errors of a submitted form.
#[derive(Debug, Clone, Default)]
pub struct Errors(pub Vec<FieldError>);

impl Errors {
    pub fn none() -> Errors {
        Errors::default()
    }

    /// The field errors of a refused write, or the error itself when it is
    /// not about the form's fields (not found, forbidden, internal).
    pub fn of(e: StoreError) -> Result<Errors, StoreError> {
        match e {
            StoreError::Invalid(Invalid(v)) => Ok(Errors(v)),
            StoreError::Denied(f) => Ok(Errors(vec![f])),
            e => Err(e),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The status of the page that shows them: 422 when there are any.
    pub fn status(&self) -> axum::http::StatusCode {
        if self.is_empty() { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNPROCESSABLE_ENTITY }
    }

    /// The line above the form: how many things to correct.
    pub fn summary(&self) -> String {
        SUMMARY.replace("{n}", &self.0.len().to_string())
    }

    /// The message for `field`, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    /// The messages of the errors whose field is not one of `shown` (they
    /// have no place beside a field, so the summary carries them).
    pub fn unplaced<'a, T: AsRef<[&'a str]> + ?Sized>(&self, shown: &T) -> Vec<String> {
        let shown = shown.as_ref();
        self.0.iter().filter(|e| !shown.contains(&e.field.as_str())).map(|e| e.message.clone()).collect()
    }
}

impl From<Invalid> for Errors {
    fn from(i: Invalid) -> Errors {
        Errors(i.0)
    }
}
