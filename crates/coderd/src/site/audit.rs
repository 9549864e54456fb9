//! `/audit` (coder-now 5.6): the filter box with the `q` syntax, the rows
//! (actor, description, link, time, status) and each row's diff, secrets
//! shown as dots. A paywall while `audit_log` is not entitled.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use codersdk::FeatureName;
use serde::Deserialize;

use super::{render, respond, Layout, Viewer};
use crate::state::AppState;

/// `/audit`, and upstream's newer `/logs/audit` (same page).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/audit", get(get_audit))
        .route("/logs/audit", get(get_audit))
}

struct DiffRow {
    field: String,
    old: String,
    new: String,
}

struct AuditRow {
    actor: String,
    /// The description between the actor and the target.
    description: String,
    has_target: bool,
    target: String,
    link: String,
    time: String,
    status: i32,
    ip: String,
    diff: Vec<DiffRow>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entitled: bool,
    q: String,
    rows: Vec<AuditRow>,
    count: i64,
    page: i64,
    pages: i64,
    pager_query: String,
    paywall_title: &'static str,
    paywall_text: &'static str,
}

#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

const PAGE_SIZE: i64 = 25;

/// Secrets are shown as dots, as upstream's diff viewer does.
const SECRET: &str = "••••••••";

fn show(v: &Option<serde_json::Value>, secret: bool) -> String {
    match v {
        _ if secret => SECRET.to_owned(),
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `GET /audit?q=&page=`: `GET /audit` (the API's access rule: owners and
/// auditors) 25 rows a page.
async fn get_audit(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<AuditQuery>,
) -> Response {
    let page = q.page.unwrap_or(1).max(1);
    let entitled = state.entitlements.enabled(FeatureName::AuditLog);
    let r = async {
        let res = if entitled {
            crate::api::audit::get_audit_logs(
                State(state.clone()),
                v.auth.clone(),
                crate::extract::Query(crate::api::audit::AuditQuery {
                    q: q.q.clone(),
                    limit: Some(PAGE_SIZE),
                    offset: Some((page - 1) * PAGE_SIZE),
                }),
            )
            .await?
            .0
        } else {
            v.auth.require(
                crate::rbac::Action::Read,
                &crate::rbac::Resource::AuditLog.any(),
            )?;
            codersdk::AuditLogResponse {
                audit_logs: vec![],
                count: 0,
            }
        };
        let rows = res
            .audit_logs
            .iter()
            .map(|a| {
                let actor = a
                    .user
                    .as_ref()
                    .map(|u| u.username.clone())
                    .unwrap_or_else(|| "Coder".to_owned());
                AuditRow {
                    description: a
                        .description
                        .replace("{user} ", "")
                        .replace("{user}", "")
                        .replace(" {target}", "")
                        .replace("{target}", ""),
                    has_target: a.description.contains("{target}"),
                    actor,
                    target: a.resource_target.clone(),
                    link: a.resource_link.clone(),
                    time: super::when(&a.time),
                    status: a.status_code,
                    ip: a.ip.clone(),
                    diff: a
                        .diff
                        .iter()
                        .map(|(k, d)| DiffRow {
                            field: k.clone(),
                            old: show(&d.old, d.secret),
                            new: show(&d.new, d.secret),
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(render(&AuditPage {
            layout: v.layout(&state, "Audit", "audit").await,
            entitled,
            pager_query: serde_urlencoded::to_string([("q", &q.q)])
                .map(|s| format!("{s}&"))
                .unwrap_or_default(),
            q: q.q.clone(),
            rows,
            count: res.count,
            page,
            pages: ((res.count + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
            paywall_title: "Audit logs",
            paywall_text: "Audit logs allow you to monitor user operations on your deployment.",
        }))
    }
    .await;
    respond(&state, &v, r).await
}
