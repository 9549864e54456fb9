//! Groups on the wire: rows to `codersdk::Group` with their members and
//! organization names read in one query each, whatever the number of
//! groups.

use std::collections::BTreeMap;

use codersdk::Group;
use store::StoreResult;
use uuid::Uuid;

use crate::state::AppState;

/// Converts groups to the wire type: members (non-suspended, non-deleted
/// users; the Everyone group's are its organization's members) and
/// organization names, two queries in all.
pub async fn groups_to_sdk(state: &AppState, groups: &[store::Group]) -> StoreResult<Vec<Group>> {
    let ids: Vec<Uuid> = groups.iter().map(|g| g.id).collect();
    let mut members: BTreeMap<Uuid, Vec<store::User>> = BTreeMap::new();
    for m in state.store.group_members(&ids).await? {
        members.entry(m.group_id).or_default().push(m.user);
    }
    let orgs: BTreeMap<Uuid, store::Organization> = state
        .store
        .list_organizations()
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    Ok(groups
        .iter()
        .map(|g| {
            let users = members.remove(&g.id).unwrap_or_default();
            let org = orgs.get(&g.organization_id);
            Group {
                id: g.id,
                name: g.name.clone(),
                display_name: g.display_name.clone(),
                organization_id: g.organization_id,
                total_member_count: users.len() as i64,
                members: users
                    .iter()
                    .map(|u| super::users::to_sdk(u, vec![g.organization_id]))
                    .collect(),
                avatar_url: g.avatar_url.clone(),
                quota_allowance: g.quota_allowance,
                source: g.source.clone(),
                organization_name: org.map(|o| o.name.clone()).unwrap_or_default(),
                organization_display_name: org.map(|o| o.display_name.clone()).unwrap_or_default(),
            }
        })
        .collect())
}

/// One group on the wire ([`groups_to_sdk`]).
pub async fn group_to_sdk(state: &AppState, g: &store::Group) -> StoreResult<Group> {
    Ok(groups_to_sdk(state, std::slice::from_ref(g))
        .await?
        .remove(0))
}
