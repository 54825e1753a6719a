//! Score conformance: every fixture of the shared Score suite (`manifest.json`) run
//! through `baton validate --format json`, compared with its `expect`, `stage` and
//! `error_contains`. Projects (all files of a folder) are validated together.
//!
//! The fixtures are read from `BATON_SCORE_FIXTURES`, else `../shared/score-spec` next to
//! the repository. Without them the suite is reported as *ignored* (not passed), and
//! with `CI` set (as `.ci/run` sets it) it fails.
//! Fixtures of stage `generate` need provisioning (modules, outputs) and are listed as
//! ignored "expected-later" cases; `ambiguous` ones are ignored too (see docs/score.md
//! for the decision baton takes on each).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// Whether this runs in CI (`CI` set and not `false`/`0`, as CI services and
/// `.ci/run` set it).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn fixtures_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("BATON_SCORE_FIXTURES") {
        return Some(PathBuf::from(dir));
    }
    let candidate = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/score-spec");
    candidate
        .join("manifest.json")
        .exists()
        .then_some(candidate)
}

#[derive(Clone, Debug)]
struct Case {
    name: String,
    files: Vec<PathBuf>,
    expect: String,
    stage: Option<String>,
    error_contains: Vec<String>,
    default_provisioners_fail: bool,
}

fn cases(dir: &Path) -> Vec<Case> {
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("read manifest.json"),
    )
    .expect("manifest.json is JSON");
    let mut singles = Vec::new();
    let mut projects: BTreeMap<String, Case> = BTreeMap::new();
    for e in manifest["entries"].as_array().expect("entries") {
        let Some(expect) = e["expect"].as_str() else {
            continue;
        };
        let path = e["path"].as_str().unwrap_or_default();
        if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
            continue;
        }
        let stage = e["stage"].as_str().map(str::to_string);
        let notes_fail = e["notes"].as_array().is_some_and(|n| {
            n.iter().any(|x| {
                x.as_str()
                    .is_some_and(|s| s.contains("DEFAULT provisioners"))
            })
        });
        let contains: Vec<String> = e["error_contains"]
            .as_str()
            .map(|s| vec![s.to_string()])
            .unwrap_or_default();
        match e["project"].as_str() {
            Some(project) => {
                let case = projects.entry(project.to_string()).or_insert_with(|| Case {
                    name: format!("project:{project}"),
                    files: Vec::new(),
                    expect: "valid".into(),
                    stage: None,
                    error_contains: Vec::new(),
                    default_provisioners_fail: false,
                });
                case.default_provisioners_fail |= notes_fail;
                case.files.push(dir.join(path));
                if expect != "valid" && case.expect == "valid" {
                    case.expect = expect.to_string();
                    case.stage = stage;
                }
                if expect != "valid" {
                    case.error_contains.extend(contains);
                }
            }
            None => singles.push(Case {
                name: path.to_string(),
                files: vec![dir.join(path)],
                expect: expect.to_string(),
                stage,
                error_contains: contains,
                default_provisioners_fail: notes_fail,
            }),
        }
    }
    singles.extend(projects.into_values());
    singles
}

fn validate(files: &[PathBuf]) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(["--no-color", "validate", "--format", "json"]);
    for f in files {
        cmd.arg("-f").arg(f);
    }
    let out = cmd.output().expect("run baton");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "baton printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let code = out.status.code().unwrap_or(-1);
    let valid = report["valid"].as_bool().unwrap_or(false);
    assert_eq!(
        code,
        if valid { 0 } else { 1 },
        "exit code must agree with `valid`"
    );
    report
}

fn errors(report: &Value) -> Vec<&Value> {
    report["diagnostics"]
        .as_array()
        .map(|a| a.iter().filter(|d| d["severity"] == "error").collect())
        .unwrap_or_default()
}

fn mentions(d: &Value, needle: &str) -> bool {
    ["summary", "pointer", "label"]
        .iter()
        .any(|k| d[k].as_str().is_some_and(|s| s.contains(needle)))
        || d["detail"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x.as_str().is_some_and(|s| s.contains(needle)))
        })
}

fn check(case: &Case) -> Result<(), Failed> {
    let report = validate(&case.files);
    let errs = errors(&report);
    let show = || {
        errs.iter()
            .map(|d| format!("[{}] {} ({})", d["stage"], d["summary"], d["pointer"]))
            .collect::<Vec<_>>()
            .join("\n  ")
    };
    if case.expect == "valid" {
        if !errs.is_empty() {
            return Err(format!("expected valid, baton reported:\n  {}", show()).into());
        }
        return Ok(());
    }
    let stage = case.stage.as_deref().unwrap_or("schema");
    if errs.is_empty() {
        return Err(format!("expected invalid at stage {stage}, baton accepted it").into());
    }
    if !errs.iter().any(|d| d["stage"] == stage) {
        return Err(format!(
            "expected an error of stage {stage}, baton reported:\n  {}",
            show()
        )
        .into());
    }
    for needle in &case.error_contains {
        if !errs.iter().any(|d| mentions(d, needle)) {
            return Err(format!(
                "no error mentions {needle:?}; baton reported:\n  {}",
                show()
            )
            .into());
        }
    }
    Ok(())
}

/// Resource types the built-in library provisions in the `local` environment.
const LOCAL_TYPES: &[&str] = &[
    "amqp",
    "dns",
    "environment",
    "mysql",
    "postgres",
    "redis",
    "route",
    "service-port",
    "volume",
];

/// The resource types a case requests (from `validate --format json`).
fn types_of(case: &Case) -> Vec<String> {
    let report = validate(&case.files);
    let mut t: Vec<String> = report["resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["type"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    t.sort();
    t.dedup();
    t
}

/// Runs `baton plan` on a copy of the case's files in a fresh directory.
fn plan(case: &Case) -> std::process::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args: Vec<String> = vec![
        "--no-color".into(),
        "plan".into(),
        "--image".into(),
        "busybox:1.36".into(),
    ];
    for f in &case.files {
        // Copy the file's folder too: `files.*.source` refers to side files.
        let folder = f.parent().expect("fixture folder");
        for e in std::fs::read_dir(folder)
            .expect("read fixture folder")
            .flatten()
        {
            if e.path().is_file() {
                std::fs::copy(e.path(), dir.path().join(e.file_name())).expect("copy fixture");
            }
        }
        args.push("-f".into());
        args.push(f.file_name().unwrap().to_string_lossy().into_owned());
    }
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .current_dir(dir.path())
        .args(&args)
        .output()
        .expect("run baton plan")
}

fn check_plan(case: &Case) -> Result<(), Failed> {
    let out = plan(case);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if case.expect == "valid" {
        if !out.status.success() {
            return Err(format!("expected the plan to succeed:\n{stderr}").into());
        }
        return Ok(());
    }
    if out.status.success() {
        return Err("expected the plan to fail".into());
    }
    for needle in &case.error_contains {
        if !stderr.contains(needle.as_str()) {
            return Err(format!("the plan failed without mentioning {needle:?}:\n{stderr}").into());
        }
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let Some(dir) = fixtures_dir() else {
        eprintln!(
            "score conformance: fixtures not found (set BATON_SCORE_FIXTURES to the score-spec folder); NOT RUN"
        );
        // On a developer's machine the missing suite is reported as ignored; in CI it
        // fails, so that a green CI run always includes it.
        let trial = if in_ci() {
            Trial::test("conformance::fixtures-missing", || {
                Err("CI is set but the Score fixtures are missing: set BATON_SCORE_FIXTURES to the score-spec folder (with manifest.json)".into())
            })
        } else {
            Trial::test("conformance::fixtures-missing", || Ok(())).with_ignored_flag(true)
        };
        libtest_mimic::run(&args, vec![trial]).exit();
    };
    let cases = cases(&dir);
    assert!(
        !cases.is_empty(),
        "{}: manifest.json lists no Score case",
        dir.display()
    );
    let mut trials = Vec::new();
    for case in cases {
        let name = format!("conformance::{}", case.name);
        let later = case.stage.as_deref() == Some("generate");
        let ambiguous = case.expect == "ambiguous";
        // Planning with the built-in local modules: every valid case whose types they all
        // provide must plan; every generate-stage case whose types they provide must fail
        // with its expected error. Other generate-stage cases need modules of later issues.
        // Valid cases that the manifest notes fail with score-compose's default
        // provisioners (outputs those do not have) and `environment` cases (which read
        // variables this process does not set) are left out: baton rejects them the same
        // way, with a located error.
        let plannable =
            !ambiguous && (case.expect == "valid" || later) && !case.default_provisioners_fail && {
                let types = types_of(&case);
                types.iter().all(|t| LOCAL_TYPES.contains(&t.as_str()))
                    && (later || !types.iter().any(|t| t == "environment"))
            };
        if plannable {
            let c = case.clone();
            trials.push(
                Trial::test(format!("plan::{}", case.name), move || check_plan(&c))
                    .with_kind("plan"),
            );
        }
        if later && plannable {
            continue;
        }
        let kind = if later {
            "expected-later"
        } else if ambiguous {
            "ambiguous"
        } else {
            "score"
        };
        trials.push(
            Trial::test(name, move || check(&case))
                .with_kind(kind)
                .with_ignored_flag(later || ambiguous),
        );
    }
    libtest_mimic::run(&args, trials).exit();
}
