//! `coderd templates create|list`, after the Coder CLI's `coder templates`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use codersdk::{
    CreateTemplateRequest, CreateTemplateVersionRequest, ProvisionerJobStatus, Template,
};

use crate::output::{self, Column, OutputFormat};
use crate::session::Globals;

/// `coderd templates ...`.
#[derive(Args)]
pub struct TemplatesCmd {
    #[command(subcommand)]
    cmd: TemplatesSub,
}

#[derive(Subcommand)]
enum TemplatesSub {
    /// Create a template from a directory: tar it, upload it, import it
    /// (streaming the import's logs) and create the template.
    Create(CreateCmd),
    /// List the organization's templates.
    #[command(visible_alias = "ls")]
    List(ListCmd),
}

impl TemplatesCmd {
    /// Runs the chosen `templates` subcommand.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        match self.cmd {
            TemplatesSub::Create(c) => c.run(globals).await,
            TemplatesSub::List(c) => c.run(globals).await,
        }
    }
}

/// Parses `key=value`.
pub fn parse_tag(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("invalid tag {s:?}: expected key=value")),
    }
}

/// `coderd templates create NAME -d DIR`.
#[derive(Args)]
struct CreateCmd {
    /// The template name.
    name: String,
    /// The directory holding the template (default: the current directory).
    #[arg(short = 'd', long = "directory", default_value = ".")]
    directory: PathBuf,
    /// `echo` or `terraform` (default: `echo` when the directory has an
    /// `echo.json` and no `.tf` file, else `terraform`).
    #[arg(long)]
    provisioner: Option<String>,
    /// Provisioner tags the daemon running the template must have
    /// (`key=value`, repeatable).
    #[arg(short = 't', long = "tag", value_parser = parse_tag)]
    tags: Vec<(String, String)>,
    /// Organization id or name.
    #[arg(
        short = 'O',
        long = "org",
        env = "CODER_ORGANIZATION",
        default_value = "default"
    )]
    org: String,
    /// A description.
    #[arg(long)]
    description: Option<String>,
    /// Accepted for compatibility with `coder templates create` (never asks).
    #[arg(short = 'y', long = "yes")]
    _yes: bool,
}

/// Every regular file under `dir`, relative, sorted; skips `.git`,
/// `.terraform` and Terraform state files.
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let entries = std::fs::read_dir(dir.join(&rel))
            .with_context(|| format!("read directory {}", dir.join(&rel).display()))?;
        for e in entries {
            let e = e?;
            let name = e.file_name();
            let name_s = name.to_string_lossy();
            if name_s == ".git" || name_s == ".terraform" || name_s.ends_with(".tfstate") {
                continue;
            }
            let path = rel.join(&name);
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Tars a template directory in memory.
pub fn tar_dir(dir: &Path) -> Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for rel in files(dir)? {
        b.append_path_with_name(dir.join(&rel), &rel)
            .with_context(|| format!("add {} to the archive", rel.display()))?;
    }
    Ok(b.into_inner()?)
}

impl CreateCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        if !self.directory.is_dir() {
            bail!("{} is not a directory", self.directory.display());
        }
        let provisioner = match self.provisioner {
            Some(p) => p,
            None => {
                let all = files(&self.directory)?;
                let has_echo = all.iter().any(|p| p.as_os_str() == "echo.json");
                let has_tf = all.iter().any(|p| p.extension().is_some_and(|e| e == "tf"));
                if has_echo && !has_tf {
                    "echo"
                } else {
                    "terraform"
                }
                .to_owned()
            }
        };
        let archive = tar_dir(&self.directory)?;
        let file = client.upload_file(archive).await?;
        let tags: BTreeMap<String, String> = self.tags.into_iter().collect();
        let version = client
            .create_template_version(
                &self.org,
                &CreateTemplateVersionRequest {
                    storage_method: "file".into(),
                    file_id: Some(file.id),
                    provisioner,
                    tags,
                    ..Default::default()
                },
            )
            .await?;
        crate::buildlogs::print(client.template_version_logs_follow(version.id, 0).await?).await?;
        let version = client.template_version(version.id).await?;
        match version.job.status {
            ProvisionerJobStatus::Succeeded => {}
            ProvisionerJobStatus::Canceled => bail!("the template import was canceled"),
            _ => bail!("template import failed: {}", version.job.error),
        }
        let t = client
            .create_template(
                &self.org,
                &CreateTemplateRequest {
                    name: self.name.clone(),
                    description: self.description.unwrap_or_default(),
                    version_id: Some(version.id),
                    ..Default::default()
                },
            )
            .await?;
        println!(
            "The {} template has been created (version {}). Create a workspace with: coderd create <name> --template {}",
            t.name, version.name, t.name
        );
        Ok(())
    }
}

/// `coderd templates list`.
#[derive(Args)]
struct ListCmd {
    /// Organization id or name.
    #[arg(
        short = 'O',
        long = "org",
        env = "CODER_ORGANIZATION",
        default_value = "default"
    )]
    org: String,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t)]
    output: OutputFormat,
}

fn columns() -> Vec<Column<Template>> {
    vec![
        Column {
            name: "name",
            cell: |t| t.name.clone(),
        },
        Column {
            name: "created at",
            cell: |t| output::time(&t.created_at),
        },
        Column {
            name: "provisioner",
            cell: |t| t.provisioner.clone(),
        },
        Column {
            name: "used by",
            cell: |t| format!("{} developers", t.active_user_count),
        },
        Column {
            name: "active version id",
            cell: |t| t.active_version_id.to_string(),
        },
    ]
}

impl ListCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let templates = client.templates(&self.org).await?;
        match self.output {
            OutputFormat::Json => output::print_json(&templates),
            OutputFormat::Table => {
                if templates.is_empty() {
                    println!(
                        "No templates found. Create one with: coderd templates create NAME -d DIR"
                    );
                    return Ok(());
                }
                let cols = columns();
                let all: Vec<&Column<Template>> = cols.iter().collect();
                println!("{}", output::table(&all, &templates));
                Ok(())
            }
        }
    }
}
