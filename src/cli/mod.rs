//! The command line: clap types and one thin function per command.
//! Commands return an [`Outcome`]; `main` turns it into the exit code.

mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::render::Color;
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
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check Score files: schema, placeholders, `before`, shared resources. Touches no state.
    Validate(ValidateArgs),
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
    /// The Score files to read: those given with `-f`, else `score.yaml` and every
    /// `*.score.yaml` of the working directory (sorted), else `score.yaml` (which then
    /// fails to load with a hint).
    pub fn score_files(&self) -> Vec<PathBuf> {
        if !self.files.is_empty() {
            return self.files.clone();
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(".")
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
        found
    }

    /// The loader options these flags describe.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            image: self.image.clone(),
            overrides_file: self.overrides_file.clone(),
            override_properties: self.override_property.clone(),
        }
    }
}

/// Output format of `validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// For people.
    Text,
    /// For tools (documented in docs/score.md).
    Json,
}

/// `baton validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Score inputs.
    #[command(flatten)]
    pub score: ScoreArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: ValidateFormat,
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
    match cli.command {
        Command::Validate(args) => validate::run(&args, &term),
    }
}
