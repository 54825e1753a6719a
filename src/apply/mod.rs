//! Apply: execute a plan's decisions. Walks the plan's schedule
//! ([`crate::plan::schedule`]) with tokio: a step starts as soon as every step it waits
//! for has finished. At most `parallelism` provider calls run at
//! once; the limit wraps provider calls only, so evaluating params, outputs and
//! manifests and recording state never wait for a slot. A failed node stops its
//! dependents; independent branches finish. An intent is recorded before each provider
//! call and its outcome after it, so a crash loses nothing done: the calls that finished
//! together and the intents of the calls they release commit in one transaction (one
//! commit per wave, see [`commit`]), and no call starts before its intent is committed.
//! A create that fails keeps its intent (the provider may have made the object before
//! the error), so the next refresh looks for the object. Before any call, apply records
//! what the plan's refresh settled about earlier runs' intents ([`settle`]).
//!
//! Apply never re-decides: actions come from the plan. It re-evaluates only values that
//! were unknown at plan time, from what providers actually returned.

mod commit;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::eval::{Context, Values};
use crate::graph::NodeKind;
use crate::plan::diff::sensitive_names;
use crate::plan::schedule::{Step, StepKind};
use crate::plan::{Action, Change, Plan};
use crate::provider::{Attrs, Owner, Proof, Provider, ProviderError, Registry};
use crate::state::{Intent, Object, Record, StateError, Store};
use crate::value::Value;
use commit::{Committer, Wave};

/// How to apply.
#[derive(Clone)]
pub struct ApplyOptions<'a> {
    /// Most provider calls at once.
    pub parallelism: usize,
    /// The providers that make the calls (the context sees only their kinds).
    pub providers: &'a Registry,
}

/// Progress of an apply, for the renderer.
#[derive(Debug, Clone)]
pub enum Event {
    /// A provider call started.
    Started {
        /// Address.
        address: String,
        /// Action.
        action: Action,
    },
    /// A provider call finished.
    Finished {
        /// Address.
        address: String,
        /// Action.
        action: Action,
        /// How long it took.
        elapsed: Duration,
    },
    /// A node failed.
    Failed {
        /// Address.
        address: String,
        /// Why (no secrets).
        error: String,
    },
    /// A node was not run because something it needs failed.
    Skipped {
        /// Address.
        address: String,
    },
    /// A provider call is still running, said every [`STILL_RUNNING_EVERY`].
    StillRunning {
        /// Address.
        address: String,
        /// Action.
        action: Action,
        /// How long it has run (a multiple of [`STILL_RUNNING_EVERY`]).
        elapsed: Duration,
    },
    /// Ctrl-C: no new call starts, and the walk waits for the calls in flight (these
    /// addresses); a second Ctrl-C abandons them.
    Interrupted {
        /// The calls in flight, by address.
        waiting: Vec<String>,
    },
}

/// How often a call still running is reported.
pub const STILL_RUNNING_EVERY: Duration = Duration::from_secs(10);

/// The provider calls in flight, as their events tell: when each started, and how many
/// times it was reported still running.
#[derive(Default)]
struct InFlight {
    calls: BTreeMap<String, (Action, Instant, u32)>,
}

impl InFlight {
    /// Notes what `e` says about a call.
    fn note(&mut self, e: &Event) {
        match e {
            Event::Started { address, action } => {
                self.calls
                    .insert(address.clone(), (*action, Instant::now(), 0));
            }
            Event::Finished { address, .. } | Event::Failed { address, .. } => {
                self.calls.remove(address);
            }
            _ => {}
        }
    }

    /// When the next call is due to be reported still running.
    fn next_due(&self) -> Option<tokio::time::Instant> {
        self.calls
            .values()
            .map(|(_, began, said)| *began + STILL_RUNNING_EVERY * (said + 1))
            .min()
            .map(tokio::time::Instant::from_std)
    }

    /// The calls due now, counted as said.
    fn due(&mut self) -> Vec<Event> {
        let now = Instant::now();
        let mut out = Vec::new();
        for (address, (action, began, said)) in &mut self.calls {
            let elapsed = STILL_RUNNING_EVERY * (*said + 1);
            if *began + elapsed <= now {
                *said += 1;
                out.push(Event::StillRunning {
                    address: address.clone(),
                    action: *action,
                    elapsed,
                });
            }
        }
        out
    }
}

/// The outcome.
#[derive(Debug, Default)]
pub struct Report {
    /// Changes made, by action.
    pub done: BTreeMap<&'static str, usize>,
    /// Failures: address and message.
    pub failed: Vec<(String, String)>,
    /// Nodes not run.
    pub skipped: Vec<String>,
    /// Interrupted by Ctrl-C.
    pub interrupted: bool,
    /// A second Ctrl-C abandoned the calls in flight (these addresses): their intents
    /// stay recorded, as after `kill -9`, and the next plan's refresh settles them.
    pub abandoned: Vec<String>,
    /// The values as applied (outputs for `baton output`).
    pub values: Values,
}

/// Ctrl-C (SIGINT), listened for from the moment this is made, so that none is missed
/// between two waits. Making one installs tokio's handler for the rest of the process:
/// from then on Ctrl-C no longer ends it.
pub struct Interrupts(Option<tokio::signal::unix::Signal>);

impl Interrupts {
    /// Listens when `on` (and a handler can be installed); otherwise never interrupted.
    pub fn new(on: bool) -> Interrupts {
        let sigint = tokio::signal::unix::SignalKind::interrupt();
        Interrupts(
            on.then(|| tokio::signal::unix::signal(sigint).ok())
                .flatten(),
        )
    }

    /// The next Ctrl-C.
    pub async fn next(&mut self) {
        match &mut self.0 {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
}

type CallFuture = std::pin::Pin<Box<dyn std::future::Future<Output = CallResult> + Send>>;
type CallResult = (
    usize,
    Action,
    Result<Option<Attrs>, ProviderError>,
    Duration,
    Option<Attrs>,
);

/// Records what the plan's refresh settled about leftover intents: the objects it
/// adopted (tainted, so they are replaced or deleted even if this run stops early), and
/// the intents with nothing to adopt cleared. Returns whether the state changed.
pub fn settle(plan: &Plan, store: &mut Store) -> Result<bool, StateError> {
    let settled = &plan.settled;
    if settled.is_empty() {
        return Ok(false);
    }
    let changes = plan.by_address();
    let records: Vec<Record> = settled
        .adopted
        .iter()
        .map(|o| {
            let mut o = Object {
                tainted: true,
                ..o.clone()
            };
            // What the plan knows of it: its place in the graph, or for one no longer
            // declared, the conservative order of its delete.
            if let Some(c) = changes.get(o.address.as_str()) {
                o.dependencies = c.depends_on.clone();
                if o.uid.is_empty() {
                    o.uid = c.uid.clone();
                    o.module = c.module.clone();
                }
            }
            Record::Put(o)
        })
        .collect();
    let updated: Vec<Record> = settled.updated.iter().cloned().map(Record::Put).collect();
    // Moves first: the old address leaves, the new one is recorded.
    let moved: Vec<Record> = settled
        .moved
        .iter()
        .map(|m| Record::Remove(m.from.clone()))
        .chain(settled.moved.iter().map(|m| Record::Put(m.object.clone())))
        .collect();
    if !records.is_empty() || !updated.is_empty() || !moved.is_empty() {
        let batch: Vec<(&Record, &str)> = moved
            .iter()
            .map(|r| (r, "move"))
            .chain(records.iter().map(|r| (r, "adopt")))
            .chain(updated.iter().map(|r| (r, "update")))
            .collect();
        store.record_many(&batch, true)?;
    }
    for address in &settled.intents {
        if !settled.adopted.iter().any(|o| &o.address == address) {
            store.clear_intent(address)?;
        }
    }
    Ok(!records.is_empty() || !updated.is_empty() || !moved.is_empty())
}

/// Applies `plan`. `values` are the plan's values; `store` records every change.
pub async fn apply(
    ctx: &Context<'_>,
    plan: &Plan,
    mut values: Values,
    store: &mut Store,
    opts: &ApplyOptions<'_>,
    mut on_event: impl FnMut(Event),
) -> Result<Report, StateError> {
    let changes: BTreeMap<&str, &Change> = plan.by_address();
    // The plan's schedule: what each step waits for was decided with the plan.
    let steps = &plan.schedule.steps;
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    let mut waiting: Vec<usize> = vec![0; steps.len()];
    for (s, step) in steps.iter().enumerate() {
        waiting[s] = step.waits_for.len();
        for &d in &step.waits_for {
            dependents[d].push(s);
        }
    }
    let mut ready: BTreeSet<(u32, usize)> = (0..steps.len())
        .filter(|s| waiting[*s] == 0)
        .map(|s| (steps[s].rank, s))
        .collect();
    let mut failed: BTreeSet<usize> = BTreeSet::new();
    let mut report = Report::default();
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.parallelism.max(1)));
    // Provider calls report here when they get a slot and when they finish, while still
    // holding it, so progress shows exactly what is in flight.
    let (started_tx, mut started_rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let bumped = settle(plan, store)?;
    let mut final_triggers: BTreeMap<String, Option<serde_json::Value>> = BTreeMap::new();
    // Finished calls report here; `in_flight` counts the calls handed to the committer
    // that have not reported yet.
    let (results_tx, mut results) = tokio::sync::mpsc::unbounded_channel::<CallResult>();
    let mut in_flight = 0usize;
    let mut commits = Committer::start(store, bumped, results_tx)?;
    // The wave being made: changes that finished (their dependents are evaluated before
    // it is handed over) and the calls they release.
    let mut wave = Wave::default();
    // Calls that finished and are not taken in yet.
    let mut finished: std::collections::VecDeque<CallResult> = Default::default();
    let mut interrupted = false;
    // Listening from here on: a Ctrl-C is counted even when it comes while the walk is
    // busy, or right after the first one is reported.
    let mut sigint = Interrupts::new(true);
    let mut in_flight_calls = InFlight::default();
    let mut on_event = move |e: Event, calls: &mut InFlight| {
        calls.note(&e);
        on_event(e)
    };

    // Marks a step finished (ok or not) and releases its dependents.
    fn finish(
        s: usize,
        ok: bool,
        steps: &[Step],
        dependents: &[Vec<usize>],
        waiting: &mut [usize],
        ready: &mut BTreeSet<(u32, usize)>,
        failed: &mut BTreeSet<usize>,
    ) {
        if !ok {
            failed.insert(s);
        }
        for &d in &dependents[s] {
            waiting[d] -= 1;
            if waiting[d] == 0 {
                ready.insert((steps[d].rank, d));
            }
        }
    }

    loop {
        while let Some((_, s)) = (!interrupted).then(|| ready.pop_first()).flatten() {
            if steps[s].waits_for.iter().any(|d| failed.contains(d)) {
                report.skipped.push(steps[s].address.clone());
                on_event(
                    Event::Skipped {
                        address: steps[s].address.clone(),
                    },
                    &mut in_flight_calls,
                );
                finish(
                    s,
                    false,
                    steps,
                    &dependents,
                    &mut waiting,
                    &mut ready,
                    &mut failed,
                );
                continue;
            }
            match &steps[s].kind {
                StepKind::Delete(ci) => {
                    let c = &plan.changes[*ci];
                    let provider = opts.providers.provider_for(&c.kind);
                    let prior = c.before.as_deref().cloned().unwrap_or_default();
                    match provider {
                        Some(p) => {
                            start_call(
                                &mut wave,
                                &sem,
                                &started_tx,
                                s,
                                c,
                                Action::Delete,
                                p,
                                prior.clone(),
                                None,
                                Owner::new(&plan.lineage, &c.address),
                            )?;
                        }
                        None => {
                            report.failed.push((
                                c.address.clone(),
                                format!("no provider serves kind `{}`", c.kind),
                            ));
                            finish(
                                s,
                                false,
                                steps,
                                &dependents,
                                &mut waiting,
                                &mut ready,
                                &mut failed,
                            );
                        }
                    }
                }
                StepKind::Node(i) => {
                    let node = &ctx.graph.dag[*i];
                    let outcome: Result<bool, String> = (|| match &node.kind {
                        NodeKind::Params(uid) => {
                            let p = ctx.eval_params(uid, &values).map_err(|d| d.summary)?;
                            values.params.insert(uid.clone(), p);
                            Ok(true)
                        }
                        NodeKind::Outputs(uid) => {
                            let o = ctx.eval_outputs(uid, &values).map_err(|d| d.summary)?;
                            values.outputs.insert(uid.clone(), o);
                            Ok(true)
                        }
                        NodeKind::Resource(..) | NodeKind::Workload(_) => {
                            let Some(c) = changes.get(node.address.as_str()) else {
                                // Not part of this plan (--target): keep what is recorded.
                                return Ok(true);
                            };
                            // A move of a kind without markers: recorded (by `settle`),
                            // nothing to call.
                            let marked =
                                |c: &Change| ctx.registry.proof(&c.kind) == Some(Proof::Marker);
                            match c.action {
                                Action::Move if !marked(c) => {
                                    if let Some(after) = &c.after {
                                        values.resources.insert(c.address.clone(), after.clone());
                                    }
                                    Ok(true)
                                }
                                Action::NoOp | Action::Delete => {
                                    if let Some(after) = &c.after {
                                        values.resources.insert(c.address.clone(), after.clone());
                                    }
                                    Ok(true)
                                }
                                action => {
                                    if let NodeKind::Resource(uid, ri) = &node.kind {
                                        // The replace_triggered_by values as applied, when
                                        // they were unknown at plan time (they come from
                                        // objects made in this run).
                                        let rule = &ctx.module(uid).resources[*ri].lifecycle;
                                        if c.triggers.is_none()
                                            && rule.replace_triggered_by.is_some()
                                        {
                                            let lc = ctx
                                                .eval_lifecycle(uid, *ri, &values)
                                                .map_err(|d| d.summary)?;
                                            final_triggers.insert(
                                                node.address.clone(),
                                                lc.triggers.flatten(),
                                            );
                                        }
                                    }
                                    let config = match c.desired.as_deref() {
                                        // Known in full at plan time: what the plan decided on.
                                        Some(planned)
                                            if !planned.values().any(Value::contains_unknown) =>
                                        {
                                            planned.clone()
                                        }
                                        planned => {
                                            let config = match &node.kind {
                                                NodeKind::Resource(uid, ri) => {
                                                    let mut config = ctx
                                                        .eval_resource(uid, *ri, &values)
                                                        .map_err(|d| d.summary)?;
                                                    ctx.keep_recorded_names(
                                                        uid,
                                                        &mut config,
                                                        c.before.as_deref(),
                                                    );
                                                    config
                                                }
                                                NodeKind::Workload(name) => ctx
                                                    .eval_workload(name, &values)
                                                    .map_err(|d| d.summary)?,
                                                _ => unreachable!(
                                                    "only resources and workloads call providers"
                                                ),
                                            };
                                            if let Some(planned) = planned {
                                                still_as_planned(&c.address, planned, &config)?;
                                            }
                                            config
                                        }
                                    };
                                    if config.values().any(Value::contains_unknown) {
                                        return Err("internal error: a value is still unknown after its dependencies were applied".into());
                                    }
                                    let provider =
                                        opts.providers.provider_for(&c.kind).ok_or_else(|| {
                                            format!("no provider serves kind `{}`", c.kind)
                                        })?;
                                    let prior = c.before.as_deref().cloned();
                                    start_call(
                                        &mut wave,
                                        &sem,
                                        &started_tx,
                                        s,
                                        c,
                                        action,
                                        provider,
                                        prior.unwrap_or_default(),
                                        Some(config),
                                        Owner::new(&plan.lineage, &c.address),
                                    )
                                    .map_err(|e| e.to_string())?;
                                    Ok(false)
                                }
                            }
                        }
                    })();
                    match outcome {
                        Ok(true) => finish(
                            s,
                            true,
                            steps,
                            &dependents,
                            &mut waiting,
                            &mut ready,
                            &mut failed,
                        ),
                        Ok(false) => {}
                        Err(e) => {
                            on_event(
                                Event::Failed {
                                    address: node.address.clone(),
                                    error: e.clone(),
                                },
                                &mut in_flight_calls,
                            );
                            report.failed.push((node.address.clone(), e));
                            finish(
                                s,
                                false,
                                steps,
                                &dependents,
                                &mut waiting,
                                &mut ready,
                                &mut failed,
                            );
                        }
                    }
                }
            }
        }
        // One commit per wave: the changes that finished (their dependents were evaluated
        // above) and the intents of the calls about to start. Nothing starts before it.
        // A wave goes as soon as the committer is free, so that it commits while the
        // walk takes in the next finished calls; while it is busy, waves grow.
        commits.poll()?;
        if !wave.is_empty() && (finished.is_empty() || commits.idle()) {
            in_flight += wave.calls.len();
            commits.send(std::mem::take(&mut wave))?;
        }
        if finished.is_empty() {
            while let Ok(event) = started_rx.try_recv() {
                on_event(event, &mut in_flight_calls);
            }
            // Wait for a call to finish (or for the last waves to commit).
            while finished.is_empty() && (in_flight > 0 || commits.waiting > 0) {
                let due = in_flight_calls.next_due();
                tokio::select! {
                    Some(event) = started_rx.recv() => on_event(event, &mut in_flight_calls),
                    Some(done) = commits.acks.recv(), if commits.waiting > 0 => {
                        commits.waiting -= 1;
                        done?;
                    }
                    Some(r) = results.recv(), if in_flight > 0 => finished.push_back(r),
                    _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                        for e in in_flight_calls.due() {
                            on_event(e, &mut in_flight_calls);
                        }
                    }
                    _ = sigint.next() => {
                        let waiting: Vec<String> = in_flight_calls.calls.keys().cloned().collect();
                        if interrupted {
                            // The second Ctrl-C: stop now. Dropping the committer stops
                            // the calls; their intents stay, as after `kill -9`.
                            drop(commits);
                            report.interrupted = true;
                            report.abandoned = waiting;
                            report.values = values;
                            return Ok(report);
                        }
                        interrupted = true;
                        on_event(Event::Interrupted { waiting }, &mut in_flight_calls);
                    }
                }
            }
            // Every call that has finished by now is taken in, one at a time, each one's
            // dependents evaluated before the next. Their progress lines are printed
            // once the walk waits again, off the path from one call to the next.
            while let Ok(more) = results.try_recv() {
                finished.push_back(more);
            }
            in_flight -= finished.len();
        }
        let Some((s, action, result, _elapsed, config)) = finished.pop_front() else {
            break;
        };
        let address = steps[s].address.clone();
        let change: &Change = changes[address.as_str()];
        match result {
            Ok(attrs) => {
                let record = match attrs {
                    None => Record::Remove(address.clone()),
                    Some(attrs) => {
                        let schema = ctx
                            .registry
                            .schema(&change.kind)
                            .expect("kind has a schema");
                        let marked_config = config.clone().unwrap_or_default();
                        let object = Object {
                            address: address.clone(),
                            kind: change.kind.clone(),
                            provider: change.provider.clone(),
                            uid: change.uid.clone(),
                            module: change.module.clone(),
                            attributes: Arc::new(
                                attrs.iter().map(|(k, v)| (k.clone(), v.reveal())).collect(),
                            ),
                            sensitive: sensitive_names(schema, &marked_config),
                            dependencies: change.depends_on.clone(),
                            tainted: false,
                            protected: change.protected,
                            triggers: final_triggers
                                .remove(&address)
                                .unwrap_or_else(|| change.triggers.clone()),
                            // The call made it with proof, or checked and marked it.
                            proven: opts
                                .providers
                                .provider_for(&change.kind)
                                .is_some_and(|p| p.proof(&change.kind) != Proof::None),
                        };
                        values.resources.insert(address.clone(), object.marked());
                        Record::Put(object)
                    }
                };
                // Its dependents are evaluated next; the record commits together
                // with the intents of the calls they release, before any of them
                // starts.
                *report.done.entry(action.as_str()).or_default() += 1;
                finish(
                    s,
                    true,
                    steps,
                    &dependents,
                    &mut waiting,
                    &mut ready,
                    &mut failed,
                );
                wave.records.push((action, record));
            }
            Err(e) => {
                // A create or an update whose reply was lost may have acted: its
                // intent stays for the next refresh to read the object and record it.
                // A call refused for an object baton did not make did nothing.
                if !matches!(action, Action::Create | Action::Replace | Action::Update)
                    || matches!(e, ProviderError::NotOurs(_))
                {
                    wave.cleared.push(address.clone());
                }
                let msg = failure(&e, change, ctx, config.as_ref());
                // The call's own progress lines come first.
                while let Ok(event) = started_rx.try_recv() {
                    on_event(event, &mut in_flight_calls);
                }
                on_event(
                    Event::Failed {
                        address: address.clone(),
                        error: msg.clone(),
                    },
                    &mut in_flight_calls,
                );
                report.failed.push((address.clone(), msg));
                finish(
                    s,
                    false,
                    steps,
                    &dependents,
                    &mut waiting,
                    &mut ready,
                    &mut failed,
                );
            }
        }
    }
    // Every wave is committed; the thread ends.
    drop(commits);
    report.interrupted = interrupted;
    report.values = values;
    // Every move was recorded by `settle`; the calls that rewrote markers are among them.
    report.done.remove("move");
    if !plan.settled.moved.is_empty() {
        report.done.insert("move", plan.settled.moved.len());
    }
    Ok(report)
}

/// The message of a failed call: secrets of its configuration and prior attributes
/// removed (a provider may quote a value it rejects), and for an object baton cannot
/// prove it made, the explicit way to take it over.
/// Checks that a configuration evaluated at apply keeps every value the plan knew: only
/// the values that were unknown may have become something (a reviewer approved the
/// rest).
fn still_as_planned(address: &str, planned: &Attrs, applied: &Attrs) -> Result<(), String> {
    fn bare(v: &Value) -> &Value {
        match v {
            Value::Sensitive(inner) => bare(inner),
            other => other,
        }
    }
    fn agrees(planned: &Value, applied: &Value) -> bool {
        match (bare(planned), bare(applied)) {
            (Value::Unknown, _) => true,
            (Value::List(p), Value::List(a)) => {
                p.len() == a.len() && p.iter().zip(a).all(|(p, a)| agrees(p, a))
            }
            (Value::Map(p), Value::Map(a)) => {
                p.len() == a.len()
                    && p.iter()
                        .zip(a.iter())
                        .all(|((pk, pv), (ak, av))| pk == ak && agrees(pv, av))
            }
            (p, a) => p == a,
        }
    }
    let keys = |m: &Attrs| m.keys().cloned().collect::<BTreeSet<String>>();
    let differs = keys(planned)
        .union(&keys(applied))
        .find(|k| match (planned.get(*k), applied.get(*k)) {
            (Some(p), Some(a)) => !agrees(p, a),
            _ => true,
        })
        .cloned();
    match differs {
        None => Ok(()),
        Some(attr) => Err(format!(
            "{address}: `{attr}` is not what the plan showed (a value known at plan time \
             changed before apply); nothing was called for it. Plan again and review the new plan"
        )),
    }
}

fn failure(
    e: &ProviderError,
    change: &Change,
    ctx: &Context<'_>,
    config: Option<&Attrs>,
) -> String {
    let mut secrets: Vec<String> = Vec::new();
    for attrs in [config, change.before.as_deref(), change.after.as_deref()]
        .into_iter()
        .flatten()
    {
        for v in attrs.values() {
            v.collect_sensitive_strings(&mut secrets);
        }
    }
    let mut msg = e.to_string();
    // Longest first, so a secret that contains another is removed whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        msg = msg.replace(s.as_str(), "(sensitive)");
    }
    if let ProviderError::NotOurs(_) = e {
        let id = ctx.registry.schema(&change.kind).and_then(|schema| {
            let attr = schema
                .attributes
                .iter()
                .find(|a| a.presence == crate::provider::Presence::Required && a.force_new)?;
            let value = config.or(change.before.as_deref())?.get(attr.name)?;
            value.reveal().as_str().map(str::to_string)
        });
        msg.push_str(&format!(
            "; baton changed nothing. To manage this object with baton on purpose: `baton import {} {}`",
            change.address,
            id.as_deref().unwrap_or("ID")
        ));
    }
    msg
}

/// Records the intent, then runs the provider call on the runtime, holding a slot of
/// the parallelism limit only around the call itself.
#[allow(clippy::too_many_arguments)]
fn start_call(
    wave: &mut Wave,
    sem: &Arc<tokio::sync::Semaphore>,
    started: &tokio::sync::mpsc::UnboundedSender<Event>,
    step: usize,
    change: &Change,
    action: Action,
    provider: Arc<dyn Provider>,
    prior: Attrs,
    config: Option<Attrs>,
    owner: Owner,
) -> Result<(), StateError> {
    let planned = config.clone().unwrap_or_else(|| prior.clone());
    let intent = Intent {
        address: change.address.clone(),
        action: match action {
            Action::Create | Action::Replace => "create".into(),
            other => other.as_str().into(),
        },
        kind: change.kind.clone(),
        planned: planned
            .iter()
            .map(|(k, v)| (k.clone(), v.reveal()))
            .collect(),
        started_at: crate::state::now(),
    };
    let sem = sem.clone();
    let started = started.clone();
    let address = change.address.clone();
    let kind = change.kind.clone();
    let cbd = change.create_before_destroy;
    let mark_only = change.reason == crate::plan::Reason::Mark;
    // The object may carry the marker of the address it was moved from.
    let remark = mark_only || change.moved_from.is_some();
    // Only the recorded protection changes: no call, the object is recorded as it is.
    let record_only = matches!(change.reason, crate::plan::Reason::Protection(_));
    let task: CallFuture = Box::pin(async move {
        let _permit = sem.acquire_owned().await;
        let _ = started.send(Event::Started {
            address: address.clone(),
            action,
        });
        let began = Instant::now();
        let reveal =
            |a: &Attrs| -> Attrs { a.iter().map(|(k, v)| (k.clone(), v.reveal())).collect() };
        let prior_r = reveal(&prior);
        let proof = provider.proof(&kind);
        // Changing or deleting an object: the plan's refresh checked that the object
        // proves to be baton's; here, right before the call, that it has not been
        // marked by another state since (a secret-based proof is not checked again:
        // the refreshed attributes the change carries may no longer hold the secret).
        let guard = |prior: Attrs| {
            let (provider, kind, owner) = (provider.clone(), kind.clone(), owner.clone());
            async move {
                if proof != Proof::Marker {
                    return Ok(());
                }
                let claim = provider.claim(&kind, &prior, &owner).await?;
                // A moved object carries the marker its old address had in this state;
                // the plan's refresh found that address recorded no more.
                let moved = |m: &str| remark && owner.same_state(m);
                if !matches!(&claim, crate::provider::Claim::Foreign(m) if !moved(m)) {
                    Ok(())
                } else {
                    Err(ProviderError::NotOurs(format!(
                        "the {kind} object found for {} is not the one baton recorded: {}",
                        owner.address,
                        claim.describe()
                    )))
                }
            }
        };
        // An object of a kind that carries markers is marked once changed in place, so
        // objects recorded by a baton that wrote no markers get theirs.
        let mark = |made: Attrs| {
            let (provider, kind, owner) = (provider.clone(), kind.clone(), owner.clone());
            async move {
                if proof == Proof::Marker {
                    provider.mark(&kind, &made, &owner).await?;
                }
                Ok::<_, ProviderError>(Some(made))
            }
        };
        let result = match action {
            Action::Create => provider
                .create(
                    &kind,
                    &reveal(config.as_ref().expect("create has a config")),
                    &owner,
                )
                .await
                .map(Some),
            Action::Update if record_only => Ok(Some(prior_r.clone())),
            Action::Update if mark_only => match guard(prior_r.clone()).await {
                Ok(()) => mark(prior_r.clone()).await,
                Err(e) => Err(e),
            },
            Action::Update => match guard(prior_r.clone()).await {
                Ok(()) => match provider
                    .update(
                        &kind,
                        &prior_r,
                        &reveal(config.as_ref().expect("update has a config")),
                    )
                    .await
                {
                    Ok(made) => mark(made).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            },
            Action::Replace => {
                let cfg = reveal(config.as_ref().expect("replace has a config"));
                match guard(prior_r.clone()).await {
                    Err(e) => Err(e),
                    Ok(()) if cbd => match provider.create(&kind, &cfg, &owner).await {
                        Ok(made) => provider.delete(&kind, &prior_r).await.map(|_| Some(made)),
                        Err(e) => Err(e),
                    },
                    Ok(()) => match provider.delete(&kind, &prior_r).await {
                        Ok(()) => provider.create(&kind, &cfg, &owner).await.map(Some),
                        Err(e) => Err(e),
                    },
                }
            }
            Action::Delete => match guard(prior_r.clone()).await {
                Ok(()) => provider.delete(&kind, &prior_r).await.map(|_| None),
                Err(e) => Err(e),
            },
            Action::NoOp => Ok(Some(prior_r.clone())),
            // The object moved: only its marker changes, to name the new address.
            Action::Move => match guard(prior_r.clone()).await {
                Ok(()) => mark(prior_r.clone()).await,
                Err(e) => Err(e),
            },
        };
        let elapsed = began.elapsed();
        if result.is_ok() {
            let _ = started.send(Event::Finished {
                address,
                action,
                elapsed,
            });
        }
        drop(_permit);
        (step, action, result, elapsed, config)
    });
    wave.intents.push(intent);
    wave.calls.push((step, action, task));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, Value)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn only_values_unknown_at_plan_time_may_change_at_apply() {
        let s = |t: &str| Value::String(t.to_string());
        let planned = attrs(&[
            ("name", s("app")),
            ("password", Value::sensitive(Value::Unknown)),
            ("hosts", Value::List(vec![s("a"), Value::Unknown])),
        ]);
        let applied = attrs(&[
            ("name", s("app")),
            ("password", Value::sensitive(s("pw"))),
            ("hosts", Value::List(vec![s("a"), s("b")])),
        ]);
        assert_eq!(still_as_planned("x", &planned, &applied), Ok(()));
        for (attr, wrong) in [
            ("name", s("other")),
            ("hosts", Value::List(vec![s("z"), s("b")])),
            ("hosts", Value::List(vec![s("a")])),
        ] {
            let mut changed = applied.clone();
            changed.insert(attr.to_string(), wrong);
            let err = still_as_planned("x", &planned, &changed).unwrap_err();
            assert!(err.contains(&format!("`{attr}`")), "{err}");
        }
        let mut extra = applied.clone();
        extra.insert("port".to_string(), s("1"));
        assert!(still_as_planned("x", &planned, &extra).is_err());
    }
}
