//! Users on the wire: rows to `codersdk::User` with their organization ids
//! read in one query for a whole page.

use std::collections::BTreeMap;

use codersdk::{LoginType, Role, User, UserStatus};
use store::StoreResult;
use uuid::Uuid;

use crate::rbac;
use crate::state::AppState;

/// Converts a stored user to the wire type.
pub fn to_sdk(u: &store::User, organization_ids: Vec<Uuid>) -> User {
    User {
        id: u.id,
        username: u.username.clone(),
        name: u.name.clone(),
        email: u.email.clone(),
        created_at: u.created_at,
        updated_at: Some(u.updated_at),
        last_seen_at: u.last_seen_at,
        status: sdk_status(u.status),
        login_type: LoginType::parse(&u.login_type),
        organization_ids,
        roles: site_roles(&u.rbac_roles.0),
        avatar_url: u.avatar_url.clone(),
    }
}

/// A stored status on the wire.
pub fn sdk_status(s: store::UserStatus) -> UserStatus {
    match s {
        store::UserStatus::Active => UserStatus::Active,
        store::UserStatus::Suspended => UserStatus::Suspended,
        store::UserStatus::Dormant => UserStatus::Dormant,
    }
}

/// A wire status as stored.
pub fn store_status(s: UserStatus) -> store::UserStatus {
    match s {
        UserStatus::Active => store::UserStatus::Active,
        UserStatus::Suspended => store::UserStatus::Suspended,
        UserStatus::Dormant => store::UserStatus::Dormant,
    }
}

/// Site roles on the wire (`member` is implicit and left out, as upstream).
pub fn site_roles(stored: &[String]) -> Vec<Role> {
    stored
        .iter()
        .filter(|r| *r != rbac::MEMBER)
        .map(|r| Role {
            name: r.clone(),
            display_name: rbac::display_name(r).to_owned(),
            organization_id: None,
        })
        .collect()
}

/// One user on the wire, with their organization ids (one query).
pub async fn user_with_orgs(state: &AppState, u: &store::User) -> StoreResult<User> {
    let orgs = state.store.memberships_of_users(&[u.id]).await?;
    Ok(to_sdk(
        u,
        orgs.into_iter().map(|m| m.organization_id).collect(),
    ))
}

/// Many users on the wire: their memberships in one query.
pub async fn users_with_orgs(state: &AppState, users: &[store::User]) -> StoreResult<Vec<User>> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut by_user: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for m in state.store.memberships_of_users(&ids).await? {
        by_user
            .entry(m.user_id)
            .or_default()
            .push(m.organization_id);
    }
    Ok(users
        .iter()
        .map(|u| to_sdk(u, by_user.remove(&u.id).unwrap_or_default()))
        .collect())
}
