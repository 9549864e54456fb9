//! Templates (coder-now 5.3): `/templates`, `/templates/{name}` with its
//! versions, `/templates/new` (upload an archive, watch the import, then
//! create), and `/templates/{name}/settings/permissions` (the ACL).

use std::collections::BTreeMap;

use askama::Template;
use axum::body::Body;
use axum::extract::{Multipart, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use codersdk::{
    CreateTemplateRequest, CreateTemplateVersionRequest, FeatureName, UpdateTemplateACL,
};
use serde::Deserialize;
use uuid::Uuid;

use super::workspaces::{job_done, template_by_name, wire};
use super::{render, respond, see_other, Form, FormError, Layout, PageResult, Viewer};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::state::AppState;

/// The template pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/templates", get(get_templates))
        .route("/templates/new", get(get_new).post(post_new))
        .route("/templates/new/create", axum::routing::post(post_create))
        .route("/templates/{template}", get(get_template))
        .route(
            "/templates/{template}/settings/permissions",
            get(get_permissions).post(post_permissions),
        )
}

struct TemplateRow {
    name: String,
    display: String,
    description: String,
    users: i64,
}

#[derive(Template)]
#[template(path = "templates.html")]
struct TemplatesPage {
    layout: Layout,
    rows: Vec<TemplateRow>,
    can_create: bool,
}

/// `GET /templates`: the templates the viewer may use, with a "Create
/// workspace" button each.
async fn get_templates(State(state): State<AppState>, v: Viewer) -> Response {
    let r = async {
        let org = super::default_org(&state).await?;
        let list = crate::api::templates::get_templates(
            State(state.clone()),
            v.auth.clone(),
            Path(org.id.to_string()),
        )
        .await?
        .0;
        let can_create = v.auth.subject.can(
            crate::rbac::Action::Create,
            &crate::rbac::Resource::Template.in_org(org.id),
        );
        Ok(render(&TemplatesPage {
            layout: v.layout(&state, "Templates", "templates").await,
            rows: list
                .iter()
                .map(|t| TemplateRow {
                    name: t.name.clone(),
                    display: if t.display_name.is_empty() {
                        t.name.clone()
                    } else {
                        t.display_name.clone()
                    },
                    description: t.description.clone(),
                    users: t.active_user_count,
                })
                .collect(),
            can_create,
        }))
    }
    .await;
    respond(&state, &v, r).await
}

struct VersionRow {
    name: String,
    status: String,
    created: String,
    by: String,
    active: bool,
}

#[derive(Template)]
#[template(path = "template.html")]
struct TemplatePage {
    layout: Layout,
    t: codersdk::Template,
    versions: Vec<VersionRow>,
    can_admin: bool,
}

/// `GET /templates/{name}`: the template, its versions, and links to
/// create a workspace and (for template admins) the permissions.
async fn get_template(
    State(state): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
) -> Response {
    let r = async {
        let t = template_by_name(&state, &v, &name).await?;
        let versions = crate::api::templates::get_template_versions(
            State(state.clone()),
            v.auth.clone(),
            Path(t.id.to_string()),
        )
        .await?
        .0;
        let can_admin = crate::api::templateacl::get_template_acl(
            State(state.clone()),
            v.auth.clone(),
            Path(t.id.to_string()),
        )
        .await
        .is_ok();
        Ok(render(&TemplatePage {
            layout: v.layout(&state, &t.name, "templates").await,
            versions: versions
                .iter()
                .rev()
                .map(|ver| VersionRow {
                    name: ver.name.clone(),
                    status: wire(&ver.job.status),
                    created: super::when(&ver.created_at),
                    by: ver.created_by.username.clone(),
                    active: ver.id == t.active_version_id,
                })
                .collect(),
            can_admin,
            t,
        }))
    }
    .await;
    respond(&state, &v, r).await
}

#[derive(Template)]
#[template(path = "template_new.html")]
struct NewPage {
    layout: Layout,
    name: String,
    display_name: String,
    import: Option<Import>,
    error: Option<FormError>,
}

struct Import {
    version_id: Uuid,
    status: String,
    error: String,
    live: bool,
    succeeded: bool,
    logs: Vec<String>,
    last_log: i64,
}

#[derive(Deserialize, Default)]
struct NewQuery {
    version: Option<String>,
    #[serde(default)]
    name: String,
}

/// `GET /templates/new`: the upload form; with `?version=<id>` the import
/// of that version (its log live while it runs), then the create form.
async fn get_new(State(state): State<AppState>, v: Viewer, Query(q): Query<NewQuery>) -> Response {
    let r = async {
        let import = match q.version.as_deref() {
            Some(id) => Some(import_state(&state, &v, id).await?),
            None => None,
        };
        Ok(render(&NewPage {
            layout: v.layout(&state, "New template", "templates").await,
            name: q.name,
            display_name: String::new(),
            import,
            error: None,
        }))
    }
    .await;
    respond(&state, &v, r).await
}

async fn import_state(state: &AppState, v: &Viewer, id: &str) -> Result<Import, ApiError> {
    let ver = crate::api::templateversions::get_template_version(
        State(state.clone()),
        v.auth.clone(),
        Path(id.to_owned()),
    )
    .await?
    .0;
    let logs = crate::domain::builds::job_logs(state, ver.job.id, 0)
        .await
        .map_err(ApiError::from)?;
    Ok(Import {
        version_id: ver.id,
        status: wire(&ver.job.status),
        error: ver.job.error.clone(),
        live: !job_done(ver.job.status),
        succeeded: ver.job.status == codersdk::ProvisionerJobStatus::Succeeded,
        last_log: logs.last().map(|l| l.id).unwrap_or(0),
        logs: logs.iter().map(|l| l.output.clone()).collect(),
    })
}

/// `POST /templates/new` (multipart: `csrf_token`, `name`, `provisioner`,
/// `file` a tar archive): `POST /files`, then `POST
/// /organizations/{org}/templateversions`; then the import page.
async fn post_new(State(state): State<AppState>, v: Viewer, multipart: Multipart) -> Response {
    let r = upload(&state, &v, multipart).await;
    match r {
        Ok(res) => res,
        Err((name, e)) => {
            let status = e.status;
            super::render_status(
                status,
                &NewPage {
                    layout: v.layout(&state, "New template", "templates").await,
                    name,
                    display_name: String::new(),
                    import: None,
                    error: Some(FormError::from_api(&e)),
                },
            )
        }
    }
}

async fn upload(
    state: &AppState,
    v: &Viewer,
    mut multipart: Multipart,
) -> Result<Response, (String, ApiError)> {
    let mut csrf = None;
    let mut name = String::new();
    let mut provisioner = "terraform".to_owned();
    let mut file: Option<Vec<u8>> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err((
                    name,
                    ApiError::bad_request("The upload could not be read.").detail(e.to_string()),
                ))
            }
        };
        let field_name = field.name().unwrap_or_default().to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) => {
                return Err((
                    name,
                    ApiError::bad_request("The upload could not be read.").detail(e.to_string()),
                ))
            }
        };
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match field_name.as_str() {
            super::CSRF_FIELD => csrf = Some(text()),
            "name" => name = text().trim().to_owned(),
            "provisioner" => provisioner = text(),
            "file" => file = Some(bytes.to_vec()),
            _ => {}
        }
    }
    super::check_csrf(Some(&v.csrf), csrf.as_deref()).map_err(|e| (name.clone(), e))?;
    let Some(file) = file.filter(|f| !f.is_empty()) else {
        return Err((
            name,
            ApiError::bad_request("Choose a template archive (.tar) to upload."),
        ));
    };
    let org = super::default_org(state)
        .await
        .map_err(|e| (name.clone(), e))?;
    let req = Request::builder()
        .method("POST")
        .uri("/api/v2/files")
        .header(header::CONTENT_TYPE, "application/x-tar")
        .body(Body::from(file))
        .map_err(|e| (name.clone(), ApiError::internal(e)))?;
    let uploaded = crate::api::files::post_file(State(state.clone()), v.auth.clone(), req)
        .await
        .map_err(|e| (name.clone(), e))?;
    let body = axum::body::to_bytes(uploaded.into_body(), 1 << 16)
        .await
        .map_err(|e| (name.clone(), ApiError::internal(e)))?;
    let file_id = serde_json::from_slice::<codersdk::UploadResponse>(&body)
        .map_err(|e| (name.clone(), ApiError::internal(e)))?
        .id;
    let (_, version) = crate::api::templateversions::post_template_version(
        State(state.clone()),
        v.auth.clone(),
        v.ctx.clone(),
        Path(org.id.to_string()),
        Json(CreateTemplateVersionRequest {
            storage_method: "file".to_owned(),
            file_id: Some(file_id),
            provisioner,
            ..Default::default()
        }),
    )
    .await
    .map_err(|e| (name.clone(), e))?;
    let q = serde_urlencoded::to_string([
        ("version", version.0.id.to_string()),
        ("name", name.clone()),
    ])
    .unwrap_or_default();
    Ok(see_other(&format!("/templates/new?{q}")))
}

#[derive(Deserialize)]
struct CreateForm {
    #[serde(default)]
    version_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
}

/// `POST /templates/new/create`: `POST /organizations/{org}/templates`
/// with the imported version; then the template's page.
async fn post_create(
    State(state): State<AppState>,
    v: Viewer,
    Form(f): Form<CreateForm>,
) -> Response {
    let r = async {
        let org = super::default_org(&state).await?;
        let version_id = Uuid::parse_str(&f.version_id)
            .map_err(|_| ApiError::bad_request("Invalid template version id."))?;
        let created = crate::api::templates::post_template(
            State(state.clone()),
            v.auth.clone(),
            v.ctx.clone(),
            Path(org.id.to_string()),
            Json(CreateTemplateRequest {
                name: f.name.trim().to_owned(),
                display_name: f.display_name.clone(),
                version_id: Some(version_id),
                ..Default::default()
            }),
        )
        .await;
        match created {
            Ok((_, t)) => Ok(see_other(&format!("/templates/{}", t.0.name))),
            Err(e) => {
                let import = import_state(&state, &v, &f.version_id).await?;
                Ok(super::render_status(
                    e.status,
                    &NewPage {
                        layout: v.layout(&state, "New template", "templates").await,
                        name: f.name,
                        display_name: f.display_name,
                        import: Some(import),
                        error: Some(FormError::from_api(&e)),
                    },
                ))
            }
        }
    }
    .await;
    respond(&state, &v, r).await
}

struct AclRow {
    kind: &'static str,
    id: Uuid,
    name: String,
    detail: String,
    role: String,
}

#[derive(Template)]
#[template(path = "template_permissions.html")]
struct PermissionsPage {
    layout: Layout,
    t: codersdk::Template,
    entitled: bool,
    entries: Vec<AclRow>,
    user_choices: Vec<(Uuid, String)>,
    group_choices: Vec<(Uuid, String)>,
    error: Option<FormError>,
    saved: bool,
}

#[derive(Deserialize, Default)]
struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn permissions_page(
    state: &AppState,
    v: &Viewer,
    name: &str,
    error: Option<FormError>,
    saved: bool,
) -> PageResult {
    let t = template_by_name(state, v, name).await?;
    let title = format!("Permissions - {}", t.name);
    if !state.entitlements.enabled(FeatureName::TemplateRbac) {
        return Ok(render(&PermissionsPage {
            layout: v.layout(state, &title, "templates").await,
            t,
            entitled: false,
            entries: vec![],
            user_choices: vec![],
            group_choices: vec![],
            error,
            saved,
        }));
    }
    let acl = crate::api::templateacl::get_template_acl(
        State(state.clone()),
        v.auth.clone(),
        Path(t.id.to_string()),
    )
    .await?
    .0;
    let members = crate::api::organizations::get_organization_members(
        State(state.clone()),
        v.auth.clone(),
        Path(t.organization_id.to_string()),
    )
    .await
    .map(|m| m.0)
    .unwrap_or_default();
    let groups = crate::api::groups::get_organization_groups(
        State(state.clone()),
        v.auth.clone(),
        Path(t.organization_id.to_string()),
    )
    .await
    .map(|g| g.0)
    .unwrap_or_default();
    let users: Vec<AclRow> = acl
        .users
        .iter()
        .map(|u| AclRow {
            kind: "user",
            id: u.user.id,
            name: u.user.username.clone(),
            detail: u.user.email.clone(),
            role: u.role.clone(),
        })
        .collect();
    let group_rows: Vec<AclRow> = acl
        .group
        .iter()
        .map(|g| AclRow {
            kind: "group",
            id: g.group.id,
            name: if g.group.display_name.is_empty() {
                g.group.name.clone()
            } else {
                g.group.display_name.clone()
            },
            detail: format!("{} members", g.group.members.len()),
            role: g.role.clone(),
        })
        .collect();
    Ok(render(&PermissionsPage {
        layout: v.layout(state, &title, "templates").await,
        user_choices: members
            .iter()
            .filter(|m| !users.iter().any(|u| u.id == m.member.user_id))
            .map(|m| (m.member.user_id, m.username.clone()))
            .collect(),
        group_choices: groups
            .iter()
            .filter(|g| !group_rows.iter().any(|r| r.id == g.id))
            .map(|g| (g.id, g.name.clone()))
            .collect(),
        t,
        entitled: true,
        entries: group_rows.into_iter().chain(users).collect(),
        error,
        saved,
    }))
}

/// `GET /templates/{name}/settings/permissions`: the ACL (template admins;
/// others get the API's refusal); a paywall while `template_rbac` is not
/// entitled.
async fn get_permissions(
    State(state): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Response {
    let r = permissions_page(&state, &v, &name, None, q.saved.is_some()).await;
    respond(&state, &v, r).await
}

#[derive(Deserialize)]
struct AclForm {
    /// `user` or `group`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    id: String,
    /// `use`, `admin`, or `""` to remove.
    #[serde(default)]
    role: String,
}

/// `POST /templates/{name}/settings/permissions` (`kind`, `id`, `role`):
/// `PATCH /templates/{id}/acl` with that one entry (`role` empty removes
/// it); then the page again.
async fn post_permissions(
    State(state): State<AppState>,
    v: Viewer,
    Path(name): Path<String>,
    Form(f): Form<AclForm>,
) -> Response {
    let r = async {
        let t = template_by_name(&state, &v, &name).await?;
        let entry = BTreeMap::from([(f.id.clone(), f.role.clone())]);
        let req = match f.kind.as_str() {
            "group" => UpdateTemplateACL {
                user_perms: None,
                group_perms: Some(entry),
            },
            _ => UpdateTemplateACL {
                user_perms: Some(entry),
                group_perms: None,
            },
        };
        match crate::api::templateacl::patch_template_acl(
            State(state.clone()),
            v.auth.clone(),
            v.ctx.clone(),
            Path(t.id.to_string()),
            Json(req),
        )
        .await
        {
            Ok(_) => Ok(see_other(&format!(
                "/templates/{}/settings/permissions?saved=1",
                t.name
            ))),
            Err(e) if e.status == StatusCode::BAD_REQUEST => {
                let status = e.status;
                let mut page =
                    permissions_page(&state, &v, &name, Some(FormError::from_api(&e)), false)
                        .await?;
                *page.status_mut() = status;
                Ok(page)
            }
            Err(e) => Err(e),
        }
    }
    .await;
    respond(&state, &v, r).await
}
