//! `coderd`: the coderd-rs binary. `coderd server` runs the control plane;
//! the other subcommands are clients that mirror the Coder CLI (`login`,
//! `users`, ...) and talk to a deployment over its REST API.
//!
//! Adding a subcommand: write a module with a `clap::Args` (or
//! `Subcommand`) type that has `async fn run(self, globals: &Globals) ->
//! anyhow::Result<()>`, and add one line to the `commands!` list below.

mod audit;
mod buildlogs;
mod config;
mod errors;
mod features;
mod groups;
mod licenses;
mod login;
mod output;
mod prompt;
mod provisionerd;
mod server;
mod session;
mod templates;
mod users;
mod workspaces;

use std::process::ExitCode;

use clap::Parser;

use crate::session::Globals;

/// Declares the top-level subcommands: one line each, `Variant(Type)`.
/// Generates the `Command` enum and its dispatch.
macro_rules! commands {
    ($( $(#[$meta:meta])* $variant:ident($ty:ty), )*) => {
        // Parsed once per run: the server's flags make one variant large.
        #[allow(clippy::large_enum_variant)]
        #[derive(clap::Subcommand)]
        enum Command {
            $( $(#[$meta])* $variant($ty), )*
        }

        impl Command {
            async fn run(self, globals: &Globals) -> anyhow::Result<()> {
                match self {
                    $( Command::$variant(cmd) => cmd.run(globals).await, )*
                }
            }
        }
    };
}

commands! {
    /// Start a coderd-rs server.
    Server(server::ServerCmd),
    /// Authenticate with a Coder deployment.
    Login(login::LoginCmd),
    /// Unauthenticate your local session.
    Logout(login::LogoutCmd),
    /// Manage users.
    Users(users::UsersCmd),
    /// Manage groups.
    Groups(groups::GroupsCmd),
    /// Read the audit log (owners and auditors).
    Audit(audit::AuditCmd),
    /// Add, list or delete Enterprise licenses.
    Licenses(licenses::LicensesCmd),
    /// List the Enterprise features and what the licenses grant.
    Features(features::FeaturesCmd),
    /// Manage templates.
    Templates(templates::TemplatesCmd),
    /// Create a workspace from a template and follow its first build.
    Create(workspaces::CreateCmd),
    /// List workspaces.
    #[command(visible_alias = "ls")]
    List(workspaces::ListCmd),
    /// Start a workspace.
    Start(workspaces::StartCmd),
    /// Stop a workspace.
    Stop(workspaces::StopCmd),
    /// Delete a workspace.
    Delete(workspaces::DeleteCmd),
    /// Run a provisioner daemon.
    Provisionerd(provisionerd::ProvisionerdCmd),
}

/// The `coderd` command line.
#[derive(Parser)]
#[command(
    name = "coderd",
    version,
    about = "coderd-rs: a Coder-compatible control plane"
)]
struct Cli {
    #[command(flatten)]
    globals: Globals,
    #[command(subcommand)]
    command: Command,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Server(_) | Command::Provisionerd(_)) {
        quiet_on_closed_pipe();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.command.run(&cli.globals)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", errors::render(&err, &cli.globals));
            ExitCode::FAILURE
        }
    }
}

/// A client command whose output goes into a closed pipe (`coderd users
/// list | head -1`) ends quietly, as Go's CLI does, instead of panicking on
/// the failed write: the default action of SIGPIPE (Rust's runtime ignores
/// it at start). The long-running `server` and `provisionerd` keep ignoring
/// it, so a peer closing a socket is an error to handle, not the end.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: `signal` with SIG_DFL installs no handler code; it runs
    // before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
