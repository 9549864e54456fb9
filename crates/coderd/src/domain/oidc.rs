//! OpenID Connect login (upstream's `userOIDC` and `oauthLogin`,
//! coder-now 2.3, 2.4, 2.7, 2.8, 1.12): the claim rules, finding or
//! creating the user, and the login's writes (link, reactivation, group
//! and role sync, session key, the `api_key` `login`/`register` row) in
//! one transaction. The verified identity comes from [`crate::oidc`].

use std::time::Duration;

use serde_json::{Map, Value};
use store::{AuditAction, ResourceType, StoreError, UserStatus};
use uuid::Uuid;

use super::audit::{self, Entry};
use super::users::{self, CreateUser, CreatedUser, NewUser};
use super::{idpsync, Actor, AuditContext, DomainError, Refusal, Subsystem};
use crate::api::validate::{is_valid_email, is_valid_username};
use crate::oidc::Identity;
use crate::rbac;
use crate::state::AppState;

/// Why an OIDC login was refused.
#[derive(Debug)]
pub enum OidcRefusal {
    /// An API error in Coder's envelope.
    Api(DomainError),
    /// One of upstream's static error pages (HTML): `Incorrect login type`,
    /// `Signups are disabled`, `Not a member of an allowed group`.
    Page {
        /// The HTTP status (403).
        status: u16,
        /// The page title.
        title: String,
        /// The page text.
        description: String,
    },
    /// A 500 with upstream's message (the deployment's OIDC setup is
    /// wrong, not the user's input) and a detail.
    Server {
        /// Upstream's message.
        message: String,
        /// The cause.
        detail: String,
    },
}

impl From<DomainError> for OidcRefusal {
    fn from(e: DomainError) -> Self {
        OidcRefusal::Api(e)
    }
}

impl From<StoreError> for OidcRefusal {
    fn from(e: StoreError) -> Self {
        OidcRefusal::Api(e.into())
    }
}

fn refused(kind: Refusal, message: impl Into<String>) -> OidcRefusal {
    OidcRefusal::Api(DomainError::refused(kind, message))
}

fn page(title: &str, description: impl Into<String>) -> OidcRefusal {
    OidcRefusal::Page {
        status: 403,
        title: title.into(),
        description: description.into(),
    }
}

/// A finished OIDC login.
#[derive(Clone, Debug)]
pub struct OidcLoggedIn {
    /// The whole session token (`<id>-<secret>`).
    pub token: String,
    /// How long the session lasts (`--session-duration`).
    pub lifetime: Duration,
    /// The user signed in.
    pub user_id: Uuid,
}

/// Upstream's default text of the `Signups are disabled` page.
pub const SIGNUPS_DISABLED_DEFAULT: &str =
    "Please contact your Coder administrator to request access.";

/// The claims as a user's profile, after upstream's rules (coder-now 2.3
/// steps 5 to 8).
#[derive(Clone, Debug, PartialEq)]
struct Profile {
    email: String,
    username: String,
    name: String,
    avatar_url: String,
}

fn profile(state: &AppState, claims: &Map<String, Value>) -> Result<Profile, OidcRefusal> {
    let cfg = &state.config.oidc;
    let username_claim = claims
        .get(&cfg.username_field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let email = match claims.get(&cfg.email_field) {
        Some(Value::String(e)) => e.clone(),
        None | Some(Value::Null) if is_valid_email(&username_claim) => username_claim.clone(),
        None | Some(Value::Null) => {
            return Err(refused(Refusal::Invalid, "No email found in OIDC payload!"))
        }
        Some(_) => {
            return Err(refused(
                Refusal::Invalid,
                format!(
                    "Email in OIDC payload field {:?} is not a string.",
                    cfg.email_field
                ),
            ))
        }
    };
    if claims.get("email_verified") == Some(&Value::Bool(false)) && !cfg.ignore_email_verified {
        return Err(refused(
            Refusal::Forbidden,
            format!("Verify the {email:?} email address on your OIDC provider to authenticate!"),
        ));
    }
    let domains: Vec<&str> = cfg
        .email_domain
        .iter()
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .collect();
    if !domains.is_empty() {
        let ok = email.rsplit_once('@').is_some_and(|(_, d)| {
            domains
                .iter()
                .any(|allowed| allowed.trim_start_matches('@').eq_ignore_ascii_case(d))
        });
        if !ok {
            let list: Vec<String> = domains.iter().map(|d| format!("{d:?}")).collect();
            return Err(refused(
                Refusal::Forbidden,
                format!(
                    "Your email {email:?} is not in domains [{}]!",
                    list.join(" ")
                ),
            ));
        }
    }
    let username = if is_valid_username(&username_claim) {
        username_claim
    } else {
        crate::scim::users::derive_username(&username_claim, &email)
    };
    let name: String = claims
        .get(&cfg.name_field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .chars()
        .take(128)
        .collect();
    let avatar_url = claims
        .get("picture")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    Ok(Profile {
        email,
        username,
        name,
        avatar_url,
    })
}

/// The allowed-groups check (coder-now 2.7 step 1; only while group sync
/// is licensed, as upstream's enterprise sync does it).
fn check_allowed_groups(state: &AppState, claims: &Map<String, Value>) -> Result<(), OidcRefusal> {
    let sync = &state.idp_sync;
    if sync.allowed_groups.is_empty() || !idpsync::group_sync_entitled(state) {
        return Ok(());
    }
    let groups = idpsync::string_slice_claim(claims.get(&sync.group_field)).map_err(|e| {
        OidcRefusal::Api(
            DomainError::refused(Refusal::Invalid, "Failed to sync groups from OIDC claims")
                .detail(e),
        )
    })?;
    if groups.is_empty() {
        return Err(page(
            "Not a member of an allowed group",
            "You have no groups in your claims!",
        ));
    }
    if !groups.iter().any(|g| sync.allowed_groups.contains(g)) {
        return Err(page(
            "Not a member of an allowed group",
            "Ask an administrator to add one of your groups to the allow list.",
        ));
    }
    Ok(())
}

/// Signs a verified identity in (coder-now 2.4): finds the user by the
/// linked id, then by email; creates one (through
/// [`users::create_user`], the one user-creation path) when signups allow;
/// refuses other login types, suspended accounts and users outside the
/// allowed groups; then writes the login in one transaction
/// ([`store::Store::oidc_login`]) with an `api_key` `login` (or
/// `register` for a new user) row, status 307. A refusal of a known user
/// writes its `login` row with the refusal's status; nothing else.
pub async fn login(
    state: &AppState,
    ctx: &AuditContext,
    identity: &Identity,
) -> Result<OidcLoggedIn, OidcRefusal> {
    let claims = &identity.claims;
    let p = profile(state, claims)?;
    check_allowed_groups(state, claims)?;
    // Role claims are checked before anything is written.
    let site_roles = if idpsync::site_role_sync_enabled(state) {
        Some(
            idpsync::site_roles(&state.idp_sync, claims).map_err(|detail| OidcRefusal::Server {
                message: "Login disabled until site wide OIDC config is fixed".into(),
                detail,
            })?,
        )
    } else {
        None
    };
    let found = match state
        .store
        .get_user_by_link("oidc", &identity.linked_id)
        .await?
    {
        Some((_, u)) => Some(u),
        None => match state.store.get_user_by_email(&p.email).await {
            Ok(u) => Some(u),
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
    };
    let (user, action) = match found {
        Some(u) => (u, AuditAction::Login),
        None => (sign_up(state, ctx, &p).await?, AuditAction::Register),
    };
    let actor = Actor::User {
        id: user.id,
        username: user.username.clone(),
        subject: rbac::subject(user.id, &user.rbac_roles.0, std::iter::empty()),
    };
    if user.login_type != "oidc" {
        let mut description = format!(
            "Attempting to use login type \"oidc\", but the user has the login type {:?}.",
            user.login_type
        );
        if user.login_type == "password" {
            description.push_str(
                " You can convert your account to use this login type by visiting your account settings.",
            );
        }
        audit_refusal(state, &actor, ctx, action, 403).await?;
        return Err(page("Incorrect login type", description));
    }
    if user.status == UserStatus::Suspended {
        audit_refusal(state, &actor, ctx, action, 401).await?;
        return Err(refused(
            Refusal::Unauthenticated,
            "Your account is suspended. Contact an admin to reactivate your account.",
        ));
    }
    let mut groups = Vec::new();
    let mut org_roles = Vec::new();
    let group_sync = idpsync::group_sync_entitled(state);
    let role_sync = state
        .entitlements
        .enabled(codersdk::FeatureName::UserRoleManagement);
    if group_sync || role_sync {
        for org in state.store.list_organizations_by_user(user.id).await? {
            if group_sync {
                let settings = idpsync::group_settings(state, &org).await?;
                if let Some(plan) = idpsync::plan_groups(&settings, org.id, claims) {
                    groups.push(plan);
                }
            }
            if role_sync {
                let settings = idpsync::role_settings(state, org.id).await?;
                if let Some(roles) = idpsync::org_roles(&settings, claims) {
                    org_roles.push((org.id, roles));
                }
            }
        }
    }
    let lifetime = state.config.session_duration;
    let key = super::apikeys::mint(user.id, "oidc", lifetime, "");
    let write = store::idpsync::OidcLoginWrite {
        user_id: user.id,
        linked_id: identity.linked_id.clone(),
        claims: Value::Object(claims.clone()).to_string(),
        email: p.email.clone(),
        name: p.name.clone(),
        avatar_url: p.avatar_url.clone(),
        groups,
        site_roles,
        org_roles,
        key: key.row,
        last_seen_at: state.clock.now(),
    };
    let written = std::sync::Mutex::new(Vec::<store::AuditLog>::new());
    let keep = |row: Option<store::AuditLog>| {
        if let Some(r) = &row {
            written.lock().expect("audit rows lock").push(r.clone());
        }
        row
    };
    let dormancy = Actor::System {
        subsystem: Subsystem::Dormancy,
    };
    let activated = |old: &store::User, new: &store::User| {
        let mut row = audit::row(
            state,
            &dormancy,
            ctx,
            audit::user_entry(AuditAction::Write, Some(old), new, 200),
        );
        if let Some(r) = &mut row {
            r.user_id = new.id;
        }
        keep(row)
    };
    let oidc_actor = Actor::System {
        subsystem: Subsystem::Oidc,
    };
    let roles_changed = |old: &store::User, new: &store::User| {
        keep(audit::row(
            state,
            &oidc_actor,
            ctx,
            audit::user_entry(AuditAction::Write, Some(old), new, 200),
        ))
    };
    // Group sync's membership changes: a `group` `write` row of the group
    // (its members before and after), `create` for a group the sync made.
    let group_changed = |old: Option<&store::AuditedGroup>, new: Option<&store::AuditedGroup>| {
        let (action, status) = match old {
            None => (AuditAction::Create, 201),
            Some(_) => (AuditAction::Write, 200),
        };
        let entry = super::groups::group_entry(action, old, new, status)?;
        keep(audit::row(state, &oidc_actor, ctx, entry))
    };
    let login_row = || {
        let mut row = audit::row(state, &actor, ctx, login_entry(user.id, action, 307))?;
        if let Some(last) = written.lock().expect("audit rows lock").last() {
            if row.time <= last.time {
                row.time = last.time + chrono::Duration::microseconds(1);
            }
        }
        keep(Some(row))
    };
    state
        .store
        .oidc_login(
            &write,
            &activated,
            &group_changed,
            &roles_changed,
            &login_row,
        )
        .await?;
    for r in written.into_inner().expect("audit rows lock") {
        audit::emit(&r);
    }
    // The login may have changed the user's roles, status or profile.
    crate::sessions::evict_user(state, user.id).await;
    Ok(OidcLoggedIn {
        token: key.token,
        lifetime,
        user_id: user.id,
    })
}

/// Creates the OIDC user (upstream: status `active`, login type `oidc`,
/// member of the default organization); refuses with the `Signups are
/// disabled` page when `--oidc-allow-signups=false`. A taken username is
/// retried as `<username>-<suffix>` up to 10 times, then 409 `exhausted
/// alternatives for taken username "<username>"`.
async fn sign_up(
    state: &AppState,
    ctx: &AuditContext,
    p: &Profile,
) -> Result<store::User, OidcRefusal> {
    let cfg = &state.config.oidc;
    if !cfg.allow_signups {
        let text = if cfg.signups_disabled_text.is_empty() {
            SIGNUPS_DISABLED_DEFAULT.to_owned()
        } else {
            cfg.signups_disabled_text.clone()
        };
        return Err(page("Signups are disabled", text));
    }
    if !state.store.has_users().await? {
        return Err(refused(
            Refusal::Invalid,
            "The first user must be created before signing in with OpenID Connect.",
        ));
    }
    let system = Actor::System {
        subsystem: Subsystem::Oidc,
    };
    let mut candidates = vec![p.username.clone()];
    let stem: String = p.username.chars().take(25).collect();
    let stem = stem.trim_end_matches('-').to_owned();
    for _ in 0..10 {
        candidates.push(format!("{stem}-{}", random_suffix()));
    }
    for username in candidates {
        if state.store.get_user_by_username(&username).await.is_ok() {
            continue;
        }
        let input = CreateUser::Oidc(NewUser {
            email: p.email.clone(),
            username,
            name: p.name.clone(),
            password: String::new(),
            login_type: "oidc".into(),
            status: UserStatus::Active,
            organization_id: None,
        });
        match users::create_user(state, &system, ctx, input).await {
            Ok(CreatedUser::Api { user, .. }) => return Ok(user),
            Ok(CreatedUser::Scim { .. }) => unreachable!("an OIDC create makes an API user"),
            // Taken meanwhile: try the next name.
            Err(DomainError::Refused {
                kind: Refusal::Conflict,
                ..
            }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(refused(
        Refusal::Conflict,
        format!("exhausted alternatives for taken username {:?}", p.username),
    ))
}

fn random_suffix() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..6)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.gen_range(0..36)]))
        .collect()
}

fn login_entry(resource_id: Uuid, action: AuditAction, status_code: u16) -> Entry {
    Entry {
        resource_type: ResourceType::ApiKey,
        resource_id,
        resource_target: String::new(),
        action,
        diff: Default::default(),
        status_code,
        organization_id: None,
    }
}

/// The `login` row of a refused login of a known user (nil resource id,
/// as upstream's failed logins).
async fn audit_refusal(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    action: AuditAction,
    status: u16,
) -> Result<(), OidcRefusal> {
    if let Some(row) = audit::row(state, actor, ctx, login_entry(Uuid::nil(), action, status)) {
        state.store.insert_audit_log(&row).await?;
        audit::emit(&row);
    }
    Ok(())
}
