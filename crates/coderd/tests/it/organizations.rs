//! Organizations and members.

use crate::common::*;
use reqwest::Method;

both!(organizations_and_members, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, member_id) = t.member(&owner.client, "alice").await;
    let by_id = member
        .organization(&owner.org_id.to_string())
        .await
        .unwrap();
    let by_name = member.organization("coder").await.unwrap();
    assert_eq!(by_id, by_name);
    let mine = member.organizations_by_user("me").await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, owner.org_id);
    let r = t
        .raw(
            Method::GET,
            &format!("/api/v2/organizations/{}", uuid::Uuid::new_v4()),
            member.token(),
            None,
        )
        .await;
    r.expect(404);
    assert_eq!(
        r.message(),
        "Resource not found or you do not have access to this resource"
    );

    let members = member.organization_members(owner.org_id).await.unwrap();
    let names: Vec<&str> = members.iter().map(|m| m.username.as_str()).collect();
    assert_eq!(names, vec!["admin", "alice"]);
    let admin = &members[0];
    assert_eq!(admin.member.roles.len(), 1);
    assert_eq!(admin.member.roles[0].name, "organization-admin");
    assert_eq!(admin.global_roles[0].name, "owner");
    assert!(members[1].member.roles.is_empty());

    // Member roles: the owner grants organization-admin; a member cannot.
    let path = format!(
        "/api/v2/organizations/{}/members/{member_id}/roles",
        owner.org_id
    );
    let r = t
        .raw(
            Method::PUT,
            &path,
            Some(owner.token()),
            Some(r#"{"roles":["organization-admin"]}"#),
        )
        .await;
    r.expect(200);
    assert_eq!(r.json["roles"][0]["name"], "organization-admin");
    assert_eq!(
        r.json["roles"][0]["organization_id"],
        owner.org_id.to_string()
    );
    let (bob, _) = t.member(&owner.client, "bob").await;
    let r = t
        .raw(
            Method::PUT,
            &format!("/api/v2/organizations/{}/members/alice/roles", owner.org_id),
            bob.token(),
            Some(r#"{"roles":[]}"#),
        )
        .await;
    r.expect(403);
    let r = t
        .raw(
            Method::PUT,
            &path,
            Some(owner.token()),
            Some(r#"{"roles":["owner"]}"#),
        )
        .await;
    r.expect(400);
    let roles = t
        .raw(
            Method::GET,
            "/api/v2/users/alice/roles",
            Some(owner.token()),
            None,
        )
        .await;
    assert_eq!(
        roles.json["organization_roles"][owner.org_id.to_string()],
        serde_json::json!(["organization-member", "organization-admin"])
    );
});
