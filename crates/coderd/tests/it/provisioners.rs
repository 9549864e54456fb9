//! Provisioner daemons: external daemons over the websocket (tags, the
//! daemon list, a daemon killed or gone silent mid-build), the serve
//! endpoint's validation, and atomic job acquisition on both backends.

use std::collections::BTreeSet;
use std::time::Duration;

use codersdk::ProvisionerJobStatus;
use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;
use crate::prov::*;

/// Declares a test run once per backend with `|db: Db| async move {..}`.
macro_rules! both_db {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                ($body)(crate::common::Db::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                ($body)(crate::common::Db::Postgres).await;
            }
        }
    };
}

fn ws_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.replacen("http://", "ws://", 1))
}

both_db!(
    external_daemon_with_tag_builds_tagged_version,
    |db: Db| async move {
        let Some((t, ca)) = start(db, 0, Duration::from_secs(60), true).await else {
            return;
        };
        let owner = t.owner().await;
        let c = &owner.client;
        // Unlicensed: the gate answers first.
        let gated = t
            .raw(
                Method::GET,
                "/api/v2/organizations/default/provisionerdaemons",
                Some(owner.token()),
                None,
            )
            .await;
        gated.expect(403);
        assert_eq!(
            gated.message(),
            "External provisioner daemons is an Enterprise feature. Contact sales!"
        );
        license_external_daemons(c, ca.as_ref().unwrap()).await;
        let v = create_version(c, &two_resources(), &[("pool", "gpu")]).await;
        assert_eq!(v.job.status, ProvisionerJobStatus::Pending);
        assert_eq!(v.job.queue_position, 1);
        // A daemon without the tag does not take it.
        let plain = ExternalDaemon::start(&t.url, "plain-daemon", &[]);
        let tagged_job = c.template_version(v.id).await.unwrap();
        assert_eq!(tagged_job.job.status, ProvisionerJobStatus::Pending);
        let daemon = ExternalDaemon::start(&t.url, "gpu-daemon", &[("pool", "gpu")]);
        let v = wait_version(c, v.id).await;
        assert_eq!(
            v.job.status,
            ProvisionerJobStatus::Succeeded,
            "{:?}",
            v.job.error
        );
        let daemons = c.provisioner_daemons("default").await.unwrap();
        let gpu = daemons
            .iter()
            .find(|d| d.name == "gpu-daemon")
            .expect("listed");
        assert_eq!(gpu.tags.get("pool").map(String::as_str), Some("gpu"));
        assert_eq!(
            gpu.tags.get("scope").map(String::as_str),
            Some("organization")
        );
        assert_eq!(gpu.provisioners, vec!["echo".to_string()]);
        assert_eq!(v.job.worker_id, Some(gpu.id));
        // The seed's wire shape: updated_at is {"time", "valid"}.
        let raw = t
            .raw(
                Method::GET,
                "/api/v2/organizations/default/provisionerdaemons",
                Some(owner.token()),
                None,
            )
            .await;
        raw.expect(200);
        let row = raw
            .json
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "gpu-daemon")
            .unwrap()
            .clone();
        assert_eq!(row["updated_at"]["valid"], true);
        assert!(row["updated_at"]["time"].is_string());
        // Builds of the tagged template run on the tagged daemon too.
        let tpl = c
            .create_template(
                "default",
                &codersdk::CreateTemplateRequest {
                    name: "gpu".into(),
                    version_id: Some(v.id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let ws = create_workspace(c, "gpu-ws", tpl.id).await;
        let b = wait_build(c, ws.latest_build.id).await;
        assert_eq!(b.daily_cost, 5);
        assert_eq!(b.job.worker_id, Some(gpu.id));
        daemon.kill();
        plain.kill();
    }
);

both_db!(
    killed_daemon_fails_job_and_next_daemon_picks_up,
    |db: Db| async move {
        let Some((t, ca)) = start(db, 0, Duration::from_secs(2), true).await else {
            return;
        };
        let owner = t.owner().await;
        let c = &owner.client;
        license_external_daemons(c, ca.as_ref().unwrap()).await;
        let first = ExternalDaemon::start(&t.url, "first", &[]);
        let tpl = create_template(
        c,
        "slow",
        &json!({"resources": [{"name": "a", "type": "t", "daily_cost": 1}], "duration_ms": 600000}),
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
        first.kill();
        let b = wait_build_status(
            c,
            ws.latest_build.id,
            ProvisionerJobStatus::Failed,
            Duration::from_secs(6),
        )
        .await;
        assert!(
            b.job.error.contains("provisioner daemon"),
            "{}",
            b.job.error
        );
        let logs = c.workspace_build_logs(b.id, 0).await.unwrap();
        assert!(logs
            .iter()
            .any(|l| l.stage == "Cleaning Up" && l.log_level == "error"));
        // A daemon started again takes the next job.
        let second = ExternalDaemon::start(&t.url, "second", &[]);
        let v = create_version(c, &two_resources(), &[]).await;
        let v = wait_version(c, v.id).await;
        assert_eq!(
            v.job.status,
            ProvisionerJobStatus::Succeeded,
            "{:?}",
            v.job.error
        );
        let second_id = c
            .provisioner_daemons("default")
            .await
            .unwrap()
            .into_iter()
            .find(|d| d.name == "second")
            .unwrap()
            .id;
        assert_eq!(v.job.worker_id, Some(second_id));
        second.kill();
    }
);

both_db!(
    silent_daemon_job_is_reaped_after_timeout,
    |db: Db| async move {
        let Some((t, ca)) = start(db, 0, Duration::from_secs(1), true).await else {
            return;
        };
        let owner = t.owner().await;
        let c = &owner.client;
        license_external_daemons(c, ca.as_ref().unwrap()).await;
        let v = create_version(c, &two_resources(), &[]).await;
        // A daemon that takes the job and then says nothing, connection open.
        let mut req = ws_url(
            &t.url,
            "/api/v2/organizations/default/provisionerdaemons/serve?provisioner=echo",
        )
        .into_client_request()
        .unwrap();
        req.headers_mut()
            .insert("Coder-Provisioner-Daemon-PSK", PSK.parse().unwrap());
        let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
        ws.send(Message::Text(
            r#"{"id":1,"method":"AcquireJob","params":{}}"#.into(),
        ))
        .await
        .unwrap();
        let reply = loop {
            if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
                break serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap();
            }
        };
        assert_eq!(reply["id"], 1);
        assert_eq!(reply["result"]["job_id"], v.job.id.to_string());
        assert!(reply["result"]["template_import"].is_object());
        let v = wait_version(c, v.id).await;
        assert_eq!(v.job.status, ProvisionerJobStatus::Failed);
        assert!(v.job.error.starts_with("Job timed out"), "{}", v.job.error);
        // Its late update is refused.
        ws.send(Message::Text(
            format!(
                r#"{{"id":2,"method":"UpdateJob","params":{{"job_id":"{}"}}}}"#,
                v.job.id
            )
            .into(),
        ))
        .await
        .unwrap();
        let reply = loop {
            if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
                break serde_json::from_str::<serde_json::Value>(t.as_str()).unwrap();
            }
        };
        assert_eq!(reply["error"], "job already completed");
    }
);

both_db!(serve_validation_and_scopes, |db: Db| async move {
    let Some((t, ca)) = start(db, 0, Duration::from_secs(60), true).await else {
        return;
    };
    let owner = t.owner().await;
    let serve = "/api/v2/organizations/default/provisionerdaemons/serve";
    // Unlicensed: 403 before authentication.
    let r = t.raw(Method::GET, serve, None, None).await;
    r.expect(403);
    license_external_daemons(&owner.client, ca.as_ref().unwrap()).await;
    let r = t
        .raw(
            Method::GET,
            &format!("{serve}?provisioner=echo"),
            None,
            None,
        )
        .await;
    r.expect(401);
    for (q, msg) in [
        ("", "The provisioner query parameter must be specified."),
        ("?provisioner=docker", "Unknown provisioner type \"docker\""),
        (
            "?provisioner=echo&tag=foo",
            "Invalid format for tag \"foo\". Key and value must be separated with =.",
        ),
    ] {
        let r = t
            .raw(
                Method::GET,
                &format!("{serve}{q}"),
                Some(owner.token()),
                None,
            )
            .await;
        r.expect(400);
        assert_eq!(r.message(), msg);
    }
    let (member, member_id) = t.member(&owner.client, "alice").await;
    let r = t
        .raw(
            Method::GET,
            &format!("{serve}?provisioner=echo&tag=scope=organization"),
            member.token(),
            None,
        )
        .await;
    r.expect(403);
    assert_eq!(
        r.message(),
        "You aren't allowed to create provisioner daemons for the organization."
    );
    // Not a websocket: 400, and no daemon registered.
    t.raw(
        Method::GET,
        &format!("{serve}?provisioner=echo&tag=scope=user"),
        member.token(),
        None,
    )
    .await
    .expect(400);
    assert!(owner
        .client
        .provisioner_daemons("default")
        .await
        .unwrap()
        .is_empty());
    // A wrong PSK is 401.
    let mut req = ws_url(&t.url, &format!("{serve}?provisioner=echo"))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Coder-Provisioner-Daemon-PSK", "wrong".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    // A member may serve scope=user: tagged with their id.
    let mut req = ws_url(
        &t.url,
        &format!("{serve}?provisioner=echo&tag=scope=user&name=alices"),
    )
    .into_client_request()
    .unwrap();
    req.headers_mut().insert(
        "Coder-Session-Token",
        member.token().unwrap().parse().unwrap(),
    );
    let (ws, res) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(res.status(), 101);
    let listed = member.provisioner_daemons("default").await.unwrap();
    let d = listed.iter().find(|d| d.name == "alices").unwrap();
    assert_eq!(d.tags.get("scope").map(String::as_str), Some("user"));
    assert_eq!(d.tags.get("owner"), Some(&member_id.to_string()));
    drop(ws);
});

both_db!(acquisition_is_atomic, |db: Db| async move {
    let Some((t, _)) = start(db, 0, Duration::from_secs(60), false).await else {
        return;
    };
    let owner = t.owner().await;
    let mut ids = BTreeSet::new();
    for _ in 0..20 {
        ids.insert(
            create_version(&owner.client, &two_resources(), &[])
                .await
                .job
                .id,
        );
    }
    let store = t.store().clone();
    let tags: std::collections::BTreeMap<String, String> =
        [("scope".to_string(), "organization".to_string())].into();
    let workers = (0..8).map(|_| {
        let store = store.clone();
        let tags = tags.clone();
        tokio::spawn(async move {
            let me = uuid::Uuid::new_v4();
            let mut got = Vec::new();
            while let Some(j) = store
                .acquire_job(me, None, &["echo".to_string()], &tags, store::now())
                .await
                .unwrap()
            {
                assert_eq!(j.worker_id, Some(me));
                got.push(j.id);
            }
            got
        })
    });
    let mut all = Vec::new();
    for w in futures::future::join_all(workers).await {
        all.extend(w.unwrap());
    }
    assert_eq!(all.len(), 20, "every job handed out once");
    assert_eq!(all.iter().copied().collect::<BTreeSet<_>>(), ids);
    // Tags: a job needing pool=gpu is not handed to a daemon without it.
    let gpu = create_version(&owner.client, &two_resources(), &[("pool", "gpu")]).await;
    assert!(store
        .acquire_job(
            uuid::Uuid::new_v4(),
            None,
            &["echo".to_string()],
            &tags,
            store::now()
        )
        .await
        .unwrap()
        .is_none());
    assert!(store
        .acquire_job(
            uuid::Uuid::new_v4(),
            None,
            &["terraform".to_string()],
            &tags,
            store::now()
        )
        .await
        .unwrap()
        .is_none());
    let mut gpu_tags = tags.clone();
    gpu_tags.insert("pool".into(), "gpu".into());
    gpu_tags.insert("extra".into(), "fine".into());
    let j = store
        .acquire_job(
            uuid::Uuid::new_v4(),
            None,
            &["echo".to_string()],
            &gpu_tags,
            store::now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(j.id, gpu.job.id);
});
