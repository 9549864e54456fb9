//! Files: `POST /files` and `GET /files/{fileID}` (Coder API reference,
//! "Files" section). Template source archives are uploaded here before a
//! template version names them by id.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use codersdk::{Response as Message, UploadResponse, CONTENT_TYPE_TAR};

use crate::auth::Auth;
use crate::domain::templates::Uploaded;
use crate::error::{ApiError, ApiResult};
use crate::extract::{parse_uuid, Json, Path};
use crate::rbac::{Action, Resource};
use crate::state::AppState;

/// Upstream's upload limit: 100 MiB (`--max-file-size` is not a flag; the
/// config field lets tests lower it).
pub const DEFAULT_MAX_FILE_SIZE: usize = 10 * (10 << 20);

/// Reads the whole upload, up to `limit` bytes (413 beyond).
async fn read_upload(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    use crate::extract::{read_bytes, BodyReadError};
    read_bytes(req, limit).await.map_err(|e| match e {
        BodyReadError::TooLarge => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "File is too large.")
                .detail(format!("Files must be at most {limit} bytes."))
        }
        BodyReadError::TimedOut => {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, "Request body read timed out.")
                .detail("The client sent no part of the file for too long.")
        }
        BodyReadError::Other(detail) => {
            ApiError::bad_request("Failed to read file from request.").detail(detail)
        }
    })
}

/// The `POST /files` body in the OpenAPI document: the raw bytes of a tar
/// archive (`type: string`, `format: binary`, `contentMediaType:
/// application/x-tar`; OpenAPI 3.1 §4.8.14.3), not a JSON value.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = "binary", content_media_type = "application/x-tar",
    description = "A tar archive, sent as raw bytes.")]
pub struct TarArchive(#[allow(dead_code)] Vec<u8>);

/// `POST /files`: stores a tar archive (`Content-Type: application/x-tar`,
/// at most 100 MiB). The same bytes uploaded again by the same user answer
/// 200 with the existing id; a new file answers 201. Other content types ->
/// 400 `Unsupported content type header "<ct>".`; needs create on files
/// (owner, template-admin) else 403.
#[utoipa::path(post, path = "/api/v2/files", tag = "Files",
    request_body(content = inline(TarArchive), content_type = "application/x-tar", description = "A tar archive (raw bytes)"),
    responses((status = 201, body = UploadResponse), (status = 200, body = UploadResponse),
        (status = 400, body = Message), (status = 403, body = Message), (status = 413, body = Message)))]
pub async fn post_file(
    State(state): State<AppState>,
    auth: Auth,
    req: Request,
) -> ApiResult<Response> {
    let actor = auth.actor();
    actor.require(Action::Create, &Resource::File.owned_by(auth.user.id))?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case(CONTENT_TYPE_TAR) {
        return Err(ApiError::bad_request(format!(
            "Unsupported content type header {content_type:?}."
        ))
        .detail(format!("Upload template archives as {CONTENT_TYPE_TAR}.")));
    }
    let data = read_upload(req, state.config.max_file_size).await?;
    let uploaded =
        crate::domain::templates::upload_file(&state, &actor, CONTENT_TYPE_TAR, data.to_vec())
            .await?;
    Ok(match uploaded {
        Uploaded::Created(id) => (StatusCode::CREATED, Json(UploadResponse { id })).into_response(),
        Uploaded::Existing(id) => (StatusCode::OK, Json(UploadResponse { id })).into_response(),
    })
}

/// `GET /files/{fileID}`: the file's bytes with its content type. Readable
/// by its uploader and by template admins; anyone else -> 404 stock.
#[utoipa::path(get, path = "/api/v2/files/{fileID}", tag = "Files",
    params(("fileID" = uuid::Uuid, Path, description = "File ID")),
    responses((status = 200, description = "The file", content_type = "application/x-tar"),
        (status = 400, body = Message), (status = 404, body = Message)))]
pub async fn get_file(
    State(state): State<AppState>,
    auth: Auth,
    Path(file_id): Path<String>,
) -> ApiResult<Response> {
    let file =
        crate::domain::templates::get_file(&state, &auth.actor(), parse_uuid(&file_id)?).await?;
    let ct = HeaderValue::from_str(&file.mimetype)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok(([(header::CONTENT_TYPE, ct)], file.data).into_response())
}
