//! Organizations and their members on the wire.

use codersdk::{Organization, OrganizationMember, OrganizationMemberWithUserData, Role};
use uuid::Uuid;

use crate::rbac;

/// Converts a stored organization.
pub fn to_sdk(o: &store::Organization) -> Organization {
    Organization {
        id: o.id,
        name: o.name.clone(),
        display_name: o.display_name.clone(),
        description: o.description.clone(),
        icon: o.icon.clone(),
        created_at: o.created_at,
        updated_at: o.updated_at,
        is_default: o.is_default,
    }
}

/// Organization roles on the wire (`organization-member` is implicit and
/// left out, as upstream).
pub fn org_roles(org: Uuid, stored: &[String]) -> Vec<Role> {
    stored
        .iter()
        .filter(|r| *r != rbac::ORG_MEMBER)
        .map(|r| Role {
            name: r.clone(),
            display_name: rbac::display_name(r).to_owned(),
            organization_id: Some(org),
        })
        .collect()
}

/// A membership on the wire.
pub fn member_to_sdk(m: &store::OrganizationMember) -> OrganizationMember {
    OrganizationMember {
        user_id: m.user_id,
        organization_id: m.organization_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
        roles: org_roles(m.organization_id, &m.roles.0),
    }
}

/// A membership with its user's data on the wire.
pub fn member_with_user_to_sdk(m: &store::MemberWithUser) -> OrganizationMemberWithUserData {
    OrganizationMemberWithUserData {
        member: member_to_sdk(&m.member),
        username: m.user.username.clone(),
        name: m.user.name.clone(),
        avatar_url: m.user.avatar_url.clone(),
        email: m.user.email.clone(),
        status: crate::view::users::sdk_status(m.user.status),
        login_type: codersdk::LoginType::parse(&m.user.login_type),
        global_roles: crate::view::users::site_roles(&m.user.rbac_roles.0),
    }
}
