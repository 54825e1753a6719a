//! `baton validate`: load the Score files, print what was found and every diagnostic.

use std::io::Write;

use super::{Outcome, Terminal, ValidateArgs, ValidateFormat};
use crate::diag::{Diagnostics, Sources};
use crate::render;
use crate::score;

/// Runs `validate`.
pub fn run(args: &ValidateArgs, env: &str, term: &Terminal) -> anyhow::Result<Outcome> {
    let mut sources = Sources::new();
    let mut diags = Diagnostics::new();
    let project = score::load(
        &args.score.score_files(),
        &args.score.load_options(),
        &mut sources,
        &mut diags,
    );
    if !diags.has_errors() {
        let root = std::env::current_dir()?;
        crate::pipeline::check_environment(&root, env, &project, &mut sources, &mut diags);
    }
    diags.sort(&sources);
    let outcome = if diags.has_errors() {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let mut stdout = std::io::stdout().lock();
    match args.format {
        ValidateFormat::Json => {
            let report = render::validate::report(&project, &diags, &sources);
            serde_json::to_writer_pretty(&mut stdout, &report)?;
            writeln!(stdout)?;
        }
        ValidateFormat::Text => {
            let mut stderr = std::io::stderr().lock();
            write!(
                stderr,
                "{}",
                render::diagnostics::text(&diags, &sources, term.stderr_color)
            )?;
            write!(
                stdout,
                "{}",
                render::validate::text(&project, &diags, &sources)
            )?;
        }
    }
    Ok(outcome)
}
