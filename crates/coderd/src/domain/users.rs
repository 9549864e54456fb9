//! User operations: create (REST and SCIM, one path), suspend/activate,
//! site roles, password login and logout, and the dormancy job's pass.
//! Each writes its audit row (coder-now 1.6, 1.12) in its transaction.

use std::time::Duration;

use store::{AuditAction, ResourceType, StoreError, UserStatus};
use uuid::Uuid;

use super::audit::{self, Entry, Written};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal, Subsystem};
use crate::rbac::{self, Action, Resource};
use crate::state::AppState;

/// The hook of a user write: a `user` `write` row by `actor` with the
/// diff of the user before and after and `status_code`, kept in `written`.
fn user_write_hook<'a>(
    state: &'a AppState,
    actor: &'a Actor,
    ctx: &'a AuditContext,
    written: &'a Written,
    status_code: u16,
) -> impl Fn(&store::User, &store::User) -> Option<store::AuditLog> + Send + Sync + 'a {
    move |old, new| {
        written.keep(audit::row(
            state,
            actor,
            ctx,
            audit::user_entry(AuditAction::Write, Some(old), new, status_code),
        ))
    }
}

/// The row of a new Coder user (every front end's users are built here):
/// fresh id, timestamps now, not deleted, no avatar.
pub fn new_user_row(
    email: &str,
    username: &str,
    name: &str,
    hashed_password: String,
    login_type: &str,
    roles: Vec<String>,
    status: UserStatus,
) -> store::User {
    let now = store::now();
    store::User {
        id: Uuid::new_v4(),
        email: email.to_owned(),
        username: username.to_owned(),
        name: name.to_owned(),
        hashed_password,
        created_at: now,
        updated_at: now,
        last_seen_at: now,
        status,
        rbac_roles: store::StringList(roles),
        login_type: login_type.to_owned(),
        avatar_url: String::new(),
        deleted: false,
    }
}

/// Hashes a password off the async threads (PBKDF2 is slow on purpose);
/// an empty password stays empty (no password login).
pub async fn hash_password(state: &AppState, password: &str) -> DomainResult<String> {
    if password.is_empty() {
        return Ok(String::new());
    }
    let iterations = state.config.password_hash_iterations;
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || crate::userpassword::hash(&password, iterations))
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))
}

/// A user created through the Coder API (already validated by the front
/// end: email, username, name and password rules).
#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub username: String,
    pub name: String,
    /// Plain text; empty for login types without a password.
    pub password: String,
    /// Stored login type name (`password`, `none`, `oidc`, `github`).
    pub login_type: String,
    pub status: UserStatus,
    /// `None`: the default organization.
    pub organization_id: Option<Uuid>,
}

/// What [`create_user`] creates.
#[derive(Clone, Debug)]
pub enum CreateUser {
    /// `POST /api/v2/users`.
    Api(NewUser),
    /// The first OpenID Connect login of someone without an account: as
    /// [`CreateUser::Api`], without a `user` row of its own (the login's
    /// `api_key` `register` row records it, as upstream).
    Oidc(NewUser),
    /// SCIM `POST /Users`: the SCIM data and the usernames to try, in
    /// order (the first free one is taken). An existing suspended or
    /// deprovisioned user is provisioned again (see
    /// [`store::Store::scim_provision_user`]).
    Scim {
        write: store::scim::ScimUserWrite,
        usernames: Vec<String>,
    },
}

/// What [`create_user`] did.
#[derive(Clone, Debug)]
pub enum CreatedUser {
    /// A user made through the Coder API, and the organization it joined.
    Api {
        user: store::User,
        organization_id: Uuid,
    },
    /// A SCIM user (created, or provisioned again).
    Scim {
        user: store::scim::ScimUser,
        /// False when an existing user was provisioned again.
        created: bool,
    },
}

/// Creates a user (one path for REST, SCIM and OIDC sign-up): checks the actor may
/// create users, builds the row ([`new_user_row`]) and inserts it with
/// its membership and, while the audit log is enabled, a `user` `create`
/// row (status 201; a SCIM re-provisioning is a `write`; none for
/// [`CreateUser::Oidc`]). A refused create
/// writes nothing. Refusals: 403; 404 `Organization does not exist with the
/// provided id "<id>".`; 409 `User already exists.` (REST).
pub async fn create_user(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    input: CreateUser,
) -> DomainResult<CreatedUser> {
    actor.require(Action::Create, &Resource::User.any())?;
    let audited = !matches!(input, CreateUser::Oidc(_));
    match input {
        CreateUser::Api(u) | CreateUser::Oidc(u) => {
            let org = match u.organization_id {
                Some(id) => match state.store.get_organization_by_id(id).await {
                    Ok(o) => o,
                    Err(StoreError::NotFound) => {
                        return Err(DomainError::refused(
                            Refusal::NotFound,
                            format!("Organization does not exist with the provided id {id:?}."),
                        ))
                    }
                    Err(e) => return Err(e.into()),
                },
                None => state.store.get_default_organization().await?,
            };
            let user = new_user_row(
                &u.email,
                &u.username,
                &u.name,
                hash_password(state, &u.password).await?,
                &u.login_type,
                Vec::new(),
                u.status,
            );
            let row = audited
                .then(|| {
                    audit::row(
                        state,
                        actor,
                        ctx,
                        audit::user_entry(AuditAction::Create, None, &user, 201),
                    )
                })
                .flatten();
            match state
                .store
                .insert_user_audited(&user, org.id, row.as_ref())
                .await
            {
                Ok(()) => {}
                Err(StoreError::Conflict(_)) => {
                    return Err(DomainError::refused(
                        Refusal::Conflict,
                        "User already exists.",
                    ))
                }
                Err(e) => return Err(e.into()),
            }
            audit::emit_opt(row.as_ref());
            crate::sessions::evict_user(state, user.id).await;
            Ok(CreatedUser::Api {
                user,
                organization_id: org.id,
            })
        }
        CreateUser::Scim { write, usernames } => {
            let org = state.store.get_default_organization().await?;
            let template = new_user_row(
                &write.email,
                "",
                &write.name,
                String::new(),
                "oidc",
                Vec::new(),
                store::scim::new_user_status(write.active.unwrap_or(true)),
            );
            // A concurrent provisioning (PostgreSQL) may take the picked
            // username between the check and the insert: try again.
            let mut attempt = 0;
            loop {
                let written = Written::default();
                let hook = |old: Option<&store::User>, new: &store::User| {
                    let action = if old.is_some() {
                        AuditAction::Write
                    } else {
                        AuditAction::Create
                    };
                    written.keep(audit::row(
                        state,
                        actor,
                        ctx,
                        audit::user_entry(action, old, new, 201),
                    ))
                };
                match state
                    .store
                    .scim_provision_user(org.id, &usernames, &write, &template, &hook)
                    .await
                {
                    Err(StoreError::Conflict(store::Constraint::UserUsername)) if attempt < 3 => {
                        attempt += 1;
                    }
                    Ok((user, created)) => {
                        written.emit();
                        crate::sessions::evict_user(state, user.user_id).await;
                        return Ok(CreatedUser::Scim { user, created });
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }
}

/// Suspends or activates `target` (upstream's `putSuspendUserAccount` /
/// `putActivateUserAccount`) with a `user` `write` row (status 200, the
/// `status` change). Refusals: 403; 400 `You cannot suspend yourself.`;
/// 400 for suspending an `owner`; 403 for changing an owner unless the
/// actor is an owner.
pub async fn set_status(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    target: &store::User,
    status: UserStatus,
) -> DomainResult<store::User> {
    actor.require(Action::Update, &Resource::User.any())?;
    let target_is_owner = target.rbac_roles.0.iter().any(|r| r == rbac::OWNER);
    if status == UserStatus::Suspended && target.id == actor.user_id() {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "You cannot suspend yourself.",
        ));
    }
    if status == UserStatus::Suspended && target_is_owner {
        // Upstream: an owner is never suspended (it could lock everyone
        // out); the role has to be removed first.
        return Err(DomainError::refused(
            Refusal::Invalid,
            format!(
                "You cannot suspend a user with the {:?} role. You must remove the role first.",
                rbac::OWNER
            ),
        ));
    }
    if target_is_owner && !has_site_role(actor, rbac::OWNER) {
        return Err(DomainError::forbidden());
    }
    let written = Written::default();
    let hook = user_write_hook(state, actor, ctx, &written, 200);
    let updated = state
        .store
        .update_user_status_audited(target.id, status, &hook)
        .await?;
    written.emit();
    crate::sessions::evict_user(state, target.id).await;
    Ok(updated)
}

fn has_site_role(actor: &Actor, role: &str) -> bool {
    match actor {
        Actor::User { subject, .. } => subject.has_site_role(role),
        Actor::System { .. } => true,
    }
}

/// Replaces `target`'s site roles (upstream's `putUserRoles`) with a
/// `user` `write` row (status 200, the `rbac_roles` change). `member` is
/// implicit and dropped; duplicates are dropped. Refusals: 403; 400 `You
/// cannot change your own roles.`; 400 `Invalid role name "<r>".`; 403 for
/// a role the actor may not assign or remove.
pub async fn set_roles(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    target: &store::User,
    roles: &[String],
) -> DomainResult<store::User> {
    actor.require(Action::Update, &Resource::RoleAssignment.any())?;
    if target.login_type == "oidc" && super::idpsync::site_role_sync_enabled(state) {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "Cannot modify roles for OIDC users when role sync is enabled.",
        ));
    }
    if target.id == actor.user_id() {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "You cannot change your own roles.",
        ));
    }
    let mut wanted: Vec<String> = Vec::new();
    for r in roles {
        if !rbac::SITE_ROLES.contains(&r.as_str()) {
            return Err(DomainError::refused(
                Refusal::Invalid,
                format!("Invalid role name {r:?}."),
            )
            .detail(format!("Site roles are: {}.", rbac::SITE_ROLES.join(", "))));
        }
        if r != rbac::MEMBER && !wanted.contains(r) {
            wanted.push(r.clone());
        }
    }
    let current: Vec<String> = target
        .rbac_roles
        .0
        .iter()
        .filter(|r| *r != rbac::MEMBER)
        .cloned()
        .collect();
    if let Actor::User { subject, .. } = actor {
        for changed in wanted
            .iter()
            .filter(|r| !current.contains(r))
            .chain(current.iter().filter(|r| !wanted.contains(r)))
        {
            if !subject.can_assign_site_role(changed) {
                return Err(DomainError::forbidden().detail(format!(
                    "You are not allowed to assign or remove the role {changed:?}."
                )));
            }
        }
    }
    let written = Written::default();
    let hook = user_write_hook(state, actor, ctx, &written, 200);
    let updated = state
        .store
        .update_user_roles_audited(target.id, &wanted, &hook)
        .await?;
    written.emit();
    crate::sessions::evict_user(state, target.id).await;
    Ok(updated)
}

/// A successful password login: the session token and its lifetime.
#[derive(Clone, Debug)]
pub struct LoggedIn {
    /// The whole session token (`<id>-<secret>`).
    pub token: String,
    /// How long the session lasts (`--session-duration`).
    pub lifetime: Duration,
}

/// Password login (upstream's `postLogin`, coder-now 1.12). On success the
/// session key is stored with an `api_key` `login` row (status 201,
/// resource id the user's id, empty target, empty diff); a `dormant` user
/// becomes `active` with a `user` `write` row carrying the `dormancy`
/// automatic-actor fields. Refusals of a known user are audited with their
/// status (401 `Incorrect email or password.`, 403 wrong login type, 401
/// suspended account; nil resource id); an unknown email writes no row.
pub async fn login(
    state: &AppState,
    ctx: &AuditContext,
    email: &str,
    password: &str,
) -> DomainResult<LoggedIn> {
    let incorrect =
        || DomainError::refused(Refusal::Unauthenticated, "Incorrect email or password.");
    let user = match state.store.get_user_by_email(email).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(incorrect()),
        Err(e) => return Err(e.into()),
    };
    let actor = Actor::User {
        id: user.id,
        username: user.username.clone(),
        subject: rbac::subject(user.id, &user.rbac_roles.0, std::iter::empty()),
    };
    let refuse = |err: DomainError| async {
        if let DomainError::Refused { kind, .. } = &err {
            let row = audit::row(
                state,
                &actor,
                ctx,
                login_entry(Uuid::nil(), kind.status_code()),
            );
            if let Some(row) = row {
                state.store.insert_audit_log(&row).await?;
                audit::emit(&row);
            }
        }
        Err::<LoggedIn, _>(err)
    };
    if state.config.disable_password_auth {
        return refuse(DomainError::refused(
            Refusal::Forbidden,
            "Password authentication is disabled.",
        ))
        .await;
    }
    let hashed = user.hashed_password.clone();
    let pw = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || crate::userpassword::verify(&hashed, &pw))
        .await
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    if !ok {
        return refuse(incorrect()).await;
    }
    if user.login_type != "password" {
        return refuse(DomainError::refused(
            Refusal::Forbidden,
            format!(
                "Incorrect login type, attempting to use \"password\" but user is of login type {:?}",
                user.login_type
            ),
        ))
        .await;
    }
    if user.status == UserStatus::Suspended {
        return refuse(DomainError::refused(
            Refusal::Unauthenticated,
            "Your account is suspended. Contact an admin to reactivate your account.",
        ))
        .await;
    }
    let lifetime = state.config.session_duration;
    let key = super::apikeys::mint(user.id, "password", lifetime, "");
    let written = Written::default();
    let dormancy = Actor::System {
        subsystem: Subsystem::Dormancy,
    };
    // Upstream: a dormant user may sign in and is active from then on; the
    // reactivation is the dormancy subsystem's `write` on the user.
    let activated = |old: &store::User, new: &store::User| {
        written.keep(dormancy_row(state, ctx, &dormancy, old, new))
    };
    // The login row comes after the reactivation: strictly later, so the
    // newest-first order shows them as they happened.
    let login_row = || {
        let mut row = audit::row(state, &actor, ctx, login_entry(user.id, 201))?;
        if let Some(last) = written.last() {
            if row.time <= last.time {
                row.time = last.time + chrono::Duration::microseconds(1);
            }
        }
        written.keep(Some(row))
    };
    state
        .store
        .login_audited(&key.row, state.clock.now(), &activated, &login_row)
        .await?;
    written.emit();
    if user.status == UserStatus::Dormant {
        // Reactivated: active users changed.
        crate::sessions::evict_user(state, user.id).await;
    }
    Ok(LoggedIn {
        token: key.token,
        lifetime,
    })
}

fn login_entry(resource_id: Uuid, status_code: u16) -> Entry {
    Entry {
        resource_type: ResourceType::ApiKey,
        resource_id,
        resource_target: String::new(),
        action: AuditAction::Login,
        diff: Default::default(),
        status_code,
        organization_id: None,
    }
}

/// A dormancy-subsystem row on a user: upstream's `BackgroundAudit` with
/// the user's own id as `user_id` and status 200.
fn dormancy_row(
    state: &AppState,
    ctx: &AuditContext,
    dormancy: &Actor,
    old: &store::User,
    new: &store::User,
) -> Option<store::AuditLog> {
    let mut row = audit::row(
        state,
        dormancy,
        ctx,
        audit::user_entry(AuditAction::Write, Some(old), new, 200),
    )?;
    row.user_id = new.id;
    Some(row)
}

/// Logout (upstream's `postLogout`): deletes the calling session's key
/// with an `api_key` `logout` row (status 200, resource id the user's id,
/// empty target). A key already gone changes nothing and writes no row.
pub async fn logout(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    key_id: &str,
) -> DomainResult<()> {
    let user_id = actor.user_id();
    let row = audit::row(
        state,
        actor,
        ctx,
        Entry {
            resource_type: ResourceType::ApiKey,
            resource_id: user_id,
            resource_target: String::new(),
            action: AuditAction::Logout,
            diff: Default::default(),
            status_code: 200,
            organization_id: None,
        },
    );
    match state
        .store
        .delete_api_key_audited(user_id, key_id, row.as_ref())
        .await
    {
        Ok(()) => {
            audit::emit_opt(row.as_ref());
            crate::sessions::evict_key(state, key_id).await;
            Ok(())
        }
        Err(StoreError::NotFound) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The dormancy job's pass (upstream's `UpdateInactiveUsersToDormant`):
/// active users not seen since `last_seen_before` become `dormant`, each
/// with a `user` `write` row by the `dormancy` subsystem (status 200, the
/// `status` change, the user's own id as `user_id`), in one transaction.
pub async fn mark_inactive_users_dormant(
    state: &AppState,
    last_seen_before: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> DomainResult<Vec<store::User>> {
    let dormancy = Actor::System {
        subsystem: Subsystem::Dormancy,
    };
    let ctx = AuditContext::background();
    let written = Written::default();
    let hook = |old: &store::User, new: &store::User| {
        written.keep(dormancy_row(state, &ctx, &dormancy, old, new))
    };
    let users = state
        .store
        .mark_inactive_users_dormant_audited(last_seen_before, now, &hook)
        .await?;
    written.emit();
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    crate::sessions::evict_users(state, &ids).await;
    Ok(users)
}

/// Upstream's `ActivateDormantUser` on an authenticated request: a
/// `dormant` user becomes `active`, with a `user` `write` row by the
/// `dormancy` subsystem (status 200, the `status` change, the user's own
/// id as `user_id`). Returns whether the user was dormant; a user
/// suspended or deleted meanwhile is left alone (no row).
pub async fn activate_dormant(
    state: &AppState,
    ctx: &AuditContext,
    user_id: Uuid,
) -> DomainResult<bool> {
    let dormancy = Actor::System {
        subsystem: Subsystem::Dormancy,
    };
    let written = Written::default();
    let hook = |old: &store::User, new: &store::User| {
        written.keep(dormancy_row(state, ctx, &dormancy, old, new))
    };
    let changed = state
        .store
        .activate_dormant_user_audited(user_id, &hook)
        .await?;
    written.emit();
    if changed {
        crate::sessions::evict_user(state, user_id).await;
    }
    Ok(changed)
}

/// What [`scim_update`] did.
#[derive(Clone, Debug)]
pub enum ScimUpdate {
    /// The user as written.
    Updated(store::scim::ScimUser),
    /// The row changed since it was read: read it again and retry.
    Stale,
    /// Unknown or deprovisioned.
    NotFound,
}

/// SCIM PUT/PATCH of a user (RFC 7644 §3.5): replaces the SCIM data and
/// the Coder fields derived from it if the row is still at
/// `expected_updated_at` (else [`ScimUpdate::Stale`], retry), with a
/// `user` `write` row by the `scim` subsystem (status 200, the diff of
/// the tracked fields; written even when nothing tracked changed, as
/// upstream audits every SCIM write).
pub async fn scim_update(
    state: &AppState,
    ctx: &AuditContext,
    id: Uuid,
    expected_updated_at: chrono::DateTime<chrono::Utc>,
    write: &store::scim::ScimUserWrite,
) -> DomainResult<ScimUpdate> {
    let actor = Actor::System {
        subsystem: Subsystem::Scim,
    };
    let written = Written::default();
    let hook = user_write_hook(state, &actor, ctx, &written, 200);
    let user = match state
        .store
        .scim_update_user(id, expected_updated_at, write, &hook)
        .await
    {
        Ok(u) => u,
        Err(StoreError::Conflict(store::Constraint::ScimStale)) => return Ok(ScimUpdate::Stale),
        Err(StoreError::NotFound) => return Ok(ScimUpdate::NotFound),
        Err(e) => return Err(e.into()),
    };
    written.emit();
    crate::sessions::evict_user(state, id).await;
    Ok(ScimUpdate::Updated(user))
}

/// SCIM DELETE of a user: deprovisioned and suspended (never deleted),
/// with a `user` `write` row by the `scim` subsystem (status 204, the
/// `status` change). `false` (and no row) when unknown or deprovisioned.
pub async fn scim_deprovision(
    state: &AppState,
    ctx: &AuditContext,
    id: Uuid,
) -> DomainResult<bool> {
    let actor = Actor::System {
        subsystem: Subsystem::Scim,
    };
    let written = Written::default();
    let hook = user_write_hook(state, &actor, ctx, &written, 204);
    match state.store.scim_deprovision_user(id, &hook).await {
        Ok(_) => {}
        Err(StoreError::NotFound) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    written.emit();
    crate::sessions::evict_user(state, id).await;
    Ok(true)
}

/// Sets `target`'s password (upstream's `putUserPassword`), ending their
/// other login sessions (the caller's own session is kept when it changes
/// its own password), with a `user` `write` row (status 204; the diff is
/// `hashed_password` as `secret: true` only). Refusals: 403; 400 `Users
/// without password login type cannot change their password.`; 400 `Old
/// password is incorrect.` (own password, when one is set).
pub async fn set_password(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    target: &store::User,
    keep_key: &str,
    old_password: &str,
    password: &str,
) -> DomainResult<()> {
    actor.require(Action::Update, &Resource::UserData.owned_by(target.id))?;
    if target.login_type != "password" {
        return Err(DomainError::refused(
            Refusal::Invalid,
            "Users without password login type cannot change their password.",
        ));
    }
    let is_self = target.id == actor.user_id();
    if is_self && !target.hashed_password.is_empty() {
        let hashed = target.hashed_password.clone();
        let old = old_password.to_owned();
        let ok = tokio::task::spawn_blocking(move || crate::userpassword::verify(&hashed, &old))
            .await
            .map_err(|e| DomainError::Internal(e.to_string()))?;
        if !ok {
            return Err(DomainError::Refused {
                kind: Refusal::Invalid,
                message: "Old password is incorrect.".into(),
                detail: String::new(),
                validations: vec![codersdk::ValidationError {
                    field: "old_password".into(),
                    detail: "Old password is incorrect.".into(),
                }],
            });
        }
    }
    let hashed = hash_password(state, password).await?;
    let keep = if is_self { keep_key } else { "" };
    let written = Written::default();
    let hook = user_write_hook(state, actor, ctx, &written, 204);
    state
        .store
        .update_user_password_audited(target.id, &hashed, keep, &hook)
        .await?;
    written.emit();
    // Upstream's putUserPassword deletes the user's other API keys.
    crate::sessions::evict_user(state, target.id).await;
    Ok(())
}

/// Whether the first user exists (`GET /users/first`).
pub async fn first_user_exists(state: &AppState) -> DomainResult<bool> {
    Ok(state.store.has_users().await?)
}

/// The first user of a fresh deployment (already validated by the front
/// end).
#[derive(Clone, Debug)]
pub struct FirstUser {
    pub email: String,
    pub username: String,
    pub name: String,
    /// Plain text.
    pub password: String,
    /// The default organization's name; empty: `coder`.
    pub organization: String,
}

/// Creates the first user as `owner` (and `organization-admin`) with the
/// default organization and its Everyone group, in one transaction
/// (upstream's `postFirstUser`). Refusal: 409 `The initial user has
/// already been created.` once any user exists (checked inside the
/// transaction). Not audited, as upstream: no license (so no audit log)
/// can be uploaded before an owner exists. Returns the user and the
/// organization.
pub async fn create_first_user(
    state: &AppState,
    input: FirstUser,
) -> DomainResult<(store::User, store::Organization)> {
    let exists = || {
        DomainError::refused(
            Refusal::Conflict,
            "The initial user has already been created.",
        )
    };
    if state.store.has_users().await? {
        return Err(exists());
    }
    let org_name = if input.organization.is_empty() {
        "coder".to_owned()
    } else {
        input.organization
    };
    let now = store::now();
    let org = store::Organization {
        id: Uuid::new_v4(),
        name: org_name.clone(),
        display_name: org_name,
        description: String::new(),
        icon: String::new(),
        is_default: true,
        created_at: now,
        updated_at: now,
    };
    let user = new_user_row(
        &input.email,
        &input.username,
        &input.name,
        hash_password(state, &input.password).await?,
        "password",
        vec![rbac::OWNER.to_owned()],
        UserStatus::Active,
    );
    match state
        .store
        .create_first_user(&org, &user, &[rbac::ORG_ADMIN.to_owned()])
        .await
    {
        Ok(()) => {
            crate::sessions::evict_user(state, user.id).await;
            Ok((user, org))
        }
        Err(e) if e.is_conflict(store::Constraint::FirstUser) => Err(exists()),
        Err(StoreError::Conflict(_)) => Err(DomainError::refused(
            Refusal::Conflict,
            "User already exists.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// One page of users and the number matching `filter` (upstream's `GET
/// /users`): 403 unless the actor may read users (every member may).
pub async fn list(
    state: &AppState,
    actor: &Actor,
    filter: &store::UserFilter,
) -> DomainResult<(Vec<store::User>, i64)> {
    actor.require(Action::Read, &Resource::User.any())?;
    Ok(state.store.list_users(filter).await?)
}

/// `target`'s RBAC subject: site roles (with `member`) and organization
/// roles (with `organization-member`). 403 unless the actor may read role
/// assignments.
pub async fn roles_of(
    state: &AppState,
    actor: &Actor,
    target: &store::User,
) -> DomainResult<rbac::Subject> {
    actor.require(Action::Read, &Resource::RoleAssignment.any())?;
    let memberships = state.store.memberships_of_users(&[target.id]).await?;
    Ok(rbac::subject(
        target.id,
        &target.rbac_roles.0,
        memberships
            .into_iter()
            .map(|m| (m.organization_id, m.roles.0)),
    ))
}

/// A provisioned SCIM user by id; `None` when unknown or deprovisioned.
pub async fn scim_user(state: &AppState, id: Uuid) -> DomainResult<Option<store::scim::ScimUser>> {
    match state.store.scim_get_user(id).await {
        Ok(u) => Ok(Some(u)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Provisioned SCIM users: those with exactly this `userName` (an index
/// lookup), or all of them.
pub async fn scim_users(
    state: &AppState,
    user_name: Option<&str>,
) -> DomainResult<Vec<store::scim::ScimUser>> {
    Ok(match user_name {
        Some(name) => state.store.scim_users_by_user_name(name).await?,
        None => state.store.scim_list_users().await?,
    })
}

/// The SCIM group memberships in `org` of these users (or of everyone), in
/// one query.
pub async fn scim_memberships(
    state: &AppState,
    org: Uuid,
    user_ids: Option<&[Uuid]>,
) -> DomainResult<Vec<store::scim::ScimMembership>> {
    Ok(state.store.scim_memberships_of_users(org, user_ids).await?)
}

/// One user by `{user}` (`me`, a UUID or a username; see
/// [`super::lookup::resolve_user`] for the 400 on an unknown one); 404
/// stock unless the actor may read users.
pub async fn get(
    state: &AppState,
    actor: &Actor,
    me: &store::User,
    raw: &str,
) -> DomainResult<store::User> {
    let u = super::lookup::resolve_user(state, me, raw).await?;
    if !actor.can(Action::Read, &Resource::User.any()) {
        return Err(DomainError::not_found());
    }
    Ok(u)
}
