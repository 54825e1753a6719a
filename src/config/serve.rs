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
        hcl::check_keys(file, &block.body, KEYS, &[], "serve", STAGE, out);
        for a in block.body.attributes() {
            let at = hcl::expr_span(file, &a.value);
            let Expression::String(text) = &a.value else {
                if KEYS.contains(&a.key.as_str()) {
                    out.push(
                        Diagnostic::error(
                            STAGE,
                            "config/serve",
                            format!("`{}` takes a string", a.key.as_str()),
                        )
                        .at(at),
                    );
                }
                continue;
            };
            match a.key.as_str() {
                "tokens" => config.tokens = Some(PathBuf::from(text.as_str())),
                "drift_interval" => match humantime::parse_duration(text.as_str()) {
                    Ok(d) if d >= Duration::from_secs(1) => config.drift_interval = Some(d),
                    Ok(_) => out.push(
                        Diagnostic::error(
                            STAGE,
                            "config/serve",
                            "`drift_interval` is under a second",
                        )
                        .at(at)
                        .help("write e.g. `drift_interval = \"10m\"`"),
                    ),
                    Err(e) => out.push(
                        Diagnostic::error(
                            STAGE,
                            "config/serve",
                            format!("`drift_interval` is not a duration: {e}"),
                        )
                        .at(at)
                        .help("write e.g. `drift_interval = \"10m\"` or `\"30s\"`"),
                    ),
                },
                _ => {}
            }
        }
    }
    config
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
