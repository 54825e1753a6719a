//! The routes of `/api/v1`, `/healthz` and `/metrics`: each checks the token's role,
//! calls `ops` on the blocking pool and answers JSON (docs/api.md). Secrets are
//! redacted by the renderings used; no handler reveals one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::{ApiError, App, BODY_LIMIT, authorize, blocking, worker};
use crate::ops::{self, Role};
use crate::state::runs::Run;

type Shared = State<Arc<App>>;
type Answer = Result<Response, ApiError>;

/// Every route, with the limits around them.
pub(super) fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/environments", get(environments))
        .route("/environments/{env}", get(environment))
        .route("/environments/{env}/workloads/{name}", get(workload))
        .route("/environments/{env}/objects", get(objects))
        .route("/environments/{env}/graph", get(graph))
        .route("/environments/{env}/history", get(history))
        .route("/environments/{env}/history/diff", get(history_diff))
        .route("/environments/{env}/deployments/{serial}", get(deployment))
        .route("/environments/{env}/modules", get(modules))
        .route("/environments/{env}/plans", post(plan))
        .route("/environments/{env}/destroy", post(destroy))
        .route("/environments/{env}/drift", post(drift))
        .route("/environments/{env}/unlock", post(unlock))
        .route("/plans/{id}/apply", post(apply))
        .route("/runs/{id}", get(run))
        .route("/runs/{id}/events", get(worker::events))
        .method_not_allowed_fallback(|| async { not_allowed() });
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(worker::metrics))
        .nest("/api/v1", api)
        .fallback(|| async {
            ApiError::new(StatusCode::NOT_FOUND, "no such route (see docs/api.md)")
        })
        .method_not_allowed_fallback(|| async { not_allowed() })
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(300),
        ))
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(256))
        .with_state(app)
}

fn not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this route does not take that method (see docs/api.md)",
    )
}

fn ok(v: Value) -> Answer {
    Ok(axum::Json(v).into_response())
}

/// 404 unless `env` is an environment of the project.
fn known(app: &App, env: &str) -> Result<(), ApiError> {
    if app.environments.iter().any(|e| e == env) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no environment `{env}`; there are: {}",
            app.environments.join(", ")
        ),
    ))
}

/// The summary of one environment: serial, counts, last apply, last drift check.
fn summary(app: &App, env: &str) -> Result<Value, ApiError> {
    let ws = app.workspace(env);
    let store = ops::store(&ws)?;
    let state = store.load().map_err(ops::Error::from)?;
    let history = store.history().map_err(ops::Error::from)?;
    let runs = store.runs().map_err(ops::Error::from)?;
    let last = history
        .last()
        .map(|h| json!({"serial": h.serial, "at": h.at, "who": h.who}));
    // The workloads of the Score files (applied or not yet) and those of the state.
    let applied: std::collections::BTreeSet<&str> = state
        .objects
        .values()
        .filter_map(|o| crate::addr::workload_of(&o.address))
        .collect();
    let declared = ops::declared_workloads(&app.root);
    let not_applied: Vec<&str> = declared
        .iter()
        .map(String::as_str)
        .filter(|w| !applied.contains(w))
        .collect();
    let mut workloads: Vec<&str> = applied
        .iter()
        .copied()
        .chain(not_applied.iter().copied())
        .collect();
    workloads.sort_unstable();
    Ok(json!({
        "name": env,
        "lineage": state.lineage,
        "serial": state.serial,
        "objects": state.objects.len(),
        "intents": state.intents.len(),
        "workloads": workloads,
        "not_applied": not_applied,
        "last_apply": last,
        "drift": worker::drift_status(&runs),
        "runs": {"queued": runs.iter().filter(|r| r.status == "queued").count(),
                 "running": runs.iter().filter(|r| r.status == "running").count()},
    }))
}

async fn environments(State(app): Shared, headers: HeaderMap) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    let list = blocking(move || {
        let all: Result<Vec<Value>, ApiError> =
            app.environments.iter().map(|e| summary(&app, e)).collect();
        all
    })
    .await?;
    ok(json!({ "environments": list }))
}

async fn environment(State(app): Shared, headers: HeaderMap, Path(env): Path<String>) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    known(&app, &env)?;
    let v = blocking(move || {
        let mut v = summary(&app, &env)?;
        let store = ops::store(&app.workspace(&env))?;
        let runs = store.runs().map_err(ops::Error::from)?;
        let recent: Vec<Value> = runs
            .iter()
            .rev()
            .take(20)
            .map(|r| run_json(&env, r))
            .collect();
        let locks: Vec<Value> = store
            .current_locks()
            .map_err(ops::Error::from)?
            .iter()
            .map(|l| json!({"id": l.id, "holder": l.holder, "what": l.what()}))
            .collect();
        v["recent_runs"] = Value::Array(recent);
        v["locks"] = Value::Array(locks);
        v["drift_interval_seconds"] =
            json!(app.config.drift_interval_of(&env).map(|d| d.as_secs()));
        Ok(v)
    })
    .await?;
    ok(v)
}

async fn workload(
    State(app): Shared,
    headers: HeaderMap,
    Path((env, name)): Path<(String, String)>,
) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    known(&app, &env)?;
    let v = blocking(move || {
        let ws = app.workspace(&env);
        let state = ops::state(&ws)?;
        let manifests = state.objects.get(&crate::addr::workload_address(&name));
        let belongs = |uid: &str| uid.split_once('#').is_some_and(|(_, rest)| rest.strip_prefix(name.as_str()).is_some_and(|r| r.starts_with('.')));
        let resources: Vec<Value> = state
            .objects
            .values()
            .filter(|o| belongs(&o.uid))
            .map(|o| json!({"address": o.address, "kind": o.kind, "uid": o.uid, "module": o.module,
                "attributes": crate::value::Value::Map(o.marked_attributes()).to_json_redacted()}))
            .collect();
        if manifests.is_none() && resources.is_empty() && !ops::declared_workloads(&app.root).contains(&name) {
            return Err(ApiError::new(StatusCode::NOT_FOUND, format!("no workload `{name}` in environment `{env}`")));
        }
        let outputs = ops::outputs(&ops::OutputOptions { workspace: ws, inputs: ops::ScoreInputs::discover(&app.root), uid: None })
            .map(|all| all.into_iter().filter(|(u, _)| belongs(u)).collect::<BTreeMap<_, _>>());
        let outputs = match outputs {
            Ok(o) => crate::render::state::outputs_json(&o, false),
            Err(_) => Value::Null,
        };
        let manifests = manifests.map(|o| crate::value::Value::Map(o.marked_attributes()).to_json_redacted());
        Ok(json!({"environment": env, "name": name, "resources": resources, "outputs": outputs, "manifests": manifests}))
    })
    .await?;
    ok(v)
}

async fn objects(State(app): Shared, headers: HeaderMap, Path(env): Path<String>) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    known(&app, &env)?;
    let state = blocking(move || Ok(ops::state(&app.workspace(&env))?)).await?;
    ok(crate::render::state::json(&state))
}

async fn graph(State(app): Shared, headers: HeaderMap, Path(env): Path<String>) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    known(&app, &env)?;
    let v = blocking(move || {
        let opts = ops::GraphOptions { workspace: app.workspace(&env), inputs: ops::ScoreInputs::discover(&app.root), workload: None };
        let (prepared, keep) = ops::graph(&opts)?;
        let g = &prepared.graph;
        Ok(json!({"environment": env, "dot": crate::render::graph::dot(g, &keep), "mermaid": crate::render::graph::mermaid(g, &keep)}))
    })
    .await?;
    ok(v)
}

async fn history(State(app): Shared, headers: HeaderMap, Path(env): Path<String>) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    known(&app, &env)?;
    let (h, configured) = blocking(move || {
        let ws = app.workspace(&env);
        Ok((ops::history(&ws)?, ops::deployment_serials(&ws)?))
    })
    .await?;
    ok(json!({"applies": crate::render::state::history_json(&h), "deployments": configured}))
}

/// `text` as a serial, or a 400 naming the parameter `name` it came in.
fn serial(name: &str, text: Option<&str>) -> Result<u64, ApiError> {
    let Some(text) = text else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the query parameter `{name}` is missing: give the serial of an apply (`?a=1&b=2`)"
            ),
        ));
    };
    text.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("the query parameter `{name}` is {text:?}, not a serial (a whole number, as `GET …/history` lists them)"),
        )
    })
}

/// 404 unless the apply of `serial` recorded its configuration in `ws`'s state; the
/// message names the serials that did.
fn recorded(ws: &ops::Workspace, serial: u64) -> Result<(), ApiError> {
    if ops::deployment_serials(ws)?.contains(&serial) {
        return Ok(());
    }
    let message = match ops::deployment(ws, serial) {
        Err(ops::Error::Other(e)) => format!("{e:#}"),
        _ => format!("no deployment is recorded for serial {serial}"),
    };
    Err(ApiError::new(StatusCode::NOT_FOUND, message))
}

async fn deployment(
    State(app): Shared,
    headers: HeaderMap,
    Path((env, number)): Path<(String, String)>,
) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    known(&app, &env)?;
    let serial = serial("serial", Some(&number))?;
    let c = blocking(move || {
        let ws = app.workspace(&env);
        recorded(&ws, serial)?;
        Ok(ops::deployment(&ws, serial)?)
    })
    .await?;
    ok(crate::render::history::configuration_json(&c))
}

async fn history_diff(
    State(app): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    q: Result<Query<BTreeMap<String, String>>, QueryRejection>,
) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    known(&app, &env)?;
    let Query(q) = q.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    if let Some(other) = q.keys().find(|k| !matches!(k.as_str(), "a" | "b")) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("unknown query parameter `{other}`: this route takes `a` and `b`"),
        ));
    }
    let a = serial("a", q.get("a").map(String::as_str))?;
    let b = serial("b", q.get("b").map(String::as_str))?;
    let d = blocking(move || {
        let ws = app.workspace(&env);
        recorded(&ws, a)?;
        recorded(&ws, b)?;
        Ok(ops::history_diff(&ws, a, b)?)
    })
    .await?;
    let mut v = crate::render::history::diff_json(&d);
    v["text"] = json!(crate::render::history::diff_text(&d));
    ok(v)
}

async fn modules(State(app): Shared, headers: HeaderMap, Path(env): Path<String>) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    known(&app, &env)?;
    let c = blocking(move || Ok(ops::modules(&app.workspace(&env))?)).await?;
    ok(json!({"modules": crate::render::modules::json(&c.modules)}))
}

/// A JSON body, or a 4xx that says where it is wrong.
fn body<T: serde::de::DeserializeOwned>(b: Result<Bytes, BytesRejection>) -> Result<T, ApiError> {
    let bytes = b.map_err(|e| {
        let status = e.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the request body is over {} bytes", BODY_LIMIT)
        } else {
            e.body_text()
        };
        ApiError::new(status, message)
    })?;
    let bytes = if bytes.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        bytes
    };
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::with(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("the request body is not the JSON expected: {e}"), "line": e.line(), "column": e.column()}),
        )
    })
}

/// The query of a POST that starts a run: `wait=false` answers at once (202).
#[derive(serde::Deserialize)]
struct Wait {
    #[serde(default = "yes")]
    wait: bool,
}

fn yes() -> bool {
    true
}

/// The `wait` of the query, or a 400 saying what is wrong with it.
fn wait(q: Result<Query<Wait>, QueryRejection>) -> Result<bool, ApiError> {
    q.map(|Query(w)| w.wait)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanBody {
    #[serde(default)]
    files: BTreeMap<String, String>,
    /// A plan back to the configuration of this apply (`plan --at SERIAL`).
    at: Option<u64>,
}

async fn plan(
    State(app): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    q: Result<Query<Wait>, QueryRejection>,
    b: Result<Bytes, BytesRejection>,
) -> Answer {
    let who = authorize(&app, &headers, Role::Developer)?;
    known(&app, &env)?;
    let body: PlanBody = body(b)?;
    if let Some(bad) = body.files.keys().find(|n| !ops::valid_file_name(n)) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "file name {bad:?} is not usable: write `NAME.yaml` (letters, digits, `.`, `-`, `_`)"
            ),
        ));
    }
    if body.files.len() > 64 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "at most 64 Score files per plan",
        ));
    }
    if let Some(at) = body.at {
        if !body.files.is_empty() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "`at` plans the whole environment back to the configuration of serial {at}; it takes no `files`"
                ),
            ));
        }
        let (a, e) = (app.clone(), env.clone());
        blocking(move || recorded(&a.workspace(&e), at)).await?;
        let request = ops::RunRequest {
            at: Some(at),
            ..Default::default()
        };
        return start(app, env, "plan", who, request, wait(q)?).await;
    }
    let a = app.clone();
    let (env2, files) = (env.clone(), body.files.clone());
    blocking(move || {
        let ws = a.workspace(&env2);
        let scratch = ws
            .root
            .join(".baton/serve")
            .join(format!("check-{}", uuid::Uuid::new_v4()));
        ops::check_files(&ws, &scratch, &files)
            .map_err(|v| ApiError::with(StatusCode::UNPROCESSABLE_ENTITY, v))
    })
    .await?;
    let request = ops::RunRequest {
        files: body.files,
        ..Default::default()
    };
    start(app, env, "plan", who, request, wait(q)?).await
}

async fn destroy(
    State(app): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    q: Result<Query<Wait>, QueryRejection>,
) -> Answer {
    let who = authorize(&app, &headers, Role::Operator)?;
    known(&app, &env)?;
    start(app, env, "destroy", who, Default::default(), wait(q)?).await
}

async fn drift(
    State(app): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    q: Result<Query<Wait>, QueryRejection>,
) -> Answer {
    let who = authorize(&app, &headers, Role::Developer)?;
    known(&app, &env)?;
    start(app, env, "drift", who, Default::default(), wait(q)?).await
}

async fn apply(
    State(app): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
    q: Result<Query<Wait>, QueryRejection>,
) -> Answer {
    let who = authorize(&app, &headers, Role::Operator)?;
    let a = app.clone();
    let id2 = id.clone();
    let (env, planned) = blocking(move || worker::find(&a, &id2)).await?;
    if planned.kind != "plan" {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("run {id} is a {}, not a plan", planned.kind),
        ));
    }
    start(
        app,
        env,
        "apply",
        who,
        ops::RunRequest {
            plan: Some(id),
            ..Default::default()
        },
        wait(q)?,
    )
    .await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockBody {
    lock_id: String,
}

async fn unlock(
    State(app): Shared,
    headers: HeaderMap,
    Path(env): Path<String>,
    b: Result<Bytes, BytesRejection>,
) -> Answer {
    authorize(&app, &headers, Role::Operator)?;
    known(&app, &env)?;
    let body: UnlockBody = body(b)?;
    let id = body.lock_id.clone();
    blocking(move || {
        ops::unlock(&app.workspace(&env), &id).map_err(|e| match e {
            ops::Error::Other(e) => ApiError::new(StatusCode::CONFLICT, format!("{e:#}")),
            e => e.into(),
        })
    })
    .await?;
    ok(json!({"released": body.lock_id}))
}

async fn run(State(app): Shared, headers: HeaderMap, Path(id): Path<String>) -> Answer {
    authorize(&app, &headers, Role::Viewer)?;
    let (env, r) = blocking(move || worker::find(&app, &id)).await?;
    ok(run_json(&env, &r))
}

/// Queues a run, and with `wait` waits (up to 4 minutes, or until the server stops) for
/// it to finish.
async fn start(
    app: Arc<App>,
    env: String,
    kind: &'static str,
    who: String,
    request: ops::RunRequest,
    wait: bool,
) -> Answer {
    let (a, e) = (app.clone(), env.clone());
    let queued =
        blocking(move || Ok(ops::enqueue(&a.workspace(&e), kind, &who, &request)?)).await?;
    if !wait {
        return Ok((StatusCode::ACCEPTED, axum::Json(run_json(&env, &queued))).into_response());
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (a, id) = (app.clone(), queued.id.clone());
        let (_, r) = blocking(move || worker::find(&a, &id)).await?;
        if r.finished() {
            return finished(&env, &r);
        }
        // A stopping server answers at once: the run is the next node's if not done.
        if tokio::time::Instant::now() > deadline || app.stopping.load(Ordering::SeqCst) {
            return Ok((StatusCode::ACCEPTED, axum::Json(run_json(&env, &r))).into_response());
        }
    }
}

/// A finished run's answer: 200 when it succeeded; 422 with its diagnostics, 409 for a
/// stale plan, else 500, when it failed.
fn finished(env: &str, r: &Run) -> Answer {
    let v = run_json(env, r);
    if r.status == "succeeded" {
        return ok(v);
    }
    let error = v["result"]["error"].as_str().unwrap_or("the run failed");
    let status = if v["result"]["diagnostics"].is_array() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if error.contains("stale") || error.contains("no longer matches") {
        StatusCode::CONFLICT
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    };
    Err(ApiError::with(status, json!({"error": error, "run": v})))
}

/// A run as the API shows it (the saved plan file, which a client has no use for, left
/// out).
pub(super) fn run_json(env: &str, r: &Run) -> Value {
    let mut result: Value = r
        .result
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    if let Some(o) = result.as_object_mut() {
        o.remove("saved");
    }
    let request: Value = serde_json::from_str(&r.request).unwrap_or(Value::Null);
    let files: Vec<&str> = request["files"]
        .as_object()
        .map(|f| f.keys().map(String::as_str).collect())
        .unwrap_or_default();
    json!({
        "id": r.id, "environment": env, "kind": r.kind, "status": r.status,
        "requested_by": r.requested_by, "node": r.node, "files": files, "plan": request["plan"], "at": request["at"],
        "created_at_ms": r.created_at, "started_at_ms": r.started_at, "finished_at_ms": r.finished_at,
        "result": result,
    })
}
