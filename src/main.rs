//! The `baton` binary: parse arguments, run the command, map the outcome to the exit code.

use clap::Parser;

// A plan of a large environment allocates and frees millions of small strings and maps;
// mimalloc does that markedly faster than the system allocator (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let started = std::time::Instant::now();
    let cli = baton::cli::Cli::parse();
    let code = match baton::cli::run(cli) {
        Ok(outcome) => outcome.code(),
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    baton::timings::record("total", started.elapsed());
    if let Some(t) = baton::timings::report() {
        eprint!("{t}");
    }
    std::process::exit(code);
}
