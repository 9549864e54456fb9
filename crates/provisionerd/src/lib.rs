//! The provisioner daemon.
//!
//! A daemon asks the server for a job ([`client::ProvisionerClient`]),
//! extracts the job's template archive, runs it with a
//! [`provisioner::Provisioner`] ([`echo::Echo`] or
//! [`terraform::Terraform`]), streams logs and heartbeats while it runs, and
//! reports the result ([`runner`]). The same loop ([`daemon::serve`]) runs
//! inside the server (coderd implements the client with direct calls) or as
//! its own process connected over a websocket ([`ws::WsClient`],
//! [`daemon::run_external`]). Messages are named after upstream's
//! `provisionerd.proto` ([`proto`]); the crate does not depend on the
//! server.

pub mod client;
pub mod daemon;
pub mod echo;
pub mod proto;
pub mod provisioner;
pub mod runner;
pub mod terraform;
pub mod ws;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use client::{ClientError, ProvisionerClient};
pub use daemon::DaemonOptions;
pub use provisioner::Provisioner;

/// The provisioners available on this machine: `echo` always, `terraform`
/// when `terraform` or `tofu` is on `PATH`.
pub fn available_provisioners() -> BTreeMap<String, Arc<dyn Provisioner>> {
    let mut m: BTreeMap<String, Arc<dyn Provisioner>> = BTreeMap::new();
    m.insert("echo".into(), Arc::new(echo::Echo));
    if let Some(tf) = terraform::Terraform::detect() {
        m.insert("terraform".into(), Arc::new(tf));
    }
    m
}
