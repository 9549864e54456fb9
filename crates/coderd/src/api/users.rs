//! Users: `/users/first`, `/users/login`, `/users/logout`, `/users`,
//! `/users/{user}`, status, roles and password (Coder API reference,
//! "Users" section).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use codersdk::{
    CreateFirstUserRequest, CreateFirstUserResponse, CreateUserRequest, GetUsersResponse,
    LoginType, LoginWithPasswordRequest, LoginWithPasswordResponse, Response as Message,
    UpdateRoles, UpdateUserPasswordRequest, User, UserRoles, UserStatus, SESSION_TOKEN_COOKIE,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use super::validate::{self, Validator};
use crate::auth::Auth;
use crate::domain::{self, AuditContext};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::rbac::{Action, Resource};
use crate::state::AppState;
use crate::view::users::{store_status, to_sdk, user_with_orgs, users_with_orgs};

/// `GET /users/first`: 200 once the first user exists, else 404.
#[utoipa::path(get, path = "/api/v2/users/first", tag = "Users",
    responses((status = 200, body = Message), (status = 404, body = Message)))]
pub async fn get_first_user(State(state): State<AppState>) -> ApiResult<Json<Message>> {
    if domain::users::first_user_exists(&state).await? {
        Ok(Json(Message::message(
            "The initial user has already been created!",
        )))
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "The initial user has not been created!",
        ))
    }
}

/// `POST /users/first`: creates the `owner` and the default organization
/// (name from `organization`, default `coder`). 409 once a user exists.
#[utoipa::path(post, path = "/api/v2/users/first", tag = "Users",
    request_body = CreateFirstUserRequest,
    responses((status = 201, body = CreateFirstUserResponse), (status = 400, body = Message), (status = 409, body = Message)))]
pub async fn post_first_user(
    State(state): State<AppState>,
    Json(req): Json<CreateFirstUserRequest>,
) -> ApiResult<(StatusCode, Json<CreateFirstUserResponse>)> {
    if domain::users::first_user_exists(&state).await? {
        return Err(ApiError::conflict(
            "The initial user has already been created.",
        ));
    }
    Validator::new()
        .required("email", &req.email)
        .email("email", &req.email)
        .required("username", &req.username)
        .username("username", &req.username)
        .required("password", &req.password)
        .real_name("name", &req.name)
        .username("organization", &req.organization)
        .finish()?;
    validate::password("password", &req.password)?;
    let (user, org) = domain::users::create_first_user(
        &state,
        domain::users::FirstUser {
            email: req.email,
            username: req.username,
            name: req.name,
            password: req.password,
            organization: req.organization,
        },
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreateFirstUserResponse {
            user_id: user.id,
            organization_id: org.id,
        }),
    ))
}

/// The `coder_session_token` cookie: HttpOnly, SameSite=Lax, path `/`,
/// Secure when the access URL is https; `max_age` in seconds (`Some(0)`
/// clears it).
pub fn session_cookie(state: &AppState, token: &str, max_age: Option<i64>) -> HeaderValue {
    let mut c = cookie::Cookie::new(SESSION_TOKEN_COOKIE, token.to_owned());
    c.set_path("/");
    c.set_http_only(true);
    c.set_same_site(cookie::SameSite::Lax);
    c.set_secure(crate::site::secure_cookies(state));
    if let Some(secs) = max_age {
        c.set_max_age(cookie::time::Duration::seconds(secs));
    }
    HeaderValue::from_str(&c.to_string()).expect("cookie is ASCII")
}

/// `POST /users/login`: email and password -> 201 `{session_token}` (also
/// set as the `coder_session_token` cookie). 401
/// `Incorrect email or password.`; 403 `Incorrect login type, ...` for a
/// user whose login type is not `password`; 401 for a suspended account;
/// 403 `Password authentication is disabled.` with `--disable-password-auth`.
/// A `dormant` user signs in and becomes `active` (coder-now 3.3); the
/// login records `last_seen_at`.
#[utoipa::path(post, path = "/api/v2/users/login", tag = "Authorization",
    request_body = LoginWithPasswordRequest,
    responses((status = 201, body = LoginWithPasswordResponse), (status = 401, body = Message),
        (status = 403, body = Message)))]
pub async fn post_login(
    State(state): State<AppState>,
    ctx: AuditContext,
    Json(req): Json<LoginWithPasswordRequest>,
) -> ApiResult<Response> {
    Validator::new()
        .required("email", &req.email)
        .email("email", &req.email)
        .required("password", &req.password)
        .finish()?;
    let done = domain::users::login(&state, &ctx, &req.email, &req.password).await?;
    Ok((
        StatusCode::CREATED,
        [(
            header::SET_COOKIE,
            session_cookie(&state, &done.token, Some(done.lifetime.as_secs() as i64)),
        )],
        Json(LoginWithPasswordResponse {
            session_token: done.token,
        }),
    )
        .into_response())
}

/// `POST /users/logout`: deletes the calling session's key and clears the
/// cookie; 200 `Logged out!`.
#[utoipa::path(post, path = "/api/v2/users/logout", tag = "Users",
    responses((status = 200, body = Message), (status = 401, body = Message)))]
pub async fn post_logout(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
) -> ApiResult<Response> {
    domain::users::logout(&state, &auth.actor(), &ctx, &auth.key.id).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&state, "", Some(0)))],
        Json(Message::message("Logged out!")),
    )
        .into_response())
}

/// `GET /users` query: `q` (search terms and `status:` / `role:` /
/// `username:` / `email:` filters), `limit`, `offset`, `after_id`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct UsersQuery {
    /// Search query, e.g. `alice status:active role:owner`.
    pub q: String,
    /// Page size (0 = everything).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
    /// Only users after this one (keyset paging).
    pub after_id: Option<Uuid>,
}

fn parse_user_query(q: &str) -> ApiResult<store::UserFilter> {
    let mut f = store::UserFilter::default();
    let mut search: Vec<String> = Vec::new();
    let mut bad = Vec::new();
    for term in q.split_whitespace() {
        match term.split_once(':') {
            Some(("status", list)) => {
                for v in list.split(',').filter(|v| !v.is_empty()) {
                    match UserStatus::parse(&v.to_lowercase()) {
                        Some(s) => f.status.push(store_status(s)),
                        None => bad.push(codersdk::ValidationError {
                            field: "status".into(),
                            detail: format!("Query param \"status\" has invalid value: {v:?} is not a valid user status"),
                        }),
                    }
                }
            }
            Some(("role", v)) => f.role = Some(v.to_owned()),
            Some(("username", v)) | Some(("email", v)) => search.push(v.to_owned()),
            Some((k, _)) => bad.push(codersdk::ValidationError {
                field: k.to_owned(),
                detail: format!("{k:?} is not a valid query param"),
            }),
            None => search.push(term.to_owned()),
        }
    }
    if !bad.is_empty() {
        return Err(ApiError::bad_request("Invalid user search query.").validations(bad));
    }
    if !search.is_empty() {
        f.search = Some(search.join(" "));
    }
    Ok(f)
}

/// `GET /users`: one page of users and the total count. Every signed-in
/// user may list users (upstream's `member` role reads all users).
#[utoipa::path(get, path = "/api/v2/users", tag = "Users", params(UsersQuery),
    responses((status = 200, body = GetUsersResponse), (status = 400, body = Message), (status = 401, body = Message)))]
pub async fn get_users(
    State(state): State<AppState>,
    auth: Auth,
    Query(q): Query<UsersQuery>,
) -> ApiResult<Json<GetUsersResponse>> {
    let mut f = parse_user_query(&q.q)?;
    (f.limit, f.offset) = validate::paging(q.limit, q.offset)?;
    f.after_id = q.after_id;
    let (users, count) = domain::users::list(&state, &auth.actor(), &f).await?;
    Ok(Json(GetUsersResponse {
        users: users_with_orgs(&state, &users).await?,
        count,
    }))
}

/// `POST /users` (owner, user-admin): 201 User. The user joins
/// `organization_id` (default: the default organization) with status
/// `user_status`, default `dormant` until their first login or request
/// (coder-now 3.1). 409 `User already exists.`
#[utoipa::path(post, path = "/api/v2/users", tag = "Users", request_body = CreateUserRequest,
    responses((status = 201, body = User), (status = 400, body = Message), (status = 403, body = Message), (status = 409, body = Message)))]
pub async fn post_user(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Json(req): Json<CreateUserRequest>,
) -> ApiResult<(StatusCode, Json<User>)> {
    auth.require(Action::Create, &Resource::User.any())?;
    let login_type = req.login_type.unwrap_or(LoginType::Password);
    let mut v = Validator::new();
    v.required("email", &req.email)
        .email("email", &req.email)
        .required("username", &req.username)
        .username("username", &req.username)
        .real_name("name", &req.name);
    match login_type {
        LoginType::Password => {
            v.required("password", &req.password);
        }
        LoginType::None | LoginType::Oidc | LoginType::Github => {
            if !req.password.is_empty() {
                v.push(
                    "password",
                    format!(
                        "Password cannot be set for login type {:?}.",
                        login_type.as_str()
                    ),
                );
            }
        }
        LoginType::Token => {
            v.push(
                "login_type",
                "Login type \"token\" cannot be given to a user.",
            );
        }
    }
    v.finish()?;
    if login_type == LoginType::Password {
        validate::password("password", &req.password)?;
    }
    let input = domain::users::NewUser {
        email: req.email,
        username: req.username,
        name: req.name,
        password: req.password,
        login_type: login_type.as_str().to_owned(),
        // Upstream's insert default: "created but never signed in".
        status: req
            .user_status
            .map(store_status)
            .unwrap_or(store::UserStatus::Dormant),
        organization_id: req.organization_id,
    };
    let created = domain::users::create_user(
        &state,
        &auth.actor(),
        &ctx,
        domain::users::CreateUser::Api(input),
    )
    .await?;
    let domain::users::CreatedUser::Api {
        user,
        organization_id,
    } = created
    else {
        return Err(ApiError::internal("create_user: not an API user"));
    };
    Ok((
        StatusCode::CREATED,
        Json(to_sdk(&user, vec![organization_id])),
    ))
}

/// `GET /users/{user}`.
#[utoipa::path(get, path = "/api/v2/users/{user}", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = User), (status = 400, body = Message), (status = 401, body = Message)))]
pub async fn get_user(
    State(state): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
) -> ApiResult<Json<User>> {
    let u = domain::users::get(&state, &auth.actor(), &auth.user, &user).await?;
    if u.id == auth.user.id {
        // The caller: their memberships came with the (cached) session.
        let orgs = auth.memberships.iter().map(|m| m.organization_id);
        return Ok(Json(to_sdk(&u, orgs.collect())));
    }
    Ok(Json(user_with_orgs(&state, &u).await?))
}

async fn set_status(
    state: &AppState,
    auth: &Auth,
    ctx: &AuditContext,
    raw: &str,
    status: UserStatus,
) -> ApiResult<Json<User>> {
    let u = domain::lookup::resolve_user(state, &auth.user, raw).await?;
    let updated =
        domain::users::set_status(state, &auth.actor(), ctx, &u, store_status(status)).await?;
    Ok(Json(user_with_orgs(state, &updated).await?))
}

/// `PUT /users/{user}/status/suspend` (owner, user-admin): the user's
/// tokens are refused from now on. 400 `You cannot suspend yourself.`, and
/// 400 for a user with the `owner` role (remove the role first).
#[utoipa::path(put, path = "/api/v2/users/{user}/status/suspend", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = User), (status = 400, body = Message), (status = 403, body = Message)))]
pub async fn put_user_suspend(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(user): Path<String>,
) -> ApiResult<Json<User>> {
    set_status(&state, &auth, &ctx, &user, UserStatus::Suspended).await
}

/// `PUT /users/{user}/status/activate` (owner, user-admin).
#[utoipa::path(put, path = "/api/v2/users/{user}/status/activate", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = User), (status = 400, body = Message), (status = 403, body = Message)))]
pub async fn put_user_activate(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(user): Path<String>,
) -> ApiResult<Json<User>> {
    set_status(&state, &auth, &ctx, &user, UserStatus::Active).await
}

/// `GET /users/{user}/roles`: site roles (with `member`) and organization
/// roles (with `organization-member`).
#[utoipa::path(get, path = "/api/v2/users/{user}/roles", tag = "Members",
    params(("user" = String, Path, description = "User ID, username, or me")),
    responses((status = 200, body = UserRoles), (status = 400, body = Message)))]
pub async fn get_user_roles(
    State(state): State<AppState>,
    auth: Auth,
    Path(user): Path<String>,
) -> ApiResult<Json<UserRoles>> {
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let subject = domain::users::roles_of(&state, &auth.actor(), &u).await?;
    Ok(Json(UserRoles {
        roles: subject.site_roles,
        organization_roles: subject.org_roles.into_iter().collect(),
    }))
}

/// `PUT /users/{user}/roles`: replaces the site roles. Unknown role -> 400;
/// a role the caller may not grant or revoke -> 403; own roles -> 400
/// `You cannot change your own roles.`
#[utoipa::path(put, path = "/api/v2/users/{user}/roles", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    request_body = UpdateRoles,
    responses((status = 200, body = User), (status = 400, body = Message), (status = 403, body = Message)))]
pub async fn put_user_roles(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(user): Path<String>,
    Json(req): Json<UpdateRoles>,
) -> ApiResult<Json<User>> {
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    let updated = domain::users::set_roles(&state, &auth.actor(), &ctx, &u, &req.roles).await?;
    Ok(Json(user_with_orgs(&state, &updated).await?))
}

/// `PUT /users/{user}/password`: 204. Changing one's own password needs
/// `old_password` (400 `Old password is incorrect.`); owners and
/// user-admins may set another user's without it. The target's other login
/// sessions are ended. A user whose login type is not `password` (OIDC,
/// GitHub, none) has no password to set: 400.
#[utoipa::path(put, path = "/api/v2/users/{user}/password", tag = "Users",
    params(("user" = String, Path, description = "User ID, username, or me")),
    request_body = UpdateUserPasswordRequest,
    responses((status = 204), (status = 400, body = Message), (status = 403, body = Message)))]
pub async fn put_user_password(
    State(state): State<AppState>,
    auth: Auth,
    ctx: AuditContext,
    Path(user): Path<String>,
    Json(req): Json<UpdateUserPasswordRequest>,
) -> ApiResult<StatusCode> {
    let u = domain::lookup::resolve_user(&state, &auth.user, &user).await?;
    auth.require(Action::Update, &Resource::UserData.owned_by(u.id))?;
    if u.login_type != "password" {
        return Err(ApiError::bad_request(
            "Users without password login type cannot change their password.",
        ));
    }
    Validator::new()
        .required("password", &req.password)
        .finish()?;
    validate::password("password", &req.password)?;
    domain::users::set_password(
        &state,
        &auth.actor(),
        &ctx,
        &u,
        &auth.key.id,
        &req.old_password,
        &req.password,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /users/authmethods` (no session): the sign-in methods on offer.
/// Password login unless `--disable-password-auth`; GitHub is never
/// configured; OpenID Connect when `--oidc-issuer-url` is set, with
/// `--oidc-sign-in-text` and `--oidc-icon-url`.
#[utoipa::path(get, path = "/api/v2/users/authmethods", tag = "Users",
    responses((status = 200, body = codersdk::AuthMethods)))]
pub async fn get_auth_methods(State(state): State<AppState>) -> Json<codersdk::AuthMethods> {
    let oidc = &state.config.oidc;
    Json(codersdk::AuthMethods {
        terms_of_service_url: String::new(),
        password: codersdk::AuthMethod {
            enabled: !state.config.disable_password_auth,
        },
        github: codersdk::GithubAuthMethod::default(),
        oidc: codersdk::OidcAuthMethod {
            enabled: state.oidc.is_some(),
            sign_in_text: oidc.sign_in_text.clone(),
            icon_url: oidc.icon_url.clone(),
        },
    })
}
