//! Module listings (`baton modules list|show`): one row per module, or a module's
//! params, resources and outputs.

use std::fmt::Write as _;

use crate::module::Module;

/// The table of every module, sorted by type and name.
pub fn list(modules: &[Module]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<14} {:<10} {:<12} {:<14} MODULE",
        "TYPE", "CLASS", "ID", "ENVIRONMENTS"
    );
    let mut rows: Vec<_> = modules.iter().collect();
    rows.sort_by(|a, b| (&a.provisions.kind, &a.name).cmp(&(&b.provisions.kind, &b.name)));
    for m in rows {
        let p = &m.provisions;
        let _ = writeln!(
            out,
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
    out
}

/// Each module in full: what it provisions, params, resources, outputs.
pub fn show(modules: &[&Module]) -> String {
    let mut out = String::new();
    for m in modules {
        let p = &m.provisions;
        let _ = writeln!(out, "{} ({})", m.name, m.origin.describe());
        if !p.description.is_empty() {
            let _ = writeln!(out, "  {}", p.description);
        }
        let _ = writeln!(
            out,
            "  class: {}   id: {}   environments: {}",
            p.class.as_deref().unwrap_or("any"),
            p.id.as_deref().unwrap_or("any"),
            p.environments
                .as_ref()
                .map(|e| e.join(", "))
                .unwrap_or_else(|| "all".into())
        );
        if !m.params.is_empty() {
            out.push_str("  params:\n");
            for prm in &m.params {
                let default = prm
                    .default
                    .as_ref()
                    .map(|d| format!(" = {d}"))
                    .unwrap_or_else(|| " (required)".into());
                let _ = writeln!(
                    out,
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
            let _ = writeln!(
                out,
                "  resources: {}",
                m.resources
                    .iter()
                    .map(|r| format!("{}.{}", r.kind, r.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = writeln!(
            out,
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
        out.push('\n');
    }
    out
}

/// The module catalog as JSON (the API's developer menu): per module what it
/// provisions, its params (a sensitive param's default redacted) and outputs.
pub fn json(modules: &[Module]) -> serde_json::Value {
    let mut rows: Vec<_> = modules.iter().collect();
    rows.sort_by(|a, b| (&a.provisions.kind, &a.name).cmp(&(&b.provisions.kind, &b.name)));
    let rows: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|m| {
            let p = &m.provisions;
            let params: Vec<serde_json::Value> = m
                .params
                .iter()
                .map(|prm| {
                    let default = match &prm.default {
                        Some(v) if !prm.sensitive => v.to_json_redacted(),
                        Some(_) => serde_json::Value::String(crate::value::SENSITIVE_TEXT.into()),
                        None => serde_json::Value::Null,
                    };
                    serde_json::json!({"name": prm.name, "type": prm.ty.name(), "default": default,
                        "required": prm.default.is_none(), "description": prm.description, "sensitive": prm.sensitive})
                })
                .collect();
            let outputs: Vec<serde_json::Value> = m
                .outputs
                .iter()
                .map(|o| serde_json::json!({"name": o.name, "sensitive": o.sensitive}))
                .collect();
            serde_json::json!({"name": m.name, "type": p.kind, "class": p.class, "id": p.id,
                "environments": p.environments, "description": p.description, "origin": m.origin.describe(),
                "params": params, "outputs": outputs})
        })
        .collect();
    serde_json::Value::Array(rows)
}
