//! Output helpers shared by the client commands: `-o table|json` and
//! Coder-style plain tables (upper-case headers, no borders, columns
//! separated by two spaces).

use anyhow::{bail, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::ValueEnum;
use comfy_table::{presets, Table};
use serde::Serialize;

/// `-o` / `--output`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A plain table.
    #[default]
    Table,
    /// Pretty-printed JSON, for scripts.
    Json,
}

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A column of a table over rows of type `T`: its name and how to render a
/// cell.
pub struct Column<T> {
    /// Lower-case name, as given to `--column` (`created at`).
    pub name: &'static str,
    /// Renders the cell.
    pub cell: fn(&T) -> String,
}

/// Picks `wanted` columns (by name, case-insensitive; `_` and `-` read as
/// spaces) from `all`; an unknown name is an error listing the valid ones.
pub fn select_columns<'a, T>(
    all: &'a [Column<T>],
    wanted: &[String],
) -> Result<Vec<&'a Column<T>>> {
    let mut picked = Vec::new();
    for w in wanted {
        let key = w.trim().to_lowercase().replace(['_', '-'], " ");
        if key.is_empty() {
            continue;
        }
        match all.iter().find(|c| c.name == key) {
            Some(c) => picked.push(c),
            None => {
                let names: Vec<&str> = all.iter().map(|c| c.name).collect();
                bail!(
                    "unknown column {w:?}; available columns: {}",
                    names.join(", ")
                );
            }
        }
    }
    if picked.is_empty() {
        bail!("no columns selected");
    }
    Ok(picked)
}

/// Renders `rows` as a plain table with the given columns.
pub fn table<T>(columns: &[&Column<T>], rows: &[T]) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING);
    t.set_header(columns.iter().map(|c| c.name.to_uppercase()));
    for row in rows {
        t.add_row(columns.iter().map(|c| (c.cell)(row)));
    }
    let last = columns.len().saturating_sub(1);
    for (i, col) in t.column_iter_mut().enumerate() {
        col.set_padding((0, if i == last { 0 } else { 2 }));
    }
    t.lines()
        .map(|l| l.trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A timestamp as the Coder CLI prints it in tables (RFC 3339, seconds).
pub fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
