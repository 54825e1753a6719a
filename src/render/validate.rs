//! What `baton validate` shows: the workloads and resources it found, as text or JSON.

use std::fmt::Write;

use serde::Serialize;

use super::diagnostics::{self, JsonDiagnostic};
use crate::diag::{Diagnostics, Sources};
use crate::score::Project;

/// The JSON document of `validate --format json` (format version 1).
#[derive(Debug, Serialize)]
pub struct ValidateReport {
    /// Version of this format.
    pub format_version: &'static str,
    /// True when no error was found.
    pub valid: bool,
    /// Workloads that loaded.
    pub workloads: Vec<WorkloadSummary>,
    /// Resources by uid.
    pub resources: Vec<ResourceSummary>,
    /// Errors and warnings.
    pub diagnostics: Vec<JsonDiagnostic>,
    /// Counts.
    pub summary: Counts,
}

/// A workload in the report.
#[derive(Debug, Serialize)]
pub struct WorkloadSummary {
    /// `metadata.name`.
    pub name: String,
    /// The Score file.
    pub file: String,
    /// Container names.
    pub containers: Vec<String>,
    /// Resource requests.
    pub resources: Vec<RequestSummary>,
}

/// A resource request of a workload.
#[derive(Debug, Serialize)]
pub struct RequestSummary {
    /// Name in the workload.
    pub name: String,
    /// Score uid.
    pub uid: String,
}

/// A resource of the project.
#[derive(Debug, Serialize)]
pub struct ResourceSummary {
    /// Score uid.
    pub uid: String,
    /// Resource type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Class.
    pub class: String,
    /// Shared by id.
    pub shared: bool,
    /// `workload.resource` of each request.
    pub requested_by: Vec<String>,
    /// Uids its params depend on.
    pub depends_on: Vec<String>,
}

/// Error and warning counts.
#[derive(Debug, Serialize)]
pub struct Counts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
}

/// Builds the JSON report.
pub fn report(project: &Project, diags: &Diagnostics, sources: &Sources) -> ValidateReport {
    ValidateReport {
        format_version: "1",
        valid: !diags.has_errors(),
        workloads: project
            .workloads
            .iter()
            .map(|lw| WorkloadSummary {
                name: lw.workload.name().to_string(),
                file: sources.name(lw.file).to_string(),
                containers: lw.workload.containers.keys().cloned().collect(),
                resources: lw
                    .workload
                    .resources
                    .keys()
                    .map(|r| RequestSummary {
                        name: r.clone(),
                        uid: project
                            .uid_of(&lw.workload, r)
                            .map(|u| u.to_string())
                            .unwrap_or_default(),
                    })
                    .collect(),
            })
            .collect(),
        resources: project
            .resources
            .values()
            .map(|d| ResourceSummary {
                uid: d.uid.to_string(),
                kind: d.uid.kind.clone(),
                class: d.uid.class.clone(),
                shared: d.uid.is_shared(),
                requested_by: d
                    .requested_by
                    .iter()
                    .map(|(w, r)| format!("{w}.{r}"))
                    .collect(),
                depends_on: d.depends_on.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        diagnostics: diagnostics::json(diags, sources),
        summary: Counts {
            errors: diags.error_count(),
            warnings: diags.warning_count(),
        },
    }
}

/// Output format of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ValidateFormat {
    /// For people.
    Text,
    /// For tools (documented in docs/score.md).
    Json,
}

/// `validate`'s stdout and stderr: the JSON report alone, or the diagnostics (coloured
/// with `color`) on stderr and the summary on stdout.
pub fn formatted(
    project: &Project,
    diags: &Diagnostics,
    sources: &Sources,
    format: ValidateFormat,
    color: super::Color,
) -> (String, String) {
    match format {
        ValidateFormat::Json => {
            let json = serde_json::to_string_pretty(&report(project, diags, sources));
            (json.expect("the report serializes") + "\n", String::new())
        }
        ValidateFormat::Text => (
            text(project, diags, sources),
            diagnostics::text(diags, sources, color),
        ),
    }
}

/// The text summary printed on stdout.
pub fn text(project: &Project, diags: &Diagnostics, sources: &Sources) -> String {
    let mut out = String::new();
    for lw in &project.workloads {
        let w = &lw.workload;
        let _ = writeln!(
            out,
            "{}: workload `{}`: {} container{}, {} resource{}",
            sources.name(lw.file),
            w.name(),
            w.containers.len(),
            plural(w.containers.len()),
            w.resources.len(),
            plural(w.resources.len())
        );
        for r in w.resources.keys() {
            if let Some(uid) = project.uid_of(w, r) {
                let shared = project
                    .resources
                    .get(&uid)
                    .filter(|d| d.requested_by.len() > 1)
                    .map(|d| {
                        let others: Vec<String> = d
                            .requested_by
                            .iter()
                            .filter(|(ow, _)| ow != w.name())
                            .map(|(ow, or)| format!("{ow}.{or}"))
                            .collect();
                        if others.is_empty() {
                            String::new()
                        } else {
                            format!(" (shared with {})", others.join(", "))
                        }
                    })
                    .unwrap_or_default();
                let _ = writeln!(out, "  {r:<16} {uid}{shared}");
            }
        }
    }
    let errors = diags.error_count();
    let warnings = diags.warning_count();
    let warn = if warnings > 0 {
        format!(", {warnings} warning{}", plural(warnings))
    } else {
        String::new()
    };
    if errors == 0 {
        let shared = project
            .resources
            .values()
            .filter(|d| d.uid.is_shared())
            .count();
        let _ = writeln!(
            out,
            "valid: {} workload{}, {} resource{} ({} shared){warn}",
            project.workloads.len(),
            plural(project.workloads.len()),
            project.resources.len(),
            plural(project.resources.len()),
            shared
        );
    } else {
        let _ = writeln!(out, "invalid: {errors} error{}{warn}", plural(errors));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
