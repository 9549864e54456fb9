//! Field validation in upstream's words (`go-playground/validator` tags):
//! each failure is a `{field, detail}` entry and the request is answered 400
//! `Validation failed.` before anything is written.

use codersdk::ValidationError;

use crate::error::{field_error, ApiError};

/// Collects validation failures for one request body.
#[derive(Default)]
pub struct Validator {
    errors: Vec<ValidationError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// `required`: non-empty.
    pub fn required(&mut self, field: &str, value: &str) -> &mut Self {
        if value.trim().is_empty() {
            self.errors.push(field_error(field, "required", value));
        }
        self
    }

    /// `username`: 1-32 characters, ASCII letters and digits in groups
    /// joined by single hyphens (upstream's username rule).
    pub fn username(&mut self, field: &str, value: &str) -> &mut Self {
        if !value.is_empty() && !is_valid_username(value) {
            self.errors.push(field_error(field, "username", value));
        }
        self
    }

    /// `email`: a plausible address.
    pub fn email(&mut self, field: &str, value: &str) -> &mut Self {
        if !value.is_empty() && !is_valid_email(value) {
            self.errors.push(field_error(field, "email", value));
        }
        self
    }

    /// `user_real_name`: at most [`MAX_REAL_NAME`] characters, without
    /// leading or trailing whitespace (upstream's `UserRealNameValid`).
    pub fn real_name(&mut self, field: &str, value: &str) -> &mut Self {
        if value.chars().count() > MAX_REAL_NAME || value.trim() != value {
            self.errors
                .push(field_error(field, "user_real_name", value));
        }
        self
    }

    /// A custom failure.
    pub fn push(&mut self, field: &str, detail: impl Into<String>) -> &mut Self {
        self.errors.push(ValidationError {
            field: field.to_owned(),
            detail: detail.into(),
        });
        self
    }

    /// [`Validator::finish`] for the domain layer: a
    /// [`crate::domain::Refusal::Invalid`] `Validation failed.` with the
    /// entries.
    pub fn finish_domain(&mut self) -> crate::domain::DomainResult<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(crate::domain::DomainError::invalid_fields(std::mem::take(
                &mut self.errors,
            )))
        }
    }

    /// `Err(400 Validation failed.)` when anything failed.
    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(std::mem::take(&mut self.errors)))
        }
    }
}

/// Upstream's username rule: `^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$`, at most 32,
/// not `new` or `create` (upstream's reserved names); `me` is refused too,
/// since `/users/me` always means the caller.
pub fn is_valid_username(s: &str) -> bool {
    !matches!(s.to_ascii_lowercase().as_str(), "new" | "create" | "me")
        && !s.is_empty()
        && s.len() <= 32
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A structural email check: one `@`, a non-empty local part, a dotted
/// domain, no whitespace.
pub fn is_valid_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 320
        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>')
        && !domain.contains('@')
}

/// Longest real name (`name`) of a user, in characters (upstream's 128).
pub const MAX_REAL_NAME: usize = 128;

/// Checks `limit` and `offset` query parameters: each absent or
/// non-negative, else 400 `Query parameters have invalid values.` with a
/// `Query param "limit" must be a non-negative integer.` entry per field
/// (upstream's `httpapi.ParsePagination` texts). Returns `(limit, offset)`,
/// 0 for an absent one (a 0 limit means no limit).
pub fn paging(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), ApiError> {
    let mut v = Validator::new();
    for (field, value) in [("limit", limit), ("offset", offset)] {
        if matches!(value, Some(n) if n < 0) {
            v.push(
                field,
                format!("Query param {field:?} must be a non-negative integer."),
            );
        }
    }
    v.finish().map_err(|e| {
        ApiError::bad_request("Query parameters have invalid values.")
            .validations(e.body.validations)
    })?;
    Ok((limit.unwrap_or(0), offset.unwrap_or(0)))
}

/// Upstream's minimum password rule.
pub const MIN_PASSWORD_LEN: usize = 6;

/// Checks a new password: 400 `Invalid password.` with a `password` entry.
pub fn password(field: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::bad_request("Invalid password.").validations(vec![
            ValidationError {
                field: field.to_owned(),
                detail: format!("password must be at least {MIN_PASSWORD_LEN} characters"),
            },
        ]));
    }
    if value.len() > 256 {
        return Err(ApiError::bad_request("Invalid password.").validations(vec![
            ValidationError {
                field: field.to_owned(),
                detail: "password must be at most 256 bytes".into(),
            },
        ]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for ok in ["a", "alice", "alice-bob", "A1-b2-c3", &"x".repeat(32)] {
            assert!(is_valid_username(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "a b",
            "a_b",
            "a.b",
            "me",
            "New",
            &"x".repeat(33),
        ] {
            assert!(!is_valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert!(is_valid_email("a@b.c"));
        assert!(is_valid_email("a.b+c@x.io"));
        assert!(!is_valid_email("nope"));
        assert!(!is_valid_email("@x.io"));
        assert!(!is_valid_email("a @x.io"));
    }
}
