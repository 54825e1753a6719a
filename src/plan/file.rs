//! Saved plans (`plan --out FILE`): the JSON rendering of the plan, the options it was
//! made with, and its text rendering; no secret values (the JSON is redacted).
//!
//! `apply FILE` checks the state's lineage and the version of every object the plan
//! touches (the serial of the apply that last wrote it, or none when absent): runs on
//! other workloads move the global serial without making the plan stale, but anything
//! the plan touches that moved does. It then plans again from the same inputs and
//! refuses unless the new plan's changes are identical to the saved ones. Secrets, which
//! the file never holds, come from the state and configuration again, and a plan made
//! stale by a change of inputs or of the real world is never applied.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value as Json, json};

use super::Plan;
use super::diff::PlanOptions;

/// The version of the plan-file format (2: per-object `versions`; files of version 1
/// are still read, and checked against the global serial).
pub const VERSION: u64 = 2;

/// Object versions a plan was made against: address → serial of its last write, `None`
/// when the object was not in the state.
pub type Versions = BTreeMap<String, Option<u64>>;

/// A plan read back from a file.
pub struct Saved {
    /// Environment.
    pub environment: String,
    /// Lineage it is bound to.
    pub lineage: String,
    /// Serial of the state when it was made.
    pub serial: u64,
    /// Versions of the objects it touches (absent in version-1 files).
    pub versions: Option<Versions>,
    /// Options it was made with.
    pub options: PlanOptions,
    /// The plan JSON.
    pub plan: Json,
}

/// The versions, in `state_versions`, of every object `plan` touches.
pub fn versions_of(plan: &Plan, state_versions: &BTreeMap<String, u64>) -> Versions {
    plan.changes
        .iter()
        .map(|c| (c.address.clone(), state_versions.get(&c.address).copied()))
        .collect()
}

/// The objects whose version moved since a plan recorded `saved`: one line each.
pub fn moved(saved: &Versions, now: &BTreeMap<String, u64>) -> Vec<String> {
    let at = |v: Option<u64>| match v {
        Some(s) => format!("written at serial {s}"),
        None => "absent".to_string(),
    };
    saved
        .iter()
        .filter(|(a, v)| now.get(*a).copied() != **v)
        .map(|(a, v)| {
            format!(
                "{a}: {} when planned, now {}",
                at(*v),
                at(now.get(a).copied())
            )
        })
        .collect()
}

/// Writes a plan file (mode 0600: it describes infrastructure, even without secrets).
pub fn write(
    path: &Path,
    plan: &Plan,
    opts: &PlanOptions,
    versions: &Versions,
    text: &str,
) -> anyhow::Result<()> {
    let doc = json!({
        "baton_plan_file": VERSION,
        "environment": plan.environment,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "versions": versions,
        "options": { "destroy": opts.destroy, "targets": opts.targets, "replace": opts.replace, "workloads": opts.workloads },
        "plan": crate::render::plan::json(plan),
        "text": text,
        "markdown": crate::render::markdown::render(plan, &Default::default()),
    });
    let bytes = serde_json::to_vec_pretty(&doc)?;
    crate::provider::local::write_file(path, &bytes, 0o600)
        .map_err(|e| anyhow::anyhow!("cannot write the plan file: {e}"))
}

/// Reads a plan file.
pub fn read(path: &Path) -> anyhow::Result<Saved> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the plan file {}", path.display()))?;
    let doc: Json = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a baton plan file", path.display()))?;
    let version = doc["baton_plan_file"].as_u64();
    if !matches!(version, Some(1) | Some(VERSION)) {
        anyhow::bail!(
            "{} is not a baton plan file of version 1 or {VERSION}",
            path.display()
        );
    }
    let strings = |j: &Json| -> Vec<String> {
        j.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(Saved {
        environment: doc["environment"].as_str().unwrap_or_default().to_string(),
        lineage: doc["lineage"].as_str().unwrap_or_default().to_string(),
        serial: doc["serial"].as_u64().unwrap_or(0),
        versions: doc["versions"]
            .as_object()
            .filter(|_| version == Some(VERSION))
            .map(|m| m.iter().map(|(a, v)| (a.clone(), v.as_u64())).collect()),
        options: PlanOptions {
            destroy: doc["options"]["destroy"].as_bool().unwrap_or(false),
            targets: strings(&doc["options"]["targets"]),
            replace: strings(&doc["options"]["replace"]),
            workloads: doc["options"]["workloads"].as_array().map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            }),
        },
        plan: doc["plan"].clone(),
    })
}

/// The saved plan's text rendering.
pub fn text(path: &Path) -> anyhow::Result<String> {
    let doc: Json = serde_json::from_slice(&std::fs::read(path)?)?;
    Ok(doc["text"].as_str().unwrap_or_default().to_string())
}

/// The saved plan's Markdown rendering.
pub fn markdown(path: &Path) -> anyhow::Result<String> {
    let doc: Json = serde_json::from_slice(&std::fs::read(path)?)?;
    Ok(doc["markdown"].as_str().unwrap_or_default().to_string())
}

/// The saved plan's JSON.
pub fn plan_json(path: &Path) -> anyhow::Result<Json> {
    Ok(read(path)?.plan)
}

/// The first difference between two plan JSONs' changes, described, or `None`.
pub fn first_difference(saved: &Json, now: &Json) -> Option<String> {
    let empty = Vec::new();
    let a = saved["changes"].as_array().unwrap_or(&empty);
    let b = now["changes"].as_array().unwrap_or(&empty);
    for (x, y) in a.iter().zip(b.iter()) {
        if x != y {
            return Some(format!(
                "{} would now be {} ({})",
                y["address"].as_str().unwrap_or("?"),
                y["action"].as_str().unwrap_or("?"),
                y["reason"].as_str().unwrap_or("?")
            ));
        }
    }
    if a.len() != b.len() {
        return Some(format!(
            "{} changes were planned, {} would be made now",
            a.len(),
            b.len()
        ));
    }
    None
}
