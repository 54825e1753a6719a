//! Evaluation of graph nodes: Score params → typed params, resource blocks → desired
//! attributes, outputs, and workloads → manifests. Plan and apply share it; plan runs it
//! on planned values (unknowns where a provider computes the value), apply on the values
//! providers actually returned. Pure: no I/O.

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
use crate::provider::{Attrs, Presence, Registry};
use crate::score::placeholder::{self, Ref, Segment};
use crate::score::{LoadedWorkload, Project};
use crate::target;
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
    pub registry: &'a Registry,
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
    pub file_sources: &'a BTreeMap<(String, String, String), Vec<u8>>,
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

/// Why `${resources.ENV.name}` has no value: a `BATON_*` variable, one `baton.hcl` does
/// not list, or one that is listed but not set.
fn variable_missing(env: &Environment, name: &str) -> String {
    if name.starts_with("BATON_") {
        return format!(
            "the environment variable {name} is baton's own and never reaches a workload (pass the value under another name)"
        );
    }
    if env.variables.iter().any(|v| v == name) {
        return format!(
            "the environment variable {name} is not set (export it before running baton)"
        );
    }
    format!(
        "the environment variable {name} is not listed in `environment_variables` of environment `{}`: add it there (`environment \"{}\" {{ environment_variables = [\"{name}\"] }}` in baton.hcl)",
        env.name, env.name
    )
}

impl Context<'_> {
    fn provider_vars(&self) -> Value {
        self.provider_vars.clone()
    }

    /// `workloads.*`: every workload of the run by name, with the ports it publishes
    /// under `service.ports` (`workloads.NAME.ports.PORT.{port, target_port, protocol}`),
    /// each by its name and by its port number as text, as score-compose's
    /// provisioners see them, so a module can take either.
    fn workloads_var(&self) -> Value {
        self.workloads
            .get_or_init(|| {
                let mut all = crate::value::Map::new();
                for lw in &self.project.workloads {
                    let mut ports = crate::value::Map::new();
                    let published = lw.workload.service.as_ref().map(|s| &s.ports);
                    for (name, p) in published.into_iter().flatten() {
                        let port = Value::Map(crate::value::Map::from([
                            ("port".to_string(), Value::int(i64::from(p.port))),
                            (
                                "target_port".to_string(),
                                Value::int(i64::from(p.target_port.unwrap_or(p.port))),
                            ),
                            (
                                "protocol".to_string(),
                                Value::string(p.protocol.clone().unwrap_or_else(|| "TCP".into())),
                            ),
                        ]));
                        ports
                            .entry(p.port.to_string())
                            .or_insert_with(|| port.clone());
                        ports.insert(name.clone(), port);
                    }
                    all.insert(
                        lw.workload.name().to_string(),
                        Value::Map(crate::value::Map::from([(
                            "ports".to_string(),
                            Value::Map(ports),
                        )])),
                    );
                }
                Value::Map(all)
            })
            .clone()
    }

    /// The scope of expressions in a uid's module.
    fn scope(&self, uid: &Uid, values: &Values, for_outputs: bool) -> Scope {
        let m = self.module(uid);
        let mut vars = crate::value::Map::new();
        // Only the roots the module reads: a scope is built for every evaluation, and
        // cloning what no expression reads (the environment and provider maps are large)
        // was most of its cost.
        let roots = self.module_roots.get(self.module_index(uid)).map(|r| {
            if for_outputs {
                &r.outputs
            } else {
                &r.resources
            }
        });
        let reads = |root: &str| roots.is_none_or(|r| r.contains(root));
        if reads("param") {
            vars.insert(
                "param".into(),
                Value::Map(values.params.get(uid).cloned().unwrap_or_default()),
            );
        }
        if reads("score") {
            vars.insert("score".into(), self.score_vars(uid));
        }
        if reads("env") {
            vars.insert("env".into(), self.env_vars.clone());
        }
        if reads("provider") {
            vars.insert("provider".into(), self.provider_vars());
        }
        if reads("environment") {
            vars.insert("environment".into(), self.environment_vars.clone());
        }
        if reads("workloads") {
            vars.insert("workloads".into(), self.workloads_var());
        }
        let mut address = String::new();
        for r in m.resources.iter().filter(|r| reads(&r.kind)) {
            write_resource_address(&mut address, uid, &r.kind, &r.name);
            let attrs = values
                .resources
                .get(address.as_str())
                .map(|a| Attrs::clone(a))
                .unwrap_or_default();
            let entry = vars
                .entry(r.kind.clone())
                .or_insert_with(|| Value::Map(crate::value::Map::new()));
            if let Value::Map(by_name) = entry {
                by_name.insert(r.name.clone(), Value::Map(attrs));
            }
        }
        Scope { vars }
    }

    /// Resolves a Score placeholder of workload `w` to a value.
    fn resolve_ref(
        &self,
        w: &LoadedWorkload,
        r: &Ref,
        values: &Values,
        whole_resource: &str,
    ) -> Result<Value, String> {
        match r {
            Ref::Metadata(keys) => {
                let meta = Json::Object(w.workload.metadata.clone());
                placeholder::lookup(&meta, keys).map(Value::from_json)
            }
            Ref::Resource { name, output } => {
                let uid = w.uid(name).ok_or_else(|| format!("no resource `{name}`"))?;
                let outs = values
                    .outputs
                    .get(uid)
                    .ok_or_else(|| format!("resource `{name}` has no outputs yet"))?;
                if output.is_empty() {
                    // `${resources.NAME}`: the resource itself; for volumes its `source`.
                    return Ok(match whole_resource {
                        "source" => outs
                            .get("source")
                            .cloned()
                            .unwrap_or_else(|| Value::string(name.clone())),
                        _ => Value::string(name.clone()),
                    });
                }
                let mut v = outs.get(&output[0]).cloned().ok_or_else(|| {
                    if uid.kind == "environment" {
                        return format!("key '{}' not found: {}", output[0], variable_missing(self.env, &output[0]));
                    }
                    let known: Vec<&str> = outs.keys().map(String::as_str).collect();
                    let hint = did_you_mean(&output[0], known.iter().copied()).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
                    let listed = if known.len() > 12 { format!("{}, and {} more", known[..12].join(", "), known.len() - 12) } else { known.join(", ") };
                    format!("key '{}' not found (resource `{name}` of type `{}` has outputs: {listed}){hint}", output[0], uid.kind)
                })?;
                for k in &output[1..] {
                    let (inner, sensitive) = v.unmark();
                    let next = match inner {
                        Value::Unknown => Value::Unknown,
                        Value::Map(m) => m
                            .get(k)
                            .cloned()
                            .ok_or_else(|| format!("key '{k}' not found"))?,
                        _ => return Err(format!("cannot lookup key '{k}', context is not a map")),
                    };
                    v = if sensitive {
                        Value::sensitive(next)
                    } else {
                        next
                    };
                }
                Ok(v)
            }
        }
    }

    /// Substitutes the placeholders of a Score string. A string that is exactly one
    /// placeholder keeps the referenced value's type; otherwise the parts are joined as
    /// text (non-strings JSON-encoded). Unknown and sensitive marks propagate.
    pub fn substitute(
        &self,
        w: &LoadedWorkload,
        s: &str,
        values: &Values,
        whole_resource: &str,
    ) -> Result<Value, Unresolved> {
        if !s.contains('$') {
            return Ok(Value::String(s.to_string()));
        }
        let segments = placeholder::parse(s);
        if let [Segment::Placeholder(p)] = segments.as_slice() {
            let r = p.reference.as_ref().map_err(|_| Unresolved::new(p, None))?;
            return self
                .resolve_ref(w, r, values, whole_resource)
                .map_err(|e| Unresolved::new(p, Some(e)));
        }
        let mut out = String::new();
        let mut unknown = false;
        let mut sensitive = false;
        for seg in segments {
            match seg {
                Segment::Literal(l) => out.push_str(&l),
                Segment::Placeholder(p) => {
                    let r = p
                        .reference
                        .as_ref()
                        .map_err(|_| Unresolved::new(&p, None))?;
                    let v = self
                        .resolve_ref(w, r, values, whole_resource)
                        .map_err(|e| Unresolved::new(&p, Some(e)))?;
                    sensitive |= v.contains_sensitive();
                    if v.contains_unknown() {
                        unknown = true;
                        continue;
                    }
                    let revealed = v.reveal();
                    match revealed.to_template_string() {
                        Some(t) => out.push_str(&t),
                        None => out.push_str(
                            &revealed
                                .to_json_revealed()
                                .unwrap_or(Json::Null)
                                .to_string(),
                        ),
                    }
                }
            }
        }
        let v = if unknown {
            Value::Unknown
        } else {
            Value::String(out)
        };
        Ok(if sensitive { Value::sensitive(v) } else { v })
    }

    fn substitute_json(
        &self,
        w: &LoadedWorkload,
        j: &Json,
        values: &Values,
    ) -> Result<Value, Unresolved> {
        Ok(match j {
            Json::String(s) => self.substitute(w, s, values, "")?,
            Json::Array(a) => Value::List(
                a.iter()
                    .map(|x| self.substitute_json(w, x, values))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| self.substitute_json(w, v, values).map(|x| (k.clone(), x)))
                    .collect::<Result<_, _>>()?,
            ),
            other => Value::from_json(other),
        })
    }

    /// The typed params of a uid: Score params (placeholders substituted), converted to
    /// the module's param types, defaults applied, validations checked.
    pub fn eval_params(&self, uid: &Uid, values: &Values) -> Result<crate::value::Map, Diagnostic> {
        let m = self.module(uid);
        let (decl, at) = match self.uids.get(uid) {
            Some(info) => (info.decl, info.span),
            None => (
                &self.project.resources[uid],
                self.spans.get(uid).copied().flatten(),
            ),
        };
        let given: Vec<(&String, Value)> = match &decl.params {
            None => Vec::new(),
            Some(params) => {
                // The workload whose definition supplied these params resolves their placeholders.
                let only = decl.requested_by.len() == 1;
                let source = decl
                    .requested_by
                    .iter()
                    .find(|(w, r)| {
                        only || self
                            .workload(w)
                            .and_then(|lw| lw.workload.resources.get(r))
                            .is_some_and(|req| req.params.as_ref() == Some(params))
                    })
                    .and_then(|(w, _)| self.workload(w))
                    .ok_or_else(|| {
                        err(
                            "internal/params",
                            format!("internal error: no workload defines the params of {uid}"),
                            at,
                        )
                    })?;
                params
                    .iter()
                    .map(|(k, v)| {
                        self.substitute_json(source, v, values)
                            .map(|x| (k, x))
                            .map_err(|e| {
                                err(
                                    "generate/params",
                                    format!("params of `{uid}`: {e}"),
                                    self.project.param_span(decl, k, false).or(at),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let mut out = crate::value::Map::with_capacity(m.params.len());
        for (k, v) in given {
            // A Score file may carry params meant for another environment's module (the
            // same file plans everywhere); params this module does not declare are ignored.
            // `baton validate` warns about them, with a "did you mean".
            let Some(p) = m.params.iter().find(|p| &p.name == k) else {
                continue;
            };
            let converted = p.ty.convert_owned(v).map_err(|why| {
                err(
                    "generate/param-type",
                    format!("param `{k}` of `{uid}`: {why}"),
                    self.project.param_span(decl, k, false).or(at),
                )
            })?;
            out.insert(
                k.clone(),
                if p.sensitive {
                    Value::sensitive(converted)
                } else {
                    converted
                },
            );
        }
        for p in &m.params {
            if out.contains_key(&p.name) {
                continue;
            }
            match &p.default {
                Some(d) => {
                    out.insert(p.name.clone(), d.clone());
                }
                None => {
                    return Err(err(
                        "generate/missing-param",
                        format!("`{uid}` needs param `{}`", p.name),
                        at,
                    )
                    .detail(format!(
                        "module `{}` declares it without a default{}",
                        m.name,
                        if p.description.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", p.description)
                        }
                    ))
                    .help(format!(
                        "set `params: {{{}: ...}}` on the resource in the Score file",
                        p.name
                    )));
                }
            }
        }
        if m.params.iter().all(|p| p.validations.is_empty()) {
            return Ok(out);
        }
        let mut scope = Scope {
            vars: crate::value::Map::new(),
        };
        scope.vars.insert("param".into(), Value::Map(out.clone()));
        scope.vars.insert("score".into(), self.score_vars(uid));
        let roots = self.module_roots.get(self.module_index(uid));
        if roots.is_none_or(|r| r.resources.contains("environment")) {
            scope
                .vars
                .insert("environment".into(), self.environment_vars.clone());
        }
        if self
            .module_roots
            .get(self.module_index(uid))
            .is_none_or(|r| r.resources.contains("workloads"))
        {
            scope.vars.insert("workloads".into(), self.workloads_var());
        }
        for p in &m.params {
            for v in &p.validations {
                match crate::expr::eval(&v.condition, &scope) {
                    Ok(c) if c.is_unknown() || c.as_bool() == Some(true) => {}
                    Ok(_) => {
                        return Err(err(
                            "generate/param-invalid",
                            format!("param `{}` of `{uid}`: {}", p.name, v.error_message),
                            self.project.param_span(decl, &p.name, false).or(at),
                        )
                        .note(v.span, "checked here"));
                    }
                    Err(e) => {
                        return Err(hcl::eval_diagnostic(
                            m.file,
                            Stage::Generate,
                            "generate/eval",
                            e,
                            v.span,
                        ));
                    }
                }
            }
        }
        Ok(out)
    }

    /// The desired attributes of primitive resource `ri` of `uid`'s module: expressions
    /// evaluated, defaults applied, computed attributes absent; sensitive ones marked.
    pub fn eval_resource(
        &self,
        uid: &Uid,
        ri: usize,
        values: &Values,
    ) -> Result<Attrs, Diagnostic> {
        let m = self.module(uid);
        let r = &m.resources[ri];
        let schema = self
            .registry
            .schema(&r.kind)
            .expect("kinds are checked when modules load");
        let scope = self.scope(uid, values, false);
        let mut out = Attrs::new();
        for a in &schema.attributes {
            if a.presence == Presence::Computed {
                continue;
            }
            let v = match r.attributes.get(a.name) {
                Some((e, span)) => {
                    let v = crate::expr::eval(e, &scope).map_err(|e| {
                        hcl::eval_diagnostic(m.file, Stage::Generate, "generate/eval", e, *span)
                    })?;
                    if !a.ty.accepts(&v) {
                        return Err(err(
                            "generate/attribute-type",
                            format!(
                                "`{}` of `{}.{}` must be {}, found {}",
                                a.name,
                                r.kind,
                                r.name,
                                a.ty.name(),
                                v.type_name()
                            ),
                            *span,
                        ));
                    }
                    if v.is_null() {
                        match a.default {
                            Some(d) => d(),
                            None => continue,
                        }
                    } else {
                        v
                    }
                }
                None => match a.default {
                    Some(d) => d(),
                    None => continue,
                },
            };
            out.insert(
                a.name.to_string(),
                if a.sensitive { Value::sensitive(v) } else { v },
            );
        }
        Ok(out)
    }

    /// The lifecycle rules of resource `ri` of `uid`, evaluated for this environment,
    /// with the Score annotation `baton.dev/prevent-destroy: "true"` folded in.
    pub fn eval_lifecycle(
        &self,
        uid: &Uid,
        ri: usize,
        values: &Values,
    ) -> Result<LifecycleValues, Diagnostic> {
        let m = self.module(uid);
        let r = &m.resources[ri];
        let has_rules = r.lifecycle.prevent_destroy.is_some()
            || r.lifecycle.create_before_destroy.is_some()
            || r.lifecycle.replace_triggered_by.is_some();
        // Most resources have no lifecycle expressions: build their scope only when needed.
        let scope = if has_rules {
            self.scope(uid, values, false)
        } else {
            Scope {
                vars: crate::value::Map::new(),
            }
        };
        let eval = |e: &Option<(hcl_edit::expr::Expression, Option<Span>)>| -> Result<Option<Value>, Diagnostic> {
            match e {
                None => Ok(None),
                Some((e, span)) => crate::expr::eval(e, &scope).map(Some).map_err(|err| hcl::eval_diagnostic(m.file, Stage::Generate, "generate/eval", err, *span)),
            }
        };
        let flag = |v: Option<Value>, what: &str, span: Option<Span>| -> Result<bool, Diagnostic> {
            match v {
                None => Ok(false),
                Some(v) if v.is_unknown() => Err(err(
                    "generate/lifecycle",
                    format!(
                        "`{what}` of `{}.{}` must be known when planning",
                        r.kind, r.name
                    ),
                    span,
                )),
                Some(v) => v.as_bool().ok_or_else(|| {
                    err(
                        "generate/lifecycle",
                        format!("`{what}` of `{}.{}` must be true or false", r.kind, r.name),
                        span,
                    )
                }),
            }
        };
        let mut prevent = flag(
            eval(&r.lifecycle.prevent_destroy)?,
            "prevent_destroy",
            r.lifecycle.prevent_destroy.as_ref().and_then(|x| x.1),
        )?;
        let mut rule = if prevent {
            format!(
                "`prevent_destroy` of `{}.{}` in module `{}` (environment `{}`)",
                r.kind, r.name, m.name, self.env.name
            )
        } else {
            String::new()
        };
        let decl = self.decl(uid);
        let annotated = decl
            .metadata
            .as_ref()
            .and_then(|md| md.get("annotations"))
            .and_then(|a| a.get("baton.dev/prevent-destroy"))
            .and_then(Json::as_str)
            .is_some_and(|v| v == "true");
        if annotated && !prevent {
            prevent = true;
            let (w, res) = decl.requested_by.first().cloned().unwrap_or_default();
            rule = format!(
                "the Score annotation `baton.dev/prevent-destroy: \"true\"` on resource `{res}` of workload `{w}`"
            );
        }
        let cbd = flag(
            eval(&r.lifecycle.create_before_destroy)?,
            "create_before_destroy",
            r.lifecycle.create_before_destroy.as_ref().and_then(|x| x.1),
        )?;
        let triggers = eval(&r.lifecycle.replace_triggered_by)?.map(|v| v.to_json_revealed());
        Ok(LifecycleValues {
            prevent_destroy: prevent,
            rule,
            create_before_destroy: cbd,
            triggers,
            ignore_changes: r.lifecycle.ignore_changes.clone(),
        })
    }

    /// The outputs of `uid`.
    pub fn eval_outputs(
        &self,
        uid: &Uid,
        values: &Values,
    ) -> Result<crate::value::Map, Diagnostic> {
        let m = self.module(uid);
        // Most outputs are one attribute of one of the module's resources: read in place.
        // The scope (copies of what the outputs read) is built for the others only.
        let mut scope: Option<Scope> = None;
        let mut out = crate::value::Map::with_capacity(m.outputs.len());
        for o in &m.outputs {
            let direct = crate::expr::resource_attribute(&o.value, |kind, name| {
                let r = m
                    .resources
                    .iter()
                    .find(|r| r.kind == kind && r.name == name)?;
                values
                    .resources
                    .get(resource_address(uid, &r.kind, &r.name).as_str())
                    .map(|a| &**a)
            });
            let v = match direct {
                Some(v) => v,
                None => {
                    let scope = scope.get_or_insert_with(|| self.scope(uid, values, true));
                    crate::expr::eval(&o.value, scope).map_err(|e| {
                        hcl::eval_diagnostic(m.file, Stage::Generate, "generate/eval", e, o.span)
                    })?
                }
            };
            let v = if o.sensitive { Value::sensitive(v) } else { v };
            if o.name == "*" {
                let (inner, sensitive) = v.unmark();
                match inner {
                    Value::Map(entries) => {
                        for (k, x) in entries {
                            out.insert(
                                k.clone(),
                                if sensitive {
                                    Value::sensitive(x.clone())
                                } else {
                                    x.clone()
                                },
                            );
                        }
                    }
                    Value::Unknown => {}
                    other => {
                        return Err(err(
                            "generate/output-star",
                            format!(
                                "output `*` of module `{}` must be a map, found {}",
                                m.name,
                                other.type_name()
                            ),
                            o.span,
                        ));
                    }
                }
            } else {
                out.insert(o.name.clone(), v);
            }
        }
        Ok(out)
    }

    /// The desired attributes of a workload's manifests node.
    pub fn eval_workload(&self, name: &str, values: &Values) -> Result<Attrs, Diagnostic> {
        let lw = self
            .workload(name)
            .expect("workload nodes come from the project");
        let w = &lw.workload;
        let at = lw.root.pointer("/metadata/name").map(|n| n.span);
        // A failed placeholder is underlined where it is written in its string.
        let fail = |pointer: String, e: Unresolved| {
            let span = crate::score::semantic::span_within(
                &lw.root,
                self.sources,
                &pointer,
                &e.placeholder,
            )
            .or(at);
            err(
                "generate/placeholder",
                format!("workload `{name}`: {e}"),
                span,
            )
            .pointer(pointer)
        };
        let mut containers = BTreeMap::new();
        for (cname, c) in &w.containers {
            let mut variables = crate::value::Map::new();
            for (k, v) in &c.variables {
                let ptr = crate::score::yaml::to_pointer(&["containers", cname, "variables", k]);
                let val = self
                    .substitute(lw, v, values, "")
                    .map_err(|e| fail(ptr, e))?;
                variables.insert(k.clone(), stringify(val));
            }
            let mut files = BTreeMap::new();
            for (target_path, f) in &c.files {
                let ptr =
                    crate::score::yaml::to_pointer(&["containers", cname, "files", target_path]);
                let content = if let Some(b64) = &f.binary_content {
                    use base64::Engine;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .map_err(|e| {
                            let span = lw.root.pointer(&ptr).map(|n| n.span).or(at);
                            err(
                                "generate/placeholder",
                                format!("workload `{name}`: binaryContent is not base64: {e}"),
                                span,
                            )
                            .pointer(ptr.clone())
                        })?;
                    target::FileContent::Binary(bytes)
                } else {
                    let text = match (&f.content, &f.source) {
                        (Some(t), _) => t.clone(),
                        (None, Some(_)) => {
                            let bytes = self
                                .file_sources
                                .get(&(name.to_string(), cname.clone(), target_path.clone()))
                                .cloned()
                                .unwrap_or_default();
                            match String::from_utf8(bytes) {
                                Ok(s) => s,
                                Err(e) => {
                                    files.insert(
                                        target_path.clone(),
                                        target::ResolvedFile {
                                            content: target::FileContent::Binary(e.into_bytes()),
                                            mode: f.mode.clone(),
                                        },
                                    );
                                    continue;
                                }
                            }
                        }
                        (None, None) => String::new(),
                    };
                    if f.expands() {
                        target::FileContent::Text(stringify(
                            self.substitute(lw, &text, values, "")
                                .map_err(|e| fail(ptr, e))?,
                        ))
                    } else {
                        target::FileContent::Text(Value::String(text))
                    }
                };
                files.insert(
                    target_path.clone(),
                    target::ResolvedFile {
                        content,
                        mode: f.mode.clone(),
                    },
                );
            }
            let mut volumes = BTreeMap::new();
            for (target_path, v) in &c.volumes {
                let ptr = crate::score::yaml::to_pointer(&[
                    "containers",
                    cname,
                    "volumes",
                    target_path,
                    "source",
                ]);
                let source = self
                    .substitute(lw, &v.source, values, "source")
                    .map_err(|e| fail(ptr, e))?;
                volumes.insert(
                    target_path.clone(),
                    target::ResolvedVolume {
                        source: stringify(source),
                        path: v.path.clone(),
                        read_only: v.read_only.unwrap_or(false),
                    },
                );
            }
            containers.insert(
                cname.clone(),
                target::ResolvedContainer {
                    spec: c.clone(),
                    variables,
                    files,
                    volumes,
                },
            );
        }
        let annotations = w
            .metadata
            .get("annotations")
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let resolved = target::ResolvedWorkload {
            name: name.to_string(),
            annotations,
            containers,
            service_ports: w
                .service
                .as_ref()
                .map(|s| s.ports.clone())
                .unwrap_or_default(),
        };
        let (dir, manifests) = match &self.env.target {
            Target::Kubernetes { dir, namespace } => {
                let opts = target::KubernetesOptions {
                    namespace: namespace.clone(),
                };
                (dir.clone(), target::kubernetes(&resolved, &opts))
            }
            Target::Compose { dir } => {
                let opts = target::ComposeOptions {
                    project: Some(name.to_string()),
                };
                let ms = target::compose(std::slice::from_ref(&resolved), &opts);
                (format!("{dir}/{name}"), ms)
            }
        };
        let mut files = crate::value::Map::new();
        let mut secret_files = crate::value::Map::new();
        let mut base64_paths = Vec::new();
        for m in manifests {
            if m.encoding == target::Encoding::Base64 {
                base64_paths.push(Value::string(m.path.clone()));
            }
            if m.content.contains_sensitive() || m.mode == Some(target::SENSITIVE_MODE) {
                secret_files.insert(m.path, m.content.reveal());
            } else {
                files.insert(m.path, m.content);
            }
        }
        let mut attrs = Attrs::new();
        attrs.insert("dir".into(), Value::string(dir));
        attrs.insert("files".into(), Value::Map(files));
        attrs.insert(
            "secret_files".into(),
            Value::sensitive(Value::Map(secret_files)),
        );
        if !base64_paths.is_empty() {
            attrs.insert("base64_paths".into(), Value::List(base64_paths));
        }
        Ok(attrs)
    }
}

/// A placeholder that could not be substituted: why, and the placeholder as written
/// (so a message can point at it rather than at the whole string).
#[derive(Debug, Clone)]
pub struct Unresolved {
    /// `invalid ref 'CONTENT': why`.
    pub message: String,
    /// The placeholder, `${…}`.
    pub placeholder: String,
}

impl Unresolved {
    fn new(p: &placeholder::Placeholder, why: Option<String>) -> Unresolved {
        Unresolved {
            message: match why {
                Some(why) => format!("invalid ref '{}': {why}", p.content),
                None => format!("invalid ref '{}'", p.content),
            },
            placeholder: p.text(),
        }
    }
}

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

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
