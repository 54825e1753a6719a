//! Plans for people (text, Terraform-like, coloured on a terminal) and for tools (JSON,
//! format version 1, documented in docs/plan-json.md). Secrets are redacted by the
//! `Value` type itself; unknowns show as `(known after apply)`. Multi-line strings
//! (manifests) are shown as unified diffs.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value as Json, json};

use super::Color;
use crate::plan::{Action, Change, Plan, Reason};
use crate::provider::Attrs;
use crate::value::{SENSITIVE_TEXT, UNKNOWN_TEXT, Value};

/// The JSON document of a plan.
pub fn json(plan: &Plan) -> Json {
    let s = plan.summary();
    let changes: Vec<Json> = plan.changes.iter().map(change_json).collect();
    let drift: Vec<Json> = plan
        .drift
        .iter()
        .map(|d| {
            json!({
                "address": d.address,
                "kind": d.kind,
                "before": attrs_json(&d.before).0,
                "after": d.after.as_ref().map(|a| attrs_json(a).0),
            })
        })
        .collect();
    json!({
        "format_version": "1",
        "environment": plan.environment,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "destroy": plan.destroy,
        "changes": changes,
        "drift": drift,
        "summary": { "create": s.create, "update": s.update, "replace": s.replace, "delete": s.delete, "no_op": s.no_op },
    })
}

/// Redacted JSON of attributes, and the names of the unknown ones.
fn attrs_json(attrs: &Attrs) -> (Json, Vec<String>) {
    let mut obj = serde_json::Map::new();
    let mut unknown = Vec::new();
    for (k, v) in attrs {
        if v.is_unknown() {
            unknown.push(k.clone());
        } else {
            obj.insert(k.clone(), v.to_json_redacted());
        }
    }
    (Json::Object(obj), unknown)
}

fn change_json(c: &Change) -> Json {
    let (after, after_unknown) = match &c.after {
        Some(a) if c.action != Action::Delete => {
            let (j, u) = attrs_json(a);
            (j, u)
        }
        _ => (Json::Null, Vec::new()),
    };
    let mut j = json!({
        "address": c.address,
        "uid": c.uid,
        "kind": c.kind,
        "provider": c.provider,
        "module": c.module,
        "workloads": c.workloads,
        "action": c.action.as_str(),
        "reason": c.reason.as_str(),
        "before": c.before.as_ref().map(|b| attrs_json(b).0),
        "after": after,
        "after_unknown": after_unknown,
        "depends_on": c.depends_on,
    });
    match &c.reason {
        Reason::Changed(attrs) => j["changed_attributes"] = json!(attrs),
        Reason::ForceNew(a) => j["forced_by"] = json!(a),
        _ => {}
    }
    j
}

struct Paint(Color);

impl Paint {
    fn code(&self, code: &str, s: &str) -> String {
        match self.0 {
            Color::Always => format!("\x1b[{code}m{s}\x1b[0m"),
            Color::Never => s.to_string(),
        }
    }
    fn green(&self, s: &str) -> String {
        self.code("32", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.code("33", s)
    }
    fn red(&self, s: &str) -> String {
        self.code("31", s)
    }
    fn magenta(&self, s: &str) -> String {
        self.code("35", s)
    }
    fn bold(&self, s: &str) -> String {
        self.code("1", s)
    }
}

fn symbol(p: &Paint, a: Action) -> String {
    match a {
        Action::Create => p.green("+"),
        Action::Update => p.yellow("~"),
        Action::Replace => p.magenta("-/+"),
        Action::Delete => p.red("-"),
        Action::NoOp => " ".into(),
    }
}

fn verb(a: Action) -> &'static str {
    match a {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::NoOp => "is unchanged",
    }
}

/// A value as one line (or `None` when it is a multi-line string).
fn inline(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Unknown => UNKNOWN_TEXT.to_string(),
        Value::Sensitive(inner) if inner.is_unknown() => {
            "(sensitive, known after apply)".to_string()
        }
        Value::Sensitive(_) => SENSITIVE_TEXT.to_string(),
        other => other.to_json_redacted().to_string(),
    }
}

fn multiline(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) if s.contains('\n') => Some(s),
        _ => None,
    }
}

/// Writes the attribute lines of one change.
fn attr_lines(out: &mut String, p: &Paint, c: &Change, indent: &str) {
    let empty = Attrs::new();
    let before = c.before.as_deref().unwrap_or(&empty);
    let after = if c.action == Action::Delete {
        &empty
    } else {
        c.after.as_deref().unwrap_or(&empty)
    };
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let width = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    for k in keys {
        let b = before.get(k).filter(|v| !v.is_null());
        let a = after.get(k).filter(|v| !v.is_null());
        let forces = matches!(&c.reason, Reason::ForceNew(f) if f == k);
        let note = if forces {
            p.red(" # forces replacement")
        } else {
            String::new()
        };
        match (b, a) {
            (None, None) => {}
            (None, Some(a)) => map_or_line(
                out,
                p,
                indent,
                k,
                width,
                None,
                Some(a),
                &p.green("+"),
                &note,
            ),
            (Some(b), None) => {
                map_or_line(out, p, indent, k, width, Some(b), None, &p.red("-"), &note)
            }
            (Some(b), Some(a)) => {
                if crate::plan::diff::differs(Some(b), Some(a)) {
                    map_or_line(
                        out,
                        p,
                        indent,
                        k,
                        width,
                        Some(b),
                        Some(a),
                        &p.yellow("~"),
                        &note,
                    );
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn map_or_line(
    out: &mut String,
    p: &Paint,
    indent: &str,
    k: &str,
    width: usize,
    b: Option<&Value>,
    a: Option<&Value>,
    sym: &str,
    note: &str,
) {
    // Maps of strings (manifest files): one entry per key, with diffs of multi-line values.
    let empty = crate::value::Map::new();
    match (b, a) {
        (Some(Value::Map(_)) | None, Some(Value::Map(am))) => {
            let bm = match b {
                Some(Value::Map(m)) => m,
                _ => &empty,
            };
            let _ = writeln!(out, "{indent}{sym} {k:<width$} = {{{note}");
            let keys: std::collections::BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
            for key in keys {
                let inner = format!("{indent}    ");
                match (bm.get(key), am.get(key)) {
                    (None, Some(v)) => value_line(
                        out,
                        p,
                        &inner,
                        &format!("{key:?}"),
                        None,
                        Some(v),
                        &p.green("+"),
                    ),
                    (Some(v), None) => value_line(
                        out,
                        p,
                        &inner,
                        &format!("{key:?}"),
                        Some(v),
                        None,
                        &p.red("-"),
                    ),
                    (Some(x), Some(y)) if crate::plan::diff::differs(Some(x), Some(y)) => {
                        value_line(
                            out,
                            p,
                            &inner,
                            &format!("{key:?}"),
                            Some(x),
                            Some(y),
                            &p.yellow("~"),
                        )
                    }
                    _ => {}
                }
            }
            let _ = writeln!(out, "{indent}  }}");
        }
        (Some(Value::Map(bm)), None) => {
            let _ = writeln!(out, "{indent}{sym} {k:<width$} = {{{note}");
            for (key, v) in bm {
                value_line(
                    out,
                    p,
                    &format!("{indent}    "),
                    &format!("{key:?}"),
                    Some(v),
                    None,
                    &p.red("-"),
                );
            }
            let _ = writeln!(out, "{indent}  }}");
        }
        _ => {
            let label = format!("{k:<width$}");
            value_line(out, p, indent, &label, b, a, sym);
            if !note.is_empty() {
                out.pop();
                let _ = writeln!(out, "{note}");
            }
        }
    }
}

fn value_line(
    out: &mut String,
    p: &Paint,
    indent: &str,
    label: &str,
    b: Option<&Value>,
    a: Option<&Value>,
    sym: &str,
) {
    match (multiline(b), multiline(a)) {
        (Some(x), Some(y)) => {
            let _ = writeln!(out, "{indent}{sym} {label} = <<-EOT");
            diff_lines(out, p, &format!("{indent}      "), x, y);
            let _ = writeln!(out, "{indent}    EOT");
        }
        (None, Some(y)) if b.is_none() => {
            let _ = writeln!(out, "{indent}{sym} {label} = <<-EOT");
            for line in y.lines() {
                let _ = writeln!(out, "{indent}      {line}");
            }
            let _ = writeln!(out, "{indent}    EOT");
        }
        (Some(x), None) if a.is_none() => {
            let _ = writeln!(out, "{indent}{sym} {label} = <<-EOT");
            for line in x.lines() {
                let _ = writeln!(out, "{indent}      {line}");
            }
            let _ = writeln!(out, "{indent}    EOT");
        }
        _ => {
            let text = match (b, a) {
                (None, Some(a)) => inline(a),
                (Some(b), None) => format!("{} {}", inline(b), p.red("-> null")),
                (Some(b), Some(a)) => format!("{} -> {}", inline(b), inline(a)),
                (None, None) => String::new(),
            };
            let _ = writeln!(out, "{indent}{sym} {label} = {text}");
        }
    }
}

fn diff_lines(out: &mut String, p: &Paint, indent: &str, before: &str, after: &str) {
    let diff = similar::TextDiff::from_lines(before, after);
    for group in diff.grouped_ops(3) {
        for op in group {
            for change in diff.iter_changes(&op) {
                let line = change.value().trim_end_matches('\n');
                let _ = match change.tag() {
                    similar::ChangeTag::Delete => {
                        writeln!(out, "{indent}{}", p.red(&format!("- {line}")))
                    }
                    similar::ChangeTag::Insert => {
                        writeln!(out, "{indent}{}", p.green(&format!("+ {line}")))
                    }
                    similar::ChangeTag::Equal => writeln!(out, "{indent}  {line}"),
                };
            }
        }
    }
}

/// Changes grouped by the workloads that need them: one group per workload, one per
/// set of workloads sharing a resource, and one for objects no workload needs any more.
fn groups(plan: &Plan) -> Vec<(String, Vec<&Change>)> {
    let mut groups: BTreeMap<(u8, String), Vec<&Change>> = BTreeMap::new();
    for c in plan.changes.iter().filter(|c| c.action != Action::NoOp) {
        let key = match c.workloads.as_slice() {
            [] => (2, "no longer needed by any workload".to_string()),
            [w] => (0, format!("workload {w}")),
            many => (1, format!("shared by {}", many.join(", "))),
        };
        groups.entry(key).or_default().push(c);
    }
    groups.into_iter().map(|((_, k), v)| (k, v)).collect()
}

/// One line per change.
pub fn compact(plan: &Plan, color: Color) -> String {
    let p = Paint(color);
    let mut out = drift_text(&plan.drift, color);
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "{} The environment `{}` matches the configuration.",
            p.green("No changes."),
            plan.environment
        );
        return out;
    }
    for (group, changes) in groups(plan) {
        let _ = writeln!(out, "{}", p.bold(&group));
        for c in changes {
            let _ = writeln!(
                out,
                "  {:<3} {:<8} {}  ({})",
                symbol(&p, c.action),
                c.action.as_str(),
                c.address,
                c.reason.describe()
            );
        }
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "{} {} to add, {} to change, {} to replace, {} to destroy.",
        p.bold("Plan:"),
        s.create,
        s.update,
        s.replace,
        s.delete
    );
    out
}

/// The text rendering.
pub fn text(plan: &Plan, color: Color) -> String {
    let p = Paint(color);
    let mut out = String::new();
    out.push_str(&drift_text(&plan.drift, color));
    if !plan.has_changes() {
        let _ = writeln!(
            out,
            "{} The environment `{}` matches the configuration.",
            p.green("No changes."),
            plan.environment
        );
        return out;
    }
    let _ = writeln!(
        out,
        "baton will perform the following actions in environment `{}`:\n",
        plan.environment
    );
    for (group, changes) in groups(plan) {
        let _ = writeln!(out, "{}", p.bold(&group));
        for c in changes {
            let reason = match c.action {
                Action::Create if c.reason == Reason::New => String::new(),
                _ => format!(" ({})", c.reason.describe()),
            };
            let _ = writeln!(
                out,
                "  # {} {}{}",
                p.bold(&c.address),
                verb(c.action),
                reason
            );
            let _ = writeln!(out, "  {} {} {{", symbol(&p, c.action), c.kind);
            attr_lines(&mut out, &p, c, "      ");
            let _ = writeln!(out, "    }}\n");
        }
    }
    let s = plan.summary();
    let _ = writeln!(
        out,
        "{} {} to add, {} to change, {} to replace, {} to destroy.",
        p.bold("Plan:"),
        s.create,
        s.update,
        s.replace,
        s.delete
    );
    out
}

/// The "changed outside baton" section (empty when there is no drift).
pub fn drift_text(drift: &[crate::plan::Drift], color: Color) -> String {
    let p = Paint(color);
    let mut out = String::new();
    let plan = DriftOnly { drift };
    if !plan.drift.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            p.bold("Objects changed outside baton since the last apply:")
        );
        for d in plan.drift {
            match &d.after {
                None => {
                    let _ = writeln!(out, "  # {} was deleted outside baton", p.bold(&d.address));
                }
                Some(after) => {
                    let _ = writeln!(out, "  # {} was changed outside baton", p.bold(&d.address));
                    let c = Change {
                        address: d.address.clone(),
                        uid: String::new(),
                        kind: d.kind.clone(),
                        provider: String::new(),
                        module: String::new(),
                        workloads: Vec::new(),
                        action: Action::Update,
                        reason: Reason::Drift,
                        before: Some(std::sync::Arc::new(d.before.clone())),
                        after: Some(std::sync::Arc::new(after.clone())),
                        depends_on: Vec::new(),
                        create_before_destroy: false,
                        protected: false,
                        triggers: None,
                        stateful: false,
                    };
                    attr_lines(&mut out, &p, &c, "      ");
                }
            }
            out.push('\n');
        }
    }
    out
}

struct DriftOnly<'a> {
    drift: &'a [crate::plan::Drift],
}

/// `plan` in `format` (`compact`: one line per change in text): what `plan` and `show
/// FILE` print, the same bytes for the same plan.
pub fn formatted(plan: &Plan, format: super::Format, compact: bool, color: Color) -> String {
    match format {
        super::Format::Text if compact => self::compact(plan, color),
        super::Format::Text => text(plan, color),
        super::Format::Markdown => super::markdown::render(plan, &Default::default()),
        super::Format::Json => {
            let json =
                serde_json::to_string_pretty(&self::json(plan)).expect("plan JSON serializes");
            format!("{json}\n")
        }
    }
}
