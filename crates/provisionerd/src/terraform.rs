//! The `terraform` provisioner: runs `terraform` (or OpenTofu's `tofu`) in
//! a work directory made from the template archive.
//!
//! - Import: `init`, then `plan` for a start and for a stop transition;
//!   the resources come from each plan's `terraform show -json <plan>`.
//! - Build: the previous state is written to `terraform.tfstate`; `init`;
//!   `plan -out` (`-destroy` for delete); for start/stop the planned
//!   resources' `daily_cost` goes to CommitQuota; `apply` the plan; the new
//!   state is `terraform.tfstate` and the resources come from `terraform
//!   show -json`.
//! - Output of every command is streamed as job logs (stdout `info`,
//!   stderr `error`), except the JSON of `show`.
//! - Environment: the `CODER_*` variables Coder's Terraform provider reads
//!   (`CODER_AGENT_URL`, `CODER_WORKSPACE_TRANSITION`,
//!   `CODER_WORKSPACE_NAME`, `CODER_WORKSPACE_OWNER`,
//!   `CODER_WORKSPACE_OWNER_EMAIL`, `CODER_WORKSPACE_ID`,
//!   `CODER_WORKSPACE_OWNER_ID`, `CODER_WORKSPACE_TEMPLATE_NAME`,
//!   `CODER_WORKSPACE_TEMPLATE_VERSION`), plus `TF_IN_AUTOMATION=1`.
//!
//! Resources as Coder's templates declare them: every managed resource
//! whose type does not start with `coder_` is a workspace resource; a
//! `coder_metadata` resource whose `resource_id` is that resource's `id`
//! (or, in a plan, whose `resource_id` expression references it) gives it
//! `daily_cost`, `hide`, `icon` and `item` metadata.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use async_trait::async_trait;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::echo::total_cost;
use crate::proto::{LogLevel, Metadata, Resource, ResourceMetadata, WorkspaceTransition};
use crate::provisioner::{
    JobContext, JobKind, Outcome, ProvisionError, ProvisionRequest, Provisioner,
};

/// The state file kept between builds.
const STATE_FILE: &str = "terraform.tfstate";

/// The Terraform provisioner, running `binary`.
#[derive(Clone, Debug)]
pub struct Terraform {
    pub binary: PathBuf,
}

impl Terraform {
    /// `terraform`, else `tofu`, from `PATH`; `None` when neither is there.
    pub fn detect() -> Option<Terraform> {
        let path = std::env::var_os("PATH")?;
        for name in ["terraform", "tofu"] {
            for dir in std::env::split_paths(&path) {
                let candidate = dir.join(name);
                if is_executable(&candidate) {
                    return Some(Terraform { binary: candidate });
                }
            }
        }
        None
    }

    fn env(&self, m: &Metadata, transition: WorkspaceTransition) -> Vec<(String, String)> {
        vec![
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("CODER_AGENT_URL".into(), m.coder_url.clone()),
            (
                "CODER_WORKSPACE_TRANSITION".into(),
                transition.rest_name().into(),
            ),
            ("CODER_WORKSPACE_NAME".into(), m.workspace_name.clone()),
            ("CODER_WORKSPACE_OWNER".into(), m.workspace_owner.clone()),
            (
                "CODER_WORKSPACE_OWNER_EMAIL".into(),
                m.workspace_owner_email.clone(),
            ),
            ("CODER_WORKSPACE_ID".into(), m.workspace_id.clone()),
            (
                "CODER_WORKSPACE_OWNER_ID".into(),
                m.workspace_owner_id.clone(),
            ),
            (
                "CODER_WORKSPACE_TEMPLATE_NAME".into(),
                m.template_name.clone(),
            ),
            (
                "CODER_WORKSPACE_TEMPLATE_VERSION".into(),
                m.template_version.clone(),
            ),
        ]
    }

    /// Runs one command; streams its output as logs unless `capture`, in
    /// which case stdout is returned. Killed when the job is canceled.
    async fn run(
        &self,
        dir: &Path,
        args: &[&str],
        env: &[(String, String)],
        ctx: &JobContext,
        stage: &str,
        capture: bool,
    ) -> Result<Vec<u8>, ProvisionError> {
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.args(args)
            .current_dir(dir)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            ProvisionError::new(format!(
                "run {} {}: {e}",
                self.binary.display(),
                args.join(" ")
            ))
        })?;
        let stdout = child.stdout.take().expect("piped");
        let stderr = child.stderr.take().expect("piped");
        let err_ctx = ctx.clone();
        let err_stage = stage.to_owned();
        let err_task = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut last = String::new();
            while let Ok(Some(l)) = lines.next_line().await {
                if !l.trim().is_empty() {
                    last = l.clone();
                }
                err_ctx.log(LogLevel::Error, &err_stage, l);
            }
            last
        });
        let mut captured = Vec::new();
        let read_out = async {
            if capture {
                use tokio::io::AsyncReadExt;
                let mut s = stdout;
                let _ = s.read_to_end(&mut captured).await;
            } else {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(l)) = lines.next_line().await {
                    ctx.log(LogLevel::Info, stage, l);
                }
            }
        };
        let status = tokio::select! {
            (_, status) = async { tokio::join!(read_out, child.wait()) } => status,
            _ = ctx.canceled() => {
                let _ = child.kill().await;
                return Err(ProvisionError::new("canceled"));
            }
        };
        let last_err = err_task.await.unwrap_or_default();
        let status = status.map_err(|e| ProvisionError::new(format!("wait for terraform: {e}")))?;
        if !status.success() {
            let mut msg = format!(
                "terraform {} failed ({status})",
                args.first().unwrap_or(&"")
            );
            if !last_err.is_empty() {
                msg.push_str(": ");
                msg.push_str(last_err.trim());
            }
            return Err(ProvisionError::new(msg));
        }
        Ok(captured)
    }

    async fn show_json(
        &self,
        dir: &Path,
        plan: Option<&str>,
        env: &[(String, String)],
        ctx: &JobContext,
        stage: &str,
    ) -> Result<Value, ProvisionError> {
        let mut args = vec!["show", "-json", "-no-color"];
        if let Some(p) = plan {
            args.push(p);
        }
        let out = self.run(dir, &args, env, ctx, stage, true).await?;
        serde_json::from_slice(&out)
            .map_err(|e| ProvisionError::new(format!("parse terraform show -json output: {e}")))
    }

    async fn plan(
        &self,
        dir: &Path,
        out: &str,
        destroy: bool,
        env: &[(String, String)],
        ctx: &JobContext,
        stage: &str,
    ) -> Result<Vec<Resource>, ProvisionError> {
        let out_arg = format!("-out={out}");
        let mut args = vec![
            "plan",
            "-input=false",
            "-no-color",
            "-refresh=true",
            out_arg.as_str(),
        ];
        if destroy {
            args.push("-destroy");
        }
        self.run(dir, &args, env, ctx, stage, false).await?;
        let json = self.show_json(dir, Some(out), env, ctx, stage).await?;
        Ok(convert_resources(&json, true))
    }
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

#[async_trait]
impl Provisioner for Terraform {
    async fn provision(
        &self,
        req: ProvisionRequest,
        ctx: &JobContext,
    ) -> Result<Outcome, ProvisionError> {
        let dir = req.dir.as_path();
        let init_env = self.env(&req.metadata, WorkspaceTransition::Start);
        ctx.daemon_log(LogLevel::Info, "Initializing Terraform", "");
        if !req.state.is_empty() {
            tokio::fs::write(dir.join(STATE_FILE), &req.state)
                .await
                .map_err(|e| ProvisionError::new(format!("write state: {e}")))?;
        }
        self.run(
            dir,
            &["init", "-input=false", "-no-color"],
            &init_env,
            ctx,
            "Initializing Terraform",
            false,
        )
        .await?;
        match req.kind {
            JobKind::Import | JobKind::DryRun => {
                let stage = "Detecting persistent resources";
                ctx.daemon_log(LogLevel::Info, stage, "");
                let start = self
                    .plan(dir, "start.tfplan", false, &init_env, ctx, stage)
                    .await?;
                if req.kind == JobKind::DryRun {
                    return Ok(Outcome::DryRun { resources: start });
                }
                let stage = "Detecting ephemeral resources";
                ctx.daemon_log(LogLevel::Info, stage, "");
                let stop_env = self.env(&req.metadata, WorkspaceTransition::Stop);
                let stop = self
                    .plan(dir, "stop.tfplan", false, &stop_env, ctx, stage)
                    .await?;
                Ok(Outcome::Import {
                    start_resources: start,
                    stop_resources: stop,
                })
            }
            JobKind::Build(t) => {
                let env = self.env(&req.metadata, t);
                let stage = "Planning infrastructure";
                ctx.daemon_log(LogLevel::Info, stage, "");
                let destroy = t == WorkspaceTransition::Destroy;
                let planned = self
                    .plan(dir, "build.tfplan", destroy, &env, ctx, stage)
                    .await?;
                if !destroy {
                    ctx.commit_quota(total_cost(&planned)).await?;
                }
                let stage = match t {
                    WorkspaceTransition::Start => "Starting workspace",
                    WorkspaceTransition::Stop => "Stopping workspace",
                    WorkspaceTransition::Destroy => "Destroying workspace",
                };
                ctx.daemon_log(LogLevel::Info, stage, "");
                let applied = self
                    .run(
                        dir,
                        &[
                            "apply",
                            "-input=false",
                            "-no-color",
                            "-auto-approve",
                            "build.tfplan",
                        ],
                        &env,
                        ctx,
                        stage,
                        false,
                    )
                    .await;
                let state = tokio::fs::read(dir.join(STATE_FILE))
                    .await
                    .unwrap_or_default();
                if let Err(mut e) = applied {
                    e.state = Some(state);
                    return Err(e);
                }
                let resources = if destroy {
                    Vec::new()
                } else {
                    let json = self.show_json(dir, None, &env, ctx, stage).await?;
                    convert_resources(&json, false)
                };
                Ok(Outcome::Build { state, resources })
            }
        }
    }
}

/// Every resource of a module and its child modules.
fn collect<'a>(module: &'a Value, out: &mut Vec<&'a Value>) {
    if let Some(rs) = module["resources"].as_array() {
        out.extend(rs.iter());
    }
    if let Some(children) = module["child_modules"].as_array() {
        for c in children {
            collect(c, out);
        }
    }
}

/// `aws_instance.dev[0]` -> `aws_instance.dev`.
fn strip_index(addr: &str) -> &str {
    addr.split('[').next().unwrap_or(addr)
}

/// The addresses a plan's configuration says a `coder_metadata`
/// resource's `resource_id` refers to.
fn config_references(json: &Value) -> HashMap<String, Vec<String>> {
    let mut refs = HashMap::new();
    let mut modules = vec![&json["configuration"]["root_module"]];
    while let Some(m) = modules.pop() {
        if let Some(rs) = m["resources"].as_array() {
            for r in rs {
                if let (Some(addr), Some(list)) = (
                    r["address"].as_str(),
                    r["expressions"]["resource_id"]["references"].as_array(),
                ) {
                    refs.insert(
                        addr.to_owned(),
                        list.iter()
                            .filter_map(|v| v.as_str())
                            .map(|s| strip_index(s.trim_end_matches(".id")).to_owned())
                            .collect(),
                    );
                }
            }
        }
        if let Some(calls) = m["module_calls"].as_object() {
            for c in calls.values() {
                modules.push(&c["module"]);
            }
        }
    }
    refs
}

/// Converts `terraform show -json` output (a plan's `planned_values` when
/// `planned`, else the state's `values`) into resources.
pub fn convert_resources(json: &Value, planned: bool) -> Vec<Resource> {
    let root = if planned {
        &json["planned_values"]["root_module"]
    } else {
        &json["values"]["root_module"]
    };
    let mut all = Vec::new();
    collect(root, &mut all);
    let managed: Vec<&Value> = all
        .iter()
        .copied()
        .filter(|r| r["mode"].as_str() == Some("managed"))
        .collect();
    let mut resources: Vec<(String, Option<String>, Resource)> = managed
        .iter()
        .filter(|r| !r["type"].as_str().unwrap_or("").starts_with("coder_"))
        .map(|r| {
            let v = &r["values"];
            let instance_type = ["instance_type", "machine_type", "vm_size"]
                .iter()
                .find_map(|k| v[*k].as_str())
                .unwrap_or("")
                .to_owned();
            (
                strip_index(r["address"].as_str().unwrap_or("")).to_owned(),
                v["id"].as_str().map(str::to_owned),
                Resource {
                    name: r["name"].as_str().unwrap_or("").to_owned(),
                    resource_type: r["type"].as_str().unwrap_or("").to_owned(),
                    instance_type,
                    ..Default::default()
                },
            )
        })
        .collect();
    let refs = if planned {
        config_references(json)
    } else {
        HashMap::new()
    };
    for meta in managed
        .iter()
        .filter(|r| r["type"].as_str() == Some("coder_metadata"))
    {
        let v = &meta["values"];
        let by_id = v["resource_id"].as_str().and_then(|rid| {
            resources
                .iter()
                .position(|(_, id, _)| id.as_deref() == Some(rid))
        });
        let target = by_id.or_else(|| {
            let addr = strip_index(meta["address"].as_str().unwrap_or(""));
            refs.get(addr).and_then(|targets| {
                resources
                    .iter()
                    .position(|(a, _, _)| targets.iter().any(|t| t == a))
            })
        });
        let Some(i) = target else { continue };
        let r = &mut resources[i].2;
        if let Some(c) = v["daily_cost"].as_i64() {
            r.daily_cost = i32::try_from(c).unwrap_or(i32::MAX);
        }
        if let Some(h) = v["hide"].as_bool() {
            r.hide = h;
        }
        if let Some(icon) = v["icon"].as_str() {
            r.icon = icon.to_owned();
        }
        if let Some(items) = v["item"].as_array() {
            for it in items {
                let value = it["value"].as_str();
                r.metadata.push(ResourceMetadata {
                    key: it["key"].as_str().unwrap_or("").to_owned(),
                    value: value.unwrap_or("").to_owned(),
                    sensitive: it["sensitive"].as_bool().unwrap_or(false),
                    is_null: value.is_none() || it["is_null"].as_bool().unwrap_or(false),
                });
            }
        }
    }
    resources.into_iter().map(|(_, _, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_costs_attach_by_id_in_state() {
        let json = serde_json::json!({"values": {"root_module": {"resources": [
            {"address": "null_resource.dev", "mode": "managed", "type": "null_resource", "name": "dev",
             "values": {"id": "123"}},
            {"address": "coder_metadata.dev", "mode": "managed", "type": "coder_metadata", "name": "dev",
             "values": {"resource_id": "123", "daily_cost": 7, "item": [{"key": "k", "value": "v"}]}},
            {"address": "data.coder_workspace.me", "mode": "data", "type": "coder_workspace", "name": "me",
             "values": {}}
        ]}}});
        let rs = convert_resources(&json, false);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].name, "dev");
        assert_eq!(rs[0].daily_cost, 7);
        assert_eq!(rs[0].metadata[0].key, "k");
    }

    #[test]
    fn metadata_costs_attach_by_reference_in_plan() {
        let json = serde_json::json!({
            "planned_values": {"root_module": {"resources": [
                {"address": "null_resource.dev[0]", "mode": "managed", "type": "null_resource", "name": "dev", "values": {}},
                {"address": "coder_metadata.m", "mode": "managed", "type": "coder_metadata", "name": "m",
                 "values": {"daily_cost": 4}}
            ]}},
            "configuration": {"root_module": {"resources": [
                {"address": "coder_metadata.m", "expressions": {"resource_id": {"references": ["null_resource.dev[0].id", "null_resource.dev"]}}}
            ]}}
        });
        let rs = convert_resources(&json, true);
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].daily_cost, 4);
    }
}
