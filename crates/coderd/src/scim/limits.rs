//! Length bounds on SCIM text, checked before anything is written, and a
//! char-safe excerpt for echoing client text in error details.
//!
//! Every stored SCIM string (`userName`, `externalId`, `displayName`, the
//! `name` parts, `emails` sub-attributes, ...) is at most [`MAX_CHARS`]
//! characters. `userName` and `externalId` go into PostgreSQL btree indexes
//! (`lower(user_name)`, `external_id`), whose entries are at most 2704
//! bytes: they are also at most [`MAX_INDEXED_BYTES`] bytes of UTF-8 (with
//! room for `lower()`, which can grow a string by half). Past a bound the
//! answer is 400 `invalidValue` (RFC 7644 §3.12) naming the attribute and
//! the bound, on both backends alike.

use super::error::{ScimError, ScimResult};

/// Most characters in any stored SCIM string.
pub const MAX_CHARS: usize = 1024;
/// Most UTF-8 bytes in an indexed SCIM string (`userName`, `externalId`).
pub const MAX_INDEXED_BYTES: usize = 1536;
/// Most characters of client text echoed back in an error detail.
pub const ECHO_CHARS: usize = 100;
/// Most characters of a parser's error reason in an error detail.
pub const REASON_CHARS: usize = 300;

/// 400 `invalidValue` when `value` has more than [`MAX_CHARS`] characters:
/// `{attr} must be at most 1024 characters (got N)`.
pub fn check(attr: &str, value: &str) -> ScimResult<()> {
    let n = value.chars().count();
    if n > MAX_CHARS {
        return Err(ScimError::invalid_value(format!(
            "{attr} must be at most {MAX_CHARS} characters (got {n})"
        )));
    }
    Ok(())
}

/// [`check`] for an optional value.
pub fn check_opt(attr: &str, value: Option<&str>) -> ScimResult<()> {
    value.map_or(Ok(()), |v| check(attr, v))
}

/// [`check`], and at most [`MAX_INDEXED_BYTES`] bytes of UTF-8 (for the
/// indexed `userName` and `externalId`).
pub fn check_indexed(attr: &str, value: Option<&str>) -> ScimResult<()> {
    let Some(v) = value else { return Ok(()) };
    check(attr, v)?;
    if v.len() > MAX_INDEXED_BYTES {
        return Err(ScimError::invalid_value(format!(
            "{attr} must be at most {MAX_INDEXED_BYTES} bytes of UTF-8 (got {})",
            v.len()
        )));
    }
    Ok(())
}

/// Checks every stored string of a User body: `userName` and `externalId`
/// with [`check_indexed`], the rest with [`check`] (`emails[i].value` and
/// the like are named by index).
pub fn check_user(u: &codersdk::ScimUser) -> ScimResult<()> {
    check_indexed("userName", u.user_name.as_deref())?;
    check_indexed("externalId", u.external_id.as_deref())?;
    for (attr, v) in [
        ("displayName", &u.display_name),
        ("nickName", &u.nick_name),
        ("title", &u.title),
        ("userType", &u.user_type),
        ("preferredLanguage", &u.preferred_language),
        ("locale", &u.locale),
        ("timezone", &u.timezone),
    ] {
        check_opt(attr, v.as_deref())?;
    }
    if let Some(n) = &u.name {
        for (attr, v) in [
            ("name.formatted", &n.formatted),
            ("name.familyName", &n.family_name),
            ("name.givenName", &n.given_name),
            ("name.middleName", &n.middle_name),
            ("name.honorificPrefix", &n.honorific_prefix),
            ("name.honorificSuffix", &n.honorific_suffix),
        ] {
            check_opt(attr, v.as_deref())?;
        }
    }
    for (i, e) in u.emails.iter().flatten().enumerate() {
        for (sub, v) in [
            ("value", &e.value),
            ("display", &e.display),
            ("type", &e.kind),
        ] {
            check_opt(&format!("emails[{i}].{sub}"), v.as_deref())?;
        }
    }
    Ok(())
}

/// Checks the stored strings of a Group body: `displayName` with
/// [`check`], `externalId` with [`check_indexed`] (as for Users).
pub fn check_group(g: &codersdk::ScimGroup) -> ScimResult<()> {
    check_opt("displayName", g.display_name.as_deref())?;
    check_indexed("externalId", g.external_id.as_deref())
}

/// `s` as a quoted, escaped excerpt of at most [`ECHO_CHARS`] characters,
/// followed by `...` when it was cut (never inside a character).
pub fn excerpt(s: &str) -> String {
    let mut it = s.char_indices();
    match it.nth(ECHO_CHARS) {
        Some((cut, _)) => format!("{:?}...", &s[..cut]),
        None => format!("{s:?}"),
    }
}

/// `s` cut to at most `max` characters, with `...` when it was cut (never
/// inside a character): for messages that may quote client text (a parser's
/// error naming an offending token).
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert!(check("userName", &"é".repeat(MAX_CHARS)).is_ok());
        let e = check("userName", &"é".repeat(MAX_CHARS + 1)).unwrap_err();
        assert_eq!(e.scim_type, "invalidValue");
        assert_eq!(
            e.detail,
            "userName must be at most 1024 characters (got 1025)"
        );
        let e = check_indexed("externalId", Some(&"é".repeat(1000))).unwrap_err();
        assert_eq!(
            e.detail,
            "externalId must be at most 1536 bytes of UTF-8 (got 2000)"
        );
        assert!(check_indexed("externalId", None).is_ok());
    }

    #[test]
    fn excerpts() {
        assert_eq!(excerpt("ab"), "\"ab\"");
        let long = "é".repeat(300);
        let e = excerpt(&long);
        assert_eq!(e, format!("{:?}...", "é".repeat(ECHO_CHARS)));
        assert_eq!(clip("aéb", 2), "aé...");
        assert_eq!(clip("aéb", 3), "aéb");
    }
}
