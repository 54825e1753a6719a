//! One environment, evaluated: its own block over those it extends (the farthest
//! first), over the defaults of its name. An attribute or a `state`/`target` block
//! replaces what was inherited; `provider` and `settings` blocks are merged key by key.
//! Expressions may use constants, `env("NAME")`, `env.NAME` and `environment.name`
//! (the name of the environment being used, also in a block it inherits, so a parent
//! can write `path = ".baton/${environment.name}.db"` once for all its children).
//!
//! Then the environment must own its state and its manifest folder: another
//! environment of the file resolving to the same SQLite file or folder is a located
//! error (their plans would take each other's objects for their own). A PostgreSQL
//! state keys every row by the environment's name, so environments share a URL safely.

use std::path::{Component, Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, Body};

use super::decl::{self, BUILTIN, Decl};
use super::{Environment, STAGE, StateBackend, Target};
use crate::diag::{Diagnostic, FileId, Span};
use crate::hcl;
use crate::value::Value;

/// Which block set what, for messages about inherited values.
#[derive(Default)]
struct Origins {
    /// The `state` block the state comes from, and its environment.
    state: Option<(String, Option<Span>)>,
    /// The `target` block the manifest folder comes from, and its environment.
    target: Option<(String, Option<Span>)>,
}

/// The environment `name` of the checked declarations, or `None` after reporting why.
pub fn environment(
    file: FileId,
    root: &Path,
    decls: &[Decl],
    name: &str,
    out: &mut Vec<Diagnostic>,
) -> Option<Environment> {
    let chain = decl::chain(decls, name, out)?;
    let (env, origins) = evaluate(file, root, decls, &chain, out)?;
    let before = out.len();
    check_own(file, root, decls, &env, &origins, out);
    (out.len() == before).then_some(env)
}

fn evaluate(
    file: FileId,
    root: &Path,
    decls: &[Decl],
    chain: &[String],
    out: &mut Vec<Diagnostic>,
) -> Option<(Environment, Origins)> {
    let before = out.len();
    let mut env = Environment::defaults(root, &chain[0]);
    env.parents = chain[1..].to_vec();
    let mut origins = Origins::default();
    for d in chain
        .iter()
        .rev()
        .filter_map(|n| decls.iter().find(|d| d.name == *n))
    {
        apply(file, root, d, &mut env, &mut origins, out);
    }
    env.span = decls
        .iter()
        .find(|d| d.name == chain[0])
        .and_then(|d| d.span);
    // The `local` provider never writes the SQLite state database or its files.
    if let StateBackend::Sqlite(path) = &env.state {
        env.providers.entry("local".into()).or_default().insert(
            "state_path".into(),
            Value::string(path.to_string_lossy().into_owned()),
        );
    }
    (!out[before..].iter().any(Diagnostic::is_error)).then_some((env, origins))
}

/// Applies one environment block over what `env` has so far.
fn apply(
    file: FileId,
    root: &Path,
    d: &Decl,
    env: &mut Environment,
    origins: &mut Origins,
    out: &mut Vec<Diagnostic>,
) {
    let b = &d.block.body;
    let name = env.name.clone();
    let ev = Eval {
        file,
        environment: &name,
    };
    if let Some(a) = b.get_attribute("modules") {
        match ev.eval(&a.value, out) {
            Some(Value::List(items)) if items.iter().all(|i| i.as_str().is_some()) => {
                env.module_dirs = items
                    .iter()
                    .filter_map(|i| i.as_str().map(PathBuf::from))
                    .collect();
                for dir in &env.module_dirs {
                    if !root.join(dir).is_dir() {
                        out.push(
                            Diagnostic::error(
                                STAGE,
                                "config/modules-dir",
                                format!("module folder {} does not exist", dir.display()),
                            )
                            .at(hcl::expr_span(file, &a.value))
                            .help("list folders of the project that hold module files, e.g. `modules = [\"modules\", \"platform/modules\"]`"),
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
                .at(hcl::expr_span(file, &a.value))
                .help("write e.g. `modules = [\"modules\"]`"),
            ),
            None => {}
        }
    }
    if let Some(a) = b.get_attribute("environment_variables") {
        env.variables = variables(file, &a.value, out);
    }
    for s in b.blocks().filter(|x| x.ident.as_str() == "state") {
        origins.state = Some((d.name.clone(), hcl::block_span(file, s)));
        for backend in s.body.blocks() {
            match backend.ident.as_str() {
                "sqlite" => {
                    if let Some(p) = ev.string(&backend.body, "path", out) {
                        env.state = StateBackend::Sqlite(PathBuf::from(p));
                    } else if backend.body.get_attribute("path").is_none() {
                        env.state = super::Environment::defaults(root, &env.name).state;
                    }
                }
                "postgres" => match ev.string(&backend.body, "url", out) {
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
                },
                _ => {}
            }
        }
    }
    for p in b.blocks().filter(|x| x.ident.as_str() == "provider") {
        let Some(pname) = hcl::labels(p).into_iter().next() else {
            continue;
        };
        let mut values = crate::value::Map::new();
        for a in p.body.attributes() {
            if let Some(v) = ev.eval(&a.value, out) {
                values.insert(a.key.as_str().to_string(), v);
            }
        }
        if pname == "local" {
            local_provider(file, p, &values, out);
        }
        env.providers.entry(pname).or_default().extend(values);
    }
    for t in b.blocks().filter(|x| x.ident.as_str() == "target") {
        origins.target = Some((d.name.clone(), hcl::block_span(file, t)));
        let dir = ev
            .string(&t.body, "dir", out)
            .unwrap_or_else(|| format!("deploy/{}", env.name));
        match hcl::labels(t).first().map(String::as_str) {
            Some("compose") => env.target = Target::Compose { dir },
            _ => {
                env.target = Target::Kubernetes {
                    dir,
                    namespace: ev.string(&t.body, "namespace", out),
                }
            }
        }
    }
    for s in b.blocks().filter(|x| x.ident.as_str() == "settings") {
        for a in s.body.attributes() {
            if let Some(v) = ev.eval(&a.value, out) {
                env.settings.insert(a.key.as_str().to_string(), v);
            }
        }
    }
}

/// Refuses a state file or manifest folder that another environment also resolves to.
fn check_own(
    file: FileId,
    root: &Path,
    decls: &[Decl],
    env: &Environment,
    origins: &Origins,
    out: &mut Vec<Diagnostic>,
) {
    let mut others: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
    if !others.contains(&BUILTIN) {
        others.push(BUILTIN);
    }
    let decl = decls.iter().find(|d| d.name == env.name);
    // Where the shared value comes into this environment: its own block, else the
    // `extends` that brought it, else the environment's header.
    let at = |own: &Option<(String, Option<Span>)>| match own {
        Some((n, span)) if *n == env.name => *span,
        _ => decl
            .and_then(|d| d.extends.as_ref().and_then(|e| e.1).or(d.span))
            .or(Some(Span::new(file, 0, 0))),
    };
    let inherited = |own: &Option<(String, Option<Span>)>| match own {
        Some((n, _)) if *n != env.name => format!(" (inherited from `{n}`)"),
        _ => String::new(),
    };
    for other in others.into_iter().filter(|o| *o != env.name) {
        // Another environment that does not evaluate (a variable unset here) is
        // reported when it is used.
        let Some(chain) = decl::chain(decls, other, &mut Vec::new()) else {
            continue;
        };
        let Some((o, o_origins)) = evaluate(file, root, decls, &chain, &mut Vec::new()) else {
            continue;
        };
        if let (StateBackend::Sqlite(a), StateBackend::Sqlite(b)) = (&env.state, &o.state)
            && normal(a) == normal(b)
        {
            let name = &env.name;
            let mut d = Diagnostic::error(
                STAGE,
                "config/shared-state",
                format!("environments `{name}` and `{other}` keep their state in the same file {}", a.display()),
            )
            .at(at(&origins.state))
            .label(format!("state of `{name}`{}", inherited(&origins.state)))
            .detail("an environment's state is its own: each plan would take the other's objects for its own, and delete them")
            .help(format!("give `{name}` a state of its own: `sqlite {{ path = \".baton/{name}.db\" }}` in a `state {{ … }}` block of `{name}` (or write `path = \".baton/${{environment.name}}.db\"` once in the environment it extends)"));
            if let Some((_, Some(span))) = &o_origins.state {
                d = d.note(Some(*span), format!("`{other}` keeps its state here"));
            }
            out.push(d);
        }
        if normal(Path::new(env.target.dir())) == normal(Path::new(o.target.dir())) {
            let name = &env.name;
            let dir = env.target.dir();
            let mut d = Diagnostic::error(
                STAGE,
                "config/shared-target",
                format!("environments `{name}` and `{other}` write their manifests to the same folder {dir}"),
            )
            .at(at(&origins.target))
            .label(format!("manifests of `{name}`{}", inherited(&origins.target)))
            .detail("each environment writes and deletes the manifests of its workloads; one folder for two would have them overwrite each other's")
            .help(format!("give `{name}` its own: `target \"kubernetes\" {{ dir = \"deploy/{name}\" }}` (or write `dir = \"deploy/${{environment.name}}\"` once in the environment it extends)"));
            if let Some((_, Some(span))) = &o_origins.target {
                d = d.note(Some(*span), format!("`{other}` writes its manifests here"));
            }
            out.push(d);
        }
    }
}

/// A relative path without `.` components and with `a/..` folded, for comparing.
fn normal(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Checks `provider "local" { roots = [...] }`: the only setting, a list of absolute
/// paths of directories beneath which modules may make files and directories (besides
/// the project directory).
fn local_provider(
    file: FileId,
    block: &Block,
    values: &crate::value::Map,
    out: &mut Vec<Diagnostic>,
) {
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

/// Evaluation of configuration expressions for the environment being resolved.
struct Eval<'a> {
    file: FileId,
    /// The name `environment.name` reads.
    environment: &'a str,
}

impl Eval<'_> {
    /// Evaluates a configuration expression: constants, `env("NAME")`, `env.NAME` and
    /// `environment.name`.
    fn eval(&self, e: &Expression, out: &mut Vec<Diagnostic>) -> Option<Value> {
        let file = self.file;
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
        let vars = crate::value::Map::from([
            ("env".to_string(), Value::Map(env_map)),
            (
                "environment".to_string(),
                Value::Map(crate::value::Map::from([(
                    "name".to_string(),
                    Value::string(self.environment),
                )])),
            ),
        ]);
        match hcl::eval_in(file, e, &hcl::scope(vars), STAGE) {
            Ok(v) => Some(v),
            Err(d) => {
                out.push(d);
                None
            }
        }
    }

    fn string(&self, body: &Body, key: &str, out: &mut Vec<Diagnostic>) -> Option<String> {
        let a = body.get_attribute(key)?;
        match self.eval(&a.value, out)? {
            v if v.as_str().is_some() => v.as_str().map(str::to_string),
            Value::Null => None,
            other => {
                out.push(
                    Diagnostic::error(
                        STAGE,
                        "config/type",
                        format!("`{key}` must be a string, found {}", other.type_name()),
                    )
                    .at(hcl::expr_span(self.file, &a.value)),
                );
                None
            }
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
