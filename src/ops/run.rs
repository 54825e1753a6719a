//! The operations that read or change the world: plan, apply, destroy, drift, import.
//! Each prepares the inputs, opens the state, locks what it may touch, refreshes, plans
//! and (apply) carries out the plan, in that order.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::ahead::Preloaded;
use super::lock::{self, CtrlC, locked};
use super::pipeline::{self, Prepared};
use super::{Error, Event, Observer, Report, RunOptions, ScoreInputs, Workspace, runtime};
use crate::apply;
use crate::plan::diff::PlanOptions;
use crate::plan::file::SavedPlan;
use crate::plan::rollback::Rollback;
use crate::plan::{Drift, Plan};
use crate::state::{LockRequest, State, Store};

impl RunOptions {
    /// The plan options, scoped to the loaded workloads when the Score files were named.
    fn plan_options(&self, prepared: &Prepared) -> PlanOptions {
        let mut p = self.plan.clone();
        if self.inputs.narrowed {
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

    /// The inputs loaded and checked: the working tree's, or with `at` those the apply
    /// of that serial recorded. A destroy of the whole environment plans deletes from
    /// the recorded objects alone: it reads no Score file.
    fn prepare(&self, at: Option<u64>) -> Result<Prepared, Error> {
        let ws = &self.workspace;
        let Some(serial) = at else {
            let inputs = if self.plan.destroy && !self.inputs.narrowed {
                ScoreInputs::named(Vec::new())
            } else {
                self.inputs.clone()
            };
            return Ok(pipeline::prepare(&ws.root, &ws.env, &inputs)?);
        };
        if self.inputs.narrowed {
            return Err(anyhow::anyhow!(
                "--at plans the whole environment back to the configuration of serial {serial}; it takes no Score files (-f)"
            )
            .into());
        }
        let (env, _) = super::environment(ws)?;
        let store = pipeline::open_state(&ws.root, &env)?;
        let stored = super::history::stored(&store, &env, serial)?;
        Ok(pipeline::prepare_stored(&ws.root, &ws.env, &stored)?)
    }
}

/// A plan and everything it was made from. Dropping it frees a large environment's
/// graph, values and state one allocation at a time; a process about to exit may
/// `std::mem::forget` it instead.
pub struct Planned {
    /// The inputs, loaded and checked.
    pub prepared: Prepared,
    /// The plan and the values it computed.
    pub planned: crate::plan::diff::Planned,
    /// The options the plan was made with (workloads in scope included).
    pub options: PlanOptions,
    /// The state the plan was made against (its versions moved to `versions`).
    pub state: State,
    /// The version of every recorded object when the plan was made.
    pub versions: std::collections::BTreeMap<String, u64>,
    /// With `at`: what returning to that configuration cannot undo.
    pub rollback: Option<Rollback>,
}

/// `plan`: what apply would change, and why. A plan over the whole project reads the
/// state while the Score files are checked (and again under the lock if another run
/// committed in between). With refresh, the run holds the lock while it reads objects.
pub fn plan(opts: &RunOptions, observer: &mut dyn Observer) -> Result<Planned, Error> {
    let ws = &opts.workspace;
    let ahead = (!opts.inputs.narrowed).then(|| {
        let (root, env) = (ws.root.clone(), ws.env.clone());
        std::thread::spawn(move || {
            crate::timings::stage("state load (ahead)", || Preloaded::read(&root, &env))
        })
    });
    let prepared = opts.prepare(opts.plan.at)?;
    warn(&prepared, observer);
    let (store, mut ahead) = match ahead.and_then(|h| h.join().ok()).flatten() {
        Some(p) if p.matches(&prepared.env) => (p.store, Some((p.state, p.version))),
        _ => (prepared.open_state()?, None),
    };
    let mut store = store.acting_for(ws.who.clone());
    let options = opts.plan_options(&prepared);
    let rt = runtime()?;
    let mut run = async |s: &mut Store, _: &mut dyn Observer| {
        let mut state =
            crate::timings::stage("state load", || Preloaded::current(ahead.take(), s))?;
        let versions = std::mem::take(&mut state.versions);
        let planned =
            pipeline::plan(&prepared, &state, opts.refresh, opts.parallelism, &options).await;
        Ok((planned, state, versions))
    };
    let (planned, state, versions) = rt.block_on(async {
        if opts.refresh {
            let request = lock::request("plan", &prepared, &opts.inputs);
            let timeout = ws.lock_timeout;
            let ctrl_c = [CtrlC::Nothing, CtrlC::All][opts.ctrl_c as usize];
            locked(&mut store, &request, timeout, ctrl_c, observer, run).await
        } else {
            run(&mut store, observer).await
        }
    })?;
    match planned {
        Ok(planned) => Ok(Planned {
            rollback: options
                .at
                .map(|serial| super::history::rollback(&store, &planned.plan, serial))
                .transpose()?,
            prepared,
            planned,
            options,
            state,
            versions,
        }),
        Err(errors) => {
            store.discard_if_new();
            Err(Error::Failed(Report::of(prepared.sources, errors)))
        }
    }
}

/// Saves `planned` to `path` (mode 0600, no secrets) for `apply` with a plan file.
pub fn save_plan(planned: &Planned, path: &Path) -> anyhow::Result<()> {
    let plan = &planned.planned.plan;
    let saved = SavedPlan::new(
        plan,
        &planned.options,
        crate::plan::file::versions_of(plan, &planned.versions),
    );
    // Mode 0600: it describes infrastructure, even without secrets.
    crate::provider::local::write_file(path, &saved.to_bytes(), 0o600)
        .map_err(|e| anyhow::anyhow!("cannot write the plan file: {e}"))
}

/// Options of `apply`.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How to plan (and, with `plan.destroy`, destroy).
    pub run: RunOptions,
    /// A plan saved by [`save_plan`]: carried out if it still holds, never re-approved.
    pub plan_file: Option<PathBuf>,
}

/// What an apply did.
pub struct Applied {
    /// The plan carried out.
    pub plan: Plan,
    /// `None` when nothing was run: the plan had no changes, or it was not approved.
    pub report: Option<apply::Report>,
    /// The observer did not approve the plan: nothing was changed.
    pub cancelled: bool,
    /// The state's serial after the apply, when it changed something: the history
    /// entries and the deployment (the configuration applied) recorded under it.
    pub serial: Option<u64>,
}

impl Applied {
    /// Every change made, none failed, not interrupted (or nothing to do).
    pub fn succeeded(&self) -> bool {
        !self.cancelled
            && self
                .report
                .as_ref()
                .is_none_or(|r| r.failed.is_empty() && !r.interrupted)
    }
}

/// `destroy`: plans the deletion of everything in the environment (or in the named
/// workloads) and carries it out.
pub fn destroy(opts: &RunOptions, observer: &mut dyn Observer) -> Result<Applied, Error> {
    let mut run = opts.clone();
    run.plan.destroy = true;
    apply(
        &ApplyOptions {
            run,
            plan_file: None,
        },
        observer,
    )
}

/// `apply`: plans under the lock (or checks a saved plan still holds), asks the
/// observer to approve a fresh plan with changes, and carries it out, recording each
/// change in the state as it is made.
pub fn apply(opts: &ApplyOptions, observer: &mut dyn Observer) -> Result<Applied, Error> {
    let run = &opts.run;
    let saved = opts.plan_file.as_deref().map(read_plan_file).transpose()?;
    let at = saved.as_ref().map_or(run.plan.at, |s| s.options.at);
    let prepared = run.prepare(at)?;
    warn(&prepared, observer);
    if let Some(saved) = &saved
        && saved.environment != prepared.env.name
    {
        return Err(anyhow::anyhow!(
            "the plan file is for environment `{}`, not `{}`",
            saved.environment,
            prepared.env.name
        )
        .into());
    }
    let mut store = prepared.open_state()?.acting_for(run.workspace.who.clone());
    if !store.has_key() {
        observer.event(Event::SecretsInClear {
            location: store.location(),
        });
    }
    let rt = runtime()?;
    let operation = if run.plan.destroy { "destroy" } else { "apply" };
    let request = lock::request(operation, &prepared, &run.inputs);
    let timeout = run.workspace.lock_timeout;
    let ctx_prepared = &prepared;
    // Ctrl-C stops the wait and the plan (nothing changed yet), and ends the question
    // as a "no". From the first call on, the walk handles Ctrl-C itself.
    let interruptible = run.ctrl_c;
    let ctrl_c = [CtrlC::Nothing, CtrlC::Wait][interruptible as usize];
    let outcome = rt.block_on(locked(&mut store, &request, timeout, ctrl_c, observer, async |store: &mut Store, observer: &mut dyn Observer| {
        let state = store.load()?;
        let mut plan_opts = run.plan_options(ctx_prepared);
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
        let planning = pipeline::plan(ctx_prepared, &state, run.refresh, run.parallelism, &plan_opts);
        let mut sigint = apply::Interrupts::new(interruptible);
        let planned = tokio::select! {
            p = planning => p,
            _ = sigint.next() => anyhow::bail!(lock::INTERRUPTED),
        };
        let planned = match planned {
            Ok(p) => p,
            Err(errors) => return Ok(Err(errors)),
        };
        let plan = planned.plan;
        if let Some(saved) = &saved
            && let Some(diff) = saved.first_difference(&plan) {
                anyhow::bail!("the plan file no longer matches what would be done: {diff}; make a new plan");
            }
        observer.event(Event::Plan(&plan));
        if !plan.has_changes() {
            // Leftover intents whose objects turned out to be as recorded.
            apply::settle(&plan, store)?;
            return Ok(Ok(Applied { plan, report: None, cancelled: false, serial: None }));
        }
        if saved.is_none() {
            let asked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = asked.clone();
            let listening = tokio::spawn(async move {
                sigint.next().await;
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            });
            let approved = observer.approve(&plan, operation, &|| asked.load(std::sync::atomic::Ordering::SeqCst));
            listening.abort();
            if !approved? {
                return Ok(Ok(Applied { plan, report: None, cancelled: true, serial: None }));
            }
        }
        observer.event(Event::Applying);
        let ctx = ctx_prepared.context(&plan.lineage);
        let options = apply::ApplyOptions { parallelism: run.parallelism, providers: &ctx_prepared.registry };
        let report = apply::apply(&ctx, &plan, planned.values, store, &options, |e| observer.event(Event::Progress(e))).await?;
        // The configuration applied, under the serial the changes were recorded with.
        let after = store.serial()?;
        let serial = (after > state.serial).then_some(after);
        if let Some(serial) = serial {
            super::history::record(ctx_prepared, &run.inputs, &plan_opts, store, serial)?;
        }
        Ok(Ok(Applied { plan, report: Some(report), cancelled: false, serial }))
    }));
    // Calls abandoned by a second Ctrl-C are not waited for.
    if matches!(&outcome, Ok(Ok(a)) if a.report.as_ref().is_some_and(|r| !r.abandoned.is_empty())) {
        rt.shutdown_background();
    }
    // A run that failed leaves no state behind when it created the file and wrote nothing.
    if !matches!(&outcome, Ok(Ok(applied)) if applied.succeeded()) {
        store.discard_if_new();
    }
    outcome?.map_err(|errors| Error::Failed(Report::of(prepared.sources, errors)))
}

/// Reads and checks a plan file (version and digest).
pub(super) fn read_plan_file(path: &Path) -> anyhow::Result<SavedPlan> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the plan file {}", path.display()))?;
    Ok(SavedPlan::from_bytes(&bytes, path)?)
}

fn warn(prepared: &Prepared, observer: &mut dyn Observer) {
    if !prepared.warnings.is_empty() {
        observer.event(Event::Warnings {
            diagnostics: &prepared.warnings,
            sources: &prepared.sources,
        });
    }
}

/// Options of `drift`.
#[derive(Debug, Clone)]
pub struct DriftOptions {
    /// Project and environment.
    pub workspace: Workspace,
    /// At most this many reads at once.
    pub parallelism: usize,
    /// With Score files named (`-f`), only the objects of their workloads and of the
    /// shared resources they use are read; otherwise every recorded object (no Score file
    /// is read).
    pub inputs: ScoreInputs,
}

/// What `drift` found.
pub struct Drifted {
    /// The environment.
    pub environment: String,
    /// Every object changed outside baton (empty: nothing drifted).
    pub drift: Vec<Drift>,
}

/// `drift`: reads every recorded object and reports what changed outside baton. Needs
/// no Score file, changes nothing.
pub fn drift(opts: &DriftOptions) -> Result<Drifted, Error> {
    let ws = &opts.workspace;
    let (environment, mut sources) = super::environment(ws)?;
    let scope = if opts.inputs.narrowed {
        let mut diags = crate::diag::Diagnostics::new();
        let project = opts.inputs.load(&mut sources, &mut diags);
        if diags.has_errors() {
            return Err(Error::Invalid(Report::new(sources, diags)));
        }
        let workloads = project
            .workloads
            .iter()
            .map(|w| w.workload.name().to_string());
        let shared: Vec<String> = project.resources.keys().map(|u| u.to_string()).collect();
        let plan = PlanOptions {
            workloads: Some(workloads.collect()),
            ..Default::default()
        };
        Some((plan, shared))
    } else {
        None
    };
    let registry = crate::provider::Registry::new(&ws.root, &environment.providers);
    let store = pipeline::open_existing(&ws.root, &environment)?;
    let state = store.load()?;
    let only = |addr: &str| {
        let Some((plan, used)) = &scope else {
            return true;
        };
        let uid = state.objects.get(addr).map_or("", |o| o.uid.as_str());
        plan.in_scope(addr, uid) || used.iter().any(|u| u == uid)
    };
    let rt = runtime()?;
    let refreshed = rt
        .block_on(crate::refresh::refresh(
            &state,
            &registry,
            opts.parallelism,
            Some(&only),
        ))
        .map_err(|errors| Error::Failed(Report::of(sources, errors)))?;
    Ok(Drifted {
        environment: environment.name,
        drift: refreshed.drift,
    })
}

/// Options of `import`.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Project and environment.
    pub workspace: Workspace,
    /// The Score files that declare the address.
    pub inputs: super::ScoreInputs,
    /// The address, e.g. `postgres.default#web.db/postgres_role.owner`.
    pub address: String,
    /// The object's identifier: the value of its identifying attribute.
    pub id: String,
}

/// What `import` recorded.
pub struct Imported {
    /// The kind of the object.
    pub kind: String,
}

/// `import`: reads an existing object into the state at an address the configuration
/// declares. The id is the value of the kind's identifying attribute (the first
/// required attribute that forces replacement: `name`, `path`, `user`, …).
pub fn import(opts: &ImportOptions, observer: &mut dyn Observer) -> Result<Imported, Error> {
    let ws = &opts.workspace;
    let (address, id) = (opts.address.as_str(), opts.id.as_str());
    let prepared = pipeline::prepare(&ws.root, &ws.env, &opts.inputs)?;
    warn(&prepared, observer);
    let Some(node) = prepared.graph.node(address).cloned() else {
        let known: Vec<&str> = prepared
            .graph
            .dag
            .node_weights()
            .map(|n| n.address.as_str())
            .filter(|a| !crate::addr::is_request_io(a))
            .collect();
        let hint = crate::diag::did_you_mean(address, known.iter().copied())
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        return Err(
            anyhow::anyhow!("the configuration declares no object at `{address}`{hint}").into(),
        );
    };
    let crate::graph::NodeKind::Resource(uid, ri) = &node.kind else {
        return Err(anyhow::anyhow!(
            "`{address}` is not a resource of a module; only resources can be imported"
        )
        .into());
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
    let mut store = prepared.open_state()?.acting_for(ws.who.clone());
    let rt = runtime()?;
    let request = LockRequest::environment("import");
    rt.block_on(locked(&mut store, &request, ws.lock_timeout, CtrlC::Nothing, observer, async |store: &mut Store, _: &mut dyn Observer| {
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
        Ok(())
    }))?;
    Ok(Imported {
        kind: block.kind.clone(),
    })
}
