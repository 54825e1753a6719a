//! Scenario tests: small projects under `tests/scenarios/<name>/`, each driven through
//! the real `baton` binary by the commands of its `steps` file, with every plan, drift
//! report and shown plan file snapshotted in text, Markdown and JSON by insta. A change to what a
//! user sees in any of them shows up as a snapshot diff in review.
//!
//! The `steps` format and how to add a scenario are in `tests/scenarios/README.md`.
//! Each scenario is one trial (`cargo test --test scenarios NAME` runs one); trials run
//! in parallel, each in a temporary directory of its own, with local kinds only (or
//! plans that call no server), so they need no service.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use libtest_mimic::{Arguments, Failed, Trial};
use regex::Regex;

/// Replaces what legitimately differs between two runs of one scenario by a fixed
/// token, in every snapshot (stdout and stderr) and in the `steps` transcript. This is
/// the only place output is rewritten: anything else that differs between runs is a
/// nondeterminism of baton's and must fail, not be filtered.
///
/// `project` is the scenario's temporary project directory (it appears in absolute
/// paths: a directory's `absolute_path`, the state file named in a warning).
/// To add a filter, add one `(regex, replacement)` line to `FILTERS`; the regex syntax
/// is the `regex` crate's and the replacement may use `$1`-style groups.
fn normalize(text: &str, project: &Path) -> String {
    const FILTERS: &[(&str, &str)] = &[
        // The state's lineage: a UUID made when the state is created (plan JSON).
        (
            r#""lineage": "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}""#,
            r#""lineage": "[LINEAGE]""#,
        ),
        // baton_data's `id`: a random UUID made at create.
        (
            r#"(\bid"?\s*[:=]\s*)"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}""#,
            r#"$1"[UUID]""#,
        ),
        // A local file's or directory's identity, DEVICE:INODE, recorded at create (`file_id`, `dir_id`).
        (
            r#"((?:file_id|dir_id)"?\s*[:=]\s*)"\d+:\d+""#,
            r#"$1"[DEVICE:INODE]""#,
        ),
        // Instants: RFC 3339 timestamps (`time_sleep` ids, state history).
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[TIMESTAMP]",
        ),
        // Durations of provider calls in progress lines (`Created after 0.1s`).
        (r"after \d+(\.\d+)?s\b", "after [DURATION]"),
        // The suffix of derived physical names (`web-db-3f9a0c1e`): 8 hex digits of the
        // lineage and the uid (`physical_name`, src/naming.rs).
        (r"([a-z0-9][-_.])[0-9a-f]{8}\b", "${1}[SUFFIX]"),
        // random_id's values: random on every create and not sensitive.
        (
            r#"((?:hex|b64_url|b64_std|dec)"?\s*[:=]\s*)"[^"]*""#,
            r#"$1"[RANDOM]""#,
        ),
    ];
    static COMPILED: OnceLock<Vec<(Regex, &str)>> = OnceLock::new();
    let compiled = COMPILED.get_or_init(|| {
        FILTERS
            .iter()
            .map(|(re, to)| (Regex::new(re).expect("a valid filter regex"), *to))
            .collect()
    });
    // The project directory first, under both of its spellings (a temporary directory
    // may be reached through a symbolic link, e.g. /tmp on macOS).
    let mut out = text.to_string();
    let canonical = project.canonicalize().unwrap_or_else(|_| project.into());
    for p in [canonical.as_path(), project] {
        out = out.replace(p.to_str().expect("a UTF-8 temporary path"), "[PROJECT]");
    }
    for (re, to) in compiled {
        out = re.replace_all(&out, *to).into_owned();
    }
    out
}

/// The folder holding the scenarios.
fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

fn main() {
    let args = Arguments::from_args();
    let mut names: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("read tests/scenarios")
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no scenario under tests/scenarios");
    let trials = names
        .into_iter()
        .map(|name| Trial::test(name.clone(), move || run_scenario(&name)))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// One line of a `steps` file.
#[derive(Debug)]
enum Step {
    /// `cp FROM TO`: copy a file of the project.
    Copy(String, String),
    /// `mv FROM TO`: rename a file of the project.
    Move(String, String),
    /// `rm PATH`: remove a file, or a directory with what it holds.
    Remove(String),
    /// `append PATH TEXT`: append TEXT and a newline to a file.
    Append(String, String),
    /// A baton command line, without `baton`.
    Baton(Vec<String>),
}

/// Baton's commands: a step whose first word (after global flags) is one of these is a
/// baton command; anything else must be one of the edits.
const COMMANDS: &[&str] = &[
    "init", "validate", "plan", "apply", "destroy", "drift", "import", "show", "output", "graph",
    "state", "modules",
];

/// Commands whose output is snapshotted, once per format.
const REPORTED: &[&str] = &["plan", "drift", "show"];

/// Formats of a reported step: the `--format` value (none for text) and the snapshot's
/// file extension.
const FORMATS: &[(Option<&str>, &str)] = &[
    (None, "txt"),
    (Some("markdown"), "md"),
    (Some("json"), "json"),
];

/// The `steps` file of a scenario: the `from` folder (if any) and the steps with their
/// line numbers.
struct Steps {
    from: Option<String>,
    steps: Vec<(usize, String, Step)>,
}

fn parse_steps(file: &Path) -> Result<Steps, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    let mut out = Steps {
        from: None,
        steps: Vec::new(),
    };
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |msg: String| format!("{}:{line_no}: {msg}", file.display());
        let words: Vec<&str> = line.split_whitespace().collect();
        let want = |n: usize, usage: &str| {
            if words.len() == n + 1 {
                Ok(())
            } else {
                Err(at(format!("expected `{usage}`, found `{line}`")))
            }
        };
        let step = match words[0] {
            "from" => {
                want(1, "from REPOSITORY_FOLDER")?;
                if !out.steps.is_empty() || out.from.is_some() {
                    return Err(at("`from` must be the first step, and only one".into()));
                }
                out.from = Some(words[1].to_string());
                continue;
            }
            "cp" => want(2, "cp FROM TO").map(|()| Step::Copy(words[1].into(), words[2].into()))?,
            "mv" => want(2, "mv FROM TO").map(|()| Step::Move(words[1].into(), words[2].into()))?,
            "rm" => want(1, "rm PATH").map(|()| Step::Remove(words[1].into()))?,
            "append" => {
                let rest = line["append".len()..].trim_start();
                let (path, text) = rest
                    .split_once(char::is_whitespace)
                    .ok_or_else(|| at("expected `append PATH TEXT`".into()))?;
                Step::Append(path.into(), text.trim_start().into())
            }
            "baton" => {
                return Err(at(
                    "write the command without `baton` (e.g. `plan --destroy`)".into(),
                ));
            }
            _ => {
                let args: Vec<String> = words.iter().map(|w| w.to_string()).collect();
                match command_of(&args) {
                    Some(c) if COMMANDS.contains(&c) => {}
                    _ => {
                        return Err(at(format!(
                            "`{line}` is neither an edit (cp, mv, rm, append) nor a baton \
                             command ({})",
                            COMMANDS.join(", ")
                        )));
                    }
                }
                if REPORTED.contains(&command_of(&args).unwrap_or_default())
                    && args
                        .iter()
                        .any(|a| a == "--format" || a.starts_with("--format="))
                {
                    return Err(at(
                        "a plan, drift or show step is run in every format by itself; leave out --format"
                            .into(),
                    ));
                }
                Step::Baton(args)
            }
        };
        out.steps.push((line_no, line.to_string(), step));
    }
    Ok(out)
}

/// The command word of a baton command line: the first word that is neither a global
/// flag nor the value of one (`--env prod plan` → `plan`).
fn command_of(args: &[String]) -> Option<&str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--env" || a == "-C" {
            it.next();
        } else if !a.starts_with('-') {
            return Some(a);
        }
    }
    None
}

/// A path of the project, refusing one that would leave it.
fn inside(project: &Path, rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if p.is_absolute()
        || p.components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "`{rel}` must be a relative path inside the project"
        ));
    }
    let p = project.join(p);
    // A `*` in the last part stands for what varies between runs (the suffix of a
    // derived name): it must match exactly one entry.
    let Some(pattern) = p
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.contains('*'))
    else {
        return Ok(p);
    };
    let (head, tail) = pattern.split_once('*').expect("contains `*`");
    let dir = p.parent().expect("a file name has a parent");
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("`{rel}`: {e}"))?
        .flatten()
        .map(|e| e.path())
        .filter(|e| {
            e.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.len() >= head.len() + tail.len() && n.starts_with(head) && n.ends_with(tail)
            })
        })
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(format!("`{rel}` matches {} entries, not one", found.len())),
    }
}

fn edit(project: &Path, step: &Step) -> Result<(), String> {
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");
    match step {
        Step::Copy(from, to) => {
            let to = inside(project, to)?;
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io("create folder", e))?;
            }
            std::fs::copy(inside(project, from)?, to).map_err(|e| io("cp", e))?;
        }
        Step::Move(from, to) => {
            std::fs::rename(inside(project, from)?, inside(project, to)?)
                .map_err(|e| io("mv", e))?;
        }
        Step::Remove(path) => {
            let p = inside(project, path)?;
            if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            }
            .map_err(|e| io("rm", e))?;
        }
        Step::Append(path, text) => {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(inside(project, path)?)
                .map_err(|e| io("append", e))?;
            writeln!(f, "{text}").map_err(|e| io("append", e))?;
        }
        Step::Baton(_) => unreachable!("not an edit"),
    }
    Ok(())
}

/// What one run of baton printed and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs baton in the project with a cleared environment: output must not depend on the
/// variables of whoever runs the tests (`baton.hcl` can read them, `NO_COLOR` and
/// `BATON_*` change what is printed).
fn baton(project: &Path, args: &[String]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.current_dir(project)
        .env_clear()
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null());
    if let Some(path) = std::env::var_os("PATH") {
        cmd.env("PATH", path);
    }
    let out = cmd.output().expect("run baton");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Copies a folder into the project, leaving out what a run of baton left there and the
/// scenario's own machinery (`steps`, `snapshots/`).
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("create {}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("read {}: {e}", from.display()))?;
    for e in entries.flatten() {
        let name = e.file_name();
        if [".baton", "deploy", "steps", "snapshots"].contains(&name.to_str().unwrap_or("")) {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if src.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// A snapshot to compare: its name, the command line it shows, and its text.
struct Snapshot {
    name: String,
    description: String,
    text: String,
}

fn run_scenario(name: &str) -> Result<(), Failed> {
    let dir = scenarios_dir().join(name);
    let steps = parse_steps(&dir.join("steps"))?;
    let project = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let project = project.path();
    if let Some(from) = &steps.from {
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join(from), project)?;
    }
    copy_dir(&dir, project)?;

    let mut snapshots = Vec::new();
    let mut transcript = String::new();
    if let Some(from) = &steps.from {
        transcript.push_str(&format!("from {from}\n"));
    }
    let mut reported = 0;
    for (line_no, line, step) in &steps.steps {
        let Step::Baton(args) = step else {
            edit(project, step).map_err(|e| format!("steps:{line_no}: `{line}`: {e}"))?;
            transcript.push_str(&format!("{line}\n"));
            continue;
        };
        let command = command_of(args).unwrap_or_default();
        if !REPORTED.contains(&command) {
            let run = baton(project, args);
            transcript.push_str(&format!("{line}  => exit {}\n", run.code));
            if run.code != 0 {
                transcript.push_str(&indent(&normalize(&run.stderr, project)));
            }
            continue;
        }
        reported += 1;
        let mut codes = Vec::new();
        for (format, ext) in FORMATS {
            let mut args = args.clone();
            if let Some(f) = format {
                args.extend(["--format".to_string(), f.to_string()]);
            }
            let run = baton(project, &args);
            codes.push(run.code.to_string());
            snapshots.push(Snapshot {
                name: format!("{reported:02}-{command}.{ext}"),
                description: format!("baton {} (steps line {line_no})", args.join(" ")),
                text: normalize(
                    &format!(
                        "exit code: {}\n--- stdout\n{}--- stderr\n{}",
                        run.code, run.stdout, run.stderr
                    ),
                    project,
                ),
            });
        }
        transcript.push_str(&format!(
            "{line}  => exit {} (snapshots {reported:02}-{command}.*)\n",
            codes.join("/")
        ));
    }
    snapshots.push(Snapshot {
        name: "steps".into(),
        description: "each step and the exit code of each baton command".into(),
        text: transcript,
    });
    compare(&dir.join("snapshots"), &snapshots)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

/// Asserts every snapshot with insta, all of them even when one differs (so one review
/// shows every change), then checks that no stored snapshot is left that no step makes.
fn compare(snapshot_dir: &Path, snapshots: &[Snapshot]) -> Result<(), Failed> {
    let mut failed = Vec::new();
    for s in snapshots {
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(snapshot_dir);
        settings.set_prepend_module_to_snapshot(false);
        settings.set_description(s.description.clone());
        settings.set_omit_expression(true);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            settings.bind(|| insta::assert_snapshot!(s.name.as_str(), s.text.as_str()))
        }));
        if outcome.is_err() {
            failed.push(s.name.clone());
        }
    }
    let made: BTreeSet<String> = snapshots
        .iter()
        .map(|s| format!("{}.snap", s.name))
        .collect();
    let stale: Vec<String> = std::fs::read_dir(snapshot_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f.ends_with(".snap") && !made.contains(f))
        .collect();
    let mut problems = Vec::new();
    if !failed.is_empty() {
        problems.push(format!(
            "snapshots differ or are new: {} (diffs above; outside CI insta writes each beside \
             its snapshot as NAME.snap.new: `cargo insta review`, or see tests/scenarios/README.md)",
            failed.join(", ")
        ));
    }
    if !stale.is_empty() {
        problems.push(format!(
            "snapshots no step makes any more: {} in {} (delete them)",
            stale.join(", "),
            snapshot_dir.display()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; ").into())
    }
}
