//! Score conformance: every fixture of the shared Score suite (`manifest.json`) run
//! through `baton validate --format json`, compared with its `expect`, `stage` and
//! `error_contains`. Projects (all files of a folder) are validated together.
//!
//! The fixtures are read from `BATON_SCORE_FIXTURES`, else `../shared/score-spec` next to
//! the repository. Without them the suite is reported as *ignored* (not passed).
//! Fixtures of stage `generate` need provisioning (modules, outputs) and are listed as
//! ignored "expected-later" cases; `ambiguous` ones are ignored too (see docs/score.md
//! for the decision baton takes on each).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

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
                });
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

fn main() {
    let args = Arguments::from_args();
    let Some(dir) = fixtures_dir() else {
        eprintln!(
            "score conformance: fixtures not found (set BATON_SCORE_FIXTURES to the score-spec folder); NOT RUN"
        );
        let trial = Trial::test("conformance::fixtures-missing", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![trial]).exit();
    };
    let mut trials = Vec::new();
    for case in cases(&dir) {
        let name = format!("conformance::{}", case.name);
        let later = case.stage.as_deref() == Some("generate");
        let ambiguous = case.expect == "ambiguous";
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
