//! What `baton drift` shows: objects changed outside baton, as text, Markdown (for a PR
//! or an issue) or JSON. Secrets are redacted by `Value` itself.

use std::fmt::Write;

use serde_json::json;

use super::Color;
use crate::plan::Drift;
use crate::value::Value;

/// The drift report for people.
pub fn text(environment: &str, drift: &[Drift], color: Color) -> String {
    if drift.is_empty() {
        return format!("No drift: every object of `{environment}` matches what baton recorded.\n");
    }
    let mut out = super::plan::drift_text(drift, color);
    let _ = writeln!(
        out,
        "{} object{} changed outside baton. `baton plan` shows how to converge.",
        drift.len(),
        if drift.len() == 1 { "" } else { "s" }
    );
    out
}

fn what(d: &Drift) -> String {
    match &d.after {
        None => "deleted".into(),
        Some(after) => {
            let keys: std::collections::BTreeSet<&String> =
                d.before.keys().chain(after.keys()).collect();
            let changed: Vec<&str> = keys
                .into_iter()
                .filter(|k| d.before.get(*k).map(Value::reveal) != after.get(*k).map(Value::reveal))
                .map(String::as_str)
                .collect();
            format!("changed: {}", changed.join(", "))
        }
    }
}

/// The drift report in `format`.
pub fn formatted(
    environment: &str,
    drift: &[Drift],
    format: super::Format,
    color: Color,
) -> String {
    match format {
        super::Format::Text => text(environment, drift, color),
        super::Format::Markdown => markdown(environment, drift),
        super::Format::Json => super::pretty(&json(environment, drift)),
    }
}

/// Markdown for a pull request or issue comment (colour-free).
pub fn markdown(environment: &str, drift: &[Drift]) -> String {
    let mut out = String::new();
    if drift.is_empty() {
        let _ = writeln!(out, "### ✅ baton drift: none in `{environment}`");
        return out;
    }
    let _ = writeln!(
        out,
        "### ⚠️ baton drift: {} object{} changed outside baton in `{environment}`\n",
        drift.len(),
        if drift.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "| object | kind | what |\n|---|---|---|");
    for d in drift {
        let _ = writeln!(out, "| `{}` | {} | {} |", d.address, d.kind, what(d));
    }
    out.push('\n');
    for d in drift {
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code></summary>\n\n```diff",
            d.address
        );
        let section = super::plan::drift_text(std::slice::from_ref(d), Color::Never);
        for line in section.lines().skip(2) {
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(out, "```\n</details>\n");
    }
    out
}

/// JSON (format version 1).
pub fn json(environment: &str, drift: &[Drift]) -> serde_json::Value {
    let redact = |a: &crate::provider::Attrs| {
        serde_json::Value::Object(
            a.iter()
                .map(|(k, v)| (k.clone(), v.to_json_redacted()))
                .collect(),
        )
    };
    json!({
        "format_version": "1",
        "environment": environment,
        "drift": drift.iter().map(|d| json!({
            "address": d.address,
            "kind": d.kind,
            "what": what(d),
            "before": redact(&d.before),
            "after": d.after.as_ref().map(redact),
        })).collect::<Vec<_>>(),
    })
}
