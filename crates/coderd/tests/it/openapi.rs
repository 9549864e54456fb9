//! The OpenAPI document matches what is served.

use crate::common::*;
use reqwest::Method;

/// Every route the server serves, as (method, OpenAPI path). A route added
/// to the router must be added here and to the document.
const SERVED: &[(&str, &str)] = &[
    ("get", "/api/v2/buildinfo"),
    ("get", "/api/v2/openapi.json"),
    ("get", "/api/v2/users/first"),
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
    ("get", "/api/v2/organizations/{organization}/groups/{groupName}"),
    ("get", "/api/v2/groups"),
    ("get", "/api/v2/groups/{group}"),
    ("patch", "/api/v2/groups/{group}"),
    ("delete", "/api/v2/groups/{group}"),
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
