//! The `baton` binary: parse arguments, run the command, map the outcome to the exit code.

use clap::Parser;

fn main() {
    let cli = baton::cli::Cli::parse();
    let code = match baton::cli::run(cli) {
        Ok(outcome) => outcome.code(),
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
