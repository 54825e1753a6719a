//! The `serve { … }` block of `baton.hcl`: where `baton serve` keeps its tokens and how
//! often it checks each environment for drift; and the names of the environments the
//! file declares (what the server lists).

use std::path::{Path, PathBuf};
use std::time::Duration;

use hcl_edit::expr::Expression;
use hcl_edit::structure::Body;

use super::STAGE;
use crate::diag::{Diagnostic, FileId, Sources};
use crate::hcl;

/// The settings of `baton serve`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServeConfig {
    /// The token file (relative to the project); default `.baton/tokens`.
    pub tokens: Option<PathBuf>,
    /// How often each environment is checked for drift; `None`: never.
    pub drift_interval: Option<Duration>,
    /// Environments with an interval of their own (`environment "NAME" {
    /// drift_interval = "1m" }` inside `serve`; `"off"`: never).
    pub drift_intervals: std::collections::BTreeMap<String, Option<Duration>>,
}

impl ServeConfig {
    /// How often environment `env` is checked for drift (`None`: never).
    pub fn drift_interval_of(&self, env: &str) -> Option<Duration> {
        self.drift_intervals
            .get(env)
            .copied()
            .unwrap_or(self.drift_interval)
    }
}

const KEYS: &[&str] = &["tokens", "drift_interval"];

/// Checks the `serve` blocks of `body`: at most one, known keys, values that parse.
pub(super) fn check(file: FileId, body: &Body, out: &mut Vec<Diagnostic>) {
    let _ = read(file, body, out);
}

fn read(file: FileId, body: &Body, out: &mut Vec<Diagnostic>) -> ServeConfig {
    let mut config = ServeConfig::default();
    for (i, block) in body
        .blocks()
        .filter(|b| b.ident.as_str() == "serve")
        .enumerate()
    {
        let span = hcl::block_span(file, block);
        if i > 0 {
            out.push(
                Diagnostic::error(STAGE, "config/duplicate", "`serve` is declared twice")
                    .at(span)
                    .help("merge the two blocks"),
            );
            continue;
        }
        hcl::check_keys(
            file,
            &block.body,
            KEYS,
            &["environment"],
            "serve",
            STAGE,
            out,
        );
        for a in block.body.attributes() {
            match a.key.as_str() {
                "tokens" => match &a.value {
                    Expression::String(text) => config.tokens = Some(PathBuf::from(text.as_str())),
                    _ => out.push(
                        Diagnostic::error(STAGE, "config/serve", "`tokens` takes a string")
                            .at(hcl::expr_span(file, &a.value)),
                    ),
                },
                "drift_interval" => config.drift_interval = interval(file, a, out).flatten(),
                _ => {}
            }
        }
        for env in block
            .body
            .blocks()
            .filter(|b| b.ident.as_str() == "environment")
        {
            let labels = hcl::labels(env);
            let [name] = labels.as_slice() else {
                out.push(
                    Diagnostic::error(
                        STAGE,
                        "config/serve",
                        "`environment` takes one label: its name",
                    )
                    .at(hcl::block_span(file, env))
                    .help("write e.g. `environment \"prod\" { drift_interval = \"1m\" }`"),
                );
                continue;
            };
            let what = format!("serve.environment \"{name}\"");
            hcl::check_keys(file, &env.body, &["drift_interval"], &[], &what, STAGE, out);
            if let Some(a) = env.body.get_attribute("drift_interval")
                && let Some(d) = interval(file, a, out)
            {
                config.drift_intervals.insert(name.clone(), d);
            }
        }
    }
    config
}

/// A `drift_interval`: `Some(None)` for `"off"`; `None` after reporting a mistake.
fn interval(
    file: FileId,
    a: &hcl_edit::structure::Attribute,
    out: &mut Vec<Diagnostic>,
) -> Option<Option<Duration>> {
    let at = hcl::expr_span(file, &a.value);
    let help = "write e.g. `drift_interval = \"10m\"`, `\"30s\"`, or `\"off\"`";
    let Expression::String(text) = &a.value else {
        out.push(
            Diagnostic::error(STAGE, "config/serve", "`drift_interval` takes a string")
                .at(at)
                .help(help),
        );
        return None;
    };
    if text.as_str() == "off" {
        return Some(None);
    }
    let why = match humantime::parse_duration(text.as_str()) {
        Ok(d) if d >= Duration::from_secs(1) => return Some(Some(d)),
        Ok(_) => "`drift_interval` is under a second".to_string(),
        Err(e) => format!("`drift_interval` is not a duration: {e}"),
    };
    out.push(
        Diagnostic::error(STAGE, "config/serve", why)
            .at(at)
            .help(help),
    );
    None
}

/// Reads `baton.hcl` in `root` for its `serve` block (defaults without the file).
pub fn serve(root: &Path, sources: &mut Sources, out: &mut Vec<Diagnostic>) -> Option<ServeConfig> {
    let Some((file, body)) = parse(root, sources, out)? else {
        return Some(ServeConfig::default());
    };
    let before = out.len();
    decl_check(file, &body, out);
    let config = read(file, &body, &mut Vec::new());
    (!out[before..].iter().any(Diagnostic::is_error)).then_some(config)
}

/// The environments `baton.hcl` in `root` declares, sorted, with the built-in `local`.
pub fn environment_names(
    root: &Path,
    sources: &mut Sources,
    out: &mut Vec<Diagnostic>,
) -> Option<Vec<String>> {
    let parsed = parse(root, sources, out)?;
    let mut names = vec![super::decl::BUILTIN.to_string()];
    if let Some((file, body)) = parsed {
        let decls = super::decl::declarations(file, &body, out)?;
        names.extend(decls.into_iter().map(|d| d.name));
    }
    names.sort();
    names.dedup();
    Some(names)
}

fn decl_check(file: FileId, body: &Body, out: &mut Vec<Diagnostic>) {
    let _ = super::decl::declarations(file, body, out);
}

/// `baton.hcl` of `root`, parsed (`Some(None)`: there is none).
pub(super) fn parse(
    root: &Path,
    sources: &mut Sources,
    out: &mut Vec<Diagnostic>,
) -> Option<Option<(FileId, Body)>> {
    let path = root.join("baton.hcl");
    if !path.exists() {
        return Some(None);
    }
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            out.push(Diagnostic::error(
                STAGE,
                "config/read",
                format!("cannot read baton.hcl: {e}"),
            ));
            return None;
        }
    };
    let file = sources.add_file("baton.hcl", Some(&path), text);
    match hcl::parse(file, sources.text(file), STAGE) {
        Ok(b) => Some(Some((file, b))),
        Err(d) => {
            out.push(d);
            None
        }
    }
}
