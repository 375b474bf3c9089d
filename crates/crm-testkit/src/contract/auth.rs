//! Sign-up, log-in, refresh rotation, tokens, API keys, roles.

use anyhow::{Context, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;

use crm_core::Role;

use super::{Check, Suite, check, client_from_tokens, problem, status};

pub(super) const CHECKS: &[(&str, Check)] = &[
    check!(signing_up_logs_in_and_wrong_passwords_are_refused),
    check!(refresh_tokens_rotate_and_a_reused_one_revokes_the_session),
    check!(missing_malformed_and_tampered_tokens_are_refused),
    check!(the_jwks_holds_the_key_that_signed_the_token),
    check!(api_keys_are_shown_once_work_and_stop_working_when_revoked),
    check!(roles_limit_what_each_user_may_do),
];

async fn signing_up_logs_in_and_wrong_passwords_are_refused(s: &Suite) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let me = status(session.admin.get("/auth/me").await, 200)?;
    ensure!(
        me["email"] == session.email.as_str() && me["role"] == "admin",
        "me: {me}"
    );
    let anon = session.admin.anonymous();
    let tokens = status(
        anon.post(
            "/auth/login",
            &json!({"email": session.email.to_uppercase(), "password": session.password}),
        )
        .await,
        200,
    )?;
    ensure!(
        tokens["token_type"] == "Bearer" && tokens["expires_in"].as_i64() > Some(0),
        "tokens: {tokens}"
    );
    let r = anon
        .post(
            "/auth/login",
            &json!({"email": session.email, "password": "wrong password!"}),
        )
        .await;
    problem(&r, 401, "unauthorized")?;
    let r = anon
        .post(
            "/auth/login",
            &json!({"email": "nobody@contract.test", "password": "whatever123"}),
        )
        .await;
    problem(&r, 401, "unauthorized")?;
    let r = anon
        .post(
            "/auth/signup",
            &json!({"tenant_name": "", "name": "x", "email": "bad", "password": "short"}),
        )
        .await;
    problem(&r, 422, "validation")?;
    let f = super::fields(&r);
    ensure!(f == ["tenant_name", "email", "password"], "fields: {f:?}");
    let r = anon
        .post("/auth/signup", &json!({"tenant_name": "Again", "name": "x", "email": session.email, "password": "long enough pw"}))
        .await;
    problem(&r, 409, "duplicate")?;
    Ok(())
}

async fn refresh_tokens_rotate_and_a_reused_one_revokes_the_session(
    s: &Suite,
) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let anon = session.admin.anonymous();
    let first = status(
        anon.post(
            "/auth/refresh",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await,
        200,
    )?;
    let next = first["refresh_token"].as_str().context("refresh_token")?;
    ensure!(next != session.refresh_token, "refresh token rotated");
    client_from_tokens(&s.api(), &first)?
        .get("/auth/me")
        .await
        .status
        .is_success()
        .then_some(())
        .context("new access token works")?;
    let r = anon
        .post(
            "/auth/refresh",
            &json!({"refresh_token": session.refresh_token}),
        )
        .await;
    problem(&r, 401, "unauthorized")?;
    let r = anon
        .post("/auth/refresh", &json!({"refresh_token": next}))
        .await;
    problem(&r, 401, "unauthorized").context("reuse revokes the newer token too")?;
    let r = anon
        .post("/auth/refresh", &json!({"refresh_token": "nonsense"}))
        .await;
    problem(&r, 401, "unauthorized")?;
    Ok(())
}

async fn missing_malformed_and_tampered_tokens_are_refused(s: &Suite) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let anon = session.admin.anonymous();
    let r = anon.get("/companies").await;
    problem(&r, 401, "unauthorized")?;
    ensure!(
        r.header("www-authenticate")
            .is_some_and(|h| h.starts_with("Bearer")),
        "WWW-Authenticate"
    );
    problem(
        &anon.with_token("not-a-jwt").get("/companies").await,
        401,
        "unauthorized",
    )?;
    let token = session.admin.token.clone().context("token")?;
    let parts: Vec<&str> = token.split('.').collect();
    ensure!(parts.len() == 3, "a compact JWS");
    // Promote ourselves to another tenant by editing the claims: the signature no longer fits.
    let mut claims: serde_json::Value = serde_json::from_slice(&B64.decode(parts[1])?)?;
    claims["tid"] = json!(uuid::Uuid::new_v4());
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        B64.encode(serde_json::to_vec(&claims)?),
        parts[2]
    );
    problem(
        &anon.with_token(&forged).get("/companies").await,
        401,
        "unauthorized",
    )?;
    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    problem(
        &anon.with_token(&none).get("/companies").await,
        401,
        "unauthorized",
    )?;
    problem(
        &anon.with_token("crm_notakey").get("/companies").await,
        401,
        "unauthorized",
    )?;
    Ok(())
}

async fn the_jwks_holds_the_key_that_signed_the_token(s: &Suite) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let r = reqwest::get(format!("{}/.well-known/jwks.json", s.root)).await?;
    ensure!(r.status() == 200, "jwks status {}", r.status());
    let jwks: serde_json::Value = r.json().await?;
    let token = session.admin.token.clone().context("token")?;
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(token.split('.').next().unwrap_or_default())?)?;
    ensure!(header["alg"] == "EdDSA", "alg: {header}");
    let keys = jwks["keys"].as_array().context("keys")?;
    ensure!(
        keys.iter()
            .any(|k| k["kid"] == header["kid"] && k["kty"] == "OKP" && k["crv"] == "Ed25519"),
        "kid {} not in {jwks}",
        header["kid"]
    );
    Ok(())
}

async fn api_keys_are_shown_once_work_and_stop_working_when_revoked(
    s: &Suite,
) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let created = status(
        session
            .admin
            .post("/api-keys", &json!({"name": "ci", "role": "rep"}))
            .await,
        201,
    )?;
    let key = created["key"].as_str().context("key")?.to_owned();
    ensure!(
        key.starts_with("crm_") && created["api_key"]["role"] == "rep",
        "created: {created}"
    );
    let as_key = session.admin.with_token(&key);
    status(as_key.get("/companies").await, 200)?;
    problem(
        &as_key.post("/api-keys", &json!({"name": "escalate"})).await,
        403,
        "forbidden",
    )?;
    let list = status(session.admin.get("/api-keys").await, 200)?;
    ensure!(
        !list.to_string().contains(&key),
        "a listed key never shows its secret"
    );
    let id = created["api_key"]["id"].as_str().context("id")?;
    status(session.admin.delete(&format!("/api-keys/{id}")).await, 200)?;
    problem(&as_key.get("/companies").await, 401, "unauthorized")?;
    let rep = session.user(Role::Rep).await?;
    problem(
        &rep.post("/api-keys", &json!({"name": "mine"})).await,
        403,
        "forbidden",
    )?;
    let manager_key = session.user(Role::Manager).await?;
    problem(
        &manager_key.post("/api-keys", &json!({"name": "x"})).await,
        403,
        "forbidden",
    )?;
    Ok(())
}

async fn roles_limit_what_each_user_may_do(s: &Suite) -> anyhow::Result<()> {
    let session = s.signup().await?;
    let viewer = session.user(Role::Viewer).await?;
    let rep = session.user(Role::Rep).await?;
    let before = super::count(&session.admin, "companies").await?;
    problem(
        &viewer.post("/companies", &json!({"name": "V"})).await,
        403,
        "forbidden",
    )?;
    status(viewer.get("/companies").await, 200)?;
    let c = status(rep.post("/companies", &json!({"name": "R"})).await, 201)?;
    problem(
        &rep.delete(&format!("/companies/{}", super::id(&c))).await,
        403,
        "forbidden",
    )?;
    problem(
        &rep.post(
            "/users",
            &json!({"email": "x@y.io", "name": "x", "role": "admin", "password": "long enough"}),
        )
        .await,
        403,
        "forbidden",
    )?;
    ensure!(
        super::count(&session.admin, "companies").await? == before + 1,
        "only the rep's company was written"
    );
    Ok(())
}
