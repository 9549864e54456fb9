//! Provisioner daemons: `GET /organizations/{organization}/provisionerdaemons`
//! and `GET /organizations/{organization}/provisionerdaemons/serve` (the
//! seed's "Get provisioner daemons" and "Serve provisioner daemon"; spec
//! section 7). Both sit behind the `external_provisioner_daemons` gate,
//! which answers before authentication, as upstream's middleware order.

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{RawQuery, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codersdk::{
    FeatureName, NullTime, ProvisionerDaemon, Response as Message, PROVISIONER_DAEMON_KEY_HEADER,
    PROVISIONER_DAEMON_PSK_HEADER, PROVISIONER_TYPES, SCOPE_ORGANIZATION, SCOPE_USER, TAG_SCOPE,
};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path};
use crate::provisioning::session::DaemonSession;
use crate::provisioning::tags::{mutate_tags, parse_tag_params};
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// Largest frame a daemon may send (logs, results): 16 MiB.
const MAX_FRAME: usize = 16 << 20;

/// The daemon routes, gated by `external_provisioner_daemons` as one group.
pub fn router() -> OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    crate::entitlements::gated(
        FeatureName::ExternalProvisionerDaemons,
        OpenApiRouter::new()
            .routes(routes!(get_provisioner_daemons))
            .routes(routes!(serve_provisioner_daemon)),
    )
}

/// A stored daemon on the wire (the seed's shape, `updated_at` as
/// `{"time", "valid"}`).
pub fn daemon_to_sdk(d: &store::ProvisionerDaemon) -> ProvisionerDaemon {
    ProvisionerDaemon {
        id: d.id,
        created_at: d.created_at,
        updated_at: NullTime::from_option(d.updated_at),
        name: d.name.clone(),
        provisioners: d.provisioners.0.clone(),
        tags: d.tags.0.clone(),
    }
}

/// `GET /organizations/{organization}/provisionerdaemons`: every registered
/// daemon the caller may read (every member may), oldest first; `[]` when
/// none. Daemons are not organization-scoped (upstream OLD).
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/provisionerdaemons", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default")),
    responses((status = 200, body = Vec<ProvisionerDaemon>), (status = 401, body = Message),
        (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn get_provisioner_daemons(
    State(state): State<AppState>,
    auth: Auth,
    Path(organization): Path<String>,
) -> ApiResult<Json<Vec<ProvisionerDaemon>>> {
    crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?;
    let daemons = crate::domain::builds::list_daemons(&state).await?;
    Ok(Json(
        daemons
            .iter()
            .filter(|_| {
                auth.subject
                    .can(Action::Read, &Resource::ProvisionerDaemon.any())
            })
            .map(daemon_to_sdk)
            .collect(),
    ))
}

/// A random daemon name (`brave-turing-1a2b`).
fn random_daemon_name() -> String {
    let base = crate::domain::templates::random_version_name().replace('_', "-");
    let suffix = &Uuid::new_v4().simple().to_string()[..4];
    format!("{base}-{suffix}")
}

/// Longest daemon `name=` accepted, in characters (a hostname fits).
pub const MAX_DAEMON_NAME: usize = 128;

/// Who a serve request comes from, in upstream's order
/// (`httpmw.ExtractProvisionerDaemonAuthenticated` in optional mode, then
/// `RequireAPIKeyOrProvisionerDaemonAuth`): `Ok(None)` for a daemon that
/// gave the right pre-shared key, `Ok(Some(auth))` for a user session.
///
/// Refusals (message, as upstream): both daemon headers -> 400 `provisioner
/// daemon key and psk provided, but only one is allowed`; a provisioner key
/// (none is ever issued here) -> 400 `provisioner daemon key invalid` with
/// detail `must be 43 characters` when malformed, else 401 with that
/// message; a PSK header when the server has none, or a wrong one -> 401
/// `provisioner daemon psk invalid`; a right PSK and a session token -> 400
/// `API key and external provisioner authentication provided, but only one
/// is allowed`; neither -> 401 `API key or external provisioner
/// authentication required, but none provided`; a session token that does
/// not authenticate -> the session extractor's 401.
fn daemon_caller(
    state: &AppState,
    parts: &Parts,
    auth: Result<Auth, ApiError>,
) -> ApiResult<Option<Auth>> {
    let headers = &parts.headers;
    let psk = headers.get(PROVISIONER_DAEMON_PSK_HEADER);
    let key = headers.get(PROVISIONER_DAEMON_KEY_HEADER);
    if psk.is_some() && key.is_some() {
        return Err(ApiError::bad_request(
            "provisioner daemon key and psk provided, but only one is allowed",
        ));
    }
    if let Some(key) = key {
        if key.len() != 43 {
            return Err(ApiError::bad_request("provisioner daemon key invalid")
                .detail("must be 43 characters"));
        }
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "provisioner daemon key invalid",
        ));
    }
    let has_token = crate::auth::token_from_parts(parts).is_some();
    match psk {
        Some(given) => {
            let ok = state
                .config
                .provisioner_daemon_psk
                .as_ref()
                .map(|k| k.expose_secret())
                .filter(|k| !k.is_empty())
                .is_some_and(|k| bool::from(k.as_bytes().ct_eq(given.as_bytes())));
            if !ok {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "provisioner daemon psk invalid",
                ));
            }
            if has_token {
                return Err(ApiError::bad_request(
                    "API key and external provisioner authentication provided, but only one is allowed",
                ));
            }
            Ok(None)
        }
        None if !has_token => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "API key or external provisioner authentication required, but none provided",
        )),
        None => auth.map(Some),
    }
}

/// `GET /organizations/{organization}/provisionerdaemons/serve`: upgrades to
/// the websocket an external daemon is served over.
///
/// Query: `provisioner=` (repeatable, required: `echo` or `terraform`),
/// `tag=key=value` (repeatable), optional `name=` (at most
/// [`MAX_DAEMON_NAME`] characters, no control characters). Errors, in order:
/// the authentication refusals of [`daemon_caller`]; 400 `The provisioner
/// query parameter must be specified.`, `Unknown provisioner type "<x>"`,
/// `Invalid format for tag "<t>". Key and value must be separated with =.`,
/// `Invalid provisioner daemon name.`; 403 `You aren't allowed to create
/// provisioner daemons for the organization.` for `scope=organization`
/// without create on provisioner daemons (owner, template-admin) — any
/// user may serve `scope=user` (tagged with `owner=<their id>`); a PSK
/// daemon serves the default organization with the tags as given
/// (`scope=user` -> 403 `You aren't allowed to create provisioner daemons
/// with scope "user"`); 400 when the request is not a websocket upgrade.
#[utoipa::path(get, path = "/api/v2/organizations/{organization}/provisionerdaemons/serve", tag = "Enterprise",
    params(("organization" = String, Path, description = "Organization ID, name, or default"),
        ("provisioner" = Vec<String>, Query, description = "Provisioner types served (repeatable): `echo` or `terraform`"),
        ("tag" = Option<Vec<String>>, Query, description = "Tags as `key=value` (repeatable); `scope=user` or `scope=organization` (the default)"),
        ("name" = Option<String>, Query, description = "Daemon name")),
    security(("CoderProvisionerDaemonPSK" = []), ("CoderSessionToken" = []),
        ("CoderSessionTokenCookie" = []), ("CoderSessionTokenQuery" = [])),
    responses((status = 101, description = "Switching Protocols"), (status = 400, body = Message),
        (status = 401, body = Message), (status = 403, body = Message), (status = 404, body = Message)))]
pub async fn serve_provisioner_daemon(
    State(state): State<AppState>,
    parts: Parts,
    Path(organization): Path<String>,
    RawQuery(query): RawQuery,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    auth: Result<Auth, ApiError>,
) -> ApiResult<Response> {
    let user = daemon_caller(&state, &parts, auth)?;
    let org = match &user {
        Some(auth) => {
            crate::domain::lookup::resolve_org(&state, &auth.actor(), &organization).await?
        }
        None => crate::domain::builds::daemon_organization(&state, &organization).await?,
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| {
        ApiError::bad_request("Query parameters have invalid values.").detail(e.to_string())
    })?;
    let mut provisioners: Vec<String> = Vec::new();
    let mut raw_tags = Vec::new();
    let mut name = None;
    for (k, v) in pairs {
        match k.as_str() {
            "provisioner" => {
                if !PROVISIONER_TYPES.contains(&v.as_str()) {
                    return Err(ApiError::bad_request(format!(
                        "Unknown provisioner type {v:?}"
                    )));
                }
                if !provisioners.contains(&v) {
                    provisioners.push(v);
                }
            }
            "tag" => raw_tags.push(v),
            "name" if !v.is_empty() => {
                if v.chars().count() > MAX_DAEMON_NAME || v.chars().any(char::is_control) {
                    return Err(ApiError::bad_request("Invalid provisioner daemon name.")
                        .detail(format!(
                            "A name is at most {MAX_DAEMON_NAME} characters, without control characters."
                        )));
                }
                name = Some(v)
            }
            _ => {}
        }
    }
    if provisioners.is_empty() {
        return Err(ApiError::bad_request(
            "The provisioner query parameter must be specified.",
        ));
    }
    let raw_tags = parse_tag_params(&raw_tags).map_err(ApiError::bad_request)?;
    let tags = match &user {
        Some(auth) => {
            let tags = mutate_tags(auth.user.id, &raw_tags);
            if tags.get(TAG_SCOPE).map(String::as_str) == Some(SCOPE_ORGANIZATION)
                && !auth
                    .subject
                    .can(Action::Create, &Resource::ProvisionerDaemon.in_org(org.id))
            {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "You aren't allowed to create provisioner daemons for the organization.",
                ));
            }
            tags
        }
        None => {
            if raw_tags.get(TAG_SCOPE).map(String::as_str) == Some(SCOPE_USER) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!("You aren't allowed to create provisioner daemons with scope {SCOPE_USER:?}"),
                ));
            }
            mutate_tags(Uuid::nil(), &raw_tags)
        }
    };
    let ws = ws.map_err(|e| {
        ApiError::bad_request("Expected a websocket upgrade request.").detail(e.body_text())
    })?;
    let session = DaemonSession::register(
        &state,
        name.unwrap_or_else(random_daemon_name),
        provisioners,
        tags,
        Some(org.id),
    )
    .await?;
    let shutdown = state.shutdown.clone();
    Ok(ws
        .max_message_size(MAX_FRAME)
        .on_upgrade(move |socket| {
            crate::provisioning::serve::run(socket, Arc::new(session), shutdown)
        })
        .into_response())
}
