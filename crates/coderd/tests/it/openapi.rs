//! The OpenAPI document matches what is served.

use crate::common::*;
use reqwest::Method;

/// Every route the server serves, as (method, OpenAPI path). A route added
/// to the router must be added here and to the document.
const SERVED: &[(&str, &str)] = &[
    ("get", "/api/v2/appearance"),
    ("put", "/api/v2/appearance"),
    ("get", "/api/v2/entitlements"),
    ("get", "/api/v2/licenses"),
    ("post", "/api/v2/licenses"),
    ("delete", "/api/v2/licenses/{id}"),
    ("get", "/api/v2/buildinfo"),
    ("get", "/api/v2/openapi.json"),
    ("get", "/api/v2/users/first"),
    ("get", "/api/v2/users/authmethods"),
    ("post", "/api/v2/users/first"),
    ("post", "/api/v2/users/login"),
    ("get", "/api/v2/users/oidc/callback"),
    ("post", "/api/v2/users/logout"),
    (
        "get",
        "/api/v2/organizations/{organization}/settings/idpsync/groups",
    ),
    (
        "patch",
        "/api/v2/organizations/{organization}/settings/idpsync/groups",
    ),
    (
        "patch",
        "/api/v2/organizations/{organization}/settings/idpsync/groups/config",
    ),
    (
        "patch",
        "/api/v2/organizations/{organization}/settings/idpsync/groups/mapping",
    ),
    (
        "get",
        "/api/v2/organizations/{organization}/settings/idpsync/roles",
    ),
    (
        "patch",
        "/api/v2/organizations/{organization}/settings/idpsync/roles",
    ),
    (
        "patch",
        "/api/v2/organizations/{organization}/settings/idpsync/roles/config",
    ),
    (
        "patch",
        "/api/v2/organizations/{organization}/settings/idpsync/roles/mapping",
    ),
    (
        "get",
        "/api/v2/organizations/{organization}/settings/idpsync/available-fields",
    ),
    (
        "get",
        "/api/v2/organizations/{organization}/settings/idpsync/field-values",
    ),
    ("get", "/api/v2/audit"),
    ("get", "/api/v2/users"),
    ("post", "/api/v2/users"),
    ("get", "/api/v2/users/{user}"),
    ("put", "/api/v2/users/{user}/status/suspend"),
    ("put", "/api/v2/users/{user}/status/activate"),
    ("get", "/api/v2/users/{user}/roles"),
    ("put", "/api/v2/users/{user}/roles"),
    ("put", "/api/v2/users/{user}/password"),
    ("post", "/api/v2/users/{user}/keys/tokens"),
    ("get", "/api/v2/users/{user}/keys/tokens"),
    ("get", "/api/v2/users/{user}/keys/{keyid}"),
    ("delete", "/api/v2/users/{user}/keys/{keyid}"),
    ("get", "/api/v2/organizations"),
    ("get", "/api/v2/organizations/{organization}"),
    ("get", "/api/v2/users/{user}/organizations"),
    ("get", "/api/v2/organizations/{organization}/members"),
    (
        "put",
        "/api/v2/organizations/{organization}/members/{user}/roles",
    ),
    ("get", "/api/v2/organizations/{organization}/groups"),
    ("post", "/api/v2/organizations/{organization}/groups"),
    (
        "get",
        "/api/v2/organizations/{organization}/groups/{groupName}",
    ),
    ("get", "/api/v2/groups"),
    ("get", "/api/v2/groups/{group}"),
    ("patch", "/api/v2/groups/{group}"),
    ("delete", "/api/v2/groups/{group}"),
    ("get", "/api/v2/replicas"),
    // Files, templates, workspaces, builds, provisioner daemons.
    ("post", "/api/v2/files"),
    ("get", "/api/v2/files/{fileID}"),
    (
        "post",
        "/api/v2/organizations/{organization}/templateversions",
    ),
    ("get", "/api/v2/templateversions/{templateversion}"),
    (
        "get",
        "/api/v2/templateversions/{templateversion}/resources",
    ),
    ("get", "/api/v2/templateversions/{templateversion}/logs"),
    ("patch", "/api/v2/templateversions/{templateversion}/cancel"),
    ("post", "/api/v2/organizations/{organization}/templates"),
    ("get", "/api/v2/organizations/{organization}/templates"),
    (
        "get",
        "/api/v2/organizations/{organization}/templates/{templatename}",
    ),
    ("get", "/api/v2/templates/{template}"),
    ("patch", "/api/v2/templates/{template}"),
    ("delete", "/api/v2/templates/{template}"),
    ("get", "/api/v2/templates/{template}/versions"),
    ("patch", "/api/v2/templates/{template}/versions"),
    (
        "post",
        "/api/v2/organizations/{organization}/members/{user}/workspaces",
    ),
    ("get", "/api/v2/workspaces"),
    ("get", "/api/v2/workspaces/{workspace}"),
    ("get", "/api/v2/users/{user}/workspace/{workspacename}"),
    ("post", "/api/v2/workspaces/{workspace}/builds"),
    ("get", "/api/v2/workspaces/{workspace}/builds"),
    ("get", "/api/v2/workspacebuilds/{workspacebuild}"),
    ("get", "/api/v2/workspacebuilds/{workspacebuild}/resources"),
    ("get", "/api/v2/workspacebuilds/{workspacebuild}/logs"),
    ("patch", "/api/v2/workspacebuilds/{workspacebuild}/cancel"),
    (
        "get",
        "/api/v2/organizations/{organization}/provisionerdaemons",
    ),
    (
        "get",
        "/api/v2/organizations/{organization}/provisionerdaemons/serve",
    ),
    // SCIM 2.0, under both prefixes (SCIM is off in this test: 404 JSON).
    ("get", "/scim/v2/ServiceProviderConfig"),
    ("get", "/scim/v2/ResourceTypes"),
    ("get", "/scim/v2/ResourceTypes/{id}"),
    ("get", "/scim/v2/Schemas"),
    ("get", "/scim/v2/Schemas/{id}"),
    ("get", "/scim/v2/Users"),
    ("post", "/scim/v2/Users"),
    ("get", "/scim/v2/Users/{id}"),
    ("put", "/scim/v2/Users/{id}"),
    ("patch", "/scim/v2/Users/{id}"),
    ("delete", "/scim/v2/Users/{id}"),
    ("post", "/scim/v2/Users/.search"),
    ("get", "/scim/v2/Groups"),
    ("post", "/scim/v2/Groups"),
    ("get", "/scim/v2/Groups/{id}"),
    ("put", "/scim/v2/Groups/{id}"),
    ("patch", "/scim/v2/Groups/{id}"),
    ("delete", "/scim/v2/Groups/{id}"),
    ("post", "/scim/v2/Groups/.search"),
    ("post", "/scim/v2/.search"),
    ("get", "/api/v2/scim/v2/ServiceProviderConfig"),
    ("get", "/api/v2/scim/v2/ResourceTypes"),
    ("get", "/api/v2/scim/v2/ResourceTypes/{id}"),
    ("get", "/api/v2/scim/v2/Schemas"),
    ("get", "/api/v2/scim/v2/Schemas/{id}"),
    ("get", "/api/v2/scim/v2/Users"),
    ("post", "/api/v2/scim/v2/Users"),
    ("get", "/api/v2/scim/v2/Users/{id}"),
    ("put", "/api/v2/scim/v2/Users/{id}"),
    ("patch", "/api/v2/scim/v2/Users/{id}"),
    ("delete", "/api/v2/scim/v2/Users/{id}"),
    ("post", "/api/v2/scim/v2/Users/.search"),
    ("get", "/api/v2/scim/v2/Groups"),
    ("post", "/api/v2/scim/v2/Groups"),
    ("get", "/api/v2/scim/v2/Groups/{id}"),
    ("put", "/api/v2/scim/v2/Groups/{id}"),
    ("patch", "/api/v2/scim/v2/Groups/{id}"),
    ("delete", "/api/v2/scim/v2/Groups/{id}"),
    ("post", "/api/v2/scim/v2/Groups/.search"),
    ("post", "/api/v2/scim/v2/.search"),
    ("get", "/api/v2/templates/{template}/acl"),
    ("patch", "/api/v2/templates/{template}/acl"),
    ("get", "/api/v2/workspace-quota/{user}"),
];

fn documented(doc: &serde_json::Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                out.push((method.to_owned(), path.clone()));
            }
        }
    }
    out
}

both!(
    document_lists_every_served_route,
    |t: TestServer| async move {
        let r = t.raw(Method::GET, "/api/v2/openapi.json", None, None).await;
        r.expect(200);
        assert!(r.json["openapi"].as_str().unwrap().starts_with("3."));
        let doc = documented(&r.json);
        for (m, p) in SERVED {
            assert!(
                doc.contains(&(m.to_string(), p.to_string())),
                "{m} {p} is served but missing from /api/v2/openapi.json"
            );
        }
        // And every documented operation is really served: with made-up path
        // parameters it answers something other than "Route not found." / 405.
        for (m, p) in &doc {
            let path = p
                .replace("{user}", "me")
                .replace("{organization}", "default")
                .replace("{keyid}", "abcdefghij")
                .replace("{groupName}", "Everyone")
                .replace("{group}", "Everyone");
            let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let res = t.raw(method, &path, None, Some("{}")).await;
            assert_ne!(res.status, 405, "{m} {p} documented but not served");
            assert!(
                !(res.status == 404 && res.message() == "Route not found."),
                "{m} {p} documented but not served"
            );
            assert!(
                SERVED.contains(&(m.as_str(), p.as_str())),
                "{m} {p} is documented but not in this test's SERVED list"
            );
        }
    }
);

/// Routes must go through the OpenAPI router (`.routes(routes!(..))`); a
/// plain `.route(` in the API modules would be served but undocumented.
#[test]
fn no_undocumented_route_registration() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let src = std::fs::read_to_string(&p).unwrap();
                assert!(
                    !src.contains(".route(") && !src.contains(".nest("),
                    "{} registers a route outside the OpenAPI router",
                    p.display()
                );
            }
        }
    }
}

/// `(method, path, operation)` for every documented operation.
fn operations(doc: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                out.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    out
}

/// The `{name}`s of a path template.
fn template_params(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned()))
        .collect()
}

/// Operations anyone may call (no token read).
const ANONYMOUS: &[(&str, &str)] = &[
    ("get", "/api/v2/buildinfo"),
    ("get", "/api/v2/openapi.json"),
    ("get", "/api/v2/entitlements"),
    ("get", "/api/v2/users/first"),
    ("post", "/api/v2/users/first"),
    ("get", "/api/v2/users/authmethods"),
    ("post", "/api/v2/users/login"),
    ("get", "/api/v2/users/oidc/callback"),
];

/// SCIM discovery (RFC 7644 §4) needs no SCIM key.
fn scim_discovery(path: &str) -> bool {
    ["ServiceProviderConfig", "ResourceTypes", "Schemas"]
        .iter()
        .any(|d| path.contains(&format!("/scim/v2/{d}")))
}

both!(document_is_usable_by_tools, |t: TestServer| async move {
    let r = t.raw(Method::GET, "/api/v2/openapi.json", None, None).await;
    r.expect(200);
    let doc = r.json;
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("components.securitySchemes");
    assert_eq!(
        schemes["CoderSessionToken"],
        serde_json::json!({"type": "apiKey", "in": "header", "name": "Coder-Session-Token",
            "description": "A session or API token (`<10-char id>-<22-char secret>`)."})
    );
    assert_eq!(schemes["CoderSessionTokenCookie"]["in"], "cookie");
    assert_eq!(
        schemes["CoderSessionTokenCookie"]["name"],
        "coder_session_token"
    );
    assert_eq!(schemes["CoderProvisionerDaemonPSK"]["in"], "header");
    assert_eq!(
        schemes["CoderProvisionerDaemonPSK"]["name"],
        "Coder-Provisioner-Daemon-PSK"
    );
    assert_eq!(schemes["ScimBearer"]["type"], "http");
    assert_eq!(schemes["ScimBearer"]["scheme"], "bearer");

    let mut ids = std::collections::BTreeMap::new();
    for (m, p, op) in operations(&doc) {
        // A unique operationId, so a generated client has one method each.
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{m} {p}: no operationId"));
        if let Some(other) = ids.insert(id.to_owned(), format!("{m} {p}")) {
            panic!("operationId {id} is used by {other} and {m} {p}");
        }
        // Path parameters are exactly the template's names; the rest are
        // query parameters.
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let mut in_path: Vec<String> = params
            .iter()
            .filter(|x| x["in"] == "path")
            .map(|x| x["name"].as_str().unwrap().to_owned())
            .collect();
        in_path.sort();
        let mut want = template_params(&p);
        want.sort();
        assert_eq!(in_path, want, "{m} {p}: path parameters");
        for x in &params {
            assert!(
                ["path", "query", "header", "cookie"].contains(&x["in"].as_str().unwrap()),
                "{m} {p}: {x}"
            );
        }
        // Security: none on anonymous operations; the session token on the
        // rest (the SCIM key on SCIM resources), always with 401 documented.
        let security = op.get("security").and_then(|s| s.as_array()).cloned();
        let names: Vec<String> = security
            .iter()
            .flatten()
            .flat_map(|req| req.as_object().unwrap().keys().cloned())
            .collect();
        for n in &names {
            assert!(
                schemes.contains_key(n),
                "{m} {p}: unknown security scheme {n}"
            );
        }
        let scim = p.contains("/scim/v2/");
        if ANONYMOUS.contains(&(m.as_str(), p.as_str())) || (scim && scim_discovery(&p)) {
            assert!(security.is_none(), "{m} {p} is anonymous but has security");
        } else if scim {
            assert_eq!(names, ["ScimBearer"], "{m} {p}");
        } else {
            assert!(
                names.iter().any(|n| n == "CoderSessionToken")
                    && names.iter().any(|n| n == "CoderSessionTokenCookie"),
                "{m} {p}: security {names:?}"
            );
        }
        if security.is_some() {
            let unauthorized = &op["responses"]["401"];
            assert!(
                unauthorized.is_object(),
                "{m} {p} needs a token but does not document 401"
            );
            let want = if scim {
                ("application/scim+json", "#/components/schemas/ScimError")
            } else {
                ("application/json", "#/components/schemas/Response")
            };
            assert_eq!(
                unauthorized["content"][want.0]["schema"]["$ref"], want.1,
                "{m} {p}: 401 body"
            );
        }
        // A JSON body may be malformed: 400.
        if op["requestBody"]["content"]
            .get("application/json")
            .is_some()
        {
            assert!(
                op["responses"]["400"].is_object(),
                "{m} {p}: 400 not documented"
            );
        }
    }

    // `POST /files` takes the archive's raw bytes.
    let files = &doc["paths"]["/api/v2/files"]["post"]["requestBody"];
    assert_eq!(files["required"], true);
    let schema = &files["content"]["application/x-tar"]["schema"];
    assert_eq!(schema["type"], "string", "{files}");
    assert_eq!(schema["format"], "binary", "{files}");
    assert_eq!(schema["contentMediaType"], "application/x-tar", "{files}");

    // Ids the server parses as UUIDs are `format: uuid`; "UUID, username or
    // me" stays a string.
    let param = |m: &str, p: &str, name: &str| -> serde_json::Value {
        doc["paths"][p][m]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .unwrap_or_else(|| panic!("{m} {p}: no parameter {name}"))
            .clone()
    };
    for (m, p, name) in [
        ("delete", "/api/v2/templates/{template}", "template"),
        (
            "get",
            "/api/v2/templateversions/{templateversion}",
            "templateversion",
        ),
        (
            "get",
            "/api/v2/workspacebuilds/{workspacebuild}",
            "workspacebuild",
        ),
        ("get", "/api/v2/workspaces/{workspace}", "workspace"),
        ("get", "/api/v2/files/{fileID}", "fileID"),
    ] {
        assert_eq!(param(m, p, name)["schema"]["format"], "uuid", "{m} {p}");
    }
    let user = param("get", "/api/v2/users/{user}", "user");
    assert_eq!(user["schema"], serde_json::json!({"type": "string"}));
    assert_eq!(user["description"], "User ID, username, or me");
    for (p, names) in [
        ("/api/v2/users", &["q", "limit", "offset", "after_id"][..]),
        ("/api/v2/groups", &["organization", "has_member"][..]),
        ("/api/v2/users/{user}/keys/tokens", &["include_expired"][..]),
    ] {
        for n in names {
            assert_eq!(param("get", p, n)["in"], "query", "GET {p} {n}");
        }
    }

    // Request bodies say what the server requires.
    let schemas = &doc["components"]["schemas"];
    let required = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = serde_json::from_value(schemas[s]["required"].clone())
            .unwrap_or_else(|_| panic!("{s}: no required"));
        v.sort();
        v
    };
    assert_eq!(required("CreateUserRequest"), ["email", "username"]);
    assert_eq!(
        required("CreateFirstUserRequest"),
        ["email", "password", "username"]
    );
    assert_eq!(required("LoginWithPasswordRequest"), ["email", "password"]);
    assert_eq!(required("CreateGroupRequest"), ["name"]);
    assert_eq!(
        required("CreateTemplateRequest"),
        ["name", "template_version_id"]
    );
    assert_eq!(
        required("CreateTemplateVersionRequest"),
        ["provisioner", "storage_method"]
    );
    assert_eq!(required("CreateWorkspaceRequest"), ["name", "template_id"]);
    assert_eq!(required("CreateWorkspaceBuildRequest"), ["transition"]);
    assert_eq!(required("AddLicenseRequest"), ["license"]);
    // A disabled banner keeps any colour text, so the schema states no
    // pattern the responses would break (schemathesis checks them).
    let color = &schemas["ServiceBannerConfig"]["properties"]["background_color"];
    assert_eq!(color["type"], "string");
    assert!(color.get("pattern").is_none(), "{color}");
    assert_eq!(
        schemas["CreateTemplateRequest"]["properties"]["default_ttl_ms"]["minimum"],
        0
    );
});

/// A path with its parameters filled in: `bad` gives values the server
/// refuses as malformed (not a UUID), otherwise well-formed unknown ids.
fn fill(op: &serde_json::Value, path: &str, bad: bool) -> String {
    let mut out = path.to_owned();
    for x in op["parameters"].as_array().into_iter().flatten() {
        if x["in"] != "path" {
            continue;
        }
        let name = x["name"].as_str().unwrap();
        let value = match name {
            _ if bad => "0",
            "user" => "me",
            "organization" => "default",
            "groupName" | "group" => "Everyone",
            _ if x["schema"]["format"] == "uuid" => "00000000-0000-0000-0000-00000000d0c5",
            _ => "abcdefghij",
        };
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// Calls every documented operation with made-up parameters (well-formed
/// unknown ids and malformed ones), no body, `{}` and a non-JSON body,
/// anonymously and with each of `credentials` (header name, value), and
/// asserts each answer's status is documented for that operation.
async fn assert_statuses_documented(t: &TestServer, credentials: &[(&str, String)]) {
    let r = t.raw(Method::GET, "/api/v2/openapi.json", None, None).await;
    let doc = r.json;
    let http = reqwest::Client::new();
    for (m, p, op) in operations(&doc) {
        let method = Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
        // Signing out would end the owner's session for the rest.
        let logout = m == "post" && p == "/api/v2/users/logout";
        let mut creds: Vec<Option<&(&str, String)>> = vec![None];
        if !logout {
            creds.extend(credentials.iter().map(Some));
        }
        for bad in [false, true] {
            let path = fill(&op, &p, bad);
            for cred in &creds {
                for body in [None, Some("{}"), Some("not json")] {
                    if body.is_some() && op.get("requestBody").is_none() {
                        continue;
                    }
                    let mut req = http.request(method.clone(), format!("{}{path}", t.url));
                    if let Some((h, v)) = cred {
                        req = req.header(*h, v);
                    }
                    if let Some(b) = body {
                        req = req.header("Content-Type", "application/json").body(b);
                    }
                    let res = Resp::from(req.send().await.expect("send")).await;
                    assert!(
                        op["responses"].get(res.status.to_string()).is_some(),
                        "{m} {path} (credential: {:?}, body: {body:?}) answered {} {}, not documented",
                        cred.map(|c| c.0),
                        res.status,
                        res.text
                    );
                }
            }
        }
    }
}

both!(
    every_answered_status_is_documented,
    |t: TestServer| async move {
        let owner = t.owner().await;
        assert_statuses_documented(&t, &[("Coder-Session-Token", owner.token().to_owned())]).await;
    }
);

both_licensed!(
    every_answered_status_is_documented_licensed,
    |mut t: TestServer, ca: LicenseAuthority| async move {
        t.config.scim_auth_header = Some("openapi-scim-key".into());
        t.restart().await;
        let owner = t.owner().await;
        owner
            .license(
                &ca,
                &[
                    ("scim", 1),
                    ("template_rbac", 1),
                    ("high_availability", 1),
                    ("appearance", 1),
                    ("external_provisioner_daemons", 1),
                ],
            )
            .await;
        assert_statuses_documented(
            &t,
            &[
                ("Coder-Session-Token", owner.token().to_owned()),
                ("Authorization", "Bearer openapi-scim-key".to_owned()),
            ],
        )
        .await;
    }
);
