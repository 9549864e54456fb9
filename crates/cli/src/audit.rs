//! `coderd audit list [-q QUERY] [-o json]`: the audit log (owners and
//! auditors), newest first. An addition: upstream's CLI has no `audit`
//! command (coder-now 1.14); this reads the same `GET /api/v2/audit`.

use anyhow::Result;
use clap::{Args, Subcommand};
use codersdk::AuditLog;

use crate::output::{self, Column, OutputFormat};
use crate::session::Globals;

/// `coderd audit ...`.
#[derive(Args)]
pub struct AuditCmd {
    #[command(subcommand)]
    cmd: AuditSub,
}

#[derive(Subcommand)]
enum AuditSub {
    /// List audit log entries, newest first.
    #[command(visible_alias = "ls")]
    List(ListCmd),
}

impl AuditCmd {
    /// Runs the chosen `audit` subcommand.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        match self.cmd {
            AuditSub::List(c) => c.run(globals).await,
        }
    }
}

/// The description with `{user}` and `{target}` filled in, as the
/// dashboard shows it (the system when there is no user).
fn sentence(l: &AuditLog) -> String {
    let user = l
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_else(|| {
            l.additional_fields
                .get("automatic_subsystem")
                .and_then(|v| v.as_str())
                .map(|s| format!("coder ({s})"))
                .unwrap_or_else(|| "coder".into())
        });
    l.description
        .replace("{user}", &user)
        .replace("{target}", &l.resource_target)
}

/// Every column `--column` accepts.
const COLUMNS: &[Column<AuditLog>] = &[
    Column {
        name: "time",
        cell: |l| output::time(&l.time),
    },
    Column {
        name: "user",
        cell: |l| {
            l.user
                .as_ref()
                .map(|u| u.username.clone())
                .unwrap_or_default()
        },
    },
    Column {
        name: "action",
        cell: |l| l.action.clone(),
    },
    Column {
        name: "resource type",
        cell: |l| l.resource_type.clone(),
    },
    Column {
        name: "resource target",
        cell: |l| l.resource_target.clone(),
    },
    Column {
        name: "status",
        cell: |l| l.status_code.to_string(),
    },
    Column {
        name: "description",
        cell: sentence,
    },
    Column {
        name: "ip",
        cell: |l| l.ip.clone(),
    },
    Column {
        name: "request id",
        cell: |l| l.request_id.to_string(),
    },
    Column {
        name: "diff",
        cell: |l| {
            l.diff
                .iter()
                .map(|(k, d)| {
                    if d.secret {
                        format!("{k}: (secret)")
                    } else {
                        let show = |v: &Option<serde_json::Value>| {
                            v.as_ref().map(|v| v.to_string()).unwrap_or_default()
                        };
                        format!("{k}: {} -> {}", show(&d.old), show(&d.new))
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        },
    },
];

const DEFAULT_COLUMNS: &[&str] = &["time", "user", "status", "description"];

/// `coderd audit list`.
#[derive(Args)]
struct ListCmd {
    /// Search query, as in the API: `action:create resource_type:user
    /// username:me date_from:2026-01-01`.
    #[arg(short = 'q', long, default_value = "")]
    query: String,
    /// Most entries to show (0: the server's default of 100).
    #[arg(long, default_value_t = 0)]
    limit: i64,
    /// Entries to skip.
    #[arg(long, default_value_t = 0)]
    offset: i64,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// Columns to display in table output (comma-separated): time, user,
    /// action, resource type, resource target, status, description, ip,
    /// request id, diff.
    #[arg(short = 'c', long, value_delimiter = ',', default_values = DEFAULT_COLUMNS)]
    column: Vec<String>,
}

impl ListCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let page = client
            .audit_logs(&self.query, self.limit, self.offset)
            .await?;
        match self.output {
            OutputFormat::Json => output::print_json(&page),
            OutputFormat::Table => {
                let columns = output::select_columns(COLUMNS, &self.column)?;
                println!("{}", output::table(&columns, &page.audit_logs));
                Ok(())
            }
        }
    }
}
