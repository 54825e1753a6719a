//! The `baton` binary: parse arguments, run the command, map the outcome to the exit code
//! (0 success, 1 any error, usage errors included, 2 changes present or drift found).

use clap::Parser;

// A plan of a large environment allocates and frees millions of small strings and maps;
// mimalloc does that markedly faster than the system allocator (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let started = std::time::Instant::now();
    // A usage error exits 1, like every other error: clap's 2 is what
    // `plan --detailed-exitcode` and `drift` answer for "changes present".
    let cli = match baton::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            std::process::exit(if e.use_stderr() { 1 } else { 0 });
        }
    };
    // `serve` is the second face, above the CLI: started here, over the project of `-C`.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &cli.command {
        baton::cli::Command::Serve { listen } => std::env::current_dir()
            .map_err(anyhow::Error::from)
            .map(|cwd| cli.dir.as_ref().map_or(cwd.clone(), |d| cwd.join(d)))
            .and_then(|root| baton::serve::run(root, listen))
            .map(|()| baton::cli::Outcome::Success),
        _ => baton::cli::run(cli),
    }));
    let code = match run {
        Ok(Ok(outcome)) => outcome.code(),
        Ok(Err(e)) => {
            eprintln!("error: {e:#}");
            1
        }
        // Whoever read stdout stopped reading (`baton plan | head -1`): done, quietly.
        Err(p) if p.is::<baton::cli::BrokenPipe>() => 0,
        Err(p) => std::panic::resume_unwind(p),
    };
    baton::timings::record("total", started.elapsed());
    if let Some(t) = baton::timings::report() {
        eprint!("{t}");
    }
    std::process::exit(code);
}
