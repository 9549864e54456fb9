//! Coder's wire types, in the shapes of upstream's `codersdk` Go package,
//! and a typed async client for them.
//!
//! Every server response body is one of these structs; the server never
//! builds JSON by hand. Field names and JSON keys follow upstream exactly so
//! scripts written against Coder's API reference work unchanged.

pub mod apikeys;
pub mod appearance;
pub mod audit;
pub mod buildinfo;
pub mod client;
pub mod entitlements;
pub mod files;
pub mod groups;
pub mod idpsync;
pub mod licenses;
pub mod logstream;
pub mod organizations;
pub mod provisioning;
pub mod quota;
pub mod replicas;
pub mod response;
pub mod scim;
pub mod templates;
pub mod users;
pub mod workspaces;

pub use apikeys::*;
pub use appearance::*;
pub use audit::*;
pub use buildinfo::*;
pub use client::{read_error_parts, Client, ClientError};
pub use entitlements::*;
pub use files::*;
pub use groups::*;
pub use idpsync::*;
pub use licenses::*;
pub use organizations::*;
pub use provisioning::*;
pub use quota::*;
pub use replicas::*;
pub use response::*;
pub use scim::*;
pub use templates::*;
pub use users::*;
pub use workspaces::*;

/// The header that carries a session token (`Coder-Session-Token`).
pub const SESSION_TOKEN_HEADER: &str = "Coder-Session-Token";
/// The cookie and query parameter that carry a session token.
pub const SESSION_TOKEN_COOKIE: &str = "coder_session_token";
