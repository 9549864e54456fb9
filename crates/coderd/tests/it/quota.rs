//! Template ACLs and workspace quota: spec section 11 scenarios 33-39 and
//! issue 5's end-to-end checks, on servers with in-process echo daemons.

use std::time::Duration;

use codersdk::{CreateWorkspaceBuildRequest, ProvisionerJobStatus};
use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::prov;

/// A licensed server with 3 in-process daemons, its owner (licensed with
/// `template_rbac`) and the license authority.
async fn setup(db: Db) -> Option<(TestServer, Owner)> {
    let (t, ca) = prov::start(db, 3, Duration::from_secs(30), true).await?;
    let owner = t.owner().await;
    owner.license(&ca.unwrap(), &[("template_rbac", 1)]).await;
    Some((t, owner))
}

macro_rules! both_quota {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (t, o) = setup(Db::Sqlite).await.unwrap();
                ($body)(t, o).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some((t, o)) = setup(Db::Postgres).await else {
                    eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
                    return;
                };
                ($body)(t, o).await;
            }
        }
    };
}

/// `GET /workspace-quota/me` as `member`.
async fn quota_of_me(t: &TestServer, member: &codersdk::Client) -> Resp {
    t.raw(
        Method::GET,
        "/api/v2/workspace-quota/me",
        member.token(),
        None,
    )
    .await
}

/// Starts a build with `transition` on a workspace.
async fn transition(
    c: &codersdk::Client,
    workspace: uuid::Uuid,
    transition: &str,
) -> codersdk::WorkspaceBuild {
    c.create_workspace_build(
        workspace,
        &CreateWorkspaceBuildRequest {
            transition: transition.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn costing(cost: i64) -> serde_json::Value {
    json!({"resources": [{"name": "dev", "type": "echo_instance", "daily_cost": cost}]})
}

async fn group_with(
    t: &TestServer,
    owner: &Owner,
    name: &str,
    allowance: i64,
    members: &[uuid::Uuid],
) -> String {
    let r = t
        .raw(
            Method::POST,
            &format!("/api/v2/organizations/{}/groups", owner.org_id),
            Some(owner.token()),
            Some(&json!({"name": name, "quota_allowance": allowance}).to_string()),
        )
        .await;
    r.expect(201);
    let id = r.json["id"].as_str().unwrap().to_owned();
    let add: Vec<String> = members.iter().map(|m| m.to_string()).collect();
    t.raw(
        Method::PATCH,
        &format!("/api/v2/groups/{id}"),
        Some(owner.token()),
        Some(&json!({"add_users": add}).to_string()),
    )
    .await
    .expect(200);
    id
}

both_quota!(
    template_acl_scenarios,
    |t: TestServer, owner: Owner| async move {
        let (member, alice) = t.member(&owner.client, "alice").await;
        let tpl = prov::create_template(&owner.client, "acl", &costing(1), &[]).await;
        let acl_path = format!("/api/v2/templates/{}/acl", tpl.id);
        // A new template gives Everyone `use`.
        let r = t
            .raw(Method::GET, &acl_path, Some(owner.token()), None)
            .await;
        r.expect(200);
        assert_eq!(r.json["users"], json!([]));
        assert_eq!(r.json["group"][0]["id"], owner.org_id.to_string());
        assert_eq!(r.json["group"][0]["role"], "use");
        // 33: user admin.
        let r = t
            .raw(
                Method::PATCH,
                &acl_path,
                Some(owner.token()),
                Some(&json!({"user_perms": {alice.to_string(): "admin"}}).to_string()),
            )
            .await;
        r.expect(200);
        assert_eq!(r.message(), "Successfully updated template ACL list.");
        let r = t
            .raw(Method::GET, &acl_path, Some(owner.token()), None)
            .await;
        assert_eq!(r.json["users"][0]["id"], alice.to_string());
        assert_eq!(r.json["users"][0]["role"], "admin");
        assert_eq!(r.json["users"][0]["username"], "alice");
        assert_eq!(r.json["group"][0]["name"], "Everyone");
        assert_eq!(r.json["group"][0]["role"], "use");
        // 34: bad role, bad key, unknown id -> 400 with validations, nothing written.
        let r = t
            .raw(
                Method::PATCH,
                &acl_path,
                Some(owner.token()),
                Some(&json!({"user_perms": {alice.to_string(): "superuser"}}).to_string()),
            )
            .await;
        r.expect(400);
        assert_eq!(r.message(), "Invalid request to update template metadata!");
        assert_eq!(r.json["validations"][0]["field"], "user_perms");
        assert_eq!(
            r.json["validations"][0]["detail"],
            "role \"superuser\" is not a valid Template role"
        );
        let r = t
            .raw(
                Method::PATCH,
                &acl_path,
                Some(owner.token()),
                Some(r#"{"user_perms": {"not-a-uuid": "use"}}"#),
            )
            .await;
        r.expect(400);
        assert_eq!(
            r.json["validations"][0]["detail"],
            "ID not-a-uuid must be a valid UUID."
        );
        let r = t
        .raw(
            Method::PATCH,
            &acl_path,
            Some(owner.token()),
            Some(&json!({"user_perms": {uuid::Uuid::new_v4().to_string(): "use"}, "group_perms": {uuid::Uuid::new_v4().to_string(): "use"}}).to_string()),
        )
        .await;
        r.expect(400);
        assert_eq!(r.json["validations"].as_array().unwrap().len(), 2);
        let r = t
            .raw(Method::GET, &acl_path, Some(owner.token()), None)
            .await;
        assert_eq!(r.json["users"].as_array().unwrap().len(), 1);
        // 35: "" removes the entry.
        t.raw(
            Method::PATCH,
            &acl_path,
            Some(owner.token()),
            Some(&json!({"user_perms": {alice.to_string(): ""}}).to_string()),
        )
        .await
        .expect(200);
        let r = t
            .raw(Method::GET, &acl_path, Some(owner.token()), None)
            .await;
        assert_eq!(r.json["users"], json!([]));
        // The member, with use through Everyone, reads the ACL but cannot change it.
        t.raw(Method::GET, &acl_path, member.token(), None)
            .await
            .expect(200);
        t.raw(
            Method::PATCH,
            &acl_path,
            member.token(),
            Some(&json!({"user_perms": {alice.to_string(): "admin"}}).to_string()),
        )
        .await
        .expect(404);
        // 36: Everyone revoked and no entry -> 404 for the member.
        t.raw(
            Method::PATCH,
            &acl_path,
            Some(owner.token()),
            Some(&json!({"group_perms": {owner.org_id.to_string(): ""}}).to_string()),
        )
        .await
        .expect(200);
        let r = t.raw(Method::GET, &acl_path, member.token(), None).await;
        r.expect(404);
        // ...the template is hidden from them and cannot be built; the owner still sees and edits it.
        let r = t
            .raw(
                Method::GET,
                &format!("/api/v2/templates/{}", tpl.id),
                member.token(),
                None,
            )
            .await;
        r.expect(404);
        let list = t
            .raw(
                Method::GET,
                "/api/v2/organizations/default/templates",
                member.token(),
                None,
            )
            .await;
        assert_eq!(list.json, json!([]));
        let r = t
            .raw(
                Method::POST,
                "/api/v2/organizations/default/members/me/workspaces",
                member.token(),
                Some(&json!({"name": "sneaky", "template_id": tpl.id}).to_string()),
            )
            .await;
        assert!(r.status == 403 || r.status == 404, "{}", r.text);
        assert_eq!(owner.client.templates("default").await.unwrap().len(), 1);
        t.raw(
            Method::PATCH,
            &format!("/api/v2/templates/{}", tpl.id),
            Some(owner.token()),
            Some(r#"{"description":"still mine"}"#),
        )
        .await
        .expect(200);
        // `use` through a group lets the member build again; `admin` lets them edit.
        let gid = group_with(&t, &owner, "devs", 0, &[alice]).await;
        t.raw(
            Method::PATCH,
            &acl_path,
            Some(owner.token()),
            Some(&json!({"group_perms": {gid.clone(): "use"}}).to_string()),
        )
        .await
        .expect(200);
        t.raw(
            Method::GET,
            &format!("/api/v2/templates/{}", tpl.id),
            member.token(),
            None,
        )
        .await
        .expect(200);
        t.raw(
            Method::PATCH,
            &format!("/api/v2/templates/{}", tpl.id),
            member.token(),
            Some(r#"{"description":"x"}"#),
        )
        .await
        .expect(403);
        t.raw(
            Method::PATCH,
            &acl_path,
            Some(owner.token()),
            Some(&json!({"group_perms": {gid: "admin"}}).to_string()),
        )
        .await
        .expect(200);
        t.raw(
            Method::PATCH,
            &format!("/api/v2/templates/{}", tpl.id),
            member.token(),
            Some(r#"{"description":"edited by alice"}"#),
        )
        .await
        .expect(200);
        t.raw(
            Method::PATCH,
            &acl_path,
            member.token(),
            Some(&json!({"user_perms": {alice.to_string(): "use"}}).to_string()),
        )
        .await
        .expect(200);
    }
);

// 37 and 39: no template_rbac -> budget -1; an unknown user -> 400.
both!(quota_unlicensed, |t: TestServer| async move {
    let owner = t.owner().await;
    let r = t
        .raw(
            Method::GET,
            "/api/v2/workspace-quota/me",
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(200);
    assert_eq!(r.json, json!({"credits_consumed": 0, "budget": -1}));
    let r = t
        .raw(
            Method::GET,
            "/api/v2/workspace-quota/nosuchuser",
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(400);
    assert_eq!(
        r.message(),
        "\"user\" must be an existing uuid or username."
    );
});

// 38, and issue 5's end-to-end flow.
both_quota!(
    quota_budget_and_enforcement,
    |t: TestServer, owner: Owner| async move {
        let (member, alice) = t.member(&owner.client, "alice").await;
        // Budget: Everyone 0 + devs 10.
        group_with(&t, &owner, "devs", 10, &[alice]).await;
        let q = t
            .raw(
                Method::GET,
                "/api/v2/workspace-quota/alice",
                Some(owner.token()),
                None,
            )
            .await;
        assert_eq!(q.json, json!({"credits_consumed": 0, "budget": 10}));
        let tpl = prov::create_template(&owner.client, "four", &costing(4), &[]).await;
        let w1 = prov::create_workspace(&member, "one", tpl.id).await;
        let b1 = prov::wait_build(&member, w1.latest_build.id).await;
        assert_eq!(
            b1.job.status,
            ProvisionerJobStatus::Succeeded,
            "{:?}",
            b1.job.error
        );
        assert_eq!(b1.daily_cost, 4);
        let w2 = prov::create_workspace(&member, "two", tpl.id).await;
        assert_eq!(
            prov::wait_build(&member, w2.latest_build.id)
                .await
                .job
                .status,
            ProvisionerJobStatus::Succeeded
        );
        let q = quota_of_me(&t, &member).await;
        assert_eq!(q.json, json!({"credits_consumed": 8, "budget": 10}));
        // The third would take 12 > 10: insufficient quota, with the figures in its logs.
        let w3 = prov::create_workspace(&member, "three", tpl.id).await;
        let b3 = prov::wait_build(&member, w3.latest_build.id).await;
        assert_eq!(b3.job.status, ProvisionerJobStatus::Failed);
        assert_eq!(b3.job.error.as_str(), "insufficient quota");
        assert_eq!(b3.daily_cost, 0, "a refused build commits nothing");
        let logs: Vec<String> = member
            .workspace_build_logs(b3.id, 0)
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.output)
            .collect();
        for want in ["Build cost — 4", "Budget — 10", "Credits consumed — 8"] {
            assert!(
                logs.iter().any(|l| l == want),
                "missing {want:?} in {logs:?}"
            );
        }
        let q = quota_of_me(&t, &member).await;
        assert_eq!(q.json["credits_consumed"], 8);
        // Stopping one frees its cost; the third then starts.
        let stop = transition(&member, w1.id, "stop").await;
        assert_eq!(
            prov::wait_build(&member, stop.id).await.job.status,
            ProvisionerJobStatus::Succeeded
        );
        let q = quota_of_me(&t, &member).await;
        assert_eq!(q.json["credits_consumed"], 4);
        let retry = transition(&member, w3.id, "start").await;
        let retry = prov::wait_build(&member, retry.id).await;
        assert_eq!(
            retry.job.status,
            ProvisionerJobStatus::Succeeded,
            "{:?}",
            retry.job.error
        );
        let q = quota_of_me(&t, &member).await;
        assert_eq!(q.json, json!({"credits_consumed": 8, "budget": 10}));
        // A build that does not raise the cost passes even over budget: lower the budget, restart w2.
        let devs = t
            .raw(
                Method::GET,
                "/api/v2/groups/devs",
                Some(owner.token()),
                None,
            )
            .await;
        let devs_id = devs.json["id"].as_str().unwrap().to_owned();
        t.raw(
            Method::PATCH,
            &format!("/api/v2/groups/{devs_id}"),
            Some(owner.token()),
            Some(r#"{"quota_allowance": 1}"#),
        )
        .await
        .expect(200);
        let again = transition(&member, w2.id, "start").await;
        assert_eq!(
            prov::wait_build(&member, again.id).await.job.status,
            ProvisionerJobStatus::Succeeded
        );
    }
);

// Ten builds of cost 4 at once against a budget of 10: exactly two commit.
both_quota!(
    quota_holds_under_concurrency,
    |t: TestServer, owner: Owner| async move {
        let (member, alice) = t.member(&owner.client, "alice").await;
        group_with(&t, &owner, "devs", 10, &[alice]).await;
        let tpl = prov::create_template(&owner.client, "four", &costing(4), &[]).await;
        let mut handles = Vec::new();
        for i in 0..10 {
            let m = member.clone();
            handles.push(tokio::spawn(async move {
                prov::create_workspace(&m, &format!("w{i}"), tpl.id).await
            }));
        }
        let mut builds = Vec::new();
        for h in handles {
            builds.push(h.await.unwrap().latest_build.id);
        }
        let mut ok = 0;
        let mut refused = 0;
        for b in builds {
            let b = prov::wait_build(&member, b).await;
            match b.job.status {
                ProvisionerJobStatus::Succeeded => ok += 1,
                ProvisionerJobStatus::Failed => {
                    assert_eq!(b.job.error.as_str(), "insufficient quota");
                    refused += 1;
                }
                other => panic!("unexpected status {other:?}"),
            }
        }
        assert_eq!((ok, refused), (2, 8));
        let q = quota_of_me(&t, &member).await;
        assert_eq!(q.json, json!({"credits_consumed": 8, "budget": 10}));
    }
);

both_quota!(
    template_acl_checks_many_ids_at_once,
    |t: TestServer, owner: Owner| async move {
        let (_, alice) = t.member(&owner.client, "alice").await;
        let (_, bob) = t.member(&owner.client, "bob").await;
        let devs = group_with(&t, &owner, "devs", 0, &[alice]).await;
        let tpl = prov::create_template(&owner.client, "acl-many", &costing(1), &[]).await;
        let acl_path = format!("/api/v2/templates/{}/acl", tpl.id);
        let (ghost_user, ghost_group) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
        // Known and unknown ids together: one validation per unknown id,
        // users before groups, and nothing written.
        let r = t
            .raw(
                Method::PATCH,
                &acl_path,
                Some(owner.token()),
                Some(
                    &json!({
                        "user_perms": {alice.to_string(): "use", bob.to_string(): "admin", ghost_user.to_string(): "use"},
                        "group_perms": {devs.clone(): "use", ghost_group.to_string(): "admin"},
                    })
                    .to_string(),
                ),
            )
            .await;
        r.expect(400);
        let v = r.json["validations"].as_array().unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0]["field"], "user_perms");
        assert_eq!(
            v[0]["detail"],
            format!(
                "Failed to find resource with ID {:?}: user not found",
                ghost_user.to_string()
            )
        );
        assert_eq!(v[1]["field"], "group_perms");
        assert_eq!(
            v[1]["detail"],
            format!(
                "Failed to find resource with ID {:?}: group not found",
                ghost_group.to_string()
            )
        );
        let r = t
            .raw(Method::GET, &acl_path, Some(owner.token()), None)
            .await;
        assert_eq!(r.json["users"], json!([]));
        // Only known ids: all of them are written.
        t.raw(
            Method::PATCH,
            &acl_path,
            Some(owner.token()),
            Some(
                &json!({
                    "user_perms": {alice.to_string(): "use", bob.to_string(): "admin"},
                    "group_perms": {devs.clone(): "use"},
                })
                .to_string(),
            ),
        )
        .await
        .expect(200);
        let r = t
            .raw(Method::GET, &acl_path, Some(owner.token()), None)
            .await;
        assert_eq!(r.json["users"].as_array().unwrap().len(), 2);
        let groups: Vec<&str> = r.json["group"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap())
            .collect();
        assert!(groups.contains(&devs.as_str()), "{groups:?}");
    }
);

/// Twelve builds of one owner at once, alternating templates costing 3
/// and 5, against a budget of 13 from two groups (Everyone gives 0), sent
/// round-robin to `urls` (replicas sharing one database, each with its own
/// daemons). What commits stays within the budget and is exactly what the
/// quota reports; every refused build wrote no cost and was refused
/// rightly (it did not fit in what the others left).
async fn mixed_costs_hold(t: &TestServer, owner: &Owner, urls: &[String]) {
    let (member, alice) = t.member(&owner.client, "alice").await;
    group_with(t, owner, "devs", 6, &[alice]).await;
    group_with(t, owner, "ops", 7, &[alice]).await;
    let three = prov::create_template(&owner.client, "three", &costing(3), &[]).await;
    let five = prov::create_template(&owner.client, "five", &costing(5), &[]).await;
    let token = member.token().unwrap().to_owned();
    let creates = (0..12).map(|i| {
        let c = codersdk::Client::new(&urls[i % urls.len()]).with_token(token.clone());
        let (tpl, cost) = if i % 2 == 0 {
            (three.id, 3)
        } else {
            (five.id, 5)
        };
        async move {
            let w = prov::create_workspace(&c, &format!("w{i}"), tpl).await;
            (w.latest_build.id, cost)
        }
    });
    let builds = futures::future::join_all(creates).await;
    let (mut committed, mut refused) = (0, Vec::new());
    for (id, cost) in builds {
        let b = prov::wait_build(&member, id).await;
        match b.job.status {
            ProvisionerJobStatus::Succeeded => {
                assert_eq!(b.daily_cost, cost);
                committed += cost;
            }
            ProvisionerJobStatus::Failed => {
                assert_eq!(b.job.error.as_str(), "insufficient quota");
                assert_eq!(b.daily_cost, 0, "a refused build wrote its cost");
                refused.push(cost);
            }
            other => panic!("unexpected status {other:?}"),
        }
    }
    assert!(committed <= 13, "committed {committed} > budget 13");
    for cost in &refused {
        assert!(
            committed + cost > 13,
            "a build of {cost} was refused with {committed} of 13 committed"
        );
    }
    for url in urls {
        let c = codersdk::Client::new(url).with_token(token.clone());
        let q = quota_of_me(t, &c).await;
        assert_eq!(
            q.json,
            json!({"credits_consumed": committed, "budget": 13}),
            "{url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_holds_for_mixed_costs_sqlite() {
    let (t, owner) = setup(Db::Sqlite).await.unwrap();
    let urls = vec![t.url.clone()];
    mixed_costs_hold(&t, &owner, &urls).await;
}

/// On PostgreSQL the builds go to two replicas, each with 3 daemons: the
/// per-owner lock of CommitQuota holds across processes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_holds_for_mixed_costs_across_two_replicas_postgres() {
    let Some((t, owner)) = setup(Db::Postgres).await else {
        eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
        return;
    };
    let b = TestServer::start_with(
        Db::Postgres,
        t.config.clone(),
        tempfile::tempdir().unwrap(),
        None,
    )
    .await;
    let urls = vec![t.url.clone(), b.url.clone()];
    mixed_costs_hold(&t, &owner, &urls).await;
    if let Some(s) = b.server {
        s.stop().await;
    }
}
