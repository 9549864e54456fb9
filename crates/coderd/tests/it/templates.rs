//! Files, template versions and templates, imported by the in-process
//! daemons of a default server.

use codersdk::{CreateTemplateRequest, CreateTemplateVersionRequest, ProvisionerJobStatus};
use reqwest::Method;
use serde_json::json;

use crate::common::*;
use crate::prov::*;

both!(files_upload_dedupe_and_read, |t: TestServer| async move {
    let owner = t.owner().await;
    let tar = echo_tar(&two_resources());
    let http = reqwest::Client::new();
    let post = |body: Vec<u8>, ct: &'static str, token: String| {
        let http = http.clone();
        let url = format!("{}/api/v2/files", t.url);
        async move {
            Resp::from(
                http.post(url)
                    .header("Content-Type", ct)
                    .header("Coder-Session-Token", token)
                    .body(body)
                    .send()
                    .await
                    .unwrap(),
            )
            .await
        }
    };
    let first = post(tar.clone(), "application/x-tar", owner.token().into()).await;
    first.expect(201);
    let id = first.json["hash"].as_str().unwrap().to_owned();
    let again = post(tar.clone(), "application/x-tar", owner.token().into()).await;
    again.expect(200);
    assert_eq!(again.json["hash"], id.as_str());
    let wrong = post(tar.clone(), "application/zip", owner.token().into()).await;
    wrong.expect(400);
    assert_eq!(
        wrong.message(),
        "Unsupported content type header \"application/zip\"."
    );
    // The owner reads it back byte for byte; a member may not upload or read.
    let got = http
        .get(format!("{}/api/v2/files/{id}", t.url))
        .header("Coder-Session-Token", owner.token())
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "application/x-tar");
    assert_eq!(got.bytes().await.unwrap().to_vec(), tar);
    let (member, _) = t.member(&owner.client, "alice").await;
    post(
        tar.clone(),
        "application/x-tar",
        member.token().unwrap().into(),
    )
    .await
    .expect(403);
    t.raw(
        Method::GET,
        &format!("/api/v2/files/{id}"),
        member.token(),
        None,
    )
    .await
    .expect(404);
    t.raw(Method::GET, "/api/v2/files/nope", Some(owner.token()), None)
        .await
        .expect(400);
});

both!(oversized_upload_is_413, |t: TestServer| async move {
    let owner = t.owner().await;
    let max = t.config.max_file_size;
    let _ = max; // the default (100 MiB); a body one byte over is refused
    let res = reqwest::Client::new()
        .post(format!("{}/api/v2/files", t.url))
        .header("Content-Type", "application/x-tar")
        .header("Coder-Session-Token", owner.token())
        .body(vec![0u8; t.config.max_file_size + 1])
        .send()
        .await
        .unwrap();
    let r = Resp::from(res).await;
    r.expect(413);
});

both!(
    echo_template_and_workspace_cost_five,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let c = &owner.client;
        let v = create_version(c, &two_resources(), &[]).await;
        assert_eq!(
            v.job.tags.get("scope").map(String::as_str),
            Some("organization")
        );
        let v = wait_version(c, v.id).await;
        assert_eq!(
            v.job.status,
            ProvisionerJobStatus::Succeeded,
            "{:?}",
            v.job.error
        );
        let resources = c.template_version_resources(v.id).await.unwrap();
        assert_eq!(
            resources.len(),
            3,
            "two start resources and one stop resource"
        );
        let logs = c.template_version_logs(v.id, 0).await.unwrap();
        assert!(logs
            .iter()
            .any(|l| l.output == "hello from echo" && l.log_source == "provisioner"));
        let tpl = c
            .create_template(
                "default",
                &CreateTemplateRequest {
                    name: "echo".into(),
                    version_id: Some(v.id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(tpl.active_version_id, v.id);
        assert_eq!(tpl.provisioner, "echo");
        assert_eq!(c.templates("default").await.unwrap().len(), 1);
        assert_eq!(
            c.template_by_name("default", "echo").await.unwrap().id,
            tpl.id
        );

        let ws = create_workspace(c, "ws1", tpl.id).await;
        assert_eq!(ws.latest_build.build_number, 1);
        // Follow the logs as the build runs: the stream ends when it finishes.
        let mut stream = c
            .workspace_build_logs_follow(ws.latest_build.id, 0)
            .await
            .unwrap();
        let mut followed = Vec::new();
        while let Some(l) = stream.next().await {
            followed.push(l.unwrap().output);
        }
        assert!(
            followed.iter().any(|o| o == "hello from echo"),
            "{followed:?}"
        );
        let b = wait_build(c, ws.latest_build.id).await;
        assert_eq!(
            b.job.status,
            ProvisionerJobStatus::Succeeded,
            "{:?}",
            b.job.error
        );
        assert_eq!(b.daily_cost, 5);
        assert_eq!(b.status, codersdk::WorkspaceStatus::Running);
        assert_eq!(b.resources.len(), 2);
        let ws = c.workspace(ws.id).await.unwrap();
        assert_eq!(ws.latest_build.daily_cost, 5);
        assert!(!ws.outdated);
        assert_eq!(c.workspaces("owner:me").await.unwrap().count, 1);
        assert_eq!(
            c.workspace_by_owner_and_name("me", "ws1").await.unwrap().id,
            ws.id
        );

        // Stop: the stop resources; then delete: the workspace is gone.
        let stop = c
            .create_workspace_build(
                ws.id,
                &codersdk::CreateWorkspaceBuildRequest {
                    transition: "stop".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(stop.build_number, 2);
        let stop = wait_build(c, stop.id).await;
        assert_eq!(stop.status, codersdk::WorkspaceStatus::Stopped);
        assert_eq!(stop.daily_cost, 1);
        let del = c
            .create_workspace_build(
                ws.id,
                &codersdk::CreateWorkspaceBuildRequest {
                    transition: "delete".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let del = wait_build(c, del.id).await;
        assert_eq!(del.status, codersdk::WorkspaceStatus::Deleted);
        assert_eq!(del.daily_cost, 0);
        let gone = t
            .raw(
                Method::GET,
                &format!("/api/v2/workspaces/{}", ws.id),
                Some(owner.token()),
                None,
            )
            .await;
        gone.expect(410);
        t.raw(
            Method::GET,
            &format!("/api/v2/workspaces/{}?include_deleted=true", ws.id),
            Some(owner.token()),
            None,
        )
        .await
        .expect(200);
        // With no workspace left the template can be deleted.
        t.raw(
            Method::DELETE,
            &format!("/api/v2/templates/{}", tpl.id),
            Some(owner.token()),
            None,
        )
        .await
        .expect(200);
    }
);

both!(
    refused_template_requests_write_nothing,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let c = &owner.client;
        let tok = Some(owner.token());
        let file = c.upload_file(echo_tar(&two_resources())).await.unwrap();
        let path = "/api/v2/organizations/default/templateversions";
        for (body, status) in [
            (
                json!({"storage_method": "file", "file_id": file.id, "provisioner": "docker"}),
                400,
            ),
            (
                json!({"storage_method": "s3", "file_id": file.id, "provisioner": "echo"}),
                400,
            ),
            (
                json!({"storage_method": "file", "provisioner": "echo"}),
                400,
            ),
            (
                json!({"storage_method": "file", "file_id": uuid::Uuid::new_v4(), "provisioner": "echo"}),
                404,
            ),
            (
                json!({"storage_method": "file", "file_id": "nope", "provisioner": "echo"}),
                400,
            ),
            (
                json!({"storage_method": "file", "file_id": file.id, "provisioner": "echo", "name": "bad name"}),
                400,
            ),
            (
                json!({"storage_method": "file", "file_id": file.id, "provisioner": "echo", "template_id": uuid::Uuid::new_v4()}),
                404,
            ),
        ] {
            let r = t
                .raw(Method::POST, path, tok, Some(&body.to_string()))
                .await;
            r.expect(status);
        }
        let (member, _) = t.member(c, "bob").await;
        let r = t
            .raw(
                Method::POST,
                path,
                member.token(),
                Some(
                    &json!({"storage_method": "file", "file_id": file.id, "provisioner": "echo"})
                        .to_string(),
                ),
            )
            .await;
        r.expect(403);
        let v = wait_version(c, create_version(c, &two_resources(), &[]).await.id).await;
        // Template validation.
        for (body, status) in [
            (json!({"name": "", "template_version_id": v.id}), 400),
            (
                json!({"name": "bad name", "template_version_id": v.id}),
                400,
            ),
            (json!({"name": "ok"}), 400),
            (
                json!({"name": "ok", "template_version_id": uuid::Uuid::new_v4()}),
                404,
            ),
        ] {
            t.raw(
                Method::POST,
                "/api/v2/organizations/default/templates",
                tok,
                Some(&body.to_string()),
            )
            .await
            .expect(status);
        }
        assert!(c.templates("default").await.unwrap().is_empty());
        c.create_template(
            "default",
            &CreateTemplateRequest {
                name: "one".into(),
                version_id: Some(v.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let v2 = wait_version(c, create_version(c, &two_resources(), &[]).await.id).await;
        let dup = t
            .raw(
                Method::POST,
                "/api/v2/organizations/default/templates",
                tok,
                Some(&json!({"name": "ONE", "template_version_id": v2.id}).to_string()),
            )
            .await;
        dup.expect(409);
        assert_eq!(dup.message(), "Template with name \"ONE\" already exists.");
        assert_eq!(c.templates("default").await.unwrap().len(), 1);
    }
);

both!(
    failed_import_cannot_become_a_template,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let c = &owner.client;
        let v = create_version(c, &json!({"error": "boom: the template is broken"}), &[]).await;
        let v = wait_version(c, v.id).await;
        assert_eq!(v.job.status, ProvisionerJobStatus::Failed);
        assert_eq!(v.job.error, "boom: the template is broken");
        let no_file = wait_version(c, create_version(c, &json!(null), &[]).await.id).await;
        assert_eq!(no_file.job.status, ProvisionerJobStatus::Failed);
        assert!(
            no_file.job.error.contains("echo.json"),
            "{}",
            no_file.job.error
        );
        let r = t
            .raw(
                Method::POST,
                "/api/v2/organizations/default/templates",
                Some(owner.token()),
                Some(&json!({"name": "broken", "template_version_id": v.id}).to_string()),
            )
            .await;
        r.expect(400);
        assert_eq!(r.message(), "The template version failed to import.");
    }
);

both!(
    new_version_is_promoted_and_workspace_outdated,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let c = &owner.client;
        let tpl = create_template(c, "promote", &two_resources(), &[]).await;
        let ws = create_workspace(c, "w", tpl.id).await;
        wait_build(c, ws.latest_build.id).await;
        let file = c
            .upload_file(echo_tar(
                &json!({"resources": [{"name": "big", "type": "x", "daily_cost": 9}]}),
            ))
            .await
            .unwrap();
        let v2 = c
            .create_template_version(
                "default",
                &CreateTemplateVersionRequest {
                    template_id: Some(tpl.id),
                    storage_method: "file".into(),
                    file_id: Some(file.id),
                    provisioner: "echo".into(),
                    name: "v2".into(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(v2.template_id, Some(tpl.id));
        wait_version(c, v2.id).await;
        c.update_active_template_version(tpl.id, v2.id)
            .await
            .unwrap();
        assert!(c.workspace(ws.id).await.unwrap().outdated);
        let b = c
            .create_workspace_build(
                ws.id,
                &codersdk::CreateWorkspaceBuildRequest {
                    transition: "start".into(),
                    template_version_id: Some(v2.id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(wait_build(c, b.id).await.daily_cost, 9);
        assert!(!c.workspace(ws.id).await.unwrap().outdated);
        // A version of another template does not belong here.
        let other = create_template(c, "other", &two_resources(), &[]).await;
        let r = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/templates/{}/versions", tpl.id),
                Some(owner.token()),
                Some(&json!({"id": other.active_version_id}).to_string()),
            )
            .await;
        r.expect(400);
        // Metadata: unchanged is 304, a change is 200.
        let same = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/templates/{}", tpl.id),
                Some(owner.token()),
                Some(r#"{"name":"promote"}"#),
            )
            .await;
        assert_eq!(same.status, 304);
        let changed = t
            .raw(
                Method::PATCH,
                &format!("/api/v2/templates/{}", tpl.id),
                Some(owner.token()),
                Some(r#"{"description":"hi"}"#),
            )
            .await;
        changed.expect(200);
        assert_eq!(changed.json["description"], "hi");
        // A template with a workspace cannot be deleted.
        let del = t
            .raw(
                Method::DELETE,
                &format!("/api/v2/templates/{}", tpl.id),
                Some(owner.token()),
                None,
            )
            .await;
        del.expect(412);
    }
);
