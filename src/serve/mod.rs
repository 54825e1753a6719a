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
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::ops::{self, Role, Workspace};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1 << 20;

/// How long a stopping server waits for its running runs and open requests.
const GRACE: Duration = Duration::from_secs(30);

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
    /// Set on SIGTERM or Ctrl-C: the workers claim no more runs, waiting requests
    /// answer with the run as it stands.
    stopping: AtomicBool,
    /// Runs this node is carrying out now.
    running: AtomicUsize,
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
/// listens on, then serves until SIGTERM or Ctrl-C. Then it stops: it closes the
/// listener, claims no more runs, and waits up to 30 s for the runs it is carrying out
/// and the requests it is answering; a run still going after that is left to the
/// recovery every node does (its heartbeat lapses, another node or the next start marks
/// it abandoned), and queued runs stay queued for the next node.
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
        stopping: AtomicBool::new(false),
        running: AtomicUsize::new(0),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async move {
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
        let router = portal::router(app.clone(), api.clone()).merge(api);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let closing = async move {
            let mut stopped = stopped;
            let _ = stopped.wait_for(|s| *s).await;
        };
        let serving = axum::serve(listener, router)
            .with_graceful_shutdown(closing)
            .into_future();
        let mut serving = std::pin::pin!(serving);
        tokio::select! {
            r = &mut serving => return Ok(r?),
            signal = terminated() => eprintln!("baton serve: {}, stopping (runs and requests get up to {} s)", signal?, GRACE.as_secs()),
        }
        app.stopping.store(true, Ordering::SeqCst);
        let _ = stop.send(true);
        let deadline = tokio::time::Instant::now() + GRACE;
        if tokio::time::timeout_at(deadline, &mut serving).await.is_err() {
            eprintln!("baton serve: requests still open after {} s, closed", GRACE.as_secs());
        }
        while app.running.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if app.running.load(Ordering::SeqCst) > 0 {
            eprintln!(
                "baton serve: a run is still going after {} s; left to the recovery of the next node (its heartbeat stops)",
                GRACE.as_secs()
            );
        }
        Ok(())
    });
    // Blocking work still going (a request's `ops` call) is not waited for.
    rt.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Waits for SIGTERM or Ctrl-C (SIGINT) and says which came.
async fn terminated() -> anyhow::Result<&'static str> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "Ctrl-C",
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
