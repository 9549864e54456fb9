//! Organizations and their members on the wire.

use codersdk::{Organization, OrganizationMember, Role};
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

pub fn member_to_sdk(m: &store::OrganizationMember) -> OrganizationMember {
    OrganizationMember {
        user_id: m.user_id,
        organization_id: m.organization_id,
        created_at: m.created_at,
        updated_at: m.updated_at,
        roles: org_roles(m.organization_id, &m.roles.0),
    }
}
