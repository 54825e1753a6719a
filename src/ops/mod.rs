//! The library API: one function per operation of baton (validate, plan, apply, destroy,
//! drift, import, show, output, graph, state, deployments, modules, init), each taking an options
//! struct and returning values or an [`Error`] that carries located diagnostics. Progress
//! comes as [`Event`]s to an [`Observer`] the caller provides. Nothing here prints, exits,
//! changes directory or writes an environment variable, and nothing is kept between
//! calls: two threads may run operations on two environments at once (the CLI in
//! `cli/` is one caller; a server is another).
//!
//! The operations block (each runs its own async runtime for the provider calls); from
//! async code, call them on a blocking thread (`tokio::task::spawn_blocking`).
//!
//! ```no_run
//! use std::time::Duration;
//! use baton::ops::{self, Event, RunOptions, ScoreInputs, Workspace};
//!
//! let workspace = Workspace {
//!     root: "/srv/platform".into(),
//!     env: "staging".into(),
//!     lock_timeout: Duration::from_secs(30),
//!     who: None,
//! };
//! let opts = RunOptions::new(
//!     workspace,
//!     ScoreInputs::named(vec!["/srv/platform/web.score.yaml".into()]),
//! );
//! // Plan: the changes and why, as the CLI prints them.
//! let planned = ops::plan(&opts, &mut |_: Event<'_>| {}).expect("plan");
//! print!("{}", baton::render::plan::text(&planned.planned.plan, baton::render::Color::Never));
//! // Apply a fresh plan, watching each provider call.
//! let applied = ops::apply(&ops::ApplyOptions { run: opts, plan_file: None }, &mut |e: Event<'_>| {
//!     if let Event::Progress(p) = e {
//!         eprintln!("{p:?}");
//!     }
//! });
//! match applied {
//!     Ok(a) if a.succeeded() => println!("applied"),
//!     Ok(_) => println!("some changes failed; the state records what was done"),
//!     Err(ops::Error::Invalid(report) | ops::Error::Failed(report)) => {
//!         eprint!("{}", baton::render::diagnostics::text(&report.diagnostics, &report.sources, baton::render::Color::Never));
//!     }
//!     Err(ops::Error::Other(e)) => eprintln!("error: {e:#}"),
//! }
//! ```

mod ahead;
mod history;
mod inspect;
mod lock;
mod pipeline;
mod run;
mod runs;
mod tokens;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diag::{Diagnostic, Diagnostics, Sources};
use crate::plan::Plan;
use crate::score::LoadOptions;
use crate::state::{LockInfo, StateError};

pub use history::{deployment, deployment_serials, deployments, history_diff};
pub use inspect::{
    Catalog, GraphOptions, Migrated, OutputOptions, Removed, Validated, declared_workloads, graph,
    history, init, keygen, migrate, modules, outputs, rekey, show_plan_file, state, state_mv,
    state_object, state_rm, unlock, validate,
};
pub use pipeline::{Prepared, load_modules};
pub use run::{
    Applied, ApplyOptions, DriftOptions, Drifted, ImportOptions, Imported, Planned, apply, destroy,
    drift, import, plan, save_plan,
};
pub use runs::{
    RunRequest, check_files, enqueue, enqueue_due, execute, run_dir, store, valid_file_name,
};
pub use tokens::{Role, Token, Tokens, environments, serve_config, token_add, token_rm, tokens};

/// Where an operation runs: the project directory (holding `baton.hcl`) and one of its
/// environments.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The project directory: `baton.hcl`, module folders and the SQLite state are
    /// found relative to it.
    pub root: PathBuf,
    /// The environment of `baton.hcl`.
    pub env: String,
    /// How long a run waits for a state lock another run holds before failing (zero:
    /// fail at once). Plan, apply, destroy and import wait.
    pub lock_timeout: Duration,
    /// On whose behalf it runs, named in locks, history and recorded configurations (a
    /// server's run: the name of the token that asked for it); `None`: this process's
    /// user.
    pub who: Option<String>,
}

/// How long to wait for a lock another run holds: `flag` (`--lock-timeout`, e.g. `30s`,
/// `5m`), else the `BATON_LOCK_TIMEOUT` variable (a value that does not parse is no
/// wait, as it always was), else no wait.
pub fn lock_timeout(flag: Option<&str>) -> anyhow::Result<Duration> {
    Ok(match flag {
        Some(t) => humantime::parse_duration(t)
            .map_err(|e| anyhow::anyhow!("--lock-timeout {t:?}: {e} (write e.g. 30s or 5m)"))?,
        None => std::env::var("BATON_LOCK_TIMEOUT")
            .ok()
            .and_then(|s| humantime::parse_duration(&s).ok())
            .unwrap_or_default(),
    })
}

/// The Score files an operation reads.
#[derive(Debug, Clone, Default)]
pub struct ScoreInputs {
    /// The files, read as `std::fs` reads them (relative paths from the process's
    /// working directory) and named as given in diagnostics.
    pub files: Vec<PathBuf>,
    /// Image, overrides file and override properties.
    pub load: LoadOptions,
    /// The files were named one by one: a run covers only their workloads (and the
    /// shared resources they use), locking only those.
    pub narrowed: bool,
    /// Set when the directory searched held no Score file (`score.yaml`,
    /// `*.score.yaml`): the other YAML files it holds, which were not read.
    pub skipped: Option<Vec<PathBuf>>,
}

impl ScoreInputs {
    /// The named files only (`-f`): the run covers their workloads.
    pub fn named(files: Vec<PathBuf>) -> ScoreInputs {
        ScoreInputs {
            files,
            load: LoadOptions::default(),
            narrowed: true,
            skipped: None,
        }
    }

    /// The `files` named (the run covers their workloads), or with none, every Score
    /// file of the directory `dir` (see [`ScoreInputs::discover`]).
    pub fn from_files(dir: &Path, files: Vec<PathBuf>, load: LoadOptions) -> ScoreInputs {
        if files.is_empty() {
            ScoreInputs {
                load,
                ..ScoreInputs::discover(dir)
            }
        } else {
            ScoreInputs {
                load,
                ..ScoreInputs::named(files)
            }
        }
    }

    /// Every Score file of the directory `dir` (see [`score_files`]): the run covers the
    /// whole project.
    pub fn discover(dir: &Path) -> ScoreInputs {
        let files = score_files(dir);
        let none = files.len() == 1 && !listed(dir).join(&files[0]).exists();
        ScoreInputs {
            skipped: none.then(|| yaml_files(dir)),
            files,
            load: LoadOptions::default(),
            narrowed: false,
        }
    }

    /// No Score file was named, and the directory holds none: an operation that can
    /// work from the state alone does.
    pub fn absent(&self) -> bool {
        !self.narrowed && self.skipped.is_some()
    }

    /// Loads the Score files. When the directory held none, the error names the other
    /// YAML files there, which are read only when named with `-f`.
    fn load(&self, sources: &mut Sources, diags: &mut Diagnostics) -> crate::score::Project {
        match &self.skipped {
            Some(skipped) if !skipped.is_empty() => {
                let names: Vec<String> = skipped.iter().map(|p| p.display().to_string()).collect();
                diags.push(
                    Diagnostic::error(
                        crate::diag::Stage::Load,
                        "load/read",
                        "no Score file here: baton reads `score.yaml` and `*.score.yaml` unless told otherwise",
                    )
                    .detail(format!("skipped: {}", names.join(", ")))
                    .help(format!(
                        "pass Score files with -f FILE (repeatable), e.g. `-f {}`",
                        names[0]
                    )),
                );
                crate::score::Project::default()
            }
            _ => crate::score::load(&self.files, &self.load, sources, diags),
        }
    }
}

/// `dir` as a path to list: the working directory when empty.
fn listed(dir: &Path) -> &Path {
    if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }
}

/// The `*.yaml` and `*.yml` files of `dir`, sorted (joined to `dir` as [`score_files`]).
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(listed(dir))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| PathBuf::from(e.file_name()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .map(|p| dir.join(p))
        .collect();
    found.sort();
    found
}

/// The Score files of directory `dir`: `score.yaml` and every `*.score.yaml` (sorted),
/// else `score.yaml` (which then fails to load with a hint). Paths are `dir` joined with
/// the name; an empty `dir` is the working directory, and gives the bare names.
pub fn score_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(listed(dir))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| PathBuf::from(e.file_name()))
        .filter(|p| {
            let name = p.to_string_lossy();
            name == "score.yaml" || name.ends_with(".score.yaml")
        })
        .collect();
    found.sort();
    if found.is_empty() {
        found.push(PathBuf::from("score.yaml"));
    }
    found.into_iter().map(|name| dir.join(name)).collect()
}

/// Options shared by plan, apply and destroy.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Project and environment.
    pub workspace: Workspace,
    /// Score files.
    pub inputs: ScoreInputs,
    /// Read every recorded object through its provider before planning.
    pub refresh: bool,
    /// Destroy, targets, replacements (the workloads in scope are set from `inputs`).
    pub plan: crate::plan::diff::PlanOptions,
    /// At most this many provider calls at once.
    pub parallelism: usize,
    /// Stop a plan on Ctrl-C (SIGINT), releasing its lock (an apply's plan and its
    /// question too: Ctrl-C there is a "no"). For a command line; a server
    /// leaves it off (listening installs a process-wide handler). An apply's calls
    /// always react to Ctrl-C: the first stops new calls and waits for those in flight
    /// ([`crate::apply::Event::Interrupted`]), a second abandons them.
    pub ctrl_c: bool,
}

impl RunOptions {
    /// A plan of `inputs` in `workspace` with refresh, parallelism 10, no targets.
    pub fn new(workspace: Workspace, inputs: ScoreInputs) -> RunOptions {
        RunOptions {
            workspace,
            inputs,
            refresh: true,
            plan: Default::default(),
            parallelism: 10,
            ctrl_c: false,
        }
    }
}

/// Diagnostics, sorted, with the texts they point into.
pub struct Report {
    /// The texts read (for rendering the diagnostics' locations).
    pub sources: Sources,
    /// Sorted by file and position.
    pub diagnostics: Diagnostics,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("diagnostics", &self.diagnostics)
            .finish_non_exhaustive()
    }
}

impl Report {
    fn new(sources: Sources, mut diagnostics: Diagnostics) -> Report {
        diagnostics.sort(&sources);
        Report {
            sources,
            diagnostics,
        }
    }

    fn of(sources: Sources, errors: Vec<Diagnostic>) -> Report {
        let mut d = Diagnostics::new();
        d.extend(errors);
        Report::new(sources, d)
    }
}

/// Why an operation did not do what it was asked.
#[derive(Debug)]
pub enum Error {
    /// The inputs are wrong (Score files, `baton.hcl`, modules): nothing was touched.
    Invalid(Report),
    /// Planning or reading the objects failed: nothing was changed.
    Failed(Report),
    /// Anything else (state store, plan file, provider, refusal), as a message.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Error {
        Error::Other(e)
    }
}

impl From<StateError> for Error {
    fn from(e: StateError) -> Error {
        Error::Other(e.into())
    }
}

impl From<pipeline::Failed> for Error {
    fn from(f: pipeline::Failed) -> Error {
        Error::Invalid(Report::new(f.sources, f.diagnostics))
    }
}

/// Progress of an operation, in the order it happens.
pub enum Event<'a> {
    /// Warnings found while loading the inputs (the run goes on), sorted.
    Warnings {
        /// The warnings.
        diagnostics: &'a Diagnostics,
        /// The texts they point into.
        sources: &'a Sources,
    },
    /// Secrets will be stored in clear: the environment has no state key.
    SecretsInClear {
        /// The state store.
        location: String,
    },
    /// Another run holds the lock; this one waits up to `timeout` (said once per run).
    LockWait {
        /// The lock held.
        held: &'a LockInfo,
        /// The longest wait.
        timeout: Duration,
    },
    /// A lock left by a process that is gone was taken over.
    LockTakenOver {
        /// The lock as it was left.
        stale: &'a LockInfo,
    },
    /// The plan an apply or destroy is about to carry out (approval comes next).
    Plan(&'a Plan),
    /// Approved: the changes start.
    Applying,
    /// A provider call of an apply started, finished, failed or was skipped.
    Progress(crate::apply::Event),
}

/// Receives the events of an operation, and approves an apply's plan. Any
/// `FnMut(Event)` closure is an observer that approves every plan.
pub trait Observer {
    /// One event.
    fn event(&mut self, event: Event<'_>);

    /// Whether to carry out `plan` (asked of a fresh plan with changes, not of a saved
    /// plan file, which was the approval). `operation` is `apply` or `destroy`. One who
    /// asks a person gives up the question (a "no") once `interrupted` says so: Ctrl-C
    /// while asked, when the run listens for it ([`RunOptions::ctrl_c`]).
    fn approve(
        &mut self,
        plan: &Plan,
        operation: &str,
        interrupted: &dyn Fn() -> bool,
    ) -> anyhow::Result<bool> {
        let _ = (plan, operation, interrupted);
        Ok(true)
    }
}

impl<F: FnMut(Event<'_>)> Observer for F {
    fn event(&mut self, event: Event<'_>) {
        self(event)
    }
}

/// The environment of `ws` from its `baton.hcl`, with the texts read.
fn environment(ws: &Workspace) -> Result<(crate::config::Environment, Sources), Error> {
    let mut sources = Sources::new();
    let mut out = Vec::new();
    match crate::config::load(&ws.root, &ws.env, &mut sources, &mut out) {
        Some(environment) => Ok((environment, sources)),
        None => {
            let mut d = Diagnostics::new();
            d.extend(out);
            Err(Error::Invalid(Report::new(sources, d)))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context as _;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
