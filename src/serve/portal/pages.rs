//! The portal's pages as HTML (maud): each takes the API's JSON answer (and for a few,
//! a drawing made by `render`) and lays it out. Every value is escaped by maud; secret
//! values never reach here (the API redacts them), so none can be shown.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use super::request::{Form, module};
use super::{RunExtras, User, seg};
use crate::ops::Role;
use crate::plan::Action;

/// A JSON value as text: strings bare, everything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        v => v.to_string(),
    }
}

/// A time in milliseconds since the epoch, as RFC 3339 (UTC).
fn at_ms(v: &Value) -> String {
    match v.as_i64() {
        Some(ms) if ms >= 0 => {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64);
            humantime::format_rfc3339_seconds(t).to_string()
        }
        _ => "—".into(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Located diagnostics of an API answer as plain text, one per line.
pub(super) fn diagnostics_text(d: &Value) -> String {
    let Some(all) = d.as_array() else {
        return String::new();
    };
    all.iter()
        .map(|d| {
            let place = match (d["file"].as_str(), d["start"]["line"].as_u64()) {
                (Some(f), Some(l)) => {
                    format!("{f}:{l}:{}: ", d["start"]["column"].as_u64().unwrap_or(1))
                }
                (Some(f), None) => format!("{f}: "),
                _ => String::new(),
            };
            let help = d["help"]
                .as_str()
                .map(|h| format!(" (help: {h})"))
                .unwrap_or_default();
            format!(
                "{}: {place}{}{help}",
                text(&d["severity"]),
                text(&d["summary"])
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The frame of every page: the header with the user and logout, then `body`.
fn page(user: Option<&User>, title: &str, head: Markup, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · baton" }
                link rel="stylesheet" href="/portal/assets/portal.css";
                (head)
            }
            body {
                header.top {
                    a.brand href="/portal/" { "baton" }
                    @if let Some(u) = user {
                        nav {
                            a href="/portal/" { "Environments" }
                        }
                        span.who { (u.name) " · " span.role { (u.role.as_str()) } }
                        form.inline method="post" action="/portal/logout" {
                            input type="hidden" name="csrf" value=(u.csrf);
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

fn env_nav(env: &str, here: &str) -> Markup {
    let e = seg(env);
    let links = [
        ("overview", format!("/portal/env/{e}"), "Overview"),
        ("history", format!("/portal/env/{e}/history"), "History"),
        ("drift", format!("/portal/env/{e}/drift"), "Drift"),
        ("modules", format!("/portal/env/{e}/modules"), "Modules"),
        (
            "request",
            format!("/portal/env/{e}/request"),
            "Request a resource",
        ),
    ];
    html! {
        nav.tabs {
            span.env { "environment " code { (env) } }
            @for (key, href, label) in &links {
                @if *key == here { a.here href=(href) { (label) } } @else { a href=(href) { (label) } }
            }
        }
    }
}

/// An error page.
pub(super) fn error(user: Option<&User>, status: axum::http::StatusCode, message: &str) -> Markup {
    page(
        user,
        "Error",
        html! {},
        html! {
            h1 { "Error " (status.as_u16()) }
            pre.error { (message) }
            p { a href="/portal/" { "Back to the environments" } }
        },
    )
}

/// The login form.
pub(super) fn login(csrf: &str, problem: Option<&str>) -> Markup {
    page(
        None,
        "Log in",
        html! {},
        html! {
            h1 { "Log in" }
            p { "Paste a token made with " code { "baton token add NAME --role ROLE" } "." }
            @if let Some(p) = problem { p.error { (p) } }
            form.card method="post" action="/portal/login" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Token " input #token type="password" name="token" autocomplete="off" required; }
                button #login type="submit" { "Log in" }
            }
        },
    )
}

fn drift_badge(d: &Value) -> Markup {
    let status = d["status"].as_str().unwrap_or("unknown");
    html! { span class=(format!("badge drift-{status}")) { "drift: " (status) } }
}

/// The workloads of an environment's summary (the API's): those of the Score files and
/// of the state, the ones not applied yet marked so.
fn workloads(env: &str, v: &Value) -> Markup {
    let empty = Vec::new();
    let pending = v["not_applied"].as_array().unwrap_or(&empty);
    html! {
        ul.workloads {
            @for w in v["workloads"].as_array().unwrap_or(&empty) {
                @let name = w.as_str().unwrap_or("");
                li {
                    a.workload href=(format!("/portal/env/{}/workloads/{}", seg(env), seg(name))) { (name) }
                    @if pending.contains(w) { " " span.badge.not-applied { "not applied yet" } }
                }
            }
        }
    }
}

/// The environments, each with its last apply, drift status, counts and workloads.
pub(super) fn overview(user: &User, v: &Value) -> Markup {
    let empty = Vec::new();
    let envs = v["environments"].as_array().unwrap_or(&empty);
    page(
        Some(user),
        "Environments",
        html! {},
        html! {
            h1 { "Environments" }
            div.cards {
                @for e in envs {
                    @let name = e["name"].as_str().unwrap_or("");
                    section.card.env id=(format!("env-{name}")) {
                        h2 { a href=(format!("/portal/env/{}", seg(name))) { (name) } " " (drift_badge(&e["drift"])) }
                        dl {
                            dt { "last apply" }
                            dd { @if e["last_apply"].is_null() { "never" } @else {
                                "serial " (text(&e["last_apply"]["serial"])) " at " (text(&e["last_apply"]["at"])) " by " (text(&e["last_apply"]["who"])) } }
                            dt { "objects" } dd { (text(&e["objects"])) }
                            dt { "runs" } dd { (text(&e["runs"]["queued"])) " queued, " (text(&e["runs"]["running"])) " running" }
                        }
                        h3 { "Workloads" }
                        (workloads(name, e))
                    }
                }
            }
        },
    )
}

fn runs_table(runs: &[Value]) -> Markup {
    html! {
        table.runs {
            thead { tr { th { "run" } th { "kind" } th { "status" } th { "by" } th { "queued at" } } }
            tbody {
                @for r in runs {
                    @let id = r["id"].as_str().unwrap_or("");
                    tr {
                        td { a href=(format!("/portal/runs/{}", seg(id))) { code { (id.get(..8).unwrap_or(id)) } } }
                        td { (text(&r["kind"])) }
                        td { span class=(format!("badge status-{}", text(&r["status"]))) { (text(&r["status"])) } }
                        td { (text(&r["requested_by"])) }
                        td { (at_ms(&r["created_at_ms"])) }
                    }
                }
            }
        }
    }
}

/// One environment: summary, workloads, recent runs and locks.
pub(super) fn environment(user: &User, env: &str, v: &Value) -> Markup {
    let empty = Vec::new();
    page(
        Some(user),
        env,
        html! {},
        html! {
            h1 { "Environment " code { (env) } " " (drift_badge(&v["drift"])) }
            (env_nav(env, "overview"))
            dl {
                dt { "serial" } dd { (text(&v["serial"])) }
                dt { "objects" } dd { (text(&v["objects"])) }
                dt { "last apply" } dd { @if v["last_apply"].is_null() { "never" } @else {
                    "serial " (text(&v["last_apply"]["serial"])) " at " (text(&v["last_apply"]["at"])) " by " (text(&v["last_apply"]["who"])) } }
            }
            h2 { "Workloads" }
            (workloads(env, v))
            h2 { "Recent runs" }
            (runs_table(v["recent_runs"].as_array().unwrap_or(&empty)))
            @if let Some(locks) = v["locks"].as_array().filter(|l| !l.is_empty()) {
                h2 { "Locks held" }
                table { tbody { @for l in locks { tr { td { code { (text(&l["id"])) } } td { (text(&l["holder"])) } td { (text(&l["what"])) } } } } }
            }
        },
    )
}

/// A workload: graph, resources, outputs (redacted by the API), manifests.
pub(super) fn workload(
    user: &User,
    env: &str,
    name: &str,
    v: &Value,
    svg: Result<String, String>,
) -> Markup {
    let empty = Vec::new();
    page(
        Some(user),
        name,
        html! {},
        html! {
            h1 { "Workload " code { (name) } }
            (env_nav(env, ""))
            p { a.button #request href=(format!("/portal/env/{}/request?workload={}", seg(env), seg(name))) { "Request a resource for " (name) } }
            h2 { "Graph" }
            div.graph {
                @match &svg {
                    // The SVG is built by `render::graph_svg`, which escapes every label.
                    Ok(svg) => { (PreEscaped(svg.as_str())) }
                    Err(e) => { pre.error { (e) } }
                }
            }
            h2 { "Resources" }
            table #resources {
                thead { tr { th { "uid" } th { "kind" } th { "module" } th { "address" } } }
                tbody {
                    @for r in v["resources"].as_array().unwrap_or(&empty) {
                        tr {
                            td { code { (text(&r["uid"])) } }
                            td { (text(&r["kind"])) }
                            td { (text(&r["module"])) }
                            td { details { summary { code { (text(&r["address"])) } } pre { (pretty(&r["attributes"])) } } }
                        }
                    }
                }
            }
            h2 { "Outputs" }
            @if let Some(outputs) = v["outputs"].as_object() {
                @for (uid, o) in outputs {
                    h3 { code { (uid) } }
                    table.outputs { tbody {
                        @if let Some(o) = o.as_object() { @for (k, val) in o {
                            tr { th { (k) } td { code { (text(val)) } } }
                        } }
                    } }
                }
            } @else { p { "No outputs (the project does not plan as it is)." } }
            h2 { "Manifests" }
            @if let Some(m) = v["manifests"].as_object() {
                p { "Written to " code { (text(&m.get("dir").cloned().unwrap_or(Value::Null))) } }
                @if let Some(files) = m.get("files").and_then(Value::as_object) {
                    @for (f, body) in files {
                        details.manifest { summary { code { (f) } } pre { (text(body)) } }
                    }
                }
            } @else { p { "No manifests yet." } }
        },
    )
}

/// A unified diff, one line a span classed by what the line is (`add`, `del`, `hunk`,
/// `file`, `ctx`), which the style sheet colours.
fn unified(diff: &str) -> Markup {
    html! {
        pre.udiff {
            @for line in diff.lines() {
                @let class = match line.as_bytes().first() {
                    _ if line.starts_with("+++") || line.starts_with("---") => "file",
                    Some(b'+') => "add",
                    Some(b'-') => "del",
                    Some(b'@') => "hunk",
                    _ => "ctx",
                };
                span class=(class) { (line) }
            }
        }
    }
}

/// The diff between two applies' configurations (the API's answer).
fn configuration_diff(d: &Value) -> Markup {
    let empty = Vec::new();
    let files = |key: &str| d[key].as_array().unwrap_or(&empty).clone();
    let (score, modules, settings) = (files("score"), files("modules"), files("settings"));
    html! {
        section.card #diff {
            h2 { "Configuration changes from serial " (text(&d["from"])) " to serial " (text(&d["to"])) }
            @if score.is_empty() && modules.is_empty() && settings.is_empty() {
                p #no-changes { "No configuration changes: both applies applied the same Score files, modules and settings." }
            }
            @for (title, list) in [("Score files", &score), ("Modules", &modules)] {
                @if !list.is_empty() {
                    h3 { (title) }
                    @for f in list {
                        details.file open {
                            summary { code { (text(&f["name"])) } " " span class=(format!("badge change-{}", text(&f["change"]))) { (text(&f["change"])) } }
                            @match f["diff"].as_str().filter(|d| !d.is_empty()) {
                                Some(diff) => { (unified(diff)) }
                                None => { p.note { "The text is not in the state." } }
                            }
                        }
                    }
                }
            }
            @if !settings.is_empty() {
                h3 { "Settings" }
                table.settings {
                    thead { tr { th { "setting" } th { "before" } th { "after" } } }
                    tbody { @for s in &settings { tr {
                        td { code { (text(&s["name"])) } }
                        td.del { code { (if s["before"].is_null() { "(not set)".to_string() } else { s["before"].to_string() }) } }
                        td.add { code { (if s["after"].is_null() { "(not set)".to_string() } else { s["after"].to_string() }) } }
                    } } }
                }
            }
        }
    }
}

/// The applies of an environment, newest first, each with its changes; a form that
/// compares the configurations of any two (and the diff when asked); per apply with a
/// recorded configuration, a button that plans a rollback to it (developer and above).
pub(super) fn history(
    user: &User,
    env: &str,
    v: &Value,
    compare: &super::Compare,
    diff: Option<&Value>,
) -> Markup {
    let empty = Vec::new();
    let applies = v["applies"].as_array().unwrap_or(&empty);
    let configured: Vec<u64> = v["deployments"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(Value::as_u64)
        .rev()
        .collect();
    // Unless asked otherwise, the form offers the two latest applies.
    let latest = |n: usize| configured.get(n).map(u64::to_string).unwrap_or_default();
    let a = compare.a.clone().unwrap_or_else(|| latest(1));
    let b = compare.b.clone().unwrap_or_else(|| latest(0));
    let may_plan = user.role >= Role::Developer;
    page(
        Some(user),
        "History",
        html! {},
        html! {
            h1 { "History of " code { (env) } }
            (env_nav(env, "history"))
            p.note { "Each apply with the changes it made (before and after, redacted). Compare the configurations of two applies (Score files, modules, settings), or plan a rollback to one: the plan page shows what cannot be rolled back." }
            @if configured.len() >= 2 || diff.is_some() {
                form.card #compare-form method="get" action=(format!("/portal/env/{}/history", seg(env))) {
                    label.inline { "From serial "
                        select #a name="a" { @for s in &configured { option value=(s) selected[s.to_string() == a] { (s) } } } }
                    label.inline { " to serial "
                        select #b name="b" { @for s in &configured { option value=(s) selected[s.to_string() == b] { (s) } } } }
                    " " button #compare type="submit" { "Compare" }
                }
            }
            @if let Some(d) = diff { (configuration_diff(d)) }
            table #history {
                thead { tr { th { "serial" } th { "at" } th { "by" } th { "changes" } @if may_plan { th { "rollback" } } } }
                tbody {
                    @for (i, a) in applies.iter().rev().enumerate() {
                        tr.apply data-serial=(text(&a["serial"])) {
                            td { (text(&a["serial"])) }
                            td { (text(&a["at"])) }
                            td { (text(&a["who"])) }
                            td {
                                details open[i == 0] {
                                    summary { @if let Some(c) = a["counts"].as_object() {
                                        @for (k, n) in c { span class=(format!("badge action-{k}")) { (n) " " (k) } " " } } }
                                    table.changes { tbody {
                                        @for c in a["changes"].as_array().unwrap_or(&empty) {
                                            tr { td { (text(&c["action"])) } td { code { (text(&c["address"])) } }
                                                 td { details { summary { "before / after" } pre { (pretty(&c["before"])) } pre { (pretty(&c["after"])) } } } }
                                        }
                                    } }
                                }
                            }
                            @if may_plan {
                                td { @if a["serial"].as_u64().is_some_and(|s| configured.contains(&s)) {
                                    form.inline method="post" action=(format!("/portal/env/{}/history/rollback", seg(env))) {
                                        input type="hidden" name="csrf" value=(user.csrf);
                                        input type="hidden" name="at" value=(text(&a["serial"]));
                                        button.rollback type="submit" { "Plan a rollback to this apply" }
                                    }
                                } @else { span.note { "no configuration recorded" } } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The last drift check of an environment, and a button for a new one.
pub(super) fn drift(user: &User, env: &str, v: &Value) -> Markup {
    let d = &v["drift"];
    page(
        Some(user),
        "Drift",
        html! {},
        html! {
            h1 { "Drift of " code { (env) } " " (drift_badge(d)) }
            (env_nav(env, "drift"))
            @match v["drift_interval_seconds"].as_u64() {
                Some(s) => { p { "Checked every " (s) " s (" code { "serve { drift_interval }" } ")." } }
                None => { p { "No scheduled checks (" code { "serve { drift_interval }" } " in baton.hcl)." } }
            }
            @if d["status"] == "unknown" { p { "No drift check has finished yet." } } @else {
                dl {
                    dt { "checked at" } dd { (at_ms(&d["checked_at_ms"])) }
                    dt { "requested by" } dd { (text(&d["requested_by"])) }
                    dt { "objects drifted" } dd { (text(&d["drifted"])) }
                    dt { "exit status" } dd { (text(&d["exit_status"])) }
                    dt { "run" } dd { a href=(format!("/portal/runs/{}", seg(d["run"].as_str().unwrap_or("")))) { (text(&d["run"])) } }
                }
                @if let Some(e) = d["error"].as_str() { pre.error { (e) } }
                @if let Some(md) = d["markdown"].as_str() { h2 { "Report" } pre.markdown #drift-report { (md) } }
            }
            @if user.role >= Role::Developer {
                form method="post" action=(format!("/portal/env/{}/drift", seg(env))) {
                    input type="hidden" name="csrf" value=(user.csrf);
                    button type="submit" { "Check drift now" }
                }
            }
        },
    )
}

/// The module catalog of an environment.
pub(super) fn modules(user: &User, env: &str, v: &Value) -> Markup {
    let empty = Vec::new();
    page(
        Some(user),
        "Modules",
        html! {},
        html! {
            h1 { "Modules of " code { (env) } }
            (env_nav(env, "modules"))
            @for m in v["modules"].as_array().unwrap_or(&empty) {
                section.card.module {
                    h2 { code { (text(&m["name"])) } }
                    p { "type " code { (text(&m["type"])) }
                        @if !m["class"].is_null() { " · class " code { (text(&m["class"])) } }
                        @if !m["id"].is_null() { " · id " code { (text(&m["id"])) } }
                        " · " (text(&m["origin"])) }
                    @if let Some(d) = m["description"].as_str() { p { (d) } }
                    @if let Some(ps) = m["params"].as_array().filter(|p| !p.is_empty()) {
                        table.params {
                            thead { tr { th { "param" } th { "type" } th { "default" } th { "description" } } }
                            tbody { @for p in ps { tr {
                                td { code { (text(&p["name"])) } @if p["required"] == true { " (required)" } }
                                td { (text(&p["type"])) } td { code { (text(&p["default"])) } } td { (text(&p["description"])) }
                            } } }
                        }
                    }
                    p { "outputs: " @for o in m["outputs"].as_array().unwrap_or(&empty) {
                        code { (text(&o["name"])) } @if o["sensitive"] == true { " (sensitive)" } " " } }
                }
            }
        },
    )
}

/// The request form: workload and module first, then the module's params.
pub(super) fn request(
    user: &User,
    env: &str,
    e: &Value,
    m: &Value,
    form: &Form,
    problem: Option<&str>,
) -> Markup {
    let empty = Vec::new();
    let workloads = e["workloads"].as_array().unwrap_or(&empty);
    let chosen = module(m, &form.module);
    let requestable: Vec<&Value> = m["modules"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter(|m| m["id"].is_null())
        .collect();
    page(
        Some(user),
        "Request a resource",
        html! {},
        html! {
            h1 { "Request a resource in " code { (env) } }
            (env_nav(env, "request"))
            @if let Some(p) = problem { pre.error #problem { (p) } }
            @if user.role < Role::Developer { p.note { "Your role (" (user.role.as_str()) ") may look, not request: requesting needs developer or above." } }
            form.card method="get" action=(format!("/portal/env/{}/request", seg(env))) {
                label { "Workload "
                    select #workload name="workload" {
                        @for w in workloads { @let w = w.as_str().unwrap_or("");
                            option value=(w) selected[w == form.workload] { (w) } }
                    }
                }
                label { "Module (type, class) "
                    select #module name="module" {
                        @for md in &requestable { @let n = md["name"].as_str().unwrap_or("");
                            option value=(n) selected[n == form.module] {
                                (text(&md["type"])) @if !md["class"].is_null() { " · " (text(&md["class"])) } " — " (n) } }
                    }
                }
                button #choose type="submit" { "Next" }
            }
            @if let Some(md) = chosen {
                form.card #request-form method="post" action=(format!("/portal/env/{}/request", seg(env))) {
                    input type="hidden" name="csrf" value=(user.csrf);
                    input type="hidden" name="workload" value=(form.workload);
                    input type="hidden" name="module" value=(form.module);
                    p { "A " code { (text(&md["type"])) } " for workload " code { (form.workload) } " from module " code { (form.module) } "." }
                    @if let Some(d) = md["description"].as_str() { p.note { (d) } }
                    label { "Resource name "
                        input #name name="name" required pattern="[A-Za-z0-9_-]{1,63}"
                            value=(if form.name.is_empty() { md["type"].as_str().unwrap_or("") } else { form.name.as_str() }); }
                    @for p in md["params"].as_array().unwrap_or(&empty) {
                        @let n = p["name"].as_str().unwrap_or("");
                        label {
                            code { (n) } " (" (text(&p["type"])) @if p["required"] == true { ", required" } ") "
                            input name=(format!("param.{n}")) type=(if p["sensitive"] == true { "password" } else { "text" })
                                placeholder=(if p["sensitive"] == true { String::new() } else if p["default"].is_null() { String::new() } else { text(&p["default"]) })
                                value=(if p["sensitive"] == true { "" } else { form.params.get(n).map(String::as_str).unwrap_or("") });
                            @if let Some(d) = p["description"].as_str() { small { (d) } }
                        }
                    }
                    button #plan type="submit" { "Plan this request" }
                }
            }
        },
    )
}

/// The verdict of a plan (the first line of its Markdown) without the Markdown, and
/// its class: `danger` when something is destroyed or replaced, `clean` when nothing
/// changes (the Markdown's icon says which; not every browser has a font for it).
fn verdict_line(markdown: &str) -> (String, &'static str) {
    let line = markdown
        .lines()
        .next()
        .unwrap_or("")
        .trim_start_matches('#')
        .trim()
        .replace("**", "");
    let (icon, rest) = line.split_once(' ').unwrap_or(("", &line));
    let class = match icon {
        "⚠️" => "danger",
        "✅" => "clean",
        _ => "changes",
    };
    if icon.is_ascii() {
        (line.clone(), class)
    } else {
        (rest.to_string(), class)
    }
}

/// A run: its status and log (streamed while it runs); a plan's verdict, reasons and
/// diffs with the apply button for an operator; an apply's summary.
pub(super) fn run(user: &User, v: &Value, extras: &RunExtras) -> Markup {
    let id = v["id"].as_str().unwrap_or("");
    let env = v["environment"].as_str().unwrap_or("");
    let kind = v["kind"].as_str().unwrap_or("");
    let status = v["status"].as_str().unwrap_or("");
    let finished = !matches!(status, "queued" | "running");
    let result = &v["result"];
    let head = if finished {
        html! {}
    } else {
        html! {
            script src="/portal/assets/portal.js" defer {}
            // Without scripts the page reloads itself until the run ends.
            noscript { meta http-equiv="refresh" content="2"; }
        }
    };
    page(
        Some(user),
        &format!("{kind} run"),
        head,
        html! {
            @if kind == "plan" && status == "succeeded" {
                @let (verdict, class) = verdict_line(result["markdown"].as_str().unwrap_or(""));
                h1 #verdict class=(format!("verdict {class}")) { (verdict) }
            } @else {
                h1 { (kind) " run " span #status class=(format!("badge status-{status}")) { (status) } }
            }
            (env_nav(env, ""))
            dl {
                dt { "run" } dd { code #run-id { (id) } }
                dt { "status" } dd { span #run-status class=(format!("badge status-{status}")) { (status) } }
                dt { "requested by" } dd { (text(&v["requested_by"])) }
                dt { "queued at" } dd { (at_ms(&v["created_at_ms"])) }
                dt { "finished at" } dd { (at_ms(&v["finished_at_ms"])) }
                @if let Some(files) = v["files"].as_array().filter(|f| !f.is_empty()) {
                    dt { "Score files" } dd { @for f in files { code { (text(f)) } " " } }
                }
                @if let Some(plan) = v["plan"].as_str() {
                    dt { "plan" } dd { a href=(format!("/portal/runs/{}", seg(plan))) { (plan) } }
                }
                @if let Some(at) = v["at"].as_u64() {
                    dt { "rollback to" } dd #rollback-to { "the configuration of serial " (at) " (" a href=(format!("/portal/env/{}/history", seg(env))) { "history" } ")" }
                }
            }
            @if kind == "plan" && status == "succeeded" {
                (plan_part(user, id, result, extras))
            }
            @if let Some(e) = result["error"].as_str() {
                h2 { "Error" }
                pre.error #run-error { (e) }
            }
            @if matches!(kind, "apply" | "destroy") && finished {
                @if let Some(s) = result["summary"].as_str() { p #summary { (s) } }
                p { a #to-history href=(format!("/portal/env/{}/history", seg(env))) { "See the history of " (env) } }
            }
            @if kind == "drift" && status == "succeeded" {
                @if let Some(md) = result["markdown"].as_str() { h2 { "Report" } pre.markdown { (md) } }
            }
            h2 { "Log" }
            pre #log data-events=(if finished { String::new() } else { format!("/portal/runs/{}/events", seg(id)) }) {
                @for l in &extras.log { (l) "\n" }
            }
        },
    )
}

fn plan_part(user: &User, id: &str, result: &Value, extras: &RunExtras) -> Markup {
    let changes = result["changes"] == true;
    html! {
        @if changes {
            @if user.role >= Role::Operator {
                form #apply-form method="post" action=(format!("/portal/runs/{}/apply", seg(id))) {
                    input type="hidden" name="csrf" value=(user.csrf);
                    button #apply type="submit" { "Apply" }
                }
            } @else {
                p.note #no-apply { "Only an operator may apply this plan (you are " (user.role.as_str()) ")." }
            }
        }
        // A plan back to an earlier apply: its notes (what cannot be rolled back) first.
        @if let Some(notes) = result["markdown"].as_str().and_then(|m| m.find("\n### Rollback to serial").map(|i| &m[i + 1..])) {
            h2 { "Rollback" }
            pre.markdown #rollback-notes { (notes.trim_end()) }
        }
        @if let Some(plan) = &extras.plan {
            @let changed: Vec<_> = plan.changes.iter().filter(|c| c.action != Action::NoOp).collect();
            h2 { "Changes" }
            @if changed.is_empty() { p { "Nothing to change." } } @else {
                table #reasons {
                    thead { tr { th { "action" } th { "address" } th { "why" } th { "workloads" } } }
                    tbody { @for c in &changed { tr {
                        td { span class=(format!("badge action-{}", c.action.as_str())) { (c.action.as_str()) } }
                        td { code { (c.address) } }
                        td { (crate::render::markdown::why(c)) }
                        td { (c.workloads.join(", ")) }
                    } } }
                }
                h2 { "Diffs" }
                @for c in &changed {
                    details.diff { summary { (c.action.as_str()) " " code { (c.address) } }
                        pre { (crate::render::markdown::change_diff(c)) } }
                }
            }
            details { summary { "As " code { "baton plan" } " prints it" }
                pre { (crate::render::plan::text(plan, crate::render::Color::Never)) } }
        }
        @if let Some(md) = result["markdown"].as_str() {
            details { summary { "As a pull request shows it (Markdown)" } pre.markdown { (md) } }
        }
    }
}
