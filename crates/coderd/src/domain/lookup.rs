//! Lookups shared by every front end: a path parameter (`me`, a UUID, a
//! name) to the row it names, with upstream's refusal texts.

use uuid::Uuid;

use super::{Actor, DomainError, DomainResult, Refusal};
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// Resolves `{user}`: `me`, a UUID or a username. Unknown -> 400
/// `"user" must be an existing uuid or username.` with detail
/// `queried user="<raw>"` (upstream's `ExtractUserParam`).
pub async fn resolve_user(
    state: &AppState,
    me: &store::User,
    raw: &str,
) -> DomainResult<store::User> {
    let unknown = || {
        DomainError::refused(
            Refusal::Invalid,
            "\"user\" must be an existing uuid or username.",
        )
        .detail(format!("queried user={raw:?}"))
    };
    if raw == "me" {
        return Ok(me.clone());
    }
    let found = match Uuid::parse_str(raw) {
        Ok(id) => state.store.get_user_by_id(id).await,
        Err(_) => state.store.get_user_by_username(raw).await,
    };
    match found {
        Ok(u) => Ok(u),
        Err(store::StoreError::NotFound) => Err(unknown()),
        Err(e) => Err(e.into()),
    }
}

/// Resolves `{organization}`: a UUID, a name, or `default`. Unknown, or not
/// readable by the caller -> 404 stock.
pub async fn resolve_org(
    state: &AppState,
    actor: &Actor,
    raw: &str,
) -> DomainResult<store::Organization> {
    let found = if raw == "default" {
        state.store.get_default_organization().await
    } else {
        match Uuid::parse_str(raw) {
            Ok(id) => state.store.get_organization_by_id(id).await,
            Err(_) => state.store.get_organization_by_name(raw).await,
        }
    };
    let org = found?;
    if !actor.can(Action::Read, &Resource::Organization.in_org(org.id)) {
        return Err(DomainError::not_found());
    }
    Ok(org)
}

/// Resolves `{group}`: a group id, else a group name in the default
/// organization. Unknown, or not readable by the caller -> 404 stock.
pub async fn resolve_group(
    state: &AppState,
    actor: &Actor,
    raw: &str,
) -> DomainResult<store::Group> {
    let found = match Uuid::parse_str(raw) {
        Ok(id) => state.store.get_group_by_id(id).await,
        Err(_) => {
            let org = state.store.get_default_organization().await?;
            state.store.get_group_by_name(org.id, raw).await
        }
    };
    let g = found?;
    if !super::groups::can_read(actor, &g) {
        return Err(DomainError::not_found());
    }
    Ok(g)
}
