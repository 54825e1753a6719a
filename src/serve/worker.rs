//! This node's share of the runs: a thread per environment claims queued runs from the
//! environment's state store (exactly one node gets each), carries each out through
//! `ops::execute` while a second thread writes the node's heartbeat, and keeps its log
//! lines in the store. Each pass also marks abandoned the runs whose node stopped
//! beating, and queues the scheduled drift check when one is due. Also: a run's events
//! as Server-Sent Events, and `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{ApiError, App, authorize, blocking};
use crate::ops::{self, Role};
use crate::state::runs::{Run, now_ms};

/// How often a running run's node writes its heartbeat.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// A running run whose heartbeat is older than this is abandoned.
const LAPSE_MS: i64 = 6_000;
/// How often an idle worker looks for queued runs.
const POLL: Duration = Duration::from_millis(200);

/// Starts the worker thread of environment `env`.
pub(super) fn start(app: Arc<App>, env: String) {
    let name = format!("baton-runs-{env}");
    let _ = std::thread::Builder::new().name(name).spawn(move || {
        while !app.stopping.load(Ordering::SeqCst) {
            if let Err(e) = pass(&app, &env) {
                // The next pass tries again (a state database may be restarting).
                eprintln!("baton serve: runs of `{env}`: {e}");
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    });
}

/// Passes until the server stops: abandon lapsed runs, queue a due drift check, claim
/// and carry out one run (or sleep a little when there is none).
fn pass(app: &App, env: &str) -> anyhow::Result<()> {
    let ws = app.workspace(env);
    let store = ops::store(&ws).map_err(describe)?;
    while !app.stopping.load(Ordering::SeqCst) {
        store.abandon_runs(now_ms() - LAPSE_MS)?;
        if let Some(interval) = app.config.drift_interval_of(env) {
            ops::enqueue_due(&ws, "drift", "schedule", interval).map_err(describe)?;
        }
        // Counted before the claim, so a stopping server that sees no run going knows
        // none is about to start.
        app.running.fetch_add(1, Ordering::SeqCst);
        let claimed = match app.stopping.load(Ordering::SeqCst) {
            true => Ok(None),
            false => store.claim_run(&app.node),
        };
        let Some(run) = claimed.inspect_err(|_| {
            app.running.fetch_sub(1, Ordering::SeqCst);
        })?
        else {
            app.running.fetch_sub(1, Ordering::SeqCst);
            std::thread::sleep(POLL);
            continue;
        };
        let done = Arc::new(AtomicBool::new(false));
        let beat = {
            let (done, ws, node) = (done.clone(), ws.clone(), app.node.clone());
            std::thread::spawn(move || {
                let Ok(store) = ops::store(&ws) else { return };
                while !done.load(Ordering::Relaxed) {
                    let _ = store.heartbeat_runs(&node);
                    std::thread::park_timeout(HEARTBEAT);
                }
            })
        };
        let mut seq = 0;
        let mut log = |line: String, wait: bool| {
            if wait {
                app.lock_waits.fetch_add(1, Ordering::Relaxed);
            }
            seq += 1;
            let _ = store.run_event(&run.id, seq, &line);
        };
        let (status, result) = ops::execute(&ws, &run, &mut log);
        seq += 1;
        let _ = store.run_event(&run.id, seq, &format!("{} {status}", run.kind));
        let finished = store.finish_run(&run.id, status, &result.to_string());
        done.store(true, Ordering::Relaxed);
        beat.thread().unpark();
        let _ = beat.join();
        app.running.fetch_sub(1, Ordering::SeqCst);
        finished?;
    }
    Ok(())
}

fn describe(e: ops::Error) -> anyhow::Error {
    match e {
        ops::Error::Other(e) => e,
        ops::Error::Invalid(r) | ops::Error::Failed(r) => anyhow::anyhow!(
            "{}",
            crate::render::diagnostics::text(
                &r.diagnostics,
                &r.sources,
                crate::render::Color::Never
            )
        ),
    }
}

/// The run with `id` and its environment (404 when no environment has it).
pub(super) fn find(app: &App, id: &str) -> Result<(String, Run), ApiError> {
    for env in &app.environments {
        let store = ops::store(&app.workspace(env))?;
        if let Some(r) = store.get_run(id).map_err(ops::Error::from)? {
            return Ok((env.clone(), r));
        }
    }
    Err(ApiError::new(StatusCode::NOT_FOUND, format!("no run {id}")))
}

/// The last finished drift check of `runs`: `clean`, `drifted` or `failed` with its
/// exit status and Markdown report; `unknown` before the first.
pub(super) fn drift_status(runs: &[Run]) -> Value {
    let Some(last) = runs
        .iter()
        .filter(|r| r.kind == "drift" && r.finished())
        .max_by_key(|r| r.finished_at)
    else {
        return json!({"status": "unknown"});
    };
    let result: Value = last
        .result
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or(Value::Null);
    let status = match (last.status.as_str(), result["exit_status"].as_i64()) {
        ("succeeded", Some(0)) => "clean",
        ("succeeded", Some(_)) => "drifted",
        _ => "failed",
    };
    json!({"status": status, "exit_status": result["exit_status"], "drifted": result["drifted"],
           "checked_at_ms": last.finished_at, "run": last.id, "requested_by": last.requested_by,
           "markdown": result["markdown"], "error": result["error"]})
}

/// `GET /api/v1/runs/{id}/events`: the run's log lines as Server-Sent Events (`log`,
/// with the line number as id), then one `end` event with the run's status.
pub(super) async fn events(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    authorize(&app, &headers, Role::Viewer)?;
    let (a, i) = (app.clone(), id.clone());
    let (env, _) = blocking(move || find(&a, &i)).await?;
    let stream = futures_util::stream::unfold((0i64, false), move |(after, ended)| {
        let (app, env, id) = (app.clone(), env.clone(), id.clone());
        async move {
            if ended {
                return None;
            }
            loop {
                let (a, e, i) = (app.clone(), env.clone(), id.clone());
                let polled = blocking(move || {
                    let store = ops::store(&a.workspace(&e))?;
                    let run = store.get_run(&i).map_err(ops::Error::from)?;
                    let lines = store.run_events(&i, after).map_err(ops::Error::from)?;
                    Ok((run, lines))
                })
                .await;
                let Ok((run, lines)) = polled else {
                    return None;
                };
                if !lines.is_empty() {
                    let last = lines.last().map(|l| l.0).unwrap_or(after);
                    let mut text = String::new();
                    for (n, (_, line)) in lines.iter().enumerate() {
                        if n > 0 {
                            text.push('\n');
                        }
                        text.push_str(line);
                    }
                    let event = Event::default()
                        .event("log")
                        .id(last.to_string())
                        .data(text);
                    return Some((Ok::<_, std::convert::Infallible>(event), (last, false)));
                }
                if let Some(run) = run.filter(Run::finished) {
                    let end = json!({"id": run.id, "status": run.status});
                    let event = Event::default().event("end").data(end.to_string());
                    return Some((Ok(event), (after, true)));
                }
                // A stopping server closes the stream; the client may ask another node.
                if app.stopping.load(Ordering::SeqCst) {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }
    });
    Ok(Sse::new(stream).into_response())
}

/// `GET /metrics`: Prometheus text: runs by kind and result (count and seconds),
/// objects and drift per environment, lock waits of this node's runs.
pub(super) async fn metrics(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&app, &headers, Role::Viewer)?;
    let text = blocking(move || {
        let mut runs: BTreeMap<(String, String, String), (u64, f64)> = BTreeMap::new();
        let mut objects = String::new();
        let mut drift = String::new();
        let mut queued = String::new();
        for env in &app.environments {
            let store = ops::store(&app.workspace(env))?;
            let state = store.load().map_err(ops::Error::from)?;
            let all = store.runs().map_err(ops::Error::from)?;
            let _ = writeln!(objects, "baton_objects{{environment=\"{env}\"}} {}", state.objects.len());
            let d = drift_status(&all);
            let drifted = match d["status"].as_str() {
                Some("clean") => 0,
                Some("drifted") => d["drifted"].as_i64().unwrap_or(1),
                _ => -1,
            };
            let _ = writeln!(drift, "baton_drift_objects{{environment=\"{env}\"}} {drifted}");
            let waiting = all.iter().filter(|r| r.status == "queued").count();
            let _ = writeln!(queued, "baton_runs_queued{{environment=\"{env}\"}} {waiting}");
            for r in all.iter().filter(|r| r.finished()) {
                let e = runs.entry((env.clone(), r.kind.clone(), r.status.clone())).or_default();
                e.0 += 1;
                if let (Some(s), Some(f)) = (r.started_at, r.finished_at) {
                    e.1 += (f - s).max(0) as f64 / 1000.0;
                }
            }
        }
        let mut out = String::new();
        out.push_str("# HELP baton_runs_total Finished runs by environment, kind and result.\n# TYPE baton_runs_total counter\n");
        for ((env, kind, result), (n, _)) in &runs {
            let _ = writeln!(out, "baton_runs_total{{environment=\"{env}\",kind=\"{kind}\",result=\"{result}\"}} {n}");
        }
        out.push_str("# HELP baton_run_duration_seconds_sum Seconds spent in finished runs.\n# TYPE baton_run_duration_seconds_sum counter\n");
        for ((env, kind, result), (_, s)) in &runs {
            let _ = writeln!(out, "baton_run_duration_seconds_sum{{environment=\"{env}\",kind=\"{kind}\",result=\"{result}\"}} {s:.3}");
        }
        out.push_str("# HELP baton_runs_queued Runs waiting for a node.\n# TYPE baton_runs_queued gauge\n");
        out.push_str(&queued);
        out.push_str("# HELP baton_objects Objects recorded in the state.\n# TYPE baton_objects gauge\n");
        out.push_str(&objects);
        out.push_str("# HELP baton_drift_objects Objects changed outside baton at the last drift check (-1: none yet, or it failed).\n# TYPE baton_drift_objects gauge\n");
        out.push_str(&drift);
        out.push_str("# HELP baton_lock_waits_total Runs of this node that waited for a state lock.\n# TYPE baton_lock_waits_total counter\n");
        let _ = writeln!(out, "baton_lock_waits_total {}", app.lock_waits.load(Ordering::Relaxed));
        Ok(out)
    })
    .await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        text,
    )
        .into_response())
}
