//! Runs: plan, apply, destroy and drift as queued work (what `baton serve` executes).
//! A run is queued in the environment's state store ([`enqueue`]), claimed by one node
//! (`Store::claim_run`) and carried out here ([`execute`]) with the operations the CLI
//! uses; its log lines come from the same renderings the CLI prints. A plan run keeps
//! its Score files and its saved plan (no secrets), so an apply run of it checks, as
//! `apply FILE` does, that the plan still holds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::{Error, Event, Observer, RunOptions, ScoreInputs, Workspace};
use crate::render;
use crate::state::Store;
use crate::state::runs::{Run, now_ms};

/// What a run was asked to do (stored as JSON with the run).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct RunRequest {
    /// A plan's Score files by name (none: every Score file of the project).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// An apply's plan run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// A plan back to the configuration the apply of this serial recorded (`plan --at
    /// SERIAL`; no `files` with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
}

/// The state store of `ws`'s environment.
pub fn store(ws: &Workspace) -> Result<Store, Error> {
    let (environment, _) = super::environment(ws)?;
    Ok(super::pipeline::open_state(&ws.root, &environment)?)
}

/// Queues a run of `kind` (`plan`, `apply`, `destroy`, `drift`) asked by `who`.
pub fn enqueue(ws: &Workspace, kind: &str, who: &str, request: &RunRequest) -> Result<Run, Error> {
    let run = new_run(kind, who, request)?;
    store(ws)?.enqueue_run(&run)?;
    Ok(run)
}

/// Queues a run of `kind` asked by `who` when one is due: none of that kind is queued
/// or running, and none was queued in the last `every`. Nodes sharing the state that
/// look at once queue one. The run, when queued.
pub fn enqueue_due(
    ws: &Workspace,
    kind: &str,
    who: &str,
    every: std::time::Duration,
) -> Result<Option<Run>, Error> {
    let run = new_run(kind, who, &RunRequest::default())?;
    let since = run.created_at - i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    Ok(store(ws)?.enqueue_run_unless(&run, since)?.then_some(run))
}

fn new_run(kind: &str, who: &str, request: &RunRequest) -> Result<Run, Error> {
    Ok(Run {
        id: uuid::Uuid::new_v4().to_string(),
        kind: kind.to_string(),
        status: "queued".into(),
        requested_by: who.to_string(),
        request: serde_json::to_string(request).map_err(anyhow::Error::from)?,
        result: None,
        node: None,
        created_at: now_ms(),
        started_at: None,
        finished_at: None,
        heartbeat_at: None,
    })
}

/// Whether `name` may name a posted Score file: a plain file name ending in `.yaml`
/// or `.yml`.
pub fn valid_file_name(name: &str) -> bool {
    (name.ends_with(".yaml") || name.ends_with(".yml"))
        && !name.starts_with('.')
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Writes `files` into `dir` (created) and returns the Score inputs of the project
/// with them: every Score file of the project, a posted file taking the place of the
/// project's file of the same name (an existing workload changed), the others added (new
/// workloads).
fn materialize(
    ws: &Workspace,
    dir: &Path,
    files: &BTreeMap<String, String>,
) -> Result<ScoreInputs, Error> {
    let mut inputs = ScoreInputs::discover(&ws.root);
    if files.is_empty() {
        return Ok(inputs);
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    inputs.files.retain(|p| {
        p.exists()
            && p.file_name()
                .is_none_or(|n| !files.contains_key(&*n.to_string_lossy()))
    });
    for (name, text) in files {
        if !valid_file_name(name) {
            return Err(anyhow::anyhow!("{name:?} is not a Score file name (`NAME.yaml`)").into());
        }
        let path = dir.join(name);
        std::fs::write(&path, text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        inputs.files.push(path);
    }
    Ok(inputs)
}

/// Checks posted Score files as `validate` does (in a scratch folder under `dir`):
/// `Err` with the JSON diagnostics (file names as posted) when any is an error.
pub fn check_files(
    ws: &Workspace,
    dir: &Path,
    files: &BTreeMap<String, String>,
) -> Result<(), serde_json::Value> {
    let inputs = match materialize(ws, dir, files) {
        Ok(i) => i,
        Err(e) => return Err(error_json(e, dir)),
    };
    let v = super::validate(ws, &inputs);
    let _ = std::fs::remove_dir_all(dir);
    if v.diagnostics.has_errors() {
        let d = render::diagnostics::json(&v.diagnostics, &v.sources);
        return Err(
            serde_json::json!({"error": "the Score files are not valid", "diagnostics": strip(serde_json::to_value(d).unwrap_or_default(), dir)}),
        );
    }
    Ok(())
}

/// `value` with the folder `dir/` taken out of every string (posted files are named as
/// posted, not by where a node wrote them).
fn strip(value: serde_json::Value, dir: &Path) -> serde_json::Value {
    let prefix = format!("{}/", dir.display());
    // The project's own files are named from the project directory.
    let root = dir
        .ancestors()
        .nth(3)
        .map(|r| format!("{}/", r.display()))
        .unwrap_or_else(|| prefix.clone());
    match value {
        serde_json::Value::String(s) => {
            serde_json::Value::String(s.replace(&prefix, "").replace(&root, ""))
        }
        serde_json::Value::Array(a) => a.into_iter().map(|v| strip(v, dir)).collect(),
        serde_json::Value::Object(o) => o.into_iter().map(|(k, v)| (k, strip(v, dir))).collect(),
        v => v,
    }
}

/// An error as a run's result: located diagnostics where there are some.
fn error_json(e: Error, dir: &Path) -> serde_json::Value {
    let v = match e {
        Error::Invalid(r) | Error::Failed(r) => {
            let d = render::diagnostics::json(&r.diagnostics, &r.sources);
            let text = render::diagnostics::text(&r.diagnostics, &r.sources, render::Color::Never);
            serde_json::json!({"error": text, "diagnostics": d})
        }
        Error::Other(e) => serde_json::json!({"error": format!("{e:#}")}),
    };
    strip(v, dir)
}

/// Turns an operation's events into log lines (the CLI's renderings, no colour) for
/// `log`, which also learns whether the line is a lock wait.
struct Log<'a> {
    log: &'a mut dyn FnMut(String, bool),
    progress: render::progress::Progress,
}

impl Observer for Log<'_> {
    fn event(&mut self, event: Event<'_>) {
        let (line, wait) = match event {
            Event::Warnings {
                diagnostics,
                sources,
            } => (
                render::diagnostics::text(diagnostics, sources, render::Color::Never),
                false,
            ),
            Event::SecretsInClear { location } => {
                (render::progress::secrets_in_clear(&location), false)
            }
            Event::LockWait { held, timeout } => (render::progress::lock_wait(held, timeout), true),
            Event::LockTakenOver { stale } => (render::progress::lock_taken_over(stale), false),
            Event::Plan(plan) => (render::plan::compact(plan, render::Color::Never), false),
            Event::Applying => ("applying".to_string(), false),
            Event::Progress(e) => (self.progress.line(&e), false),
        };
        (self.log)(line.trim_end().to_string(), wait);
    }
}

/// The folder where a node writes run `id`'s files.
pub fn run_dir(ws: &Workspace, id: &str) -> PathBuf {
    ws.root.join(".baton/serve").join(id)
}

/// Carries out `run` (claimed by this node) and returns its status (`succeeded`,
/// `failed`) and result (JSON). Log lines go to `log` as they come.
pub fn execute(
    ws: &Workspace,
    run: &Run,
    log: &mut dyn FnMut(String, bool),
) -> (&'static str, serde_json::Value) {
    // Locks, history and the recorded configuration name who asked for the run.
    let ws = &Workspace {
        who: Some(run.requested_by.clone()),
        ..ws.clone()
    };
    let dir = run_dir(ws, &run.id);
    let mut observer = Log {
        log,
        progress: Default::default(),
    };
    let r = (|| -> Result<(bool, serde_json::Value), Error> {
        let request: RunRequest =
            serde_json::from_str(&run.request).map_err(anyhow::Error::from)?;
        match run.kind.as_str() {
            "plan" => plan(ws, &dir, &request, &mut observer),
            "apply" => {
                let id = request
                    .plan
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("an apply run names its plan"))?;
                apply_plan(ws, &dir, id, &mut observer)
            }
            "destroy" => {
                let mut opts = RunOptions::new(ws.clone(), ScoreInputs::discover(&ws.root));
                opts.plan.destroy = true;
                applied(super::destroy(&opts, &mut observer)?)
            }
            "drift" => {
                let d = super::drift(&super::DriftOptions {
                    workspace: ws.clone(),
                    parallelism: 10,
                    inputs: ScoreInputs::discover(&ws.root),
                })?;
                let markdown = render::drift::markdown(&d.environment, &d.drift);
                let json = render::drift::json(&d.environment, &d.drift);
                let status = if d.drift.is_empty() { 0 } else { 2 };
                Ok((
                    true,
                    serde_json::json!({"exit_status": status, "drifted": d.drift.len(), "markdown": markdown, "report": json}),
                ))
            }
            k => Err(anyhow::anyhow!("unknown run kind `{k}`").into()),
        }
    })();
    match r {
        Ok((true, v)) => ("succeeded", v),
        Ok((false, v)) => ("failed", v),
        Err(e) => ("failed", error_json(e, &dir)),
    }
}

/// A plan of the posted files, or with `at` back to an earlier deployment (its JSON and
/// Markdown then carry the rollback notes, as `plan --at` prints them).
fn plan(
    ws: &Workspace,
    dir: &Path,
    request: &RunRequest,
    observer: &mut dyn Observer,
) -> Result<(bool, serde_json::Value), Error> {
    let inputs = materialize(ws, dir, &request.files)?;
    let mut opts = RunOptions::new(ws.clone(), inputs);
    opts.plan.at = request.at;
    let planned = super::plan(&opts, observer)?;
    let path = dir.join("plan.baton-plan");
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    super::save_plan(&planned, &path)?;
    let saved =
        std::fs::read(&path).map_err(|e| anyhow::anyhow!("cannot read the plan file: {e}"))?;
    let (plan, rollback) = (&planned.planned.plan, planned.rollback.as_ref());
    let json = match rollback {
        Some(r) => render::history::plan_json(render::plan::json(plan), r),
        None => render::plan::json(plan),
    };
    let markdown = render::plan::formatted(
        plan,
        render::Format::Markdown,
        false,
        render::Color::Never,
        rollback,
    );
    Ok((
        true,
        serde_json::json!({
            "changes": plan.has_changes(),
            "plan": json,
            "markdown": markdown,
            "saved": base64::engine::general_purpose::STANDARD.encode(saved),
        }),
    ))
}

fn apply_plan(
    ws: &Workspace,
    dir: &Path,
    plan_id: &str,
    observer: &mut dyn Observer,
) -> Result<(bool, serde_json::Value), Error> {
    let planned = store(ws)?
        .get_run(plan_id)?
        .filter(|r| r.kind == "plan")
        .ok_or_else(|| anyhow::anyhow!("no plan {plan_id} in environment `{}`", ws.env))?;
    let result: serde_json::Value = planned
        .result
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .filter(|_| planned.status == "succeeded")
        .ok_or_else(|| {
            anyhow::anyhow!("plan {plan_id} did not succeed; there is nothing to apply")
        })?;
    let saved = result["saved"]
        .as_str()
        .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .ok_or_else(|| anyhow::anyhow!("plan {plan_id} kept no plan file"))?;
    let request: RunRequest =
        serde_json::from_str(&planned.request).map_err(anyhow::Error::from)?;
    let inputs = materialize(ws, dir, &request.files)?;
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("plan.baton-plan");
    crate::provider::local::write_file(&path, &saved, 0o600)
        .map_err(|e| anyhow::anyhow!("cannot write the plan file: {e}"))?;
    let opts = super::ApplyOptions {
        run: RunOptions::new(ws.clone(), inputs),
        plan_file: Some(path),
    };
    applied(super::apply(&opts, observer)?)
}

fn applied(a: super::Applied) -> Result<(bool, serde_json::Value), Error> {
    let summary = match &a.report {
        Some(report) => {
            let (out, err) = render::failure::apply_end(report);
            format!("{}{}", out.trim_start(), err)
        }
        None => "No changes.\n".to_string(),
    };
    let ok = a.succeeded();
    Ok((
        ok,
        serde_json::json!({"succeeded": ok, "summary": summary, "plan": render::plan::json(&a.plan)}),
    ))
}
