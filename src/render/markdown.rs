//! Plans as Markdown for a pull-request comment: colour-free, stable, and written so a
//! reviewer decides from the first screen. Order of importance, which is also the order
//! in which content is cut to stay under GitHub's comment limit:
//!
//! 1. the verdict line and counts, destroys and replaces called out first and loudly,
//!    with a ⚠️ data-loss line for each one of an object that holds data (its module
//!    says `stateful = true`);
//! 2. a table of every change: action, address, why, workloads (four columns, so the
//!    reason stays on screen; the Score uid and module are in the details);
//! 3. drift, in its own section before the changes;
//! 4. a mermaid graph of the changed part of the graph, grouped by workload, cut to the
//!    changed objects (with a note) when the neighbourhood is too big to read;
//! 5. per-resource `<details>` with attribute diffs (manifests as unified diffs).
//!
//! Secrets are redacted by `Value`; nothing here can reveal one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::plan::{Action, Change, Drift, Plan, Reason};
use crate::provider::Attrs;
use crate::value::{SENSITIVE_TEXT, UNKNOWN_TEXT, Value};

/// GitHub's limit on a comment body, in characters.
pub const GITHUB_LIMIT: usize = 65_536;

/// Options of the Markdown rendering.
#[derive(Debug, Clone)]
pub struct MarkdownOptions {
    /// Largest output, in characters.
    pub limit: usize,
    /// Include the mermaid graph.
    pub graph: bool,
}

impl Default for MarkdownOptions {
    fn default() -> MarkdownOptions {
        MarkdownOptions {
            limit: GITHUB_LIMIT,
            graph: true,
        }
    }
}

fn icon(a: Action) -> &'static str {
    match a {
        Action::Create => "🟢",
        Action::Update => "🟡",
        Action::Replace => "🟠",
        Action::Delete => "🔴",
        Action::NoOp => "⚪",
        Action::Move => "🔵",
    }
}

/// The reason in words a reviewer reads.
pub fn why(c: &Change) -> String {
    match (&c.moved_from, &c.reason) {
        (Some(from), Reason::Moved) => format!("moved from `{from}`: it keeps its name and data"),
        (Some(from), _) => format!("{}; moved from `{from}`", reason(c)),
        _ => reason(c),
    }
}

fn reason(c: &Change) -> String {
    match &c.reason {
        Reason::New => "new".into(),
        Reason::Changed(attrs) => {
            let parts: Vec<String> = attrs
                .iter()
                .map(|a| {
                    // For maps (manifest files), say which entries changed.
                    let b = c
                        .before
                        .as_ref()
                        .and_then(|x| x.get(a))
                        .and_then(Value::as_map);
                    let n = c
                        .after
                        .as_ref()
                        .and_then(|x| x.get(a))
                        .and_then(Value::as_map);
                    match (b, n) {
                        (Some(b), Some(n))
                            if !c
                                .after
                                .as_ref()
                                .and_then(|x| x.get(a))
                                .is_some_and(Value::is_sensitive) =>
                        {
                            let keys: BTreeSet<&String> = b.keys().chain(n.keys()).collect();
                            let changed: Vec<&str> = keys
                                .into_iter()
                                .filter(|k| crate::plan::diff::differs(b.get(*k), n.get(*k)))
                                .map(String::as_str)
                                .collect();
                            format!("`{a}` ({})", changed.join(", "))
                        }
                        _ => format!("`{a}`"),
                    }
                })
                .collect();
            format!("changed: {}", parts.join(", "))
        }
        Reason::ForceNew(a) => format!("force-new attribute `{a}` changed"),
        Reason::Drift => "drift correction".into(),
        Reason::Tainted => "an earlier create did not finish".into(),
        Reason::ReplaceRequested => "replacement requested".into(),
        Reason::NoLongerReferenced => "no longer referenced".into(),
        Reason::ReplaceTriggered => "replace triggered by a changed value".into(),
        Reason::Mark => {
            "ownership marker written (recorded by an earlier baton, or moved by `state mv`)".into()
        }
        Reason::Protection(true) => "`prevent_destroy` set (recorded in the state only)".into(),
        Reason::Protection(false) => "`prevent_destroy` lifted (recorded in the state only)".into(),
        Reason::Moved => "moved".into(),
        Reason::Unchanged => "unchanged".into(),
    }
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn verdict(plan: &Plan) -> String {
    let s = plan.summary();
    let env = &plan.environment;
    if !plan.has_changes() {
        let drift = if plan.drift.is_empty() {
            String::new()
        } else {
            format!(" ({} changed outside baton, see below)", plan.drift.len())
        };
        return format!("### ✅ baton plan `{env}`: no changes{drift}\n");
    }
    let mut loud = Vec::new();
    if s.delete > 0 {
        loud.push(format!("🔴 **{} to destroy**", s.delete));
    }
    if s.replace > 0 {
        loud.push(format!("🟠 **{} to replace**", s.replace));
    }
    let head = if loud.is_empty() { "📋" } else { "⚠️" };
    let mut line = format!("### {head} baton plan `{env}`: ");
    if !loud.is_empty() {
        line.push_str(&loud.join(", "));
        line.push_str(" · ");
    }
    let summary = super::plan::summary_line(&s);
    line.push_str(summary.trim_end_matches('.'));
    line.push('\n');
    let dangerous: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace))
        .collect();
    if !dangerous.is_empty() {
        line.push('\n');
        for c in dangerous.iter().take(10) {
            let _ = writeln!(
                line,
                "> {} **{}** `{}`: {}",
                icon(c.action),
                c.action.as_str(),
                c.address,
                why(c)
            );
        }
        if dangerous.len() > 10 {
            let _ = writeln!(
                line,
                "> … and {} more destroys or replaces (see the table)",
                dangerous.len() - 10
            );
        }
        // Every one that loses data, however many: this is what a reviewer must not miss.
        let losses: Vec<&&Change> = dangerous.iter().filter(|c| c.stateful).collect();
        if !losses.is_empty() {
            line.push('\n');
        }
        for c in losses {
            let verb = if c.action == Action::Delete {
                "deletes"
            } else {
                "replaces"
            };
            let _ = writeln!(
                line,
                "> ⚠️ **data loss**: this plan {verb} `{}` ({}), and the data it holds with it",
                c.address, c.kind
            );
        }
    }
    let hints = crate::plan::renames::hints(plan);
    if !hints.is_empty() {
        line.push_str("\n> 💡 **this looks like a rename**: what is destroyed is created again under a new name. To keep the objects (with their names and data) instead, add to `baton.hcl`:\n\n```hcl\n");
        for (from, to) in hints {
            let _ = writeln!(line, "moved {{\n  from = \"{from}\"\n  to   = \"{to}\"\n}}");
        }
        line.push_str("```\n");
    }
    line
}

fn table(changes: &[&Change], limit_rows: usize) -> (String, usize) {
    let mut out = String::from("| action | address | why | workloads |\n|---|---|---|---|\n");
    let mut shown = 0;
    for c in changes.iter().take(limit_rows) {
        let _ = writeln!(
            out,
            "| {} {}{} | `{}` | {} | {} |",
            icon(c.action),
            c.action.as_str(),
            if c.stateful && matches!(c.action, Action::Delete | Action::Replace) {
                " ⚠️"
            } else {
                ""
            },
            escape_cell(&c.address),
            escape_cell(&why(c)),
            c.workloads.join(", ")
        );
        shown += 1;
    }
    (out, changes.len() - shown)
}

/// Text for HTML (a `<summary>`, where Markdown is not read): `&`, `<`, `>` escaped and
/// each `` `code` `` span as `<code>`.
fn html(s: &str) -> String {
    let escaped = s
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let mut out = String::new();
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    // An odd number of backticks: the last one was literal.
    if escaped.matches('`').count() % 2 == 1 {
        out = escaped;
    }
    out
}

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

fn unified(label: &str, before: &str, after: &str, out: &mut String) {
    let diff = similar::TextDiff::from_lines(before, after);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{label}"), &format!("b/{label}"))
        .to_string();
    out.push_str(&text);
    if !text.ends_with('\n') {
        out.push('\n');
    }
}

fn value_diff(label: &str, b: Option<&Value>, a: Option<&Value>, out: &mut String) {
    match (b, a) {
        (Some(Value::String(x)), Some(Value::String(y)))
            if x.contains('\n') || y.contains('\n') =>
        {
            unified(label, x, y, out)
        }
        (None, Some(Value::String(y))) if y.contains('\n') => unified(label, "", y, out),
        (Some(Value::String(x)), None) if x.contains('\n') => unified(label, x, "", out),
        (Some(Value::Map(bm)), Some(Value::Map(am))) => map_diff(label, bm, am, out),
        (None, Some(Value::Map(am))) => map_diff(label, &crate::value::Map::new(), am, out),
        (Some(Value::Map(bm)), None) => map_diff(label, bm, &crate::value::Map::new(), out),
        // Two secrets read the same: one line says that it changed.
        (Some(b), Some(a)) if b.is_sensitive() && a.is_sensitive() && inline(b) == inline(a) => {
            let _ = writeln!(out, "! {label} = {} (changed)", inline(a));
        }
        _ => {
            if let Some(b) = b {
                let _ = writeln!(out, "- {label} = {}", inline(b));
            }
            if let Some(a) = a {
                let _ = writeln!(out, "+ {label} = {}", inline(a));
            }
        }
    }
}

fn map_diff(label: &str, b: &crate::value::Map, a: &crate::value::Map, out: &mut String) {
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    for k in keys {
        let (x, y) = (b.get(k), a.get(k));
        if crate::plan::diff::differs(x, y) {
            value_diff(&format!("{label}/{k}"), x, y, out);
        }
    }
}

/// The attribute diff of one change, in `diff` syntax.
pub fn change_diff(c: &Change) -> String {
    let empty = Attrs::new();
    let before = c.before.as_deref().unwrap_or(&empty);
    let after = if c.action == Action::Delete {
        &empty
    } else {
        c.after.as_deref().unwrap_or(&empty)
    };
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let mut out = String::new();
    for k in keys {
        let (b, a) = (
            before.get(k).filter(|v| !v.is_null()),
            after.get(k).filter(|v| !v.is_null()),
        );
        if c.action == Action::Delete || c.before.is_none() || crate::plan::diff::differs(b, a) {
            value_diff(k, b, a, &mut out);
        }
    }
    out
}

fn details(c: &Change) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<details><summary>{} {} <code>{}</code> — {}</summary>\n",
        icon(c.action),
        c.action.as_str(),
        html(&c.address),
        html(&why(c))
    );
    let mut about = Vec::new();
    if !c.uid.is_empty() {
        about.push(format!("uid `{}`", c.uid));
    }
    if !c.module.is_empty() {
        about.push(format!("module `{}`", c.module));
    }
    about.push(format!("kind `{}`", c.kind));
    let _ = writeln!(out, "{}\n", about.join(" · "));
    let _ = writeln!(out, "```diff\n{}```\n</details>\n", change_diff(c));
    out
}

fn drift_section(drift: &[Drift]) -> String {
    if drift.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "#### Changed outside baton ({})\n\nThe plan below converges these back to the configuration.\n\n",
        drift.len()
    );
    for d in drift {
        let c = Change {
            address: d.address.clone(),
            uid: String::new(),
            kind: d.kind.clone(),
            provider: String::new(),
            module: String::new(),
            workloads: Vec::new(),
            action: if d.after.is_none() {
                Action::Delete
            } else {
                Action::Update
            },
            reason: Reason::Drift,
            before: Some(std::sync::Arc::new(d.before.clone())),
            after: d.after.clone().map(std::sync::Arc::new),
            desired: None,
            depends_on: Vec::new(),
            create_before_destroy: false,
            protected: false,
            triggers: None,
            stateful: false,
            moved_from: None,
        };
        let what = if d.after.is_none() {
            "deleted outside baton"
        } else {
            "changed outside baton"
        };
        let _ = writeln!(
            out,
            "<details><summary><code>{}</code> {what}</summary>\n\n```diff\n{}```\n</details>\n",
            d.address,
            change_diff(&c)
        );
    }
    out
}

/// Above this many nodes the unchanged neighbours are left out of the graph; above it
/// changed objects too (a note says how many): mermaid shrinks every label to fit a
/// comment's width, and past a few dozen boxes none can be read.
const GRAPH_NODES: usize = 40;

/// A mermaid flowchart of the changed objects and their direct neighbours, coloured by
/// action, one box per workload (shared resources in a box of their own); labels drop
/// the workload part of the address, which the box names.
pub fn mermaid(plan: &Plan) -> String {
    let changed: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    let by_addr = plan.by_address();
    let changed_set: BTreeSet<&str> = changed.iter().map(|c| c.address.as_str()).collect();
    let mut nodes: BTreeSet<&str> = changed_set.clone();
    let mut edges: BTreeSet<(&str, &str)> = BTreeSet::new();
    for c in &plan.changes {
        for d in &c.depends_on {
            let d = d.as_str();
            let touches = nodes.contains(c.address.as_str()) || nodes.contains(d);
            if touches && by_addr.contains_key(d) {
                edges.insert((d, c.address.as_str()));
            }
        }
    }
    for (a, b) in &edges {
        nodes.insert(a);
        nodes.insert(b);
    }
    let mut note = String::new();
    if nodes.len() > GRAPH_NODES {
        let left_out = nodes.len() - changed_set.len();
        nodes = changed_set;
        if left_out > 0 {
            note = format!("{left_out} unchanged neighbours are left out");
        }
    }
    if nodes.len() > GRAPH_NODES {
        let more = nodes.len() - GRAPH_NODES;
        // Deletes and replaces first: they matter most; then whole workloads in order.
        let mut ranked: Vec<&str> = nodes.iter().copied().collect();
        ranked.sort_by_key(|a| {
            let c = by_addr.get(a);
            let action = c.map(|c| c.action).unwrap_or(Action::NoOp);
            let workload = c.and_then(|c| c.workloads.first().map(String::as_str));
            (
                !matches!(action, Action::Delete | Action::Replace),
                workload,
                *a,
            )
        });
        nodes = ranked.into_iter().take(GRAPH_NODES).collect();
        if !note.is_empty() {
            note.push_str("; ");
        }
        let _ = write!(note, "{more} more changes are not drawn (see the table)");
    }
    edges.retain(|(a, b)| nodes.contains(a) && nodes.contains(b));
    let ids: BTreeMap<&str, String> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, format!("n{i}")))
        .collect();
    // Workload of each node: the first that needs it; none for shared resources.
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for n in &nodes {
        let group = by_addr
            .get(n)
            .and_then(|c| c.workloads.first().cloned())
            .unwrap_or_default();
        groups.entry(group).or_default().push(n);
    }
    let mut out = String::from("```mermaid\nflowchart LR\n");
    for (gi, (group, members)) in groups.iter().enumerate() {
        let indent = if group.is_empty() { "  " } else { "    " };
        if group.is_empty() {
            out.push_str("  %% shared resources\n");
        } else {
            let _ = writeln!(out, "  subgraph w{gi}[\"{}\"]", group.replace('"', "'"));
        }
        for n in members {
            let action = by_addr.get(n).map(|c| c.action).unwrap_or(Action::NoOp);
            let label = short_label(n, group).replace('"', "'");
            let _ = writeln!(
                out,
                "{indent}{}[\"{}\"]:::{}",
                ids[n],
                label,
                action.as_str().replace('-', "")
            );
        }
        if !group.is_empty() {
            out.push_str("  end\n");
        }
    }
    for (a, b) in &edges {
        let _ = writeln!(out, "  {} --> {}", ids[a], ids[b]);
    }
    out.push_str("  classDef create fill:#d4f7d4,stroke:#2da44e\n");
    out.push_str("  classDef update fill:#fff5c2,stroke:#bf8700\n");
    out.push_str("  classDef replace fill:#ffe2c2,stroke:#bc4c00\n");
    out.push_str("  classDef delete fill:#ffd7d5,stroke:#cf222e\n");
    out.push_str("  classDef noop fill:#f6f8fa,stroke:#8c959f\n");
    // Only in plans that move something, so other plans' graphs stay as they were.
    if changed.iter().any(|c| c.action == Action::Move) {
        out.push_str("  classDef move fill:#ddf4ff,stroke:#0969da\n");
    }
    out.push_str("```\n");
    if !note.is_empty() {
        let _ = writeln!(out, "\n_Graph: {note}._");
    }
    out
}

/// A node's label inside its workload's box: `workload.NAME` is `manifests`, and a
/// resource of the workload drops the `type.class#workload.` part of its address
/// (`postgres.default#web.db/postgres_role.owner` → `db/postgres_role.owner`).
fn short_label<'a>(address: &'a str, workload: &str) -> &'a str {
    if workload.is_empty() {
        return address;
    }
    if crate::addr::workload_of(address) == Some(workload) {
        return "manifests";
    }
    let prefix_end = address.find('/').unwrap_or(address.len());
    match address[..prefix_end].split_once('#') {
        Some((_, rest)) => match rest
            .strip_prefix(workload)
            .and_then(|r| r.strip_prefix('.'))
        {
            Some(_) => &address[address.find('#').unwrap_or(0) + 1 + workload.len() + 1..],
            None => address,
        },
        None => address,
    }
}

/// The Markdown rendering, cut to `opts.limit` characters by dropping the least
/// important content first and saying what was cut.
pub fn render(plan: &Plan, opts: &MarkdownOptions) -> String {
    let head = verdict(plan);
    let changed: Vec<&Change> = plan
        .changes
        .iter()
        .filter(|c| c.action != Action::NoOp)
        .collect();
    let drift = drift_section(&plan.drift);
    let graph = if opts.graph {
        mermaid(plan)
    } else {
        String::new()
    };
    let all_details: Vec<String> = changed.iter().map(|c| details(c)).collect();
    let footer_room = 400;
    let budget = opts.limit.saturating_sub(footer_room);
    let chars = |s: &str| s.chars().count();

    let mut cut: Vec<String> = Vec::new();
    // The table: all rows if they fit, else as many as fit.
    let (mut tbl, mut hidden_rows) = table(&changed, changed.len());
    if chars(&head) + chars(&tbl) > budget {
        // The most rows that fit (binary search; each row costs about the same).
        let (mut lo, mut hi) = (0usize, changed.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if chars(&head) + chars(&table(&changed, mid).0) <= budget {
                lo = mid
            } else {
                hi = mid - 1
            }
        }
        let t = table(&changed, lo);
        tbl = t.0;
        hidden_rows = t.1;
    }
    if hidden_rows > 0 {
        cut.push(format!("{hidden_rows} rows of the table"));
    }
    let mut used = chars(&head) + chars(&tbl);
    let drift_part = if !drift.is_empty() && used + chars(&drift) <= budget {
        used += chars(&drift);
        drift
    } else {
        if !drift.is_empty() {
            cut.push("the drift details".into());
        }
        String::new()
    };
    let graph_part = if !graph.is_empty() && used + chars(&graph) <= budget {
        used += chars(&graph);
        graph
    } else {
        if !graph.is_empty() {
            cut.push("the graph".into());
        }
        String::new()
    };
    let mut details_part = String::new();
    let mut details_cut = 0;
    for d in &all_details {
        // When not even the table fits, no detail is worth a row of it.
        if hidden_rows == 0 && used + chars(d) <= budget {
            used += chars(d);
            details_part.push_str(d);
        } else {
            details_cut += 1;
        }
    }
    if details_cut > 0 {
        cut.insert(
            0,
            format!(
                "details of {details_cut} change{}",
                if details_cut == 1 { "" } else { "s" }
            ),
        );
    }

    let mut out = head;
    out.push('\n');
    if !changed.is_empty() {
        out.push_str(&tbl);
        out.push('\n');
    }
    out.push_str(&drift_part);
    if !graph_part.is_empty() {
        out.push_str(&graph_part);
        out.push('\n');
    }
    out.push_str(&details_part);
    if !cut.is_empty() {
        let _ = writeln!(
            out,
            "_Cut to stay under GitHub's {} character limit: {}. Run `baton plan` for the whole plan._",
            opts.limit,
            cut.join(", ")
        );
    }
    out
}
