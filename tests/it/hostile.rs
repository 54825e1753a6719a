//! Hostile input: a Score file or module written to read baton's secrets or to exhaust
//! the machine gets a located error with the limit named, in bounded time and memory,
//! and no state is written. Each test drives the real binary under a 1 GiB address-space
//! limit and a deadline, so a regression fails instead of hanging or swapping.

use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use crate::support::{Run, Sandbox};

/// How long a hostile run may take before the test fails (debug build, shared machine).
const DEADLINE: Duration = Duration::from_secs(30);

/// The address-space limit of a hostile run.
const MEMORY: u64 = 1 << 30;

/// Runs baton in the sandbox with `env` added, under [`MEMORY`], killed at [`DEADLINE`].
fn run_bounded(sb: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> (Run, Duration) {
    let mut cmd = sb.command(args);
    cmd.envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: MEMORY,
                rlim_max: MEMORY,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = Instant::now();
    let child = cmd.spawn().expect("start baton");
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(DEADLINE) {
        Ok(out) => out.expect("wait for baton"),
        Err(_) => {
            // SAFETY: `pid` is the child started above, not yet reaped (its waiter is
            // still blocked in wait).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("baton {args:?} still running after {DEADLINE:?}: killed");
        }
    };
    let run = Run::of(out);
    (run, started.elapsed())
}

/// Asserts a refused run: exit code 1, `needle` in stderr, a `--> FILE:LINE:COL`
/// location in `file`, and no state database created.
fn assert_refused(sb: &Sandbox, run: &Run, file: &str, needle: &str) {
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains(needle), "{}", run.transcript());
    let located = run.stderr.lines().any(|l| {
        l.trim_start()
            .strip_prefix(&format!("--> {file}:"))
            .is_some_and(|rest| {
                let mut parts = rest.split(':');
                parts.next().is_some_and(|n| n.parse::<usize>().is_ok())
                    && parts.next().is_some_and(|n| n.parse::<usize>().is_ok())
            })
    });
    assert!(located, "no location in {file}:\n{}", run.transcript());
    assert!(
        !sb.path().join(".baton/state.db").exists(),
        "a refused run created the state database"
    );
}

/// A workload whose container has the file `/etc/app.conf` read from `source`.
fn with_file_source(source: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: busybox\n    files:\n      /etc/app.conf:\n        source: {source}\n"
    )
}

#[test]
fn a_file_source_outside_the_project_is_refused_and_no_secret_is_shown() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &with_file_source("/proc/self/environ"));
    let (run, _) = run_bounded(
        &sb,
        &["plan", "--format", "markdown"],
        &[("BATON_CANARY", "planted-canary-value")],
    );
    assert!(
        !run.stdout.contains("planted-canary-value"),
        "{}",
        run.transcript()
    );
    assert_refused(&sb, &run, "score.yaml", "is outside the project directory");
    assert!(
        run.stderr
            .contains("help: `source` may only name a file beneath"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_source_fifo_is_refused_without_blocking() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &with_file_source("pipe"));
    let fifo = std::ffi::CString::new(sb.path().join("pipe").into_os_string().into_encoded_bytes())
        .unwrap();
    // SAFETY: a valid C string; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let (run, _) = run_bounded(&sb, &["plan"], &[]);
    assert_refused(&sb, &run, "score.yaml", "is a FIFO, not a regular file");
}

#[test]
fn a_file_source_through_a_symbolic_link_is_refused() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &with_file_source("conf/passwd"));
    std::fs::create_dir(sb.path().join("conf")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", sb.path().join("conf/passwd")).unwrap();
    let (run, _) = run_bounded(&sb, &["plan"], &[]);
    assert_refused(&sb, &run, "score.yaml", "`conf/passwd` is a symbolic link");
    // A link to a folder on the way is refused the same way.
    std::fs::remove_dir_all(sb.path().join("conf")).unwrap();
    std::os::unix::fs::symlink("/etc", sb.path().join("conf")).unwrap();
    let (run, _) = run_bounded(&sb, &["plan"], &[]);
    assert_refused(&sb, &run, "score.yaml", "`conf` is a symbolic link");
}

#[test]
fn a_file_source_larger_than_1_mib_is_refused_and_a_small_one_is_read() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &with_file_source("conf/big.bin"));
    sb.write("conf/big.bin", &"x".repeat(1024 * 1024 + 1));
    let (run, _) = run_bounded(&sb, &["plan"], &[]);
    assert_refused(
        &sb,
        &run,
        "score.yaml",
        "is larger than 1048576 bytes (1 MiB)",
    );
    // Exactly the limit, inside the project, through `..` that stays inside: read.
    sb.write("conf/big.bin", &"y".repeat(1024 * 1024));
    sb.write("score.yaml", &with_file_source("conf/../conf/big.bin"));
    let (run, _) = run_bounded(&sb, &["plan"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

/// A workload reading the variable `name` through the built-in `environment` type.
fn reading_variable(name: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: busybox\n    variables:\n      VALUE: ${{resources.env.{name}}}\nresources:\n  env:\n    type: environment\n"
    )
}

#[test]
fn a_baton_variable_never_reaches_a_score_file() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &reading_variable("BATON_TEST_CANARY"));
    let canary = [("BATON_TEST_CANARY", "planted-canary-value")];
    let (run, _) = run_bounded(&sb, &["plan"], &canary);
    assert_refused(
        &sb,
        &run,
        "score.yaml",
        "reads BATON_TEST_CANARY, a variable of baton itself",
    );
    // Listing it does not help: the list itself is refused, at the name.
    sb.write(
        "baton.hcl",
        "environment \"local\" {\n  environment_variables = [\"API_URL\", \"BATON_TEST_CANARY\"]\n}\n",
    );
    let (run, _) = run_bounded(&sb, &["plan"], &canary);
    assert_refused(
        &sb,
        &run,
        "baton.hcl",
        "`BATON_TEST_CANARY` cannot be given to modules",
    );
    assert!(run.stderr.contains("--> baton.hcl:2:39"), "{}", run.stderr);
}

#[test]
fn a_score_file_reads_only_the_variables_baton_hcl_lists() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &reading_variable("API_URL"));
    let set = [("API_URL", "https://api.example.com")];
    let (run, _) = run_bounded(&sb, &["plan"], &set);
    assert_refused(
        &sb,
        &run,
        "score.yaml",
        "reads API_URL, which environment `local` does not list",
    );
    assert!(
        run.stderr.contains("environment_variables = [\"API_URL\"]"),
        "{}",
        run.stderr
    );
    sb.write(
        "baton.hcl",
        "environment \"local\" {\n  environment_variables = [\"API_URL\"]\n}\n",
    );
    let (run, _) = run_bounded(&sb, &["plan"], &set);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

/// A workload with `extra` added under `metadata` (any YAML goes there).
fn with_metadata(extra: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n{extra}containers:\n  main:\n    image: busybox\n"
    )
}

#[test]
fn a_yaml_alias_bomb_is_refused_at_once() {
    let sb = Sandbox::new();
    // Nine levels of nine aliases: 387,420,489 strings from 700 bytes.
    let mut bomb = String::from("  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut prev = 'a';
    for level in 'b'..='i' {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        bomb.push_str(&format!("  {level}: &{level} [{refs}]\n"));
        prev = level;
    }
    sb.write("score.yaml", &with_metadata(&bomb));
    let (run, took) = run_bounded(&sb, &["plan"], &[]);
    assert_refused(&sb, &run, "score.yaml", "excessive aliasing");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn deeply_nested_yaml_is_refused_without_overflowing_the_stack() {
    let n = 100_000;
    for (name, value) in [
        (
            "flow sequences",
            format!("  x: {}{}\n", "[".repeat(n), "]".repeat(n)),
        ),
        (
            "flow mappings",
            format!("  x: {}1{}\n", "{a: ".repeat(n), "}".repeat(n)),
        ),
        (
            "block sequences",
            format!("  x:\n    {}1\n", "- ".repeat(n)),
        ),
    ] {
        let sb = Sandbox::new();
        sb.write("score.yaml", &with_metadata(&value));
        let (run, _) = run_bounded(&sb, &["plan"], &[]);
        assert!(
            run.stderr.contains("YAML nested deeper than 128 levels"),
            "{name}: {}",
            run.transcript()
        );
        assert_refused(&sb, &run, "score.yaml", "nested deeper");
    }
}

/// A workload whose variable `X` is `count` copies of a placeholder, on one line.
fn with_placeholders(count: usize) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: busybox\n    variables:\n      X: \"{}\"\n",
        "${resources.nope.x}".repeat(count)
    )
}

#[test]
fn two_hundred_thousand_placeholders_are_one_located_error_in_bounded_time() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &with_placeholders(200_000));
    let (run, took) = run_bounded(&sb, &["plan"], &[]);
    assert_refused(
        &sb,
        &run,
        "score.yaml",
        "more than 10000 placeholders in one Score file",
    );
    // At the first placeholder past the limit: column 11 + 10,000 × 19.
    assert!(
        run.stderr.contains("--> score.yaml:8:190011"),
        "{}",
        run.stderr
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        run.stderr.len() < 4096,
        "{} bytes of errors",
        run.stderr.len()
    );
}

#[test]
fn many_errors_print_the_first_hundred_and_a_count_with_long_lines_cut() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &with_placeholders(9_000));
    let (run, _) = run_bounded(&sb, &["validate"], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(
        run.stderr.matches("\nerror: placeholder").count() + 1,
        100,
        "{}",
        &run.stderr[..2000]
    );
    assert!(
        run.stderr
            .contains("... and 8,900 more errors not shown (the first 100 are"),
        "{}",
        &run.stderr[run.stderr.len() - 500..]
    );
    // Each error quotes a window of its 171,000-byte line, not the line.
    assert!(
        run.stderr.len() < 100 * 1024,
        "{} bytes of errors",
        run.stderr.len()
    );
    assert!(
        run.stderr.contains("--> score.yaml:8:1892\n"),
        "the hundredth error is located"
    );
}

#[test]
fn a_module_expression_that_grows_without_bound_is_stopped_at_its_line() {
    let sb = Sandbox::new();
    sb.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: busybox\nresources:\n  blob:\n    type: blob\n",
    );
    for value in [
        // 8 GiB of text, by `for` and `join`, and by a template.
        r#"join("", [for a in range(1024) : join("", [for b in range(1024) : join("", [for c in range(1024) : "xxxxxxxx"])])])"#,
        r#""%{for a in range(1024)}%{for b in range(1024)}%{for c in range(1024)}xxxxxxxx%{endfor}%{endfor}%{endfor}""#,
        // A megabyte separator between 1,024 parts.
        r#"join(join("", [for a in range(1024) : format("%1024s", "")]), range(1024))"#,
    ] {
        sb.write(
            "modules/blob.hcl",
            &format!("provisions \"blob\" {{\n  description = \"grows\"\n}}\nresource \"baton_data\" \"b\" {{\n  input = {value}\n}}\n"),
        );
        let (run, took) = run_bounded(&sb, &["plan"], &[]);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(
            run.stderr
                .contains("this expression builds more than 64 MiB of values")
                || run.stderr.contains("more than the"),
            "{}",
            run.stderr
        );
        assert!(run.stderr.contains("modules/blob.hcl:5:"), "{}", run.stderr);
        assert!(took < Duration::from_secs(20), "took {took:?}");
        // Planning opened the state to lock it; nothing was recorded.
        let list = sb.run(&["state", "list"]);
        assert_eq!(list.stdout.trim(), "", "{}", list.transcript());
    }
}

/// 50,000 containers, each waiting for the next (`before`), each entry `entry`.
fn before_chain(entry: &str) -> String {
    let mut text =
        String::from("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n");
    for i in 0..50_000 {
        text.push_str(&format!("  c{i}:\n    image: busybox\n"));
        if i + 1 < 50_000 {
            text.push_str(&format!("    before:\n      c{}: {entry}\n", i + 1));
        }
    }
    text
}

#[test]
fn fifty_thousand_broken_entries_are_reported_in_bounded_time() {
    let sb = Sandbox::new();
    sb.write("score.yaml", &before_chain("{}"));
    let (run, took) = run_bounded(&sb, &["validate"], &[]);
    assert_eq!(run.code, 1, "{}", &run.stderr[..run.stderr.len().min(2000)]);
    assert!(
        run.stderr
            .contains("48999 more schema errors in this file are not reported"),
        "{}",
        &run.stderr[run.stderr.len() - 1500..]
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // The same chain, valid: its `before` relations are searched for a cycle without
    // recursing once per container.
    sb.write("score.yaml", &before_chain("{ready: started}"));
    let (run, _) = run_bounded(&sb, &["validate"], &[]);
    assert_eq!(run.code, 0, "{}", &run.stderr[..run.stderr.len().min(2000)]);
}
