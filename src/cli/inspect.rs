//! Read-mostly commands: `show`, `output`, `state …`, `modules …`, `graph`, `init`.

use std::fmt::Write as _;
use std::path::Path;

use super::engine::{RunOptions, print_plan, read_plan_file, report_failed};
use super::{GraphFormat, Outcome, PlanFormat, Terminal};
use crate::diag::{Diagnostics, Sources};
use crate::graph::NodeKind;
use crate::pipeline;
use crate::render;
use crate::state::{LockRequest, Record};
use crate::value::Value;

/// `baton show [PLANFILE]`: a saved plan, or the current state.
pub fn show(
    root: &Path,
    env: &str,
    plan_file: Option<&Path>,
    format: PlanFormat,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    if let Some(p) = plan_file {
        // Rendered from the saved changes, which are what `apply` checks a new plan
        // against: the file holds no rendering that could say something else.
        print_plan(&read_plan_file(p)?.plan(), format, false, term)?;
        return Ok(Outcome::Success);
    }
    let store = open(root, env)?;
    let state = store.load()?;
    match format {
        PlanFormat::Markdown => {
            anyhow::bail!("the state has no Markdown form; use --format text or json")
        }
        PlanFormat::Json => {
            let objects: Vec<serde_json::Value> = state
                .objects
                .values()
                .map(|o| serde_json::json!({"address": o.address, "kind": o.kind, "uid": o.uid, "module": o.module, "attributes": Value::Map(o.marked_attributes()).to_json_redacted(), "dependencies": o.dependencies, "tainted": o.tainted}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &serde_json::json!({"format_version": "1", "lineage": state.lineage, "serial": state.serial, "objects": objects})
                )?
            );
        }
        PlanFormat::Text => {
            if state.objects.is_empty() {
                println!("The state of `{env}` is empty.");
            }
            for o in state.objects.values() {
                println!(
                    "# {}{}",
                    o.address,
                    if o.tainted { " (tainted)" } else { "" }
                );
                print!("{}", attributes_text(&o.marked_attributes()));
                println!();
            }
        }
    }
    Ok(Outcome::Success)
}

fn attributes_text(attrs: &crate::value::Map) -> String {
    let width = attrs.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in attrs {
        let shown = match v {
            Value::String(s) if s.contains('\n') => format!(
                "<<-EOT\n{}    EOT",
                s.lines()
                    .map(|l| format!("      {l}\n"))
                    .collect::<String>()
            ),
            other => format!("{other}"),
        };
        let _ = writeln!(out, "    {k:<width$} = {shown}");
    }
    out
}

fn open(root: &Path, env: &str) -> anyhow::Result<crate::state::Store> {
    let mut sources = Sources::new();
    let mut out = Vec::new();
    let Some(environment) = crate::config::load(root, env, &mut sources, &mut out) else {
        let mut d = Diagnostics::new();
        d.extend(out);
        eprint!(
            "{}",
            render::diagnostics::text(&d, &sources, render::Color::Never)
        );
        anyhow::bail!("cannot load environment `{env}`");
    };
    Ok(pipeline::open_state(root, &environment)?)
}

/// `baton output [UID] [--json] [--show-sensitive]`: outputs of applied resources.
pub fn output(
    root: &Path,
    opts: &RunOptions,
    uid: Option<&str>,
    as_json: bool,
    show_sensitive: bool,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let prepared = match pipeline::prepare(root, &opts.env, &opts.files, &opts.load) {
        Ok(p) => p,
        Err(f) => return Ok(report_failed(f, term)),
    };
    let store = prepared.open_state()?;
    let state = store.load()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let planned = match rt.block_on(pipeline::plan(
        &prepared,
        &state,
        false,
        1,
        &Default::default(),
    )) {
        Ok(p) => p,
        Err(errors) => {
            let mut d = Diagnostics::new();
            d.extend(errors);
            eprint!(
                "{}",
                render::diagnostics::text(&d, &prepared.sources, term.stderr_color)
            );
            return Ok(Outcome::Failure);
        }
    };
    let shown = |v: &Value| -> serde_json::Value {
        if show_sensitive {
            v.to_json_revealed()
                .unwrap_or_else(|| serde_json::Value::String(crate::value::UNKNOWN_TEXT.into()))
        } else {
            v.to_json_redacted()
        }
    };
    let mut all = serde_json::Map::new();
    for (u, outs) in &planned.values.outputs {
        let key = u.to_string();
        if uid.is_some_and(|x| x != key) {
            continue;
        }
        all.insert(
            key,
            serde_json::Value::Object(outs.iter().map(|(k, v)| (k.clone(), shown(v))).collect()),
        );
    }
    if let Some(x) = uid
        && all.is_empty()
    {
        anyhow::bail!("no resource with uid `{x}`; `baton output` lists them all");
    }
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::Value::Object(all))?
        );
    } else {
        for (u, outs) in &all {
            println!("{u}");
            if let Some(m) = outs.as_object() {
                let width = m.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in m {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    println!("  {k:<width$} = {text}");
                }
            }
        }
    }
    Ok(Outcome::Success)
}

/// `baton state list|show|rm|history|unlock`.
pub fn state(root: &Path, env: &str, cmd: &super::StateCommand) -> anyhow::Result<Outcome> {
    if let super::StateCommand::Keygen = cmd {
        println!("{}", crate::state::crypto::StateKey::generate());
        return Ok(Outcome::Success);
    }
    let mut store = open(root, env)?;
    match cmd {
        super::StateCommand::List => {
            let state = store.load()?;
            for o in state.objects.values() {
                println!("{}", o.address);
            }
            // Stdout stays the list of recorded objects (scripts read it); a leftover
            // intent is a call whose outcome baton does not know, told to the person.
            for i in state.intents.values() {
                eprintln!(
                    "leftover intent: {} {} (a {} call started {} that never finished recording); the next apply of its workload settles it, or `baton state rm {}` drops it",
                    i.action, i.address, i.kind, i.started_at, i.address
                );
            }
        }
        super::StateCommand::Show { address } => {
            let state = store.load()?;
            let Some(o) = state.objects.get(address) else {
                let hint =
                    crate::diag::did_you_mean(address, state.objects.keys().map(String::as_str))
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                anyhow::bail!("no object `{address}` in the state{hint}");
            };
            println!("# {}", o.address);
            println!("    kind         = {}", o.kind);
            println!("    uid          = {}", o.uid);
            println!("    module       = {}", o.module);
            println!("    depends on   = {}", o.dependencies.join(", "));
            if o.tainted {
                println!("    tainted      = true");
            }
            print!("{}", attributes_text(&o.marked_attributes()));
        }
        super::StateCommand::Rm { address } => {
            let state = store.load()?;
            let recorded = state.objects.contains_key(address);
            let Some(intent) = state.intents.get(address).filter(|_| !recorded) else {
                if !recorded {
                    anyhow::bail!("no object or leftover intent `{address}` in the state");
                }
                let (lock, _) = store
                    .lock(&LockRequest::environment("state rm"))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                // Recording the removal clears an intent at the address in the same
                // transaction.
                let r = store.record(&Record::Remove(address.clone()), "rm", true);
                store.unlock(&lock.id)?;
                r?;
                println!("Removed {address} from the state; the object itself was not touched.");
                if let Some(i) = state.intents.get(address) {
                    println!("Removed its leftover {} intent too.", i.action);
                }
                return Ok(Outcome::Success);
            };
            let (lock, _) = store
                .lock(&LockRequest::environment("state rm"))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let r = store.clear_intent(address);
            store.unlock(&lock.id)?;
            r?;
            println!(
                "Removed the leftover {} intent at {address} (started {}); nothing was recorded there. If that call made the object, baton no longer knows it: `baton import` takes it over.",
                intent.action, intent.started_at
            );
        }
        super::StateCommand::History { changes: true } => {
            for h in store.history()? {
                println!(
                    "{:>4}  {}  {:<8} {}  ({})",
                    h.serial, h.at, h.action, h.address, h.who
                );
            }
        }
        super::StateCommand::History { changes: false } => {
            // One line per serial: who, when (first change), and what it did.
            let mut by_serial: std::collections::BTreeMap<
                u64,
                (String, String, std::collections::BTreeMap<String, usize>),
            > = std::collections::BTreeMap::new();
            for h in store.history()? {
                let e = by_serial
                    .entry(h.serial)
                    .or_insert_with(|| (h.at.clone(), h.who.clone(), Default::default()));
                *e.2.entry(h.action.clone()).or_default() += 1;
            }
            if by_serial.is_empty() {
                println!("No applies recorded yet.");
            }
            for (serial, (at, who, counts)) in by_serial {
                let what: Vec<String> = counts.iter().map(|(a, n)| format!("{n} {a}")).collect();
                println!("serial {serial:>4}  {at}  {who}  {}", what.join(", "));
            }
        }
        super::StateCommand::Keygen => unreachable!("handled above"),
        super::StateCommand::Rekey => {
            let new = crate::state::crypto::StateKey::from_vars(
                "BATON_NEW_STATE_KEY",
                "BATON_NEW_STATE_KEY_FILE",
            )
            .map_err(|e| anyhow::anyhow!(e))?;
            let (lock, _) = store
                .lock(&LockRequest::environment("state rekey"))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let fingerprint = new.as_ref().map(|k| k.fingerprint().to_string());
            let r = store.rekey(new);
            store.unlock(&lock.id)?;
            let n = r?;
            match fingerprint {
                Some(f) => println!(
                    "Re-sealed the secrets of {n} objects with key {f}. Use it from now on: BATON_STATE_KEY=<the new key>."
                ),
                None => {
                    println!("Stored the secrets of {n} objects in clear (no new key was given).")
                }
            }
        }
        super::StateCommand::Migrate { to } => migrate(root, env, &mut store, to)?,
        super::StateCommand::Unlock { lock_id } => {
            if store.unlock(lock_id)? {
                println!("Released lock {lock_id}.");
            } else {
                let held = store.current_locks()?;
                if held.is_empty() {
                    anyhow::bail!("lock {lock_id} is not held; the state is not locked");
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
                anyhow::bail!(
                    "lock {lock_id} is not held; the state is locked by {}",
                    ids.join(", ")
                );
            }
        }
    }
    Ok(Outcome::Success)
}

/// `baton state migrate --to URL|PATH`: copies the state of `env` as stored (sealed
/// secrets stay sealed with the same key; versions and history kept) into an empty state
/// in another backend, both locked whole, then reads both back and compares them.
fn migrate(
    root: &Path,
    env: &str,
    source: &mut crate::state::Store,
    to: &str,
) -> anyhow::Result<()> {
    let backend = crate::config::StateBackend::from_target(to);
    let mut dest = pipeline::open_backend(root, &backend, env)?;
    if dest.location() == source.location() {
        anyhow::bail!(
            "{} is where the state of `{env}` already is; name another backend with --to",
            dest.location()
        );
    }
    let request = LockRequest::environment("state migrate");
    let (lock, _) = source.lock(&request).map_err(|e| anyhow::anyhow!("{e}"))?;
    let result = (|| -> anyhow::Result<()> {
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
            (Ok(a), Ok(b)) if a == b => "; both open to the same objects",
            (Ok(_), Ok(_)) => anyhow::bail!(
                "the copy in {} reads back differently from the state in {}",
                dest.location(),
                source.location()
            ),
            _ => "",
        };
        println!(
            "Copied the state of `{env}` from {} to {}: lineage {}, serial {}, {} objects, {} history rows, {} intents.",
            source.location(),
            dest.location(),
            dump.lineage,
            dump.serial,
            dump.objects.len(),
            dump.history.len(),
            dump.intents.len()
        );
        println!(
            "Verified: the two states are identical, row for row (objects with their versions, sealed secrets, history){opened}."
        );
        println!(
            "Point environment `{env}` of baton.hcl at the new state to use it; the old one is left as it was."
        );
        Ok(())
    })();
    source.unlock(&lock.id)?;
    result
}

/// `baton modules list|show TYPE`.
pub fn modules(
    root: &Path,
    env: &str,
    show: Option<&str>,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let mut sources = Sources::new();
    let mut out = Vec::new();
    let environment = crate::config::load(root, env, &mut sources, &mut out);
    let registry = match &environment {
        Some(e) => crate::provider::Registry::new(root, &e.providers),
        None => crate::provider::Registry::builtin(root),
    };
    let providers: Vec<String> = registry.provider_names();
    let mut modules = Vec::new();
    if let Some(e) = &environment {
        for d in &e.module_dirs {
            modules.extend(crate::module::load::load_dir(
                &root.join(d),
                &registry,
                &providers,
                &mut sources,
                &mut out,
            ));
        }
    }
    modules.extend(crate::module::library::load(
        &registry,
        &providers,
        &mut sources,
        &mut out,
    ));
    if !out.is_empty() {
        let mut d = Diagnostics::new();
        d.extend(out);
        d.sort(&sources);
        eprint!(
            "{}",
            render::diagnostics::text(&d, &sources, term.stderr_color)
        );
        if d.has_errors() {
            return Ok(Outcome::Failure);
        }
    }
    // Only what the environment can use: modules for it, for an environment it
    // extends, or for every environment.
    if let Some(e) = &environment {
        let lineage: Vec<&str> = e.lineage().collect();
        modules.retain(|m| crate::module::matching::serves(m, &lineage));
    }
    match show {
        None => {
            println!(
                "{:<14} {:<10} {:<12} {:<14} MODULE",
                "TYPE", "CLASS", "ID", "ENVIRONMENTS"
            );
            let mut rows: Vec<_> = modules.iter().collect();
            rows.sort_by(|a, b| (&a.provisions.kind, &a.name).cmp(&(&b.provisions.kind, &b.name)));
            for m in rows {
                let p = &m.provisions;
                println!(
                    "{:<14} {:<10} {:<12} {:<14} {}",
                    p.kind,
                    p.class.as_deref().unwrap_or("*"),
                    p.id.as_deref().unwrap_or("*"),
                    p.environments
                        .as_ref()
                        .map(|e| e.join(","))
                        .unwrap_or_else(|| "*".into()),
                    m.origin.describe()
                );
            }
        }
        Some(kind) => {
            let matching: Vec<_> = modules
                .iter()
                .filter(|m| m.provisions.kind == kind)
                .collect();
            if matching.is_empty() {
                let kinds: Vec<&str> = modules.iter().map(|m| m.provisions.kind.as_str()).collect();
                let hint = crate::diag::did_you_mean(kind, kinds.iter().copied())
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                anyhow::bail!("no module provisions `{kind}`{hint}");
            }
            for m in matching {
                let p = &m.provisions;
                println!("{} ({})", m.name, m.origin.describe());
                if !p.description.is_empty() {
                    println!("  {}", p.description);
                }
                println!(
                    "  class: {}   id: {}   environments: {}",
                    p.class.as_deref().unwrap_or("any"),
                    p.id.as_deref().unwrap_or("any"),
                    p.environments
                        .as_ref()
                        .map(|e| e.join(", "))
                        .unwrap_or_else(|| "all".into())
                );
                if !m.params.is_empty() {
                    println!("  params:");
                    for prm in &m.params {
                        let default = prm
                            .default
                            .as_ref()
                            .map(|d| format!(" = {d}"))
                            .unwrap_or_else(|| " (required)".into());
                        println!(
                            "    {}: {}{}{}",
                            prm.name,
                            prm.ty.name(),
                            default,
                            if prm.description.is_empty() {
                                String::new()
                            } else {
                                format!("  # {}", prm.description)
                            }
                        );
                    }
                }
                if !m.resources.is_empty() {
                    println!(
                        "  resources: {}",
                        m.resources
                            .iter()
                            .map(|r| format!("{}.{}", r.kind, r.name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                println!(
                    "  outputs: {}",
                    m.outputs
                        .iter()
                        .map(|o| if o.sensitive {
                            format!("{} (sensitive)", o.name)
                        } else {
                            o.name.clone()
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                println!();
            }
        }
    }
    Ok(Outcome::Success)
}

/// `baton graph --format dot|mermaid`.
pub fn graph(
    root: &Path,
    opts: &RunOptions,
    format: GraphFormat,
    workload: Option<&str>,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let prepared = match pipeline::prepare(root, &opts.env, &opts.files, &opts.load) {
        Ok(p) => p,
        Err(f) => return Ok(report_failed(f, term)),
    };
    let g = &prepared.graph;
    let keep: std::collections::BTreeSet<petgraph::graph::NodeIndex> = match workload {
        None => g.order.iter().copied().collect(),
        Some(w) => {
            let Some(i) = g.find(&crate::graph::workload_address(w)) else {
                anyhow::bail!("no workload `{w}`");
            };
            g.ancestors(&[i])
        }
    };
    let mut out = String::new();
    let id = |i: petgraph::graph::NodeIndex| format!("n{}", i.index());
    match format {
        GraphFormat::Dot => {
            out.push_str("digraph baton {\n  rankdir = LR;\n  node [shape = box, fontname = \"sans-serif\"];\n");
            for &i in g.order.iter().filter(|i| keep.contains(i)) {
                let n = &g.dag[i];
                let shape = match n.kind {
                    NodeKind::Workload(_) => "shape = component",
                    NodeKind::Params(_) | NodeKind::Outputs(_) => "shape = ellipse",
                    NodeKind::Resource(..) => "shape = box",
                };
                let _ = writeln!(out, "  {} [label = {:?}, {shape}];", id(i), n.address);
            }
            for &i in g.order.iter().filter(|i| keep.contains(i)) {
                for j in g.dag.neighbors_directed(i, petgraph::Direction::Outgoing) {
                    if keep.contains(&j) {
                        let _ = writeln!(out, "  {} -> {};", id(i), id(j));
                    }
                }
            }
            out.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            out.push_str("flowchart LR\n");
            for &i in g.order.iter().filter(|i| keep.contains(i)) {
                let n = &g.dag[i];
                let label = n.address.replace('"', "'");
                let _ = match n.kind {
                    NodeKind::Workload(_) => writeln!(out, "  {}[[\"{label}\"]]", id(i)),
                    NodeKind::Params(_) | NodeKind::Outputs(_) => {
                        writeln!(out, "  {}([\"{label}\"])", id(i))
                    }
                    NodeKind::Resource(..) => writeln!(out, "  {}[\"{label}\"]", id(i)),
                };
            }
            for &i in g.order.iter().filter(|i| keep.contains(i)) {
                let mut next: Vec<_> = g
                    .dag
                    .neighbors_directed(i, petgraph::Direction::Outgoing)
                    .filter(|j| keep.contains(j))
                    .collect();
                next.sort();
                for j in next {
                    let _ = writeln!(out, "  {} --> {}", id(i), id(j));
                }
            }
        }
    }
    print!("{out}");
    Ok(Outcome::Success)
}

/// `baton init`: a starter score.yaml and baton.hcl.
pub fn init(root: &Path) -> anyhow::Result<Outcome> {
    let score = root.join("score.yaml");
    let config = root.join("baton.hcl");
    for p in [&score, &config] {
        if p.exists() {
            anyhow::bail!("{} already exists; init writes new files only", p.display());
        }
    }
    std::fs::write(&score, STARTER_SCORE)?;
    std::fs::write(&config, STARTER_CONFIG)?;
    println!("Wrote score.yaml and baton.hcl. Next: `baton plan`, then `baton apply`.");
    Ok(Outcome::Success)
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
