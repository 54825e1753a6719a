//! The state for people and tools (`baton show`, `state list|show|history`) and the
//! outputs of applied resources (`baton output`). Secrets are redacted unless the
//! caller asks for them (`output --show-sensitive`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::state::{HistoryEntry, Intent, Object, State};
use crate::value::{Map, Value};

/// Every object with its attributes (`baton show`).
pub fn text(env: &str, state: &State) -> String {
    let mut out = String::new();
    if state.objects.is_empty() {
        let _ = writeln!(out, "The state of `{env}` is empty.");
    }
    for o in state.objects.values() {
        let _ = writeln!(
            out,
            "# {}{}",
            o.address,
            if o.tainted { " (tainted)" } else { "" }
        );
        out.push_str(&attributes(&o.marked_attributes()));
        out.push('\n');
    }
    out
}

/// The state as JSON (`baton show --format json`), secrets redacted.
pub fn json(state: &State) -> serde_json::Value {
    let objects: Vec<serde_json::Value> = state
        .objects
        .values()
        .map(|o| serde_json::json!({"address": o.address, "kind": o.kind, "uid": o.uid, "module": o.module, "attributes": Value::Map(o.marked_attributes()).to_json_redacted(), "dependencies": o.dependencies, "tainted": o.tainted}))
        .collect();
    serde_json::json!({"format_version": "1", "lineage": state.lineage, "serial": state.serial, "objects": objects})
}

/// One object (`baton state show`).
pub fn object(o: &Object) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}", o.address);
    let _ = writeln!(out, "    kind         = {}", o.kind);
    let _ = writeln!(out, "    uid          = {}", o.uid);
    let _ = writeln!(out, "    module       = {}", o.module);
    let _ = writeln!(out, "    depends on   = {}", o.dependencies.join(", "));
    if o.tainted {
        let _ = writeln!(out, "    tainted      = true");
    }
    out.push_str(&attributes(&o.marked_attributes()));
    out
}

/// `show` without a plan file: the state in `format` (`None`: it has no Markdown form).
pub fn formatted(env: &str, state: &crate::state::State, format: super::Format) -> Option<String> {
    match format {
        super::Format::Markdown => None,
        super::Format::Json => Some(format!(
            "{}\n",
            serde_json::to_string_pretty(&json(state)).expect("JSON serializes")
        )),
        super::Format::Text => Some(text(env, state)),
    }
}

/// `output`: the outputs as JSON (`json`) or text, sensitive values shown only with
/// `reveal`.
pub fn outputs(outputs: &BTreeMap<String, Map>, json: bool, reveal: bool) -> String {
    match json {
        true => super::pretty(&outputs_json(outputs, reveal)),
        false => outputs_text(outputs, reveal),
    }
}

/// A leftover intent, told to the person (`state list` keeps stdout the list).
pub fn intent(i: &Intent) -> String {
    format!(
        "leftover intent: {} {} (a {} call started {} that never finished recording); the next apply of its workload settles it, or `baton state rm {}` drops it",
        i.action, i.address, i.kind, i.started_at, i.address
    )
}

fn attributes(attrs: &Map) -> String {
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

/// One line per recorded change (`state history --changes`).
pub fn changes(history: &[HistoryEntry]) -> String {
    let mut out = String::new();
    for h in history {
        let _ = writeln!(
            out,
            "{:>4}  {}  {:<8} {}  ({})",
            h.serial, h.at, h.action, h.address, h.who
        );
    }
    out
}

/// `state history`: one line per change (`changes`) or per apply.
pub fn history(history: &[HistoryEntry], configured: &[u64], changes: bool) -> String {
    match changes {
        true => self::changes(history),
        false => applies(history, configured),
    }
}

/// One line per apply: its serial, when (first change), who, and what it did; those
/// whose configuration is recorded (serials in `configured`) marked `[config]`.
pub fn applies(history: &[HistoryEntry], configured: &[u64]) -> String {
    let mut by_serial: BTreeMap<u64, (&str, &str, BTreeMap<&str, usize>)> = BTreeMap::new();
    for h in history {
        let e = by_serial
            .entry(h.serial)
            .or_insert_with(|| (&h.at, &h.who, Default::default()));
        *e.2.entry(&h.action).or_default() += 1;
    }
    let mut out = String::new();
    if by_serial.is_empty() {
        out.push_str("No applies recorded yet.\n");
    }
    for (serial, (at, who, counts)) in by_serial {
        let what: Vec<String> = counts.iter().map(|(a, n)| format!("{n} {a}")).collect();
        let mark = ["", "  [config]"][configured.contains(&serial) as usize];
        let _ = writeln!(
            out,
            "serial {serial:>4}  {at}  {who}  {}{mark}",
            what.join(", ")
        );
    }
    if !configured.is_empty() {
        out.push_str("\n[config]: the configuration it applied is recorded; compare two with `baton state history diff A B`, plan a return to one with `baton plan --at SERIAL`.\n");
    }
    out
}

fn shown(v: &Value, reveal: bool) -> serde_json::Value {
    if reveal {
        v.to_json_revealed()
            .unwrap_or_else(|| serde_json::Value::String(crate::value::UNKNOWN_TEXT.into()))
    } else {
        v.to_json_redacted()
    }
}

/// The outputs by uid as JSON; secrets redacted unless `reveal`.
pub fn outputs_json(outputs: &BTreeMap<String, Map>, reveal: bool) -> serde_json::Value {
    serde_json::Value::Object(
        outputs
            .iter()
            .map(|(u, outs)| {
                let m = outs.iter().map(|(k, v)| (k.clone(), shown(v, reveal)));
                (u.clone(), serde_json::Value::Object(m.collect()))
            })
            .collect(),
    )
}

/// The outputs by uid, one `name = value` line each; secrets redacted unless `reveal`.
pub fn outputs_text(outputs: &BTreeMap<String, Map>, reveal: bool) -> String {
    let mut out = String::new();
    for (u, outs) in outputs {
        let _ = writeln!(out, "{u}");
        let width = outs.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in outs {
            let text = match shown(v, reveal) {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            let _ = writeln!(out, "  {k:<width$} = {text}");
        }
    }
    out
}

/// What `state rm` removed at `address`: an object (and the action of a leftover intent
/// removed with it), or a leftover intent alone (`intent` with its start).
pub fn removed(address: &str, removed: &crate::state::Removed) -> String {
    use crate::state::Removed;
    match removed {
        Removed::Object { intent } => {
            let mut out =
                format!("Removed {address} from the state; the object itself was not touched.\n");
            if let Some(action) = intent {
                out.push_str(&format!("Removed its leftover {action} intent too.\n"));
            }
            out
        }
        Removed::Intent { action, started_at } => format!(
            "Removed the leftover {action} intent at {address} (started {started_at}); nothing was recorded there. If that call made the object, baton no longer knows it: `baton import` takes it over.\n"
        ),
    }
}

/// What `state rekey` did to `n` objects: sealed with the key of `fingerprint`, or
/// stored in clear.
pub fn rekeyed(n: usize, fingerprint: Option<&str>) -> String {
    match fingerprint {
        Some(f) => format!(
            "Re-sealed the secrets of {n} objects with key {f}. Use it from now on: BATON_STATE_KEY=<the new key>.\n"
        ),
        None => format!("Stored the secrets of {n} objects in clear (no new key was given).\n"),
    }
}

/// What `state migrate` copied and verified, for environment `env`.
pub fn migrated(env: &str, m: &crate::state::Migrated) -> String {
    let opened = if m.opened {
        "; both open to the same objects"
    } else {
        ""
    };
    format!(
        "Copied the state of `{env}` from {} to {}: lineage {}, serial {}, {} objects, {} history rows, {} intents.\nVerified: the two states are identical, row for row (objects with their versions, sealed secrets, history){opened}.\nPoint environment `{env}` of baton.hcl at the new state to use it; the old one is left as it was.\n",
        m.from, m.to, m.lineage, m.serial, m.objects, m.history, m.intents
    )
}

/// What `state mv` moved, one line per object.
pub fn moved(moves: &[(String, String)]) -> String {
    let mut out = String::new();
    for (from, to) in moves {
        let _ = writeln!(out, "Moved {from} to {to}.");
    }
    let _ = writeln!(
        out,
        "{} object{} moved in the state; nothing else was touched (each keeps its name and data).",
        moves.len(),
        if moves.len() == 1 { "" } else { "s" }
    );
    out
}

/// `state list`: the recorded addresses, one a line (for stdout: scripts read it), and
/// a line per leftover intent (for stderr: a call whose outcome baton does not know,
/// told to the person).
pub fn list(state: &crate::state::State) -> (String, String) {
    let objects = state.objects.keys().map(|a| format!("{a}\n")).collect();
    let intents = state
        .intents
        .values()
        .map(|i| format!("{}\n", intent(i)))
        .collect();
    (objects, intents)
}

/// Said after `import` recorded an object of `kind` with identifier `id` at `address`.
pub fn imported(kind: &str, id: &str, address: &str) -> String {
    format!(
        "Imported {kind} `{id}` as {address}. `baton plan` shows how it differs from the configuration.\n"
    )
}

/// The history as JSON: one entry per apply (serial, when, who, counts by action) with
/// its changes (attributes before and after, redacted).
pub fn history_json(history: &[HistoryEntry]) -> serde_json::Value {
    let mut by_serial: BTreeMap<u64, Vec<&HistoryEntry>> = BTreeMap::new();
    for h in history {
        by_serial.entry(h.serial).or_default().push(h);
    }
    let applies: Vec<serde_json::Value> = by_serial
        .into_iter()
        .map(|(serial, rows)| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for h in &rows {
                *counts.entry(&h.action).or_default() += 1;
            }
            let changes: Vec<serde_json::Value> = rows
                .iter()
                .map(|h| serde_json::json!({"address": h.address, "action": h.action, "at": h.at, "before": h.before, "after": h.after}))
                .collect();
            serde_json::json!({"serial": serial, "at": rows[0].at, "who": rows[0].who, "counts": counts, "changes": changes})
        })
        .collect();
    serde_json::Value::Array(applies)
}
