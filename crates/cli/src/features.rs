//! `coderd features list`, after the Coder CLI's `coder features list`: the
//! deployment's entitlements as a table, then any warnings and errors.

use anyhow::Result;
use clap::{Args, Subcommand};
use codersdk::{Entitlements, Feature, FeatureName};

use crate::output::{self, Column, OutputFormat};
use crate::session::Globals;

/// `coderd features ...`.
#[derive(Args)]
pub struct FeaturesCmd {
    #[command(subcommand)]
    cmd: FeaturesSub,
}

#[derive(Subcommand)]
enum FeaturesSub {
    /// List the Enterprise features and whether the licenses grant them.
    #[command(visible_alias = "ls")]
    List(ListCmd),
}

impl FeaturesCmd {
    /// Runs the chosen `features` subcommand.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        match self.cmd {
            FeaturesSub::List(c) => c.run(globals).await,
        }
    }
}

/// One table row: a feature's name and state.
struct Row {
    name: String,
    feature: Feature,
}

fn opt(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

const COLUMNS: &[Column<Row>] = &[
    Column {
        name: "feature",
        cell: |r| r.name.clone(),
    },
    Column {
        name: "entitlement",
        cell: |r| r.feature.entitlement.as_str().to_owned(),
    },
    Column {
        name: "enabled",
        cell: |r| r.feature.enabled.to_string(),
    },
    Column {
        name: "limit",
        cell: |r| opt(r.feature.limit),
    },
    Column {
        name: "actual",
        cell: |r| opt(r.feature.actual),
    },
];

const DEFAULT_COLUMNS: &[&str] = &["feature", "entitlement", "enabled", "limit", "actual"];

/// `coderd features list`.
#[derive(Args)]
struct ListCmd {
    /// Output format (`json` prints the whole entitlements object).
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// Columns to display in table output (comma-separated): feature,
    /// entitlement, enabled, limit, actual.
    #[arg(short = 'c', long, value_delimiter = ',', default_values = DEFAULT_COLUMNS)]
    column: Vec<String>,
}

impl ListCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        // `GET /entitlements` needs no login (upstream); only the URL.
        let client = globals.client_maybe_anonymous()?;
        let entitlements = client.entitlements().await?;
        match self.output {
            OutputFormat::Json => output::print_json(&entitlements),
            OutputFormat::Table => {
                let columns = output::select_columns(COLUMNS, &self.column)?;
                println!("{}", render(&columns, &entitlements));
                Ok(())
            }
        }
    }
}

/// The table (known features in upstream's order, then any others by
/// name), then `Warnings:` and `Errors:` lists when there are any.
fn render(columns: &[&Column<Row>], e: &Entitlements) -> String {
    let mut rows: Vec<Row> = FeatureName::ALL
        .iter()
        .filter_map(|f| {
            e.features.get(f.as_str()).map(|feature| Row {
                name: f.as_str().to_owned(),
                feature: feature.clone(),
            })
        })
        .collect();
    rows.extend(
        e.features
            .iter()
            .filter(|(name, _)| FeatureName::parse(name).is_none())
            .map(|(name, feature)| Row {
                name: name.clone(),
                feature: feature.clone(),
            }),
    );
    let mut out = output::table(columns, &rows);
    for (title, lines) in [("Warnings", &e.warnings), ("Errors", &e.errors)] {
        if !lines.is_empty() {
            out.push_str(&format!("\n\n{title}:"));
            for l in lines {
                out.push_str(&format!("\n  - {l}"));
            }
        }
    }
    out
}
