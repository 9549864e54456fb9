//! Appearance (spec section 11, scenarios 16-20), its licensing and its
//! persistence.

use crate::common::*;
use codersdk::{AppearanceConfig, ServiceBannerConfig};
use reqwest::Method;
use serde_json::json;

const EMPTY: &str = r#"{"logo_url":"","service_banner":{"enabled":false}}"#;

fn banner(enabled: bool, color: &str, message: &str) -> String {
    json!({
        "logo_url": "https://example.com/logo.png",
        "service_banner": {"enabled": enabled, "background_color": color, "message": message},
    })
    .to_string()
}

async fn license_appearance(owner: &Owner, ca: &LicenseAuthority) -> codersdk::License {
    owner
        .client
        .add_license(&ca.sign(&LicenseAuthority::claims(&[
            ("appearance", 1),
            ("template_rbac", 1),
        ])))
        .await
        .unwrap()
}

// Scenario 16; and the stored config stays hidden while unlicensed.
both!(
    unlicensed_answers_the_empty_config,
    |t: TestServer| async move {
        let owner = t.owner().await;
        let r = t
            .raw(Method::GET, "/api/v2/appearance", Some(owner.token()), None)
            .await;
        r.expect(200);
        assert_eq!(r.text.trim(), EMPTY);
        // PUT stores regardless of the license, GET still answers empty.
        let r = t
            .raw(
                Method::PUT,
                "/api/v2/appearance",
                Some(owner.token()),
                Some(&banner(true, "#00FF00", "Hey")),
            )
            .await;
        r.expect(200);
        let r = t
            .raw(Method::GET, "/api/v2/appearance", Some(owner.token()), None)
            .await;
        assert_eq!(r.text.trim(), EMPTY);
        let r = t.raw(Method::GET, "/api/v2/appearance", None, None).await;
        r.expect(401);
    }
);

// Scenario 17.
both!(members_may_not_update, |t: TestServer| async move {
    let owner = t.owner().await;
    let (member, _) = t.member(&owner.client, "alice").await;
    let r = t
        .raw(
            Method::PUT,
            "/api/v2/appearance",
            member.token(),
            Some(&banner(true, "#00FF00", "Hey")),
        )
        .await;
    r.expect(403);
    assert_eq!(r.message(), "Insufficient permissions to update appearance");
    let stored = t.store().get_appearance().await.unwrap();
    assert_eq!(stored, store::StoredAppearance::default());
    // Members read it.
    member.appearance().await.unwrap();
});

// Scenario 18, the issue's walk-through (licence -> banner -> delete ->
// hidden, stored config kept), and persistence across a restart.
both_licensed!(
    licensed_banner_round_trip,
    |t: TestServer, ca: LicenseAuthority| async move {
        let mut t = t;
        let owner = t.owner().await;
        let lic = license_appearance(&owner, &ca).await;
        let body = banner(true, "#00FF00", "Hey");
        let r = t
            .raw(
                Method::PUT,
                "/api/v2/appearance",
                Some(owner.token()),
                Some(&body),
            )
            .await;
        r.expect(200);
        assert_eq!(
            r.json,
            serde_json::from_str::<serde_json::Value>(&body).unwrap()
        );
        let want = AppearanceConfig {
            logo_url: "https://example.com/logo.png".into(),
            service_banner: ServiceBannerConfig {
                enabled: true,
                message: "Hey".into(),
                background_color: "#00FF00".into(),
            },
        };
        let (member, _) = t.member(&owner.client, "alice").await;
        assert_eq!(member.appearance().await.unwrap(), want);

        owner.client.delete_license(lic.id).await.unwrap();
        let r = t
            .raw(Method::GET, "/api/v2/appearance", Some(owner.token()), None)
            .await;
        assert_eq!(r.text.trim(), EMPTY);
        assert!(t.store().get_appearance().await.unwrap().logo_url.is_some());

        license_appearance(&owner, &ca).await;
        assert_eq!(owner.client.appearance().await.unwrap(), want);
        t.restart().await;
        let client = t.client().with_token(owner.token().to_owned());
        assert_eq!(client.appearance().await.unwrap(), want);
    }
);

// Spec section 10: in the grace period the banner still shows.
both_licensed!(
    grace_period_still_shows_the_banner,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        let now = chrono::Utc::now().timestamp();
        let mut claims = LicenseAuthority::claims(&[("appearance", 1)]);
        claims.insert("license_expires".into(), (now - 60).into());
        owner.client.add_license(&ca.sign(&claims)).await.unwrap();
        let cfg = AppearanceConfig {
            logo_url: String::new(),
            service_banner: ServiceBannerConfig {
                enabled: true,
                message: "Renew soon".into(),
                background_color: "#abcdef".into(),
            },
        };
        owner.client.update_appearance(&cfg).await.unwrap();
        assert_eq!(owner.client.appearance().await.unwrap(), cfg);
    }
);

// Scenario 19: colours are checked when the banner is enabled; nothing is
// stored on refusal.
both_licensed!(
    colour_validation,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        license_appearance(&owner, &ca).await;
        for (color, reason) in [
            ("#bad color", "expected 7 characters"),
            ("00FF00A", "no # prefix"),
            ("#00FF0", "expected 7 characters"),
            ("#00FF0G", "encoding/hex: invalid byte: U+0047 'G'"),
            ("", "expected 7 characters"),
        ] {
            let r = t
                .raw(
                    Method::PUT,
                    "/api/v2/appearance",
                    Some(owner.token()),
                    Some(&banner(true, color, "Hey")),
                )
                .await;
            r.expect(400);
            assert_eq!(r.message(), "Invalid color format", "{color}");
            assert_eq!(r.json["detail"], reason, "{color}");
        }
        assert_eq!(
            t.store().get_appearance().await.unwrap(),
            store::StoredAppearance::default()
        );
        // Lower-case hex is fine.
        let r = t
            .raw(
                Method::PUT,
                "/api/v2/appearance",
                Some(owner.token()),
                Some(&banner(true, "#a1b2c3", "Hey")),
            )
            .await;
        r.expect(200);
        // Wrong types and bad JSON.
        for body in [
            r#"{"service_banner":{"enabled":"yes"}}"#,
            r#"{"logo_url":5}"#,
            "not json",
        ] {
            let r = t
                .raw(
                    Method::PUT,
                    "/api/v2/appearance",
                    Some(owner.token()),
                    Some(body),
                )
                .await;
            r.expect(400);
            assert_eq!(r.message(), "Request body must be valid JSON.");
        }
    }
);

// Scenario 20: a disabled banner's colour is not checked.
both_licensed!(
    disabled_banner_colour_is_not_checked,
    |t: TestServer, ca: LicenseAuthority| async move {
        let owner = t.owner().await;
        license_appearance(&owner, &ca).await;
        let r = t
            .raw(
                Method::PUT,
                "/api/v2/appearance",
                Some(owner.token()),
                Some(&banner(false, "nope", "")),
            )
            .await;
        r.expect(200);
        assert_eq!(r.json["service_banner"]["background_color"], "nope");
        assert!(r.json["service_banner"].get("message").is_none());
        let got = owner.client.appearance().await.unwrap();
        assert!(!got.service_banner.enabled);
        assert_eq!(got.service_banner.background_color, "nope");
    }
);
