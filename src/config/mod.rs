//! `baton.hcl` → the selected [`Environment`]: where state lives, which module folders
//! are searched before the built-in library, provider configuration, and the deployment
//! target. Without a `baton.hcl` the built-in environment `local` is used: SQLite state
//! in `.baton/state.db`, `./modules` when it exists, Kubernetes manifests in
//! `deploy/local/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::Body;

use crate::diag::{Diagnostic, FileId, Sources, Span, Stage, did_you_mean};
use crate::hcl;
use crate::value::Value;

const STAGE: Stage = Stage::Load;

/// Where state is stored.
#[derive(Clone, PartialEq)]
pub enum StateBackend {
    /// A SQLite file (relative paths are relative to the project).
    Sqlite(PathBuf),
    /// A PostgreSQL database (the URL may hold a password: never shown).
    Postgres(String),
}

impl std::fmt::Debug for StateBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateBackend::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            StateBackend::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

impl StateBackend {
    /// The backend a `state migrate --to` target names: a `postgres://` or
    /// `postgresql://` URL, else a SQLite path.
    pub fn from_target(target: &str) -> StateBackend {
        if target.starts_with("postgres://") || target.starts_with("postgresql://") {
            StateBackend::Postgres(target.to_string())
        } else {
            StateBackend::Sqlite(PathBuf::from(target))
        }
    }
}

/// Where workload manifests go.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Kubernetes YAML, one file per workload, in this directory.
    Kubernetes {
        /// Directory, relative to the project.
        dir: String,
        /// Namespace to put in the manifests, if any.
        namespace: Option<String>,
    },
    /// A compose project per workload in this directory.
    Compose {
        /// Directory, relative to the project.
        dir: String,
    },
}

/// The selected environment.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Its name.
    pub name: String,
    /// State backend.
    pub state: StateBackend,
    /// Project module folders, searched before the built-in library.
    pub module_dirs: Vec<PathBuf>,
    /// Provider configuration by provider name.
    pub providers: BTreeMap<String, crate::value::Map>,
    /// Deployment target.
    pub target: Target,
    /// Where it was defined (`None` for the built-in default).
    pub span: Option<Span>,
    /// The process environment variables modules may read (`env.*`, the `environment`
    /// resource type): only these, and never a `BATON_*` one (baton's own settings,
    /// the state key among them).
    pub variables: Vec<String>,
}

impl Environment {
    /// The built-in `local` environment for a project at `root`.
    pub fn builtin_local(root: &Path) -> Environment {
        let modules = root.join("modules");
        Environment {
            name: "local".into(),
            state: StateBackend::Sqlite(PathBuf::from(".baton/state.db")),
            module_dirs: if modules.is_dir() {
                vec![PathBuf::from("modules")]
            } else {
                vec![]
            },
            providers: BTreeMap::new(),
            target: Target::Kubernetes {
                dir: "deploy/local".into(),
                namespace: None,
            },
            span: None,
            variables: Vec::new(),
        }
    }

    /// The values of [`Environment::variables`] that are set, as `env.*` sees them.
    pub fn variable_values(&self) -> crate::value::Map {
        self.variables
            .iter()
            .filter_map(|k| Some((k.clone(), Value::String(std::env::var(k).ok()?))))
            .collect()
    }
}

/// Reads `baton.hcl` in `root` (if present) and returns the environment `name`.
pub fn load(
    root: &Path,
    name: &str,
    sources: &mut Sources,
    out: &mut Vec<Diagnostic>,
) -> Option<Environment> {
    let path = root.join("baton.hcl");
    if !path.exists() {
        if name == "local" {
            return Some(Environment::builtin_local(root));
        }
        out.push(
            Diagnostic::error(
                STAGE,
                "config/no-environment",
                format!("environment `{name}` is not defined"),
            )
            .detail("there is no baton.hcl; only the built-in environment `local` exists")
            .help(
                "write a baton.hcl with an `environment` block (`baton init` writes a starter one)",
            ),
        );
        return None;
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            out.push(Diagnostic::error(
                STAGE,
                "config/read",
                format!("cannot read baton.hcl: {e}"),
            ));
            return None;
        }
    };
    let file = sources.add_file("baton.hcl", Some(&path), text);
    parse(file, name, root, sources, out)
}

fn parse(
    file: FileId,
    name: &str,
    root: &Path,
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) -> Option<Environment> {
    let body = match hcl::parse(file, sources.text(file), STAGE) {
        Ok(b) => b,
        Err(d) => {
            out.push(d);
            return None;
        }
    };
    hcl::check_keys(file, &body, &[], &["environment"], "baton.hcl", STAGE, out);
    let envs: Vec<_> = body
        .blocks()
        .filter(|b| b.ident.as_str() == "environment")
        .collect();
    let names: Vec<String> = envs
        .iter()
        .filter_map(|b| hcl::labels(b).first().cloned())
        .collect();
    let Some(block) = envs
        .iter()
        .find(|b| hcl::labels(b).first().map(String::as_str) == Some(name))
    else {
        if name == "local" && envs.is_empty() {
            return Some(Environment::builtin_local(root));
        }
        let hint = did_you_mean(name, names.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`?"));
        out.push(
            Diagnostic::error(
                STAGE,
                "config/no-environment",
                format!("environment `{name}` is not defined in baton.hcl"),
            )
            .at(Some(Span::new(file, 0, 0)))
            .detail(format!(
                "defined: {}",
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ))
            .maybe_help(hint),
        );
        return None;
    };
    let before = out.len();
    let span = hcl::block_span(file, block);
    let b = &block.body;
    hcl::check_keys(
        file,
        b,
        &["modules", "environment_variables"],
        &["state", "provider", "target"],
        &format!("environment `{name}`"),
        STAGE,
        out,
    );

    let mut env = Environment::builtin_local(root);
    env.name = name.to_string();
    env.span = span;

    if let Some(a) = b.get_attribute("modules") {
        match eval(file, &a.value, out) {
            Some(Value::List(items)) if items.iter().all(|i| i.as_str().is_some()) => {
                env.module_dirs = items
                    .iter()
                    .filter_map(|i| i.as_str().map(PathBuf::from))
                    .collect();
                for d in &env.module_dirs {
                    if !root.join(d).is_dir() {
                        out.push(
                            Diagnostic::error(
                                STAGE,
                                "config/modules-dir",
                                format!("module folder {} does not exist", d.display()),
                            )
                            .at(hcl::expr_span(file, &a.value)),
                        );
                    }
                }
            }
            Some(_) => out.push(
                Diagnostic::error(
                    STAGE,
                    "config/type",
                    "`modules` must be a list of folder paths",
                )
                .at(hcl::expr_span(file, &a.value)),
            ),
            None => {}
        }
    }
    if let Some(a) = b.get_attribute("environment_variables") {
        env.variables = variables(file, &a.value, out);
    }
    for s in b.blocks().filter(|x| x.ident.as_str() == "state") {
        hcl::check_keys(
            file,
            &s.body,
            &[],
            &["sqlite", "postgres"],
            "`state`",
            STAGE,
            out,
        );
        for backend in s.body.blocks() {
            match backend.ident.as_str() {
                "sqlite" => {
                    hcl::check_keys(file, &backend.body, &["path"], &[], "`sqlite`", STAGE, out);
                    if let Some(p) = string(file, &backend.body, "path", out) {
                        env.state = StateBackend::Sqlite(PathBuf::from(p));
                    }
                }
                "postgres" => {
                    hcl::check_keys(file, &backend.body, &["url"], &[], "`postgres`", STAGE, out);
                    match string(file, &backend.body, "url", out) {
                        Some(url) => env.state = StateBackend::Postgres(url),
                        None if backend.body.get_attribute("url").is_none() => out.push(
                            Diagnostic::error(
                                STAGE,
                                "config/state-url",
                                "`postgres` state needs a `url`",
                            )
                            .at(hcl::block_span(file, backend))
                            .help("write `postgres { url = env(\"BATON_STATE_URL\") }` inside `state { … }`"),
                        ),
                        None => {}
                    }
                }
                _ => {}
            }
        }
    }
    for p in b.blocks().filter(|x| x.ident.as_str() == "provider") {
        let labels = hcl::labels(p);
        let Some(pname) = labels.first() else {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/provider-label",
                    "`provider` takes one label: the provider name",
                )
                .at(hcl::block_span(file, p)),
            );
            continue;
        };
        let mut values = crate::value::Map::new();
        for a in p.body.attributes() {
            if let Some(v) = eval(file, &a.value, out) {
                values.insert(a.key.as_str().to_string(), v);
            }
        }
        if pname == "local" {
            local_provider(file, p, &values, out);
        }
        env.providers.insert(pname.clone(), values);
    }
    // The `local` provider never writes the SQLite state database or its files.
    if let StateBackend::Sqlite(path) = &env.state {
        env.providers.entry("local".into()).or_default().insert(
            "state_path".into(),
            Value::string(path.to_string_lossy().into_owned()),
        );
    }
    for t in b.blocks().filter(|x| x.ident.as_str() == "target") {
        let labels = hcl::labels(t);
        match labels.first().map(String::as_str) {
            Some("kubernetes") => {
                hcl::check_keys(file, &t.body, &["dir", "namespace"], &[], "`target \"kubernetes\"`", STAGE, out);
                env.target = Target::Kubernetes {
                    dir: string(file, &t.body, "dir", out).unwrap_or_else(|| format!("deploy/{name}")),
                    namespace: string(file, &t.body, "namespace", out),
                };
            }
            Some("compose") => {
                hcl::check_keys(file, &t.body, &["dir"], &[], "`target \"compose\"`", STAGE, out);
                env.target = Target::Compose { dir: string(file, &t.body, "dir", out).unwrap_or_else(|| format!("deploy/{name}")) };
            }
            other => out.push(
                Diagnostic::error(STAGE, "config/target", format!("unknown target `{}`", other.unwrap_or("")))
                    .at(hcl::block_span(file, t))
                    .help("use `target \"kubernetes\" { dir = \"...\" }` or `target \"compose\" { dir = \"...\" }`"),
            ),
        }
    }
    if out[before..].iter().any(Diagnostic::is_error) {
        None
    } else {
        Some(env)
    }
}

/// Checks `provider "local" { roots = [...] }`: the only setting, a list of absolute
/// paths of directories beneath which modules may make files and directories (besides
/// the project directory).
fn local_provider(
    file: FileId,
    block: &hcl_edit::structure::Block,
    values: &crate::value::Map,
    out: &mut Vec<Diagnostic>,
) {
    hcl::check_keys(
        file,
        &block.body,
        &["roots"],
        &[],
        "`provider \"local\"`",
        STAGE,
        out,
    );
    let Some(a) = block.body.get_attribute("roots") else {
        return;
    };
    let span = hcl::expr_span(file, &a.value);
    let roots = values.get("roots").and_then(Value::as_list);
    let Some(roots) = roots.filter(|l| l.iter().all(|r| r.as_str().is_some())) else {
        out.push(
            Diagnostic::error(
                STAGE,
                "config/type",
                "`roots` must be a list of directory paths",
            )
            .at(span)
            .help("write `roots = [\"/srv/volumes\"]`"),
        );
        return;
    };
    for r in roots.iter().filter_map(Value::as_str) {
        let path = Path::new(r);
        let problem = if !path.is_absolute() {
            Some("is not absolute (relative paths already lie in the project directory)")
        } else if path.parent().is_none() {
            Some("is the file system root")
        } else if !path.is_dir() {
            Some("is not an existing directory")
        } else {
            None
        };
        if let Some(problem) = problem {
            out.push(
                Diagnostic::error(STAGE, "config/local-root", format!("local root {r:?} {problem}"))
                    .at(span)
                    .detail("modules may make files and directories beneath the project directory and beneath each root listed here")
                    .help("list absolute paths of existing directories, e.g. `roots = [\"/srv/volumes\"]`"),
            );
        }
    }
}

/// Evaluates a configuration expression: constants, `env("NAME")` and `env.NAME`.
fn eval(file: FileId, e: &Expression, out: &mut Vec<Diagnostic>) -> Option<Value> {
    // `env("NAME")`: the one function that reads the process environment.
    if let Expression::FuncCall(call) = e
        && call.name.name.as_str() == "env"
    {
        let arg = call.args.iter().next();
        let name = arg.and_then(|a| match a {
            Expression::String(s) => Some(s.as_str().to_string()),
            _ => None,
        });
        let Some(name) = name else {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/env",
                    "env() takes the name of a variable as a string",
                )
                .at(hcl::expr_span(file, e)),
            );
            return None;
        };
        return match std::env::var(&name) {
            Ok(v) => Some(Value::sensitive(Value::String(v))),
            Err(_) => {
                out.push(
                    Diagnostic::error(
                        STAGE,
                        "config/env",
                        format!("the environment variable {name} is not set"),
                    )
                    .at(hcl::expr_span(file, e))
                    .help(format!("export {name}=... before running baton")),
                );
                None
            }
        };
    }
    let env_map: crate::value::Map = std::env::vars()
        .map(|(k, v)| (k, Value::sensitive(Value::String(v))))
        .collect();
    let scope = hcl::scope(crate::value::Map::from([(
        "env".to_string(),
        Value::Map(env_map),
    )]));
    match hcl::eval_in(file, e, &scope, STAGE) {
        Ok(v) => Some(v),
        Err(d) => {
            out.push(d);
            None
        }
    }
}

/// `environment_variables = ["NAME", …]`: the names modules may read, each written as
/// a literal string; `BATON_*` names are refused where they are written.
fn variables(file: FileId, e: &Expression, out: &mut Vec<Diagnostic>) -> Vec<String> {
    let Expression::Array(items) = e else {
        out.push(
            Diagnostic::error(
                STAGE,
                "config/type",
                "`environment_variables` must be a list of variable names",
            )
            .at(hcl::expr_span(file, e))
            .help("write e.g. `environment_variables = [\"API_URL\", \"SENTRY_DSN\"]`"),
        );
        return Vec::new();
    };
    let mut names = Vec::new();
    for item in items.iter() {
        let Expression::String(name) = item else {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/type",
                    "each of `environment_variables` must be a variable name in quotes",
                )
                .at(hcl::expr_span(file, item)),
            );
            continue;
        };
        let name = name.as_str();
        if name.starts_with("BATON_") {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/baton-variable",
                    format!("`{name}` cannot be given to modules"),
                )
                .at(hcl::expr_span(file, item))
                .label("a variable of baton itself")
                .detail("`BATON_*` variables are baton's own settings (the state key among them); no module or Score file may read them")
                .help(format!("remove `{name}` from `environment_variables`; pass the value under another name if a workload needs it")),
            );
            continue;
        }
        names.push(name.to_string());
    }
    names
}

fn string(file: FileId, body: &Body, key: &str, out: &mut Vec<Diagnostic>) -> Option<String> {
    let a = body.get_attribute(key)?;
    match eval(file, &a.value, out)? {
        v if v.as_str().is_some() => v.as_str().map(str::to_string),
        other => {
            out.push(
                Diagnostic::error(
                    STAGE,
                    "config/type",
                    format!("`{key}` must be a string, found {}", other.type_name()),
                )
                .at(hcl::expr_span(file, &a.value)),
            );
            None
        }
    }
}
