//! The order of the stages, private to [`crate::ops`]: Score files and `baton.hcl` and
//! modules → a checked graph; then state → refresh → plan. The operations of `ops`
//! call these functions; nothing else does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::ScoreInputs;
use crate::addr::Uid;
use crate::config::{self, Environment, StateBackend};
use crate::diag::{Diagnostic, Diagnostics, Sources, Span, Stage};
use crate::eval::Context;
use crate::graph::Graph;
use crate::module::{self, Module};
use crate::plan::diff::{self, PlanOptions, Planned};
use crate::provider::Registry;
use crate::refresh::{self, Refreshed};
use crate::score::{self, Project};
use crate::state::{PostgresStore, SqliteStore, State, StateError, Store};
use crate::timings;
use crate::value::Value;

mod file_source;

/// Everything loaded and checked, ready to plan.
pub struct Prepared {
    /// Texts read (for diagnostics).
    pub sources: Sources,
    /// Warnings collected while loading.
    pub warnings: Diagnostics,
    /// The Score project.
    pub project: Project,
    /// The environment.
    pub env: Environment,
    /// Providers.
    pub registry: Registry,
    /// All modules (project first, then built-in).
    pub modules: Vec<Module>,
    /// The graph.
    pub graph: Graph,
    /// Score locations of each uid.
    pub spans: BTreeMap<Uid, Option<Span>>,
    /// Contents of `files.*.source`.
    pub file_sources: BTreeMap<(String, String, String), score::SourceFile>,
    /// The project directory.
    pub root: PathBuf,
}

/// A failed preparation: the diagnostics and the texts they point into.
pub struct Failed {
    /// Texts.
    pub sources: Sources,
    /// Errors and warnings.
    pub diagnostics: Diagnostics,
}

/// The configuration a recorded deployment applied, to plan from instead of the
/// working tree (`plan --at SERIAL`).
pub struct Stored {
    /// Score files: path relative to the project, text (after overrides).
    pub score: Vec<(String, String)>,
    /// Modules: name, where it came from (`builtin` or a path relative to the
    /// project), text.
    pub modules: Vec<(String, String, String)>,
    /// The environment's `settings` to use.
    pub settings: crate::value::Map,
    /// The serial, for the names of the texts in messages.
    pub serial: u64,
}

/// Loads Score files, `baton.hcl` and modules, matches a module to every resource and
/// builds the graph. All problems of all inputs are reported together.
pub fn prepare(root: &Path, env_name: &str, inputs: &ScoreInputs) -> Result<Prepared, Failed> {
    prepare_from(root, env_name, Err(inputs))
}

/// [`prepare`] from a recorded deployment's Score files and modules (its settings
/// over the environment's), with everything else from the current `baton.hcl`.
pub fn prepare_stored(root: &Path, env_name: &str, stored: &Stored) -> Result<Prepared, Failed> {
    prepare_from(root, env_name, Ok(stored))
}

fn prepare_from(
    root: &Path,
    env_name: &str,
    inputs: Result<&Stored, &ScoreInputs>,
) -> Result<Prepared, Failed> {
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let project = timings::stage("score files", || match inputs {
        Err(inputs) => inputs.load(&mut sources, &mut diags),
        Ok(stored) => {
            let named: Vec<(String, &str)> = stored
                .score
                .iter()
                .map(|(p, t)| (root.join(p).display().to_string(), t.as_str()))
                .collect();
            let texts: Vec<(&str, &str)> = named.iter().map(|(n, t)| (n.as_str(), *t)).collect();
            score::load_texts(
                &texts,
                &score::LoadOptions::default(),
                &mut sources,
                &mut diags,
            )
        }
    });
    diags.escalate(
        "options/image-dot",
        "pass --image IMAGE: the manifests need a real image",
    );
    let loaded = match inputs {
        Err(_) => load_environment(root, env_name, &mut sources, &mut diags),
        Ok(stored) => {
            let mut out = Vec::new();
            let env = config::load(root, env_name, &mut sources, &mut out);
            diags.extend(out.drain(..));
            env.map(|mut env| {
                let started = std::time::Instant::now();
                env.settings = stored.settings.clone();
                let (registry, modules) =
                    stored_modules(root, &env, stored, &mut sources, &mut out);
                diags.extend(out);
                timings::record("modules", started.elapsed());
                (env, registry, modules)
            })
        }
    };
    let Some((env, registry, modules)) = loaded.filter(|_| !diags.has_errors()) else {
        return Err(Failed {
            sources,
            diagnostics: diags,
        });
    };

    // A module for every resource.
    let matching_started = std::time::Instant::now();
    let lineage: Vec<&str> = env.lineage().collect();
    // Uids come in order, so both maps are built from sorted lists (no search per uid).
    let mut module_of = Vec::with_capacity(project.resources.len());
    let mut spans = Vec::with_capacity(project.resources.len());
    let type_spans = resource_type_spans(&project);
    for (uid, decl) in &project.resources {
        let span = decl
            .requested_by
            .first()
            .and_then(|(w, r)| type_spans.get(&(w.as_str(), r.as_str())).copied());
        spans.push((uid.clone(), span));
        match module::matching::select(&modules, uid, &lineage, span) {
            Ok(m) => {
                let idx = modules
                    .iter()
                    .position(|x| std::ptr::eq(x, m))
                    .expect("module is in the list");
                module_of.push((uid.clone(), idx));
                diags.extend(unknown_params(&project, &env.name, decl, m));
            }
            Err(d) => diags.push(d),
        }
    }
    let module_of: BTreeMap<Uid, usize> = module_of.into_iter().collect();
    let spans: BTreeMap<Uid, Option<Span>> = spans.into_iter().collect();
    check_variables(&project, &env, &modules, &module_of, &sources, &mut diags);
    timings::record("matching", matching_started.elapsed());
    if diags.has_errors() {
        return Err(Failed {
            sources,
            diagnostics: diags,
        });
    }
    let graph = match timings::stage("graph", || {
        Graph::build(&project, &modules, module_of, &spans)
    }) {
        Ok(g) => g,
        Err(d) => {
            diags.push(d);
            return Err(Failed {
                sources,
                diagnostics: diags,
            });
        }
    };
    let file_sources = read_file_sources(root, &project, &mut diags);
    if diags.has_errors() {
        return Err(Failed {
            sources,
            diagnostics: diags,
        });
    }
    Ok(Prepared {
        sources,
        warnings: diags,
        project,
        env,
        registry,
        modules,
        graph,
        spans,
        file_sources,
        root: root.to_path_buf(),
    })
}

/// The environment and the modules of the objects `state` records, as if a Score file
/// had requested each recorded uid (without params): what `output` evaluates when there
/// is no Score file. A uid whose recorded module is gone is left out.
pub fn prepare_recorded(root: &Path, env_name: &str, state: &State) -> Result<Prepared, Failed> {
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let loaded = load_environment(root, env_name, &mut sources, &mut diags);
    let Some((env, registry, modules)) = loaded.filter(|_| !diags.has_errors()) else {
        return Err(Failed {
            sources,
            diagnostics: diags,
        });
    };
    let lineage: Vec<&str> = env.lineage().collect();
    let mut project = Project::default();
    let mut module_of = BTreeMap::new();
    for o in state.objects.values() {
        let Some(uid) = Uid::parse(&o.uid) else {
            continue;
        };
        let Some(mi) = modules
            .iter()
            .position(|m| m.name == o.module && module::matching::serves(m, &lineage))
        else {
            continue;
        };
        let requested_by = match &uid.scope {
            crate::addr::UidScope::Workload { workload, resource } => {
                vec![(workload.clone(), resource.clone())]
            }
            crate::addr::UidScope::Shared(_) => Vec::new(),
        };
        module_of.insert(uid.clone(), mi);
        project
            .resources
            .entry(uid.clone())
            .or_insert_with(|| score::ResourceDecl {
                uid,
                params: None,
                metadata: None,
                requested_by,
                depends_on: Vec::new(),
            });
    }
    let spans: BTreeMap<Uid, Option<Span>> = module_of.keys().map(|u| (u.clone(), None)).collect();
    let graph = match Graph::build(&project, &modules, module_of, &spans) {
        Ok(g) => g,
        Err(d) => {
            diags.push(d);
            return Err(Failed {
                sources,
                diagnostics: diags,
            });
        }
    };
    Ok(Prepared {
        sources,
        warnings: diags,
        project,
        env,
        registry,
        modules,
        graph,
        spans,
        file_sources: BTreeMap::new(),
        root: root.to_path_buf(),
    })
}

/// Environment `env_name` of `baton.hcl`, its provider registry and its modules (`None`
/// when `baton.hcl` did not load); what is wrong goes to `diags`.
fn load_environment(
    root: &Path,
    env_name: &str,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> Option<(Environment, Registry, Vec<Module>)> {
    let mut out = Vec::new();
    let env = config::load(root, env_name, sources, &mut out);
    diags.extend(out.drain(..));
    let env = env?;
    let started = std::time::Instant::now();
    let (registry, modules) = load_modules(root, Some(&env), sources, &mut out);
    diags.extend(out);
    timings::record("modules", started.elapsed());
    Some((env, registry, modules))
}

/// The provider registry of `env` and its modules: those of the project's module folders
/// first, then the built-in library. Without an environment (its `baton.hcl` did not
/// load), the built-in providers and library. The one place modules are loaded.
pub fn load_modules(
    root: &Path,
    env: Option<&Environment>,
    sources: &mut Sources,
    out: &mut Vec<Diagnostic>,
) -> (Registry, Vec<Module>) {
    let registry = match env {
        Some(e) => Registry::new(root, &e.providers),
        None => Registry::builtin(root),
    };
    let providers: Vec<String> = registry.provider_names();
    let mut modules = Vec::new();
    for dir in env.iter().flat_map(|e| &e.module_dirs) {
        modules.extend(module::load::load_dir(
            &root.join(dir),
            &registry,
            &providers,
            sources,
            out,
        ));
    }
    modules.extend(module::library::load(&registry, &providers, sources, out));
    (registry, modules)
}

/// The modules a deployment recorded, loaded from their stored texts: a built-in one
/// keeps its built-in origin (the process-reading `environment` module is known by it).
fn stored_modules(
    root: &Path,
    env: &Environment,
    stored: &Stored,
    sources: &mut Sources,
    out: &mut Vec<Diagnostic>,
) -> (Registry, Vec<Module>) {
    let registry = Registry::new(root, &env.providers);
    let providers: Vec<String> = registry.provider_names();
    let mut modules = Vec::new();
    for (name, origin, text) in &stored.modules {
        let builtin = module::library::BUILTIN
            .iter()
            .find(|(p, _)| origin == "builtin" && p.strip_suffix(".hcl") == Some(name.as_str()));
        let (label, origin) = match builtin {
            Some((p, _)) => (
                format!("<built-in>/modules/{p}"),
                module::Origin::Builtin(p),
            ),
            None => (origin.clone(), module::Origin::Project(root.join(origin))),
        };
        let label = format!("{label} (serial {})", stored.serial);
        let file = sources.add_file(label, None, text.clone());
        modules.extend(module::load::load_text(
            name, origin, file, &registry, &providers, sources, out,
        ));
    }
    (registry, modules)
}

/// Where each resource's `type` is written, by (workload, resource name): one pass over
/// each Score file's `resources` mapping.
fn resource_type_spans(project: &Project) -> rustc_hash::FxHashMap<(&str, &str), Span> {
    let mut out = rustc_hash::FxHashMap::default();
    out.reserve(
        project
            .workloads
            .iter()
            .map(|lw| lw.workload.resources.len())
            .sum(),
    );
    for lw in &project.workloads {
        let Some(score::yaml::Node {
            kind: score::yaml::Kind::Map(entries),
            ..
        }) = lw.root.get("resources")
        else {
            continue;
        };
        for (key, node) in entries {
            if let Some(t) = node.get("type") {
                out.insert((lw.workload.name(), key.name.as_str()), t.span);
            }
        }
    }
    out
}

/// Checks the variables Score placeholders read through the built-in `environment`
/// module (`${resources.env.NAME}`): each must be listed in the environment's
/// `environment_variables`, and none may be a `BATON_*` variable (baton's own settings,
/// the state key among them). Found here, before any state is opened, with the
/// placeholder located.
fn check_variables(
    project: &Project,
    env: &Environment,
    modules: &[Module],
    module_of: &BTreeMap<Uid, usize>,
    sources: &Sources,
    diags: &mut Diagnostics,
) {
    use score::placeholder::Ref;
    let process_module = |i: usize| {
        let m = &modules[i];
        matches!(m.origin, module::Origin::Builtin(_)) && m.provisions.kind == "environment"
    };
    let reads_process = |uid: &Uid| module_of.get(uid).is_some_and(|&i| process_module(i));
    // Most projects read no variable: then nothing is walked (listing every string of
    // 10,000 resources was a tenth of a plan).
    if !module_of.values().any(|&i| process_module(i)) {
        return;
    }
    for lw in &project.workloads {
        if !lw.uids.values().any(reads_process) {
            continue;
        }
        let mut locator = score::semantic::Locator::new(&lw.root, sources);
        let strings = score::semantic::expandables(&lw.workload);
        for (e, t) in strings.iter().zip(lw.templates.iter()) {
            for p in t.placeholders() {
                let Ok(Ref::Resource { name, output }) = &p.reference else {
                    continue;
                };
                let (Some(var), Some(uid)) = (output.first(), lw.uid(name)) else {
                    continue;
                };
                if !reads_process(uid) || env.variables.contains(var) {
                    continue;
                }
                let text = p.text();
                let at = locator.find(&e.pointer, e.text, &text);
                let d = if var.starts_with("BATON_") {
                    Diagnostic::error(
                        Stage::Generate,
                        "generate/environment-variable",
                        format!("{text} reads {var}, a variable of baton itself"),
                    )
                    .label("never given to a workload")
                    .detail("`BATON_*` variables are baton's settings (the state key among them)")
                    .help(format!("pass the value under another name and list that name in `environment_variables` of environment `{}` in baton.hcl", env.name))
                } else {
                    Diagnostic::error(
                        Stage::Generate,
                        "generate/environment-variable",
                        format!(
                            "{text} reads {var}, which environment `{}` does not list",
                            env.name
                        ),
                    )
                    .label("not in `environment_variables`")
                    .detail("workloads read only the variables baton.hcl lists")
                    .help(format!(
                        "add it in baton.hcl: `environment \"{}\" {{ environment_variables = [\"{var}\"] }}`",
                        env.name
                    ))
                };
                diags.push(d.at(at).pointer(e.pointer.clone()));
            }
        }
    }
}

/// Reads the files that Score `files.*.source` names, relative to their Score file: only
/// regular files beneath the project directory (see [`file_source`]).
fn read_file_sources(
    root: &Path,
    project: &Project,
    diags: &mut Diagnostics,
) -> BTreeMap<(String, String, String), score::SourceFile> {
    use file_source::Refusal;
    let mut out = BTreeMap::new();
    for lw in &project.workloads {
        let base = lw.path.parent().map(Path::to_path_buf).unwrap_or_default();
        for (cname, c) in &lw.workload.containers {
            for (target, f) in &c.files {
                let (Some(src), None) = (&f.source, &f.content) else {
                    continue;
                };
                match file_source::read(root, &base, src) {
                    Ok(bytes) => {
                        out.insert(
                            (
                                lw.workload.name().to_string(),
                                cname.clone(),
                                target.clone(),
                            ),
                            score::SourceFile::new(bytes, f.expands()),
                        );
                    }
                    Err(e) => {
                        let ptr = score::yaml::to_pointer(&[
                            "containers",
                            cname,
                            "files",
                            target,
                            "source",
                        ]);
                        let (label, help) = match &e {
                            Refusal::Outside { .. } => (
                                "outside the project directory",
                                "`source` may only name a file beneath the directory baton runs in (`-C DIR`); copy the file into the project, or write it inline with `content`",
                            ),
                            Refusal::Symlink { .. } => (
                                "a symbolic link",
                                "symbolic links are not followed: name the file itself, inside the project",
                            ),
                            Refusal::NotRegular { .. } => (
                                "not a regular file",
                                "`source` must name a regular file (not a directory, FIFO, socket or device)",
                            ),
                            Refusal::TooLarge { .. } => (
                                "larger than 1 MiB",
                                "a file in a container is stored in one Kubernetes object, at most 1 MiB: mount a volume for larger files",
                            ),
                            Refusal::Io { .. } => (
                                "cannot be read",
                                "`source` is relative to the Score file's folder",
                            ),
                        };
                        diags.push(
                            Diagnostic::error(
                                Stage::Generate,
                                "generate/file-source",
                                match &e {
                                    Refusal::Io { .. } => e.to_string(),
                                    _ => format!("file source refused: {e}"),
                                },
                            )
                            .at(lw.root.pointer(&ptr).map(|n| n.span))
                            .pointer(ptr)
                            .label(label)
                            .help(help),
                        );
                    }
                }
            }
        }
    }
    out
}

/// Checks what `validate` checks beyond the Score files: `baton.hcl` and every module
/// (errors), and whether a module provisions each resource (warnings: only `plan` needs
/// them, and Score files are often validated before the platform has modules).
pub fn check_environment(
    root: &Path,
    env_name: &str,
    project: &Project,
    sources: &mut Sources,
    diags: &mut Diagnostics,
) {
    let mut out = Vec::new();
    let Some(env) = config::load(root, env_name, sources, &mut out) else {
        diags.extend(out);
        return;
    };
    let (_, modules) = load_modules(root, Some(&env), sources, &mut out);
    diags.extend(out);
    let lineage: Vec<&str> = env.lineage().collect();
    let mut matched: BTreeMap<&Uid, &Module> = BTreeMap::new();
    for (uid, decl) in &project.resources {
        let span = decl.requested_by.first().and_then(|(w, r)| {
            let lw = project.workloads.iter().find(|x| x.workload.name() == w)?;
            lw.root
                .pointer(&score::yaml::to_pointer(&["resources", r, "type"]))
                .map(|n| n.span)
        });
        match module::matching::select(&modules, uid, &lineage, span) {
            Err(mut d) => {
                d.severity = crate::diag::Severity::Warning;
                diags.push(d);
            }
            Ok(m) => {
                diags.extend(unknown_params(project, &env.name, decl, m));
                matched.insert(uid, m);
            }
        }
    }
    check_outputs(
        project,
        &env.name,
        sources,
        |uid| matched.get(uid).copied(),
        diags,
    );
}

/// A warning for each Score param of `decl` that module `m` does not declare, at the
/// param's key: the module ignores it (the same file may carry params meant for another
/// environment's module), and a misspelt param would otherwise go unnoticed.
fn unknown_params(
    project: &Project,
    env_name: &str,
    decl: &score::ResourceDecl,
    m: &Module,
) -> Vec<Diagnostic> {
    let Some(params) = &decl.params else {
        return Vec::new();
    };
    let names: Vec<&str> = m.params.iter().map(|p| p.name.as_str()).collect();
    params
        .keys()
        .filter(|k| !names.contains(&k.as_str()))
        .map(|k| {
            let uid = &decl.uid;
            Diagnostic::warning(Stage::Generate, "generate/unknown-param", format!("param `{k}` of `{uid}` is ignored in environment `{env_name}`: module `{}` does not declare it", m.name))
                .at(project.param_span(decl, k, true))
                .label("not a param of this module")
                .detail(format!("params of `{}`: {}", m.name, if names.is_empty() { "none".to_string() } else { names.join(", ") }))
                .maybe_help(crate::diag::did_you_mean(k, names.iter().copied()).map(|s| format!("did you mean `{s}`?")))
        })
        .collect()
}

/// A warning for each placeholder `${resources.NAME.OUTPUT…}` whose OUTPUT the module
/// matched to NAME does not declare, at the placeholder (`validate`; a plan fails with
/// the same, located there, when it evaluates the workload). A warning, as for a type no
/// module provisions: the Score file is valid, and another platform's provisioners may
/// have the output. Modules with a wildcard output (`output "*"`) and resources no
/// module provisions are not checked.
fn check_outputs<'m>(
    project: &Project,
    env_name: &str,
    sources: &Sources,
    module_of: impl Fn(&Uid) -> Option<&'m Module>,
    diags: &mut Diagnostics,
) {
    use score::placeholder::Ref;
    for lw in &project.workloads {
        let mut locator = score::semantic::Locator::new(&lw.root, sources);
        let strings = score::semantic::expandables(&lw.workload);
        for (e, t) in strings.iter().zip(lw.templates.iter()) {
            for p in t.placeholders() {
                let Ok(Ref::Resource { name, output }) = &p.reference else {
                    continue;
                };
                let (Some(key), Some(uid)) = (output.first(), lw.uid(name)) else {
                    continue;
                };
                let Some(m) = module_of(uid) else { continue };
                if m.outputs.iter().any(|o| &o.name == key || o.name == "*") {
                    continue;
                }
                let known: Vec<&str> = m.outputs.iter().map(|o| o.name.as_str()).collect();
                let text = p.text();
                diags.push(
                    Diagnostic::warning(
                        Stage::Generate,
                        "generate/unknown-output",
                        format!(
                            "{text}: resource `{name}` of type `{}` has no output `{key}` in environment `{env_name}`, so a plan there fails",
                            uid.kind
                        ),
                    )
                    .at(locator.find(&e.pointer, e.text, &text))
                    .pointer(e.pointer.clone())
                    .label("no such output")
                    .detail(format!(
                        "outputs of module `{}`: {}",
                        m.name,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ))
                    .maybe_help(
                        crate::diag::did_you_mean(key, known.iter().copied())
                            .map(|s| format!("did you mean `{s}`?")),
                    ),
                );
            }
        }
    }
}

impl Prepared {
    /// The evaluation context, for a plan against (or an apply to) the state of
    /// `lineage`.
    pub fn context(&self, lineage: &str) -> Context<'_> {
        Context {
            project: &self.project,
            modules: &self.modules,
            graph: &self.graph,
            env: &self.env,
            registry: &self.registry,
            // Only what baton.hcl lists (`environment_variables`), never `BATON_*`.
            env_vars: Value::Map(self.env.variable_values()),
            provider_vars: self.registry.vars(),
            environment_vars: self.env.module_value(),
            module_roots: self.modules.iter().map(crate::eval::module_roots).collect(),
            file_sources: &self.file_sources,
            spans: &self.spans,
            sources: &self.sources,
            workloads: std::sync::OnceLock::new(),
            uids: timings::stage("uid index", || {
                crate::eval::uid_index(&self.project, &self.graph, &self.spans)
            }),
            lineage: lineage.to_string(),
        }
    }

    /// Opens the environment's state store.
    pub fn open_state(&self) -> Result<Store, StateError> {
        open_state(&self.root, &self.env)
    }
}

/// Opens an environment's state store to read it: a SQLite state that does not exist
/// is not created (a command that only reads says there is no state yet).
pub fn open_existing(root: &Path, env: &Environment) -> anyhow::Result<Store> {
    if let StateBackend::Sqlite(p) = &env.state
        && !root.join(p).exists()
    {
        anyhow::bail!(
            "no state yet: environment `{}` has recorded nothing ({} does not exist; `baton apply` makes it)",
            env.name,
            p.display()
        );
    }
    Ok(open_state(root, env)?)
}

/// Opens an environment's state store, with the state key of the process environment.
pub fn open_state(root: &Path, env: &Environment) -> Result<Store, StateError> {
    open_backend(root, &env.state, &env.name)
}

/// Opens the state of environment `name` in `backend`, with the state key of the
/// process environment (`BATON_STATE_KEY` or `BATON_STATE_KEY_FILE`).
pub fn open_backend(root: &Path, backend: &StateBackend, name: &str) -> Result<Store, StateError> {
    let key = crate::state::crypto::StateKey::from_env().map_err(|why| StateError::Key {
        path: "(state key)".into(),
        why,
    })?;
    let store = match backend {
        StateBackend::Sqlite(p) => Store::Sqlite(SqliteStore::open(&root.join(p))?),
        StateBackend::Postgres(url) => Store::Postgres(PostgresStore::open(url, name)?),
    };
    Ok(store.with_key(key))
}

/// What the `moved` blocks of the environment take in `state`, and the state with them
/// taken (`None` when none moves anything). A block whose `from` is recorded no more is
/// done, and stays harmless; one whose `from` and `to` are both recorded is an error.
fn moves(
    env: &Environment,
    state: &State,
) -> Result<(Vec<crate::state::moves::Move>, Option<State>), Vec<Diagnostic>> {
    use crate::state::moves::{self, MoveError};
    let mut taken = Vec::new();
    let mut moved: Option<State> = None;
    let mut errors = Vec::new();
    for block in &env.moves {
        let now = moved.as_ref().unwrap_or(state);
        match moves::moves(now, &block.from, &block.to) {
            Ok(ms) => {
                let next = moved.get_or_insert_with(|| state.clone());
                moves::take(next, &ms);
                taken.extend(ms);
            }
            Err(MoveError::Absent) => {}
            Err(e) => {
                let (summary, help) = match &e {
                    MoveError::Exists(_) => (
                        format!(
                            "cannot move `{}` to `{}`: both are recorded",
                            block.from, block.to
                        ),
                        "if the move was made already, remove the block; otherwise `baton state rm` what should not be kept at the new address",
                    ),
                    _ => (
                        format!("cannot move `{}` to `{}`", block.from, block.to),
                        "see `baton state list`",
                    ),
                };
                errors.push(
                    Diagnostic::error(Stage::Generate, "plan/moved", summary)
                        .at(block.span)
                        .detail(e.to_string())
                        .help(help),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok((taken, moved))
    } else {
        Err(errors)
    }
}

/// Takes the `moved` blocks' moves (in memory: apply records them), refreshes (unless
/// `refresh` is false) and plans.
pub async fn plan(
    prepared: &Prepared,
    state: &State,
    refresh: bool,
    parallelism: usize,
    opts: &PlanOptions,
) -> Result<Planned, Vec<Diagnostic>> {
    let (taken, moved) = moves(&prepared.env, state)?;
    let state = moved.as_ref().unwrap_or(state);
    let refreshed: Refreshed = if refresh {
        let targets = opts.targets.clone();
        // Read only what the plan can touch: the targets, and the objects of the named
        // workloads (plus the shared resources they use) when -f narrows the project.
        let desired = &prepared.graph;
        let scope = opts.clone();
        let only = move |addr: &str| {
            let targeted =
                targets.is_empty() || targets.iter().any(|t| crate::addr::within_target(addr, t));
            let uid = state.objects.get(addr).map_or("", |o| o.uid.as_str());
            targeted
                && (scope.workloads.is_none()
                    || desired.find(addr).is_some()
                    || scope.in_scope(addr, uid))
        };
        let started = std::time::Instant::now();
        let r = refresh::refresh(state, &prepared.registry, parallelism, Some(&only)).await?;
        timings::record("refresh", started.elapsed());
        r
    } else {
        timings::stage("refresh", || refresh::without_refresh(state))
    };
    let ctx = timings::stage("context", || prepared.context(&state.lineage));
    timings::stage("diff", || diff::plan(&ctx, state, refreshed, opts, taken))
}
