//! Audit rows on the wire (`codersdk::AuditLog`), with upstream's
//! read-time fields: `description` (coder-now 1.8), `resource_link` and
//! `is_deleted` (1.9), and the actor as `user` (`null` for the system).

use std::collections::{BTreeMap, HashMap};

use codersdk::{AuditDiffField, AuditLogResponse};
use store::{AuditAction, ResourceType};
use uuid::Uuid;

use crate::domain::audit::Page;

/// The friendly resource name used in descriptions (coder-now 1.4).
pub fn friendly_resource(r: ResourceType) -> &'static str {
    use ResourceType::*;
    match r {
        Template => "template",
        TemplateVersion => "template version",
        User => "user",
        Workspace | WorkspaceBuild => "workspace",
        GitSshKey => "git ssh key",
        ApiKey => "token",
        Group => "group",
        License => "license",
        ConvertLogin => "login type conversion",
        HealthSettings => "health_settings",
        NotificationsSettings => "notifications_settings",
        WorkspaceProxy => "workspace proxy",
        Organization => "organization",
        Oauth2ProviderApp => "oauth2 app",
        Oauth2ProviderAppSecret => "oauth2 app secret",
        CustomRole => "custom role",
        OrganizationMember => "organization member",
        NotificationTemplate => "notification template",
        IdpSyncSettingsOrganization | IdpSyncSettingsGroup | IdpSyncSettingsRole => "settings",
        WorkspaceAgent => "workspace agent",
        WorkspaceApp => "workspace app",
        Appearance => "appearance",
    }
}

/// The past tense of an action (coder-now 1.5).
pub fn friendly_action(a: AuditAction) -> &'static str {
    use AuditAction::*;
    match a {
        Create => "created",
        Write => "updated",
        Delete => "deleted",
        Start => "started",
        Stop => "stopped",
        Login => "logged in",
        Logout => "logged out",
        Register => "registered",
        RequestPasswordReset => "password reset requested",
        Connect => "connected",
        Disconnect => "disconnected",
        Open => "opened",
        Close => "closed",
    }
}

/// Upstream's `auditLogDescription` (coder-now 1.8), with `{user}` and
/// `{target}` placeholders.
pub fn description(row: &store::AuditLog) -> String {
    let mut s = String::new();
    if row.action != AuditAction::RequestPasswordReset {
        s.push_str("{user} ");
    }
    if row.status_code == 303 {
        s.push_str("was redirected attempting to ");
        s.push_str(row.action.as_str());
    } else if row.status_code >= 400 {
        s.push_str("unsuccessfully attempted to ");
        s.push_str(row.action.as_str());
    } else {
        s.push_str(friendly_action(row.action));
    }
    if row.resource_type == ResourceType::ApiKey
        && matches!(
            row.action,
            AuditAction::Login | AuditAction::Logout | AuditAction::Register
        )
    {
        return s;
    }
    if row.resource_type == ResourceType::GitSshKey {
        s.push_str(" the git ssh key");
        return s;
    }
    if row.action == AuditAction::RequestPasswordReset {
        s.push_str(" for");
    } else {
        s.push(' ');
        s.push_str(friendly_resource(row.resource_type));
    }
    if row.resource_type == ResourceType::ConvertLogin {
        s.push_str(" to");
    }
    s.push_str(" {target}");
    s
}

/// Renders a page: one pass, the users already loaded by the domain.
pub fn render(page: &Page) -> AuditLogResponse {
    let users: HashMap<Uuid, &store::User> = page.users.iter().map(|u| (u.id, u)).collect();
    let templates: HashMap<Uuid, &store::Template> =
        page.templates.iter().map(|t| (t.id, t)).collect();
    let workspaces: HashMap<Uuid, &store::Workspace> =
        page.workspaces.iter().map(|w| (w.id, w)).collect();
    let builds: HashMap<Uuid, &store::WorkspaceBuild> =
        page.builds.iter().map(|b| (b.id, b)).collect();
    // The live workspace a workspace or build row is about.
    let workspace_of = |r: &store::AuditLog| match r.resource_type {
        ResourceType::Workspace => workspaces.get(&r.resource_id).copied(),
        ResourceType::WorkspaceBuild => builds
            .get(&r.resource_id)
            .and_then(|b| workspaces.get(&b.workspace_id).copied()),
        _ => None,
    };
    let owner_of = |w: Option<&store::Workspace>| {
        w.and_then(|w| users.get(&w.owner_id))
            .map(|u| u.username.clone())
            .unwrap_or_default()
    };
    let audit_logs = page
        .rows
        .iter()
        .map(|r| {
            // Upstream's is_deleted: a user, template or workspace (a
            // build's through its workspace) missing or deleted.
            let is_deleted = match r.resource_type {
                ResourceType::User => users.get(&r.resource_id).is_none_or(|u| u.deleted),
                ResourceType::Template => templates.get(&r.resource_id).is_none_or(|t| t.deleted),
                ResourceType::Workspace | ResourceType::WorkspaceBuild => {
                    workspace_of(r).is_none_or(|w| w.deleted)
                }
                _ => false,
            };
            let extra: serde_json::Value =
                serde_json::from_str(&r.additional_fields).unwrap_or_default();
            let resource_link = if is_deleted {
                String::new()
            } else {
                match r.resource_type {
                    ResourceType::Template => format!("/templates/{}", r.resource_target),
                    ResourceType::User => format!("/users?filter={}", r.resource_target),
                    ResourceType::Workspace => {
                        let owner = owner_of(workspace_of(r));
                        if owner.is_empty() {
                            String::new()
                        } else {
                            format!("/@{owner}/{}", r.resource_target)
                        }
                    }
                    ResourceType::WorkspaceBuild => {
                        let owner = owner_of(workspace_of(r));
                        let name = extra["workspace_name"].as_str().unwrap_or("");
                        let number = extra["build_number"].as_str().unwrap_or("");
                        if owner.is_empty() || name.is_empty() || number.is_empty() {
                            String::new()
                        } else {
                            format!("/@{owner}/{name}/builds/{number}")
                        }
                    }
                    _ => String::new(),
                }
            };
            let diff: BTreeMap<String, AuditDiffField> =
                serde_json::from_str(&r.diff).unwrap_or_default();
            let additional_fields =
                serde_json::from_str(&r.additional_fields).unwrap_or_else(|err| {
                    tracing::warn!(%err, id = %r.id, "audit: additional_fields is not JSON");
                    serde_json::json!({
                        "workspace_name": "unknown",
                        "build_number": "unknown",
                        "build_reason": "unknown",
                        "workspace_owner": "unknown",
                    })
                });
            codersdk::AuditLog {
                id: r.id,
                request_id: r.request_id,
                time: r.time,
                ip: r.ip.clone(),
                user_agent: r.user_agent.clone(),
                resource_type: r.resource_type.as_str().to_owned(),
                resource_id: r.resource_id,
                resource_target: r.resource_target.clone(),
                resource_icon: r.resource_icon.clone(),
                action: r.action.as_str().to_owned(),
                diff,
                status_code: r.status_code,
                additional_fields,
                description: description(r),
                resource_link,
                is_deleted,
                organization_id: r.organization_id.unwrap_or_default(),
                user: users
                    .get(&r.user_id)
                    .map(|u| crate::view::users::to_sdk(u, Vec::new())),
            }
        })
        .collect();
    AuditLogResponse {
        audit_logs,
        count: page.count,
    }
}
