//! Who may see, use and administer a template.
//!
//! - Site owners and template-admins, and admins of the template's
//!   organization, are template admins everywhere.
//! - With `template_rbac` enabled, everyone else gets the best role the
//!   template's ACL gives them: directly, through a group, or through the
//!   Everyone group of the organization (which new templates give `use`).
//!   No role: the template is invisible to them (404) and cannot be built.
//! - Without `template_rbac` (upstream's AGPL behaviour), every member of
//!   the organization may use its templates.

use std::collections::HashMap;

use codersdk::FeatureName;
use store::TemplateRole;
use uuid::Uuid;

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// The caller's access to templates, computed once per request.
pub struct TemplateAccess {
    acl_enforced: bool,
    /// Template admin through RBAC, per organization (`None` = every org).
    admin_orgs: AdminScope,
    acl: HashMap<Uuid, TemplateRole>,
    member_orgs: Vec<Uuid>,
}

enum AdminScope {
    All,
    Orgs(Vec<Uuid>),
}

impl TemplateAccess {
    /// Loads the caller's template roles (one query when ACLs apply).
    pub async fn load(state: &AppState, auth: &Auth) -> ApiResult<TemplateAccess> {
        Ok(Self::for_subject(state, &auth.subject).await?)
    }

    /// [`TemplateAccess::load`] for a domain actor: a user through their
    /// RBAC subject (whose organization roles name every membership); the
    /// system administers every template.
    pub async fn for_actor(
        state: &AppState,
        actor: &crate::domain::Actor,
    ) -> Result<TemplateAccess, store::StoreError> {
        match actor {
            crate::domain::Actor::User { subject, .. } => Self::for_subject(state, subject).await,
            crate::domain::Actor::System { .. } => Ok(TemplateAccess {
                acl_enforced: false,
                admin_orgs: AdminScope::All,
                acl: HashMap::new(),
                member_orgs: Vec::new(),
            }),
        }
    }

    /// The template roles of an RBAC subject (one query when ACLs apply).
    pub async fn for_subject(
        state: &AppState,
        subject: &crate::rbac::Subject,
    ) -> Result<TemplateAccess, store::StoreError> {
        let acl_enforced = state.entitlements.enabled(FeatureName::TemplateRbac);
        let member_orgs: Vec<Uuid> = subject.org_roles.keys().copied().collect();
        let admin_orgs = if subject.can(Action::Update, &Resource::Template.any()) {
            AdminScope::All
        } else {
            AdminScope::Orgs(
                member_orgs
                    .iter()
                    .copied()
                    .filter(|o| subject.can(Action::Update, &Resource::Template.in_org(*o)))
                    .collect(),
            )
        };
        let acl = if acl_enforced {
            state.store.template_roles_of_user(subject.user_id).await?
        } else {
            HashMap::new()
        };
        Ok(TemplateAccess {
            acl_enforced,
            admin_orgs,
            acl,
            member_orgs,
        })
    }

    /// The caller's role on `t`, if any.
    pub fn role(&self, t: &store::Template) -> Option<TemplateRole> {
        let admin = match &self.admin_orgs {
            AdminScope::All => true,
            AdminScope::Orgs(orgs) => orgs.contains(&t.organization_id),
        };
        if admin {
            return Some(TemplateRole::Admin);
        }
        if self.acl_enforced {
            self.acl.get(&t.id).copied()
        } else if self.member_orgs.contains(&t.organization_id) {
            Some(TemplateRole::Use)
        } else {
            None
        }
    }

    /// The only templates of `org` the caller can have a role on, when
    /// that is narrower than the whole organization: with ACLs enforced
    /// and no admin role there, the templates named in the caller's ACL
    /// entries (any organization; [`TemplateAccess::role`] still decides).
    /// `None`: any template of `org` may be visible. Lets a list read only
    /// those rows instead of every template of the organization.
    pub fn only_templates(&self, org: Uuid) -> Option<Vec<Uuid>> {
        let admin = match &self.admin_orgs {
            AdminScope::All => true,
            AdminScope::Orgs(orgs) => orgs.contains(&org),
        };
        (self.acl_enforced && !admin).then(|| self.acl.keys().copied().collect())
    }

    /// May the caller see `t`?
    pub fn can_read(&self, t: &store::Template) -> bool {
        self.role(t).is_some()
    }

    /// May the caller build workspaces from `t`?
    pub fn can_use(&self, t: &store::Template) -> bool {
        self.role(t).is_some()
    }

    /// May the caller edit `t` and its ACL?
    pub fn can_admin(&self, t: &store::Template) -> bool {
        self.role(t) == Some(TemplateRole::Admin)
    }
}
