//! Failure reports: inputs that did not load, a plan that failed (for people on stderr;
//! as JSON or Markdown on stdout too, so a CI job that posts the plan posts the
//! failure), and what an apply did before it failed.

use super::Color;
use crate::diag::{Diagnostics, Sources};

/// Inputs that did not load: every diagnostic, then the count.
pub fn invalid(diags: &Diagnostics, sources: &Sources, color: Color) -> String {
    let n = diags.error_count();
    format!(
        "{}error: {n} error{} found; nothing was changed\n",
        super::diagnostics::text(diags, sources, color),
        if n == 1 { "" } else { "s" }
    )
}

/// A plan that failed, for people.
pub fn plan_text(diags: &Diagnostics, sources: &Sources, color: Color) -> String {
    format!(
        "{}error: planning failed; nothing was changed\n",
        super::diagnostics::text(diags, sources, color)
    )
}

/// A plan that failed in `format`: for stdout (the JSON or Markdown document; nothing
/// for text) and for stderr (the diagnostics, always).
pub fn plan(
    env: &str,
    diags: &Diagnostics,
    sources: &Sources,
    format: super::Format,
    color: Color,
) -> (String, String) {
    let out = match format {
        super::Format::Json => plan_json(env, diags, sources),
        super::Format::Markdown => plan_markdown(env, diags),
        super::Format::Text => String::new(),
    };
    (out, plan_text(diags, sources, color))
}

/// A plan that failed, as the JSON document `plan --format json` prints (and a newline).
pub fn plan_json(env: &str, diags: &Diagnostics, sources: &Sources) -> String {
    let doc = serde_json::json!({
        "format_version": "1",
        "environment": env,
        "error": true,
        "diagnostics": super::diagnostics::json(diags, sources),
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    )
}

/// A plan that failed, as the Markdown `plan --format markdown` prints.
pub fn plan_markdown(env: &str, diags: &Diagnostics) -> String {
    let mut out = format!("### ❌ baton plan `{env}` failed: nothing will change\n\n");
    for x in diags.iter().filter(|x| x.is_error()) {
        out.push_str(&format!("- **{}**\n", x.summary));
        for line in &x.detail {
            out.push_str(&format!("  {line}\n"));
        }
        if let Some(h) = &x.help {
            out.push_str(&format!("  _{h}_\n"));
        }
    }
    out
}

/// The end of an apply that ran: for stdout (a blank line, whether it was interrupted,
/// and the summary when it completed) and for stderr (each failure, what was skipped,
/// and what was done before the failure).
pub fn apply_end(report: &crate::apply::Report) -> (String, String) {
    let n = |k: &str| report.done.get(k).copied().unwrap_or(0);
    let (c, u, r, d) = (n("create"), n("update"), n("replace"), n("delete"));
    let mut out = String::from("\n");
    if !report.abandoned.is_empty() {
        out.push_str(&super::progress::abandoned(&report.abandoned));
        out.push('\n');
    } else if report.interrupted {
        out.push_str(
            "Interrupted: finished what was running; the state records everything that was done.\n",
        );
    }
    let mut err = String::new();
    if report.failed.is_empty() && !report.interrupted {
        let moved = match n("move") {
            0 => String::new(),
            m => format!(", {m} moved"),
        };
        out.push_str(&format!(
            "Apply complete! {c} added, {u} changed, {r} replaced, {d} destroyed{moved}.\n"
        ));
        return (out, err);
    }
    for (addr, msg) in &report.failed {
        err.push_str(&format!("error: {addr}: {msg}\n"));
    }
    if !report.skipped.is_empty() {
        err.push_str(&format!(
            "skipped because something they need failed: {}\n",
            report.skipped.join(", ")
        ));
    }
    let (verb, when) = if report.failed.is_empty() {
        ("interrupted", "")
    } else {
        ("failed", " before the failure")
    };
    err.push_str(&format!(
        "Apply {verb}: {c} added, {u} changed, {r} replaced, {d} destroyed{when}; the state records them.\n"
    ));
    (out, err)
}
