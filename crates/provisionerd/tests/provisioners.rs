//! The echo and terraform provisioners run against a fake server; the
//! terraform one with a stand-in `terraform` script (no network here).

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use provisionerd::proto::*;
use provisionerd::provisioner::{JobContext, JobKind, Outcome, ProvisionRequest, Provisioner};
use provisionerd::{ClientError, ProvisionerClient};
use tokio::sync::{mpsc, watch};

/// A server that accepts everything and records quota requests.
#[derive(Default)]
struct FakeServer {
    quota: Mutex<Vec<i32>>,
    budget: i32,
}

#[async_trait]
impl ProvisionerClient for FakeServer {
    async fn acquire_job(&self) -> Result<AcquiredJob, ClientError> {
        Ok(AcquiredJob::default())
    }
    async fn update_job(&self, _: UpdateJobRequest) -> Result<UpdateJobResponse, ClientError> {
        Ok(UpdateJobResponse::default())
    }
    async fn fail_job(&self, _: FailedJob) -> Result<(), ClientError> {
        Ok(())
    }
    async fn complete_job(&self, _: CompletedJob) -> Result<(), ClientError> {
        Ok(())
    }
    async fn commit_quota(
        &self,
        req: CommitQuotaRequest,
    ) -> Result<CommitQuotaResponse, ClientError> {
        self.quota.lock().unwrap().push(req.daily_cost);
        Ok(CommitQuotaResponse {
            ok: self.budget < 0 || req.daily_cost <= self.budget,
            credits_consumed: 0,
            budget: self.budget,
        })
    }
}

struct Run {
    ctx: JobContext,
    logs: mpsc::UnboundedReceiver<Log>,
    _cancel: watch::Sender<bool>,
}

fn run_ctx(server: Arc<FakeServer>) -> Run {
    let (tx, logs) = mpsc::unbounded_channel();
    let (cancel, rx) = watch::channel(false);
    Run {
        ctx: JobContext::new("job".into(), tx, rx, server),
        logs,
        _cancel: cancel,
    }
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Log>) -> Vec<Log> {
    let mut out = Vec::new();
    while let Ok(l) = rx.try_recv() {
        out.push(l);
    }
    out
}

const STANDIN: &str = r#"#!/bin/sh
# A stand-in for terraform: plans and applies one null_resource costing 4
# credits a day on start, nothing on stop.
case "$1" in
  init) echo "Terraform has been successfully initialized!" ;;
  plan)
    for a in "$@"; do case "$a" in -out=*) echo "$CODER_WORKSPACE_TRANSITION" > "${a#-out=}" ;; esac; done
    echo "Plan: 1 to add, 0 to change, 0 to destroy." ;;
  apply)
    echo "null_resource.dev: Creating..."
    echo "{\"version\":4,\"transition\":\"$CODER_WORKSPACE_TRANSITION\"}" > terraform.tfstate
    echo "Apply complete! Resources: 1 added." ;;
  show)
    if [ -n "$4" ]; then
      if [ "$(cat "$4")" = "start" ]; then
        echo '{"planned_values":{"root_module":{"resources":[
          {"address":"null_resource.dev[0]","mode":"managed","type":"null_resource","name":"dev","values":{}},
          {"address":"coder_metadata.dev[0]","mode":"managed","type":"coder_metadata","name":"dev","values":{"daily_cost":4}}]}},
         "configuration":{"root_module":{"resources":[
          {"address":"coder_metadata.dev","expressions":{"resource_id":{"references":["null_resource.dev[0].id","null_resource.dev"]}}}]}}}'
      else
        echo '{"planned_values":{"root_module":{}}}'
      fi
    else
      echo '{"values":{"root_module":{"resources":[
        {"address":"null_resource.dev[0]","mode":"managed","type":"null_resource","name":"dev","values":{"id":"123"}},
        {"address":"coder_metadata.dev[0]","mode":"managed","type":"coder_metadata","name":"dev",
         "values":{"resource_id":"123","daily_cost":4,"item":[{"key":"region","value":"eu"}]}}]}}}'
    fi ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
"#;

/// Installs `script` as an executable `terraform` in `dir`.
///
/// The file is written by a child `sh`, never opened for write in this
/// process. Writing it here (`std::fs::write`) raced: tests run on parallel
/// threads, and a thread that spawns a process forks while this one still
/// holds the file's write descriptor; the forked child keeps a copy until it
/// calls exec (close-on-exec), and executing a file some process has open
/// for write fails with `Text file busy` (ETXTBSY, os error 26). Closing,
/// fsyncing or renaming first does not help: the child's copy refers to the
/// same inode. A descriptor opened in our own child exists only in that
/// child (and its `cat`), which have exited when `wait` returns, so no
/// process can hold the file open for write when it is run.
fn standin(dir: &Path, script: &str) -> provisionerd::terraform::Terraform {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let bin = dir.join("terraform");
    let mut sh = Command::new("sh")
        .args(["-c", r#"cat >"$1" && chmod 755 "$1""#, "sh"])
        .arg(&bin)
        .stdin(Stdio::piped())
        .spawn()
        .expect("run sh");
    // The pipe's write end is dropped (closed) before waiting, ending `cat`'s input.
    sh.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(sh.wait().unwrap().success(), "install {}", bin.display());
    provisionerd::terraform::Terraform { binary: bin }
}

#[tokio::test]
async fn terraform_import_and_build_with_a_standin() {
    let bin_dir = tempfile::tempdir().unwrap();
    let tf = standin(bin_dir.path(), STANDIN);
    let server = Arc::new(FakeServer {
        budget: -1,
        ..Default::default()
    });

    let work = tempfile::tempdir().unwrap();
    let mut r = run_ctx(server.clone());
    let out = tf
        .provision(
            ProvisionRequest {
                dir: work.path().into(),
                kind: JobKind::Import,
                metadata: Metadata::default(),
                state: vec![],
            },
            &r.ctx,
        )
        .await
        .unwrap();
    let Outcome::Import {
        start_resources,
        stop_resources,
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(start_resources.len(), 1);
    assert_eq!(start_resources[0].name, "dev");
    assert_eq!(start_resources[0].daily_cost, 4);
    assert!(stop_resources.is_empty());
    let logs = drain(&mut r.logs);
    assert!(logs
        .iter()
        .any(|l| l.output.contains("successfully initialized")));

    let work = tempfile::tempdir().unwrap();
    let r = run_ctx(server.clone());
    let meta = Metadata {
        workspace_transition: WorkspaceTransition::Start,
        ..Default::default()
    };
    let out = tf
        .provision(
            ProvisionRequest {
                dir: work.path().into(),
                kind: JobKind::Build(WorkspaceTransition::Start),
                metadata: meta,
                state: b"old".to_vec(),
            },
            &r.ctx,
        )
        .await
        .unwrap();
    let Outcome::Build { state, resources } = out else {
        panic!("{out:?}")
    };
    assert!(String::from_utf8_lossy(&state).contains("\"transition\":\"start\""));
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].daily_cost, 4);
    assert_eq!(resources[0].metadata[0].key, "region");
    assert_eq!(*server.quota.lock().unwrap(), vec![4]);
}

#[tokio::test]
async fn terraform_failure_and_quota_refusal() {
    let bin_dir = tempfile::tempdir().unwrap();
    let failing = standin(
        bin_dir.path(),
        "#!/bin/sh\necho 'Error: provider not found' >&2\nexit 1\n",
    );
    let r = run_ctx(Arc::new(FakeServer::default()));
    let work = tempfile::tempdir().unwrap();
    let err = failing
        .provision(
            ProvisionRequest {
                dir: work.path().into(),
                kind: JobKind::Import,
                metadata: Metadata::default(),
                state: vec![],
            },
            &r.ctx,
        )
        .await
        .unwrap_err();
    assert!(
        err.message.contains("terraform init failed"),
        "{}",
        err.message
    );
    assert!(
        err.message.contains("Error: provider not found"),
        "{}",
        err.message
    );

    let tf = standin(bin_dir.path(), STANDIN);
    let server = Arc::new(FakeServer {
        budget: 3,
        ..Default::default()
    });
    let mut r = run_ctx(server);
    let err = tf
        .provision(
            ProvisionRequest {
                dir: work.path().into(),
                kind: JobKind::Build(WorkspaceTransition::Start),
                metadata: Metadata::default(),
                state: vec![],
            },
            &r.ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(err.message, "insufficient quota");
    let logs = drain(&mut r.logs);
    assert!(logs
        .iter()
        .any(|l| l.stage == "Commit quota" && l.output == "Build cost — 4"));
    assert!(logs
        .iter()
        .any(|l| l.output == "This build would exceed your quota. Failing."));
}

#[tokio::test]
async fn echo_reads_echo_json() {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(
        work.path().join("echo.json"),
        r#"{"resources":[{"name":"a","type":"t","daily_cost":2},{"name":"b","type":"t","daily_cost":3}],"logs":["hi"]}"#,
    )
    .unwrap();
    let server = Arc::new(FakeServer {
        budget: -1,
        ..Default::default()
    });
    let mut r = run_ctx(server.clone());
    let out = provisionerd::echo::Echo
        .provision(
            ProvisionRequest {
                dir: work.path().into(),
                kind: JobKind::Build(WorkspaceTransition::Start),
                metadata: Metadata::default(),
                state: vec![],
            },
            &r.ctx,
        )
        .await
        .unwrap();
    let Outcome::Build { resources, .. } = out else {
        panic!()
    };
    assert_eq!(resources.iter().map(|r| r.daily_cost).sum::<i32>(), 5);
    assert_eq!(*server.quota.lock().unwrap(), vec![5]);
    assert!(drain(&mut r.logs)
        .iter()
        .any(|l| l.output == "hi" && l.source == LogSource::Provisioner));
    // Missing echo.json: a clear error.
    let empty = tempfile::tempdir().unwrap();
    let err = provisionerd::echo::Echo
        .provision(
            ProvisionRequest {
                dir: empty.path().into(),
                kind: JobKind::Import,
                metadata: Metadata::default(),
                state: vec![],
            },
            &r.ctx,
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.message,
        "echo.json not found at the root of the template archive"
    );
}
