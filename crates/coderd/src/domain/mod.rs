//! The domain layer: one function per business operation, called by every
//! front end (the REST API in [`crate::api`], SCIM in [`crate::scim`],
//! background jobs such as [`crate::dormancy`], and the dashboard to come).
//!
//! A domain function takes an [`Actor`] (who), an [`AuditContext`] (which
//! request) and typed input; it authorizes, validates, runs the store
//! transaction and writes the audit row in it ([`audit`]), and returns a
//! typed outcome or a [`DomainError`]. Nothing here knows axum or HTTP:
//! front ends parse their wire format, call in, and render the outcome
//! (`From<DomainError>` for [`crate::error::ApiError`] and for
//! [`crate::scim::error::ScimError`]).
//!
//! Every mutating operation the front ends serve lives here: users
//! ([`users`]: REST and SCIM creation, status, roles, password, login and
//! logout, dormancy), [`groups`] and [`template_acl`], [`templates`] and
//! versions, [`workspaces`], [`builds`] (the one job and build row builder
//! and what provisioner daemons report), [`licenses`], [`appearance`],
//! [`apikeys`], organization member roles ([`organizations`]), OpenID
//! Connect login ([`oidc`]) and the IdP sync settings ([`idpsync`]).
//! [`lookup`] resolves each path parameter once, with its 404 rule.
//! Operations that change what authentication sees evict the cached
//! sessions after their commit ([`crate::sessions`]).

pub mod apikeys;
pub mod appearance;
pub mod audit;
pub mod builds;
pub mod groups;
pub mod idpsync;
pub mod licenses;
pub mod lookup;
pub mod oidc;
pub mod organizations;
pub mod template_acl;
pub mod templates;
pub mod users;
pub mod workspaces;

use codersdk::ValidationError;
use uuid::Uuid;

use crate::rbac::Subject;

/// Who performs an operation.
#[derive(Clone, Debug)]
pub enum Actor {
    /// A signed-in user and their RBAC subject.
    User {
        /// The user's id (the audit row's `user_id`).
        id: Uuid,
        /// The user's name, for logs.
        username: String,
        /// What the user may do.
        subject: Subject,
    },
    /// The server itself, on behalf of a named subsystem (`scim`,
    /// `dormancy`): upstream's "automatic actor" (coder-now 1.10).
    System {
        /// Which subsystem acts.
        subsystem: Subsystem,
    },
}

/// A subsystem acting as [`Actor::System`]; its name is the audit row's
/// `additional_fields.automatic_subsystem`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subsystem {
    /// SCIM provisioning (`/scim/v2`).
    Scim,
    /// The dormancy job (upstream's `BackgroundSubsystemDormancy`).
    Dormancy,
    /// OpenID Connect login: the sign-up of a new user and the role
    /// changes IdP sync makes.
    Oidc,
}

impl Subsystem {
    /// The name written to `automatic_subsystem`.
    pub fn as_str(self) -> &'static str {
        match self {
            Subsystem::Scim => "scim",
            Subsystem::Dormancy => "dormancy",
            Subsystem::Oidc => "oidc",
        }
    }
}

impl Actor {
    /// The actor of an authenticated request.
    pub fn user(user: &store::User, subject: Subject) -> Actor {
        Actor::User {
            id: user.id,
            username: user.username.clone(),
            subject,
        }
    }

    /// The audit row's `user_id`: the user, or the nil UUID for the system.
    pub fn user_id(&self) -> Uuid {
        match self {
            Actor::User { id, .. } => *id,
            Actor::System { .. } => Uuid::nil(),
        }
    }

    /// RBAC check: the system may do anything its subsystem calls for; a
    /// user as their subject allows.
    pub fn can(&self, action: crate::rbac::Action, obj: &crate::rbac::Object) -> bool {
        match self {
            Actor::User { subject, .. } => subject.can(action, obj),
            Actor::System { .. } => true,
        }
    }

    /// [`Actor::can`] or [`DomainError::forbidden`].
    pub fn require(
        &self,
        action: crate::rbac::Action,
        obj: &crate::rbac::Object,
    ) -> DomainResult<()> {
        if self.can(action, obj) {
            Ok(())
        } else {
            Err(DomainError::forbidden())
        }
    }
}

/// The request an operation runs for: what the audit row records about it.
/// Background jobs use [`AuditContext::background`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditContext {
    /// The request id (`X-Coder-Request-Id`); nil for background jobs.
    pub request_id: Uuid,
    /// The client's address (the TCP peer), `""` when unknown.
    pub ip: String,
    /// The `User-Agent` header, `""` when absent.
    pub user_agent: String,
}

impl AuditContext {
    /// The context of a background job: nil request id, no ip or agent.
    pub fn background() -> AuditContext {
        AuditContext::default()
    }
}

/// Why an operation was refused; front ends pick the status from it
/// (400, 401, 403, 404, 409).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Bad input or a rule refusing it (400).
    Invalid,
    /// Wrong or missing credentials (401).
    Unauthenticated,
    /// The actor may not do this (403).
    Forbidden,
    /// The thing acted on does not exist (404).
    NotFound,
    /// It exists already, or clashes with another (409).
    Conflict,
    /// It was deleted (410), e.g. a deleted workspace.
    Gone,
    /// A precondition does not hold (412), e.g. deleting a template that
    /// workspaces still use.
    PreconditionFailed,
}

impl Refusal {
    /// The HTTP status upstream answers (and records in audit rows'
    /// `status_code`, which is part of upstream's data model).
    pub fn status_code(self) -> u16 {
        match self {
            Refusal::Invalid => 400,
            Refusal::Unauthenticated => 401,
            Refusal::Forbidden => 403,
            Refusal::NotFound => 404,
            Refusal::Conflict => 409,
            Refusal::Gone => 410,
            Refusal::PreconditionFailed => 412,
        }
    }
}

/// What a domain operation fails with.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The operation was refused; `message`, `detail` and `validations`
    /// are upstream's texts.
    #[error("{message}")]
    Refused {
        /// Which kind of refusal (picks the status).
        kind: Refusal,
        /// Upstream's message.
        message: String,
        /// Upstream's detail, `""` for none.
        detail: String,
        /// Per-field entries, empty for none.
        validations: Vec<ValidationError>,
    },
    /// A storage failure nobody mapped (a 500).
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// Anything else that should not happen (a 500).
    #[error("{0}")]
    Internal(String),
}

/// Domain result alias.
pub type DomainResult<T> = Result<T, DomainError>;

impl DomainError {
    /// A refusal with a message.
    pub fn refused(kind: Refusal, message: impl Into<String>) -> DomainError {
        DomainError::Refused {
            kind,
            message: message.into(),
            detail: String::new(),
            validations: Vec::new(),
        }
    }

    /// Upstream's `Forbidden.`.
    pub fn forbidden() -> DomainError {
        DomainError::refused(Refusal::Forbidden, crate::error::FORBIDDEN)
    }

    /// Upstream's stock 404 `Resource not found or you do not have access
    /// to this resource`.
    pub fn not_found() -> DomainError {
        DomainError::refused(Refusal::NotFound, crate::error::RESOURCE_NOT_FOUND)
    }

    /// Upstream's 400 `Validation failed.` with per-field entries.
    pub fn invalid_fields(validations: Vec<ValidationError>) -> DomainError {
        DomainError::refused(Refusal::Invalid, "Validation failed.").validations(validations)
    }

    /// Sets a refusal's per-field entries (no-op for other errors).
    pub fn validations(mut self, v: Vec<ValidationError>) -> DomainError {
        if let DomainError::Refused { validations, .. } = &mut self {
            *validations = v;
        }
        self
    }

    /// Adds a detail to a refusal (no-op for other errors).
    pub fn detail(mut self, d: impl Into<String>) -> DomainError {
        if let DomainError::Refused { detail, .. } = &mut self {
            *detail = d.into();
        }
        self
    }
}
