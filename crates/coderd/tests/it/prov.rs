//! Helpers for the provisioning tests: echo template archives, servers
//! with provisioning settings, waiting for jobs, and external daemons run
//! in the test process.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use codersdk::{
    Client, CreateTemplateRequest, CreateTemplateVersionRequest, CreateWorkspaceRequest,
    ProvisionerJobStatus, Template, TemplateVersion, Workspace, WorkspaceBuild,
};
use provisionerd::ws::{WsAuth, WsConfig};
use provisionerd::DaemonOptions;
use serde_json::{json, Value};
use tokio::sync::watch;
use uuid::Uuid;

use crate::common::*;

/// The PSK the provisioning test servers trust.
pub const PSK: &str = "test-provisioner-psk";

/// A tar archive holding `echo.json` with `config`.
pub fn echo_tar(config: &Value) -> Vec<u8> {
    let data = serde_json::to_vec(config).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    b.append_data(&mut h, "echo.json", data.as_slice()).unwrap();
    b.into_inner().unwrap()
}

/// `echo.json` with two resources costing 2 and 3 and one log line.
pub fn two_resources() -> Value {
    json!({
        "resources": [
            {"name": "dev", "type": "echo_instance", "daily_cost": 2},
            {"name": "disk", "type": "echo_volume", "daily_cost": 3}
        ],
        "stop_resources": [{"name": "disk", "type": "echo_volume", "daily_cost": 1}],
        "logs": ["hello from echo"]
    })
}

/// Polls `f` until it yields `Some`, failing after `within`.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until a version's import job is no longer active.
pub async fn wait_version(c: &Client, id: Uuid) -> TemplateVersion {
    eventually(
        "template version import",
        Duration::from_secs(60),
        || async {
            let v = c.template_version(id).await.unwrap();
            (!v.job.status.active()).then_some(v)
        },
    )
    .await
}

/// Waits until a build's job is no longer active.
pub async fn wait_build(c: &Client, id: Uuid) -> WorkspaceBuild {
    eventually("workspace build", Duration::from_secs(120), || async {
        let b = c.workspace_build(id).await.unwrap();
        (!b.job.status.active()).then_some(b)
    })
    .await
}

/// Waits until a build's job has this status.
pub async fn wait_build_status(
    c: &Client,
    id: Uuid,
    want: ProvisionerJobStatus,
    within: Duration,
) -> WorkspaceBuild {
    eventually(&format!("build status {want:?}"), within, || async {
        let b = c.workspace_build(id).await.unwrap();
        (b.job.status == want).then_some(b)
    })
    .await
}

/// Uploads an echo archive and creates a version (not waited for).
pub async fn create_version(c: &Client, config: &Value, tags: &[(&str, &str)]) -> TemplateVersion {
    let file = c.upload_file(echo_tar(config)).await.unwrap();
    c.create_template_version(
        "default",
        &CreateTemplateVersionRequest {
            storage_method: "file".into(),
            file_id: Some(file.id),
            provisioner: "echo".into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Imports an echo template named `name` and returns it.
pub async fn create_template(
    c: &Client,
    name: &str,
    config: &Value,
    tags: &[(&str, &str)],
) -> Template {
    let v = create_version(c, config, tags).await;
    let v = wait_version(c, v.id).await;
    assert_eq!(
        v.job.status,
        ProvisionerJobStatus::Succeeded,
        "import: {:?}",
        v.job.error
    );
    c.create_template(
        "default",
        &CreateTemplateRequest {
            name: name.into(),
            version_id: Some(v.id),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Creates a workspace for `me` from a template.
pub async fn create_workspace(c: &Client, name: &str, template: Uuid) -> Workspace {
    c.create_workspace(
        "default",
        "me",
        &CreateWorkspaceRequest {
            template_id: Some(template),
            name: name.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

/// Starts a server with provisioning settings: `daemons` in-process
/// daemons, job timeout `timeout`, PSK [`PSK`], and (when `licensed`) a
/// trusted test license key. `None` on PostgreSQL without a URL.
pub async fn start(
    db: Db,
    daemons: usize,
    timeout: Duration,
    licensed: bool,
) -> Option<(TestServer, Option<LicenseAuthority>)> {
    let ca = licensed.then(|| LicenseAuthority::generate("provisioning-test"));
    let t = TestServer::start_configured(db, |c, dir| {
        c.provisioner_daemons = daemons;
        c.provisioner_job_timeout = timeout;
        c.provisioner_daemon_psk = Some(PSK.into());
        if let Some(ca) = &ca {
            let path = ca.write_public_key(dir);
            c.license_public_keys = vec![ca.key_spec(&path)];
        }
    })
    .await?;
    Some((t, ca))
}

/// Uploads a license with `external_provisioner_daemons`.
pub async fn license_external_daemons(owner: &Client, ca: &LicenseAuthority) {
    let claims = LicenseAuthority::claims(&[("external_provisioner_daemons", 1)]);
    owner.add_license(&ca.sign(&claims)).await.unwrap();
}

/// An external daemon running in this process over the websocket.
pub struct ExternalDaemon {
    pub handle: tokio::task::JoinHandle<()>,
    pub shutdown: watch::Sender<bool>,
}

impl ExternalDaemon {
    /// Connects a PSK daemon with `tags` serving `echo`.
    pub fn start(url: &str, name: &str, tags: &[(&str, &str)]) -> ExternalDaemon {
        let cfg = WsConfig {
            url: url.to_owned(),
            organization: "default".into(),
            auth: WsAuth::Psk(PSK.into()),
            provisioners: vec!["echo".into()],
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
            name: Some(name.to_owned()),
        };
        let opts = DaemonOptions {
            name: name.to_owned(),
            provisioners: [(
                "echo".to_owned(),
                std::sync::Arc::new(provisionerd::echo::Echo)
                    as std::sync::Arc<dyn provisionerd::Provisioner>,
            )]
            .into(),
            heartbeat_interval: Duration::from_millis(200),
            poll_interval: Duration::from_millis(200),
            work_dir: None,
        };
        let (shutdown, rx) = watch::channel(false);
        let handle = tokio::spawn(async move {
            if let Err(e) = provisionerd::daemon::run_external(cfg, opts, rx).await {
                panic!("external daemon: {e}");
            }
        });
        ExternalDaemon { handle, shutdown }
    }

    /// Kills it: the task is dropped mid-whatever, its connection closes.
    pub fn kill(self) {
        self.handle.abort();
    }
}
