//! Users, sessions and roles (`/users/...`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// `codersdk.UserStatus`: `active`, `suspended`, or `dormant` (created but
/// never signed in, or unseen for 90 days; coder-now 3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserStatus {
    Active,
    Suspended,
    Dormant,
}

impl UserStatus {
    /// The wire/database string.
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Active => "active",
            UserStatus::Suspended => "suspended",
            UserStatus::Dormant => "dormant",
        }
    }

    /// Parses the wire/database string.
    pub fn parse(s: &str) -> Option<UserStatus> {
        match s {
            "active" => Some(UserStatus::Active),
            "suspended" => Some(UserStatus::Suspended),
            "dormant" => Some(UserStatus::Dormant),
            _ => None,
        }
    }
}

/// `codersdk.LoginType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoginType {
    Password,
    Github,
    Oidc,
    Token,
    None,
}

impl LoginType {
    /// The wire/database string.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginType::Password => "password",
            LoginType::Github => "github",
            LoginType::Oidc => "oidc",
            LoginType::Token => "token",
            LoginType::None => "none",
        }
    }

    /// Parses the wire/database string (unknown values read as `none`).
    pub fn parse(s: &str) -> LoginType {
        match s {
            "password" => LoginType::Password,
            "github" => LoginType::Github,
            "oidc" => LoginType::Oidc,
            "token" => LoginType::Token,
            _ => LoginType::None,
        }
    }
}

/// `codersdk.Role` (slim form): a role name and its display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Role {
    pub name: String,
    pub display_name: String,
    /// Set for organization-scoped roles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
}

/// `codersdk.User`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    /// Display name (may be empty).
    #[serde(default)]
    pub name: String,
    pub email: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
    pub last_seen_at: DateTime<Utc>,
    pub status: UserStatus,
    #[serde(default = "default_login_type")]
    pub login_type: LoginType,
    pub organization_ids: Vec<Uuid>,
    /// Site-wide roles (`member` is implicit and not listed).
    pub roles: Vec<Role>,
    pub avatar_url: String,
}

fn default_login_type() -> LoginType {
    LoginType::Password
}

/// `GET /users` response: one page and the total count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GetUsersResponse {
    pub users: Vec<User>,
    pub count: i64,
}

/// `POST /users/first` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateFirstUserRequest {
    #[schema(required = true, default, format = Email, max_length = 320)]
    pub email: String,
    #[schema(
        required = true,
        default,
        max_length = 32,
        pattern = r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$"
    )]
    pub username: String,
    #[serde(default)]
    pub name: String,
    #[schema(required = true, default, min_length = 6)]
    pub password: String,
    /// Name of the default organization (upstream's `organization`;
    /// default `coder`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub organization: String,
}

/// `POST /users/first` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreateFirstUserResponse {
    pub user_id: Uuid,
    pub organization_id: Uuid,
}

/// `POST /users` body. `organization_id` defaults to the default
/// organization; `login_type` to `password` (then `password` is required);
/// `user_status` (newer upstream SDK) to `dormant`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CreateUserRequest {
    #[schema(required = true, default, format = Email, max_length = 320)]
    pub email: String,
    #[schema(
        required = true,
        default,
        max_length = 32,
        pattern = r"^[a-zA-Z0-9]+(?:-[a-zA-Z0-9]+)*$"
    )]
    pub username: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_type: Option<LoginType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_status: Option<UserStatus>,
}

/// `PUT /users/{user}/password` body. `old_password` is required when
/// changing one's own password.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateUserPasswordRequest {
    #[serde(default)]
    pub old_password: String,
    #[schema(required = true, default, min_length = 6)]
    pub password: String,
}

/// `PUT /users/{user}/roles` (and member roles) body: the full new list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct UpdateRoles {
    pub roles: Vec<String>,
}

/// `GET /users/{user}/roles` response.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserRoles {
    /// Site-wide role names, `member` included.
    pub roles: Vec<String>,
    /// Organization id -> role names, `organization-member` included.
    pub organization_roles: BTreeMap<Uuid, Vec<String>>,
}

/// `POST /users/login` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct LoginWithPasswordRequest {
    #[schema(required = true, default, format = Email, max_length = 320)]
    pub email: String,
    #[schema(required = true, default)]
    pub password: String,
}

/// `POST /users/login` response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginWithPasswordResponse {
    pub session_token: String,
}

/// `codersdk.AuthMethods`: the sign-in methods `GET /users/authmethods`
/// reports to the login page and the CLI (no session needed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthMethods {
    /// `--terms-of-service-url`; omitted when unset.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub terms_of_service_url: String,
    /// Password login (off with `--disable-password-auth`).
    pub password: AuthMethod,
    /// GitHub OAuth2 login.
    pub github: GithubAuthMethod,
    /// OpenID Connect login, with the button's text and icon.
    pub oidc: OidcAuthMethod,
}

/// `codersdk.AuthMethod`: `{"enabled": bool}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthMethod {
    pub enabled: bool,
}

/// `codersdk.GithubAuthMethod`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GithubAuthMethod {
    pub enabled: bool,
    #[serde(default)]
    pub default_provider_configured: bool,
}

/// `codersdk.OIDCAuthMethod`; note upstream's camelCase `signInText` and
/// `iconUrl`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OidcAuthMethod {
    pub enabled: bool,
    #[serde(rename = "signInText", default)]
    pub sign_in_text: String,
    #[serde(rename = "iconUrl", default)]
    pub icon_url: String,
}
