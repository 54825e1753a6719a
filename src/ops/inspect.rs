//! The operations that read, and those that repair the state by hand: validate, show,
//! output, graph, modules, init, and `state …` (list, show, rm, mv, history, rekey, migrate,
//! unlock, keygen).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use petgraph::graph::NodeIndex;

use super::pipeline::{self, Prepared};
use super::{Error, Report, ScoreInputs, Workspace};
use crate::diag::{Diagnostics, Sources};
use crate::module::Module;
use crate::plan::Plan;
use crate::score::Project;
use crate::state::crypto::StateKey;
use crate::state::{HistoryEntry, LockRequest, Object, Record, State, Store};

/// What `validate` found.
pub struct Validated {
    /// The workloads and resources read (empty where the files did not load).
    pub project: Project,
    /// The texts read.
    pub sources: Sources,
    /// Every problem, sorted; errors make the files invalid.
    pub diagnostics: Diagnostics,
}

/// `validate`: the Score files (schema, placeholders, `before`, shared resources), then
/// `baton.hcl` and every module (errors), and whether a module provisions each resource
/// (warnings: only plan needs them). Touches no state.
pub fn validate(ws: &Workspace, inputs: &ScoreInputs) -> Validated {
    let mut sources = Sources::new();
    let mut diagnostics = Diagnostics::new();
    let project = inputs.load(&mut sources, &mut diagnostics);
    if !diagnostics.has_errors() {
        pipeline::check_environment(&ws.root, &ws.env, &project, &mut sources, &mut diagnostics);
    }
    diagnostics.sort(&sources);
    Validated {
        project,
        sources,
        diagnostics,
    }
}

/// The names of the workloads the Score files of the project at `root` declare, sorted:
/// those that load (the files are not checked against `baton.hcl` or the modules, as
/// `validate` does). Touches no state.
pub fn declared_workloads(root: &Path) -> Vec<String> {
    let (mut sources, mut diagnostics) = (Sources::new(), Diagnostics::new());
    let project = ScoreInputs::discover(root).load(&mut sources, &mut diagnostics);
    let mut names: Vec<String> = project
        .workloads
        .iter()
        .map(|w| w.workload.name().to_string())
        .collect();
    names.sort();
    names
}

/// The plan a plan file holds (its version and digest checked).
pub fn show_plan_file(path: &Path) -> Result<Plan, Error> {
    // Rendered from the saved changes, which are what `apply` checks a new plan
    // against: the file holds no rendering that could say something else.
    Ok(super::run::read_plan_file(path)?.plan())
}

/// Opens the state store of the workspace's environment to read or repair it (a SQLite
/// state that does not exist is not created); `Error::Invalid` when `baton.hcl` does not
/// load.
pub(super) fn open(ws: &Workspace) -> Result<Store, Error> {
    let (environment, _) = super::environment(ws)?;
    let store = pipeline::open_existing(&ws.root, &environment)?;
    Ok(store.acting_for(ws.who.clone()))
}

/// The state as recorded (secrets sealed in memory; they redact when shown).
pub fn state(ws: &Workspace) -> Result<State, Error> {
    Ok(open(ws)?.load()?)
}

/// One recorded object.
pub fn state_object(ws: &Workspace, address: &str) -> Result<Object, Error> {
    let mut state = state(ws)?;
    match state.objects.remove(address) {
        Some(o) => Ok(o),
        None => {
            let hint = crate::diag::did_you_mean(address, state.objects.keys().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            Err(anyhow::anyhow!("no object `{address}` in the state{hint}").into())
        }
    }
}

pub use crate::state::Removed;

/// `state rm`: forgets an object, or a leftover intent, without touching the object.
pub fn state_rm(ws: &Workspace, address: &str) -> Result<Removed, Error> {
    let mut store = open(ws)?;
    let state = store.load()?;
    let recorded = state.objects.contains_key(address);
    if !recorded && !state.intents.contains_key(address) {
        return Err(
            anyhow::anyhow!("no object or leftover intent `{address}` in the state").into(),
        );
    }
    let (lock, _) = store
        .lock(&LockRequest::environment("state rm"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let r = if recorded {
        // Recording the removal clears an intent at the address in the same transaction.
        store
            .record(&Record::Remove(address.to_string()), "rm", true)
            .map(|_| ())
    } else {
        store.clear_intent(address)
    };
    store.unlock(&lock.id)?;
    r?;
    let intent = state.intents.get(address);
    Ok(match (recorded, intent) {
        (true, i) => Removed::Object {
            intent: i.map(|i| i.action.clone()),
        },
        (false, i) => {
            let i = i.expect("checked above");
            Removed::Intent {
                action: i.action.clone(),
                started_at: i.started_at.clone(),
            }
        }
    })
}

/// What `state mv` moved: each object's old and new address, in address order.
pub type Moved = Vec<(String, String)>;

/// `state mv`: takes the objects recorded at `from` (a workload, a uid or one object
/// address) to `to`, under the state lock, recording each move in the history. The
/// objects themselves are not touched: they keep their names and data.
pub fn state_mv(ws: &Workspace, from: &str, to: &str) -> Result<Moved, Error> {
    use crate::addr::MoveAddr;
    let parse = |s: &str| MoveAddr::parse(s).map_err(|e| anyhow::anyhow!("cannot move: {e}"));
    let (from_addr, to_addr) = (parse(from)?, parse(to)?);
    let mut store = open(ws)?;
    let (lock, _) = store
        .lock(&LockRequest::environment("state mv"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let r = (|| {
        let state = store.load()?;
        let moves = crate::state::moves::moves(&state, &from_addr, &to_addr)
            .map_err(|e| anyhow::anyhow!("cannot move `{from}` to `{to}`: {e}"))?;
        let records: Vec<Record> = moves
            .iter()
            .map(|m| Record::Remove(m.from.clone()))
            .chain(moves.iter().map(|m| Record::Put(m.object.clone())))
            .collect();
        let batch: Vec<(&Record, &str)> = records.iter().map(|r| (r, "move")).collect();
        store.record_many(&batch, true)?;
        Ok::<_, Error>(
            moves
                .into_iter()
                .map(|m| (m.from, m.object.address))
                .collect(),
        )
    })();
    store.unlock(&lock.id)?;
    r
}

/// Every recorded change, in order (redacted).
pub fn history(ws: &Workspace) -> Result<Vec<HistoryEntry>, Error> {
    Ok(open(ws)?.history()?)
}

/// `state rekey`: re-seals every secret with `new` (or stores them in clear with
/// `None`); returns how many objects, and the new key's fingerprint.
pub fn rekey(ws: &Workspace, new: Option<StateKey>) -> Result<(usize, Option<String>), Error> {
    let mut store = open(ws)?;
    let (lock, _) = store
        .lock(&LockRequest::environment("state rekey"))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let fingerprint = new.as_ref().map(|k| k.fingerprint().to_string());
    let r = store.rekey(new);
    store.unlock(&lock.id)?;
    Ok((r?, fingerprint))
}

/// A new random state key, for `BATON_STATE_KEY`.
pub fn keygen() -> String {
    StateKey::generate().to_string()
}

/// `state unlock`: releases a lock left by a run that is gone.
pub fn unlock(ws: &Workspace, lock_id: &str) -> Result<(), Error> {
    let mut store = open(ws)?;
    if store.unlock(lock_id)? {
        return Ok(());
    }
    let held = store.current_locks()?;
    if held.is_empty() {
        return Err(anyhow::anyhow!("lock {lock_id} is not held; the state is not locked").into());
    }
    let mut ids: Vec<String> = Vec::new();
    for l in &held {
        let line = match l.what().as_str() {
            "the state" => format!("{} with id {}", l.holder, l.id),
            w => format!("{} ({w}) with id {}", l.holder, l.id),
        };
        if !ids.contains(&line) {
            ids.push(line);
        }
    }
    Err(anyhow::anyhow!(
        "lock {lock_id} is not held; the state is locked by {}",
        ids.join(", ")
    )
    .into())
}

pub use crate::state::Migrated;

/// `state migrate --to URL|PATH`: copies the state as stored (sealed secrets stay sealed
/// with the same key; versions and history kept) into an empty state in another
/// backend, both locked whole, then reads both back and compares them.
pub fn migrate(ws: &Workspace, to: &str) -> Result<Migrated, Error> {
    let env = ws.env.as_str();
    let mut source = open(ws)?;
    let backend = crate::config::StateBackend::from_target(to);
    let mut dest = pipeline::open_backend(&ws.root, &backend, env)?;
    if dest.location() == source.location() {
        return Err(anyhow::anyhow!(
            "{} is where the state of `{env}` already is; name another backend with --to",
            dest.location()
        )
        .into());
    }
    let request = LockRequest::environment("state migrate");
    let (lock, _) = source.lock(&request).map_err(|e| anyhow::anyhow!("{e}"))?;
    let result = (|| -> anyhow::Result<Migrated> {
        let (dest_lock, _) = dest.lock(&request).map_err(|e| anyhow::anyhow!("{e}"))?;
        let copied =
            (|| -> anyhow::Result<(crate::state::rows::Dump, crate::state::rows::Dump)> {
                let dump = source.dump()?;
                dest.restore(&dump)?;
                Ok((dump, dest.dump()?))
            })();
        dest.unlock(&dest_lock.id)?;
        let (dump, back) = copied?;
        if back != dump {
            anyhow::bail!(
                "the copy in {} differs from the state in {}; the source is untouched",
                dest.location(),
                source.location()
            );
        }
        // Where the secrets can be opened, compare the states as baton reads them too.
        let opened = match (source.load(), dest.load()) {
            (Ok(a), Ok(b)) if a == b => true,
            (Ok(_), Ok(_)) => anyhow::bail!(
                "the copy in {} reads back differently from the state in {}",
                dest.location(),
                source.location()
            ),
            _ => false,
        };
        Ok(Migrated {
            from: source.location(),
            to: dest.location(),
            lineage: dump.lineage.clone(),
            serial: dump.serial,
            objects: dump.objects.len(),
            history: dump.history.len(),
            intents: dump.intents.len(),
            opened,
        })
    })();
    source.unlock(&lock.id)?;
    Ok(result?)
}

/// Options of `output`.
#[derive(Debug, Clone)]
pub struct OutputOptions {
    /// Project and environment.
    pub workspace: Workspace,
    /// The Score files.
    pub inputs: ScoreInputs,
    /// Only this resource (Score uid).
    pub uid: Option<String>,
}

/// `output`: the outputs of the applied resources, by uid (secrets marked sensitive).
/// With Score files, the configuration's outputs over the state; with none (none named,
/// none in the directory), those of the recorded objects, from the state alone (see
/// [`recorded_outputs`]).
pub fn outputs(opts: &OutputOptions) -> Result<BTreeMap<String, crate::value::Map>, Error> {
    let ws = &opts.workspace;
    let all = if opts.inputs.absent() {
        recorded_outputs(ws)?
    } else {
        let prepared = pipeline::prepare(&ws.root, &ws.env, &opts.inputs)?;
        let state = pipeline::open_existing(&ws.root, &prepared.env)?.load()?;
        planned_outputs(prepared, &state)?
    };
    let all: BTreeMap<String, crate::value::Map> = all
        .into_iter()
        .filter(|(u, _)| opts.uid.as_ref().is_none_or(|x| x == u))
        .collect();
    if let Some(x) = &opts.uid
        && all.is_empty()
    {
        return Err(
            anyhow::anyhow!("no resource with uid `{x}`; `baton output` lists them all").into(),
        );
    }
    Ok(all)
}

/// The outputs of `prepared`'s uids, evaluated as a plan (no refresh) against `state`
/// evaluates them: what the recorded objects hold, and params as configured.
fn planned_outputs(
    prepared: Prepared,
    state: &State,
) -> Result<BTreeMap<String, crate::value::Map>, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    let options = Default::default();
    match rt.block_on(pipeline::plan(&prepared, state, false, 1, &options)) {
        Ok(p) => Ok(p
            .values
            .outputs
            .iter()
            .map(|(u, outs)| (u.to_string(), outs.clone()))
            .collect()),
        Err(errors) => Err(Error::Failed(Report::of(prepared.sources, errors))),
    }
}

/// The outputs without the Score files: those of the configuration the last apply
/// recorded (its Score files, modules and settings), evaluated against the state. A
/// state whose applies recorded no configuration (made before baton kept it) has its
/// outputs evaluated by each uid's recorded module over the recorded attributes alone:
/// params are unknown there, and a uid with no recorded object is missing.
fn recorded_outputs(ws: &Workspace) -> Result<BTreeMap<String, crate::value::Map>, Error> {
    let (env, _) = super::environment(ws)?;
    let store = pipeline::open_existing(&ws.root, &env)?;
    let state = store.load()?;
    if let Some(&last) = store.deployment_serials()?.last() {
        let stored = super::history::stored(&store, &env, last)?;
        let prepared = pipeline::prepare_stored(&ws.root, &ws.env, &stored)?;
        return planned_outputs(prepared, &state);
    }
    let prepared = pipeline::prepare_recorded(&ws.root, &ws.env, &state)?;
    let ctx = prepared.context(&state.lineage);
    let mut values = crate::eval::Values::default();
    for o in state.objects.values() {
        values.resources.insert(o.address.clone(), o.marked());
    }
    let mut out = BTreeMap::new();
    for uid in prepared.graph.module_of.keys() {
        let params = ctx
            .module(uid)
            .params
            .iter()
            .map(|p| (p.name.clone(), crate::value::Value::Unknown))
            .collect();
        values.params.insert(uid.clone(), params);
        let outputs = ctx
            .eval_outputs(uid, &values)
            .map_err(|d| anyhow::anyhow!("the outputs of `{uid}`: {}", d.summary))?;
        out.insert(uid.to_string(), outputs);
    }
    Ok(out)
}

/// Options of `graph`.
#[derive(Debug, Clone)]
pub struct GraphOptions {
    /// Project and environment.
    pub workspace: Workspace,
    /// The Score files.
    pub inputs: ScoreInputs,
    /// Only this workload and what it needs.
    pub workload: Option<String>,
}

/// `graph`: the checked inputs and the nodes to show (all, or a workload and what it
/// needs).
pub fn graph(opts: &GraphOptions) -> Result<(Prepared, BTreeSet<NodeIndex>), Error> {
    let ws = &opts.workspace;
    let prepared = pipeline::prepare(&ws.root, &ws.env, &opts.inputs)?;
    let g = &prepared.graph;
    let keep = match &opts.workload {
        None => g.order.iter().copied().collect(),
        Some(w) => {
            let Some(i) = g.find(&crate::addr::workload_address(w)) else {
                return Err(anyhow::anyhow!("no workload `{w}`").into());
            };
            g.ancestors(&[i])
        }
    };
    Ok((prepared, keep))
}

/// The modules of an environment, with the warnings found loading them.
pub struct Catalog {
    /// Warnings (sorted) and the texts they point into.
    pub warnings: Report,
    /// Project modules first, then the built-in library.
    pub modules: Vec<Module>,
}

impl Catalog {
    /// The modules that provision Score type `kind`.
    pub fn of_kind(&self, kind: &str) -> anyhow::Result<Vec<&Module>> {
        let matching: Vec<_> = self
            .modules
            .iter()
            .filter(|m| m.provisions.kind == kind)
            .collect();
        if matching.is_empty() {
            let kinds: Vec<&str> = self
                .modules
                .iter()
                .map(|m| m.provisions.kind.as_str())
                .collect();
            let hint = crate::diag::did_you_mean(kind, kinds.iter().copied())
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            anyhow::bail!("no module provisions `{kind}`{hint}");
        }
        Ok(matching)
    }
}

/// `modules`: every module of the environment (the built-in ones when `baton.hcl` does
/// not load, which is an error reported with them).
pub fn modules(ws: &Workspace) -> Result<Catalog, Error> {
    let mut sources = Sources::new();
    let mut out = Vec::new();
    let environment = crate::config::load(&ws.root, &ws.env, &mut sources, &mut out);
    let (_, mut modules) =
        pipeline::load_modules(&ws.root, environment.as_ref(), &mut sources, &mut out);
    let mut d = Diagnostics::new();
    d.extend(out);
    let report = Report::new(sources, d);
    if report.diagnostics.has_errors() {
        return Err(Error::Invalid(report));
    }
    // Only what the environment can use: modules for it, for an environment it
    // extends, or for every environment.
    if let Some(e) = &environment {
        let lineage: Vec<&str> = e.lineage().collect();
        modules.retain(|m| crate::module::matching::serves(m, &lineage));
    }
    Ok(Catalog {
        warnings: report,
        modules,
    })
}

/// `init`: writes a starter `score.yaml` and `baton.hcl` into `root` (new files only).
pub fn init(root: &Path) -> anyhow::Result<()> {
    let score = root.join("score.yaml");
    let config = root.join("baton.hcl");
    for p in [&score, &config] {
        if p.exists() {
            anyhow::bail!("{} already exists; init writes new files only", p.display());
        }
    }
    std::fs::write(&score, STARTER_SCORE)?;
    std::fs::write(&config, STARTER_CONFIG)?;
    Ok(())
}

const STARTER_SCORE: &str = r#"# A Score workload: what your service needs, not how it is provisioned.
# Reference: https://docs.score.dev/docs/score-specification/score-spec-reference/
apiVersion: score.dev/v1b1
metadata:
  name: hello
containers:
  main:
    image: nginx:1.27
    variables:
      PUBLIC_URL: http://${resources.dns.host}
service:
  ports:
    http:
      port: 80
resources:
  dns:
    type: dns
"#;

const STARTER_CONFIG: &str = r#"# Environments: where state lives, which modules provision resources, where
# manifests go. `baton --env NAME ...` picks one; `local` is the default.
# Every setting: docs/config.md.
environment "local" {
  state {
    sqlite { path = ".baton/state.db" }
  }
  target "kubernetes" { dir = "deploy/local" }
}

# Another environment with the same modules and servers, its own state and manifests:
#
# environment "staging" {
#   extends = "local"
#   state {
#     sqlite { path = ".baton/staging.db" }
#   }
#   target "kubernetes" { dir = "deploy/staging" }
# }
"#;
