//! [`ApiError`]: every error the API answers, rendered as Coder's
//! `{message, detail?, validations?}` (`codersdk::Response`) with its status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codersdk::{Response as Body, ValidationError};
use store::StoreError;

/// Upstream's stock 404 text.
pub const RESOURCE_NOT_FOUND: &str =
    "Resource not found or you do not have access to this resource";
/// Upstream's stock 403 text.
pub const FORBIDDEN: &str = "Forbidden.";
/// Upstream's 401 text for a missing, malformed, unknown or expired token.
pub const SIGNED_OUT: &str =
    "You are signed out or your session has expired. Please sign in again to continue.";
/// Upstream's 500 text.
pub const INTERNAL: &str = "An internal server error occurred.";

/// An error response. Build one with the constructors; a handler returns
/// `Result<T, ApiError>`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: Body,
}

impl ApiError {
    /// Any status with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: Body::message(message),
        }
    }

    /// Adds a detail.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.body.detail = detail.into();
        self
    }

    /// Replaces the message.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.body.message = message.into();
        self
    }

    /// Adds validations.
    pub fn validations(mut self, v: Vec<ValidationError>) -> Self {
        self.body.validations = v;
        self
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 `Validation failed.` with one entry per field.
    pub fn validation(v: Vec<ValidationError>) -> Self {
        Self::bad_request("Validation failed.").validations(v)
    }

    /// 401 signed-out with a detail.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, SIGNED_OUT).detail(detail)
    }

    /// 403 `Forbidden.`
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, FORBIDDEN)
    }

    /// 404 stock message.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, RESOURCE_NOT_FOUND)
    }

    /// 404 `Route not found.`
    pub fn route_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "Route not found.")
    }

    /// 409 with a message.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 500: logs the cause (inside the request's span, so the line names
    /// the request id) and answers only the generic message: a database's
    /// or a library's text never reaches the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL)
    }
}

impl From<StoreError> for ApiError {
    /// `NotFound` -> 404 stock; `Conflict` -> 409; anything else -> 500.
    /// Handlers that know better (a named unique index) map before this.
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => ApiError::not_found(),
            StoreError::Conflict(_) => ApiError::conflict("Resource already exists."),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::domain::DomainError> for ApiError {
    /// A refusal keeps its message, detail and validations with the
    /// refusal's status; storage errors map as [`From<StoreError>`];
    /// anything else is a 500.
    fn from(err: crate::domain::DomainError) -> Self {
        use crate::domain::DomainError;
        match err {
            DomainError::Refused {
                kind,
                message,
                detail,
                validations,
            } => {
                let status = StatusCode::from_u16(kind.status_code())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut e = ApiError::new(status, message).validations(validations);
                e.body.detail = detail;
                e
            }
            DomainError::Store(e) => e.into(),
            DomainError::Internal(cause) => ApiError::internal(cause),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, crate::extract::Json(self.body)).into_response()
    }
}

/// A validation entry in upstream's words:
/// `Validation failed for tag "<tag>" with value: "<value>"`.
pub fn field_error(field: &str, tag: &str, value: &str) -> ValidationError {
    ValidationError {
        field: field.to_owned(),
        detail: format!("Validation failed for tag {tag:?} with value: {value:?}"),
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;
