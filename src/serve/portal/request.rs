//! The request form's work: a resource asked for a workload (module, name, params from
//! the module's schema in the catalog) written into a copy of the workload's Score file,
//! which the API's plan route then checks as `baton validate` does and plans. Only names
//! the catalog lists are written; every value is written as a quoted YAML scalar or as
//! JSON, so nothing typed into the form can add YAML structure of its own.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// What the request form holds.
#[derive(Debug, Clone, Default)]
pub(super) struct Form {
    pub workload: String,
    pub module: String,
    pub name: String,
    /// Param values by name, as typed (empty ones left out).
    pub params: BTreeMap<String, String>,
}

impl Form {
    /// The form from posted fields (`param.NAME` for each param).
    pub fn read(fields: &[(String, String)]) -> Form {
        let mut form = Form::default();
        for (k, v) in fields {
            match k.as_str() {
                "workload" => form.workload = v.trim().to_string(),
                "module" => form.module = v.trim().to_string(),
                "name" => form.name = v.trim().to_string(),
                k => {
                    if let Some(p) = k.strip_prefix("param.") {
                        if !v.trim().is_empty() {
                            form.params.insert(p.to_string(), v.trim().to_string());
                        }
                    }
                }
            }
        }
        form
    }
}

/// The catalog entry of module `name` (`modules` as `GET …/modules` answers).
pub(super) fn module<'m>(modules: &'m Value, name: &str) -> Option<&'m Value> {
    modules["modules"]
        .as_array()?
        .iter()
        .find(|m| m["name"] == name)
}

fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The project's Score file of `workload`: its file name and text.
fn workload_file(root: &Path, workload: &str) -> Option<(String, String)> {
    for path in crate::ops::score_files(root) {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if metadata_name(&text).as_deref() == Some(workload) {
            let name = path.file_name()?.to_str()?.to_string();
            return Some((name, text));
        }
    }
    None
}

/// `metadata.name` of a Score file written in block style.
fn metadata_name(text: &str) -> Option<String> {
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("metadata:") {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
                return None;
            }
            if let Some(v) = line.trim().strip_prefix("name:") {
                return Some(v.trim().trim_matches(|c| c == '"' || c == '\'').to_string());
            }
        }
    }
    None
}

/// A param value as YAML: numbers and booleans as typed when they read as one, other
/// scalar types as a quoted string, lists and maps as JSON when they parse as JSON.
fn yaml_value(ty: &str, raw: &str) -> String {
    let quoted = || serde_json::to_string(raw).unwrap_or_else(|_| "\"\"".into());
    match ty {
        "string" => quoted(),
        "number" => match raw.parse::<f64>() {
            Ok(n) if n.is_finite() => raw.to_string(),
            _ => quoted(),
        },
        "bool" => match raw {
            "true" | "false" => raw.to_string(),
            _ => quoted(),
        },
        _ => match serde_json::from_str::<Value>(raw) {
            Ok(v) => v.to_string(),
            Err(_) => quoted(),
        },
    }
}

/// The workload's Score file with the requested resource added: `{file name: text}`
/// for the API's plan route, or what is wrong with the form.
pub(super) fn score_file(
    root: &Path,
    form: &Form,
    modules: &Value,
) -> Result<BTreeMap<String, String>, String> {
    let Some(m) = module(modules, &form.module) else {
        return Err(format!(
            "choose a module of the catalog (not `{}`)",
            form.module
        ));
    };
    if !m["id"].is_null() {
        return Err(format!(
            "module `{}` provides one shared resource only; it cannot be requested for a workload",
            form.module
        ));
    }
    if !plain_name(&form.name) {
        return Err("the resource name must be letters, digits, `-` or `_` (at most 63)".into());
    }
    let Some((file, text)) = workload_file(root, &form.workload) else {
        return Err(format!(
            "no Score file of workload `{}` in the project",
            form.workload
        ));
    };
    let params: BTreeMap<&str, &str> = m["params"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| Some((p["name"].as_str()?, p["type"].as_str().unwrap_or("string"))))
                .collect()
        })
        .unwrap_or_default();
    if let Some(unknown) = form
        .params
        .keys()
        .find(|k| !params.contains_key(k.as_str()))
    {
        return Err(format!("module `{}` has no param `{unknown}`", form.module));
    }
    let kind = m["type"].as_str().unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let top = lines.iter().position(|l| l.trim_end() == "resources:");
    // The indent the file uses beneath `resources:` (two spaces when it has none).
    let indent = top
        .and_then(|t| {
            lines[t + 1..]
                .iter()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .map(|l| l.len() - l.trim_start().len())
        })
        .filter(|n| *n > 0)
        .unwrap_or(2);
    let pad = " ".repeat(indent);
    let mut block = vec![
        format!("{pad}{}:", form.name),
        format!("{pad}{pad}type: {kind}"),
    ];
    if let Some(class) = m["class"].as_str() {
        block.push(format!("{pad}{pad}class: {}", yaml_value("string", class)));
    }
    if !form.params.is_empty() {
        block.push(format!("{pad}{pad}params:"));
        for (k, v) in &form.params {
            block.push(format!(
                "{pad}{pad}{pad}{k}: {}",
                yaml_value(params[k.as_str()], v)
            ));
        }
    }
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match top {
        Some(t) => {
            let end = lines[t + 1..]
                .iter()
                .position(|l| !l.is_empty() && !l.starts_with(' ') && !l.starts_with('#'))
                .map_or(lines.len(), |n| t + 1 + n);
            let taken = lines[t + 1..end]
                .iter()
                .any(|l| l.trim_end() == format!("{pad}{}:", form.name));
            if taken {
                return Err(format!(
                    "workload `{}` already has a resource `{}`",
                    form.workload, form.name
                ));
            }
            // After the section's last line that is not blank.
            let mut at = end;
            while at > t + 1 && lines[at - 1].trim().is_empty() {
                at -= 1;
            }
            out.splice(at..at, block);
        }
        None => {
            out.push("resources:".into());
            out.extend(block);
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    Ok(BTreeMap::from([(file, text)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_is_added_beneath_resources_with_the_files_indent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("orders.score.yaml"),
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: orders\nresources:\n    db:\n        type: postgres\nservice:\n  ports: {}\n",
        )
        .unwrap();
        let modules = serde_json::json!({"modules": [{"name": "redis/local", "type": "redis", "class": null, "id": null,
            "params": [{"name": "db", "type": "number"}, {"name": "note", "type": "string"}]}]});
        let form = Form {
            workload: "orders".into(),
            module: "redis/local".into(),
            name: "cache".into(),
            params: BTreeMap::from([("db".into(), "2".into()), ("note".into(), "a: b\nc".into())]),
        };
        let files = score_file(dir.path(), &form, &modules).unwrap();
        assert_eq!(
            files["orders.score.yaml"],
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: orders\nresources:\n    db:\n        type: postgres\n    cache:\n        type: redis\n        params:\n            db: 2\n            note: \"a: b\\nc\"\nservice:\n  ports: {}\n"
        );
        let taken = Form {
            name: "db".into(),
            ..form.clone()
        };
        assert!(
            score_file(dir.path(), &taken, &modules)
                .unwrap_err()
                .contains("already has")
        );
        let bad = Form {
            name: "x:\n  y".into(),
            ..form
        };
        assert!(score_file(dir.path(), &bad, &modules).is_err());
    }
}
