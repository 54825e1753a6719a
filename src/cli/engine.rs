//! `plan`, `apply`, `destroy`: prepare, lock, refresh, plan, confirm, apply, unlock.
//! A run locks what its plan can touch: with `-f`, its workloads and the shared
//! resources they use (so runs on other workloads proceed at the same time); over the
//! whole project, or for a destroy of everything, the whole environment. Locks are
//! released on every path out of these functions, including errors and Ctrl-C; a run
//! that is killed leaves SQLite lock rows that the next run on the same host takes over
//! once it sees the holder's process is gone (PostgreSQL frees them with the session).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::{Outcome, PlanFormat, Terminal};
use crate::apply::{self, ApplyOptions, Event};
use crate::diag::{Diagnostic, Diagnostics};
use crate::pipeline::{self, Failed, Prepared};
use crate::plan::diff::PlanOptions;
use crate::plan::file::SavedPlan;
use crate::plan::{Action, Plan};
use crate::render;
use crate::score::LoadOptions;
use crate::state::{LockRequest, StateError, Store};

/// Options shared by plan, apply and destroy.
pub struct RunOptions {
    /// Score files.
    pub files: Vec<PathBuf>,
    /// Score loader options.
    pub load: LoadOptions,
    /// Environment name.
    pub env: String,
    /// Refresh before planning.
    pub refresh: bool,
    /// What to plan.
    pub plan: PlanOptions,
    /// Provider-call limit.
    pub parallelism: usize,
    /// Score files were named with `-f`: the run covers only their workloads.
    pub narrowed: bool,
}

impl RunOptions {
    /// The plan options, scoped to the loaded workloads when `-f` narrowed the run.
    fn plan_options(&self, prepared: &Prepared) -> PlanOptions {
        let mut p = self.plan.clone();
        if self.narrowed {
            p.workloads = Some(
                prepared
                    .project
                    .workloads
                    .iter()
                    .map(|w| w.workload.name().to_string())
                    .collect(),
            );
        }
        p
    }
}

/// What a run over `prepared` locks: with `-f`, the named workloads and the shared
/// resources they use (the environment itself shared); otherwise the whole environment,
/// since a run over the whole project deletes what no workload declares any more.
pub fn lock_request(operation: &str, prepared: &Prepared, opts: &RunOptions) -> LockRequest {
    if !opts.narrowed {
        return LockRequest::environment(operation);
    }
    LockRequest::scoped(
        operation,
        prepared
            .project
            .workloads
            .iter()
            .map(|w| w.workload.name().to_string()),
        prepared
            .project
            .resources
            .keys()
            .filter(|u| matches!(u.scope, crate::addr::UidScope::Shared(_)))
            .map(|u| u.to_string()),
    )
}

/// Prints diagnostics of a failed preparation and returns the failure outcome.
pub fn report_failed(f: Failed, term: &Terminal) -> Outcome {
    let mut diags = f.diagnostics;
    diags.sort(&f.sources);
    eprint!(
        "{}",
        render::diagnostics::text(&diags, &f.sources, term.stderr_color)
    );
    eprintln!(
        "error: {} error{} found; nothing was changed",
        diags.error_count(),
        if diags.error_count() == 1 { "" } else { "s" }
    );
    Outcome::Failure
}

fn print_warnings(p: &Prepared, term: &Terminal) {
    let mut w: Diagnostics = p.warnings.clone();
    w.sort(&p.sources);
    if !w.is_empty() {
        eprint!(
            "{}",
            render::diagnostics::text(&w, &p.sources, term.stderr_color)
        );
    }
}

fn print_plan_errors(errors: Vec<Diagnostic>, p: &Prepared, term: &Terminal) -> Outcome {
    let mut d = Diagnostics::new();
    d.extend(errors);
    d.sort(&p.sources);
    eprint!(
        "{}",
        render::diagnostics::text(&d, &p.sources, term.stderr_color)
    );
    eprintln!("error: planning failed; nothing was changed");
    Outcome::Failure
}

/// A failed plan in the requested format: JSON and Markdown on stdout as well, so a CI
/// job that posts the plan posts the failure (diagnostics also go to stderr).
fn report_plan_errors(
    errors: Vec<Diagnostic>,
    p: &Prepared,
    format: PlanFormat,
    term: &Terminal,
) -> Outcome {
    let mut d = Diagnostics::new();
    d.extend(errors.clone());
    d.sort(&p.sources);
    match format {
        PlanFormat::Json => {
            let doc = serde_json::json!({
                "format_version": "1",
                "environment": p.env.name,
                "error": true,
                "diagnostics": render::diagnostics::json(&d, &p.sources),
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        PlanFormat::Markdown => {
            let mut out = format!(
                "### ❌ baton plan `{}` failed: nothing will change\n\n",
                p.env.name
            );
            for x in d.iter().filter(|x| x.is_error()) {
                out.push_str(&format!("- **{}**\n", x.summary));
                for line in &x.detail {
                    out.push_str(&format!("  {line}\n"));
                }
                if let Some(h) = &x.help {
                    out.push_str(&format!("  _{h}_\n"));
                }
            }
            print!("{out}");
        }
        PlanFormat::Text => {}
    }
    print_plan_errors(errors, p, term)
}

/// Runs `f` with the scopes of `request` locked, always unlocking afterwards.
pub async fn locked<T>(
    store: &mut Store,
    request: &LockRequest,
    f: impl AsyncFnOnce(&mut Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    // Wait up to BATON_LOCK_TIMEOUT (set from --lock-timeout) for a held lock.
    let timeout = std::env::var("BATON_LOCK_TIMEOUT")
        .ok()
        .and_then(|s| humantime::parse_duration(&s).ok())
        .unwrap_or_default();
    let started = std::time::Instant::now();
    let mut waiting_said = false;
    let attempt = loop {
        match store.lock(request) {
            Err(StateError::Locked(info)) if started.elapsed() < timeout => {
                if !waiting_said {
                    let what = match info.what().as_str() {
                        "the state" => String::new(),
                        w => format!(" on {w}"),
                    };
                    eprintln!(
                        "waiting for the state lock{what} held by {} (`{}`, pid {}), up to {}",
                        info.holder,
                        info.operation,
                        info.pid,
                        humantime::format_duration(timeout)
                    );
                    waiting_said = true;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => break other,
        }
    };
    let (lock, stale) = match attempt {
        Ok(l) => l,
        Err(StateError::Locked(info)) => {
            let what = match info.what().as_str() {
                "the state" => String::new(),
                w => format!(" ({w})"),
            };
            anyhow::bail!(
                "the state is locked{what}: {} is running `{}` (pid {}) since {}{}\n  lock id: {}\n  if that run is gone, release it with: baton state unlock {}",
                info.holder,
                info.operation,
                info.pid,
                info.since,
                if started.elapsed() >= timeout && !timeout.is_zero() {
                    format!(" (waited {})", humantime::format_duration(timeout))
                } else {
                    String::new()
                },
                info.id,
                info.id
            )
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(s) = stale {
        eprintln!(
            "warning: took over a lock left by {} (pid {}, `{}` since {}), whose process is gone",
            s.holder, s.pid, s.operation, s.since
        );
    }
    let result = tokio::select! {
        r = f(store) => r,
        _ = tokio::signal::ctrl_c(), if request.operation == "plan" => Err(anyhow::anyhow!("interrupted")),
    };
    store.unlock(&lock.id)?;
    result
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// `baton plan`.
pub fn plan(
    root: &Path,
    opts: &RunOptions,
    format: PlanFormat,
    compact: bool,
    out: Option<&Path>,
    detailed: bool,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    // A plan over the whole project reads the state while the Score files are checked
    // (it is read again under the lock if another run committed in between).
    let ahead = (!opts.narrowed).then(|| {
        let (root, env) = (root.to_path_buf(), opts.env.clone());
        std::thread::spawn(move || {
            // It waits for a free core: while the Score files are parsed on every core it
            // would only slow them down; the stages after them leave a core idle.
            crate::par::background_thread();
            crate::timings::stage("state load (ahead)", || {
                pipeline::Preloaded::read(&root, &env)
            })
        })
    });
    let prepared = match pipeline::prepare(root, &opts.env, &opts.files, &opts.load) {
        Ok(p) => p,
        Err(f) => return Ok(report_failed(f, term)),
    };
    print_warnings(&prepared, term);
    let (mut store, mut ahead) = match ahead.and_then(|h| h.join().ok()).flatten() {
        Some(p) if p.matches(&prepared.env) => (p.store, Some((p.state, p.version))),
        _ => (prepared.open_state()?, None),
    };
    let rt = runtime()?;
    let (planned, versions) = rt.block_on(async {
        if opts.refresh {
            let request = lock_request("plan", &prepared, opts);
            locked(&mut store, &request, async |s: &mut Store| {
                let mut state = crate::timings::stage("state load", || {
                    pipeline::Preloaded::current(ahead.take(), s)
                })?;
                let versions = std::mem::take(&mut state.versions);
                let planned = pipeline::plan(
                    &prepared,
                    &state,
                    true,
                    opts.parallelism,
                    &opts.plan_options(&prepared),
                )
                .await;
                // Not freed object by object: the process exits after the plan (below).
                std::mem::forget(state);
                Ok((planned, versions))
            })
            .await
        } else {
            let mut state = crate::timings::stage("state load", || {
                pipeline::Preloaded::current(ahead.take(), &store)
            })?;
            let versions = std::mem::take(&mut state.versions);
            let planned = pipeline::plan(
                &prepared,
                &state,
                false,
                opts.parallelism,
                &opts.plan_options(&prepared),
            )
            .await;
            std::mem::forget(state);
            Ok((planned, versions))
        }
    })?;
    let planned = match planned {
        Ok(p) => p,
        Err(errors) => {
            store.discard_if_new();
            return Ok(report_plan_errors(errors, &prepared, format, term));
        }
    };
    let plan = &planned.plan;
    let render_started = std::time::Instant::now();
    print_plan(plan, format, compact, term)?;
    crate::timings::record("render", render_started.elapsed());
    if let Some(path) = out {
        let saved = SavedPlan::new(
            plan,
            &opts.plan_options(&prepared),
            crate::plan::file::versions_of(plan, &versions),
        );
        // Mode 0600: it describes infrastructure, even without secrets.
        crate::provider::local::write_file(path, &saved.to_bytes(), 0o600)
            .map_err(|e| anyhow::anyhow!("cannot write the plan file: {e}"))?;
        if format == PlanFormat::Text {
            println!(
                "\nSaved the plan to {}; apply it with: baton apply {}",
                path.display(),
                path.display()
            );
        }
    }
    let outcome = if detailed && plan.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Success
    };
    // The process exits next: freeing a large environment's graph, values and plan
    // one allocation at a time would only delay the exit (tens of ms at 10,000).
    std::mem::forget(planned);
    std::mem::forget(prepared);
    Ok(outcome)
}

/// `baton apply` and `baton destroy`.
pub fn apply(
    root: &Path,
    opts: &RunOptions,
    plan_file: Option<&Path>,
    auto_approve: bool,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let saved = plan_file.map(read_plan_file).transpose()?;
    let prepared = match pipeline::prepare(root, &opts.env, &opts.files, &opts.load) {
        Ok(p) => p,
        Err(f) => return Ok(report_failed(f, term)),
    };
    print_warnings(&prepared, term);
    if let Some(saved) = &saved
        && saved.environment != prepared.env.name
    {
        anyhow::bail!(
            "the plan file is for environment `{}`, not `{}`",
            saved.environment,
            prepared.env.name
        );
    }
    let mut store = prepared.open_state()?;
    if !store.has_key() {
        eprintln!(
            "warning: secrets are stored in clear in {}; set BATON_STATE_KEY to seal them (`baton state keygen` makes a key, `baton state rekey` seals what is there)",
            store.location()
        );
    }
    let rt = runtime()?;
    let operation = if opts.plan.destroy {
        "destroy"
    } else {
        "apply"
    };
    let request = lock_request(operation, &prepared, opts);
    let outcome = rt.block_on(locked(&mut store, &request, async |store: &mut Store| {
        let state = store.load()?;
        let mut plan_opts = opts.plan_options(&prepared);
        if let Some(saved) = &saved {
            if saved.lineage != state.lineage {
                anyhow::bail!(
                    "the plan file is stale: it was made for state {}, but the state is now {}; make a new plan",
                    saved.lineage,
                    state.lineage
                );
            }
            let moved = crate::plan::file::moved(&saved.versions, &state.versions);
            if !moved.is_empty() {
                anyhow::bail!(
                    "the plan file is stale: what it touches changed since it was made:\n  {}\nmake a new plan",
                    moved.join("\n  ")
                );
            }
            plan_opts = saved.options();
        }
        let planned = match pipeline::plan(&prepared, &state, opts.refresh, opts.parallelism, &plan_opts).await {
            Ok(p) => p,
            Err(errors) => return Ok(print_plan_errors(errors, &prepared, term)),
        };
        let plan = planned.plan;
        if let Some(saved) = &saved
            && let Some(diff) = saved.first_difference(&plan) {
                anyhow::bail!("the plan file no longer matches what would be done: {diff}; make a new plan");
            }
        print!("{}", render::plan::text(&plan, term.stdout_color));
        if !plan.has_changes() {
            // Leftover intents whose objects turned out to be as recorded.
            apply::settle(&plan, store)?;
            return Ok(Outcome::Success);
        }
        if saved.is_none() && !auto_approve && !confirm(&plan, operation)? {
            println!("\n{} cancelled; nothing was changed.", if opts.plan.destroy { "Destroy" } else { "Apply" });
            return Ok(Outcome::Failure);
        }
        println!();
        let ctx = prepared.context(&plan.lineage);
        let report = apply::apply(&ctx, &plan, planned.values, store, &ApplyOptions { parallelism: opts.parallelism }, progress(term)).await?;
        let n = |k: &str| report.done.get(k).copied().unwrap_or(0);
        println!();
        if report.interrupted {
            println!("Interrupted: finished what was running; the state records everything that was done.");
        }
        if report.failed.is_empty() && !report.interrupted {
            println!("Apply complete! {} added, {} changed, {} replaced, {} destroyed.", n("create"), n("update"), n("replace"), n("delete"));
            Ok(Outcome::Success)
        } else {
            for (addr, msg) in &report.failed {
                eprintln!("error: {addr}: {msg}");
            }
            if !report.skipped.is_empty() {
                eprintln!("skipped because something they need failed: {}", report.skipped.join(", "));
            }
            eprintln!(
                "Apply failed: {} added, {} changed, {} replaced, {} destroyed before the failure; the state records them.",
                n("create"),
                n("update"),
                n("replace"),
                n("delete")
            );
            Ok(Outcome::Failure)
        }
    }));
    if !matches!(outcome, Ok(Outcome::Success)) {
        store.discard_if_new();
    }
    outcome
}

/// Prints `plan` in `format`: one function for `plan` and `show PLANFILE`, so both print
/// the same bytes for the same plan.
pub(super) fn print_plan(
    plan: &Plan,
    format: PlanFormat,
    compact: bool,
    term: &Terminal,
) -> anyhow::Result<()> {
    match format {
        PlanFormat::Text if compact => print!("{}", render::plan::compact(plan, term.stdout_color)),
        PlanFormat::Text => print!("{}", render::plan::text(plan, term.stdout_color)),
        PlanFormat::Markdown => print!("{}", render::markdown::render(plan, &Default::default())),
        PlanFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::plan::json(plan))?
        ),
    }
    Ok(())
}

/// Reads and checks a plan file (version and digest).
pub(super) fn read_plan_file(path: &Path) -> anyhow::Result<SavedPlan> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the plan file {}", path.display()))?;
    Ok(SavedPlan::from_bytes(&bytes, path)?)
}

fn confirm(plan: &Plan, operation: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "refusing to {operation} without confirmation: stdin is not a terminal; review the plan and pass --auto-approve"
        );
    }
    let s = plan.summary();
    print!(
        "\nDo you want to {operation} in `{}`? {} to add, {} to change, {} to replace, {} to destroy.\n  Only 'yes' will be accepted: ",
        plan.environment, s.create, s.update, s.replace, s.delete
    );
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

fn progress(term: &Terminal) -> impl FnMut(Event) {
    let bar = if term.stdout_color == render::Color::Always && std::io::stdout().is_terminal() {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        Some(pb)
    } else {
        None
    };
    let mut running = 0usize;
    let mut done = 0usize;
    move |e: Event| {
        let line = match &e {
            Event::Started { address, action } => {
                running += 1;
                format!("{address}: {}...", ing(*action))
            }
            Event::Finished {
                address,
                action,
                elapsed,
            } => {
                running -= 1;
                done += 1;
                format!(
                    "{address}: {} after {:.1}s",
                    ed(*action),
                    elapsed.as_secs_f64()
                )
            }
            Event::Failed { address, error } => {
                running = running.saturating_sub(1);
                format!("{address}: failed: {error}")
            }
            Event::Skipped { address } => format!("{address}: skipped (a dependency failed)"),
        };
        match &bar {
            Some(pb) => {
                pb.println(line);
                pb.set_message(format!("{done} done, {running} in progress"));
            }
            None => println!("{line}"),
        }
    }
}

fn ing(a: Action) -> &'static str {
    match a {
        Action::Create => "Creating",
        Action::Update => "Updating",
        Action::Replace => "Replacing",
        Action::Delete => "Destroying",
        Action::NoOp => "Reading",
    }
}

fn ed(a: Action) -> &'static str {
    match a {
        Action::Create => "Created",
        Action::Update => "Updated",
        Action::Replace => "Replaced",
        Action::Delete => "Destroyed",
        Action::NoOp => "Read",
    }
}

/// `baton drift`: refresh only; exit 0 when nothing drifted, 2 when something did.
pub fn drift(
    root: &Path,
    env: &str,
    format: super::DriftFormat,
    parallelism: usize,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let mut sources = crate::diag::Sources::new();
    let mut out = Vec::new();
    let Some(environment) = crate::config::load(root, env, &mut sources, &mut out) else {
        let mut d = Diagnostics::new();
        d.extend(out);
        eprint!(
            "{}",
            render::diagnostics::text(&d, &sources, term.stderr_color)
        );
        return Ok(Outcome::Failure);
    };
    let registry = crate::provider::Registry::new(root, &environment.providers);
    let store = pipeline::open_state(root, &environment)?;
    let state = store.load()?;
    let rt = runtime()?;
    let refreshed = match rt.block_on(crate::refresh::refresh(
        &state,
        &registry,
        parallelism,
        None,
    )) {
        Ok(r) => r,
        Err(errors) => {
            let mut d = Diagnostics::new();
            d.extend(errors);
            eprint!(
                "{}",
                render::diagnostics::text(&d, &sources, term.stderr_color)
            );
            return Ok(Outcome::Failure);
        }
    };
    let drift = refreshed.drift;
    match format {
        super::DriftFormat::Text => print!(
            "{}",
            render::drift::text(&environment.name, &drift, term.stdout_color)
        ),
        super::DriftFormat::Markdown => {
            print!("{}", render::drift::markdown(&environment.name, &drift))
        }
        super::DriftFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&render::drift::json(&environment.name, &drift))?
        ),
    }
    Ok(if drift.is_empty() {
        Outcome::Success
    } else {
        Outcome::Changes
    })
}

/// `baton import ADDR ID`: reads an existing object into the state at an address the
/// configuration declares. ID is the value of the kind's identifying attribute (the
/// first required attribute that forces replacement: `name`, `path`, `user`, …).
pub fn import(
    root: &Path,
    opts: &RunOptions,
    address: &str,
    id: &str,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let prepared = match pipeline::prepare(root, &opts.env, &opts.files, &opts.load) {
        Ok(p) => p,
        Err(f) => return Ok(report_failed(f, term)),
    };
    let Some(node) = prepared.graph.node(address).cloned() else {
        let known: Vec<&str> = prepared
            .graph
            .dag
            .node_weights()
            .map(|n| n.address.as_str())
            .filter(|a| !a.ends_with("/params") && !a.ends_with("/outputs"))
            .collect();
        let hint = crate::diag::did_you_mean(address, known.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        anyhow::bail!("the configuration declares no object at `{address}`{hint}");
    };
    let crate::graph::NodeKind::Resource(uid, ri) = &node.kind else {
        anyhow::bail!("`{address}` is not a resource of a module; only resources can be imported");
    };
    let module = &prepared.modules[prepared.graph.module_of[uid]];
    let block = &module.resources[*ri];
    let schema = prepared
        .registry
        .schema(&block.kind)
        .expect("checked at load");
    let provider = prepared
        .registry
        .provider_for(&block.kind)
        .expect("checked at load");
    let id_attr = schema
        .attributes
        .iter()
        .find(|a| a.presence == crate::provider::Presence::Required && a.force_new)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "`{}` objects cannot be imported: the kind has no identifying attribute",
                block.kind
            )
        })?;
    let mut store = prepared.open_state()?;
    let rt = runtime()?;
    rt.block_on(locked(&mut store, &LockRequest::environment("import"), async |store: &mut Store| {
        let state = store.load()?;
        if state.objects.contains_key(address) {
            anyhow::bail!("`{address}` is already in the state; `baton state rm` it first to import another object");
        }
        let mut probe = crate::provider::Attrs::new();
        probe.insert(id_attr.name.to_string(), crate::value::Value::string(id));
        let found = provider.read(&block.kind, &probe).await.map_err(|e| anyhow::anyhow!("reading {} `{id}`: {e}", block.kind))?;
        let Some(attrs) = found else {
            anyhow::bail!("no {} with {} `{id}` exists", block.kind, id_attr.name);
        };
        // Taken over on purpose: marked as baton's where the kind carries a marker.
        let proof = provider.proof(&block.kind);
        if proof == crate::provider::Proof::Marker {
            let owner = crate::provider::Owner::new(&state.lineage, address);
            provider.mark(&block.kind, &attrs, &owner).await.map_err(|e| anyhow::anyhow!("marking {} `{id}` as baton's: {e}", block.kind))?;
        }
        let object = crate::state::Object {
            address: address.to_string(),
            kind: block.kind.clone(),
            provider: schema.provider.to_string(),
            uid: uid.to_string(),
            module: module.name.clone(),
            attributes: std::sync::Arc::new(attrs.iter().map(|(k, v)| (k.clone(), v.reveal())).collect()),
            sensitive: schema.sensitive_names(),
            dependencies: Vec::new(),
            tainted: false,
            protected: false,
            triggers: None,
            proven: matches!(proof, crate::provider::Proof::Marker | crate::provider::Proof::Intrinsic | crate::provider::Proof::Relation),
        };
        store.record(&crate::state::Record::Put(object), "import", true)?;
        println!("Imported {} `{id}` as {address}. `baton plan` shows how it differs from the configuration.", block.kind);
        Ok(Outcome::Success)
    }))
}
