//! [`ScimError`]: every SCIM error, rendered as the RFC 7644 §3.12 error
//! body (`urn:ietf:params:scim:api:messages:2.0:Error`, `status` as a
//! string, `scimType`, `detail`) with `Content-Type: application/scim+json`.
//!
//! `scimType` is RFC 7644 Table 9's keyword for 400s and 409 `uniqueness`;
//! other statuses carry upstream Coder's keywords (`invalidAuthorization`,
//! `notFound`, ...), so every error body has both `status` and `scimType`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use store::StoreError;

use super::scim_json;

/// Most characters of an error's `detail` on the wire.
pub const MAX_DETAIL: usize = 1000;

/// A SCIM error response.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: &'static str,
    pub detail: String,
}

impl ScimError {
    /// Any status, keyword and detail.
    pub fn new(status: StatusCode, scim_type: &'static str, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 `invalidFilter` (RFC 7644 §3.4.2.2).
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidFilter", detail)
    }

    /// 400 `invalidSyntax`: the body is not valid JSON or not a SCIM message.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidSyntax", detail)
    }

    /// 400 `invalidValue`: a required value is missing or of the wrong type.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidValue", detail)
    }

    /// 400 `invalidPath`: a malformed PATCH `path` (RFC 7644 §3.5.2).
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidPath", detail)
    }

    /// 400 `noTarget`: a PATCH path that selects nothing where it must.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "noTarget", detail)
    }

    /// 400 `mutability`: an attempt to change a read-only attribute.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "mutability", detail)
    }

    /// 409 `uniqueness` (RFC 7644 §3.3).
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "uniqueness", detail)
    }

    /// 401 `invalidAuthorization`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalidAuthorization",
            "invalid authorization: send the SCIM API key in the Authorization header",
        )
    }

    /// 404 `notFound` for an unknown resource id.
    pub fn not_found(resource: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "notFound",
            format!("{resource} {} not found", super::limits::excerpt(id)),
        )
    }

    /// 500: logs the cause, answers a generic detail.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "scim: internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "An internal server error occurred.",
        )
    }

    /// The wire body. `detail` is cut to [`MAX_DETAIL`] characters, so no
    /// client text quoted in it (a serde error repeating a huge value) can
    /// make an error body large.
    pub fn body(&self) -> codersdk::ScimError {
        codersdk::ScimError {
            schemas: vec![codersdk::SCIM_ERROR_SCHEMA.to_owned()],
            status: self.status.as_u16().to_string(),
            scim_type: Some(self.scim_type.to_owned()),
            detail: super::limits::clip(&self.detail, MAX_DETAIL),
        }
    }
}

impl From<StoreError> for ScimError {
    /// `NotFound` -> 404; `Conflict` -> 409 `uniqueness`; else 500.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::new(StatusCode::NOT_FOUND, "notFound", "not found"),
            StoreError::Conflict(what) => Self::uniqueness(conflict_detail(what)),
            other => Self::internal(other),
        }
    }
}

impl From<crate::domain::DomainError> for ScimError {
    /// A refusal keeps its status, with RFC 7644's keyword for 400
    /// (`invalidValue`) and 409 (`uniqueness`) and the message as detail;
    /// storage errors map as [`From<StoreError>`].
    fn from(e: crate::domain::DomainError) -> Self {
        use crate::domain::{DomainError, Refusal};
        match e {
            DomainError::Refused { kind, message, .. } => {
                let status = StatusCode::from_u16(kind.status_code())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let keyword = match kind {
                    Refusal::Invalid => "invalidValue",
                    Refusal::Conflict => "uniqueness",
                    Refusal::NotFound => "notFound",
                    Refusal::Unauthenticated => "invalidAuthorization",
                    Refusal::Forbidden => "forbidden",
                    Refusal::Gone | Refusal::PreconditionFailed => "invalidValue",
                };
                Self::new(status, keyword, message)
            }
            DomainError::Store(e) => e.into(),
            DomainError::Internal(cause) => Self::internal(cause),
        }
    }
}

fn conflict_detail(what: store::Constraint) -> String {
    use store::Constraint as C;
    match what {
        C::UserEmail => "the email address is already used by another user".into(),
        C::ScimUserName | C::ScimUserExists => {
            "a user with this userName or email already exists".into()
        }
        C::UserUsername => "no free Coder username could be derived".into(),
        other => format!("conflicting resource ({other:?})"),
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut res = scim_json(&self.body());
        *res.status_mut() = self.status;
        res
    }
}

/// SCIM handler result.
pub type ScimResult<T> = Result<T, ScimError>;
