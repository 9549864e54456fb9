//! `coderd groups create|list|edit|delete`, after the Coder CLI's
//! `coder groups` (Enterprise: needs `template_rbac`).

use anyhow::Result;
use clap::{Args, Subcommand};
use codersdk::{CreateGroupRequest, Group, PatchGroupRequest};

use crate::output::{self, Column, OutputFormat};
use crate::session::Globals;

/// `coderd groups ...`.
#[derive(Args)]
pub struct GroupsCmd {
    #[command(subcommand)]
    cmd: GroupsSub,
}

#[derive(Subcommand)]
enum GroupsSub {
    /// Create a user group.
    Create(CreateCmd),
    /// List user groups.
    #[command(visible_alias = "ls")]
    List(ListCmd),
    /// Edit a user group: rename it, change its avatar or quota allowance,
    /// add or remove members.
    Edit(EditCmd),
    /// Delete a user group.
    #[command(visible_alias = "rm")]
    Delete(DeleteCmd),
}

impl GroupsCmd {
    /// Runs the chosen `groups` subcommand.
    pub async fn run(self, globals: &Globals) -> Result<()> {
        match self.cmd {
            GroupsSub::Create(c) => c.run(globals).await,
            GroupsSub::List(c) => c.run(globals).await,
            GroupsSub::Edit(c) => c.run(globals).await,
            GroupsSub::Delete(c) => c.run(globals).await,
        }
    }
}

/// `-O/--org`: the organization (id or name; default: the default one).
#[derive(Args)]
struct OrgArg {
    /// Organization id or name.
    #[arg(
        short = 'O',
        long = "org",
        env = "CODER_ORGANIZATION",
        default_value = "default"
    )]
    org: String,
}

/// `coderd groups create NAME`.
#[derive(Args)]
struct CreateCmd {
    /// The group name.
    name: String,
    /// Avatar URL.
    #[arg(short = 'u', long)]
    avatar_url: Option<String>,
    /// Display name.
    #[arg(long)]
    display_name: Option<String>,
    /// Credits per day each member's budget gains from this group.
    #[arg(long)]
    quota_allowance: Option<i64>,
    #[command(flatten)]
    org: OrgArg,
}

impl CreateCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let g = client
            .create_group(
                &self.org.org,
                &CreateGroupRequest {
                    name: self.name,
                    display_name: self.display_name.unwrap_or_default(),
                    avatar_url: self.avatar_url.unwrap_or_default(),
                    quota_allowance: self.quota_allowance.unwrap_or(0),
                },
            )
            .await?;
        println!("Successfully created group {:?}!", g.name);
        Ok(())
    }
}

const COLUMNS: &[Column<Group>] = &[
    Column {
        name: "name",
        cell: |g| g.name.clone(),
    },
    Column {
        name: "display name",
        cell: |g| g.display_name.clone(),
    },
    Column {
        name: "organization id",
        cell: |g| g.organization_id.to_string(),
    },
    Column {
        name: "members",
        cell: |g| {
            g.members
                .iter()
                .map(|m| m.username.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        },
    },
    Column {
        name: "avatar url",
        cell: |g| g.avatar_url.clone(),
    },
    Column {
        name: "quota allowance",
        cell: |g| g.quota_allowance.to_string(),
    },
    Column {
        name: "id",
        cell: |g| g.id.to_string(),
    },
];

/// `coderd groups list`.
#[derive(Args)]
struct ListCmd {
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table)]
    output: OutputFormat,
    /// Columns (comma-separated): name, display name, organization id,
    /// members, avatar url, quota allowance, id.
    #[arg(short = 'c', long, value_delimiter = ',',
        default_values = ["name", "organization id", "members", "avatar url", "quota allowance"])]
    column: Vec<String>,
    #[command(flatten)]
    org: OrgArg,
}

impl ListCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let groups = globals.client()?.groups(&self.org.org).await?;
        match self.output {
            OutputFormat::Json => output::print_json(&groups),
            OutputFormat::Table => {
                let columns = output::select_columns(COLUMNS, &self.column)?;
                println!("{}", output::table(&columns, &groups));
                Ok(())
            }
        }
    }
}

/// `coderd groups edit NAME`.
#[derive(Args)]
struct EditCmd {
    /// The group to edit.
    name: String,
    /// New name.
    #[arg(short = 'n', long = "name")]
    new_name: Option<String>,
    /// New avatar URL.
    #[arg(short = 'u', long)]
    avatar_url: Option<String>,
    /// New display name.
    #[arg(long)]
    display_name: Option<String>,
    /// New quota allowance (credits per day).
    #[arg(long)]
    quota_allowance: Option<i64>,
    /// Users to add (username, email or id); repeatable or comma-separated.
    #[arg(short = 'a', long = "add-users", value_delimiter = ',')]
    add_users: Vec<String>,
    /// Users to remove (username, email or id); repeatable or comma-separated.
    #[arg(short = 'r', long = "rm-users", value_delimiter = ',')]
    rm_users: Vec<String>,
    #[command(flatten)]
    org: OrgArg,
}

/// Resolves usernames/ids to user ids (the server checks membership).
async fn user_ids(client: &codersdk::Client, users: &[String]) -> Result<Vec<String>> {
    let mut ids = Vec::with_capacity(users.len());
    for u in users {
        let u = u.trim();
        if u.is_empty() {
            continue;
        }
        ids.push(client.user(u).await?.id.to_string());
    }
    Ok(ids)
}

impl EditCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let group = client.group_by_name(&self.org.org, &self.name).await?;
        let req = PatchGroupRequest {
            add_users: user_ids(&client, &self.add_users).await?,
            remove_users: user_ids(&client, &self.rm_users).await?,
            name: self.new_name.unwrap_or_default(),
            display_name: self.display_name,
            avatar_url: self.avatar_url,
            quota_allowance: self.quota_allowance,
        };
        let g = client.patch_group(group.id, &req).await?;
        println!("Successfully patched group {:?}!", g.name);
        Ok(())
    }
}

/// `coderd groups delete NAME`.
#[derive(Args)]
struct DeleteCmd {
    /// The group to delete.
    name: String,
    #[command(flatten)]
    org: OrgArg,
}

impl DeleteCmd {
    async fn run(self, globals: &Globals) -> Result<()> {
        let client = globals.client()?;
        let group = client.group_by_name(&self.org.org, &self.name).await?;
        client.delete_group(group.id).await?;
        println!("Successfully deleted group {:?}!", group.name);
        Ok(())
    }
}
