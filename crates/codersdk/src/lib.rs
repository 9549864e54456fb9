//! Coder's wire types, in the shapes of upstream's `codersdk` Go package,
//! and a typed async client for them.
//!
//! Every server response body is one of these structs; the server never
//! builds JSON by hand. Field names and JSON keys follow upstream exactly so
//! scripts written against Coder's API reference work unchanged.

pub mod apikeys;
pub mod buildinfo;
pub mod client;
pub mod groups;
pub mod organizations;
pub mod response;
pub mod users;

pub use apikeys::*;
pub use buildinfo::*;
pub use client::{Client, ClientError};
pub use groups::*;
pub use organizations::*;
pub use response::*;
pub use users::*;

/// The header that carries a session token (`Coder-Session-Token`).
pub const SESSION_TOKEN_HEADER: &str = "Coder-Session-Token";
/// The cookie and query parameter that carry a session token.
pub const SESSION_TOKEN_COOKIE: &str = "coder_session_token";
