//! `coderd create|list|start|stop|delete`, after the Coder CLI's workspace
//! commands. Each build streams its logs and ends with a success line, or
//! fails with the build's error.

use anyhow::{bail, Result};
use clap::Args;
use codersdk::{
    Client, CreateWorkspaceBuildRequest, CreateWorkspaceRequest, ProvisionerJobStatus, Workspace,
    WorkspaceBuild, WorkspaceTransition,
};

use crate::output::{self, Column, OutputFormat};
use crate::session::Globals;

/// Splits `owner/name` (default owner: `me`).
fn owner_and_name(raw: &str) -> (&str, &str) {
    match raw.split_once('/') {
        Some((o, n)) => (o, n),
        None => ("me", raw),
    }
}

/// Follows a build's logs to the end; the finished build, or an error
/// naming why it did not succeed.
async fn follow(client: &Client, build: &WorkspaceBuild) -> Result<WorkspaceBuild> {
    crate::buildlogs::print(client.workspace_build_logs_follow(build.id, 0).await?).await?;
    let b = client.workspace_build(build.id).await?;
    match b.job.status {
        ProvisionerJobStatus::Succeeded => Ok(b),
        ProvisionerJobStatus::Canceled => bail!("the build was canceled"),
        _ => bail!("build #{} failed: {}", b.build_number, b.job.error),
    }
}

/// `coderd create NAME --template T`.
#[derive(Args)]
pub struct CreateCmd {
    /// Workspace name (`owner/name` to create one for another user).
    name: String,
    /// The template's name.
    #[arg(short = 't', long = "template")]
    template: String,
    /// Organization id or name.
    #[arg(
        short = 'O',
        long = "org",
        env = "CODER_ORGANIZATION",
        default_value = "default"
    )]
    org: String,
    /// Accepted for compatibility with `coder create` (never asks).
    #[arg(short = 'y', long = "yes")]
    _yes: bool,
}

impl CreateCmd {
    /// Creates the workspace and follows its first build.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let (owner, name) = owner_and_name(&self.name);
        let t = client.template_by_name(&self.org, &self.template).await?;
        let ws = client
            .create_workspace(
                &self.org,
                owner,
                &CreateWorkspaceRequest {
                    template_id: Some(t.id),
                    name: name.to_owned(),
                    ..Default::default()
                },
            )
            .await?;
        let b = follow(&client, &ws.latest_build).await?;
        println!(
            "Workspace {} has been created (build #{}, daily cost {}).",
            ws.name, b.build_number, b.daily_cost
        );
        Ok(())
    }
}

/// `coderd list`.
#[derive(Args)]
pub struct ListCmd {
    /// Search query (`owner:me`, `template:NAME`, `name:X`, `status:running`).
    #[arg(long, default_value = "")]
    search: String,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    output: OutputFormat,
}

fn columns() -> Vec<Column<Workspace>> {
    vec![
        Column {
            name: "workspace",
            cell: |w| format!("{}/{}", w.owner_name, w.name),
        },
        Column {
            name: "template",
            cell: |w| w.template_name.clone(),
        },
        Column {
            name: "status",
            cell: |w| {
                serde_json::to_value(w.latest_build.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            },
        },
        Column {
            name: "last built",
            cell: |w| output::time(&w.latest_build.created_at),
        },
        Column {
            name: "outdated",
            cell: |w| w.outdated.to_string(),
        },
        Column {
            name: "daily cost",
            cell: |w| w.latest_build.daily_cost.to_string(),
        },
    ]
}

impl ListCmd {
    /// Lists the workspaces the caller may see.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let res = client.workspaces(&self.search).await?;
        match self.output {
            OutputFormat::Json => output::print_json(&res.workspaces),
            OutputFormat::Table => {
                if res.workspaces.is_empty() {
                    println!("No workspaces found. Create one with: coderd create NAME --template TEMPLATE");
                    return Ok(());
                }
                let cols = columns();
                let all: Vec<&Column<Workspace>> = cols.iter().collect();
                println!("{}", output::table(&all, &res.workspaces));
                Ok(())
            }
        }
    }
}

/// `coderd start|stop|delete NAME`.
#[derive(Args)]
pub struct TransitionCmd {
    /// Workspace name (`owner/name` for another user's).
    name: String,
    /// Accepted for compatibility with the Coder CLI (never asks).
    #[arg(short = 'y', long = "yes")]
    _yes: bool,
}

impl TransitionCmd {
    async fn transition(self, globals: &Globals, t: WorkspaceTransition) -> Result<()> {
        let client = globals.client()?;
        let (owner, name) = owner_and_name(&self.name);
        let ws = client.workspace_by_owner_and_name(owner, name).await?;
        let build = client
            .create_workspace_build(
                ws.id,
                &CreateWorkspaceBuildRequest {
                    transition: t.as_str().into(),
                    ..Default::default()
                },
            )
            .await?;
        let b = follow(&client, &build).await?;
        let done = match t {
            WorkspaceTransition::Start => "started",
            WorkspaceTransition::Stop => "stopped",
            WorkspaceTransition::Delete => "deleted",
        };
        println!(
            "Workspace {} has been {done} (build #{}, daily cost {}).",
            ws.name, b.build_number, b.daily_cost
        );
        Ok(())
    }
}

/// `coderd start NAME`.
#[derive(Args)]
pub struct StartCmd {
    #[command(flatten)]
    inner: TransitionCmd,
}

impl StartCmd {
    /// Starts the workspace.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        self.inner
            .transition(globals, WorkspaceTransition::Start)
            .await
    }
}

/// `coderd stop NAME`.
#[derive(Args)]
pub struct StopCmd {
    #[command(flatten)]
    inner: TransitionCmd,
}

impl StopCmd {
    /// Stops the workspace.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        self.inner
            .transition(globals, WorkspaceTransition::Stop)
            .await
    }
}

/// `coderd delete NAME`.
#[derive(Args)]
pub struct DeleteCmd {
    #[command(flatten)]
    inner: TransitionCmd,
}

impl DeleteCmd {
    /// Deletes the workspace.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        self.inner
            .transition(globals, WorkspaceTransition::Delete)
            .await
    }
}
