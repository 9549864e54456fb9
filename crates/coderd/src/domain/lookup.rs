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

/// Resolves `{template}` (parsed by the front end) to a non-deleted
/// template the actor may use; else 404 stock.
pub async fn resolve_template(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> DomainResult<store::Template> {
    let t = match state.store.get_template(id).await {
        Ok(t) => t,
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    if !super::templates::can_use(state, actor, &t).await? {
        return Err(DomainError::not_found());
    }
    Ok(t)
}

/// May the actor read this version? Through its template when it has one;
/// an unattached version only by those who read templates in its
/// organization, and its creator.
async fn can_read_version(
    state: &AppState,
    actor: &Actor,
    v: &store::TemplateVersion,
) -> DomainResult<bool> {
    match v.template_id {
        Some(tid) => match state.store.get_template_any(tid).await {
            Ok(t) => super::templates::can_use(state, actor, &t).await,
            Err(store::StoreError::NotFound) => Ok(false),
            Err(e) => Err(e.into()),
        },
        None => Ok(
            actor.can(Action::Read, &Resource::Template.in_org(v.organization_id))
                || v.created_by == actor.user_id(),
        ),
    }
}

/// Resolves `{templateversion}` to a version the actor may read (404).
pub async fn resolve_version(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> DomainResult<store::TemplateVersion> {
    let v = match state.store.get_template_version(id).await {
        Ok(v) => v,
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    if !can_read_version(state, actor, &v).await? {
        return Err(DomainError::not_found());
    }
    Ok(v)
}

/// Resolves `{workspace}` to a workspace the actor may read (404). A
/// deleted one is 410 unless `include_deleted`, as upstream.
pub async fn resolve_workspace(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
    include_deleted: bool,
) -> DomainResult<store::Workspace> {
    let ws = match state.store.get_workspace(id).await {
        Ok(ws) => ws,
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    check_workspace(actor, ws, include_deleted)
}

/// The read and deleted checks of [`resolve_workspace`].
pub fn check_workspace(
    actor: &Actor,
    ws: store::Workspace,
    include_deleted: bool,
) -> DomainResult<store::Workspace> {
    if !actor.can(Action::Read, &super::builds::workspace_object(&ws)) {
        return Err(DomainError::not_found());
    }
    if ws.deleted && !include_deleted {
        return Err(DomainError::refused(
            Refusal::Gone,
            format!(
                "Workspace {:?} was deleted, you can view this workspace by specifying 'include_deleted=true' and trying again.",
                ws.id.to_string()
            ),
        ));
    }
    Ok(ws)
}

/// Resolves `{workspacebuild}` to a build whose workspace the actor may
/// read (404), with that workspace.
pub async fn resolve_build(
    state: &AppState,
    actor: &Actor,
    id: Uuid,
) -> DomainResult<(store::WorkspaceBuild, store::Workspace)> {
    let b = match state.store.get_workspace_build(id).await {
        Ok(b) => b,
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    let ws = state.store.get_workspace(b.workspace_id).await?;
    if !actor.can(Action::Read, &super::builds::workspace_object(&ws)) {
        return Err(DomainError::not_found());
    }
    Ok((b, ws))
}
