//! Turning any command failure into the one line printed after `error: `.
//!
//! API failures are rendered from Coder's `{message, detail, validations}`
//! body: 401 adds how to log in again, 403 reads `Forbidden: <message>`,
//! an unreachable server asks whether it is running.

use codersdk::{ClientError, Response};

use crate::session::Globals;

/// Upstream's 401 text for a missing, unknown or expired token.
const SIGNED_OUT_PREFIX: &str = "You are signed out";

/// One line describing `err` (without the `error: ` prefix).
pub fn render(err: &anyhow::Error, globals: &Globals) -> String {
    let mut parts = Vec::new();
    for cause in err.chain() {
        if let Some(client_err) = cause.downcast_ref::<ClientError>() {
            parts.push(render_client(client_err, globals));
            break;
        }
        parts.push(cause.to_string());
    }
    one_line(&parts.join(": "))
}

fn render_client(err: &ClientError, globals: &Globals) -> String {
    match err {
        ClientError::Unreachable { url, .. } => {
            format!("could not reach {url}: is the server running?")
        }
        ClientError::Api { status, response } => render_api(status.as_u16(), response, globals),
        ClientError::Other(msg) => msg.clone(),
    }
}

fn render_api(status: u16, response: &Response, globals: &Globals) -> String {
    match status {
        401 => {
            let mut line = api_message(response);
            if response.message.starts_with(SIGNED_OUT_PREFIX) {
                let url = globals
                    .url()
                    .ok()
                    .flatten()
                    .unwrap_or_else(|| "<url>".to_owned());
                line.push_str(&format!(" Try logging in using 'coderd login {url}'."));
            }
            line
        }
        403 => {
            let bare = response.message.trim().trim_end_matches('.');
            if bare.eq_ignore_ascii_case("forbidden") && response.detail.is_empty() {
                "Forbidden: you do not have permission to do this.".to_owned()
            } else {
                format!("Forbidden: {}", api_message(response))
            }
        }
        _ => api_message(response),
    }
}

/// `message (detail)` plus `field: detail` for each invalid field.
pub fn api_message(response: &Response) -> String {
    let mut line = response.message.trim().to_owned();
    if line.is_empty() {
        line = "the server answered with an error".to_owned();
    }
    if !response.detail.trim().is_empty() {
        line.push_str(&format!(" ({})", response.detail.trim()));
    }
    let fields: Vec<String> = response
        .validations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.detail))
        .collect();
    if !fields.is_empty() {
        line.push(' ');
        line.push_str(&fields.join("; "));
    }
    line
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
