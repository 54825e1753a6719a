//! Deployment history: what changed between two applies' configurations (`state
//! history diff A B`) and the rollback notes of a plan back to one (`plan --at
//! SERIAL`), as text, Markdown and JSON. Every value shown was redacted when the
//! deployment was recorded.

use std::fmt::Write as _;

use serde_json::json;

use crate::plan::rollback::Rollback;
use crate::state::deployment::{Configuration, DeploymentDiff, FileChange, SettingChange};

fn setting(v: &Option<serde_json::Value>) -> String {
    v.as_ref()
        .map_or("(not set)".to_string(), |v| v.to_string())
}

fn sign(change: &str) -> char {
    match change {
        "added" => '+',
        "removed" => '-',
        _ => '~',
    }
}

fn files_text(out: &mut String, title: &str, files: &[FileChange]) {
    if files.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}:");
    for f in files {
        let _ = writeln!(out, "  {} {} ({})", sign(f.change), f.name, f.change);
        for line in f.diff.lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
}

fn settings_text(out: &mut String, settings: &[SettingChange]) {
    if settings.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nSettings:");
    for s in settings {
        let _ = writeln!(
            out,
            "  ~ {}: {} -> {}",
            s.name,
            setting(&s.before),
            setting(&s.after)
        );
    }
}

/// The changes from one deployment to another, for people.
pub fn diff_text(d: &DeploymentDiff) -> String {
    let (a, b) = (d.from, d.to);
    if d.is_empty() {
        return format!("No configuration changes from serial {a} to serial {b}.\n");
    }
    let mut out = format!(
        "Configuration changes from serial {a} to serial {b}: {} Score files, {} modules, {} settings.\n",
        d.score.len(),
        d.modules.len(),
        d.settings.len()
    );
    files_text(&mut out, "Score files", &d.score);
    files_text(&mut out, "Modules", &d.modules);
    settings_text(&mut out, &d.settings);
    out
}

fn files_markdown(out: &mut String, title: &str, files: &[FileChange]) {
    if files.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### {title}\n");
    for f in files {
        let _ = writeln!(out, "- `{}` {}", f.name, f.change);
        if !f.diff.is_empty() {
            let _ = writeln!(out, "\n```diff\n{}```\n", f.diff);
        }
    }
}

/// The changes from one deployment to another, for a pull request or issue comment.
pub fn diff_markdown(d: &DeploymentDiff) -> String {
    let (a, b) = (d.from, d.to);
    let mut out = format!("## Configuration changes from serial {a} to serial {b}\n");
    if d.is_empty() {
        out.push_str("\nNo changes.\n");
        return out;
    }
    files_markdown(&mut out, "Score files", &d.score);
    files_markdown(&mut out, "Modules", &d.modules);
    if !d.settings.is_empty() {
        out.push_str("\n### Settings\n\n| setting | before | after |\n|---|---|---|\n");
        for s in &d.settings {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | `{}` |",
                s.name,
                setting(&s.before),
                setting(&s.after)
            );
        }
    }
    out
}

/// The changes from one deployment to another, for tools (`format_version` 1).
pub fn diff_json(d: &DeploymentDiff) -> serde_json::Value {
    json!({
        "format_version": "1",
        "from": d.from,
        "to": d.to,
        "score": d.score,
        "modules": d.modules,
        "settings": d.settings,
    })
}

/// The configuration an apply recorded, for tools (`format_version` 1): its Score files
/// and modules with their content hashes and texts (`null` when a text is not stored),
/// and its settings (redacted when recorded).
pub fn configuration_json(c: &Configuration) -> serde_json::Value {
    let d = &c.deployment;
    let text = |digest: &str| c.texts.get(digest);
    let score: serde_json::Map<String, serde_json::Value> = d
        .score
        .iter()
        .map(|(path, digest)| {
            (
                path.clone(),
                json!({"sha256": digest, "text": text(digest)}),
            )
        })
        .collect();
    let modules: serde_json::Map<String, serde_json::Value> = d
        .modules
        .iter()
        .map(|(name, m)| {
            let v = json!({"origin": m.origin, "sha256": m.sha256, "text": text(&m.sha256)});
            (name.clone(), v)
        })
        .collect();
    json!({
        "format_version": "1",
        "serial": d.serial,
        "at": d.at,
        "who": d.who,
        "environment": d.environment,
        "score": score,
        "modules": modules,
        "settings": d.settings,
    })
}

/// The changes from one deployment to another in `format`.
pub fn diff(d: &DeploymentDiff, format: super::Format) -> String {
    match format {
        super::Format::Text => diff_text(d),
        super::Format::Markdown => diff_markdown(d),
        super::Format::Json => super::pretty(&diff_json(d)),
    }
}

/// The notes of a rollback, one line each (`markdown`: a list item with the address
/// in code), under "what cannot be rolled back".
fn notes(r: &Rollback, markdown: bool) -> String {
    let (empty, lost) = if markdown {
        ("made again **empty**", "**lost**")
    } else {
        (
            "made again EMPTY (the data it held is not restored)",
            "which is LOST",
        )
    };
    let since = format!("made since serial {}, deleted", r.serial);
    let mut out = String::new();
    for (title, objects) in [
        (format!("⚠️ holds data, {empty}"), &r.recreated_empty),
        (format!("⚠️ holds data, {lost}"), &r.data_lost),
        (since, &r.created_since),
    ] {
        for o in objects {
            let address = if markdown {
                format!("`{}`", o.address)
            } else {
                o.address.clone()
            };
            let _ = writeln!(out, "- {title}: {address} ({}, {})", o.kind, o.action);
        }
    }
    if !r.settings_kept.is_empty() {
        let kept = r.settings_kept.join(", ");
        let _ = writeln!(out, "- settings kept as baton.hcl has them now: {kept}");
    }
    out
}

/// The rollback notes under a plan back to an earlier deployment, for people.
pub fn rollback_text(r: &Rollback) -> String {
    let c = &r.configuration;
    let mut out = format!(
        "\nRollback to serial {} (applied {} by {}): {} Score files, {} modules, {} settings differ from the latest apply.\n",
        r.serial,
        r.at,
        r.who,
        c.score.len(),
        c.modules.len(),
        c.settings.len()
    );
    for f in c.score.iter().chain(&c.modules) {
        let back = match f.change {
            "added" => "comes back",
            "removed" => "goes away",
            _ => "returns to its earlier text",
        };
        let _ = writeln!(out, "  {} {back}", f.name);
    }
    let notes = notes(r, false);
    if !notes.is_empty() {
        out.push_str("\nWhat cannot be rolled back:\n");
        for line in notes.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// The rollback notes, for a pull request comment (below the plan).
pub fn rollback_markdown(r: &Rollback) -> String {
    let notes = notes(r, true);
    let notes = if notes.is_empty() {
        "Everything returns as it was.\n".to_string()
    } else {
        notes
    };
    format!(
        "\n### Rollback to serial {} (applied {} by {})\n\n{notes}",
        r.serial, r.at, r.who
    )
}

/// The plan's JSON with the rollback notes under `rollback`.
pub fn plan_json(plan: serde_json::Value, r: &Rollback) -> serde_json::Value {
    let mut plan = plan;
    if let Some(o) = plan.as_object_mut() {
        o.insert("rollback".into(), json!(r));
    }
    plan
}
