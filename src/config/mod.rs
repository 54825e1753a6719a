//! `baton.hcl` → the selected [`Environment`]: where state lives, which module folders
//! are searched before the built-in library, provider configuration, the deployment
//! target and the environment's own settings. An environment may `extend` another and
//! inherits everything it does not set itself. The environment `local` exists without
//! being declared (a block named `local` overrides its settings): SQLite state in
//! `.baton/state.db`, `./modules` when it exists, Kubernetes manifests in
//! `deploy/local/`. Every setting is documented in docs/config.md.
//!
//! `decl` checks the shape of the whole file (keys, providers, `extends` chains);
//! `resolve` evaluates one environment's chain and refuses two environments that would
//! share a state file or a manifest folder.

mod decl;
pub mod moved;
mod resolve;
mod serve;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diag::{Diagnostic, Sources, Span, Stage, did_you_mean};

use crate::value::Value;

pub use decl::{AWS_SETTINGS, PROVIDER_SETTINGS};
pub use serve::{ServeConfig, environment_names, serve};

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

impl Target {
    /// The directory manifests are written to, relative to the project.
    pub fn dir(&self) -> &str {
        match self {
            Target::Kubernetes { dir, .. } | Target::Compose { dir } => dir,
        }
    }
}

/// The selected environment.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Its name.
    pub name: String,
    /// The environments it extends, nearest first (`staging` extends `local`:
    /// `["local"]`). Modules written for any of them serve it (see `module::matching`).
    pub parents: Vec<String>,
    /// State backend.
    pub state: StateBackend,
    /// Project module folders, searched before the built-in library.
    pub module_dirs: Vec<PathBuf>,
    /// Provider configuration by provider name.
    pub providers: BTreeMap<String, crate::value::Map>,
    /// Deployment target.
    pub target: Target,
    /// The `settings { … }` of the environment and those it extends, which modules read
    /// as `environment.settings.NAME`.
    pub settings: crate::value::Map,
    /// Where it was defined (`None` for the built-in default).
    pub span: Option<Span>,
    /// The process environment variables modules may read (`env.*`, the `environment`
    /// resource type): only these, and never a `BATON_*` one (baton's own settings,
    /// the state key among them).
    pub variables: Vec<String>,
    /// The `moved` blocks of `baton.hcl` (every environment's).
    pub moves: Vec<moved::Moved>,
}

impl Environment {
    /// The built-in `local` environment for a project at `root`.
    pub fn builtin_local(root: &Path) -> Environment {
        Environment::defaults(root, decl::BUILTIN)
    }

    /// What an environment called `name` has when nothing sets it: SQLite state in
    /// `.baton/NAME.db` (`.baton/state.db` for `local`), the project's `modules` folder
    /// when it exists, Kubernetes manifests in `deploy/NAME`.
    pub fn defaults(root: &Path, name: &str) -> Environment {
        let state = if name == decl::BUILTIN {
            PathBuf::from(".baton/state.db")
        } else {
            PathBuf::from(format!(".baton/{name}.db"))
        };
        Environment {
            name: name.to_string(),
            parents: Vec::new(),
            state: StateBackend::Sqlite(state),
            module_dirs: if root.join("modules").is_dir() {
                vec![PathBuf::from("modules")]
            } else {
                vec![]
            },
            providers: BTreeMap::new(),
            target: Target::Kubernetes {
                dir: format!("deploy/{name}"),
                namespace: None,
            },
            settings: crate::value::Map::new(),
            span: None,
            variables: Vec::new(),
            moves: Vec::new(),
        }
    }

    /// Its name, then those of the environments it extends, nearest first.
    pub fn lineage(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.name.as_str()).chain(self.parents.iter().map(String::as_str))
    }

    /// `environment` as module expressions read it: `name` and `settings`.
    pub fn module_value(&self) -> Value {
        Value::Map(crate::value::Map::from([
            ("name".to_string(), Value::string(self.name.clone())),
            ("settings".to_string(), Value::Map(self.settings.clone())),
        ]))
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
        if name == decl::BUILTIN {
            return Some(Environment::builtin_local(root));
        }
        out.push(
            Diagnostic::error(
                STAGE,
                "config/no-environment",
                format!("environment `{name}` is not defined"),
            )
            .detail("there is no baton.hcl; only the built-in environment `local` exists")
            .help(format!(
                "write a baton.hcl with `environment \"{name}\" {{ extends = \"local\" }}` (`baton init` writes a starter one)"
            )),
        );
        return None;
    }
    let (file, body) = serve::parse(root, sources, out)??;
    let before = out.len();
    let moves = moved::blocks(file, &body, out);
    let decls = decl::declarations(file, &body, out)?;
    if out[before..].iter().any(Diagnostic::is_error) {
        return None;
    }
    if name != decl::BUILTIN && !decls.iter().any(|d| d.name == name) {
        let mut names: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
        if !names.contains(&decl::BUILTIN) {
            names.push(decl::BUILTIN);
        }
        names.sort_unstable();
        let hint =
            did_you_mean(name, names.iter().copied()).map(|s| format!("did you mean `{s}`?"));
        out.push(
            Diagnostic::error(
                STAGE,
                "config/no-environment",
                format!("environment `{name}` is not defined in baton.hcl"),
            )
            .at(Some(Span::new(file, 0, 0)))
            .detail(format!("defined: {}", names.join(", ")))
            .help(hint.unwrap_or_else(|| {
                format!("declare it: `environment \"{name}\" {{ extends = \"local\" }}`")
            })),
        );
        return None;
    }
    let mut env = resolve::environment(file, root, &decls, name, out)?;
    env.moves = moves;
    Some(env)
}

#[cfg(test)]
mod tests;
