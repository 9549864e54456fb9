//! The audit rows of templates, template versions, workspaces and builds
//! (coder-now 1.4-1.7, 1.10): each operation writes exactly one row per
//! audited resource with upstream's resource id, target, action, status,
//! diff and additional fields; a build's row is written when its job ends;
//! refusals write nothing; without `audit_log` nothing is written.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::*;
use crate::prov::*;

use crate::audit::{change, UA};

/// [`crate::audit::send`] with a token: status, body and request id.
async fn send(
    t: &TestServer,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value, Uuid) {
    crate::audit::send(t, method, path, Some(token), body).await
}

/// The audit rows matching `q` (newest first), checking the total.
async fn audit_rows(t: &TestServer, token: &str, q: &str, want: i64) -> Vec<Value> {
    let mut url = reqwest::Url::parse("http://x/api/v2/audit").unwrap();
    if !q.is_empty() {
        url.query_pairs_mut().append_pair("q", q);
    }
    let path = match url.query() {
        Some(query) => format!("{}?{}", url.path(), query),
        None => url.path().to_owned(),
    };
    let r = t.raw(Method::GET, &path, Some(token), None).await;
    r.expect(200);
    assert_eq!(r.json["count"], json!(want), "{q}: {}", r.text);
    r.json["audit_logs"].as_array().unwrap().clone()
}

/// A row without its varying id and time, with the actor's id checked.
#[track_caller]
fn fixed(row: &Value, actor: Uuid) -> Value {
    let mut r = row.clone();
    let o = r.as_object_mut().unwrap();
    assert!(Uuid::parse_str(o["id"].as_str().unwrap()).is_ok());
    assert!(o["time"].is_string());
    o.remove("id");
    o.remove("time");
    let user = o.remove("user").unwrap();
    assert_eq!(user["id"], json!(actor), "{row}");
    r
}

fn id_of(v: &Value) -> Uuid {
    Uuid::parse_str(v["id"].as_str().unwrap()).unwrap()
}

/// Uploads an echo archive as `token` and returns its file id.
async fn upload(t: &TestServer, token: &str, config: &Value) -> Uuid {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v2/files", t.url))
        .header("Coder-Session-Token", token)
        .header("Content-Type", "application/x-tar")
        .body(echo_tar(config))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let v: Value = res.json().await.unwrap();
    Uuid::parse_str(v["hash"].as_str().unwrap()).unwrap()
}

/// The request's row fields every request row of `ty` shares.
fn request_row(req_id: Uuid, org: Uuid, ty: &str, id: Uuid, target: &str) -> Value {
    json!({
        "request_id": req_id,
        "ip": "127.0.0.1",
        "user_agent": UA,
        "resource_type": ty,
        "resource_id": id,
        "resource_target": target,
        "resource_icon": "",
        "additional_fields": {},
        "is_deleted": false,
        "organization_id": org,
    })
}

fn with(mut base: Value, extra: Value) -> Value {
    let o = base.as_object_mut().unwrap();
    for (k, v) in extra.as_object().unwrap() {
        o.insert(k.clone(), v.clone());
    }
    base
}

both_licensed!(
    template_workspace_and_build_operations_write_one_row_each,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        // A member, made before the license (so without rows).
        let (member, _) = t.member(&owner.client, "alice").await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let tok = owner.token().to_owned();
        let me = owner.user_id;
        let org = owner.org_id;

        // A template version: one `template_version` `create` row.
        let file = upload(&t, &tok, &two_resources()).await;
        let (status, body, req_id) = send(
            &t,
            Method::POST,
            "/api/v2/organizations/default/templateversions",
            &tok,
            Some(json!({"storage_method": "file", "file_id": file, "provisioner": "echo", "name": "v1"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let v1 = id_of(&body);
        let got = audit_rows(&t, &tok, "", 1).await;
        assert_eq!(
            fixed(&got[0], me),
            with(
                request_row(req_id, org, "template_version", v1, "v1"),
                json!({
                    "action": "create",
                    "status_code": 201,
                    "diff": {
                        "id": change(json!(""), json!(v1.to_string())),
                        "name": change(json!(""), json!("v1")),
                        "created_by": change(json!(""), json!(me.to_string())),
                    },
                    "description": "{user} created template version {target}",
                    "resource_link": "",
                })
            )
        );
        wait_version(&owner.client, v1).await;

        // A refused version (unknown file) writes nothing.
        let (status, _, _) = send(
            &t,
            Method::POST,
            "/api/v2/organizations/default/templateversions",
            &tok,
            Some(
                json!({"storage_method": "file", "file_id": Uuid::new_v4(), "provisioner": "echo"}),
            ),
        )
        .await;
        assert_eq!(status, 404);
        audit_rows(&t, &tok, "", 1).await;

        // A template: `template` `create`, and `template_version` `write`
        // for the version it adopts, in one transaction.
        let (status, body, req_id) = send(
            &t,
            Method::POST,
            "/api/v2/organizations/default/templates",
            &tok,
            Some(json!({"name": "base", "template_version_id": v1})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let tpl = id_of(&body);
        audit_rows(&t, &tok, "", 3).await;
        let got = audit_rows(&t, &tok, "resource_type:template", 1).await;
        assert_eq!(
            fixed(&got[0], me),
            with(
                request_row(req_id, org, "template", tpl, "base"),
                json!({
                    "action": "create",
                    "status_code": 201,
                    "diff": {
                        "id": change(json!(""), json!(tpl.to_string())),
                        "name": change(json!(""), json!("base")),
                        "provisioner": change(json!(""), json!("echo")),
                        "active_version_id": change(json!(""), json!(v1.to_string())),
                        "created_by": change(json!(""), json!(me.to_string())),
                        "allow_user_cancel_workspace_jobs": change(json!(false), json!(true)),
                    },
                    "description": "{user} created template {target}",
                    "resource_link": "/templates/base",
                })
            )
        );
        let got = audit_rows(&t, &tok, "resource_type:template_version action:write", 1).await;
        assert_eq!(
            fixed(&got[0], me),
            with(
                request_row(req_id, org, "template_version", v1, "v1"),
                json!({
                    "action": "write",
                    "status_code": 201,
                    "diff": {"template_id": change(json!(""), json!(tpl.to_string()))},
                    "description": "{user} updated template version {target}",
                    "resource_link": "",
                })
            )
        );

        // The same version again is refused (it has a template): no row.
        let (status, _, _) = send(
            &t,
            Method::POST,
            "/api/v2/organizations/default/templates",
            &tok,
            Some(json!({"name": "other", "template_version_id": v1})),
        )
        .await;
        assert_eq!(status, 400);
        audit_rows(&t, &tok, "", 3).await;

        // Metadata: `template` `write` with the changed field only; a
        // member's refused patch and an unchanged one (304) write nothing.
        let (status, body, req_id) = send(
            &t,
            Method::PATCH,
            &format!("/api/v2/templates/{tpl}"),
            &tok,
            Some(json!({"display_name": "Base", "default_ttl_ms": 3_600_000})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got = audit_rows(&t, &tok, "resource_type:template action:write", 1).await;
        assert_eq!(
            fixed(&got[0], me),
            with(
                request_row(req_id, org, "template", tpl, "base"),
                json!({
                    "action": "write",
                    "status_code": 200,
                    "diff": {
                        "display_name": change(json!(""), json!("Base")),
                        "default_ttl": change(json!(0), json!(3_600_000_000_000_i64)),
                    },
                    "description": "{user} updated template {target}",
                    "resource_link": "/templates/base",
                })
            )
        );
        let (status, _, _) = send(
            &t,
            Method::PATCH,
            &format!("/api/v2/templates/{tpl}"),
            &tok,
            Some(json!({"display_name": "Base"})),
        )
        .await;
        assert_eq!(status, 304);
        let (status, _, _) = send(
            &t,
            Method::PATCH,
            &format!("/api/v2/templates/{tpl}"),
            member.token().unwrap(),
            Some(json!({"display_name": "Mine"})),
        )
        .await;
        assert_eq!(status, 403);
        audit_rows(&t, &tok, "", 4).await;

        // A second version of the template, then made active: `template`
        // `write` with `active_version_id`.
        let file2 = upload(&t, &tok, &json!({"resources": [], "logs": ["v2"]})).await;
        let (status, body, req_id) = send(
            &t,
            Method::POST,
            "/api/v2/organizations/default/templateversions",
            &tok,
            Some(
                json!({"storage_method": "file", "file_id": file2, "provisioner": "echo",
                        "name": "v2", "template_id": tpl}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let v2 = id_of(&body);
        let got = audit_rows(&t, &tok, &format!("resource_id:{v2}"), 1).await;
        assert_eq!(
            fixed(&got[0], me)["diff"],
            json!({
                "id": change(json!(""), json!(v2.to_string())),
                "template_id": change(json!(""), json!(tpl.to_string())),
                "name": change(json!(""), json!("v2")),
                "created_by": change(json!(""), json!(me.to_string())),
            })
        );
        assert_eq!(got[0]["request_id"], json!(req_id));
        wait_version(&owner.client, v2).await;
        let (status, body, req_id) = send(
            &t,
            Method::PATCH,
            &format!("/api/v2/templates/{tpl}/versions"),
            &tok,
            Some(json!({"id": v2})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got = audit_rows(&t, &tok, "resource_type:template action:write", 2).await;
        assert_eq!(
            fixed(&got[0], me),
            with(
                request_row(req_id, org, "template", tpl, "base"),
                json!({
                    "action": "write",
                    "status_code": 200,
                    "diff": {"active_version_id": change(json!(v1.to_string()), json!(v2.to_string()))},
                    "description": "{user} updated template {target}",
                    "resource_link": "/templates/base",
                })
            )
        );
        audit_rows(&t, &tok, "", 6).await;

        // A workspace: `workspace` `create` at once; its first build's
        // `workspace_build` `start` row when the build's job ends.
        let (status, body, req_id) = send(
            &t,
            Method::POST,
            "/api/v2/organizations/default/members/me/workspaces",
            &tok,
            Some(json!({"template_id": tpl, "name": "ws1"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let ws = id_of(&body);
        let build1 = id_of(&body["latest_build"]);
        let job1 = id_of(&body["latest_build"]["job"]);
        let got = audit_rows(&t, &tok, "resource_type:workspace", 1).await;
        assert_eq!(
            fixed(&got[0], me),
            with(
                request_row(req_id, org, "workspace", ws, "ws1"),
                json!({
                    "action": "create",
                    "status_code": 201,
                    "diff": {
                        "id": change(json!(""), json!(ws.to_string())),
                        "owner_id": change(json!(""), json!(me.to_string())),
                        "template_id": change(json!(""), json!(tpl.to_string())),
                        "name": change(json!(""), json!("ws1")),
                        // A null old value is left out, as upstream's omitempty.
                        "ttl": {"new": 3_600_000_000_000_i64, "secret": false},
                    },
                    "description": "{user} created workspace {target}",
                    "resource_link": "/@admin/ws1",
                })
            )
        );
        wait_build(&owner.client, build1).await;
        // `deleted`: the workspace is gone (after the delete build), so
        // its rows say is_deleted and link nowhere, as upstream.
        let build_row =
            |build: Uuid, job: Uuid, action: &str, number: &str, diff: Value, deleted: bool| {
                json!({
                    "request_id": job,
                    "ip": "",
                    "user_agent": "",
                    "resource_type": "workspace_build",
                    "resource_id": build,
                    "resource_target": "",
                    "resource_icon": "",
                    "action": action,
                    "status_code": 200,
                    "diff": diff,
                    "additional_fields": {
                        "workspace_name": "ws1",
                        "build_number": number,
                        "build_reason": "initiator",
                        "workspace_owner": "admin",
                        "workspace_id": ws,
                    },
                    "description": format!("{{user}} {} workspace {{target}}", match action {
                        "start" => "started",
                        "stop" => "stopped",
                        _ => "deleted",
                    }),
                    "resource_link": if deleted {
                        String::new()
                    } else {
                        format!("/@admin/ws1/builds/{number}")
                    },
                    "is_deleted": deleted,
                    "organization_id": org,
                })
            };
        let got = audit_rows(&t, &tok, "resource_type:workspace_build", 1).await;
        assert_eq!(
            fixed(&got[0], me),
            build_row(
                build1,
                job1,
                "start",
                "1",
                json!({"template_version_id": change(json!(""), json!(v2.to_string()))}),
                false
            )
        );

        // Stop on the same version: a `stop` row with an empty diff.
        let (status, body, _) = send(
            &t,
            Method::POST,
            &format!("/api/v2/workspaces/{ws}/builds"),
            &tok,
            Some(json!({"transition": "stop"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let build2 = id_of(&body);
        let job2 = id_of(&body["job"]);
        // Queuing writes no row (the build is audited when its job ends).
        let b = wait_build(&owner.client, build2).await;
        assert_eq!(b.job.status, codersdk::ProvisionerJobStatus::Succeeded);
        let got = audit_rows(&t, &tok, "resource_type:workspace_build", 2).await;
        assert_eq!(
            fixed(&got[0], me),
            build_row(build2, job2, "stop", "2", json!({}), false)
        );

        // A refused build (bad transition) writes nothing.
        let (status, _, _) = send(
            &t,
            Method::POST,
            &format!("/api/v2/workspaces/{ws}/builds"),
            &tok,
            Some(json!({"transition": "explode"})),
        )
        .await;
        assert_eq!(status, 400);
        audit_rows(&t, &tok, "resource_type:workspace_build", 2).await;

        // Delete: a `delete` row; then the template can be deleted, its
        // row taking every tracked field to its zero value.
        let (status, body, _) = send(
            &t,
            Method::POST,
            &format!("/api/v2/workspaces/{ws}/builds"),
            &tok,
            Some(json!({"transition": "delete"})),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let build3 = id_of(&body);
        let job3 = id_of(&body["job"]);
        wait_build(&owner.client, build3).await;
        let got = audit_rows(&t, &tok, "resource_type:workspace_build", 3).await;
        assert_eq!(
            fixed(&got[0], me),
            build_row(build3, job3, "delete", "3", json!({}), true)
        );
        let (status, body, req_id) = send(
            &t,
            Method::DELETE,
            &format!("/api/v2/templates/{tpl}"),
            &tok,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let got = audit_rows(&t, &tok, "resource_type:template action:delete", 1).await;
        assert_eq!(
            fixed(&got[0], me),
            with(
                request_row(req_id, org, "template", tpl, "base"),
                json!({
                    "action": "delete",
                    "status_code": 200,
                    "diff": {
                        "id": change(json!(tpl.to_string()), json!("")),
                        "name": change(json!("base"), json!("")),
                        "display_name": change(json!("Base"), json!("")),
                        "provisioner": change(json!("echo"), json!("")),
                        "active_version_id": change(json!(v2.to_string()), json!("")),
                        "default_ttl": change(json!(3_600_000_000_000_i64), json!(0)),
                        "created_by": change(json!(me.to_string()), json!("")),
                        "allow_user_cancel_workspace_jobs": change(json!(true), json!(false)),
                    },
                    "description": "{user} deleted template {target}",
                    "resource_link": "",
                    "is_deleted": true,
                })
            )
        );
        audit_rows(&t, &tok, "", 11).await;
    }
);

both_licensed!(
    a_failed_build_writes_a_500_row_without_diff,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let tok = owner.token().to_owned();
        let tpl = create_template(
            &owner.client,
            "slow",
            &json!({"resources": [], "duration_ms": 600_000}),
            &[],
        )
        .await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let ws = create_workspace(&owner.client, "ws1", tpl.id).await;
        let build = ws.latest_build.id;
        wait_build_status(
            &owner.client,
            build,
            codersdk::ProvisionerJobStatus::Running,
            Duration::from_secs(60),
        )
        .await;
        let (status, body, _) = send(
            &t,
            Method::PATCH,
            &format!("/api/v2/workspacebuilds/{build}/cancel"),
            &tok,
            None,
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let b = wait_build(&owner.client, build).await;
        assert_eq!(b.job.status, codersdk::ProvisionerJobStatus::Canceled);
        // The workspace row, and the build's: status 500, no diff.
        audit_rows(&t, &tok, "", 2).await;
        let got = audit_rows(&t, &tok, "resource_type:workspace_build", 1).await;
        let row = fixed(&got[0], owner.user_id);
        assert_eq!(row["action"], json!("start"));
        assert_eq!(row["status_code"], json!(500));
        assert_eq!(row["diff"], json!({}));
        assert_eq!(row["resource_id"], json!(build));
        assert_eq!(row["request_id"], json!(b.job.id));
        assert_eq!(
            row["description"],
            json!("{user} unsuccessfully attempted to start workspace {target}")
        );
    }
);

both!(
    nothing_is_recorded_without_the_license,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let tpl = create_template(&owner.client, "base", &two_resources(), &[]).await;
        let ws = create_workspace(&owner.client, "ws1", tpl.id).await;
        wait_build(&owner.client, ws.latest_build.id).await;
        let stop = owner
            .client
            .create_workspace_build(
                ws.id,
                &codersdk::CreateWorkspaceBuildRequest {
                    transition: "stop".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        wait_build(&owner.client, stop.id).await;
        let (_, n) = t
            .store()
            .list_audit_logs(&Default::default())
            .await
            .unwrap();
        assert_eq!(n, 0);
    }
);

both_licensed!(
    concurrent_workspace_creates_write_one_row_per_workspace,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let tpl = create_template(&owner.client, "base", &json!({"resources": []}), &[]).await;
        owner.license(&ca, &[("audit_log", 1)]).await;
        let tok = owner.token().to_owned();
        // 20 writers, two per name: one of each pair is refused (409).
        let results = futures::future::join_all((0..20).map(|i| {
            let t = &t;
            let tok = tok.clone();
            async move {
                send(
                    t,
                    Method::POST,
                    "/api/v2/organizations/default/members/me/workspaces",
                    &tok,
                    Some(json!({"template_id": tpl.id, "name": format!("ws{}", i / 2)})),
                )
                .await
            }
        }))
        .await;
        let mut created: Vec<(Uuid, Uuid)> = results
            .iter()
            .filter(|(status, _, _)| *status == 201)
            .map(|(_, body, req)| (id_of(body), *req))
            .collect();
        assert_eq!(created.len(), 10);
        assert_eq!(results.iter().filter(|(s, _, _)| *s == 409).count(), 10);
        let got = audit_rows(&t, &tok, "resource_type:workspace", 10).await;
        let mut rows: Vec<(Uuid, Uuid)> = got
            .iter()
            .map(|r| {
                assert_eq!(r["action"], json!("create"));
                assert_eq!(r["status_code"], json!(201));
                (
                    Uuid::parse_str(r["resource_id"].as_str().unwrap()).unwrap(),
                    Uuid::parse_str(r["request_id"].as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        created.sort();
        rows.sort();
        assert_eq!(rows, created);
    }
);
