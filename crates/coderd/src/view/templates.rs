//! Templates and template versions on the wire, with their creators,
//! jobs and active user counts read in one query each.

use std::collections::BTreeMap;

use codersdk::{MinimalUser, Template, TemplateVersion, TransitionStats};
use uuid::Uuid;

use super::jobs::{job_to_sdk, job_with_queue};
use crate::domain::{DomainError, DomainResult};
use crate::state::AppState;

/// Converts templates, reading their creators and workspace owners in one
/// query each.
pub async fn templates_to_sdk(
    state: &AppState,
    ts: &[store::Template],
) -> DomainResult<Vec<Template>> {
    let ids: Vec<Uuid> = ts.iter().map(|t| t.created_by).collect();
    let users: BTreeMap<Uuid, String> = state
        .store
        .users_by_ids(&ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let tids: Vec<Uuid> = ts.iter().map(|t| t.id).collect();
    let counts: BTreeMap<Uuid, i64> = state
        .store
        .template_active_user_counts(&tids)
        .await?
        .into_iter()
        .collect();
    Ok(ts
        .iter()
        .map(|t| Template {
            id: t.id,
            created_at: t.created_at,
            updated_at: t.updated_at,
            organization_id: t.organization_id,
            name: t.name.clone(),
            display_name: t.display_name.clone(),
            provisioner: t.provisioner.clone(),
            active_version_id: t.active_version_id,
            active_user_count: counts.get(&t.id).copied().unwrap_or(0),
            build_time_stats: ["start", "stop", "delete"]
                .iter()
                .map(|k| (k.to_string(), TransitionStats::default()))
                .collect(),
            description: t.description.clone(),
            icon: t.icon.clone(),
            default_ttl_ms: t.default_ttl,
            created_by_id: t.created_by,
            created_by_name: users.get(&t.created_by).cloned().unwrap_or_default(),
            allow_user_cancel_workspace_jobs: t.allow_user_cancel_workspace_jobs,
        })
        .collect())
}

pub async fn template_to_sdk(state: &AppState, t: &store::Template) -> DomainResult<Template> {
    Ok(templates_to_sdk(state, std::slice::from_ref(t))
        .await?
        .pop()
        .expect("one template"))
}

/// Converts versions, reading their jobs and creators in one query each.
pub async fn versions_to_sdk(
    state: &AppState,
    vs: &[store::TemplateVersion],
) -> DomainResult<Vec<TemplateVersion>> {
    let job_ids: Vec<Uuid> = vs.iter().map(|v| v.job_id).collect();
    let jobs: BTreeMap<Uuid, store::ProvisionerJob> = state
        .store
        .jobs_by_ids(&job_ids)
        .await?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    let user_ids: Vec<Uuid> = vs.iter().map(|v| v.created_by).collect();
    let users: BTreeMap<Uuid, store::User> = state
        .store
        .users_by_ids(&user_ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    vs.iter()
        .map(|v| {
            let job = jobs
                .get(&v.job_id)
                .ok_or_else(|| DomainError::Internal(format!("job of version {} missing", v.id)))?;
            Ok(version_to_sdk(
                v,
                job_to_sdk(job, None),
                users.get(&v.created_by),
            ))
        })
        .collect()
}

fn version_to_sdk(
    v: &store::TemplateVersion,
    job: codersdk::ProvisionerJob,
    creator: Option<&store::User>,
) -> TemplateVersion {
    TemplateVersion {
        id: v.id,
        template_id: v.template_id,
        organization_id: v.organization_id,
        created_at: v.created_at,
        updated_at: v.updated_at,
        name: v.name.clone(),
        job,
        readme: v.readme.clone(),
        created_by: MinimalUser {
            id: v.created_by,
            username: creator.map(|u| u.username.clone()).unwrap_or_default(),
            avatar_url: creator.map(|u| u.avatar_url.clone()).unwrap_or_default(),
        },
    }
}

/// One version on the wire (with its queue position while pending).
pub async fn version_with_job(
    state: &AppState,
    v: &store::TemplateVersion,
) -> DomainResult<TemplateVersion> {
    let job = state.store.get_job(v.job_id).await?;
    let creator = state.store.get_user_by_id(v.created_by).await.ok();
    Ok(version_to_sdk(
        v,
        job_with_queue(state, &job).await?,
        creator.as_ref(),
    ))
}
