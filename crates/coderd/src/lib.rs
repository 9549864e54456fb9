//! The coderd-rs server library: configuration, the router, authentication,
//! RBAC and the API handlers. `cli` wraps it in the `coderd` binary; the
//! integration tests start it in-process on `127.0.0.1:0`.
//!
//! Request flow: axum router -> entitlement gate on Enterprise route groups
//! ([`entitlements::gated`]) -> [`auth::Auth`] extractor (session token ->
//! user + [`rbac::Subject`]) -> handler -> [`store::Store`] -> rows ->
//! `codersdk` type -> JSON ([`extract::Json`]).

pub mod api;
pub mod auth;
pub mod cliauth;
pub mod config;
pub mod domain;
pub mod dormancy;
pub mod entitlements;
pub mod error;
pub mod extract;
pub mod health;
pub mod licensing;
pub mod metrics;
pub mod middleware;
pub mod oidc;
pub mod provisioning;
pub mod rbac;
pub mod replicas;
pub mod retention;
pub mod scim;
pub mod server;
pub mod sessions;
pub mod site;
pub mod state;
pub mod template_access;
#[cfg(feature = "testutil")]
pub mod testutil;
pub mod userpassword;
pub mod view;

pub use config::Config;
pub use server::{run, Server};
pub use state::AppState;
