//! coderd integration tests: the real server over HTTP, every test on
//! SQLite and again on PostgreSQL when `CODER_TEST_POSTGRES_URL` is set.

#[macro_use]
pub mod common;

mod appearance;
mod audit;
mod audit_admin;
mod audit_builds;
mod audit_groups;
mod concurrency;
mod dashboard;
mod dbfaults;
mod entitlements;
mod errors;
mod groups;
mod hardening;
mod hostile;
mod licenses;
mod matrix;
mod oidc;
mod openapi;
mod organizations;
mod prov;
mod provisioners;
mod queries;
mod quota;
mod replicas;
mod scim;
mod secrets;
mod sessions;
mod templates;
mod tokens;
mod users;
mod workspaces;
