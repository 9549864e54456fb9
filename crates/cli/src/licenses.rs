//! `coderd licenses add|list|delete`, after the Coder CLI's `coder
//! licenses` (Enterprise; owners only).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use chrono::DateTime;
use clap::{Args, Subcommand};
use codersdk::License;
use serde_json::Value;

use crate::output::{self, Column, OutputFormat};
use crate::prompt;
use crate::session::Globals;

/// `coderd licenses ...`.
#[derive(Args)]
pub struct LicensesCmd {
    #[command(subcommand)]
    cmd: LicensesSub,
}

#[derive(Subcommand)]
enum LicensesSub {
    /// Add an Enterprise license: from a file (-f), the command line
    /// (--license) or stdin.
    Add(AddCmd),
    /// List the licenses, expired ones included.
    #[command(visible_alias = "ls")]
    List(ListCmd),
    /// Delete a license by its ID.
    #[command(visible_aliases = ["del", "rm"])]
    Delete(DeleteCmd),
}

impl LicensesCmd {
    /// Runs the chosen `licenses` subcommand.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        match self.cmd {
            LicensesSub::Add(c) => c.run(globals).await,
            LicensesSub::List(c) => c.run(globals).await,
            LicensesSub::Delete(c) => c.run(globals).await,
        }
    }
}

/// `coderd licenses add`.
#[derive(Args)]
struct AddCmd {
    /// Load the license from a file (`-` for stdin).
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "license"
    )]
    file: Option<PathBuf>,
    /// The license as a string (a JWT).
    #[arg(short = 'l', long = "license", value_name = "JWT")]
    license: Option<String>,
    /// Also print the license's claims.
    #[arg(long)]
    debug: bool,
}

impl AddCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let jwt = match (self.license, self.file) {
            (Some(l), _) => l,
            (None, Some(path)) if path.as_os_str() == "-" => read_stdin()?,
            (None, Some(path)) => std::fs::read_to_string(&path)
                .with_context(|| format!("read license file {}", path.display()))?,
            (None, None) if prompt::interactive() => prompt::ask_secret("Paste license")?,
            (None, None) => read_stdin()?,
        };
        let jwt = jwt.trim();
        if jwt.is_empty() {
            bail!("the license is empty: pass -f FILE, --license JWT, or the license on stdin");
        }
        let license = client.add_license(jwt).await?;
        if self.debug {
            output::print_json(&license.claims)?;
        }
        println!("License with ID {} added", license.id);
        Ok(())
    }
}

fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("read the license from stdin")?;
    Ok(s)
}

/// A numeric-date claim (`license_expires`, `exp`) as RFC 3339, or "".
fn claim_time(l: &License, name: &str) -> String {
    l.claims
        .get(name)
        .and_then(Value::as_f64)
        .and_then(|secs| DateTime::from_timestamp(secs as i64, 0))
        .map(|t| output::time(&t))
        .unwrap_or_default()
}

/// Every column `--column` accepts.
const COLUMNS: &[Column<License>] = &[
    Column {
        name: "id",
        cell: |l| l.id.to_string(),
    },
    Column {
        name: "uuid",
        cell: |l| l.uuid.to_string(),
    },
    Column {
        name: "uploaded at",
        cell: |l| output::time(&l.uploaded_at),
    },
    Column {
        name: "expires at",
        cell: |l| claim_time(l, "license_expires"),
    },
    Column {
        name: "grace ends at",
        cell: |l| claim_time(l, "exp"),
    },
    Column {
        name: "trial",
        cell: |l| {
            l.claims
                .get("trial")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .to_string()
        },
    },
    Column {
        name: "features",
        cell: |l| {
            let mut parts: Vec<String> = l
                .claims
                .get("features")
                .and_then(Value::as_object)
                .map(|f| f.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            if l.claims.get("all_features").and_then(Value::as_bool) == Some(true) {
                parts.insert(0, "all_features".into());
            }
            parts.join(", ")
        },
    },
];

const DEFAULT_COLUMNS: &[&str] = &["id", "uuid", "expires at", "uploaded at", "features"];

/// `coderd licenses list`.
#[derive(Args)]
struct ListCmd {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// Columns to display in table output (comma-separated): id, uuid,
    /// uploaded at, expires at, grace ends at, trial, features.
    #[arg(short = 'c', long, value_delimiter = ',', default_values = DEFAULT_COLUMNS)]
    column: Vec<String>,
}

impl ListCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let licenses = client.licenses().await?;
        match self.output {
            OutputFormat::Json => output::print_json(&licenses),
            OutputFormat::Table => {
                let columns = output::select_columns(COLUMNS, &self.column)?;
                println!("{}", output::table(&columns, &licenses));
                Ok(())
            }
        }
    }
}

/// `coderd licenses delete ID`.
#[derive(Args)]
struct DeleteCmd {
    /// The license ID (see `coderd licenses list`).
    id: String,
}

impl DeleteCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let Ok(id) = self.id.trim().parse::<i32>() else {
            bail!("license ID must be an integer: {:?}", self.id);
        };
        let client = globals.client()?;
        client.delete_license(id).await?;
        println!("License with ID {id} deleted");
        Ok(())
    }
}
