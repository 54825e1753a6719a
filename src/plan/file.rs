//! Saved plans (`plan --out FILE`): the JSON rendering of the plan, the options it was
//! made with, and its text rendering; no secret values (the JSON is redacted).
//!
//! `apply FILE` checks the state's lineage and serial, plans again from the same inputs
//! and refuses unless the new plan's changes are identical to the saved ones. Secrets,
//! which the file never holds, come from the state and configuration again, and a plan
//! made stale by a change of inputs or of the real world is never applied.

use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value as Json, json};

use super::Plan;
use super::diff::PlanOptions;

/// The version of the plan-file format.
pub const VERSION: u64 = 1;

/// A plan read back from a file.
pub struct Saved {
    /// Environment.
    pub environment: String,
    /// Lineage it is bound to.
    pub lineage: String,
    /// Serial it is bound to.
    pub serial: u64,
    /// Options it was made with.
    pub options: PlanOptions,
    /// The plan JSON.
    pub plan: Json,
}

/// Writes a plan file (mode 0600: it describes infrastructure, even without secrets).
pub fn write(path: &Path, plan: &Plan, opts: &PlanOptions, text: &str) -> anyhow::Result<()> {
    let doc = json!({
        "baton_plan_file": VERSION,
        "environment": plan.environment,
        "lineage": plan.lineage,
        "serial": plan.serial,
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
    if doc["baton_plan_file"].as_u64() != Some(VERSION) {
        anyhow::bail!(
            "{} is not a baton plan file of version {VERSION}",
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
