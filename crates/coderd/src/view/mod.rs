//! Rendering: domain outcomes and rows to `codersdk` wire types, with any
//! extra reads done in batches (no query per row). The first slice of the
//! split of issue 11; the existing `*_to_sdk` helpers in `api/` move here
//! over time.

pub mod apikeys;
pub mod audit;
pub mod groups;
pub mod jobs;
pub mod licenses;
pub mod organizations;
pub mod templates;
pub mod users;
pub mod workspaces;
