//! Evaluation of graph nodes: Score params → typed params, resource blocks → desired
//! attributes, outputs, and workloads → manifests. Plan and apply share it; plan runs it
//! on planned values (unknowns where a provider computes the value), apply on the values
//! providers actually returned. Pure: no I/O.
//!
//! Split by what it evaluates: `scope` (the variables an expression sees, and Score
//! placeholders), `params` (a request's params), `resource` (a module's resources,
//! lifecycle rules and outputs), `workload` (a workload's manifests). This file holds
//! the context they share, and why a placeholder has no value ([`RefError`]). Score
//! strings arrive parsed ([`crate::score::semantic::Templates`], made when the files
//! load): evaluation never parses a placeholder.

mod params;
mod resource;
mod scope;
#[cfg(test)]
mod tests;
mod workload;

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde_json::Value as Json;

use crate::addr::Uid;
use crate::addr::{resource_address, write_resource_address};
use crate::config::{Environment, Target};
use crate::diag::{Diagnostic, Span, Stage, did_you_mean};
use crate::expr::Scope;
use crate::graph::Graph;
use crate::hcl;
use crate::module::Module;
use crate::schema::{Kinds, Presence};
use crate::score::placeholder::{self, Ref, Segment, Template};
use crate::score::{LoadedWorkload, Project, SourceFile};
use crate::target;
use crate::value::Attrs;
use crate::value::Value;

/// A resource's lifecycle rules, evaluated.
#[derive(Debug, Clone, Default)]
pub struct LifecycleValues {
    /// Deleting or replacing it must fail.
    pub prevent_destroy: bool,
    /// Where the protection comes from, for messages.
    pub rule: String,
    /// Replace by creating first.
    pub create_before_destroy: bool,
    /// The `replace_triggered_by` values (`Some(None)` when not known until apply).
    pub triggers: Option<Option<Json>>,
    /// Attributes whose configuration changes are ignored.
    pub ignore_changes: Vec<String>,
}

/// Values computed so far, by node (hash maps: looked up for every node, never
/// iterated in an order that reaches an output without sorting).
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// Params by uid.
    pub params: FxHashMap<Uid, crate::value::Map>,
    /// Attributes of primitive resources by address (marked).
    pub resources: FxHashMap<String, std::sync::Arc<Attrs>>,
    /// Outputs by uid.
    pub outputs: FxHashMap<Uid, crate::value::Map>,
}

/// Everything evaluation reads.
pub struct Context<'a> {
    /// The Score project.
    pub project: &'a Project,
    /// All modules.
    pub modules: &'a [Module],
    /// The graph.
    pub graph: &'a Graph,
    /// The environment.
    pub env: &'a Environment,
    /// Provider schemas.
    pub registry: &'a dyn Kinds,
    /// The process environment variables `baton.hcl` lists (`env.*` in modules), as one
    /// map value.
    pub env_vars: Value,
    /// `provider.*` for modules, computed once.
    pub provider_vars: Value,
    /// `environment.*` for modules (`name`, `settings`), computed once.
    pub environment_vars: Value,
    /// Per module (by index), the roots its expressions read, so a scope holds only those.
    pub module_roots: Vec<ModuleRoots>,
    /// File contents referenced by Score `files.*.source`, by (workload, container, target).
    pub file_sources: &'a BTreeMap<(String, String, String), crate::score::SourceFile>,
    /// Where each uid is requested in the Score files (for messages).
    pub spans: &'a BTreeMap<Uid, Option<Span>>,
    /// The texts read (to point a message at a placeholder inside a string).
    pub sources: &'a crate::diag::Sources,
    /// `workloads.*` for modules, built the first time a module reads it.
    pub workloads: std::sync::OnceLock<Value>,
    /// Per uid, what every evaluation of it looks up (built once, see [`uid_index`]):
    /// hashing a uid once beats comparing it along three ordered maps.
    pub uids: FxHashMap<&'a Uid, UidInfo<'a>>,
    /// The lineage of the state planned against: derived names are unique to it
    /// (`score.suffix`, see [`crate::naming`]).
    pub lineage: String,
}

/// What evaluation needs of a uid.
pub struct UidInfo<'a> {
    /// Index of its module.
    pub module: usize,
    /// Its declaration.
    pub decl: &'a crate::score::ResourceDecl,
    /// Where it is requested (for messages).
    pub span: Option<Span>,
    /// `score.*`, built the first time a module reads it.
    pub score: std::sync::OnceLock<Value>,
}

/// The [`UidInfo`] of every uid of a project.
pub fn uid_index<'a>(
    project: &'a Project,
    graph: &Graph,
    spans: &BTreeMap<Uid, Option<Span>>,
) -> FxHashMap<&'a Uid, UidInfo<'a>> {
    let mut out = FxHashMap::default();
    out.reserve(project.resources.len());
    // The three maps are sorted by uid: walk them side by side instead of searching.
    let mut modules = graph.module_of.iter().peekable();
    let mut spans = spans.iter().peekable();
    for (uid, decl) in &project.resources {
        while modules.next_if(|(u, _)| *u < uid).is_some() {}
        let Some((_, &module)) = modules.next_if(|(u, _)| *u == uid) else {
            continue;
        };
        while spans.next_if(|(u, _)| *u < uid).is_some() {}
        let span = spans.next_if(|(u, _)| *u == uid).and_then(|(_, s)| *s);
        out.insert(
            uid,
            UidInfo {
                module,
                decl,
                span,
                score: std::sync::OnceLock::new(),
            },
        );
    }
    out
}

/// The roots (`param`, `env`, `provider`, kinds, …) the expressions of a module read.
pub fn module_roots(m: &Module) -> ModuleRoots {
    let mut outputs = std::collections::BTreeSet::new();
    for o in &m.outputs {
        for r in crate::expr::references(&o.value) {
            outputs.insert(r.path[0].clone());
        }
    }
    let mut out = std::collections::BTreeSet::new();
    let mut add = |e: &hcl_edit::expr::Expression| {
        for r in crate::expr::references(e) {
            out.insert(r.path[0].clone());
        }
    };
    for r in &m.resources {
        r.attributes.values().for_each(|(e, _)| add(e));
        for (e, _) in [
            &r.lifecycle.prevent_destroy,
            &r.lifecycle.create_before_destroy,
            &r.lifecycle.replace_triggered_by,
        ]
        .into_iter()
        .flatten()
        {
            add(e);
        }
    }
    for p in &m.params {
        p.validations.iter().for_each(|v| add(&v.condition));
    }
    ModuleRoots {
        resources: out,
        outputs,
    }
}

/// The roots a module's expressions read: its resources' (attributes, lifecycle, param
/// validations) and its outputs'. An output such as `baton_data.node.output` needs no
/// params in its scope, and a resource reading only params needs no resource values.
#[derive(Debug, Clone, Default)]
pub struct ModuleRoots {
    /// Read by resource attributes, lifecycle blocks and param validations.
    pub resources: std::collections::BTreeSet<String>,
    /// Read by outputs.
    pub outputs: std::collections::BTreeSet<String>,
}

fn err(code: &'static str, summary: String, at: Option<Span>) -> Diagnostic {
    Diagnostic::error(Stage::Generate, code, summary).at(at)
}

impl Context<'_> {
    /// The module of a uid.
    pub fn module(&self, uid: &Uid) -> &Module {
        &self.modules[self.module_index(uid)]
    }

    fn module_index(&self, uid: &Uid) -> usize {
        match self.uids.get(uid) {
            Some(info) => info.module,
            None => self.graph.module_of[uid],
        }
    }

    /// The Score declaration of a uid.
    pub fn decl(&self, uid: &Uid) -> &crate::score::ResourceDecl {
        match self.uids.get(uid) {
            Some(info) => info.decl,
            None => &self.project.resources[uid],
        }
    }

    fn workload(&self, name: &str) -> Option<&LoadedWorkload> {
        // Workloads are sorted by name.
        let ws = &self.project.workloads;
        ws.binary_search_by(|w| w.workload.name().cmp(name))
            .ok()
            .map(|i| &ws[i])
    }

    /// `score.*` for a uid.
    pub fn score_vars(&self, uid: &Uid) -> Value {
        match self.uids.get(uid) {
            Some(info) => info
                .score
                .get_or_init(|| score_vars(self.project, uid, &self.lineage))
                .clone(),
            None => score_vars(self.project, uid, &self.lineage),
        }
    }

    /// Keeps the names objects already have. An attribute whose desired value is a
    /// derived name of `uid` (a string holding its `score.suffix`) takes the value the
    /// recorded object `prior` has, when that differs: a name is decided when its object
    /// is made, so neither a change of the naming rule or of a module, nor a move of the
    /// resource to another address, renames or replaces an object that exists.
    pub fn keep_recorded_names(&self, uid: &Uid, desired: &mut Attrs, prior: Option<&Attrs>) {
        let Some(prior) = prior else { return };
        let suffix = crate::naming::suffix(&self.lineage, &uid.text());
        for (k, v) in desired.iter_mut() {
            if let (Value::String(new), Some(Value::String(old))) = (&*v, prior.get(k))
                && new != old
                && new.contains(suffix.as_str())
            {
                *v = Value::String(old.clone());
            }
        }
    }
}

/// `score.*` for a uid: the first workload (by name) that requests it.
fn score_vars(project: &Project, uid: &Uid, lineage: &str) -> Value {
    let decl = &project.resources[uid];
    let (w, r) = decl.requested_by.first().cloned().unwrap_or_default();
    let id = match &uid.scope {
        crate::addr::UidScope::Shared(id) => Value::string(id.clone()),
        crate::addr::UidScope::Workload { .. } => Value::Null,
    };
    Value::Map(crate::value::Map::from([
        ("workload".into(), Value::string(w)),
        ("resource".into(), Value::string(r)),
        ("id".into(), id),
        ("class".into(), Value::string(uid.class.clone())),
        ("type".into(), Value::string(uid.kind.clone())),
        ("uid".into(), Value::string(uid.to_string())),
        (
            "suffix".into(),
            Value::string(crate::naming::suffix(lineage, &uid.text())),
        ),
    ]))
}

/// Why a well-formed Score placeholder has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// `${resources.NAME…}` where the workload requests no resource `NAME`.
    #[error("no resource `{name}`")]
    NoSuchResource {
        /// The resource's name in the workload.
        name: String,
    },
    /// The resource's outputs are not evaluated (yet).
    #[error("resource `{name}` has no outputs yet")]
    NoOutputsYet {
        /// The resource's name in the workload.
        name: String,
    },
    /// The resource has no output `key`.
    #[error(
        "key '{key}' not found (resource `{name}` of type `{kind}` has outputs: {}){}",
        listed(.known),
        .suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default()
    )]
    UnknownOutput {
        /// The output asked for.
        key: String,
        /// The resource's name in the workload.
        name: String,
        /// The resource's type.
        kind: String,
        /// The outputs it has, in order.
        known: Vec<String>,
        /// The known output closest to `key`, if one is close.
        suggestion: Option<String>,
    },
    /// `${resources.ENV.NAME}` of the `environment` type: no such variable reaches
    /// workloads.
    #[error("key '{name}' not found: {why}")]
    VariableMissing {
        /// The variable.
        name: String,
        /// Why it has no value.
        why: VariableMissing,
    },
    /// A key of the path into an output is missing, or looked up in a non-map.
    #[error(transparent)]
    OutputPath(placeholder::LookupError),
    /// A key of `${metadata.…}` is missing, or looked up in a non-map.
    #[error(transparent)]
    Metadata(placeholder::LookupError),
}

/// The first twelve of `known`, and how many more.
fn listed(known: &[String]) -> String {
    if known.len() > 12 {
        format!("{}, and {} more", known[..12].join(", "), known.len() - 12)
    } else {
        known.join(", ")
    }
}

/// Why `${resources.ENV.NAME}` has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VariableMissing {
    /// A `BATON_*` variable: baton's own, never given to a workload.
    #[error(
        "the environment variable {0} is baton's own and never reaches a workload (pass the value under another name)"
    )]
    BatonOwn(String),
    /// Listed in `baton.hcl` but not set in the process environment.
    #[error("the environment variable {0} is not set (export it before running baton)")]
    NotSet(String),
    /// Not listed in the environment's `environment_variables`.
    #[error(
        "the environment variable {name} is not listed in `environment_variables` of environment `{environment}`: add it there (`environment \"{environment}\" {{ environment_variables = [\"{name}\"] }}` in baton.hcl)"
    )]
    NotListed {
        /// The variable.
        name: String,
        /// The environment planned.
        environment: String,
    },
}

impl VariableMissing {
    /// Why variable `name` has no value in environment `env`.
    fn of(env: &Environment, name: &str) -> VariableMissing {
        if name.starts_with("BATON_") {
            VariableMissing::BatonOwn(name.to_string())
        } else if env.variables.iter().any(|v| v == name) {
            VariableMissing::NotSet(name.to_string())
        } else {
            VariableMissing::NotListed {
                name: name.to_string(),
                environment: env.name.clone(),
            }
        }
    }
}

/// A placeholder that could not be substituted: the placeholder as written (so a message
/// can point at it rather than at the whole string), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The text between `${` and `}`.
    pub content: String,
    /// Why it has no value; `None` when it is not a valid placeholder.
    pub reason: Option<RefError>,
}

impl Unresolved {
    fn new(p: &placeholder::Placeholder, reason: Option<RefError>) -> Unresolved {
        Unresolved {
            content: p.content.clone(),
            reason,
        }
    }

    /// The placeholder, `${…}`.
    pub fn placeholder(&self) -> String {
        format!("${{{}}}", self.content)
    }
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.reason {
            Some(why) => write!(f, "invalid ref '{}': {why}", self.content),
            None => write!(f, "invalid ref '{}'", self.content),
        }
    }
}

impl std::error::Error for Unresolved {}

/// Score variables and file contents are strings: non-string values become JSON text,
/// keeping marks.
fn stringify(v: Value) -> Value {
    let (inner, sensitive) = v.unmark();
    let s = match inner {
        Value::String(_) | Value::Unknown => inner.clone(),
        Value::Null => Value::String(String::new()),
        other => match other.to_template_string() {
            Some(t) => Value::String(t),
            None => match other.to_json_revealed() {
                Some(j) => Value::String(j.to_string()),
                None => Value::Unknown,
            },
        },
    };
    if sensitive || v.contains_sensitive() {
        Value::sensitive(s)
    } else {
        s
    }
}
