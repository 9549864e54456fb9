//! A typed async client for the Coder API, used by the CLI and the tests.

use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::*;

/// What a client call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a non-success status and Coder's error body.
    #[error("{status}: {}{}", response.message, if response.detail.is_empty() { String::new() } else { format!(" ({})", response.detail) })]
    Api {
        status: StatusCode,
        response: Response,
    },
    /// The server could not be reached.
    #[error("could not reach {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// Any other transport or decoding error.
    #[error("{0}")]
    Other(String),
}

impl ClientError {
    /// The HTTP status, for `Api` errors.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A client for one deployment, optionally with a session token.
///
/// `Debug` shows the base URL but never the token (a [`SecretString`]
/// prints `[REDACTED]`).
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    token: Option<SecretString>,
    http: reqwest::Client,
}

impl Client {
    /// A client for `base_url` (e.g. `http://127.0.0.1:3000`). Requests
    /// carry `User-Agent: coderd-rs/<version>`, so the audit log names the
    /// client.
    pub fn new(base_url: &str) -> Client {
        let http = reqwest::Client::builder()
            .user_agent(concat!("coderd-rs/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Client {
            base: base_url.trim_end_matches('/').to_owned(),
            token: None,
            http,
        }
    }

    /// The same client carrying `token` in `Coder-Session-Token`.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(SecretString::from(token.into()));
        self
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// The session token, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.expose_secret())
    }

    /// Sends a request and returns the raw response (any status).
    pub async fn raw<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, ClientError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self.http.request(method, &url);
        if let Some(t) = &self.token {
            req = req.header(SESSION_TOKEN_HEADER, t.expose_secret());
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.map_err(|e| {
            if e.is_connect() || e.is_timeout() {
                ClientError::Unreachable {
                    url: self.base.clone(),
                    source: e,
                }
            } else {
                ClientError::Other(e.to_string())
            }
        })
    }

    /// Sends a request; a status outside 2xx becomes [`ClientError::Api`].
    pub async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<reqwest::Response, ClientError> {
        let res = self.raw(method, path, body).await?;
        if res.status().is_success() || res.status() == StatusCode::SWITCHING_PROTOCOLS {
            return Ok(res);
        }
        Err(read_error(res).await)
    }

    /// Sends a request and decodes a JSON success body.
    pub async fn json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let res = self.send(method, path, body).await?;
        res.json::<T>()
            .await
            .map_err(|e| ClientError::Other(format!("decode response: {e}")))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.json::<(), T>(Method::GET, path, None).await
    }

    // ------------------------------------------------------------ endpoints

    /// `GET /api/v2/buildinfo`.
    pub async fn build_info(&self) -> Result<BuildInfoResponse, ClientError> {
        self.get("/api/v2/buildinfo").await
    }

    /// `GET /api/v2/users/first`: whether the first user exists.
    pub async fn has_first_user(&self) -> Result<bool, ClientError> {
        let res = self
            .raw::<()>(Method::GET, "/api/v2/users/first", None)
            .await?;
        match res.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(read_error(res).await),
        }
    }

    /// `GET /api/v2/users/authmethods`: the sign-in methods on offer.
    pub async fn auth_methods(&self) -> Result<AuthMethods, ClientError> {
        self.json::<(), _>(Method::GET, "/api/v2/users/authmethods", None)
            .await
    }

    /// `POST /api/v2/users/first`.
    pub async fn create_first_user(
        &self,
        req: &CreateFirstUserRequest,
    ) -> Result<CreateFirstUserResponse, ClientError> {
        self.json(Method::POST, "/api/v2/users/first", Some(req))
            .await
    }

    /// `POST /api/v2/users/login`.
    pub async fn login(
        &self,
        req: &LoginWithPasswordRequest,
    ) -> Result<LoginWithPasswordResponse, ClientError> {
        self.json(Method::POST, "/api/v2/users/login", Some(req))
            .await
    }

    /// `POST /api/v2/users/logout`.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.send::<()>(Method::POST, "/api/v2/users/logout", None)
            .await?;
        Ok(())
    }

    /// `GET /api/v2/users/{user}` (`me`, a username or an id).
    pub async fn user(&self, user: &str) -> Result<User, ClientError> {
        self.get(&format!("/api/v2/users/{user}")).await
    }

    /// `GET /api/v2/users?q=...`.
    pub async fn users(&self, q: &str) -> Result<GetUsersResponse, ClientError> {
        let mut url = reqwest::Url::parse("http://x/api/v2/users").expect("static url");
        if !q.is_empty() {
            url.query_pairs_mut().append_pair("q", q);
        }
        let path = match url.query() {
            Some(query) => format!("{}?{}", url.path(), query),
            None => url.path().to_owned(),
        };
        self.get(&path).await
    }

    /// `GET /api/v2/audit?q=...&limit=...&offset=...` (owner, auditor).
    pub async fn audit_logs(
        &self,
        q: &str,
        limit: i64,
        offset: i64,
    ) -> Result<AuditLogResponse, ClientError> {
        let mut url = reqwest::Url::parse("http://x/api/v2/audit").expect("static url");
        {
            let mut pairs = url.query_pairs_mut();
            if !q.is_empty() {
                pairs.append_pair("q", q);
            }
            if limit > 0 {
                pairs.append_pair("limit", &limit.to_string());
            }
            if offset > 0 {
                pairs.append_pair("offset", &offset.to_string());
            }
        }
        let path = match url.query() {
            Some(query) if !query.is_empty() => format!("{}?{}", url.path(), query),
            _ => url.path().to_owned(),
        };
        self.get(&path).await
    }

    /// `POST /api/v2/users`.
    pub async fn create_user(&self, req: &CreateUserRequest) -> Result<User, ClientError> {
        self.json(Method::POST, "/api/v2/users", Some(req)).await
    }

    /// `PUT /api/v2/users/{user}/status/{suspend|activate}`. Upstream has
    /// no route that makes a user `dormant` (only the inactivity job does),
    /// so `Dormant` asks for `activate` like `Active`.
    pub async fn update_user_status(
        &self,
        user: &str,
        status: UserStatus,
    ) -> Result<User, ClientError> {
        let action = match status {
            UserStatus::Active | UserStatus::Dormant => "activate",
            UserStatus::Suspended => "suspend",
        };
        self.json::<(), User>(
            Method::PUT,
            &format!("/api/v2/users/{user}/status/{action}"),
            None,
        )
        .await
    }

    /// `PUT /api/v2/users/{user}/roles`.
    pub async fn update_user_roles(&self, user: &str, roles: &[&str]) -> Result<User, ClientError> {
        let req = UpdateRoles {
            roles: roles.iter().map(|r| r.to_string()).collect(),
        };
        self.json(
            Method::PUT,
            &format!("/api/v2/users/{user}/roles"),
            Some(&req),
        )
        .await
    }

    /// `POST /api/v2/users/{user}/keys/tokens`.
    pub async fn create_token(
        &self,
        user: &str,
        req: &CreateTokenRequest,
    ) -> Result<GenerateAPIKeyResponse, ClientError> {
        self.json(
            Method::POST,
            &format!("/api/v2/users/{user}/keys/tokens"),
            Some(req),
        )
        .await
    }

    /// `GET /api/v2/users/{user}/organizations`.
    pub async fn organizations_by_user(
        &self,
        user: &str,
    ) -> Result<Vec<Organization>, ClientError> {
        self.get(&format!("/api/v2/users/{user}/organizations"))
            .await
    }

    /// `GET /api/v2/organizations/{organization}`.
    pub async fn organization(&self, org: &str) -> Result<Organization, ClientError> {
        self.get(&format!("/api/v2/organizations/{org}")).await
    }

    /// `GET /api/v2/organizations/{organization}/members`.
    pub async fn organization_members(
        &self,
        org: Uuid,
    ) -> Result<Vec<OrganizationMemberWithUserData>, ClientError> {
        self.get(&format!("/api/v2/organizations/{org}/members"))
            .await
    }
}

/// Reads Coder's error body from a failed response (or makes one from the
/// status line when the body is not JSON).
pub async fn read_error(res: reqwest::Response) -> ClientError {
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let response = serde_json::from_str::<Response>(&text).unwrap_or_else(|_| Response {
        message: if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            text.trim().to_owned()
        },
        ..Default::default()
    });
    ClientError::Api { status, response }
}

/// Enterprise: appearance, entitlements and licenses.
impl Client {
    /// `GET /api/v2/appearance`.
    pub async fn appearance(&self) -> Result<AppearanceConfig, ClientError> {
        self.json::<(), _>(Method::GET, "/api/v2/appearance", None)
            .await
    }

    /// `PUT /api/v2/appearance` (owner); returns the stored config.
    pub async fn update_appearance(
        &self,
        req: &AppearanceConfig,
    ) -> Result<AppearanceConfig, ClientError> {
        self.json(Method::PUT, "/api/v2/appearance", Some(req))
            .await
    }

    /// `GET /api/v2/entitlements` (no login needed).
    pub async fn entitlements(&self) -> Result<Entitlements, ClientError> {
        self.json::<(), _>(Method::GET, "/api/v2/entitlements", None)
            .await
    }

    /// `POST /api/v2/licenses` (owner) with a license JWT.
    pub async fn add_license(&self, license: &str) -> Result<License, ClientError> {
        let req = AddLicenseRequest {
            license: license.to_owned(),
        };
        self.json(Method::POST, "/api/v2/licenses", Some(&req))
            .await
    }

    /// `GET /api/v2/licenses` (owner sees all, others none).
    pub async fn licenses(&self) -> Result<Vec<License>, ClientError> {
        self.json::<(), _>(Method::GET, "/api/v2/licenses", None)
            .await
    }

    /// `DELETE /api/v2/licenses/{id}` (owner). The server answers 200 with
    /// an empty body.
    pub async fn delete_license(&self, id: i32) -> Result<(), ClientError> {
        self.send::<()>(Method::DELETE, &format!("/api/v2/licenses/{id}"), None)
            .await?;
        Ok(())
    }
}

/// Groups (`/organizations/{organization}/groups`, `/groups/{group}`).
impl Client {
    /// `GET /api/v2/organizations/{organization}/groups`.
    pub async fn groups(&self, org: &str) -> Result<Vec<Group>, ClientError> {
        self.json::<(), _>(
            Method::GET,
            &format!("/api/v2/organizations/{org}/groups"),
            None,
        )
        .await
    }

    /// `POST /api/v2/organizations/{organization}/groups`.
    pub async fn create_group(
        &self,
        org: &str,
        req: &CreateGroupRequest,
    ) -> Result<Group, ClientError> {
        self.json(
            Method::POST,
            &format!("/api/v2/organizations/{org}/groups"),
            Some(req),
        )
        .await
    }

    /// `GET /api/v2/organizations/{organization}/groups/{groupName}`.
    pub async fn group_by_name(&self, org: &str, name: &str) -> Result<Group, ClientError> {
        self.json::<(), _>(
            Method::GET,
            &format!("/api/v2/organizations/{org}/groups/{name}"),
            None,
        )
        .await
    }

    /// `PATCH /api/v2/groups/{group}`.
    pub async fn patch_group(
        &self,
        group: Uuid,
        req: &PatchGroupRequest,
    ) -> Result<Group, ClientError> {
        self.json(Method::PATCH, &format!("/api/v2/groups/{group}"), Some(req))
            .await
    }

    /// `DELETE /api/v2/groups/{group}`.
    pub async fn delete_group(&self, group: Uuid) -> Result<(), ClientError> {
        self.send::<()>(Method::DELETE, &format!("/api/v2/groups/{group}"), None)
            .await?;
        Ok(())
    }
}

/// Files, templates, workspaces, builds and provisioner daemons.
impl Client {
    /// `POST /api/v2/files` with a tar archive; the id (new or existing).
    pub async fn upload_file(&self, tar: Vec<u8>) -> Result<UploadResponse, ClientError> {
        let url = format!("{}/api/v2/files", self.base);
        let mut req = self
            .http
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE_TAR)
            .body(tar);
        if let Some(t) = &self.token {
            req = req.header(SESSION_TOKEN_HEADER, t.expose_secret());
        }
        let res = req.send().await.map_err(|e| ClientError::Unreachable {
            url: self.base.clone(),
            source: e,
        })?;
        if !res.status().is_success() {
            return Err(read_error(res).await);
        }
        res.json()
            .await
            .map_err(|e| ClientError::Other(format!("decode response: {e}")))
    }

    /// `POST /api/v2/organizations/{org}/templateversions`.
    pub async fn create_template_version(
        &self,
        org: &str,
        req: &CreateTemplateVersionRequest,
    ) -> Result<TemplateVersion, ClientError> {
        self.json(
            Method::POST,
            &format!("/api/v2/organizations/{org}/templateversions"),
            Some(req),
        )
        .await
    }

    /// `GET /api/v2/templateversions/{id}`.
    pub async fn template_version(&self, id: Uuid) -> Result<TemplateVersion, ClientError> {
        self.get(&format!("/api/v2/templateversions/{id}")).await
    }

    /// `GET /api/v2/templateversions/{id}/resources`.
    pub async fn template_version_resources(
        &self,
        id: Uuid,
    ) -> Result<Vec<WorkspaceResource>, ClientError> {
        self.get(&format!("/api/v2/templateversions/{id}/resources"))
            .await
    }

    /// `GET /api/v2/templateversions/{id}/logs?after=N`.
    pub async fn template_version_logs(
        &self,
        id: Uuid,
        after: i64,
    ) -> Result<Vec<ProvisionerJobLog>, ClientError> {
        self.get(&format!("/api/v2/templateversions/{id}/logs?after={after}"))
            .await
    }

    /// Follows a template version's import logs until the job finishes.
    pub async fn template_version_logs_follow(
        &self,
        id: Uuid,
        after: i64,
    ) -> Result<crate::logstream::LogStream, ClientError> {
        crate::logstream::LogStream::connect(
            self,
            &format!("/api/v2/templateversions/{id}/logs"),
            after,
        )
        .await
    }

    /// `POST /api/v2/organizations/{org}/templates`.
    pub async fn create_template(
        &self,
        org: &str,
        req: &CreateTemplateRequest,
    ) -> Result<Template, ClientError> {
        self.json(
            Method::POST,
            &format!("/api/v2/organizations/{org}/templates"),
            Some(req),
        )
        .await
    }

    /// `GET /api/v2/organizations/{org}/templates`.
    pub async fn templates(&self, org: &str) -> Result<Vec<Template>, ClientError> {
        self.get(&format!("/api/v2/organizations/{org}/templates"))
            .await
    }

    /// `GET /api/v2/organizations/{org}/templates/{name}`.
    pub async fn template_by_name(&self, org: &str, name: &str) -> Result<Template, ClientError> {
        self.get(&format!("/api/v2/organizations/{org}/templates/{name}"))
            .await
    }

    /// `GET /api/v2/templates/{id}`.
    pub async fn template(&self, id: Uuid) -> Result<Template, ClientError> {
        self.get(&format!("/api/v2/templates/{id}")).await
    }

    /// `PATCH /api/v2/templates/{id}/versions`: promotes a version.
    pub async fn update_active_template_version(
        &self,
        template: Uuid,
        version: Uuid,
    ) -> Result<(), ClientError> {
        self.send(
            Method::PATCH,
            &format!("/api/v2/templates/{template}/versions"),
            Some(&UpdateActiveTemplateVersion { id: Some(version) }),
        )
        .await?;
        Ok(())
    }

    /// `POST /api/v2/organizations/{org}/members/{user}/workspaces`.
    pub async fn create_workspace(
        &self,
        org: &str,
        user: &str,
        req: &CreateWorkspaceRequest,
    ) -> Result<Workspace, ClientError> {
        self.json(
            Method::POST,
            &format!("/api/v2/organizations/{org}/members/{user}/workspaces"),
            Some(req),
        )
        .await
    }

    /// `GET /api/v2/workspaces?q=...`.
    pub async fn workspaces(&self, q: &str) -> Result<WorkspacesResponse, ClientError> {
        let mut url = reqwest::Url::parse("http://x/api/v2/workspaces").expect("static url");
        if !q.is_empty() {
            url.query_pairs_mut().append_pair("q", q);
        }
        let path = match url.query() {
            Some(query) => format!("{}?{}", url.path(), query),
            None => url.path().to_owned(),
        };
        self.get(&path).await
    }

    /// `GET /api/v2/workspaces/{id}`.
    pub async fn workspace(&self, id: Uuid) -> Result<Workspace, ClientError> {
        self.get(&format!("/api/v2/workspaces/{id}")).await
    }

    /// `GET /api/v2/users/{user}/workspace/{name}`.
    pub async fn workspace_by_owner_and_name(
        &self,
        user: &str,
        name: &str,
    ) -> Result<Workspace, ClientError> {
        self.get(&format!("/api/v2/users/{user}/workspace/{name}"))
            .await
    }

    /// `POST /api/v2/workspaces/{id}/builds`.
    pub async fn create_workspace_build(
        &self,
        workspace: Uuid,
        req: &CreateWorkspaceBuildRequest,
    ) -> Result<WorkspaceBuild, ClientError> {
        self.json(
            Method::POST,
            &format!("/api/v2/workspaces/{workspace}/builds"),
            Some(req),
        )
        .await
    }

    /// `GET /api/v2/workspacebuilds/{id}`.
    pub async fn workspace_build(&self, id: Uuid) -> Result<WorkspaceBuild, ClientError> {
        self.get(&format!("/api/v2/workspacebuilds/{id}")).await
    }

    /// `GET /api/v2/workspacebuilds/{id}/resources`.
    pub async fn workspace_build_resources(
        &self,
        id: Uuid,
    ) -> Result<Vec<WorkspaceResource>, ClientError> {
        self.get(&format!("/api/v2/workspacebuilds/{id}/resources"))
            .await
    }

    /// `GET /api/v2/workspacebuilds/{id}/logs?after=N`.
    pub async fn workspace_build_logs(
        &self,
        id: Uuid,
        after: i64,
    ) -> Result<Vec<ProvisionerJobLog>, ClientError> {
        self.get(&format!("/api/v2/workspacebuilds/{id}/logs?after={after}"))
            .await
    }

    /// Follows a build's logs until the build finishes.
    pub async fn workspace_build_logs_follow(
        &self,
        id: Uuid,
        after: i64,
    ) -> Result<crate::logstream::LogStream, ClientError> {
        crate::logstream::LogStream::connect(
            self,
            &format!("/api/v2/workspacebuilds/{id}/logs"),
            after,
        )
        .await
    }

    /// `PATCH /api/v2/workspacebuilds/{id}/cancel`.
    pub async fn cancel_workspace_build(&self, id: Uuid) -> Result<(), ClientError> {
        self.send::<()>(
            Method::PATCH,
            &format!("/api/v2/workspacebuilds/{id}/cancel"),
            None,
        )
        .await?;
        Ok(())
    }

    /// `GET /api/v2/organizations/{org}/provisionerdaemons`.
    pub async fn provisioner_daemons(
        &self,
        org: &str,
    ) -> Result<Vec<ProvisionerDaemon>, ClientError> {
        self.get(&format!("/api/v2/organizations/{org}/provisionerdaemons"))
            .await
    }
}

/// Builds Coder's error from a status and a body read elsewhere (a failed
/// websocket upgrade).
pub fn read_error_parts(status: u16, body: &[u8]) -> ClientError {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = String::from_utf8_lossy(body);
    let response = serde_json::from_str::<Response>(&text).unwrap_or_else(|_| Response {
        message: if text.trim().is_empty() {
            status.canonical_reason().unwrap_or("error").to_owned()
        } else {
            text.trim().to_owned()
        },
        ..Default::default()
    });
    ClientError::Api { status, response }
}
