//! Simulated EC2 instance metadata service, IMDSv2 only, for the AWS credential chain's
//! instance-role link: `PUT /latest/api/token` (needs `X-aws-ec2-metadata-token-ttl-seconds`,
//! else 400) answers a token; `GET /latest/meta-data/iam/security-credentials/` answers the role
//! name and `…/<role>` its credentials JSON (`Code`, `LastUpdated`, `Type`, `AccessKeyId`,
//! `SecretAccessKey`, `Token`, `Expiration` six hours ahead), both 401 without the token in
//! `X-aws-ec2-metadata-token` — as the EC2 user guide documents.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};

pub const TOKEN: &str = "sim-imds-token-AQAEAGm2";
pub const ROLE: &str = "drcockpit-bastion";
pub const ACCESS_KEY_ID: &str = "ASIASIMIMDSEXAMPLE01";

pub fn family() -> super::Family {
    super::Family::new("imds", routes())
        .endpoint("PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds)")
        .endpoint(
            "GET /latest/meta-data/iam/security-credentials/{role} (X-aws-ec2-metadata-token)",
        )
}

pub fn routes() -> Router {
    Router::new()
        .route("/latest/api/token", put(token))
        .route("/latest/meta-data/iam/security-credentials/", get(roles))
        .route(
            "/latest/meta-data/iam/security-credentials/{role}",
            get(role_credentials),
        )
}

async fn token(headers: HeaderMap) -> Response {
    let ttl = headers
        .get("x-aws-ec2-metadata-token-ttl-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u32>().ok());
    match ttl {
        Some(1..=21600) => (StatusCode::OK, TOKEN).into_response(),
        _ => (StatusCode::BAD_REQUEST, "").into_response(),
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get("x-aws-ec2-metadata-token")
        .and_then(|v| v.to_str().ok())
        == Some(TOKEN)
}

async fn roles(headers: HeaderMap) -> Response {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    (StatusCode::OK, ROLE).into_response()
}

async fn role_credentials(headers: HeaderMap, Path(role): Path<String>) -> Response {
    if !authorized(&headers) {
        return (StatusCode::UNAUTHORIZED, "").into_response();
    }
    if role != ROLE {
        return (StatusCode::NOT_FOUND, "").into_response();
    }
    let now = chrono::Utc::now();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let body = serde_json::json!({
        "Code": "Success",
        "LastUpdated": fmt(now),
        "Type": "AWS-HMAC",
        "AccessKeyId": ACCESS_KEY_ID,
        "SecretAccessKey": "simImdsSecretKeyEXAMPLEKEY0000000000000",
        "Token": "simImdsSessionTokenEXAMPLE",
        "Expiration": fmt(now + chrono::Duration::hours(6)),
    });
    (StatusCode::OK, body.to_string()).into_response()
}
