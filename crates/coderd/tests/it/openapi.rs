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
    ("post", "/api/v2/users/logout"),
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
