//! Templates and template versions. A version is made together with its
//! import job; a template is made from a version and adopts it.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::{StoreError, StoreResult};
use crate::identity::AuditHook;
use crate::provisioning::{all_by_ids, insert_job, ProvisionerJob};

/// `templates` row. `default_ttl` is in milliseconds.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Template {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub organization_id: Uuid,
    pub deleted: bool,
    pub name: String,
    pub provisioner: String,
    pub active_version_id: Uuid,
    pub description: String,
    pub default_ttl: i64,
    pub created_by: Uuid,
    pub icon: String,
    pub display_name: String,
    pub allow_user_cancel_workspace_jobs: bool,
}

/// `template_versions` row. `template_id` is `None` until a template
/// adopts the version.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct TemplateVersion {
    pub id: Uuid,
    pub template_id: Option<Uuid>,
    pub organization_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub name: String,
    pub readme: String,
    pub job_id: Uuid,
    pub created_by: Uuid,
}

/// A change to a template's metadata; `None` keeps a field.
#[derive(Clone, Debug, Default)]
pub struct TemplateUpdate {
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub default_ttl: Option<i64>,
    pub allow_user_cancel_workspace_jobs: Option<bool>,
}

impl Store {
    /// Inserts a version and its import job in one transaction.
    pub async fn insert_template_version(
        &self,
        v: &TemplateVersion,
        job: &ProvisionerJob,
    ) -> StoreResult<()> {
        self.insert_template_version_audited(v, job, None).await
    }

    /// [`Store::insert_template_version`] that also writes `audit` (if
    /// any) in the same transaction.
    pub async fn insert_template_version_audited(
        &self,
        v: &TemplateVersion,
        job: &ProvisionerJob,
        audit: Option<&crate::AuditLog>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        insert_job(&mut c, job).await?;
        q_exec!(
            &mut c,
            "INSERT INTO template_versions (id, template_id, organization_id, created_at, updated_at, name, \
             readme, job_id, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            v.id,
            v.template_id,
            v.organization_id,
            v.created_at,
            v.updated_at,
            &v.name,
            &v.readme,
            v.job_id,
            v.created_by
        ).map_err(crate::error::unique(crate::error::Constraint::TemplateVersionName))?;
        crate::audit::maybe_insert(&mut c, audit).await?;
        tx.commit().await
    }

    /// One version.
    pub async fn get_template_version(&self, id: Uuid) -> StoreResult<TemplateVersion> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            TemplateVersion,
            "SELECT * FROM template_versions WHERE id = $1",
            id
        )?)
    }

    /// Versions by id (one query).
    pub async fn template_versions_by_ids(
        &self,
        ids: &[Uuid],
    ) -> StoreResult<Vec<TemplateVersion>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT * FROM template_versions WHERE id IN ({ids})",
            ids,
        )
        .await
    }

    /// A template's versions, oldest first.
    pub async fn list_template_versions(
        &self,
        template_id: Uuid,
    ) -> StoreResult<Vec<TemplateVersion>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            TemplateVersion,
            "SELECT * FROM template_versions WHERE template_id = $1 ORDER BY created_at, id",
            template_id
        )?)
    }

    /// Creates a template and attaches its first version, in one
    /// transaction. `Conflict(TemplateName)` for a taken name;
    /// `Conflict(TemplateVersionInUse)` when the version already
    /// belongs to a template.
    ///
    /// With `everyone_can_use`, the organization's Everyone group gets `use`
    /// in the same transaction (what a new template gets unless created
    /// with `disable_everyone_group_access`).
    pub async fn insert_template(&self, t: &Template, everyone_can_use: bool) -> StoreResult<()> {
        self.insert_template_audited(t, everyone_can_use, &[]).await
    }

    /// [`Store::insert_template`] that also writes the `audit` rows (the
    /// template's and its adopted version's) in the same transaction.
    pub async fn insert_template_audited(
        &self,
        t: &Template,
        everyone_can_use: bool,
        audit: &[crate::AuditLog],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        q_exec!(
            &mut c,
            "INSERT INTO templates (id, created_at, updated_at, organization_id, deleted, name, provisioner, \
             active_version_id, description, default_ttl, created_by, icon, display_name, \
             allow_user_cancel_workspace_jobs) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            t.id,
            t.created_at,
            t.updated_at,
            t.organization_id,
            t.deleted,
            &t.name,
            &t.provisioner,
            t.active_version_id,
            &t.description,
            t.default_ttl,
            t.created_by,
            &t.icon,
            &t.display_name,
            t.allow_user_cancel_workspace_jobs
        ).map_err(crate::error::unique(crate::error::Constraint::TemplateName))?;
        let n = q_exec!(
            &mut c,
            "UPDATE template_versions SET template_id = $1, updated_at = $3 WHERE id = $2 AND template_id IS NULL",
            t.id,
            t.active_version_id,
            t.created_at
        )?;
        if n == 0 {
            return Err(StoreError::Conflict(
                crate::error::Constraint::TemplateVersionInUse,
            ));
        }
        if everyone_can_use {
            crate::template_acl::grant_everyone(&mut c, t.id, t.organization_id).await?;
        }
        for a in audit {
            crate::audit::insert_audit_log(&mut c, a).await?;
        }
        tx.commit().await
    }

    /// A non-deleted template.
    pub async fn get_template(&self, id: Uuid) -> StoreResult<Template> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Template,
            "SELECT * FROM templates WHERE id = $1 AND deleted = FALSE",
            id
        )?)
    }

    /// A template by id, deleted or not (for workspaces of deleted templates).
    pub async fn get_template_any(&self, id: Uuid) -> StoreResult<Template> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Template,
            "SELECT * FROM templates WHERE id = $1",
            id
        )?)
    }

    /// A non-deleted template by name (case-insensitive) in an organization.
    pub async fn get_template_by_name(
        &self,
        organization_id: Uuid,
        name: &str,
    ) -> StoreResult<Template> {
        let mut c = self.acquire().await?;
        Ok(q_one!(
            &mut c.conn(),
            Template,
            "SELECT * FROM templates WHERE organization_id = $1 AND lower(name) = lower($2) AND deleted = FALSE",
            organization_id,
            name
        )?)
    }

    /// Templates by id, deleted ones included (one query).
    pub async fn templates_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<Template>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT * FROM templates WHERE id IN ({ids})",
            ids,
        )
        .await
    }

    /// Distinct owners of live workspaces per template (one query).
    pub async fn template_active_user_counts(&self, ids: &[Uuid]) -> StoreResult<Vec<(Uuid, i64)>> {
        let mut c = self.acquire().await?;
        all_by_ids(
            &mut c.conn(),
            "SELECT template_id, COUNT(DISTINCT owner_id) FROM workspaces \
             WHERE deleted = FALSE AND template_id IN ({ids}) GROUP BY template_id",
            ids,
        )
        .await
    }

    /// Non-deleted templates of an organization (or all), by name.
    pub async fn list_templates(
        &self,
        organization_id: Option<Uuid>,
    ) -> StoreResult<Vec<Template>> {
        let mut c = self.acquire().await?;
        Ok(q_all!(
            &mut c.conn(),
            Template,
            "SELECT * FROM templates WHERE deleted = FALSE AND ($1 IS NULL OR organization_id = $1) \
             ORDER BY lower(name), id",
            organization_id
        )?)
    }

    /// The non-deleted templates of `organization_id` among `ids`, in
    /// [`Store::list_templates`]' order (`lower(name)`, then id). One
    /// query per chunk of ids; none for an empty list. The rows are read by
    /// primary key and the organization is checked here: with the
    /// organization in the `WHERE`, SQLite walks the organization's name
    /// index (every template of it) to probe the id list.
    pub async fn list_templates_by_ids(
        &self,
        organization_id: Uuid,
        ids: &[Uuid],
    ) -> StoreResult<Vec<Template>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut c = self.acquire().await?;
        let mut conn = c.conn();
        let size = crate::provisioning::id_chunk(&conn);
        let mut out: Vec<Template> = Vec::new();
        for chunk in ids.chunks(size) {
            let sql = format!(
                "SELECT * FROM templates WHERE deleted = FALSE \
                 AND id IN ({}) ORDER BY lower(name), id",
                crate::provisioning::placeholders(1, chunk.len())
            );
            macro_rules! run {
                ($c:expr) => {{
                    let mut q = sqlx::query_as::<_, Template>(&sql);
                    for id in chunk {
                        q = q.bind(id);
                    }
                    out.extend(
                        q.fetch_all(&mut **$c)
                            .await?
                            .into_iter()
                            .filter(|t| t.organization_id == organization_id),
                    );
                }};
            }
            match &mut conn {
                Conn::Sqlite(c) => run!(c),
                Conn::Postgres(c) => run!(c),
            }
        }
        if ids.len() > size {
            // Several statements: merge their orders. Names are ASCII
            // (upstream's name rule), so `to_ascii_lowercase` is `lower`.
            out.sort_by(|a, b| {
                (a.name.to_ascii_lowercase(), a.id).cmp(&(b.name.to_ascii_lowercase(), b.id))
            });
        }
        Ok(out)
    }

    /// Applies a metadata change; returns the updated template.
    pub async fn update_template(&self, id: Uuid, u: &TemplateUpdate) -> StoreResult<Template> {
        self.update_template_audited(id, u, &|_, _| None).await
    }

    /// [`Store::update_template`] that writes the row `audit` builds from
    /// the template before and after, in the same transaction.
    pub async fn update_template_audited(
        &self,
        id: Uuid,
        u: &TemplateUpdate,
        audit: AuditHook<'_, Template>,
    ) -> StoreResult<Template> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let old = lock_template(&mut c, id).await?;
        let new = q_one!(
            &mut c,
            Template,
            "UPDATE templates SET name = COALESCE($2, name), display_name = COALESCE($3, display_name), \
             description = COALESCE($4, description), icon = COALESCE($5, icon), \
             default_ttl = COALESCE($6, default_ttl), \
             allow_user_cancel_workspace_jobs = COALESCE($7, allow_user_cancel_workspace_jobs), \
             updated_at = $8 WHERE id = $1 AND deleted = FALSE RETURNING *",
            id,
            &u.name,
            &u.display_name,
            &u.description,
            &u.icon,
            u.default_ttl,
            u.allow_user_cancel_workspace_jobs,
            crate::now()
        ).map_err(crate::error::unique(crate::error::Constraint::TemplateName))?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Promotes a version to the template's active version.
    pub async fn set_template_active_version(&self, id: Uuid, version_id: Uuid) -> StoreResult<()> {
        self.set_template_active_version_audited(id, version_id, &|_, _| None)
            .await
            .map(|_| ())
    }

    /// [`Store::set_template_active_version`] that writes the row `audit`
    /// builds from the template before and after, in the same transaction;
    /// returns the updated template.
    pub async fn set_template_active_version_audited(
        &self,
        id: Uuid,
        version_id: Uuid,
        audit: AuditHook<'_, Template>,
    ) -> StoreResult<Template> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let old = lock_template(&mut c, id).await?;
        let new = q_one!(
            &mut c,
            Template,
            "UPDATE templates SET active_version_id = $2, updated_at = $3 WHERE id = $1 AND deleted = FALSE RETURNING *",
            id,
            version_id,
            crate::now()
        )?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Soft-deletes a template. `Conflict(WorkspacesExist)` while any
    /// non-deleted workspace uses it (checked in the same transaction).
    pub async fn delete_template(&self, id: Uuid) -> StoreResult<()> {
        self.delete_template_audited(id, &|_, _| None).await
    }

    /// [`Store::delete_template`] that writes the row `audit` builds from
    /// the template before and after (`deleted` set), in the same
    /// transaction.
    pub async fn delete_template_audited(
        &self,
        id: Uuid,
        audit: AuditHook<'_, Template>,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let old = lock_template(&mut c, id).await?;
        let (n,): (i64,) = q_one!(
            &mut c,
            (i64,),
            "SELECT COUNT(*) FROM workspaces WHERE template_id = $1 AND deleted = FALSE",
            id
        )?;
        if n > 0 {
            return Err(StoreError::Conflict(
                crate::error::Constraint::WorkspacesExist,
            ));
        }
        let new = q_one!(
            &mut c,
            Template,
            "UPDATE templates SET deleted = TRUE, updated_at = $2 WHERE id = $1 AND deleted = FALSE RETURNING *",
            id,
            crate::now()
        )?;
        crate::audit::maybe_insert(&mut c, audit(&old, &new).as_ref()).await?;
        tx.commit().await
    }
}

/// A non-deleted template, locked for update on PostgreSQL (SQLite's
/// `BEGIN IMMEDIATE` already serializes writers).
async fn lock_template(c: &mut Conn<'_>, id: Uuid) -> StoreResult<Template> {
    let sql = if matches!(c, Conn::Postgres(_)) {
        "SELECT * FROM templates WHERE id = $1 AND deleted = FALSE FOR UPDATE"
    } else {
        "SELECT * FROM templates WHERE id = $1 AND deleted = FALSE"
    };
    Ok(q_one!(c, Template, sql, id)?)
}
