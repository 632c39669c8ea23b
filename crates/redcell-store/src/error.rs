use redcell_domain::{FieldError, Invalid};

/// What can go wrong in a store call. Web maps these to HTTP answers; internal
/// details (`Db`, `Internal`) are logged, never shown.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid input: {0}")]
    Invalid(Invalid),
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    /// The caller may not use the thing a field refers to.
    #[error("forbidden: {0}")]
    Denied(FieldError),
    #[error("unauthorized")]
    Unauthorized,
    /// Too many attempts; retry after this many seconds.
    #[error("rate limited for {0} s")]
    RateLimited(i64),
    #[error("account locked until {0}")]
    Locked(chrono::DateTime<chrono::Utc>),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("internal: {0}")]
    Internal(String),
}

impl From<Invalid> for StoreError {
    fn from(e: Invalid) -> Self {
        StoreError::Invalid(e)
    }
}

impl From<FieldError> for StoreError {
    fn from(e: FieldError) -> Self {
        StoreError::Invalid(e.into())
    }
}

impl StoreError {
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::UniqueViolation)
    }
    pub fn is_fk_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation)
    }
}

pub trait ResultExt<T> {
    /// Turn a unique-key violation into a field error.
    fn unique_as(self, field: &str, message: &str) -> Result<T, StoreError>;
}

impl<T> ResultExt<T> for Result<T, StoreError> {
    fn unique_as(self, field: &str, message: &str) -> Result<T, StoreError> {
        self.map_err(|e| {
            if e.is_unique_violation() {
                StoreError::Invalid(FieldError::new(field, "duplicate", message).into())
            } else {
                e
            }
        })
    }
}
