//! API keys on the wire (`codersdk::APIKey`, `APIKeyWithOwner`): the row
//! without its hashed secret.

use codersdk::{APIKey, APIKeyWithOwner, LoginType};

/// A stored key on the wire.
pub fn to_sdk(k: &store::ApiKey) -> APIKey {
    APIKey {
        id: k.id.clone(),
        user_id: k.user_id,
        last_used: k.last_used,
        expires_at: k.expires_at,
        created_at: k.created_at,
        updated_at: k.updated_at,
        login_type: LoginType::parse(&k.login_type),
        scope: k.scope.clone(),
        token_name: k.token_name.clone(),
        lifetime_seconds: k.lifetime_seconds,
    }
}

/// Keys of one user on the wire, each with the owner's username.
pub fn with_owner(keys: &[store::ApiKey], username: &str) -> Vec<APIKeyWithOwner> {
    keys.iter()
        .map(|k| APIKeyWithOwner {
            key: to_sdk(k),
            username: username.to_owned(),
        })
        .collect()
}
