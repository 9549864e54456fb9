//! coderd integration tests: the real server over HTTP, every test on
//! SQLite and again on PostgreSQL when `CODER_TEST_POSTGRES_URL` is set.

#[macro_use]
pub mod common;

mod errors;
mod groups;
mod matrix;
mod openapi;
mod organizations;
mod tokens;
mod users;
