//! The command line: clap types, and each command run through [`crate::ops`] with its
//! results printed (`commands`). Commands return an [`Outcome`]; `main` turns it into
//! the exit code.

/// `print!` to stdout, ending the run quietly ([`BrokenPipe`]) when stdout is closed.
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::write_out(format_args!($($t)*)) };
}
/// `println!` to stdout, as [`out!`].
macro_rules! outln {
    () => { out!("\n") };
    ($($t:tt)*) => { out!("{}\n", format_args!($($t)*)) };
}

mod commands;

/// Unwinds a run whose stdout its reader closed (`baton plan | head -1`): `main` exits
/// 0 without a word, as ripgrep does.
pub struct BrokenPipe;

fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    match std::io::stdout().lock().write_fmt(args) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::panic::resume_unwind(Box::new(BrokenPipe))
        }
        r => r.expect("failed printing to stdout"),
    }
}

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::ops::{self, ScoreInputs, Workspace};
use crate::render::{self, Color, Format};
use crate::score::LoadOptions;

/// baton: Score workloads in, real infrastructure out, with a plan a reviewer can read.
#[derive(Debug, Parser)]
#[command(name = "baton", version, about, long_about = None)]
pub struct Cli {
    /// Run as if baton was started in DIR.
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,
    /// The environment of baton.hcl to use.
    #[arg(
        long = "env",
        value_name = "NAME",
        global = true,
        default_value = "local"
    )]
    pub env: String,
    /// Never colour the output (the NO_COLOR variable does the same).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Wait this long for the state lock held by another run (e.g. `30s`, `5m`)
    /// instead of failing at once.
    #[arg(long, global = true, value_name = "DURATION")]
    pub lock_timeout: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter score.yaml and baton.hcl.
    Init,
    /// Check Score files: schema, placeholders, `before`, shared resources. Touches no state.
    Validate(ValidateArgs),
    /// Show what apply would change, and why.
    Plan(PlanArgs),
    /// Make the changes (of a fresh plan, or of a saved plan file).
    Apply(ApplyArgs),
    /// Delete everything baton made in the environment.
    Destroy(DestroyArgs),
    /// Read every object and report what changed outside baton (exit 2 when something did).
    Drift(DriftArgs),
    /// Read an existing object into the state at an address the configuration declares.
    Import(ImportArgs),
    /// Show a saved plan file, or the state.
    Show(ShowArgs),
    /// Print the outputs of the resources.
    Output(OutputArgs),
    /// Print the dependency graph.
    Graph(GraphArgs),
    /// Inspect and repair the state.
    #[command(subcommand)]
    State(StateCommand),
    /// List the resource modules, or show those of one type.
    #[command(subcommand)]
    Modules(ModulesCommand),
    /// Manage the tokens of `baton serve`.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Serve the JSON API over the project's environments (docs/api.md).
    Serve {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
        listen: String,
    },
}

/// `baton token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a token with a role (printed once: only its hash is kept).
    Add {
        /// Who uses it.
        name: String,
        /// What it may do.
        #[arg(long, value_parser = ["viewer", "developer", "operator"])]
        role: String,
    },
    /// List the tokens and their roles.
    List,
    /// Forget a token.
    Rm {
        /// Its name.
        name: String,
    },
}

/// Options of every planning command.
#[derive(Debug, Args, Clone)]
pub struct PlanFlags {
    /// Score inputs.
    #[command(flatten)]
    pub score: ScoreArgs,
    /// Read every recorded object before planning (drift detection).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
    /// Only this address (resource address, Score uid or workload.NAME) and what it needs.
    #[arg(long, value_name = "ADDR")]
    pub target: Vec<String>,
    /// Replace this address even if it is unchanged.
    #[arg(long, value_name = "ADDR")]
    pub replace: Vec<String>,
    /// At most this many provider calls at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
    /// Plan back to the configuration the apply of SERIAL recorded (`state history`).
    #[arg(long, value_name = "SERIAL")]
    pub at: Option<u64>,
}

/// `baton plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Planning options.
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Save the plan (no secrets) for `baton apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Exit 2 when there are changes, 0 when there are none.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// One line per change (text format).
    #[arg(long)]
    pub compact: bool,
    /// Plan to destroy everything.
    #[arg(long)]
    pub destroy: bool,
}

/// `baton apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan file from `baton plan --out`.
    pub plan_file: Option<PathBuf>,
    /// Planning options.
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

/// `baton destroy`.
#[derive(Debug, Args)]
pub struct DestroyArgs {
    /// Planning options.
    #[command(flatten)]
    pub flags: PlanFlags,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
}

/// `baton drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Score inputs: with `-f`, only the objects of those workloads.
    #[command(flatten)]
    pub score: ScoreArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// At most this many reads at once.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub parallelism: usize,
}

/// `baton import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The address, e.g. `postgres.default#web.db/postgres_role.owner`.
    pub address: String,
    /// The object's identifier: the value of its identifying attribute (`name`, `path`, …).
    pub id: String,
    /// Score inputs.
    #[command(flatten)]
    pub score: ScoreArgs,
}

/// `baton show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan file; without it, the state is shown.
    pub plan_file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// `baton output`.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Only this resource (Score uid).
    pub uid: Option<String>,
    /// Score inputs.
    #[command(flatten)]
    pub score: ScoreArgs,
    /// JSON output.
    #[arg(long)]
    pub json: bool,
    /// Show secret values (never do this in CI logs).
    #[arg(long)]
    pub show_sensitive: bool,
}

/// `baton graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Score inputs.
    #[command(flatten)]
    pub score: ScoreArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "dot")]
    pub format: render::graph::GraphFormat,
    /// Only this workload and what it needs.
    #[arg(long, value_name = "NAME")]
    pub workload: Option<String>,
}

/// `baton state …`.
#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List recorded addresses.
    List,
    /// Show one recorded object (secrets redacted).
    Show {
        /// Address.
        address: String,
    },
    /// Forget an object, or a leftover intent of a call that never finished, without
    /// touching the object itself.
    Rm {
        /// Address.
        address: String,
    },
    /// Move recorded objects to another address; they keep their names and data.
    Mv {
        /// Where they are recorded.
        from: String,
        /// Where they go.
        to: String,
    },
    /// The applies (serial, when, who, what they did; `[config]`: its configuration is
    /// recorded); `--changes` lists every change; `diff A B` compares two configurations.
    History {
        /// One line per recorded change instead of per apply.
        #[arg(long)]
        changes: bool,
        /// `diff A B`.
        #[command(subcommand)]
        diff: Option<HistoryDiff>,
    },
    /// Release a lock left by a run that is gone.
    Unlock {
        /// The lock id printed by the run that found it.
        lock_id: String,
    },
    /// Print a new random state key (for BATON_STATE_KEY).
    Keygen,
    /// Re-seal every secret in the state with the key in BATON_NEW_STATE_KEY (or
    /// BATON_NEW_STATE_KEY_FILE); with neither set, store them in clear.
    Rekey,
    /// Copy the environment's state to another backend (an empty one), then compare both.
    Migrate {
        /// A PostgreSQL URL (`postgres://…`) or a SQLite file path.
        #[arg(long, value_name = "URL|PATH")]
        to: String,
    },
}

/// `baton state history diff A B`.
#[derive(Debug, Subcommand)]
pub enum HistoryDiff {
    /// What changed in the configuration (Score files, modules, settings) from A to B.
    Diff {
        /// A serial with a recorded configuration.
        a: u64,
        /// Another.
        b: u64,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

/// `baton modules …`.
#[derive(Debug, Subcommand)]
pub enum ModulesCommand {
    /// Every module of the environment.
    List,
    /// The modules of one Score resource type.
    Show {
        /// The type, e.g. `postgres`.
        kind: String,
    },
}

/// The Score inputs every command that reads Score files shares.
#[derive(Debug, Args, Clone)]
pub struct ScoreArgs {
    /// A Score file (repeatable, one workload each). Default: `score.yaml` and every
    /// `*.score.yaml` of the working directory.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Image for containers whose image is `.`.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// A YAML file deep-merged into the Score file (null deletes a key).
    #[arg(long, value_name = "FILE")]
    pub overrides_file: Option<PathBuf>,
    /// Set a property: PATH=VALUE (VALUE is YAML; empty deletes; `\.` escapes a dot).
    #[arg(long, value_name = "PATH=VALUE")]
    pub override_property: Vec<String>,
}

impl ScoreArgs {
    /// The Score inputs: the files given with `-f` (the run covers their workloads),
    /// else those of the working directory.
    pub fn inputs(&self) -> ScoreInputs {
        let load = LoadOptions {
            image: self.image.clone(),
            overrides_file: self.overrides_file.clone(),
            override_properties: self.override_property.clone(),
        };
        ScoreInputs::from_files(Path::new(""), self.files.clone(), load)
    }
}

impl PlanFlags {
    /// A plan, apply or destroy: Ctrl-C stops a plan (and releases its lock).
    fn run(&self, ws: &Workspace, destroy: bool) -> ops::RunOptions {
        ops::RunOptions {
            workspace: ws.clone(),
            inputs: self.score.inputs(),
            refresh: self.refresh,
            plan: crate::plan::diff::PlanOptions {
                destroy,
                targets: self.target.clone(),
                replace: self.replace.clone(),
                workloads: None,
                at: self.at,
            },
            parallelism: self.parallelism.max(1),
            ctrl_c: true,
        }
    }
}

/// `baton validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Score inputs.
    #[command(flatten)]
    pub score: ScoreArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: render::validate::ValidateFormat,
}

/// How a command ended, mapped to the exit code by `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the input was wrong or an operation failed.
    Failure,
    /// Exit 2: changes present or drift found.
    Changes,
}

impl Outcome {
    /// `Failure` when `failed`, else `Success`.
    fn failure_if(failed: bool) -> Outcome {
        [Outcome::Success, Outcome::Failure][failed as usize]
    }

    /// `Changes` when `changed`, else `Success`.
    fn changes_if(changed: bool) -> Outcome {
        [Outcome::Success, Outcome::Changes][changed as usize]
    }

    /// The process exit code.
    pub fn code(self) -> i32 {
        match self {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Changes => 2,
        }
    }
}

/// Where output goes, and whether it may be coloured.
pub struct Terminal {
    /// Colour for stderr (diagnostics).
    pub stderr_color: Color,
    /// Colour for stdout.
    pub stdout_color: Color,
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Some(dir) = &cli.dir {
        std::env::set_current_dir(dir)
            .map_err(|e| anyhow::anyhow!("cannot change to directory {}: {e}", dir.display()))?;
    }
    let term = Terminal {
        stderr_color: Color::detect(cli.no_color, std::io::stderr().is_terminal()),
        stdout_color: Color::detect(cli.no_color, std::io::stdout().is_terminal()),
    };
    let ws = Workspace {
        root: std::env::current_dir()?,
        env: cli.env.clone(),
        lock_timeout: ops::lock_timeout(cli.lock_timeout.as_deref())?,
        who: None,
    };
    let t = &term;
    match cli.command {
        Command::Init => commands::init(&ws.root),
        Command::Validate(a) => commands::validate(&ws, &a.score.inputs(), a.format, t),
        Command::Plan(a) => commands::plan(&a.flags.run(&ws, a.destroy), &a, t),
        Command::Apply(a) => {
            commands::apply(a.flags.run(&ws, false), a.plan_file, a.auto_approve, t)
        }
        Command::Destroy(a) => commands::apply(a.flags.run(&ws, true), None, a.auto_approve, t),
        Command::Import(a) => commands::import(ws, a, t),
        Command::Drift(a) => commands::drift(ws, a, t),
        Command::Show(a) => commands::show(&ws, a.plan_file.as_deref(), a.format, t),
        Command::Output(a) => commands::output(ws, a, t),
        Command::Graph(a) => commands::graph(ws, a, t),
        Command::State(cmd) => commands::state(&ws, cmd),
        Command::Modules(ModulesCommand::List) => commands::modules(&ws, None, t),
        Command::Modules(ModulesCommand::Show { kind }) => commands::modules(&ws, Some(&kind), t),
        Command::Token(cmd) => commands::token(&ws, cmd),
        Command::Serve { .. } => anyhow::bail!("internal error: `serve` is started by main"),
    }
}
