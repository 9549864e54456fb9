//! Entitlements (spec section 11, scenarios 1, 3, 12-15), the cache
//! (active users, pubsub, replicas) and the entitlement gate.

use std::time::{Duration, Instant};

use crate::common::*;
use codersdk::{Entitlement, Entitlements, FeatureName, UserStatus};
use reqwest::Method;
use serde_json::json;

/// The seed's features and `user_role_management` (IdP role sync).
const SEED_FEATURES: [&str; 10] = [
    "user_limit",
    "audit_log",
    "browser_only",
    "scim",
    "template_rbac",
    "high_availability",
    "multiple_git_auth",
    "external_provisioner_daemons",
    "appearance",
    "user_role_management",
];

/// Polls `GET /entitlements` until `f` holds (panics after 10 s).
async fn wait_for(t: &TestServer, f: impl Fn(&Entitlements) -> bool) -> Entitlements {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let e = t.client().entitlements().await.unwrap();
        if f(&e) {
            return e;
        }
        assert!(
            Instant::now() < deadline,
            "entitlements never matched: {e:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Scenario 1.
both!(anonymous_unlicensed, |t: TestServer| async move {
    let r = t.raw(Method::GET, "/api/v2/entitlements", None, None).await;
    r.expect(200);
    assert_eq!(r.json["has_license"], false);
    assert_eq!(r.json["trial"], false);
    assert_eq!(r.json["experimental"], false);
    assert_eq!(r.json["errors"], json!([]));
    assert_eq!(r.json["warnings"], json!([]));
    let features = r.json["features"].as_object().unwrap();
    assert_eq!(features.len(), SEED_FEATURES.len(), "{}", r.text);
    for name in SEED_FEATURES {
        let f = &features[name];
        assert_eq!(f["entitlement"], "not_entitled", "{name}");
        assert_eq!(f["enabled"], false, "{name}");
    }
    assert!(features["audit_log"].get("limit").is_none());
});

// Scenarios 2-3: the upload takes effect at once, without a restart.
both_licensed!(
    upload_entitles_at_once,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)])))
            .await
            .unwrap();
        let e = t.client().entitlements().await.unwrap();
        assert!(e.has_license);
        assert_eq!(e.features["audit_log"].entitlement, Entitlement::Entitled);
        assert!(e.features["audit_log"].enabled);
        assert_eq!(e.features["scim"].entitlement, Entitlement::NotEntitled);
        assert!(!e.features["scim"].enabled);
        // Upstream warns about features on but not licensed.
        assert!(e.warnings.contains(
            &"Template RBAC is enabled but your license is not entitled to this feature.".into()
        ));
        assert!(e.errors.is_empty(), "{:?}", e.errors);
    }
);

// Scenario 12, and the "grace period" check.
both_licensed!(
    grace_period,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let now = chrono::Utc::now().timestamp();
        let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
        claims.insert("license_expires".into(), (now - 3600).into());
        claims.insert("exp".into(), (now + 30 * 86400).into());
        owner.client.add_license(&ca.sign(&claims)).await.unwrap();
        let e = t.client().entitlements().await.unwrap();
        assert!(e.has_license);
        assert_eq!(
            e.features["audit_log"].entitlement,
            Entitlement::GracePeriod
        );
        assert!(e.features["audit_log"].enabled);
        assert!(
            e.warnings.contains(
                &"Audit Log is enabled but your license for this feature is expired.".into()
            ),
            "{:?}",
            e.warnings
        );
    }
);

// Scenario 13.
both_licensed!(
    largest_user_limit_wins,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        t.member(&owner.client, "alice").await;
        for limit in [10, 1] {
            owner
                .client
                .add_license(&ca.sign(&LicenseAuthority::claims(&[("user_limit", limit)])))
                .await
                .unwrap();
        }
        let e = t.client().entitlements().await.unwrap();
        let ul = &e.features["user_limit"];
        assert_eq!(ul.limit, Some(10));
        assert_eq!(ul.actual, Some(2));
        assert!(ul.enabled);
        assert_eq!(ul.entitlement, Entitlement::Entitled);
        assert!(
            !e.warnings.iter().any(|w| w.contains("active users")),
            "{:?}",
            e.warnings
        );
    }
);

// Scenario 14, and `actual` following users as they come and go.
both_licensed!(
    user_limit_exceeded,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("user_limit", 1)])))
            .await
            .unwrap();
        let e = t.client().entitlements().await.unwrap();
        let limit_warnings = |e: &Entitlements| {
            e.warnings
                .iter()
                .filter(|w| w.contains("active users"))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(e.features["user_limit"].actual, Some(1));
        assert!(limit_warnings(&e).is_empty(), "{:?}", e.warnings);

        let (_, alice) = t.member(&owner.client, "alice").await;
        let e = t.client().entitlements().await.unwrap();
        assert_eq!(e.features["user_limit"].actual, Some(2));
        assert_eq!(
            limit_warnings(&e),
            vec!["Your deployment has 2 active users but is only licensed for 1.".to_owned()]
        );

        owner
            .client
            .update_user_status(&alice.to_string(), UserStatus::Suspended)
            .await
            .unwrap();
        let e = t.client().entitlements().await.unwrap();
        assert_eq!(e.features["user_limit"].actual, Some(1));
        assert!(limit_warnings(&e).is_empty(), "{:?}", e.warnings);
    }
);

// Scenario 15.
both_licensed!(
    all_features,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let mut claims = LicenseAuthority::claims(&[]);
        claims.insert("all_features".into(), true.into());
        owner.client.add_license(&ca.sign(&claims)).await.unwrap();
        let e = t.client().entitlements().await.unwrap();
        for name in SEED_FEATURES {
            let f = &e.features[name];
            if name == "user_limit" {
                assert_eq!(f.entitlement, Entitlement::NotEntitled);
            } else {
                assert_eq!(f.entitlement, Entitlement::Entitled, "{name}");
            }
        }
        assert!(e.features["template_rbac"].enabled);
        assert!(e.features["appearance"].enabled);
        assert!(e.features["external_provisioner_daemons"].enabled);
        // Not switched on in this deployment (no SCIM key, no relay URL).
        assert!(!e.features["scim"].enabled);
        assert!(!e.features["high_availability"].enabled);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    }
);

both_licensed!(
    trial_and_expiry_warning,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let now = chrono::Utc::now().timestamp();
        let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
        claims.insert("trial".into(), true.into());
        claims.insert("license_expires".into(), (now + 3 * 86400 - 60).into());
        owner.client.add_license(&ca.sign(&claims)).await.unwrap();
        let e = t.client().entitlements().await.unwrap();
        assert!(e.trial);
        assert!(
            e.warnings
                .contains(&"Your license expires in 3 days.".into()),
            "{:?}",
            e.warnings
        );
    }
);

// The expiry warning is one per deployment (upstream NOW), not one per
// license, and a renewal that starts before the current term ends (even
// one not valid yet) silences it.
both_licensed!(
    expiry_warning_once_and_renewal_silences_it,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let now = chrono::Utc::now().timestamp();
        let expiring = |ca: &LicenseAuthority| {
            let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
            claims.insert("license_expires".into(), (now + 20 * 86400 - 60).into());
            ca.sign(&claims)
        };
        owner.client.add_license(&expiring(&ca)).await.unwrap();
        owner.client.add_license(&expiring(&ca)).await.unwrap();
        let e = t.client().entitlements().await.unwrap();
        let expiry: Vec<_> = e
            .warnings
            .iter()
            .filter(|w| w.starts_with("Your license expires in"))
            .collect();
        assert_eq!(
            expiry,
            ["Your license expires in 20 days."],
            "{:?}",
            e.warnings
        );

        // The renewal starts in 10 days, inside the current term.
        let mut renewal = LicenseAuthority::claims(&[("audit_log", 1)]);
        renewal.insert("nbf".into(), (now + 10 * 86400).into());
        renewal.insert("license_expires".into(), (now + 400 * 86400).into());
        renewal.insert("exp".into(), (now + 430 * 86400).into());
        owner.client.add_license(&ca.sign(&renewal)).await.unwrap();
        let e = t.client().entitlements().await.unwrap();
        assert!(
            !e.warnings
                .iter()
                .any(|w| w.starts_with("Your license expires in")),
            "{:?}",
            e.warnings
        );
    }
);

// Another replica's change arrives on pubsub `licenses`: the cache is
// recomputed without any request to this replica.
both_licensed!(
    pubsub_event_refreshes,
    |t: TestServer, ca: LicenseAuthority| async move {
        t.owner().await;
        let jwt = ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)]));
        let now = store::now();
        t.store()
            .insert_license(&store::NewLicense {
                uploaded_at: now,
                jwt,
                exp: now + chrono::Duration::days(100),
                uuid: uuid::Uuid::new_v4(),
            })
            .await
            .unwrap();
        let state = t.server.as_ref().unwrap().state.clone();
        assert!(
            !state.entitlements.current().has_license,
            "not yet refreshed"
        );
        t.store().pubsub().publish("licenses", "add").await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !state.entitlements.current().has_license {
            assert!(Instant::now() < deadline, "pubsub event never refreshed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
);

// Two replicas on one PostgreSQL: a license added on one shows on the
// other (LISTEN/NOTIFY).
both_licensed!(
    second_replica_sees_license_changes,
    |t: TestServer, ca: LicenseAuthority| async move {
        if t.db != Db::Postgres {
            return; // one SQLite file, one replica
        }
        let owner = t.owner().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let other = coderd::Server::start(t.config.clone(), listener)
            .await
            .unwrap();
        let other_client = codersdk::Client::new(&other.url());
        assert!(!other_client.entitlements().await.unwrap().has_license);
        let lic = owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("template_rbac", 1)])))
            .await
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !other.state.entitlements.enabled(FeatureName::TemplateRbac) {
            assert!(Instant::now() < deadline, "other replica never refreshed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        owner.client.delete_license(lic.id).await.unwrap();
        while other.state.entitlements.enabled(FeatureName::TemplateRbac) {
            assert!(Instant::now() < deadline, "other replica never refreshed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        other.stop().await;
    }
);

// A stored license the server no longer trusts (its key was removed)
// counts for nothing and is reported, upstream NOW's way.
both_licensed!(
    untrusted_stored_license_is_reported,
    |t: TestServer, ca: LicenseAuthority| async move {
        let mut t = t;
        let owner = t.owner().await;
        let lic = owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("audit_log", 1)])))
            .await
            .unwrap();
        t.config.license_public_keys.clear();
        t.restart().await;
        let e = wait_for(&t, |e| !e.errors.is_empty()).await;
        assert!(!e.has_license);
        assert_eq!(
            e.errors,
            vec![format!(
                "Invalid license ({}) parsing claims: no key with ID enterprise-test",
                lic.uuid
            )]
        );
        // Still listed (claims decoded without verification).
        let token = owner.token().to_owned();
        let list = t.client().with_token(token).licenses().await.unwrap();
        assert_eq!(list.len(), 1);
    }
);

// More than one replica without `high_availability` is an error in the
// entitlements; the replicas work feeds the count in.
both!(several_replicas_without_ha, |t: TestServer| async move {
    let state = t.server.as_ref().unwrap().state.clone();
    state.entitlements.set_replicas(2).await;
    let e = t.client().entitlements().await.unwrap();
    assert_eq!(
        e.errors,
        vec![
            "You have multiple replicas but high availability is an Enterprise feature. \
              You will be unable to connect to workspaces."
                .to_owned()
        ]
    );
    state.entitlements.set_replicas(1).await;
    assert!(t.client().entitlements().await.unwrap().errors.is_empty());
});

// The gate, on a route that exists (`GET /buildinfo`) mounted as an
// Enterprise group the way the API router mounts one: 403 with upstream's
// sentence while `template_rbac` is off, for anyone (before
// authentication); through once a license enables it; closed again when
// the license is deleted.
both_licensed!(
    gate_closes_unlicensed_route_groups,
    |t: TestServer, ca: LicenseAuthority| async move {
        use utoipa_axum::{router::OpenApiRouter, routes};
        let owner = t.owner().await;
        let state = t.server.as_ref().unwrap().state.clone();
        let group = OpenApiRouter::new().routes(routes!(coderd::api::buildinfo::get_buildinfo));
        let (router, doc) = OpenApiRouter::new()
            .merge(coderd::entitlements::gated(
                FeatureName::TemplateRbac,
                group,
            ))
            .split_for_parts();
        assert!(
            doc.paths.paths.contains_key("/api/v2/buildinfo"),
            "still documented"
        );
        let app = router
            .layer(axum::Extension(state.entitlements.clone()))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/api/v2/buildinfo", listener.local_addr().unwrap());
        let serve = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let get = |token: Option<String>| {
            let url = url.clone();
            async move {
                let mut req = reqwest::Client::new().get(url);
                if let Some(t) = token {
                    req = req.header("Coder-Session-Token", t);
                }
                Resp::from(req.send().await.unwrap()).await
            }
        };

        for token in [None, Some(owner.token().to_owned())] {
            let r = get(token).await;
            r.expect(403);
            assert_eq!(
                r.message(),
                "Template RBAC is an Enterprise feature. Contact sales!"
            );
        }
        let lic = owner
            .client
            .add_license(&ca.sign(&LicenseAuthority::claims(&[("template_rbac", 1)])))
            .await
            .unwrap();
        let r = get(None).await;
        r.expect(200);
        assert!(r.json["version"].is_string());
        owner.client.delete_license(lic.id).await.unwrap();
        get(None).await.expect(403);
        serve.abort();
    }
);

// A license that requires telemetry (coderd-rs sends none): upstream keeps
// the previous entitlements and reports the one error.
both_licensed!(
    license_requiring_telemetry,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let mut claims = LicenseAuthority::claims(&[("audit_log", 1)]);
        claims.insert("require_telemetry".into(), true.into());
        owner.client.add_license(&ca.sign(&claims)).await.unwrap();
        let e = t.client().entitlements().await.unwrap();
        assert_eq!(
            e.errors,
            vec!["License requires telemetry but telemetry is disabled".to_owned()]
        );
        assert!(!e.has_license);
        assert_eq!(
            e.features["audit_log"].entitlement,
            Entitlement::NotEntitled
        );
    }
);

// Concurrent uploads: every one stored once, with distinct ids, and the
// cache ends up reflecting all of them.
both_licensed!(
    concurrent_uploads,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let features = [
            "audit_log",
            "scim",
            "template_rbac",
            "appearance",
            "browser_only",
        ];
        let uploads = features.iter().map(|f| {
            let client = owner.client.clone();
            let jwt = ca.sign(&LicenseAuthority::claims(&[(f, 1)]));
            async move { client.add_license(&jwt).await.unwrap() }
        });
        let added = futures::future::join_all(uploads).await;
        let mut ids: Vec<i32> = added.iter().map(|l| l.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), features.len());
        assert_eq!(owner.client.licenses().await.unwrap().len(), features.len());
        let e = t.client().entitlements().await.unwrap();
        for f in features {
            assert_eq!(e.features[f].entitlement, Entitlement::Entitled, "{f}");
        }
    }
);
