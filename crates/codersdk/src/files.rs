//! Uploaded files (`/files`): template source archives.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The only content type `POST /files` accepts (a tar archive).
pub const CONTENT_TYPE_TAR: &str = "application/x-tar";

/// `codersdk.UploadResponse`: the id of the stored file. Upstream names the
/// JSON key `hash` for historical reasons; it holds the file's UUID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UploadResponse {
    #[serde(rename = "hash")]
    pub id: Uuid,
}
