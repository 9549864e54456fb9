//! SCIM discovery (RFC 7644 §4): `/ServiceProviderConfig`,
//! `/ResourceTypes[/{id}]` and `/Schemas[/{id}]`, and the schema
//! definitions (RFC 7643 §7) the rest of the SCIM module works from.
//!
//! What is published is exactly what is stored and given back: the core
//! User schema limited to `userName`, `name`, `displayName`, `nickName`,
//! `title`, `userType`, `preferredLanguage`, `locale`, `timezone`,
//! `active`, `emails` and the read-only `groups`; the core Group schema
//! with `displayName` and `members` (`value`, `$ref`, `type` User). No
//! Enterprise extension, no `password`. `emails` (and its `value`) is
//! published as required: a Coder user needs an email address; so is
//! `active`, which is the Coder status and always has a value (a POST
//! without it provisions an active user). Other attributes a client sends
//! are ignored by POST and PUT, and refused by PATCH (400 `invalidPath`,
//! see [`super::patch`]). Every published attribute is stored. Discovery needs no `Authorization` (RFC 7644 §4 allows
//! anonymous discovery), but is off, like every SCIM path, without a key
//! or entitlement.

use std::sync::OnceLock;

use axum::extract::State;
use axum::response::Response;
use codersdk::{
    ScimAuthScheme, ScimBulk, ScimFilterSupport, ScimListResponse, ScimMeta, ScimResourceType,
    ScimSchema, ScimSchemaAttribute, ScimServiceProviderConfig, ScimSupported, SCIM_GROUP_SCHEMA,
    SCIM_LIST_RESPONSE_SCHEMA, SCIM_RESOURCE_TYPE_SCHEMA, SCIM_SCHEMA_SCHEMA, SCIM_SPC_SCHEMA,
    SCIM_USER_SCHEMA,
};

use super::error::{ScimError, ScimResult};
use super::{base_url, scim_json, ScimEnabled, MAX_RESULTS};
use crate::state::AppState;

/// `type`/`mutability`/... of one attribute, in RFC 7643 §7's words.
struct Def {
    name: &'static str,
    kind: &'static str,
    multi: bool,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    description: &'static str,
}

fn attr(d: Def) -> ScimSchemaAttribute {
    ScimSchemaAttribute {
        name: d.name.into(),
        kind: d.kind.into(),
        multi_valued: d.multi,
        description: d.description.into(),
        required: d.required,
        canonical_values: Vec::new(),
        case_exact: d.case_exact,
        mutability: d.mutability.into(),
        returned: "default".into(),
        uniqueness: "none".into(),
        reference_types: Vec::new(),
        sub_attributes: Vec::new(),
    }
}

fn string(name: &'static str, description: &'static str) -> ScimSchemaAttribute {
    attr(Def {
        name,
        kind: "string",
        multi: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        description,
    })
}

fn user_schema() -> ScimSchema {
    let mut user_name = string(
        "userName",
        "Unique identifier for the User, as the IdP knows it (kept exactly; compared \
         case-insensitively). The Coder username is derived from it, or from the primary email.",
    );
    user_name.required = true;
    user_name.uniqueness = "server".into();
    let mut name = attr(Def {
        name: "name",
        kind: "complex",
        multi: false,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        description: "The components of the user's real name.",
    });
    name.sub_attributes = vec![
        string("formatted", "The full name, formatted for display."),
        string("familyName", "The family name."),
        string("givenName", "The given name."),
        string("middleName", "The middle name(s)."),
        string("honorificPrefix", "The honorific prefix(es)."),
        string("honorificSuffix", "The honorific suffix(es)."),
    ];
    // Published as required: the Coder status always has a value, so it
    // cannot be unassigned (a POST without it still provisions an active user).
    let active = attr(Def {
        name: "active",
        kind: "boolean",
        multi: false,
        required: true,
        case_exact: false,
        mutability: "readWrite",
        description: "The Coder user's status: true = active, false = suspended.",
    });
    let mut emails = attr(Def {
        name: "emails",
        kind: "complex",
        multi: true,
        required: true,
        case_exact: false,
        mutability: "readWrite",
        description: "Email addresses. The primary one (else the first) is the Coder user's email.",
    });
    let mut email_type = string("type", "A label: 'work', 'home' or 'other'.");
    email_type.canonical_values = vec!["work".into(), "home".into(), "other".into()];
    let mut email_value = string("value", "The email address.");
    email_value.required = true;
    emails.sub_attributes = vec![
        email_value,
        string("display", "A human-readable name."),
        email_type,
        attr(Def {
            name: "primary",
            kind: "boolean",
            multi: false,
            required: false,
            case_exact: false,
            mutability: "readWrite",
            description: "The primary email address (at most one).",
        }),
    ];
    let mut groups = attr(Def {
        name: "groups",
        kind: "complex",
        multi: true,
        required: false,
        case_exact: false,
        mutability: "readOnly",
        description: "The Groups the User is a direct member of (read-only).",
    });
    let ro = |name: &'static str, case_exact: bool, description: &'static str| {
        attr(Def {
            name,
            kind: "string",
            multi: false,
            required: false,
            case_exact,
            mutability: "readOnly",
            description,
        })
    };
    let mut group_ref = ro("$ref", true, "The URI of the Group.");
    group_ref.kind = "reference".into();
    group_ref.reference_types = vec!["Group".into()];
    let mut group_type = ro("type", false, "'direct'.");
    group_type.canonical_values = vec!["direct".into()];
    groups.sub_attributes = vec![
        ro("value", true, "The id of the Group."),
        group_ref,
        ro("display", false, "The Group's displayName."),
        group_type,
    ];
    ScimSchema {
        schemas: vec![SCIM_SCHEMA_SCHEMA.into()],
        id: SCIM_USER_SCHEMA.into(),
        name: "User".into(),
        description: "User Account (a Coder user)".into(),
        attributes: vec![
            user_name,
            name,
            string("displayName", "The name of the User, suitable for display."),
            string("nickName", "The casual way to address the user."),
            string("title", "The user's title."),
            string(
                "userType",
                "The relationship between the organization and the user.",
            ),
            string("preferredLanguage", "The User's preferred language."),
            string("locale", "The User's default location."),
            string("timezone", "The User's time zone."),
            active,
            emails,
            groups,
        ],
        meta: ScimMeta::default(),
    }
}

fn group_schema() -> ScimSchema {
    let mut display_name = string(
        "displayName",
        "The Group's name, kept exactly (the Coder group's display name; its name is derived).",
    );
    display_name.required = true;
    let mut members = attr(Def {
        name: "members",
        kind: "complex",
        multi: true,
        required: false,
        case_exact: false,
        mutability: "readWrite",
        description: "The Users in the Group (ids that are not SCIM Users are ignored).",
    });
    let imm = |name: &'static str, case_exact: bool, description: &'static str| {
        attr(Def {
            name,
            kind: "string",
            multi: false,
            required: false,
            case_exact,
            mutability: "immutable",
            description,
        })
    };
    let mut member_ref = imm("$ref", true, "The URI of the member User.");
    member_ref.kind = "reference".into();
    member_ref.reference_types = vec!["User".into()];
    let mut member_type = imm("type", false, "The type of the member: 'User'.");
    member_type.canonical_values = vec!["User".into()];
    members.sub_attributes = vec![
        imm("value", true, "The id of the member User."),
        member_ref,
        member_type,
    ];
    ScimSchema {
        schemas: vec![SCIM_SCHEMA_SCHEMA.into()],
        id: SCIM_GROUP_SCHEMA.into(),
        name: "Group".into(),
        description: "Group (a Coder group of the default organization)".into(),
        attributes: vec![display_name, members],
        meta: ScimMeta::default(),
    }
}

/// The published User schema (RFC 7643 §4.1, limited as the module docs say).
pub fn user() -> &'static ScimSchema {
    static S: OnceLock<ScimSchema> = OnceLock::new();
    S.get_or_init(user_schema)
}

/// The published Group schema (RFC 7643 §4.2).
pub fn group() -> &'static ScimSchema {
    static S: OnceLock<ScimSchema> = OnceLock::new();
    S.get_or_init(group_schema)
}

/// `externalId` (RFC 7643 §3.1: a common attribute, case-exact).
pub fn external_id() -> &'static ScimSchemaAttribute {
    static A: OnceLock<ScimSchemaAttribute> = OnceLock::new();
    A.get_or_init(|| {
        let mut a = string("externalId", "The IdP's identifier for the resource.");
        a.case_exact = true;
        a
    })
}

/// Looks an attribute of `schema` up by name, case-insensitively (RFC 7643
/// §2.1), including the common `externalId`, `id` and `meta`.
pub fn find<'a>(schema: &'a ScimSchema, name: &str) -> Option<&'a ScimSchemaAttribute> {
    static COMMON: OnceLock<Vec<ScimSchemaAttribute>> = OnceLock::new();
    let common = COMMON.get_or_init(|| {
        let ro = |name: &'static str, kind: &'static str, case_exact: bool| {
            attr(Def {
                name,
                kind,
                multi: false,
                required: false,
                case_exact,
                mutability: "readOnly",
                description: "",
            })
        };
        let mut meta = ro("meta", "complex", false);
        meta.sub_attributes = vec![
            ro("resourceType", "string", true),
            ro("created", "dateTime", false),
            ro("lastModified", "dateTime", false),
            ro("location", "reference", true),
            ro("version", "string", true),
        ];
        vec![
            external_id().clone(),
            ro("id", "string", true),
            ro("schemas", "string", true),
            meta,
        ]
    });
    schema
        .attributes
        .iter()
        .chain(common.iter())
        .find(|a| a.name.eq_ignore_ascii_case(name))
}

/// A sub-attribute of a complex attribute, by name, case-insensitively.
pub fn find_sub<'a>(a: &'a ScimSchemaAttribute, name: &str) -> Option<&'a ScimSchemaAttribute> {
    a.sub_attributes
        .iter()
        .find(|s| s.name.eq_ignore_ascii_case(name))
}

fn meta(state: &AppState, resource_type: &str, path: &str) -> ScimMeta {
    ScimMeta {
        resource_type: Some(resource_type.into()),
        location: Some(format!("{}{path}", base_url(state))),
        ..ScimMeta::default()
    }
}

fn schemas_for(state: &AppState) -> Vec<ScimSchema> {
    [user(), group()]
        .into_iter()
        .map(|s| {
            let mut s = s.clone();
            s.meta = meta(state, "Schema", &format!("/Schemas/{}", s.id));
            s
        })
        .collect()
}

fn resource_types_for(state: &AppState) -> Vec<ScimResourceType> {
    [
        (
            "User",
            "/Users",
            "User Account (a Coder user)",
            SCIM_USER_SCHEMA,
        ),
        (
            "Group",
            "/Groups",
            "Group (a Coder group)",
            SCIM_GROUP_SCHEMA,
        ),
    ]
    .into_iter()
    .map(|(id, endpoint, description, schema)| ScimResourceType {
        schemas: vec![SCIM_RESOURCE_TYPE_SCHEMA.into()],
        id: id.into(),
        name: id.into(),
        endpoint: endpoint.into(),
        description: description.into(),
        schema: schema.into(),
        schema_extensions: Vec::new(),
        meta: meta(state, "ResourceType", &format!("/ResourceTypes/{id}")),
    })
    .collect()
}

fn list<T: serde::Serialize>(items: Vec<T>) -> Response {
    let n = items.len() as u64;
    scim_json(&ScimListResponse {
        schemas: vec![SCIM_LIST_RESPONSE_SCHEMA.into()],
        total_results: n,
        start_index: 1,
        items_per_page: n,
        resources: items,
    })
}

/// `GET /ServiceProviderConfig` (RFC 7643 §5): PATCH, filter (up to
/// [`MAX_RESULTS`]) and ETags supported; bulk, sort and password change not.
#[utoipa::path(get, path = "/ServiceProviderConfig", tag = "SCIM",
    responses((status = 200, body = ScimServiceProviderConfig, content_type = "application/scim+json")))]
pub async fn get_service_provider_config(
    _on: ScimEnabled,
    State(state): State<AppState>,
) -> Response {
    scim_json(&ScimServiceProviderConfig {
        schemas: vec![SCIM_SPC_SCHEMA.into()],
        documentation_uri: None,
        patch: ScimSupported { supported: true },
        bulk: ScimBulk {
            supported: false,
            max_operations: 0,
            max_payload_size: 0,
        },
        filter: ScimFilterSupport {
            supported: true,
            max_results: MAX_RESULTS as u64,
        },
        change_password: ScimSupported { supported: false },
        sort: ScimSupported { supported: false },
        etag: ScimSupported { supported: true },
        authentication_schemes: vec![ScimAuthScheme {
            kind: "oauthbearertoken".into(),
            name: "OAuth Bearer Token".into(),
            description: "The SCIM API key (--scim-auth-header) in the Authorization header, \
                          raw or as 'Bearer <key>'."
                .into(),
            primary: Some(true),
        }],
        meta: meta(&state, "ServiceProviderConfig", "/ServiceProviderConfig"),
    })
}

/// `GET /ResourceTypes` (RFC 7644 §4): User and Group.
#[utoipa::path(get, path = "/ResourceTypes", tag = "SCIM",
    responses((status = 200, body = ScimListResponse<ScimResourceType>, content_type = "application/scim+json")))]
pub async fn get_resource_types(_on: ScimEnabled, State(state): State<AppState>) -> Response {
    list(resource_types_for(&state))
}

/// `GET /ResourceTypes/{id}`; 404 for an unknown one.
#[utoipa::path(get, path = "/ResourceTypes/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "`User` or `Group`")),
    responses((status = 200, body = ScimResourceType, content_type = "application/scim+json"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn get_resource_type(
    _on: ScimEnabled,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ScimResult<Response> {
    resource_types_for(&state)
        .into_iter()
        .find(|r| r.id.eq_ignore_ascii_case(&id))
        .map(|r| scim_json(&r))
        .ok_or_else(|| ScimError::not_found("ResourceType", &id))
}

/// `GET /Schemas` (RFC 7644 §4): the User and Group schemas.
#[utoipa::path(get, path = "/Schemas", tag = "SCIM",
    responses((status = 200, body = ScimListResponse<ScimSchema>, content_type = "application/scim+json")))]
pub async fn get_schemas(_on: ScimEnabled, State(state): State<AppState>) -> Response {
    list(schemas_for(&state))
}

/// `GET /Schemas/{id}` by URN; 404 for an unknown one.
#[utoipa::path(get, path = "/Schemas/{id}", tag = "SCIM",
    params(("id" = String, Path, description = "The schema URN")),
    responses((status = 200, body = ScimSchema, content_type = "application/scim+json"),
        (status = 404, body = codersdk::ScimError, content_type = "application/scim+json")))]
pub async fn get_schema(
    _on: ScimEnabled,
    State(state): State<AppState>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ScimResult<Response> {
    schemas_for(&state)
        .into_iter()
        .find(|s| s.id.eq_ignore_ascii_case(&id))
        .map(|s| scim_json(&s))
        .ok_or_else(|| ScimError::not_found("Schema", &id))
}
