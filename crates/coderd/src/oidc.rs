//! The OpenID Connect relying party (coder-now 2.1 to 2.3), built on the
//! `openidconnect` crate: discovery at start, the authorize URL (state,
//! nonce, PKCE S256 when the provider offers it), the code exchange, ID
//! token verification (issuer, audience, signature from the provider's
//! JWKS, nonce, expiry) and the userinfo merge. Nothing here decides who
//! may sign in: that is [`crate::domain::oidc`].

use std::collections::BTreeMap;

use anyhow::Context;
use base64::Engine;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, AuthorizationCode, Client, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadata, RedirectUrl, Scope, StandardErrorResponse, StandardTokenResponse,
    SubjectIdentifier,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Digest;

use crate::config::OidcConfig;

/// Every claim of an ID token or userinfo response, as JSON (the
/// registered ones the library checks, `iss`, `aud`, `exp`, `iat`,
/// `nonce`, ..., are not repeated here).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RawClaims(pub Map<String, Value>);

impl AdditionalClaims for RawClaims {}

/// The discovery fields the core metadata type leaves out.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ExtraMetadata {
    /// RFC 8414 `code_challenge_methods_supported`.
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
}

impl AdditionalProviderMetadata for ExtraMetadata {}

type Metadata = ProviderMetadata<
    ExtraMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type TokenResponse = StandardTokenResponse<
    IdTokenFields<
        RawClaims,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

type OidcClient = Client<
    RawClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The discovered provider and this deployment's client registration.
pub struct Provider {
    client: OidcClient,
    http: reqwest::Client,
    /// The issuer as discovered (the first half of linked ids).
    issuer: String,
    pkce: bool,
    scopes: Vec<String>,
    auth_url_params: Vec<(String, String)>,
    ignore_userinfo: bool,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer)
            .field("pkce", &self.pkce)
            .finish()
    }
}

/// Where a login starts: the provider URL to send the browser to, and
/// what the callback needs back (kept in cookies).
#[derive(Debug)]
pub struct Start {
    /// The provider's authorize URL with every parameter.
    pub url: String,
    /// The PKCE verifier, when the provider supports S256.
    pub pkce_verifier: Option<String>,
}

/// Why finishing a login failed; each is one of upstream's responses.
#[derive(Debug)]
pub enum FinishError {
    /// 500 `Failed exchanging Oauth code.` (the provider refused the
    /// code, e.g. replayed, or could not be reached); the detail.
    Exchange(String),
    /// 400 `id_token not found in response payload. ...`.
    NoIdToken,
    /// 400 `Failed to verify OIDC token.`; the detail.
    Verify(String),
    /// 400 `OIDC token missing 'sub' claim field or 'sub' claim field is empty.`
    NoSubject,
    /// 500 `Failed to obtain user information claims.`; the detail.
    UserInfo(String),
}

/// A verified sign-in: the subject and the merged claims.
#[derive(Clone, Debug)]
pub struct Identity {
    /// `<issuer>||<sub>`, upstream's linked id.
    pub linked_id: String,
    /// The ID token's claims with the userinfo claims merged over them.
    pub claims: Map<String, Value>,
}

/// The nonce of a login, derived from its state (which only the browser's
/// `oauth_state` cookie and the provider see): binds the ID token to the
/// login that asked for it.
fn nonce_for(state: &str) -> Nonce {
    let digest = sha2::Sha256::digest(format!("coderd-oidc-nonce:{state}").as_bytes());
    Nonce::new(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest))
}

impl Provider {
    /// Discovers the provider at `--oidc-issuer-url` (its
    /// `/.well-known/openid-configuration` and JWKS). The redirect URL is
    /// `<access_url>/api/v2/users/oidc/callback`. Fails naming the issuer
    /// URL when it cannot be reached or its document is invalid.
    pub async fn discover(cfg: &OidcConfig, access_url: &str) -> anyhow::Result<Provider> {
        let issuer_url = cfg.issuer_url.clone().unwrap_or_default();
        let http = reqwest::Client::builder()
            // Following redirects would open the client to SSRF.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        let issuer = IssuerUrl::new(issuer_url.clone())
            .with_context(|| format!("--oidc-issuer-url {issuer_url:?} is not a URL"))?;
        let metadata = Metadata::discover_async(issuer, &http)
            .await
            .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))
            .with_context(|| format!("OIDC discovery at {issuer_url:?} failed"))?;
        let pkce = metadata
            .additional_metadata()
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256");
        let issuer = metadata.issuer().to_string();
        let secret = cfg
            .client_secret
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .filter(|s| !s.is_empty())
            .map(ClientSecret::new);
        let redirect = RedirectUrl::new(format!("{access_url}/api/v2/users/oidc/callback"))
            .context("--access-url does not make a redirect URL")?;
        let client = OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(cfg.client_id.clone()),
            secret,
        )
        .set_redirect_uri(redirect);
        let params: BTreeMap<String, Value> = serde_json::from_str(&cfg.auth_url_params)
            .context("--oidc-auth-url-params must be a JSON object")?;
        let auth_url_params = params
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect();
        Ok(Provider {
            client,
            http,
            issuer,
            pkce,
            scopes: cfg.scopes.clone(),
            auth_url_params,
            ignore_userinfo: cfg.ignore_userinfo,
        })
    }

    /// The issuer (as discovered).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The authorize URL for a login with `state`: the configured scopes,
    /// `--oidc-auth-url-params`, the nonce and, when the provider offers
    /// S256, a PKCE challenge.
    pub fn start(&self, state: &str) -> Start {
        let state_owned = state.to_owned();
        let nonce = nonce_for(state);
        let mut req = self.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            move || CsrfToken::new(state_owned),
            move || nonce,
        );
        for s in &self.scopes {
            if s != "openid" {
                req = req.add_scope(Scope::new(s.clone()));
            }
        }
        for (k, v) in &self.auth_url_params {
            req = req.add_extra_param(k.clone(), v.clone());
        }
        let mut pkce_verifier = None;
        if self.pkce {
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            req = req.set_pkce_challenge(challenge);
            pkce_verifier = Some(verifier.secret().clone());
        }
        let (url, _, _) = req.url();
        Start {
            url: url.to_string(),
            pkce_verifier,
        }
    }

    /// True when logins use PKCE (the callback then needs the verifier).
    pub fn uses_pkce(&self) -> bool {
        self.pkce
    }

    /// Finishes a login: exchanges `code`, verifies the ID token against
    /// the nonce of `state`, and merges the userinfo claims over the ID
    /// token's (unless `--oidc-ignore-userinfo`).
    pub async fn finish(
        &self,
        code: &str,
        state: &str,
        pkce_verifier: Option<String>,
    ) -> Result<Identity, FinishError> {
        let exchange = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| FinishError::Exchange(e.to_string()))?;
        let exchange = match pkce_verifier {
            Some(v) => exchange.set_pkce_verifier(PkceCodeVerifier::new(v)),
            None => exchange,
        };
        let token = exchange
            .request_async(&self.http)
            .await
            .map_err(|e| FinishError::Exchange(error_chain(&e)))?;
        let id_token = token
            .extra_fields()
            .id_token()
            .ok_or(FinishError::NoIdToken)?;
        let verifier = self.client.id_token_verifier();
        let nonce = nonce_for(state);
        let claims = id_token
            .claims(&verifier, &nonce)
            .map_err(|e| FinishError::Verify(error_chain(&e)))?;
        let sub = claims.subject().as_str().to_owned();
        if sub.is_empty() {
            return Err(FinishError::NoSubject);
        }
        let mut merged = claims_map(claims);
        if !self.ignore_userinfo {
            // A provider without a userinfo endpoint: the ID token only.
            if let Ok(req) = self.client.user_info(
                token.access_token().clone(),
                Some(SubjectIdentifier::new(sub.clone())),
            ) {
                let info = req
                    .request_async::<RawClaims, _, CoreGenderClaim>(&self.http)
                    .await
                    .map_err(|e| FinishError::UserInfo(error_chain(&e)))?;
                for (k, v) in claims_map(&info) {
                    merged.insert(k, v);
                }
            }
        }
        Ok(Identity {
            linked_id: format!("{}||{}", self.issuer, sub),
            claims: merged,
        })
    }
}

/// Every claim of a parsed token or userinfo response as one JSON object:
/// the library's typed standard claims (email, names, ...) and the rest.
fn claims_map(claims: &impl Serialize) -> Map<String, Value> {
    match serde_json::to_value(claims) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// An error and its sources, `: `-joined (the library's top-level
/// messages alone are vague, e.g. `Server returned error response`).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let m = s.to_string();
        if !out.contains(&m) {
            out.push_str(": ");
            out.push_str(&m);
        }
        cur = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_claims_keep_every_claim() {
        let json = serde_json::json!({
            "iss": "https://idp", "aud": "c", "exp": 2, "iat": 1, "sub": "s",
            "email": "a@b.c", "email_verified": true, "groups": ["x"], "custom": 1
        });
        let c: openidconnect::IdTokenClaims<RawClaims, CoreGenderClaim> =
            serde_json::from_value(json).unwrap();
        let m = claims_map(&c);
        assert_eq!(m["sub"], "s");
        assert_eq!(m["email"], "a@b.c");
        assert_eq!(m["email_verified"], true);
        assert_eq!(m["groups"], serde_json::json!(["x"]));
        assert_eq!(m["custom"], 1);
    }

    #[test]
    fn nonce_depends_on_state() {
        assert_eq!(nonce_for("a").secret(), nonce_for("a").secret());
        assert_ne!(nonce_for("a").secret(), nonce_for("b").secret());
    }
}
