//! The web portal of `baton serve` (`/portal`, docs/portal.md): server-rendered HTML
//! pages over the JSON API. A page asks the API router itself (`/api/v1/…`, in
//! process, with the session's token as its bearer token), so the portal shows what the
//! API answers, with the API's role checks, limits and redaction; only the drawings the
//! API has no route for (the graph as SVG, a plan's diffs, a run's log so far) come from
//! the same `ops` and `render` functions the API handlers call.
//!
//! A login form takes a token and opens a session kept on the server (the cookie holds
//! only a random session id: HttpOnly, SameSite=Strict, path `/portal`). Every form
//! carries the session's CSRF token in a hidden field, checked on every POST.

mod pages;
mod request;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::Markup;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::{App, BODY_LIMIT, blocking};
use crate::ops::{self, Role};

/// How long a session lasts after login.
const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// The session cookie.
const COOKIE: &str = "baton_session";
/// The cookie of the login form's CSRF token (before there is a session).
const LOGIN_COOKIE: &str = "baton_login";

/// The portal's sessions, kept on the server by random id.
#[derive(Default)]
pub(crate) struct Sessions(Mutex<HashMap<String, Session>>);

struct Session {
    /// The token presented at login (sent to the API as the bearer token).
    token: String,
    /// The session's CSRF token.
    csrf: String,
    expires: Instant,
}

/// What the portal's handlers share: the app and the API router they ask.
struct Portal {
    app: Arc<App>,
    api: Router,
}

type Shared = State<Arc<Portal>>;
/// A page, or the answer that takes its place (a redirect to login, an error page).
type Page = Result<Response, Response>;

/// The signed-in user of a request.
pub(super) struct User {
    sid: String,
    token: String,
    /// The token's name.
    pub name: String,
    /// The token's role (read from the token file on each request).
    pub role: Role,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
}

/// The portal's routes (under `/portal`; `/` leads there), asking `api` for their data.
pub(super) fn router(app: Arc<App>, api: Router) -> Router {
    let portal = Arc::new(Portal { app, api });
    Router::new()
        .route("/", get(|| async { Redirect::to("/portal/") }))
        .route("/portal", get(|| async { Redirect::to("/portal/") }))
        .route("/portal/", get(overview))
        .route("/portal/login", get(login_form).post(login))
        .route("/portal/logout", post(logout))
        .route("/portal/assets/portal.css", get(css))
        .route("/portal/assets/portal.js", get(js))
        .route("/portal/env/{env}", get(environment))
        .route("/portal/env/{env}/workloads/{name}", get(workload))
        .route("/portal/env/{env}/history", get(history))
        .route("/portal/env/{env}/history/rollback", post(rollback))
        .route("/portal/env/{env}/drift", get(drift).post(drift_check))
        .route("/portal/env/{env}/modules", get(modules))
        .route(
            "/portal/env/{env}/request",
            get(request_form).post(request_post),
        )
        .route("/portal/runs/{id}", get(run))
        .route("/portal/runs/{id}/apply", post(apply))
        .route("/portal/runs/{id}/events", get(events))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(300),
        ))
        .with_state(portal)
}

/// 256 random bits as hex.
fn random_id() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(name: &str, value: &str, max_age: u64) -> HeaderValue {
    let v = format!("{name}={value}; Path=/portal; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// An HTML answer with the portal's headers (no framing, scripts and styles only from
/// the portal itself, not cached).
fn html(status: StatusCode, markup: Markup) -> Response {
    let mut r = (status, markup.into_string()).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

fn ok(markup: Markup) -> Page {
    Ok(html(StatusCode::OK, markup))
}

/// An error page.
fn error(user: Option<&User>, status: StatusCode, message: &str) -> Response {
    html(status, pages::error(user, status, message))
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The signed-in user, or a redirect to the login form.
async fn user(p: &Portal, headers: &HeaderMap) -> Result<User, Response> {
    let to_login = || see_other("/portal/login");
    let Some(sid) = cookie(headers, COOKIE) else {
        return Err(to_login());
    };
    let (token, csrf) = {
        let mut sessions = p.app.portal.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        match sessions.get(sid) {
            Some(s) => (s.token.clone(), s.csrf.clone()),
            None => return Err(to_login()),
        }
    };
    let root = p.app.root.clone();
    let t = token.clone();
    let found = blocking(move || {
        let tokens = ops::tokens(&root)?;
        Ok(tokens.verify(&t).map(|(n, r)| (n.to_string(), r)))
    })
    .await
    .map_err(|e| e.into_response())?;
    // A token removed since login ends its sessions.
    let Some((name, role)) = found else {
        return Err(to_login());
    };
    Ok(User {
        sid: sid.to_string(),
        token,
        name,
        role,
        csrf,
    })
}

/// The fields of a posted form (size limited by the router), or an error page.
fn form(
    user: Option<&User>,
    b: Result<Bytes, BytesRejection>,
) -> Result<Vec<(String, String)>, Response> {
    let bytes = b.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the form is over {BODY_LIMIT} bytes")
        } else {
            e.body_text()
        };
        error(user, status, &message)
    })?;
    Ok(url::form_urlencoded::parse(&bytes).into_owned().collect())
}

fn field<'f>(fields: &'f [(String, String)], name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Refuses (403) a form without this session's CSRF token.
fn check_csrf(user: &User, fields: &[(String, String)]) -> Result<(), Response> {
    use subtle::ConstantTimeEq as _;
    let sent = field(fields, "csrf").unwrap_or("");
    if sent.is_empty() || !bool::from(sent.as_bytes().ct_eq(user.csrf.as_bytes())) {
        return Err(error(
            Some(user),
            StatusCode::FORBIDDEN,
            "the form's CSRF token is missing or wrong: reload the page and send it again",
        ));
    }
    Ok(())
}

/// Asks the API: its status and JSON answer.
async fn api_call(
    p: &Portal,
    user: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value), Response> {
    let r = api_response(p, user, method, path, body).await?;
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), 64 << 20)
        .await
        .map_err(|e| {
            error(
                Some(user),
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            )
        })?;
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, v))
}

/// The API's raw answer to a request made with the session's token.
async fn api_response(
    p: &Portal,
    user: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Result<Response, Response> {
    let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
    let rq = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {}", user.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .map_err(|e| {
            error(
                Some(user),
                StatusCode::INTERNAL_SERVER_ERROR,
                &e.to_string(),
            )
        })?;
    match p.api.clone().oneshot(rq).await {
        Ok(r) => Ok(r),
        Err(e) => Err(error(
            Some(user),
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        )),
    }
}

/// Asks the API for JSON; an error answer becomes an error page with its status.
async fn api(p: &Portal, user: &User, path: &str) -> Result<Value, Response> {
    let (status, v) = api_call(p, user, Method::GET, path, None).await?;
    if status.is_success() {
        return Ok(v);
    }
    Err(api_error(user, status, &v))
}

fn api_error(user: &User, status: StatusCode, v: &Value) -> Response {
    let message = v["error"].as_str().unwrap_or("the request failed");
    error(Some(user), status, message)
}

/// Percent-encodes a path segment.
fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("portal.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("portal.js"),
    )
        .into_response()
}

async fn login_form(headers: HeaderMap) -> Response {
    let nonce = cookie(&headers, LOGIN_COOKIE)
        .filter(|n| n.len() == 64)
        .map(str::to_string)
        .unwrap_or_else(random_id);
    let mut r = html(StatusCode::OK, pages::login(&nonce, None));
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, &nonce, 3600));
    r
}

async fn login(State(p): Shared, headers: HeaderMap, b: Result<Bytes, BytesRejection>) -> Page {
    use subtle::ConstantTimeEq as _;
    let fields = form(None, b)?;
    let nonce = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    let sent = field(&fields, "csrf").unwrap_or("");
    if nonce.is_empty() || !bool::from(sent.as_bytes().ct_eq(nonce.as_bytes())) {
        return Err(error(
            None,
            StatusCode::FORBIDDEN,
            "the login form's CSRF token is missing or wrong: open the login page again",
        ));
    }
    let token = field(&fields, "token").unwrap_or("").trim().to_string();
    let root = p.app.root.clone();
    let t = token.clone();
    let valid = blocking(move || Ok(ops::tokens(&root)?.verify(&t).is_some()))
        .await
        .map_err(|e| e.into_response())?;
    if !valid {
        return Err(html(
            StatusCode::UNAUTHORIZED,
            pages::login(nonce, Some("that token is not valid")),
        ));
    }
    let sid = random_id();
    p.app
        .portal
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(
            sid.clone(),
            Session {
                token,
                csrf: random_id(),
                expires: Instant::now() + SESSION_TTL,
            },
        );
    let mut r = see_other("/portal/");
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(COOKIE, &sid, SESSION_TTL.as_secs()),
    );
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(LOGIN_COOKIE, "", 0));
    Ok(r)
}

async fn logout(State(p): Shared, headers: HeaderMap, b: Result<Bytes, BytesRejection>) -> Page {
    let u = user(&p, &headers).await?;
    let fields = form(Some(&u), b)?;
    check_csrf(&u, &fields)?;
    p.app
        .portal
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&u.sid);
    let mut r = see_other("/portal/login");
    r.headers_mut()
        .insert(header::SET_COOKIE, set_cookie(COOKIE, "", 0));
    Ok(r)
}

async fn overview(State(p): Shared, headers: HeaderMap) -> Page {
    let u = user(&p, &headers).await?;
    let v = api(&p, &u, "/api/v1/environments").await?;
    ok(pages::overview(&u, &v))
}

/// A page of environment `env` made from the API's answer at `/environments/{env}{what}`.
async fn env_page(
    p: &Portal,
    headers: &HeaderMap,
    env: &str,
    what: &str,
    page: fn(&User, &str, &Value) -> Markup,
) -> Page {
    let u = user(p, headers).await?;
    let v = api(p, &u, &format!("/api/v1/environments/{}{what}", seg(env))).await?;
    ok(page(&u, env, &v))
}

async fn environment(State(p): Shared, headers: HeaderMap, Path(env): Path<String>) -> Page {
    env_page(&p, &headers, &env, "", pages::environment).await
}

async fn workload(
    State(p): Shared,
    headers: HeaderMap,
    Path((env, name)): Path<(String, String)>,
) -> Page {
    let u = user(&p, &headers).await?;
    let v = api(
        &p,
        &u,
        &format!(
            "/api/v1/environments/{}/workloads/{}",
            seg(&env),
            seg(&name)
        ),
    )
    .await?;
    // The graph of the workload and what it needs, drawn here (the API gives it as DOT
    // and Mermaid text).
    let app = p.app.clone();
    let (e, n) = (env.clone(), name.clone());
    let svg = blocking(move || {
        let opts = ops::GraphOptions {
            workspace: app.workspace(&e),
            inputs: ops::ScoreInputs::discover(&app.root),
            workload: Some(n),
        };
        Ok(match ops::graph(&opts) {
            Ok((prepared, keep)) => Ok(crate::render::graph_svg::svg(&prepared.graph, &keep)),
            Err(e) => Err(super::ApiError::from(e).body["error"]
                .as_str()
                .unwrap_or("the graph cannot be drawn")
                .to_string()),
        })
    })
    .await
    .map_err(|e| e.into_response())?;
    ok(pages::workload(&u, &env, &name, &v, svg))
}

/// The two applies the history page compares (`?a=…&b=…`), as typed.
#[derive(serde::Deserialize, Default)]
pub(super) struct Compare {
    pub a: Option<String>,
    pub b: Option<String>,
}

async fn history(
    State(p): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    Query(compare): Query<Compare>,
) -> Page {
    let u = user(&p, &headers).await?;
    let e = seg(&env);
    let v = api(&p, &u, &format!("/api/v1/environments/{e}/history")).await?;
    // The diff as the API answers it (a serial that is not one is the API's 400).
    let diff = match (&compare.a, &compare.b) {
        (Some(a), Some(b)) => {
            let q = format!("a={}&b={}", seg(a), seg(b));
            Some(
                api(
                    &p,
                    &u,
                    &format!("/api/v1/environments/{e}/history/diff?{q}"),
                )
                .await?,
            )
        }
        _ => None,
    };
    ok(pages::history(&u, &env, &v, &compare, diff.as_ref()))
}

/// "Plan a rollback to this apply": queues the plan `at` the posted serial through the
/// API (developer or above) and answers with its run page.
async fn rollback(
    State(p): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Page {
    let path = format!("/api/v1/environments/{}/plans?wait=false", seg(&env));
    start_run(&p, &headers, b, &path, |fields| {
        match field(fields, "at").and_then(|a| a.parse::<u64>().ok()) {
            Some(at) => Ok(Some(json!({ "at": at }))),
            None => Err("the form's `at` is not the serial of an apply"),
        }
    })
    .await
}

async fn drift(State(p): Shared, headers: HeaderMap, Path(env): Path<String>) -> Page {
    env_page(&p, &headers, &env, "", pages::drift).await
}

async fn drift_check(
    State(p): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Page {
    let path = format!("/api/v1/environments/{}/drift?wait=false", seg(&env));
    start_run(&p, &headers, b, &path, |_| Ok(None)).await
}

/// A form that starts a run: checked (session, CSRF), posted to the API's `path` with
/// the JSON body `body` makes of the form's fields (a message of what is wrong with them
/// is a 400), and answered with the run's page.
async fn start_run(
    p: &Portal,
    headers: &HeaderMap,
    b: Result<Bytes, BytesRejection>,
    path: &str,
    body: fn(&[(String, String)]) -> Result<Option<Value>, &'static str>,
) -> Page {
    let u = user(p, headers).await?;
    let fields = form(Some(&u), b)?;
    check_csrf(&u, &fields)?;
    let body = body(&fields).map_err(|m| error(Some(&u), StatusCode::BAD_REQUEST, m))?;
    let (status, v) = api_call(p, &u, Method::POST, path, body).await?;
    if !status.is_success() {
        return Err(api_error(&u, status, &v));
    }
    Ok(see_other(&format!(
        "/portal/runs/{}",
        seg(v["id"].as_str().unwrap_or(""))
    )))
}

async fn modules(State(p): Shared, headers: HeaderMap, Path(env): Path<String>) -> Page {
    env_page(&p, &headers, &env, "/modules", pages::modules).await
}

/// The choice of the request form (`?workload=…&module=…`).
#[derive(serde::Deserialize, Default)]
struct Choice {
    workload: Option<String>,
    module: Option<String>,
}

async fn request_form(
    State(p): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    Query(choice): Query<Choice>,
) -> Page {
    let u = user(&p, &headers).await?;
    let e = api(&p, &u, &format!("/api/v1/environments/{}", seg(&env))).await?;
    let m = api(
        &p,
        &u,
        &format!("/api/v1/environments/{}/modules", seg(&env)),
    )
    .await?;
    let form = request::Form {
        workload: choice.workload.unwrap_or_default(),
        module: choice.module.unwrap_or_default(),
        ..Default::default()
    };
    ok(pages::request(&u, &env, &e, &m, &form, None))
}

async fn request_post(
    State(p): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Page {
    let u = user(&p, &headers).await?;
    let fields = form(Some(&u), b)?;
    check_csrf(&u, &fields)?;
    let e = api(&p, &u, &format!("/api/v1/environments/{}", seg(&env))).await?;
    let m = api(
        &p,
        &u,
        &format!("/api/v1/environments/{}/modules", seg(&env)),
    )
    .await?;
    let form = request::Form::read(&fields);
    let again = |status: StatusCode, problem: String| {
        html(
            status,
            pages::request(&u, &env, &e, &m, &form, Some(&problem)),
        )
    };
    let root = p.app.root.clone();
    let f = form.clone();
    let modules = m.clone();
    let files = blocking(move || Ok(request::score_file(&root, &f, &modules)))
        .await
        .map_err(|e| e.into_response())?;
    let files = match files {
        Ok(files) => files,
        Err(problem) => return Err(again(StatusCode::UNPROCESSABLE_ENTITY, problem)),
    };
    // The API's request path: the same checks as `baton validate`, then a queued plan.
    let path = format!("/api/v1/environments/{}/plans?wait=false", seg(&env));
    let (status, v) =
        api_call(&p, &u, Method::POST, &path, Some(json!({ "files": files }))).await?;
    if !status.is_success() {
        let problem = v["error"]
            .as_str()
            .unwrap_or("the request failed")
            .to_string();
        let located = pages::diagnostics_text(&v["diagnostics"]);
        return Err(again(status, format!("{problem}\n{located}")));
    }
    Ok(see_other(&format!(
        "/portal/runs/{}",
        seg(v["id"].as_str().unwrap_or(""))
    )))
}

/// What a run page shows beside the API's run: its log so far and, for a plan, the
/// plan read back from its saved file.
pub(super) struct RunExtras {
    pub log: Vec<String>,
    pub plan: Option<crate::plan::Plan>,
}

async fn run(State(p): Shared, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let u = user(&p, &headers).await?;
    let v = api(&p, &u, &format!("/api/v1/runs/{}", seg(&id))).await?;
    let app = p.app.clone();
    let extras = blocking(move || {
        let (env, r) = super::worker::find(&app, &id)?;
        let store = ops::store(&app.workspace(&env))?;
        let log = store
            .run_events(&r.id, 0)
            .map_err(ops::Error::from)?
            .into_iter()
            .map(|(_, l)| l)
            .collect();
        let plan = (r.kind == "plan")
            .then(|| r.result.as_deref())
            .flatten()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .and_then(|v| v["saved"].as_str().map(str::to_string))
            .and_then(|b| {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.decode(b).ok()
            })
            .and_then(|bytes| {
                crate::plan::file::SavedPlan::from_bytes(&bytes, std::path::Path::new("plan")).ok()
            })
            .map(|saved| saved.plan());
        Ok(RunExtras { log, plan })
    })
    .await
    .map_err(|e| e.into_response())?;
    ok(pages::run(&u, &v, &extras))
}

async fn apply(
    State(p): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Page {
    let path = format!("/api/v1/plans/{}/apply?wait=false", seg(&id));
    start_run(&p, &headers, b, &path, |_| Ok(None)).await
}

/// The run's log as the API streams it (Server-Sent Events), for the run page's script.
async fn events(State(p): Shared, headers: HeaderMap, Path(id): Path<String>) -> Page {
    let u = user(&p, &headers).await?;
    api_response(
        &p,
        &u,
        Method::GET,
        &format!("/api/v1/runs/{}/events", seg(&id)),
        None,
    )
    .await
}
