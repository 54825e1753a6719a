//! `baton serve`: the JSON API (`/api/v1`, docs/api.md) over a project's environments,
//! a second face over [`crate::ops`] as the CLI is the first. Every route but
//! `/healthz` takes a bearer token ([`crate::ops::Tokens`]) whose role must be enough;
//! reads call `ops` on the blocking pool; plan, apply, destroy and drift are runs,
//! queued in the environment's state store and executed by whichever node claims them
//! (`worker`); the web portal (`/portal`, `portal`) shows the same answers as HTML
//! pages. Request bodies are limited (1 MiB), requests time out, and at most 256
//! are handled at once.

mod api;
mod portal;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ops::{self, Role, Workspace};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1 << 20;

/// What every handler shares: the project, this node's name and its counters.
pub(crate) struct App {
    /// The project directory.
    root: PathBuf,
    /// This node, as recorded on the runs it claims.
    node: String,
    /// The environments of `baton.hcl` when the server started.
    environments: Vec<String>,
    /// The `serve` block of `baton.hcl`.
    config: crate::config::ServeConfig,
    /// Lock waits seen by the runs of this node.
    lock_waits: AtomicU64,
    /// The web portal's sessions.
    portal: portal::Sessions,
}

impl App {
    fn workspace(&self, env: &str) -> Workspace {
        Workspace {
            root: self.root.clone(),
            env: env.to_string(),
            lock_timeout: Duration::from_secs(300),
            who: None,
        }
    }
}

/// An error answer: a status and a JSON body `{"error": …, …}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: serde_json::Value,
}

impl ApiError {
    fn new(status: StatusCode, message: impl std::fmt::Display) -> ApiError {
        ApiError {
            status,
            body: serde_json::json!({ "error": message.to_string() }),
        }
    }

    fn with(status: StatusCode, body: serde_json::Value) -> ApiError {
        ApiError { status, body }
    }
}

impl From<ops::Error> for ApiError {
    fn from(e: ops::Error) -> ApiError {
        match e {
            ops::Error::Invalid(r) | ops::Error::Failed(r) => ApiError::with(
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({
                    "error": crate::render::diagnostics::text(&r.diagnostics, &r.sources, crate::render::Color::Never),
                    "diagnostics": crate::render::diagnostics::json(&r.diagnostics, &r.sources),
                }),
            ),
            ops::Error::Other(e) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body)).into_response()
    }
}

/// Who is asking: the token's name, if its role is at least `need` (401 without a
/// valid token, 403 with one whose role is not enough).
fn authorize(app: &App, headers: &HeaderMap, need: Role) -> Result<String, ApiError> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this route needs a token: send `Authorization: Bearer TOKEN` (`baton token add NAME --role ROLE` makes one)",
        ));
    };
    let tokens = ops::tokens(&app.root).map_err(ApiError::from)?;
    match tokens.verify(presented) {
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the token is not valid",
        )),
        Some((name, role)) if role < need => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "token `{name}` has role {}; this needs {} or above",
                role.as_str(),
                need.as_str()
            ),
        )),
        Some((name, _)) => Ok(name.to_string()),
    }
}

/// Runs blocking work (an `ops` call) on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("internal error: {e}"),
        )
    })?
}

/// `baton serve --listen ADDR` over the project at `root`: prints the address it
/// listens on, then serves until the process is stopped.
pub fn run(root: PathBuf, listen: &str) -> anyhow::Result<()> {
    let config = ops::serve_config(&root).map_err(describe)?;
    let environments = ops::environments(&root).map_err(describe)?;
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    let node = format!(
        "{host}:{}:{}",
        std::process::id(),
        &uuid::Uuid::new_v4().to_string()[..8]
    );
    let app = Arc::new(App {
        root,
        node,
        environments,
        config,
        lock_waits: AtomicU64::new(0),
        portal: Default::default(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        for env in &app.environments {
            worker::start(app.clone(), env.clone());
        }
        println!("baton serve listening on http://{addr} (node {})", app.node);
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        let api = api::router(app.clone());
        axum::serve(listener, portal::router(app, api.clone()).merge(api)).await?;
        Ok(())
    })
}

fn describe(e: ops::Error) -> anyhow::Error {
    match e {
        ops::Error::Invalid(r) | ops::Error::Failed(r) => anyhow::anyhow!(
            "{}",
            crate::render::diagnostics::text(
                &r.diagnostics,
                &r.sources,
                crate::render::Color::Never
            )
        ),
        ops::Error::Other(e) => e,
    }
}
