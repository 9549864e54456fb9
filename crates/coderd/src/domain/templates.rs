//! Templates and template versions (Coder API reference, "Templates"):
//! who may use and manage them, creating a version (its import job is
//! queued through [`super::builds::new_job`]), creating a template from an
//! imported version, changing its metadata and active version, deleting
//! it, and canceling an import. Each change writes its audit row in the
//! change's transaction (coder-now 1.6, 1.7):
//!
//! - template `create` (201) when a template is made, and in the same
//!   transaction a template_version `write` (diff `template_id`) for the
//!   version it adopts, as upstream's `postTemplateByOrganization`;
//! - template `write` (200) for a metadata change and for a new active
//!   version (diff `active_version_id`);
//! - template `delete` (200): every tracked field to its zero value, as
//!   upstream (it audits the deleted template against an empty one);
//! - template_version `create` (201) for a new version.
//!
//! Canceling an import writes no row (upstream does not audit it).

use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Map, Value};
use store::{AuditAction, ResourceType};
use uuid::Uuid;

use super::audit::{self, Auditable, Entry, Field};
use super::{Actor, AuditContext, DomainError, DomainResult, Refusal};
use crate::api::validate::{is_valid_username, Validator};
use crate::error::field_error;
use crate::rbac::{Action, Resource};
use crate::state::AppState;
use crate::template_access::TemplateAccess;

/// Nanoseconds per millisecond: upstream stores `default_ttl` and a
/// workspace's `ttl` as Go durations (nanoseconds), and its audit diffs
/// show them so; ours are stored in milliseconds.
pub(crate) const NANOS_PER_MILLI: i64 = 1_000_000;

impl Auditable for store::Template {
    /// Upstream's `Template` table, for the fields stored here: tracked
    /// id, name, display_name, provisioner, active_version_id,
    /// description, icon, default_ttl (nanoseconds), created_by,
    /// allow_user_cancel_workspace_jobs; created_at, updated_at,
    /// organization_id and deleted are ignored.
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!(self.id.to_string())),
            ("name", Field::Track, json!(self.name)),
            ("display_name", Field::Track, json!(self.display_name)),
            ("provisioner", Field::Track, json!(self.provisioner)),
            (
                "active_version_id",
                Field::Track,
                json!(self.active_version_id.to_string()),
            ),
            ("description", Field::Track, json!(self.description)),
            ("icon", Field::Track, json!(self.icon)),
            (
                "default_ttl",
                Field::Track,
                json!(self.default_ttl.saturating_mul(NANOS_PER_MILLI)),
            ),
            (
                "created_by",
                Field::Track,
                json!(self.created_by.to_string()),
            ),
            (
                "allow_user_cancel_workspace_jobs",
                Field::Track,
                json!(self.allow_user_cancel_workspace_jobs),
            ),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!("")),
            ("name", Field::Track, json!("")),
            ("display_name", Field::Track, json!("")),
            ("provisioner", Field::Track, json!("")),
            ("active_version_id", Field::Track, json!("")),
            ("description", Field::Track, json!("")),
            ("icon", Field::Track, json!("")),
            ("default_ttl", Field::Track, json!(0)),
            ("created_by", Field::Track, json!("")),
            (
                "allow_user_cancel_workspace_jobs",
                Field::Track,
                json!(false),
            ),
        ]
    }
}

impl Auditable for store::TemplateVersion {
    /// Upstream's `TemplateVersion` table: tracked id, template_id (nil as
    /// `""`), name, readme, created_by; organization_id, job_id and the
    /// timestamps are ignored (`archived` is not stored here).
    fn audit_fields(&self) -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!(self.id.to_string())),
            (
                "template_id",
                Field::Track,
                json!(self.template_id.map(|t| t.to_string()).unwrap_or_default()),
            ),
            ("name", Field::Track, json!(self.name)),
            ("readme", Field::Track, json!(self.readme)),
            (
                "created_by",
                Field::Track,
                json!(self.created_by.to_string()),
            ),
        ]
    }

    fn zero_fields() -> Vec<(&'static str, Field, Value)> {
        vec![
            ("id", Field::Track, json!("")),
            ("template_id", Field::Track, json!("")),
            ("name", Field::Track, json!("")),
            ("readme", Field::Track, json!("")),
            ("created_by", Field::Track, json!("")),
        ]
    }
}

/// The diff of a deleted resource: each tracked field that is not already
/// the zero value goes to it (upstream audits a delete against the empty
/// struct).
pub(crate) fn diff_to_zero<T: Auditable>(old: &T) -> Map<String, Value> {
    let mut out = Map::new();
    for ((name, how, o), (_, _, z)) in old.audit_fields().into_iter().zip(T::zero_fields()) {
        if o == z {
            continue;
        }
        let v = match how {
            Field::Track => json!({"old": o, "new": z, "secret": false}),
            Field::Secret => json!({"old": "", "new": "", "secret": true}),
        };
        out.insert(name.to_owned(), v);
    }
    out
}

/// A template's entry (coder-now 1.6: id = template id, target = name, in
/// its organization).
pub fn template_entry(
    action: AuditAction,
    t: &store::Template,
    diff: Map<String, Value>,
    status_code: u16,
) -> Entry {
    Entry {
        resource_type: ResourceType::Template,
        resource_id: t.id,
        resource_target: t.name.clone(),
        action,
        diff,
        status_code,
        organization_id: Some(t.organization_id),
    }
}

/// A template version's entry (id = version id, target = version name).
pub fn version_entry(
    action: AuditAction,
    old: Option<&store::TemplateVersion>,
    new: &store::TemplateVersion,
    status_code: u16,
) -> Entry {
    Entry {
        resource_type: ResourceType::TemplateVersion,
        resource_id: new.id,
        resource_target: new.name.clone(),
        action,
        diff: audit::diff(old, new),
        status_code,
        organization_id: Some(new.organization_id),
    }
}

/// The actor's access to templates ([`TemplateAccess`]).
pub async fn access(state: &AppState, actor: &Actor) -> DomainResult<TemplateAccess> {
    Ok(TemplateAccess::for_actor(state, actor).await?)
}

/// May the actor read `t` and build workspaces from it? (RBAC, and the
/// template's ACL when `template_rbac` is licensed.)
pub async fn can_use(state: &AppState, actor: &Actor, t: &store::Template) -> DomainResult<bool> {
    Ok(access(state, actor).await?.can_use(t))
}

/// May the actor change `t` (and its versions and ACL)?
pub async fn can_admin(state: &AppState, actor: &Actor, t: &store::Template) -> DomainResult<bool> {
    Ok(access(state, actor).await?.can_admin(t))
}

/// The organization's templates the actor may use, by name.
pub async fn list_templates(
    state: &AppState,
    actor: &Actor,
    org: &store::Organization,
) -> DomainResult<Vec<store::Template>> {
    let access = access(state, actor).await?;
    let rows = match access.only_templates(org.id) {
        // A member under ACLs reads only the templates their entries name,
        // not every template of the organization.
        Some(ids) => state.store.list_templates_by_ids(org.id, &ids).await?,
        None => state.store.list_templates(Some(org.id)).await?,
    };
    Ok(rows.into_iter().filter(|t| access.can_use(t)).collect())
}

/// A template by name in `org` the actor may use (404 stock otherwise).
pub async fn template_by_name(
    state: &AppState,
    actor: &Actor,
    org: &store::Organization,
    name: &str,
) -> DomainResult<store::Template> {
    let t = match state.store.get_template_by_name(org.id, name).await {
        Ok(t) => t,
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    if !can_use(state, actor, &t).await? {
        return Err(DomainError::not_found());
    }
    Ok(t)
}

/// A template's versions, oldest first.
pub async fn list_versions(
    state: &AppState,
    t: &store::Template,
) -> DomainResult<Vec<store::TemplateVersion>> {
    Ok(state.store.list_template_versions(t.id).await?)
}

const ADJECTIVES: &[&str] = &[
    "brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry",
    "nimble", "proud", "quiet", "rapid", "sharp", "sunny", "tidy", "vivid", "witty", "zesty",
];
const NAMES: &[&str] = &[
    "babbage",
    "curie",
    "darwin",
    "euclid",
    "fermat",
    "galois",
    "hopper",
    "kepler",
    "lovelace",
    "mirzakhani",
    "newton",
    "noether",
    "pascal",
    "ramanujan",
    "shannon",
    "tesla",
    "turing",
    "wright",
    "yalow",
    "zuse",
];

/// A random version name in upstream's style (`happy_turing3`).
pub fn random_version_name() -> String {
    let mut rng = rand::thread_rng();
    format!(
        "{}_{}{}",
        ADJECTIVES.choose(&mut rng).expect("non-empty"),
        NAMES.choose(&mut rng).expect("non-empty"),
        rng.gen_range(0..100)
    )
}

/// Upstream's version name rule: letters and digits in groups joined by a
/// single `_`, `.` or `-`, at most 64 characters.
pub fn is_valid_version_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.split(['_', '.', '-'])
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// Longest template description (upstream: `lt=128`).
const MAX_DESCRIPTION: usize = 127;
/// Longest template display name.
const MAX_DISPLAY_NAME: usize = 64;

fn validate_meta(v: &mut Validator, name: Option<&str>, display: Option<&str>, desc: Option<&str>) {
    if let Some(n) = name {
        if !is_valid_username(n) {
            v.push("name", field_error("name", "template_name", n).detail);
        }
    }
    if let Some(d) = display {
        if d.chars().count() > MAX_DISPLAY_NAME {
            v.push(
                "display_name",
                field_error("display_name", "template_display_name", d).detail,
            );
        }
    }
    if let Some(d) = desc {
        if d.len() > MAX_DESCRIPTION {
            v.push("description", field_error("description", "lt", d).detail);
        }
    }
}

fn one_field(field: &str, detail: &str) -> Vec<codersdk::ValidationError> {
    vec![codersdk::ValidationError {
        field: field.into(),
        detail: detail.into(),
    }]
}

/// The import job of a version, which must have succeeded for the version
/// to become (or be made) a template's active version (400 otherwise,
/// naming `field`).
async fn require_imported(
    state: &AppState,
    v: &store::TemplateVersion,
    field: &str,
) -> DomainResult<store::ProvisionerJob> {
    let job = state.store.get_job(v.job_id).await?;
    use codersdk::ProvisionerJobStatus as S;
    match crate::view::jobs::job_status(&job) {
        S::Succeeded => Ok(job),
        S::Pending | S::Running => Err(DomainError::refused(
            Refusal::Invalid,
            "The template version is still being imported.",
        )
        .validations(one_field(field, "Wait for the import job to succeed."))),
        _ => {
            let detail = format!(
                "The import job did not succeed: {}",
                job.error.clone().unwrap_or_else(|| "canceled".into())
            );
            Err(
                DomainError::refused(Refusal::Invalid, "The template version failed to import.")
                    .validations(one_field(field, &detail)),
            )
        }
    }
}

fn name_taken(message: String) -> DomainError {
    DomainError::refused(Refusal::Conflict, message).validations(one_field(
        "name",
        "This value is already in use and should be unique.",
    ))
}

/// `POST /organizations/{organization}/templates`: makes a template from a
/// successfully imported version that belongs to no template yet; the
/// Everyone group gets `use` unless `disable_everyone_group_access`.
/// Needs create on templates in the organization (403); 404 `Template
/// version "<id>" not found.`; 400 when the version belongs to a template
/// or did not import; 409 `Template with name "<n>" already exists.`.
/// Writes the template `create` row and the version's `write` row.
pub async fn create_template(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    org: &store::Organization,
    req: &codersdk::CreateTemplateRequest,
) -> DomainResult<store::Template> {
    actor.require(Action::Create, &Resource::Template.in_org(org.id))?;
    let mut v = Validator::new();
    v.required("name", &req.name);
    if req.version_id.is_none() {
        v.push(
            "template_version_id",
            field_error("template_version_id", "required", "").detail,
        );
    }
    validate_meta(
        &mut v,
        Some(req.name.as_str()).filter(|n| !n.is_empty()),
        Some(&req.display_name),
        Some(&req.description),
    );
    if req.default_ttl_ms.is_some_and(|t| t < 0) {
        v.push("default_ttl_ms", "Must be a positive integer.");
    }
    v.finish_domain()?;
    let version_id = req.version_id.expect("validated");
    let version = match state.store.get_template_version(version_id).await {
        Ok(v) if v.organization_id == org.id => v,
        Ok(_) | Err(store::StoreError::NotFound) => {
            return Err(DomainError::refused(
                Refusal::NotFound,
                format!("Template version {version_id:?} not found."),
            )
            .validations(one_field(
                "template_version_id",
                "Template version not found",
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let in_use = || {
        DomainError::refused(
            Refusal::Invalid,
            "The template version already belongs to a template.",
        )
    };
    if version.template_id.is_some() {
        return Err(in_use().validations(one_field(
            "template_version_id",
            "Create a new version for the new template.",
        )));
    }
    let job = require_imported(state, &version, "template_version_id").await?;
    let now = store::now();
    let t = store::Template {
        id: Uuid::new_v4(),
        created_at: now,
        updated_at: now,
        organization_id: org.id,
        deleted: false,
        name: req.name.clone(),
        provisioner: job.provisioner,
        active_version_id: version.id,
        description: req.description.clone(),
        default_ttl: req.default_ttl_ms.unwrap_or(0),
        created_by: actor.user_id(),
        icon: req.icon.clone(),
        display_name: req.display_name.clone(),
        allow_user_cancel_workspace_jobs: req.allow_user_cancel_workspace_jobs.unwrap_or(true),
    };
    let adopted = store::TemplateVersion {
        template_id: Some(t.id),
        ..version.clone()
    };
    let rows: Vec<store::AuditLog> = [
        audit::row(
            state,
            actor,
            ctx,
            template_entry(
                AuditAction::Create,
                &t,
                audit::diff::<store::Template>(None, &t),
                201,
            ),
        ),
        audit::row(
            state,
            actor,
            ctx,
            version_entry(AuditAction::Write, Some(&version), &adopted, 201),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    match state
        .store
        .insert_template_audited(&t, !req.disable_everyone_group_access, &rows)
        .await
    {
        Ok(()) => {}
        Err(e) if e.is_conflict(store::Constraint::TemplateName) => {
            return Err(name_taken(format!(
                "Template with name {:?} already exists.",
                t.name
            )))
        }
        Err(store::StoreError::Conflict(store::Constraint::TemplateVersionInUse)) => {
            return Err(in_use())
        }
        Err(e) => return Err(e.into()),
    }
    rows.iter().for_each(audit::emit);
    Ok(t)
}

/// What [`update_template`] did.
#[derive(Clone, Debug)]
pub enum TemplateUpdated {
    /// The template after the change.
    Updated(Box<store::Template>),
    /// Nothing differs from the stored template (upstream's 304); no row.
    Unchanged,
}

/// `PATCH /templates/{template}`: changes the metadata given. Needs
/// template admin (403); blank `name` keeps the name; 409 for a taken
/// name. Writes a template `write` row with the changed fields.
pub async fn update_template(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    t: &store::Template,
    req: &codersdk::UpdateTemplateMeta,
) -> DomainResult<TemplateUpdated> {
    if !can_admin(state, actor, t).await? {
        return Err(DomainError::forbidden());
    }
    let blank = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let name = blank(&req.name);
    let mut v = Validator::new();
    validate_meta(
        &mut v,
        name.as_deref(),
        req.display_name.as_deref(),
        req.description.as_deref(),
    );
    if req.default_ttl_ms.is_some_and(|t| t < 0) {
        v.push("default_ttl_ms", "Must be a positive integer.");
    }
    v.finish_domain()?;
    let u = store::TemplateUpdate {
        name: name.filter(|n| *n != t.name),
        display_name: req.display_name.clone().filter(|d| *d != t.display_name),
        description: req.description.clone().filter(|d| *d != t.description),
        icon: req.icon.clone().filter(|i| *i != t.icon),
        default_ttl: req.default_ttl_ms.filter(|d| *d != t.default_ttl),
        allow_user_cancel_workspace_jobs: req
            .allow_user_cancel_workspace_jobs
            .filter(|a| *a != t.allow_user_cancel_workspace_jobs),
    };
    if u.name.is_none()
        && u.display_name.is_none()
        && u.description.is_none()
        && u.icon.is_none()
        && u.default_ttl.is_none()
        && u.allow_user_cancel_workspace_jobs.is_none()
    {
        return Ok(TemplateUpdated::Unchanged);
    }
    let written = std::sync::Mutex::new(None);
    let hook = |old: &store::Template, new: &store::Template| {
        let r = audit::row(
            state,
            actor,
            ctx,
            template_entry(AuditAction::Write, new, audit::diff(Some(old), new), 200),
        );
        *written.lock().expect("audit row") = r.clone();
        r
    };
    let updated = match state.store.update_template_audited(t.id, &u, &hook).await {
        Ok(t) => t,
        Err(e) if e.is_conflict(store::Constraint::TemplateName) => {
            return Err(name_taken(format!(
                "Template with name {:?} already exists.",
                u.name.unwrap_or_default()
            )))
        }
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    audit::emit_opt(written.lock().expect("audit row").as_ref());
    Ok(TemplateUpdated::Updated(Box::new(updated)))
}

/// `DELETE /templates/{template}`: soft-deletes it. Needs delete on
/// templates (403); 412 `All workspaces must be deleted before a template
/// can be removed.` while workspaces use it. Writes a template `delete`
/// row.
pub async fn delete_template(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    t: &store::Template,
) -> DomainResult<()> {
    actor.require(
        Action::Delete,
        &Resource::Template.in_org(t.organization_id),
    )?;
    let written = std::sync::Mutex::new(None);
    let hook = |old: &store::Template, _new: &store::Template| {
        let r = audit::row(
            state,
            actor,
            ctx,
            template_entry(AuditAction::Delete, old, diff_to_zero(old), 200),
        );
        *written.lock().expect("audit row") = r.clone();
        r
    };
    match state.store.delete_template_audited(t.id, &hook).await {
        Ok(()) => {}
        Err(store::StoreError::Conflict(store::Constraint::WorkspacesExist)) => {
            return Err(DomainError::refused(
                Refusal::PreconditionFailed,
                "All workspaces must be deleted before a template can be removed.",
            ))
        }
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    }
    audit::emit_opt(written.lock().expect("audit row").as_ref());
    Ok(())
}

/// `PATCH /templates/{template}/versions`: promotes version `id` (which
/// must belong to the template and have imported) to the active version.
/// Needs template admin (403). Writes a template `write` row (diff
/// `active_version_id`).
pub async fn set_active_version(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    t: &store::Template,
    id: Option<Uuid>,
) -> DomainResult<store::Template> {
    if !can_admin(state, actor, t).await? {
        return Err(DomainError::forbidden());
    }
    let Some(id) = id else {
        return Err(DomainError::invalid_fields(vec![field_error(
            "id", "required", "",
        )]));
    };
    let version = match state.store.get_template_version(id).await {
        Ok(v) if v.template_id == Some(t.id) => v,
        Ok(_) | Err(store::StoreError::NotFound) => {
            return Err(DomainError::refused(
                Refusal::Invalid,
                "The provided template version doesn't belong to the specified template.",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    require_imported(state, &version, "id").await?;
    let written = std::sync::Mutex::new(None);
    let hook = |old: &store::Template, new: &store::Template| {
        let r = audit::row(
            state,
            actor,
            ctx,
            template_entry(AuditAction::Write, new, audit::diff(Some(old), new), 200),
        );
        *written.lock().expect("audit row") = r.clone();
        r
    };
    let updated = match state
        .store
        .set_template_active_version_audited(t.id, version.id, &hook)
        .await
    {
        Ok(t) => t,
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    audit::emit_opt(written.lock().expect("audit row").as_ref());
    Ok(updated)
}

/// `POST /organizations/{organization}/templateversions`: stores a version
/// of an uploaded archive and queues its import job. `storage_method` must
/// be `file`, `provisioner` `echo` or `terraform` (400 `Validation
/// failed.`); an unknown or unreadable `file_id` is 404 `File not found.`;
/// `template_id` must name a template of the organization the actor
/// administers (404 / 403); `tags` are normalized (`scope` defaults to
/// `organization`; `scope=user` adds `owner`). Needs create on templates
/// in the organization. A generated name that is taken is drawn again; a
/// given one is 409. Writes a template_version `create` row.
pub async fn create_version(
    state: &AppState,
    actor: &Actor,
    ctx: &AuditContext,
    org: &store::Organization,
    req: &codersdk::CreateTemplateVersionRequest,
) -> DomainResult<store::TemplateVersion> {
    actor.require(Action::Create, &Resource::Template.in_org(org.id))?;
    let mut v = Validator::new();
    if req.storage_method.is_empty() {
        v.push(
            "storage_method",
            field_error("storage_method", "required", "").detail,
        );
    } else if req.storage_method != "file" {
        v.push(
            "storage_method",
            field_error("storage_method", "oneof", &req.storage_method).detail,
        );
    }
    if req.provisioner.is_empty() {
        v.push(
            "provisioner",
            field_error("provisioner", "required", "").detail,
        );
    } else if !codersdk::PROVISIONER_TYPES.contains(&req.provisioner.as_str()) {
        v.push(
            "provisioner",
            field_error("provisioner", "oneof", &req.provisioner).detail,
        );
    }
    if !req.example_id.is_empty() {
        v.push(
            "example_id",
            "Template examples are not supported; upload an archive and use file_id.",
        );
    } else if req.file_id.is_none() {
        v.push(
            "file_id",
            field_error("file_id", "required_without", "").detail,
        );
    }
    if !req.name.is_empty() && !is_valid_version_name(&req.name) {
        v.push(
            "name",
            field_error("name", "template_version_name", &req.name).detail,
        );
    }
    for k in req.tags.keys() {
        if k.is_empty() {
            v.push("tags", "Tag keys must not be empty.");
        }
    }
    v.finish_domain()?;
    if let Some(tid) = req.template_id {
        let t = match state.store.get_template(tid).await {
            Ok(t) if t.organization_id == org.id => t,
            Ok(_) | Err(store::StoreError::NotFound) => {
                return Err(DomainError::refused(
                    Refusal::NotFound,
                    format!("Template with id {tid:?} doesn't exist."),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        if !can_admin(state, actor, &t).await? {
            return Err(DomainError::forbidden());
        }
    }
    let file_id = req.file_id.expect("validated");
    let not_found = || DomainError::refused(Refusal::NotFound, "File not found.");
    let file = match state.store.get_file(file_id).await {
        Ok(f) => f,
        Err(store::StoreError::NotFound) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    };
    if file.created_by != actor.user_id()
        && !actor.can(Action::Read, &Resource::File.owned_by(file.created_by))
    {
        return Err(not_found());
    }
    let version_id = Uuid::new_v4();
    let job = super::builds::new_job(
        org.id,
        actor.user_id(),
        super::builds::JobSource {
            provisioner: req.provisioner.clone(),
            storage_method: "file".into(),
            file_id: file.id,
            tags: store::StringMap(crate::provisioning::tags::mutate_tags(
                actor.user_id(),
                &req.tags,
            )),
        },
        super::builds::JobFor::Import(version_id),
    );
    let now = job.created_at;
    let mut version = store::TemplateVersion {
        id: version_id,
        template_id: req.template_id,
        organization_id: org.id,
        created_at: now,
        updated_at: now,
        name: if req.name.is_empty() {
            random_version_name()
        } else {
            req.name.clone()
        },
        readme: String::new(),
        job_id: job.id,
        created_by: actor.user_id(),
    };
    let mut attempts = 0;
    let row = loop {
        let row = audit::row(
            state,
            actor,
            ctx,
            version_entry(AuditAction::Create, None, &version, 201),
        );
        match state
            .store
            .insert_template_version_audited(&version, &job, row.as_ref())
            .await
        {
            Ok(()) => break row,
            Err(e) if e.is_conflict(store::Constraint::TemplateVersionName) => {
                attempts += 1;
                if req.name.is_empty() && attempts < 10 {
                    version.name = random_version_name();
                    continue;
                }
                return Err(name_taken(format!(
                    "A template version with name {:?} already exists for this template.",
                    version.name
                )));
            }
            Err(e) => return Err(e.into()),
        }
    };
    audit::emit_opt(row.as_ref());
    crate::provisioning::notify_job_posted(state, job.id).await;
    Ok(version)
}

/// `PATCH /templateversions/{templateversion}/cancel`: cancels the import
/// (400 when it already finished or was canceled). Needs update on
/// templates in the version's organization (403). Not audited, as
/// upstream.
pub async fn cancel_version(
    state: &AppState,
    actor: &Actor,
    v: &store::TemplateVersion,
) -> DomainResult<()> {
    actor.require(
        Action::Update,
        &Resource::Template.in_org(v.organization_id),
    )?;
    super::builds::cancel_job(state, v.job_id).await
}

/// What [`upload_file`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uploaded {
    /// A new file with this id (201).
    Created(Uuid),
    /// The actor uploaded the same bytes before: that file's id (200).
    Existing(Uuid),
}

/// `POST /files`: stores a template source archive (`mimetype`, already
/// checked by the front end) for the actor. Needs create on files (403).
/// The same bytes uploaded again by the same user give back the existing
/// id, also when a concurrent identical upload won the race. Not audited
/// (upstream has no resource type for files).
pub async fn upload_file(
    state: &AppState,
    actor: &Actor,
    mimetype: &str,
    data: Vec<u8>,
) -> DomainResult<Uploaded> {
    use sha2::{Digest, Sha256};
    let me = actor.user_id();
    actor.require(Action::Create, &Resource::File.owned_by(me))?;
    let hash = hex::encode(Sha256::digest(&data));
    if let Some(id) = state.store.get_file_id_by_hash(&hash, me).await? {
        return Ok(Uploaded::Existing(id));
    }
    let file = store::File {
        id: Uuid::new_v4(),
        hash: hash.clone(),
        created_at: store::now(),
        created_by: me,
        mimetype: mimetype.to_owned(),
        data,
    };
    match state.store.insert_file(&file).await {
        Ok(()) => Ok(Uploaded::Created(file.id)),
        Err(store::StoreError::Conflict(_)) => state
            .store
            .get_file_id_by_hash(&hash, me)
            .await?
            .map(Uploaded::Existing)
            .ok_or_else(|| DomainError::Internal("uploaded file vanished".into())),
        Err(e) => Err(e.into()),
    }
}

/// `GET /files/{fileID}`: a file its uploader or a template admin may
/// read; anyone else (and an unknown id) 404 stock.
pub async fn get_file(state: &AppState, actor: &Actor, id: Uuid) -> DomainResult<store::File> {
    let file = match state.store.get_file(id).await {
        Ok(f) => f,
        Err(store::StoreError::NotFound) => return Err(DomainError::not_found()),
        Err(e) => return Err(e.into()),
    };
    if file.created_by != actor.user_id()
        && !actor.can(Action::Read, &Resource::File.owned_by(file.created_by))
    {
        return Err(DomainError::not_found());
    }
    Ok(file)
}
