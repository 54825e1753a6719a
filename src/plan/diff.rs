//! Deciding: desired values (from `eval`) against the refreshed state → one [`Change`]
//! per object with its action and reason; deletes in reverse dependency order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use petgraph::Direction;
use petgraph::graph::NodeIndex;
use rustc_hash::FxHashSet;

use super::{Action, Change, Plan, Reason};
use crate::addr::workload_address;
use crate::diag::Diagnostic;
use crate::eval::{Context, Values};
use crate::graph::NodeKind;
use crate::refresh::{Now, Refreshed};
use crate::schema::{KindSchema, Presence, Proof};
use crate::state::{Object, State};
use crate::value::Attrs;
use crate::value::Value;

/// What to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan to delete everything in state.
    pub destroy: bool,
    /// Only these addresses (resource addresses, uids, `workload.NAME`) and what they need.
    pub targets: Vec<String>,
    /// Replace these addresses even if unchanged.
    pub replace: Vec<String>,
    /// Only the objects of these workloads (set when Score files are named with `-f`):
    /// objects of other workloads, and shared resources, are neither read nor deleted.
    pub workloads: Option<Vec<String>>,
    /// Plan a return to the configuration the apply of this serial recorded (its
    /// Score files, modules and settings) instead of the working tree's.
    pub at: Option<u64>,
}

impl PlanOptions {
    /// Whether the object at `address` of Score uid `uid` is within the workloads in scope.
    pub fn in_scope(&self, address: &str, uid: &str) -> bool {
        let Some(ws) = &self.workloads else {
            return true;
        };
        if let Some(w) = crate::addr::workload_of(address) {
            return ws.iter().any(|x| x == w);
        }
        match crate::addr::Uid::parse(uid).map(|u| u.scope.clone()) {
            Some(crate::addr::UidScope::Workload { workload, .. }) => ws.contains(&workload),
            // Shared resources belong to every workload that names them: only a run over
            // the whole project may delete one.
            _ => false,
        }
    }
}

/// The result of planning: the plan, and the values it computed (for `output`).
pub struct Planned {
    /// The plan.
    pub plan: Plan,
    /// Values per node as planned.
    pub values: Values,
}

/// Decides the plan. `refreshed` is the state as read through providers (objects that
/// vanished are absent, objects of interrupted creates adopted) with the drift it found;
/// `stored` is the state as recorded.
pub fn plan(
    ctx: &Context<'_>,
    stored: &State,
    refreshed: Refreshed,
    opts: &PlanOptions,
    moved: Vec<crate::state::moves::Move>,
) -> Result<Planned, Vec<Diagnostic>> {
    let Refreshed {
        changed,
        drift,
        adopted,
        settled,
        unmarked,
        updated,
    } = refreshed;
    let refreshed = Now::new(&changed, stored);
    let mut values = Values::default();
    let uids = ctx.graph.module_of.len();
    values.params.reserve(uids);
    values.outputs.reserve(uids);
    values
        .resources
        .reserve(ctx.graph.dag.node_count().saturating_sub(2 * uids));
    // Where each protection comes from, for messages.
    let mut rules: BTreeMap<String, String> = BTreeMap::new();
    let mut errors = Vec::new();
    // One change per resource and workload node (every uid has a params and an outputs
    // node besides its resources).
    let expected = ctx.graph.dag.node_count().saturating_sub(2 * uids);
    let mut changes: Vec<Change> = Vec::new();
    let drifted: BTreeMap<&str, BTreeSet<String>> = drift
        .iter()
        .map(|d| {
            let attrs: BTreeSet<String> = match &d.after {
                None => BTreeSet::new(),
                Some(after) => d
                    .before
                    .keys()
                    .chain(after.keys())
                    .filter(|k| {
                        d.before.get(*k).map(Value::reveal) != after.get(*k).map(Value::reveal)
                    })
                    .cloned()
                    .collect(),
            };
            (d.address.as_str(), attrs)
        })
        .collect();
    let gone: BTreeSet<&str> = drift
        .iter()
        .filter(|d| d.after.is_none())
        .map(|d| d.address.as_str())
        .collect();

    let selected = select(ctx, opts);
    let mut failed: FxHashSet<NodeIndex> = FxHashSet::default();
    let mut desired_addresses: FxHashSet<&str> = FxHashSet::default();
    desired_addresses.reserve(ctx.graph.dag.node_count());

    if !opts.destroy {
        // Nodes by level (one more than their deepest dependency's): the nodes of a level
        // depend only on earlier levels, so a level is evaluated on every core, then its
        // values are recorded before the next. Changes and errors keep the graph's order.
        let mut level = vec![0usize; ctx.graph.dag.node_count()];
        let mut levels: Vec<Vec<(usize, NodeIndex)>> = Vec::new();
        for (pos, &i) in ctx.graph.order.iter().enumerate() {
            let node = &ctx.graph.dag[i];
            if let NodeKind::Resource(..) | NodeKind::Workload(_) = node.kind {
                desired_addresses.insert(node.address.as_str());
            }
            if selected.as_ref().is_some_and(|s| !s.contains(&i)) {
                continue;
            }
            let l = ctx
                .graph
                .dag
                .neighbors_directed(i, Direction::Incoming)
                .map(|j| level[j.index()] + 1)
                .max()
                .unwrap_or(0);
            level[i.index()] = l;
            if levels.len() <= l {
                levels.resize_with(l + 1, Vec::new);
            }
            levels[l].push((pos, i));
        }
        let inputs = NodeInputs {
            refreshed,
            drifted: &drifted,
            gone: &gone,
            opts,
        };
        // Each change is moved out of its box as its level is recorded (the next level's
        // boxes reuse the memory), and the vector becomes the plan's in place.
        let mut ordered_changes: Vec<(usize, Change)> = Vec::with_capacity(expected);
        let mut ordered_errors: Vec<(usize, Diagnostic)> = Vec::new();
        for nodes in &levels {
            let outs = eval_level(ctx, nodes, &values, &failed, &inputs);
            for (&(pos, i), out) in nodes.iter().zip(outs) {
                let node = &ctx.graph.dag[i];
                match (out, &node.kind) {
                    (NodeOut::Skipped, _) => {
                        failed.insert(i);
                    }
                    (NodeOut::Failed(d), _) => {
                        ordered_errors.push((pos, d));
                        failed.insert(i);
                    }
                    (NodeOut::Params(p), NodeKind::Params(uid)) => {
                        values.params.insert(uid.clone(), p);
                    }
                    (NodeOut::Outputs(o), NodeKind::Outputs(uid)) => {
                        values.outputs.insert(uid.clone(), o);
                    }
                    (NodeOut::Change(change, rule, value), _) => {
                        if let Some(rule) = rule {
                            rules.insert(node.address.clone(), rule);
                        }
                        if let Some(value) = value {
                            values.resources.insert(node.address.clone(), value);
                        }
                        ordered_changes.push((pos, *change));
                    }
                    _ => unreachable!("a node's outcome matches its kind"),
                }
            }
        }
        sort_by_position(&mut ordered_changes);
        changes = ordered_changes.into_iter().map(|(_, c)| c).collect();
        ordered_errors.sort_by_key(|(pos, _)| *pos);
        errors.extend(ordered_errors.into_iter().map(|(_, d)| d));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Deletes: recorded objects no longer desired (all of them for --destroy).
    let targeted_delete = |addr: &str| {
        opts.targets.is_empty() || opts.targets.iter().any(|t| crate::addr::under(addr, t))
    };
    // Objects adopted from interrupted creates are deleted like recorded ones.
    let adopted: Vec<Object> = adopted
        .iter()
        .filter_map(|a| refreshed.get(a).cloned())
        .collect();
    let doomed: Vec<&Object> = stored
        .objects
        .values()
        .chain(
            adopted
                .iter()
                .filter(|o| !stored.objects.contains_key(&o.address)),
        )
        .filter(|o| {
            !desired_addresses.contains(o.address.as_str())
                && targeted_delete(&o.address)
                && opts.in_scope(&o.address, &o.uid)
        })
        .collect();
    // What an adopted object depends on is not known; it was being made when a run
    // stopped, so everything recorded it might need already existed, and nothing
    // recorded can depend on it: it is deleted before every recorded object.
    let recorded_doomed: Vec<String> = doomed
        .iter()
        .filter(|o| stored.objects.contains_key(&o.address))
        .map(|o| o.address.clone())
        .collect();
    for o in reverse_dependency_order(&doomed) {
        let before = refreshed.get(&o.address).unwrap_or(o);
        let depends_on = if stored.objects.contains_key(&o.address) {
            o.dependencies.clone()
        } else {
            recorded_doomed.clone()
        };
        changes.push(Change {
            address: o.address.clone(),
            uid: o.uid.clone(),
            kind: o.kind.clone(),
            provider: o.provider.clone(),
            module: o.module.clone(),
            workloads: recorded_workloads(o),
            action: Action::Delete,
            reason: Reason::NoLongerReferenced,
            before: Some(before.marked()),
            after: None,
            desired: None,
            depends_on,
            create_before_destroy: false,
            protected: o.protected,
            triggers: None,
            stateful: stateful(ctx, &o.module, &o.uid, &o.kind),
            moved_from: None,
        });
    }
    // Protected objects are never deleted or replaced by a plan.
    let protection_errors: Vec<Diagnostic> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace) && c.protected)
        .map(|c| {
            let rule = rules.get(&c.address).cloned().unwrap_or_else(|| "`prevent_destroy`, recorded in the state when it was last applied".to_string());
            let verb = if c.action == Action::Delete { "delete" } else { "replace" };
            Diagnostic::error(crate::diag::Stage::Generate, "plan/prevent-destroy", format!("`{}` is protected and this plan would {verb} it ({})", c.address, c.reason.describe()))
                .detail(format!("protected by {rule}"))
                .help(if c.action == Action::Delete {
                    "keep the resource, or first apply with the protection removed (set `prevent_destroy = false` or drop the annotation), then delete it"
                } else {
                    "undo the change that forces replacement, or first apply with the protection removed"
                })
        })
        .collect();
    if !protection_errors.is_empty() {
        return Err(protection_errors);
    }
    let collisions = collisions(ctx, stored, &changes);
    if !collisions.is_empty() {
        return Err(collisions);
    }
    // Objects recorded by a baton that wrote no ownership markers get theirs now.
    if !unmarked.is_empty() {
        for c in changes.iter_mut() {
            if c.action == Action::NoOp && unmarked.binary_search(&c.address).is_ok() {
                c.action = Action::Update;
                c.reason = Reason::Mark;
            }
        }
    }
    // Objects `moved` blocks took to their address: moved only (their marker, if any,
    // rewritten for the new address), or moved and changed.
    if !moved.is_empty() {
        let from: BTreeMap<&str, &str> = moved
            .iter()
            .map(|m| (m.object.address.as_str(), m.from.as_str()))
            .collect();
        for c in changes.iter_mut() {
            if let Some(f) = from.get(c.address.as_str()) {
                c.moved_from = Some(f.to_string());
                if c.action == Action::NoOp || c.reason == Reason::Mark {
                    c.action = Action::Move;
                    c.reason = Reason::Moved;
                }
            }
        }
    }
    // Only a plan with changes is applied: one without needs no schedule.
    let schedule = if changes.iter().any(|c| c.action != Action::NoOp) {
        super::schedule::schedule(ctx.graph, &changes, opts.destroy)
    } else {
        Default::default()
    };
    Ok(Planned {
        plan: Plan {
            environment: ctx.env.name.clone(),
            lineage: stored.lineage.clone(),
            serial: stored.serial,
            changes,
            drift,
            destroy: opts.destroy,
            settled: super::Settled {
                adopted,
                intents: settled,
                updated,
                moved,
            },
            schedule,
        },
        values,
    })
}

/// Whether objects of `kind` are something outside baton (not a value baton computes,
/// such as a generated password), whose delete can lose data.
fn holds_data(ctx: &Context<'_>, kind: &str) -> bool {
    ctx.registry
        .proof(kind)
        .is_some_and(|p| p != Proof::Intrinsic)
}

/// Whether a recorded object holds data: the module that made it (by name, for its
/// Score type) says `stateful = true`, and its kind is not intrinsic.
fn stateful(ctx: &Context<'_>, module: &str, uid: &str, kind: &str) -> bool {
    let Some(uid) = crate::addr::Uid::parse(uid) else {
        return false;
    };
    ctx.modules
        .iter()
        .any(|m| m.name == module && m.provisions.kind == uid.kind && m.provisions.stateful)
        && holds_data(ctx, kind)
}

/// The workloads a recorded object belongs to, as far as its address and uid tell: a
/// workload's manifests and a workload's private resource name one; a shared resource
/// (`type.class#id`) names none (the state does not record who used it).
fn recorded_workloads(o: &Object) -> Vec<String> {
    if let Some(name) = crate::addr::workload_of(&o.address) {
        return vec![name.to_string()];
    }
    match crate::addr::Uid::parse(&o.uid).map(|u| u.scope.clone()) {
        Some(crate::addr::UidScope::Workload { workload, .. }) => vec![workload],
        _ => Vec::new(),
    }
}

/// What names an object of `kind` on its system: the values of its force-new attributes
/// (`None` when one is not known yet, or for kinds that hold nothing outside baton).
fn identity(ctx: &Context<'_>, kind: &str, attrs: &Attrs) -> Option<String> {
    if ctx.registry.proof(kind)? == Proof::Intrinsic {
        return None;
    }
    let schema = ctx.registry.schema(kind)?;
    let mut parts = Vec::new();
    for a in schema.attributes.iter().filter(|a| a.force_new) {
        match attrs.get(a.name).map(Value::reveal) {
            Some(v) if v.contains_unknown() => return None,
            Some(Value::Null) | None => {}
            Some(v) => parts.push(format!(
                "{} = {}",
                a.name,
                v.to_json_revealed().unwrap_or_default()
            )),
        }
    }
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// Two resources that would be one object on its system: two desired resources whose
/// names come out the same (e.g. workload `web`'s `ab-cd` and workload `web-ab`'s `cd`
/// in a module joining them with `-`), which would share and then destroy each other's
/// object; and a delete or replace of a recorded object that another record names too,
/// which would destroy the object the other still uses. Both are refused, naming both.
fn collisions(ctx: &Context<'_>, stored: &State, changes: &[Change]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let mut desired: BTreeMap<(String, String), &str> = BTreeMap::new();
    for c in changes.iter().filter(|c| c.action != Action::Delete) {
        let Some(after) = &c.after else { continue };
        let Some(id) = identity(ctx, &c.kind, after) else {
            continue;
        };
        if let Some(first) = desired.insert((c.kind.clone(), id.clone()), &c.address) {
            errors.push(
                Diagnostic::error(
                    crate::diag::Stage::Generate,
                    "plan/same-object",
                    format!("`{first}` and `{}` would be one {} object ({id})", c.address, c.kind),
                )
                .detail("each would take over and later delete the object the other made")
                .help("make the names the module derives differ (include both the workload and the resource in a way no other pair spells, or set distinct params)"),
            );
        }
    }
    let doomed: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .collect();
    if doomed.is_empty() {
        return errors;
    }
    let mut recorded: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
    for o in stored.objects.values() {
        if let Some(id) = identity(ctx, &o.kind, &o.attributes) {
            recorded
                .entry((o.kind.clone(), id))
                .or_default()
                .push(&o.address);
        }
    }
    for c in doomed {
        let Some(o) = stored.objects.get(&c.address) else {
            continue;
        };
        let Some(id) = identity(ctx, &o.kind, &o.attributes) else {
            continue;
        };
        let others: Vec<&&str> = recorded[&(o.kind.clone(), id.clone())]
            .iter()
            .filter(|a| **a != c.address)
            .collect();
        if let Some(other) = others.first() {
            errors.push(
                Diagnostic::error(
                    crate::diag::Stage::Generate,
                    "plan/shared-record",
                    format!("`{}` and `{other}` record the same {} object ({id}); this plan would {} it", c.address, o.kind, c.action.as_str()),
                )
                .detail("a collision of the names an earlier baton derived: the object may hold the other's data, so baton does not delete or replace it for one of them")
                .help(format!("keep one record: `baton state rm {}` forgets it without touching the object", c.address)),
            );
        }
    }
    errors
}

/// Sorts `items` by their (unique) positions in place. A change is about 250 bytes: a
/// stable sort would allocate a scratch copy of them all, an unstable one move each many
/// times; here the positions are sorted and each item moved once, along the cycles of
/// the permutation.
fn sort_by_position<T>(items: &mut [(usize, T)]) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_unstable_by_key(|&i| items[i].0);
    // `order[k]` is where the item that belongs at `k` is now.
    let mut placed = vec![false; items.len()];
    for start in 0..items.len() {
        let mut at = start;
        while !placed[at] {
            placed[at] = true;
            let from = order[at];
            if from == start {
                break;
            }
            items.swap(at, from);
            at = from;
        }
    }
}

/// What evaluating one node needs besides the context and the values so far.
struct NodeInputs<'a> {
    refreshed: Now<'a>,
    drifted: &'a BTreeMap<&'a str, BTreeSet<String>>,
    gone: &'a BTreeSet<&'a str>,
    opts: &'a PlanOptions,
}

/// The outcome of evaluating one node.
enum NodeOut {
    /// A dependency failed: not evaluated.
    Skipped,
    /// Its evaluation failed.
    Failed(Diagnostic),
    /// A uid's params.
    Params(crate::value::Map),
    /// A uid's outputs.
    Outputs(crate::value::Map),
    /// An object's change, the rule protecting it if any, and for a resource the value
    /// its dependents see (its attributes after the change, shared with the change).
    Change(Box<Change>, Option<String>, Option<Arc<Attrs>>),
}

/// Fewer nodes than this in a level are evaluated on the calling thread; more are split
/// over the worker threads (`par`, `BATON_THREADS`). (32 measured no different at
/// 10,000 resources, whose small levels are 100 roots and 99 workloads.)
const PARALLEL_LEVEL: usize = 256;

/// Evaluates the nodes of one level, on every core when there are enough of them; the
/// outcomes come back in the order of `nodes`.
fn eval_level(
    ctx: &Context<'_>,
    nodes: &[(usize, NodeIndex)],
    values: &Values,
    failed: &FxHashSet<NodeIndex>,
    inputs: &NodeInputs<'_>,
) -> Vec<NodeOut> {
    crate::par::map(nodes, PARALLEL_LEVEL, |&(_, i)| {
        eval_node(ctx, i, values, failed, inputs)
    })
}

/// Evaluates one node against the values of the levels before it.
fn eval_node(
    ctx: &Context<'_>,
    i: NodeIndex,
    values: &Values,
    failed: &FxHashSet<NodeIndex>,
    inputs: &NodeInputs<'_>,
) -> NodeOut {
    if ctx
        .graph
        .dag
        .neighbors_directed(i, Direction::Incoming)
        .any(|j| failed.contains(&j))
    {
        return NodeOut::Skipped;
    }
    let node = &ctx.graph.dag[i];
    let opts = inputs.opts;
    let result: Result<NodeOut, Diagnostic> = (|| {
        Ok(match &node.kind {
            NodeKind::Params(uid) => NodeOut::Params(ctx.eval_params(uid, values)?),
            NodeKind::Outputs(uid) => NodeOut::Outputs(ctx.eval_outputs(uid, values)?),
            NodeKind::Resource(uid, ri) => {
                let m = ctx.module(uid);
                let r = &m.resources[*ri];
                let schema = ctx.registry.schema(&r.kind).expect("checked at load");
                let mut desired = ctx.eval_resource(uid, *ri, values)?;
                let prior = inputs.refreshed.get(&node.address);
                ctx.keep_recorded_names(uid, &mut desired, prior.map(|o| &*o.attributes));
                // What the provider will never do is refused now, before anything is done.
                if let Err(why) = ctx.registry.check(&r.kind, &desired) {
                    return Err(Diagnostic::error(
                        crate::diag::Stage::Generate,
                        "plan/refused",
                        format!("{}: {why}", node.address),
                    )
                    .at(r.span)
                    .help(format!(
                        "change the `{}` resource `{}` of module `{}`",
                        r.kind, r.name, m.name
                    )));
                }
                let lifecycle = ctx.eval_lifecycle(uid, *ri, values)?;
                let rule = lifecycle.prevent_destroy.then(|| lifecycle.rule.clone());
                let workloads = ctx
                    .decl(uid)
                    .requested_by
                    .iter()
                    .map(|(w, _)| w.clone())
                    .collect();
                let change = decide(DecideInput {
                    lifecycle,
                    stateful: m.provisions.stateful && holds_data(ctx, &r.kind),
                    address: &node.address,
                    uid: uid.text(),
                    module: &m.name,
                    workloads,
                    schema,
                    desired,
                    prior,
                    drifted: inputs.drifted.get(node.address.as_str()),
                    was_gone: inputs.gone.contains(node.address.as_str()),
                    replace: opts.replace.iter().any(|a| a == &node.address),
                    depends_on: object_dependencies(ctx, i),
                });
                let value = change.after.clone().unwrap_or_default();
                NodeOut::Change(Box::new(change), rule, Some(value))
            }
            NodeKind::Workload(name) => {
                let schema = ctx
                    .registry
                    .schema("workload_manifests")
                    .expect("built-in kind");
                let desired = ctx.eval_workload(name, values)?;
                let change = decide(DecideInput {
                    lifecycle: Default::default(),
                    stateful: false,
                    address: &node.address,
                    uid: String::new(),
                    module: "",
                    workloads: vec![name.clone()],
                    schema,
                    desired,
                    prior: inputs.refreshed.get(&node.address),
                    drifted: inputs.drifted.get(node.address.as_str()),
                    was_gone: inputs.gone.contains(node.address.as_str()),
                    replace: opts.replace.iter().any(|a| a == &node.address),
                    depends_on: object_dependencies(ctx, i),
                });
                NodeOut::Change(Box::new(change), None, None)
            }
        })
    })();
    result.unwrap_or_else(NodeOut::Failed)
}

/// The nodes a `--target` selection needs (`None`: all of them).
fn select(ctx: &Context<'_>, opts: &PlanOptions) -> Option<BTreeSet<NodeIndex>> {
    if opts.targets.is_empty() {
        return None;
    }
    let dag = &ctx.graph.dag;
    let starts: Vec<NodeIndex> = dag
        .node_indices()
        .filter(|&i| {
            let addr = &dag[i].address;
            opts.targets
                .iter()
                .any(|t| crate::addr::within_target(addr, t))
        })
        .collect();
    Some(ctx.graph.ancestors(&starts))
}

/// Addresses of objects (resources, workloads) a node depends on, looking through
/// params and outputs nodes.
fn object_dependencies(ctx: &Context<'_>, i: NodeIndex) -> Vec<String> {
    let mut out: Vec<&str> = Vec::new();
    let mut stack: Vec<NodeIndex> = ctx
        .graph
        .dag
        .neighbors_directed(i, Direction::Incoming)
        .collect();
    let mut seen: FxHashSet<NodeIndex> = FxHashSet::default();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        match &ctx.graph.dag[n].kind {
            NodeKind::Resource(..) | NodeKind::Workload(_) => {
                out.push(&ctx.graph.dag[n].address);
            }
            NodeKind::Params(_) | NodeKind::Outputs(_) => {
                stack.extend(ctx.graph.dag.neighbors_directed(n, Direction::Incoming))
            }
        }
    }
    out.sort_unstable();
    out.into_iter().map(str::to_string).collect()
}

/// Objects ordered so that an object comes before everything it depends on.
pub fn reverse_dependency_order<'o>(objects: &[&'o Object]) -> Vec<&'o Object> {
    let set: BTreeMap<&str, &Object> = objects.iter().map(|o| (o.address.as_str(), *o)).collect();
    // dependents[a] = objects (in the set) that depend on a.
    let mut dependents: BTreeMap<&str, usize> = set.keys().map(|a| (*a, 0)).collect();
    for o in set.values() {
        for d in &o.dependencies {
            if let Some(c) = dependents.get_mut(d.as_str()) {
                *c += 1;
            }
        }
    }
    let mut ready: BTreeSet<&str> = dependents
        .iter()
        .filter(|(_, c)| **c == 0)
        .map(|(a, _)| *a)
        .collect();
    let mut out = Vec::new();
    while let Some(a) = ready.iter().next().copied() {
        ready.remove(a);
        let o = set[a];
        out.push(o);
        for d in &o.dependencies {
            if let Some(c) = dependents.get_mut(d.as_str()) {
                *c -= 1;
                if *c == 0 {
                    ready.insert(set.get_key_value(d.as_str()).map(|(k, _)| *k).unwrap_or(""));
                }
            }
        }
    }
    // Dependency cycles cannot be recorded, but never drop an object: append the rest.
    for o in set.values() {
        if !out.iter().any(|x| x.address == o.address) {
            out.push(o);
        }
    }
    out
}

struct DecideInput<'a> {
    lifecycle: crate::eval::LifecycleValues,
    stateful: bool,
    address: &'a str,
    uid: String,
    module: &'a str,
    workloads: Vec<String>,
    schema: &'a KindSchema,
    desired: Attrs,
    prior: Option<&'a Object>,
    drifted: Option<&'a BTreeSet<String>>,
    was_gone: bool,
    replace: bool,
    depends_on: Vec<String>,
}

fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    let norm = |v: Option<&Value>| v.map(Value::reveal).filter(|v| !v.is_null());
    match (a, b) {
        (Some(x), _) if x.contains_unknown() => false,
        _ => norm(a) == norm(b),
    }
}

/// Whether an object made from `desired` would have the name of `prior`: every required
/// force-new attribute keeps its (known) value.
fn keeps_name(schema: &KindSchema, prior: &Object, desired: &Attrs) -> bool {
    schema
        .attributes
        .iter()
        .filter(|a| a.force_new && a.presence == Presence::Required)
        .all(|a| same(desired.get(a.name), prior.attributes.get(a.name)))
}

fn decide(input: DecideInput<'_>) -> Change {
    let (action, reason, before, after, cbd) = outcome(&input);
    let schema = input.schema;
    // Only a provider call needs the configuration (a no-change plan keeps none).
    let desired = matches!(action, Action::Create | Action::Update | Action::Replace)
        .then(|| Arc::new(input.desired));
    Change {
        address: input.address.to_string(),
        uid: input.uid,
        kind: schema.kind.to_string(),
        provider: schema.provider.to_string(),
        module: input.module.to_string(),
        workloads: input.workloads,
        action,
        reason,
        before,
        after,
        desired,
        depends_on: input.depends_on,
        create_before_destroy: cbd,
        protected: input.lifecycle.prevent_destroy,
        triggers: input.lifecycle.triggers.flatten(),
        stateful: input.stateful,
        moved_from: None,
    }
}

/// What a change does: its action, why, the attributes before and after, and whether
/// it replaces by creating first.
type Outcome = (Action, Reason, Option<Arc<Attrs>>, Option<Arc<Attrs>>, bool);

fn outcome(input: &DecideInput<'_>) -> Outcome {
    let schema = input.schema;
    let mark = |attrs: Attrs| -> Arc<Attrs> {
        Arc::new(
            attrs
                .into_iter()
                .map(|(k, v)| {
                    let sensitive = schema.attr(&k).is_some_and(|a| a.sensitive);
                    (k, if sensitive { Value::sensitive(v) } else { v })
                })
                .collect(),
        )
    };
    let fresh_after = |desired: &Attrs| -> Attrs {
        let mut after = desired.clone();
        for a in &schema.attributes {
            if a.presence == Presence::Computed {
                after.insert(
                    a.name.to_string(),
                    if a.sensitive {
                        Value::sensitive(Value::Unknown)
                    } else {
                        Value::Unknown
                    },
                );
            }
        }
        after
    };
    // Create-before-destroy needs the new object to be another one than the old. When
    // the replacement keeps the old one's name (every required force-new attribute, such
    // as a path or a role name, unchanged: a tainted object, `replace_triggered_by`,
    // `-replace`), the create would find or overwrite the old object and the delete
    // would then remove the only one: such a replace deletes first.
    let cbd = (schema.create_before_destroy || input.lifecycle.create_before_destroy)
        && !input
            .prior
            .is_some_and(|prior| keeps_name(schema, prior, &input.desired));
    let with_cbd = |action, reason, before, after| (action, reason, before, after, cbd);
    let Some(prior) = input.prior else {
        let reason = if input.was_gone {
            Reason::Drift
        } else {
            Reason::New
        };
        return with_cbd(
            Action::Create,
            reason,
            None,
            Some(mark(fresh_after(&input.desired))),
        );
    };
    let before = prior.marked();
    // ignore_changes: keep what the object has for these attributes (a copy of the
    // desired attributes only when there are some).
    let mut desired = std::borrow::Cow::Borrowed(&input.desired);
    for a in &input.lifecycle.ignore_changes {
        let desired = desired.to_mut();
        match prior.attributes.get(a) {
            Some(v) => {
                let sensitive = schema.attr(a).is_some_and(|x| x.sensitive);
                desired.insert(
                    a.clone(),
                    if sensitive {
                        Value::sensitive(v.clone())
                    } else {
                        v.clone()
                    },
                );
            }
            None => {
                desired.remove(a);
            }
        }
    }
    let triggered = match (&prior.triggers, &input.lifecycle.triggers) {
        (Some(old), Some(Some(new))) => old != new,
        (Some(_), Some(None)) => true,
        _ => false,
    };
    let settable: Vec<&str> = schema
        .attributes
        .iter()
        .filter(|a| a.presence != Presence::Computed)
        .map(|a| a.name)
        .collect();
    let changed: Vec<String> = settable
        .iter()
        .filter(|k| !same(desired.get(**k), prior.attributes.get(**k)))
        .map(|k| k.to_string())
        .collect();
    let force: Option<&String> = changed
        .iter()
        .find(|k| schema.attr(k).is_some_and(|a| a.force_new));
    if prior.tainted {
        return with_cbd(
            Action::Replace,
            Reason::Tainted,
            Some(before),
            Some(mark(fresh_after(&input.desired))),
        );
    }
    if triggered {
        return with_cbd(
            Action::Replace,
            Reason::ReplaceTriggered,
            Some(before),
            Some(mark(fresh_after(&input.desired))),
        );
    }
    if input.replace {
        return with_cbd(
            Action::Replace,
            Reason::ReplaceRequested,
            Some(before),
            Some(mark(fresh_after(&input.desired))),
        );
    }
    let by_drift = input
        .drifted
        .is_some_and(|d| !changed.is_empty() && changed.iter().all(|c| d.contains(c)));
    if let Some(attr) = force {
        let reason = if by_drift {
            Reason::Drift
        } else {
            Reason::ForceNew(attr.clone())
        };
        return with_cbd(
            Action::Replace,
            reason,
            Some(before),
            Some(mark(fresh_after(&input.desired))),
        );
    }
    if !changed.is_empty() {
        let mut after = Attrs::clone(&prior.attributes);
        for k in &settable {
            match desired.get(*k) {
                Some(v) => {
                    after.insert(k.to_string(), v.clone());
                }
                None => {
                    after.remove(*k);
                }
            }
        }
        // Computed attributes the provider recomputes on update are known after apply.
        for a in &schema.attributes {
            if a.presence == Presence::Computed && a.volatile {
                after.insert(a.name.to_string(), Value::Unknown);
            }
        }
        let reason = if by_drift {
            Reason::Drift
        } else {
            Reason::Changed(changed)
        };
        return with_cbd(
            Action::Update,
            reason,
            Some(before.clone()),
            Some(mark(after)),
        );
    }
    // The protection is recorded with the object (a delete after the configuration is
    // gone must still be refused), so setting or lifting it is a change of the record.
    if prior.protected != input.lifecycle.prevent_destroy {
        return with_cbd(
            Action::Update,
            Reason::Protection(input.lifecycle.prevent_destroy),
            Some(before.clone()),
            Some(before),
        );
    }
    with_cbd(
        Action::NoOp,
        Reason::Unchanged,
        Some(before.clone()),
        Some(before),
    )
}

/// Whether a value shown to a reviewer differs (for rendering attribute diffs).
pub fn differs(a: Option<&Value>, b: Option<&Value>) -> bool {
    !same(b, a) || b.is_some_and(Value::contains_unknown)
}

/// The workload address of a name (re-exported for renderers).
pub fn workload(name: &str) -> String {
    workload_address(name)
}

/// Names of attributes that must be stored as sensitive for an object.
pub fn sensitive_names(schema: &KindSchema, attrs: &Attrs) -> Vec<String> {
    let mut names: BTreeSet<String> = schema.sensitive_names().into_iter().collect();
    for (k, v) in attrs {
        if v.contains_sensitive() {
            names.insert(k.clone());
        }
    }
    names.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::sort_by_position;

    #[test]
    fn sorting_by_position_moves_every_item_to_its_place() {
        // Runs of ascending positions, as levels of the graph produce them, and cycles of
        // every length in the permutation.
        let positions = [7, 9, 12, 0, 3, 4, 11, 1, 2, 5, 6, 8, 10];
        let mut items: Vec<(usize, String)> = positions
            .iter()
            .map(|&p| (p, format!("change {p}")))
            .collect();
        sort_by_position(&mut items);
        let got: Vec<&str> = items.iter().map(|(_, s)| s.as_str()).collect();
        let want: Vec<String> = (0..13).map(|p| format!("change {p}")).collect();
        assert_eq!(got, want);
        let mut none: Vec<(usize, ())> = Vec::new();
        sort_by_position(&mut none);
    }
}
