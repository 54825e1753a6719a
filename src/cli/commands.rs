//! Each command: call its operation in [`crate::ops`], print what it returns (through
//! `render`), and map it to an [`Outcome`]. `plan` leaves its plan unfreed for the exit:
//! freeing it made a no-change plan at 10,000 resources 1.13× as long (`benches/ab.sh`).

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::{
    DriftArgs, GraphArgs, HistoryDiff, ImportArgs, Outcome, OutputArgs, PlanArgs, StateCommand,
    Terminal, TokenCommand,
};
use crate::ops::{self, Error, Event, Observer, Report, Workspace};
use crate::plan::Plan;
use crate::render::{self, Color, Format};

/// Prints the events of a run: warnings and lock news on stderr, the plan of an apply
/// and its progress on stdout; asks for approval on the terminal.
struct Printer<'a> {
    term: &'a Terminal,
    warnings: bool,
    auto_approve: bool,
    progress: render::progress::Progress,
    bar: Option<indicatif::ProgressBar>,
}

impl<'a> Printer<'a> {
    fn new(term: &'a Terminal, warnings: bool, auto_approve: bool) -> Printer<'a> {
        Printer {
            term,
            warnings,
            auto_approve,
            progress: Default::default(),
            bar: None,
        }
    }
}

impl Observer for Printer<'_> {
    fn event(&mut self, event: Event<'_>) {
        let color = self.term.stdout_color;
        match event {
            Event::Warnings {
                diagnostics,
                sources,
            } if self.warnings => eprint!(
                "{}",
                render::diagnostics::text(diagnostics, sources, self.term.stderr_color)
            ),
            Event::Warnings { .. } => {}
            Event::SecretsInClear { location } => {
                eprintln!("{}", render::progress::secrets_in_clear(&location))
            }
            Event::LockWait { held, timeout } => {
                eprintln!("{}", render::progress::lock_wait(held, timeout))
            }
            Event::LockTakenOver { stale } => {
                eprintln!("{}", render::progress::lock_taken_over(stale))
            }
            Event::Plan(plan) => out!("{}", render::plan::text(plan, color)),
            Event::Applying => {
                outln!();
                if color == Color::Always && std::io::stdout().is_terminal() {
                    let pb = indicatif::ProgressBar::new_spinner();
                    pb.enable_steady_tick(std::time::Duration::from_millis(120));
                    self.bar = Some(pb);
                }
            }
            Event::Progress(e) => {
                let line = self.progress.line(&e);
                match &self.bar {
                    Some(pb) => {
                        pb.println(line);
                        pb.set_message(self.progress.status());
                    }
                    None => outln!("{line}"),
                }
            }
        }
    }

    fn approve(
        &mut self,
        plan: &Plan,
        operation: &str,
        stop: &dyn Fn() -> bool,
    ) -> anyhow::Result<bool> {
        if self.auto_approve {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "refusing to {operation} without confirmation: stdin is not a terminal; review the plan and pass --auto-approve"
            );
        }
        out!("{}", render::progress::confirm(plan, operation));
        std::io::stdout().flush()?;
        let mut answer = String::new();
        let read = crate::par::unless(stop, move || {
            std::io::stdin().read_line(&mut answer).map(|_| answer)
        });
        Ok(read.transpose()?.is_some_and(|a| a.trim() == "yes"))
    }
}

/// Prints a failure: inputs that did not load (with the count), diagnostics of a run
/// that failed (alone), or an error for `main` to print.
fn failed(e: Error, term: &Terminal) -> anyhow::Result<Outcome> {
    let c = term.stderr_color;
    match e {
        Error::Invalid(r) => eprint!(
            "{}",
            render::failure::invalid(&r.diagnostics, &r.sources, c)
        ),
        Error::Failed(r) => eprint!("{}", diagnostics(&r, c)),
        Error::Other(e) => return Err(e),
    }
    Ok(Outcome::Failure)
}

/// Prints the diagnostics of an operation that failed (no count line), or returns the
/// error for `main` to print.
fn diagnosed(e: Error, term: &Terminal) -> anyhow::Result<Outcome> {
    match e {
        Error::Invalid(r) | Error::Failed(r) => {
            eprint!("{}", diagnostics(&r, term.stderr_color));
            Ok(Outcome::Failure)
        }
        Error::Other(e) => Err(e),
    }
}

fn diagnostics(r: &Report, color: Color) -> String {
    render::diagnostics::text(&r.diagnostics, &r.sources, color)
}

/// `baton validate`.
pub fn validate(
    ws: &Workspace,
    inputs: &ops::ScoreInputs,
    format: render::validate::ValidateFormat,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let v = ops::validate(ws, inputs);
    let (project, diags, sources) = (&v.project, &v.diagnostics, &v.sources);
    let (out, err) =
        render::validate::formatted(project, diags, sources, format, term.stderr_color);
    eprint!("{err}");
    out!("{out}");
    Ok(Outcome::failure_if(diags.has_errors()))
}

/// `baton plan`.
pub fn plan(opts: &ops::RunOptions, a: &PlanArgs, term: &Terminal) -> anyhow::Result<Outcome> {
    let planned = match ops::plan(opts, &mut Printer::new(term, true, false)) {
        Ok(p) => p,
        Err(Error::Failed(r)) => {
            let (env, d, s) = (&opts.workspace.env, &r.diagnostics, &r.sources);
            let (out, err) = render::failure::plan(env, d, s, a.format, term.stderr_color);
            out!("{out}");
            eprint!("{err}");
            return Ok(Outcome::Failure);
        }
        Err(e) => return failed(e, term),
    };
    let plan = &planned.planned.plan;
    let render_started = std::time::Instant::now();
    let (rollback, color) = (planned.rollback.as_ref(), term.stdout_color);
    out!(
        "{}",
        render::plan::formatted(plan, a.format, a.compact, color, rollback)
    );
    crate::timings::record("render", render_started.elapsed());
    if let Some(path) = &a.out {
        ops::save_plan(&planned, path)?;
        if a.format == Format::Text {
            let p = path.display();
            outln!("\nSaved the plan to {p}; apply it with: baton apply {p}");
        }
    }
    let changes = a.detailed_exitcode && plan.has_changes();
    // The process exits next: freeing it one allocation at a time only delays the exit.
    std::mem::forget(planned);
    Ok(Outcome::changes_if(changes))
}

/// `baton apply` and `baton destroy`.
pub fn apply(
    run: ops::RunOptions,
    plan_file: Option<std::path::PathBuf>,
    auto_approve: bool,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let opts = ops::ApplyOptions { run, plan_file };
    let applied = match ops::apply(&opts, &mut Printer::new(term, true, auto_approve)) {
        Ok(a) => a,
        Err(Error::Failed(r)) => {
            eprint!(
                "{}",
                render::failure::plan_text(&r.diagnostics, &r.sources, term.stderr_color)
            );
            return Ok(Outcome::Failure);
        }
        Err(e) => return failed(e, term),
    };
    if applied.cancelled {
        out!("{}", render::progress::cancelled(opts.run.plan.destroy));
        return Ok(Outcome::Failure);
    }
    let Some(report) = &applied.report else {
        return Ok(Outcome::Success);
    };
    let (out, err) = render::failure::apply_end(report);
    out!("{out}");
    eprint!("{err}");
    Ok(Outcome::failure_if(!applied.succeeded()))
}

/// `baton drift`: exit 0 when nothing drifted, 2 when something did.
pub fn drift(workspace: Workspace, a: DriftArgs, term: &Terminal) -> anyhow::Result<Outcome> {
    let parallelism = a.parallelism.max(1);
    let inputs = a.score.inputs();
    let d = match ops::drift(&ops::DriftOptions {
        workspace,
        parallelism,
        inputs,
    }) {
        Ok(d) => d,
        Err(e) => return diagnosed(e, term),
    };
    let (env, drift) = (&d.environment, &d.drift);
    out!(
        "{}",
        render::drift::formatted(env, drift, a.format, term.stdout_color)
    );
    Ok(Outcome::changes_if(!drift.is_empty()))
}

/// `baton import ADDR ID`.
pub fn import(workspace: Workspace, a: ImportArgs, term: &Terminal) -> anyhow::Result<Outcome> {
    let (inputs, address, id) = (a.score.inputs(), a.address, a.id);
    let opts = ops::ImportOptions {
        workspace,
        inputs,
        address,
        id,
    };
    match ops::import(&opts, &mut Printer::new(term, false, false)) {
        Ok(i) => {
            let text = render::state::imported(&i.kind, &opts.id, &opts.address);
            out!("{text}");
            Ok(Outcome::Success)
        }
        Err(e) => failed(e, term),
    }
}

/// `baton show [PLANFILE]`: a saved plan, or the current state.
pub fn show(
    ws: &Workspace,
    plan_file: Option<&Path>,
    format: Format,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    if let Some(p) = plan_file {
        let plan = ops::show_plan_file(p).map_err(|e| environment(e, ws))?;
        out!(
            "{}",
            render::plan::formatted(&plan, format, false, term.stdout_color, None)
        );
        return Ok(Outcome::Success);
    }
    let state = ops::state(ws).map_err(|e| environment(e, ws))?;
    let Some(text) = render::state::formatted(&ws.env, &state, format) else {
        anyhow::bail!("the state has no Markdown form; use --format text or json")
    };
    out!("{text}");
    Ok(Outcome::Success)
}

/// The error of a command that only opens the state: a `baton.hcl` that did not load is
/// printed, and named.
fn environment(e: Error, ws: &Workspace) -> anyhow::Error {
    match e {
        Error::Invalid(r) | Error::Failed(r) => {
            eprint!("{}", diagnostics(&r, Color::Never));
            anyhow::anyhow!("cannot load environment `{}`", ws.env)
        }
        Error::Other(e) => e,
    }
}

/// `baton output [UID] [--json] [--show-sensitive]`.
pub fn output(workspace: Workspace, a: OutputArgs, term: &Terminal) -> anyhow::Result<Outcome> {
    let (inputs, uid, reveal) = (a.score.inputs(), a.uid, a.show_sensitive);
    let outputs = match ops::outputs(&ops::OutputOptions {
        workspace,
        inputs,
        uid,
    }) {
        Ok(o) => o,
        Err(e) => return failed(e, term),
    };
    out!("{}", render::state::outputs(&outputs, a.json, reveal));
    Ok(Outcome::Success)
}

/// `baton graph --format dot|mermaid`.
pub fn graph(workspace: Workspace, a: GraphArgs, term: &Terminal) -> anyhow::Result<Outcome> {
    let (inputs, workload) = (a.score.inputs(), a.workload);
    let (prepared, keep) = match ops::graph(&ops::GraphOptions {
        workspace,
        inputs,
        workload,
    }) {
        Ok(g) => g,
        Err(e) => return failed(e, term),
    };
    out!(
        "{}",
        render::graph::formatted(&prepared.graph, &keep, a.format)
    );
    Ok(Outcome::Success)
}

/// `baton modules list|show TYPE`.
pub fn modules(ws: &Workspace, kind: Option<&str>, term: &Terminal) -> anyhow::Result<Outcome> {
    let catalog = match ops::modules(ws) {
        Ok(c) => c,
        Err(e) => return diagnosed(e, term),
    };
    if !catalog.warnings.diagnostics.is_empty() {
        eprint!("{}", diagnostics(&catalog.warnings, term.stderr_color));
    }
    match kind {
        None => out!("{}", render::modules::list(&catalog.modules)),
        Some(kind) => out!("{}", render::modules::show(&catalog.of_kind(kind)?)),
    }
    Ok(Outcome::Success)
}

/// `baton state list|show|rm|mv|history|unlock|keygen|rekey|migrate`.
pub fn state(ws: &Workspace, cmd: StateCommand) -> anyhow::Result<Outcome> {
    let env = |e| environment(e, ws);
    match cmd {
        StateCommand::Keygen => outln!("{}", ops::keygen()),
        StateCommand::List => {
            let (list, intents) = render::state::list(&ops::state(ws).map_err(env)?);
            out!("{list}");
            eprint!("{intents}");
        }
        StateCommand::Show { address } => {
            let object = ops::state_object(ws, &address).map_err(env)?;
            out!("{}", render::state::object(&object));
        }
        StateCommand::Rm { address } => {
            let removed = ops::state_rm(ws, &address).map_err(env)?;
            out!("{}", render::state::removed(&address, &removed));
        }
        StateCommand::History {
            diff: Some(HistoryDiff::Diff { a, b, format }),
            ..
        } => out!(
            "{}",
            render::history::diff(&ops::history_diff(ws, a, b).map_err(env)?, format)
        ),
        StateCommand::History { changes, .. } => {
            let (history, configured) = (ops::history(ws), ops::deployment_serials(ws));
            let (history, configured) = (history.map_err(env)?, configured.map_err(env)?);
            out!("{}", render::state::history(&history, &configured, changes));
        }
        StateCommand::Rekey => {
            let new = crate::state::crypto::StateKey::new_from_env().map_err(anyhow::Error::msg)?;
            let (n, fingerprint) = ops::rekey(ws, new).map_err(env)?;
            out!("{}", render::state::rekeyed(n, fingerprint.as_deref()));
        }
        StateCommand::Migrate { to } => {
            let m = ops::migrate(ws, &to).map_err(env)?;
            out!("{}", render::state::migrated(&ws.env, &m));
        }
        StateCommand::Mv { from, to } => {
            let moved = ops::state_mv(ws, &from, &to).map_err(env)?;
            out!("{}", render::state::moved(&moved));
        }
        StateCommand::Unlock { lock_id } => {
            ops::unlock(ws, &lock_id).map_err(env)?;
            outln!("Released lock {lock_id}.");
        }
    }
    Ok(Outcome::Success)
}

/// `baton init`: a starter score.yaml and baton.hcl.
pub fn init(root: &Path) -> anyhow::Result<Outcome> {
    ops::init(root)?;
    outln!("Wrote score.yaml and baton.hcl. Next: `baton plan`, then `baton apply`.");
    Ok(Outcome::Success)
}

/// `baton token add|list|rm`.
pub fn token(ws: &Workspace, cmd: TokenCommand) -> anyhow::Result<Outcome> {
    let (err, root) = (|e| environment(e, ws), ws.root.as_path());
    let text = match cmd {
        TokenCommand::Add { name, role } => {
            let role = ops::Role::parse(&role).expect("clap checks the role");
            render::tokens::added(
                &name,
                role.as_str(),
                &ops::token_add(root, &name, role).map_err(err)?,
            )
        }
        TokenCommand::List => render::tokens::list(&ops::tokens(root).map_err(err)?.listed()),
        TokenCommand::Rm { name } => ops::token_rm(root, &name)
            .map(|_| format!("Removed token `{name}`.\n"))
            .map_err(err)?,
    };
    out!("{text}");
    Ok(Outcome::Success)
}
