//! Deployment settings (coder-now 5.5): `/deployment/overview` (replicas
//! and their errors), `/deployment/licenses` (+ `/add`; remove, refresh),
//! `/deployment/appearance` (logo and service banner, with a preview),
//! `/deployment/userauth` (the OIDC settings, secrets hidden), and the
//! organization pages `/organizations/{org}/provisioners` and
//! `/organizations/{org}/idp-sync`.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use codersdk::{AddLicenseRequest, AppearanceConfig, FeatureName, ServiceBannerConfig};
use serde::Deserialize;

use super::workspaces::wire;
use super::{render, respond, see_other, Form, FormError, Layout, Viewer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// The deployment pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/deployment",
            get(|| async { Redirect::to("/deployment/overview") }),
        )
        .route(
            "/deployment/general",
            get(|| async { Redirect::to("/deployment/overview") }),
        )
        .route("/deployment/overview", get(get_overview))
        .route("/deployment/licenses", get(get_licenses))
        .route(
            "/deployment/licenses/add",
            get(get_add_license).post(post_add_license),
        )
        .route("/deployment/licenses/refresh", post(post_refresh))
        .route(
            "/deployment/licenses/{id}/delete",
            post(post_delete_license),
        )
        .route(
            "/deployment/appearance",
            get(get_appearance).post(post_appearance),
        )
        .route("/deployment/userauth", get(get_userauth))
        .route("/organizations/{org}/provisioners", get(get_provisioners))
        .route("/organizations/{org}/idp-sync", get(get_idp_sync))
}

/// The deployment pages are for those who may read the deployment config
/// (owners); others get the API's 403.
fn require_admin(v: &Viewer) -> Result<(), ApiError> {
    v.auth
        .require(Action::Read, &Resource::DeploymentConfig.any())
}

struct ReplicaRow {
    hostname: String,
    relay: String,
    started: String,
    latency_ms: f64,
    error: String,
}

#[derive(Template)]
#[template(path = "deployment_overview.html")]
struct OverviewPage {
    layout: Layout,
    section: &'static str,
    access_url: String,
    version: String,
    replicas: Vec<ReplicaRow>,
    features: Vec<(String, String, bool)>,
}

/// `GET /deployment/overview`: access URL, version, the replicas with
/// their errors (`GET /replicas`) and the features' entitlements.
async fn get_overview(State(state): State<AppState>, v: Viewer) -> Response {
    let r = async {
        require_admin(&v)?;
        let replicas =
            crate::api::replicas::get_replicas(State(state.clone()), v.auth.clone()).await?;
        let e = state.entitlements.current();
        Ok(render(&OverviewPage {
            layout: v.layout(&state, "Overview", "deployment").await,
            section: "overview",
            access_url: state.access_url.clone(),
            version: crate::api::buildinfo::version(),
            replicas: replicas
                .0
                .iter()
                .map(|r| ReplicaRow {
                    hostname: r.hostname.clone(),
                    relay: r.relay_address.clone(),
                    started: super::when(&r.created_at),
                    latency_ms: r.database_latency as f64 / 1000.0,
                    error: r.error.clone(),
                })
                .collect(),
            features: e
                .features
                .iter()
                .map(|(name, f)| (name.clone(), wire(&f.entitlement), f.enabled))
                .collect(),
        }))
    }
    .await;
    respond(&state, &v, r).await
}

struct LicenseCard {
    id: i32,
    uuid: String,
    uploaded: String,
    expires: String,
    trial: bool,
    user_limit: String,
    features: Vec<String>,
    error: String,
}

#[derive(Template)]
#[template(path = "deployment_licenses.html")]
struct LicensesPage {
    layout: Layout,
    section: &'static str,
    cards: Vec<LicenseCard>,
    active_users: String,
    refreshed: bool,
}

#[derive(Deserialize, Default)]
struct RefreshedQuery {
    refreshed: Option<String>,
}

fn claim_time(v: Option<&serde_json::Value>) -> String {
    v.and_then(|v| v.as_f64())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs as i64, 0))
        .map(|t| super::when(&t))
        .unwrap_or_default()
}

/// `GET /deployment/licenses`: one card per license (features, user limit,
/// expiry), the active user count, add, remove and refresh.
async fn get_licenses(
    State(state): State<AppState>,
    v: Viewer,
    axum::extract::Query(q): axum::extract::Query<RefreshedQuery>,
) -> Response {
    let r = async {
        require_admin(&v)?;
        let rows = crate::domain::licenses::list(&state, &v.auth.actor())
            .await
            .map_err(ApiError::from)?
            .unwrap_or_default();
        let cards = rows
            .iter()
            .map(|row| match crate::view::licenses::to_sdk(row) {
                Ok(l) => {
                    let features = l
                        .claims
                        .get("features")
                        .and_then(|f| f.as_object())
                        .cloned()
                        .unwrap_or_default();
                    LicenseCard {
                        id: l.id,
                        uuid: l.uuid.to_string(),
                        uploaded: super::when(&l.uploaded_at),
                        expires: claim_time(l.claims.get("license_expires")),
                        trial: l.claims.get("trial").and_then(|t| t.as_bool()) == Some(true),
                        user_limit: features
                            .get("user_limit")
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "Unlimited".to_owned()),
                        features: features
                            .keys()
                            .filter(|k| *k != "user_limit")
                            .cloned()
                            .collect(),
                        error: String::new(),
                    }
                }
                Err(e) => LicenseCard {
                    id: row.id,
                    uuid: String::new(),
                    uploaded: String::new(),
                    expires: String::new(),
                    trial: false,
                    user_limit: String::new(),
                    features: vec![],
                    error: e.to_string(),
                },
            })
            .collect();
        let e = state.entitlements.current();
        let users = e.feature(FeatureName::UserLimit);
        Ok(render(&LicensesPage {
            layout: v.layout(&state, "Licenses", "deployment").await,
            section: "licenses",
            cards,
            active_users: match (users.actual, users.limit) {
                (Some(a), Some(l)) => format!("{a} of {l}"),
                (Some(a), None) => a.to_string(),
                _ => String::new(),
            },
            refreshed: q.refreshed.is_some(),
        }))
    }
    .await;
    respond(&state, &v, r).await
}

#[derive(Template)]
#[template(path = "deployment_license_add.html")]
struct AddLicensePage {
    layout: Layout,
    section: &'static str,
    license: String,
    error: Option<FormError>,
}

/// `GET /deployment/licenses/add`: paste a license JWT.
async fn get_add_license(State(state): State<AppState>, v: Viewer) -> Response {
    let r = async {
        require_admin(&v)?;
        Ok(render(&AddLicensePage {
            layout: v.layout(&state, "Add a license", "deployment").await,
            section: "licenses",
            license: String::new(),
            error: None,
        }))
    }
    .await;
    respond(&state, &v, r).await
}

#[derive(Deserialize)]
struct LicenseForm {
    #[serde(default)]
    license: String,
}

/// `POST /deployment/licenses/add`: `POST /licenses`; then the list, or
/// the form with the API's reason.
async fn post_add_license(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<LicenseForm>,
) -> Response {
    let added = crate::api::licenses::post_license(
        State(state.clone()),
        v.auth.clone(),
        v.ctx.clone(),
        Json(AddLicenseRequest {
            license: f.license.trim().to_owned(),
        }),
    )
    .await;
    match added {
        Ok(_) => see_other("/deployment/licenses"),
        Err(e) => super::render_status(
            e.status,
            &AddLicensePage {
                layout: v.layout(&state, "Add a license", "deployment").await,
                section: "licenses",
                license: f.license,
                error: Some(FormError::from_api(&e)),
            },
        ),
    }
}

/// `POST /deployment/licenses/{id}/delete`: `DELETE /licenses/{id}`.
async fn post_delete_license(
    State(state): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Form(_): Form<super::signin::Empty>,
) -> Response {
    let r = async {
        crate::api::licenses::delete_license(
            State(state.clone()),
            v.auth.clone(),
            v.ctx.clone(),
            Path(id),
        )
        .await?;
        Ok(see_other("/deployment/licenses"))
    }
    .await;
    respond(&state, &v, r).await
}

/// `POST /deployment/licenses/refresh`: recomputes the entitlements on
/// every replica ([`crate::domain::licenses::refresh`]).
async fn post_refresh(
    State(state): State<AppState>,
    v: Viewer,
    Form(_): Form<super::signin::Empty>,
) -> Response {
    let r = async {
        crate::domain::licenses::refresh(&state, &v.auth.actor())
            .await
            .map_err(ApiError::from)?;
        Ok(see_other("/deployment/licenses?refreshed=1"))
    }
    .await;
    respond(&state, &v, r).await
}

#[derive(Template)]
#[template(path = "deployment_appearance.html")]
struct AppearancePage {
    layout: Layout,
    section: &'static str,
    entitled: bool,
    logo_url: String,
    enabled: bool,
    message: String,
    background_color: String,
    preview_text: &'static str,
    saved: bool,
    error: Option<FormError>,
    paywall_title: &'static str,
    paywall_text: &'static str,
}

impl AppearancePage {
    fn new(layout: Layout, entitled: bool, a: &AppearanceConfig) -> AppearancePage {
        let color = super::banner_color(&a.service_banner.background_color);
        AppearancePage {
            layout,
            section: "appearance",
            entitled,
            logo_url: a.logo_url.clone(),
            enabled: a.service_banner.enabled,
            message: a.service_banner.message.clone(),
            preview_text: super::readable_text_color(&color),
            background_color: color,
            saved: false,
            error: None,
            paywall_title: "Appearance",
            paywall_text: "Customize the look and feel of your deployment: a logo and a service banner on every page.",
        }
    }
}

/// `GET /deployment/appearance`: the logo URL and service banner form,
/// with a preview; a paywall while `appearance` is not entitled.
async fn get_appearance(State(state): State<AppState>, v: Viewer) -> Response {
    let r = async {
        require_admin(&v)?;
        let entitled = state.entitlements.licensed(FeatureName::Appearance);
        let a = crate::api::appearance::get_appearance(State(state.clone()), v.auth.clone())
            .await?
            .0;
        Ok(render(&AppearancePage::new(
            v.layout(&state, "Appearance", "deployment").await,
            entitled,
            &a,
        )))
    }
    .await;
    respond(&state, &v, r).await
}

#[derive(Deserialize)]
struct AppearanceForm {
    #[serde(default)]
    logo_url: String,
    /// `on` when the checkbox is ticked.
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    background_color: String,
}

/// `POST /deployment/appearance`: `PUT /appearance`; then the form with
/// the stored values, or the API's refusal (e.g. `Invalid color format`).
async fn post_appearance(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<AppearanceForm>,
) -> Response {
    let config = AppearanceConfig {
        logo_url: f.logo_url.trim().to_owned(),
        service_banner: ServiceBannerConfig {
            enabled: f.enabled.is_some(),
            message: f.message,
            background_color: f.background_color.trim().to_owned(),
        },
    };
    let entitled = state.entitlements.licensed(FeatureName::Appearance);
    let res = crate::api::appearance::put_appearance(
        State(state.clone()),
        v.auth.clone(),
        v.ctx.clone(),
        Json(config.clone()),
    )
    .await;
    match res {
        Ok(stored) => {
            let mut page = AppearancePage::new(
                v.layout(&state, "Appearance", "deployment").await,
                entitled,
                &stored.0,
            );
            page.saved = true;
            render(&page)
        }
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let mut page = AppearancePage::new(
                v.layout(&state, "Appearance", "deployment").await,
                entitled,
                &config,
            );
            page.error = Some(FormError::from_api(&e));
            super::render_status(e.status, &page)
        }
        Err(e) => super::error_page(&state, Some(&v), e).await,
    }
}

#[derive(Template)]
#[template(path = "deployment_userauth.html")]
struct UserAuthPage {
    layout: Layout,
    section: &'static str,
    password_enabled: bool,
    oidc_enabled: bool,
    options: Vec<(&'static str, String)>,
}

/// `GET /deployment/userauth`: password login and every `--oidc-*` option
/// in force (the client secret shown as dots when set).
async fn get_userauth(State(state): State<AppState>, v: Viewer) -> Response {
    let r = async {
        require_admin(&v)?;
        let o = &state.config.oidc;
        let list = |v: &[String]| v.join(", ");
        let options = vec![
            ("oidc-issuer-url", o.issuer_url.clone().unwrap_or_default()),
            ("oidc-client-id", o.client_id.clone()),
            (
                "oidc-client-secret",
                if o.client_secret.is_some() {
                    "••••••••".to_owned()
                } else {
                    String::new()
                },
            ),
            ("oidc-scopes", list(&o.scopes)),
            ("oidc-email-domain", list(&o.email_domain)),
            ("oidc-allow-signups", o.allow_signups.to_string()),
            ("oidc-username-field", o.username_field.clone()),
            ("oidc-name-field", o.name_field.clone()),
            ("oidc-email-field", o.email_field.clone()),
            (
                "oidc-ignore-email-verified",
                o.ignore_email_verified.to_string(),
            ),
            ("oidc-ignore-userinfo", o.ignore_userinfo.to_string()),
            ("oidc-auth-url-params", o.auth_url_params.clone()),
            ("oidc-sign-in-text", o.sign_in_text.clone()),
            ("oidc-icon-url", o.icon_url.clone()),
            (
                "oidc-signups-disabled-text",
                o.signups_disabled_text.clone(),
            ),
            ("oidc-allowed-groups", list(&o.allowed_groups)),
            ("oidc-group-field", o.group_field.clone()),
            ("oidc-group-mapping", o.group_mapping.clone()),
            ("oidc-group-auto-create", o.group_auto_create.to_string()),
            ("oidc-group-regex-filter", o.group_regex_filter.clone()),
            ("oidc-user-role-field", o.user_role_field.clone()),
            ("oidc-user-role-mapping", o.user_role_mapping.clone()),
            ("oidc-user-role-default", list(&o.user_role_default)),
        ];
        Ok(render(&UserAuthPage {
            layout: v.layout(&state, "User authentication", "deployment").await,
            section: "userauth",
            password_enabled: !state.config.disable_password_auth,
            oidc_enabled: state.oidc.is_some(),
            options,
        }))
    }
    .await;
    respond(&state, &v, r).await
}

struct DaemonRow {
    name: String,
    provisioners: String,
    tags: Vec<(String, String)>,
    created: String,
}

#[derive(Template)]
#[template(path = "organization_provisioners.html")]
struct ProvisionersPage {
    layout: Layout,
    section: &'static str,
    org: String,
    rows: Vec<DaemonRow>,
}

/// `GET /organizations/{org}/provisioners`: `GET
/// /organizations/{org}/provisionerdaemons` (daemons and their tags).
async fn get_provisioners(
    State(state): State<AppState>,
    v: Viewer,
    Path(org): Path<String>,
) -> Response {
    let r = async {
        require_admin(&v)?;
        let daemons = crate::api::provisionerdaemons::get_provisioner_daemons(
            State(state.clone()),
            v.auth.clone(),
            Path(org.clone()),
        )
        .await?
        .0;
        Ok(render(&ProvisionersPage {
            layout: v.layout(&state, "Provisioners", "deployment").await,
            section: "provisioners",
            org,
            rows: daemons
                .iter()
                .map(|d| DaemonRow {
                    name: d.name.clone(),
                    provisioners: d.provisioners.join(", "),
                    tags: d.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                    created: super::when(&d.created_at),
                })
                .collect(),
        }))
    }
    .await;
    respond(&state, &v, r).await
}

#[derive(Template)]
#[template(path = "organization_idp_sync.html")]
struct IdpSyncPage {
    layout: Layout,
    section: &'static str,
    entitled: bool,
    group: codersdk::GroupSyncSettings,
    group_mapping: Vec<(String, String)>,
    role: codersdk::RoleSyncSettings,
    role_mapping: Vec<(String, String)>,
    paywall_title: &'static str,
    paywall_text: &'static str,
}

/// `GET /organizations/{org}/idp-sync`: the organization's group sync and
/// role sync settings (`GET .../settings/idpsync/groups|roles`); a
/// paywall while group sync is not entitled.
async fn get_idp_sync(
    State(state): State<AppState>,
    v: Viewer,
    Path(org): Path<String>,
) -> Response {
    let r = async {
        require_admin(&v)?;
        let entitled = crate::domain::idpsync::group_sync_entitled(&state);
        let group = crate::api::idpsync::get_group_idp_sync_settings(
            State(state.clone()),
            v.auth.clone(),
            Path(org.clone()),
        )
        .await?
        .0;
        let role = crate::api::idpsync::get_role_idp_sync_settings(
            State(state.clone()),
            v.auth.clone(),
            Path(org.clone()),
        )
        .await?
        .0;
        Ok(render(&IdpSyncPage {
            layout: v.layout(&state, "IdP sync", "deployment").await,
            section: "idp-sync",
            entitled,
            group_mapping: group
                .mapping
                .iter()
                .map(|(k, ids)| {
                    (
                        k.clone(),
                        ids.iter()
                            .map(|i| i.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    )
                })
                .collect(),
            role_mapping: role
                .mapping
                .iter()
                .map(|(k, roles)| (k.clone(), roles.join(", ")))
                .collect(),
            group,
            role,
            paywall_title: "IdP sync",
            paywall_text: "Synchronize groups and roles from your identity provider.",
        }))
    }
    .await;
    respond(&state, &v, r).await
}
