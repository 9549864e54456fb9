//! Workspaces and builds: permissions, conflicts, cancel, and many builds
//! at once on the in-process daemons.

use std::time::Duration;

use codersdk::{CreateWorkspaceBuildRequest, ProvisionerJobStatus, WorkspaceStatus};
use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::prov::*;

both!(
    workspace_permissions_and_conflicts,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let tpl = create_template(&owner.client, "base", &two_resources(), &[]).await;
        let (alice, alice_id) = t.member(&owner.client, "alice").await;
        let (bob, _) = t.member(&owner.client, "bob").await;
        // Members use the organization's templates and own their workspaces.
        assert_eq!(alice.templates("default").await.unwrap().len(), 1);
        let ws = create_workspace(&alice, "mine", tpl.id).await;
        assert_eq!(ws.owner_id, alice_id);
        assert_eq!(ws.owner_name, "alice");
        let body = json!({"template_id": tpl.id, "name": "mine"}).to_string();
        let dup = t
            .raw(
                Method::POST,
                "/api/v2/organizations/default/members/me/workspaces",
                alice.token(),
                Some(&body),
            )
            .await;
        dup.expect(409);
        assert_eq!(dup.message(), "Workspace \"mine\" already exists.");
        // Bob may not create workspaces for Alice, nor see hers.
        t.raw(
            Method::POST,
            "/api/v2/organizations/default/members/alice/workspaces",
            bob.token(),
            Some(&json!({"template_id": tpl.id, "name": "x"}).to_string()),
        )
        .await
        .expect(403);
        t.raw(
            Method::GET,
            &format!("/api/v2/workspaces/{}", ws.id),
            bob.token(),
            None,
        )
        .await
        .expect(404);
        assert_eq!(bob.workspaces("").await.unwrap().count, 0);
        assert_eq!(
            owner.client.workspaces("owner:alice").await.unwrap().count,
            1
        );
        assert_eq!(
            owner
                .client
                .workspaces("template:base")
                .await
                .unwrap()
                .count,
            1
        );
        assert_eq!(
            owner.client.workspaces("name:nothing").await.unwrap().count,
            0
        );
        t.raw(
            Method::GET,
            "/api/v2/workspaces?q=bogus:1",
            owner.token().into(),
            None,
        )
        .await
        .expect(400);
        // Validation writes nothing.
        for (body, status) in [
            (json!({"template_id": tpl.id, "name": "bad name"}), 400),
            (json!({"template_id": tpl.id, "name": "new"}), 400),
            (json!({"name": "noversion"}), 400),
            (
                json!({"template_id": uuid::Uuid::new_v4(), "name": "unknown"}),
                404,
            ),
        ] {
            t.raw(
                Method::POST,
                "/api/v2/organizations/default/members/me/workspaces",
                alice.token(),
                Some(&body.to_string()),
            )
            .await
            .expect(status);
        }
        assert_eq!(alice.workspaces("").await.unwrap().count, 1);
        // A second build while the first is active is refused.
        let b = wait_build(&alice, ws.latest_build.id).await;
        assert_eq!(b.job.status, ProvisionerJobStatus::Succeeded);
        for (body, status) in [
            (json!({"transition": "explode"}), 400),
            (json!({}), 400),
            (
                json!({"transition": "start", "template_version_id": uuid::Uuid::new_v4()}),
                400,
            ),
            (json!({"transition": "start", "state": "c3RhdGU="}), 403),
        ] {
            t.raw(
                Method::POST,
                &format!("/api/v2/workspaces/{}/builds", ws.id),
                alice.token(),
                Some(&body.to_string()),
            )
            .await
            .expect(status);
        }
        t.raw(
            Method::POST,
            &format!("/api/v2/workspaces/{}/builds", ws.id),
            bob.token(),
            Some(r#"{"transition":"stop"}"#),
        )
        .await
        .expect(404);
        let builds = t
            .raw(
                Method::GET,
                &format!("/api/v2/workspaces/{}/builds", ws.id),
                alice.token(),
                None,
            )
            .await;
        builds.expect(200);
        assert_eq!(builds.json.as_array().unwrap().len(), 1);
    }
);

both!(cancel_a_long_build, |t: TestServer| async move {
    let owner = t.owner().await;
    let c = &owner.client;
    let tpl = create_template(
        c,
        "slow",
        &json!({"resources": [{"name": "a", "type": "t", "daily_cost": 1}], "duration_ms": 60000}),
        &[],
    )
    .await;
    let ws = create_workspace(c, "slow", tpl.id).await;
    wait_build_status(
        c,
        ws.latest_build.id,
        ProvisionerJobStatus::Running,
        Duration::from_secs(30),
    )
    .await;
    let again = t
        .raw(
            Method::POST,
            &format!("/api/v2/workspaces/{}/builds", ws.id),
            Some(owner.token()),
            Some(r#"{"transition":"stop"}"#),
        )
        .await;
    again.expect(409);
    c.cancel_workspace_build(ws.latest_build.id).await.unwrap();
    let b = wait_build(c, ws.latest_build.id).await;
    assert_eq!(b.job.status, ProvisionerJobStatus::Canceled);
    assert_eq!(b.status, WorkspaceStatus::Canceled);
    let r = t
        .raw(
            Method::PATCH,
            &format!("/api/v2/workspacebuilds/{}/cancel", b.id),
            Some(owner.token()),
            None,
        )
        .await;
    r.expect(400);
    assert_eq!(r.message(), "Job has already completed!");
    // The workspace can be built again.
    let next = c
        .create_workspace_build(
            ws.id,
            &CreateWorkspaceBuildRequest {
                transition: "delete".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(next.build_number, 2);
    // It is slow too (every build waits duration_ms): cancel it as well.
    c.cancel_workspace_build(next.id).await.unwrap();
    assert_eq!(
        wait_build(c, next.id).await.job.status,
        ProvisionerJobStatus::Canceled
    );
});

both!(
    fifty_workspaces_three_daemons_each_job_once,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let c = &owner.client;
        let marker = "ran-this-job";
        let tpl = create_template(
            c,
            "many",
            &json!({"resources": [{"name": "a", "type": "t", "daily_cost": 2}], "logs": [marker]}),
            &[],
        )
        .await;
        let creates = (0..50).map(|i| {
            let c = c.clone();
            async move { create_workspace(&c, &format!("ws-{i}"), tpl.id).await }
        });
        let workspaces = futures::future::join_all(creates).await;
        assert_eq!(workspaces.len(), 50);
        for ws in &workspaces {
            let b = wait_build(c, ws.latest_build.id).await;
            assert_eq!(
                b.job.status,
                ProvisionerJobStatus::Succeeded,
                "{:?}",
                b.job.error
            );
            assert_eq!(b.daily_cost, 2);
            // Run exactly once: one set-up line and one echo log line.
            let logs = c.workspace_build_logs(b.id, 0).await.unwrap();
            assert_eq!(
                logs.iter().filter(|l| l.output == marker).count(),
                1,
                "{logs:?}"
            );
            assert_eq!(
                logs.iter().filter(|l| l.stage == "Setting up").count(),
                1,
                "{logs:?}"
            );
        }
        let workers: std::collections::BTreeSet<_> = {
            let mut s = std::collections::BTreeSet::new();
            for ws in &workspaces {
                s.insert(
                    c.workspace_build(ws.latest_build.id)
                        .await
                        .unwrap()
                        .job
                        .worker_id,
                );
            }
            s
        };
        assert!(workers.len() <= 3, "{workers:?}");
        assert_eq!(c.workspaces("").await.unwrap().count, 50);
    }
);
