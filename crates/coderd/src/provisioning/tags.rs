//! Provisioner tags, with upstream's rules (`provisionersdk.MutateTags`).
//!
//! A job runs only on a daemon whose tags include every one of the job's
//! tags (same key, same value). Before a job or a daemon is stored its tags
//! are normalized: no `scope` (or an unknown one) becomes
//! `scope=organization` and loses any `owner`; `scope=user` gets
//! `owner=<the user's id>`. So an organization job only reaches
//! organization daemons, and a user's job only that user's own daemons.

use std::collections::BTreeMap;

use codersdk::{SCOPE_ORGANIZATION, SCOPE_USER, TAG_OWNER, TAG_SCOPE};
use uuid::Uuid;

/// Normalizes tags for a job or daemon made by `user`.
pub fn mutate_tags(user: Uuid, tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut out = tags.clone();
    match out.get(TAG_SCOPE).map(String::as_str) {
        Some(SCOPE_USER) => {
            out.insert(TAG_OWNER.into(), user.to_string());
        }
        _ => {
            out.insert(TAG_SCOPE.into(), SCOPE_ORGANIZATION.into());
            out.remove(TAG_OWNER);
        }
    }
    out
}

/// Parses `tag=key=value` query values. Upstream's error for a value
/// without `=`: `Invalid format for tag "<t>". Key and value must be
/// separated with =.`
pub fn parse_tag_params(raw: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for t in raw {
        let Some((k, v)) = t.split_once('=') else {
            return Err(format!(
                "Invalid format for tag {t:?}. Key and value must be separated with =."
            ));
        };
        out.insert(k.to_owned(), v.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn scope_rules() {
        let u = Uuid::from_u128(7);
        assert_eq!(mutate_tags(u, &m(&[])), m(&[("scope", "organization")]));
        assert_eq!(
            mutate_tags(u, &m(&[("scope", "user")])),
            m(&[("scope", "user"), ("owner", &u.to_string())])
        );
        assert_eq!(
            mutate_tags(u, &m(&[("scope", "weird"), ("owner", "x"), ("foo", "bar")])),
            m(&[("scope", "organization"), ("foo", "bar")])
        );
    }

    #[test]
    fn tag_params() {
        assert_eq!(
            parse_tag_params(&["a=b=c".into()]).unwrap(),
            m(&[("a", "b=c")])
        );
        assert!(parse_tag_params(&["foo".into()])
            .unwrap_err()
            .contains("Key and value must be separated with ="));
    }
}
