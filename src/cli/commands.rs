//! Each command: call its operation in [`crate::ops`], print what it returns (through
//! `render`), and map it to an [`Outcome`].

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::{
    DriftArgs, GraphArgs, GraphFormat, ImportArgs, Outcome, OutputArgs, PlanArgs, PlanFormat,
    StateCommand, Terminal, TokenCommand, ValidateFormat,
};
use crate::ops::{self, Error, Event, Observer, Report, Workspace};
use crate::plan::Plan;
use crate::render::{self, Color};

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
            Event::Plan(plan) => print!("{}", render::plan::text(plan, color)),
            Event::Applying => {
                println!();
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
                    None => println!("{line}"),
                }
            }
        }
    }

    fn approve(&mut self, plan: &Plan, operation: &str) -> anyhow::Result<bool> {
        if self.auto_approve {
            return Ok(true);
        }
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "refusing to {operation} without confirmation: stdin is not a terminal; review the plan and pass --auto-approve"
            );
        }
        print!("{}", render::progress::confirm(plan, operation));
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(answer.trim() == "yes")
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

fn diagnostics(r: &Report, color: Color) -> String {
    render::diagnostics::text(&r.diagnostics, &r.sources, color)
}

/// `baton validate`.
pub fn validate(
    ws: &Workspace,
    inputs: &ops::ScoreInputs,
    format: ValidateFormat,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    let v = ops::validate(ws, inputs);
    let (project, diags, sources) = (&v.project, &v.diagnostics, &v.sources);
    match format {
        ValidateFormat::Json => {
            let report = render::validate::report(project, diags, sources);
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        ValidateFormat::Text => {
            eprint!(
                "{}",
                render::diagnostics::text(diags, sources, term.stderr_color)
            );
            print!("{}", render::validate::text(project, diags, sources));
        }
    }
    Ok(Outcome::failure_if(diags.has_errors()))
}

/// `baton plan`.
pub fn plan(opts: &ops::RunOptions, a: &PlanArgs, term: &Terminal) -> anyhow::Result<Outcome> {
    let planned = match ops::plan(opts, &mut Printer::new(term, true, false)) {
        Ok(p) => p,
        Err(Error::Failed(r)) => {
            let (env, d, s) = (&opts.workspace.env, &r.diagnostics, &r.sources);
            match a.format {
                PlanFormat::Json => print!("{}", render::failure::plan_json(env, d, s)),
                PlanFormat::Markdown => print!("{}", render::failure::plan_markdown(env, d)),
                PlanFormat::Text => {}
            }
            eprint!("{}", render::failure::plan_text(d, s, term.stderr_color));
            return Ok(Outcome::Failure);
        }
        Err(e) => return failed(e, term),
    };
    let plan = &planned.planned.plan;
    let render_started = std::time::Instant::now();
    print!(
        "{}",
        render::plan::formatted(plan, a.format, a.compact, term.stdout_color)
    );
    crate::timings::record("render", render_started.elapsed());
    if let Some(path) = &a.out {
        ops::save_plan(&planned, path)?;
        if a.format == PlanFormat::Text {
            let p = path.display();
            println!("\nSaved the plan to {p}; apply it with: baton apply {p}");
        }
    }
    let changes = a.detailed_exitcode && plan.has_changes();
    // The process exits next: freeing a large environment's graph, values, state and
    // plan one allocation at a time would only delay the exit (tens of ms at 10,000).
    std::mem::forget(planned);
    Ok(Outcome::changes_if(changes))
}

/// `baton apply` and `baton destroy`.
pub fn apply(
    opts: ops::ApplyOptions,
    auto_approve: bool,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
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
        let what = if opts.run.plan.destroy {
            "Destroy"
        } else {
            "Apply"
        };
        println!("\n{what} cancelled; nothing was changed.");
        return Ok(Outcome::Failure);
    }
    let Some(report) = &applied.report else {
        return Ok(Outcome::Success);
    };
    let (out, err) = render::failure::apply_end(report);
    print!("{out}");
    eprint!("{err}");
    Ok(Outcome::failure_if(!applied.succeeded()))
}

/// `baton drift`: exit 0 when nothing drifted, 2 when something did.
pub fn drift(workspace: Workspace, a: DriftArgs, term: &Terminal) -> anyhow::Result<Outcome> {
    let parallelism = a.parallelism.max(1);
    let d = match ops::drift(&ops::DriftOptions {
        workspace,
        parallelism,
    }) {
        Ok(d) => d,
        Err(Error::Invalid(r) | Error::Failed(r)) => {
            eprint!("{}", diagnostics(&r, term.stderr_color));
            return Ok(Outcome::Failure);
        }
        Err(Error::Other(e)) => return Err(e),
    };
    let text = render::drift::formatted(&d.environment, &d.drift, a.format, term.stdout_color);
    print!("{text}");
    Ok(Outcome::changes_if(!d.drift.is_empty()))
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
            let (kind, id, address) = (i.kind, &opts.id, &opts.address);
            println!(
                "Imported {kind} `{id}` as {address}. `baton plan` shows how it differs from the configuration."
            );
            Ok(Outcome::Success)
        }
        Err(e) => failed(e, term),
    }
}

/// `baton show [PLANFILE]`: a saved plan, or the current state.
pub fn show(
    ws: &Workspace,
    plan_file: Option<&Path>,
    format: PlanFormat,
    term: &Terminal,
) -> anyhow::Result<Outcome> {
    if let Some(p) = plan_file {
        let plan = ops::show_plan_file(p).map_err(|e| environment(e, ws))?;
        print!(
            "{}",
            render::plan::formatted(&plan, format, false, term.stdout_color)
        );
        return Ok(Outcome::Success);
    }
    let state = ops::state(ws).map_err(|e| environment(e, ws))?;
    let text = render::state::formatted(&ws.env, &state, format);
    print!(
        "{}",
        text.ok_or_else(|| anyhow::anyhow!(
            "the state has no Markdown form; use --format text or json"
        ))?
    );
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
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&render::state::outputs_json(&outputs, reveal))?
        );
    } else {
        print!("{}", render::state::outputs_text(&outputs, reveal));
    }
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
    match a.format {
        GraphFormat::Dot => print!("{}", render::graph::dot(&prepared.graph, &keep)),
        GraphFormat::Mermaid => print!("{}", render::graph::mermaid(&prepared.graph, &keep)),
    }
    Ok(Outcome::Success)
}

/// `baton modules list|show TYPE`.
pub fn modules(ws: &Workspace, kind: Option<&str>, term: &Terminal) -> anyhow::Result<Outcome> {
    let catalog = match ops::modules(ws) {
        Ok(c) => c,
        Err(Error::Invalid(r) | Error::Failed(r)) => {
            eprint!("{}", diagnostics(&r, term.stderr_color));
            return Ok(Outcome::Failure);
        }
        Err(Error::Other(e)) => return Err(e),
    };
    if !catalog.warnings.diagnostics.is_empty() {
        eprint!("{}", diagnostics(&catalog.warnings, term.stderr_color));
    }
    match kind {
        None => print!("{}", render::modules::list(&catalog.modules)),
        Some(kind) => print!("{}", render::modules::show(&catalog.of_kind(kind)?)),
    }
    Ok(Outcome::Success)
}

/// `baton state list|show|rm|history|unlock|keygen|rekey|migrate`.
pub fn state(ws: &Workspace, cmd: StateCommand) -> anyhow::Result<Outcome> {
    let env = |e| environment(e, ws);
    match cmd {
        StateCommand::Keygen => println!("{}", ops::keygen()),
        StateCommand::List => {
            let (out, err) = render::state::list(&ops::state(ws).map_err(env)?);
            print!("{out}");
            eprint!("{err}");
        }
        StateCommand::Show { address } => {
            let object = ops::state_object(ws, &address).map_err(env)?;
            print!("{}", render::state::object(&object));
        }
        StateCommand::Rm { address } => {
            let text = match ops::state_rm(ws, &address).map_err(env)? {
                ops::Removed::Object { intent } => {
                    render::state::removed(&address, true, intent.as_deref().map(|a| (a, "")))
                }
                ops::Removed::Intent { action, started_at } => {
                    render::state::removed(&address, false, Some((&action, &started_at)))
                }
            };
            print!("{text}");
        }
        StateCommand::History { changes } => {
            let history = ops::history(ws).map_err(env)?;
            let text = if changes {
                render::state::changes(&history)
            } else {
                render::state::applies(&history)
            };
            print!("{text}");
        }
        StateCommand::Rekey => {
            let vars = ("BATON_NEW_STATE_KEY", "BATON_NEW_STATE_KEY_FILE");
            let new = crate::state::crypto::StateKey::from_vars(vars.0, vars.1)
                .map_err(|e| anyhow::anyhow!(e))?;
            let (n, fingerprint) = ops::rekey(ws, new).map_err(env)?;
            print!("{}", render::state::rekeyed(n, fingerprint.as_deref()));
        }
        StateCommand::Migrate { to } => {
            print!("{}", ops::migrate(ws, &to).map_err(env)?.report(&ws.env));
        }
        StateCommand::Unlock { lock_id } => {
            ops::unlock(ws, &lock_id).map_err(env)?;
            println!("Released lock {lock_id}.");
        }
    }
    Ok(Outcome::Success)
}

/// `baton init`: a starter score.yaml and baton.hcl.
pub fn init(root: &Path) -> anyhow::Result<Outcome> {
    ops::init(root)?;
    println!("Wrote score.yaml and baton.hcl. Next: `baton plan`, then `baton apply`.");
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
    print!("{text}");
    Ok(Outcome::Success)
}
