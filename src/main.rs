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
