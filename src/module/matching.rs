//! Picks the module for a resource: among the modules whose type, class, id and
//! environment match, the most specific wins (an id beats a class beats any; a module
//! naming the environment beats one naming an environment it extends, nearest first,
//! which beats one for all environments; a project module beats a built-in one). A tie
//! is an error naming both files; no match is an error naming the uid and the types
//! that are available.
//!
//! An environment is given as its lineage: its name, then the environments it extends,
//! nearest first. So `environment "staging" { extends = "local" }` is served by the
//! modules written for `local` unless a module names `staging` itself.

use super::Module;
use crate::addr::{Uid, UidScope};
use crate::diag::{Diagnostic, Span, Stage, did_you_mean};

/// How well a module's `environments` fit an environment of `lineage` (its name, then
/// those it extends, nearest first): higher is closer; `None` when it does not serve it.
fn env_fit(m: &Module, lineage: &[&str]) -> Option<usize> {
    match &m.provisions.environments {
        None => Some(0),
        Some(envs) => lineage
            .iter()
            .position(|e| envs.iter().any(|x| x == e))
            .map(|i| lineage.len() - i),
    }
}

/// Whether a module can serve an environment of `lineage` (its name, then those it
/// extends): what `baton modules list --env NAME` shows.
pub fn serves(m: &Module, lineage: &[&str]) -> bool {
    env_fit(m, lineage).is_some()
}

/// How well a module fits, higher is more specific; `None` when it does not fit.
fn fit(m: &Module, uid: &Uid, lineage: &[&str]) -> Option<(u8, usize, u8)> {
    let p = &m.provisions;
    if p.kind != uid.kind {
        return None;
    }
    let selector = match (&p.id, &p.class) {
        (Some(id), _) => match &uid.scope {
            UidScope::Shared(x) if x == id && p.class.as_ref().is_none_or(|c| *c == uid.class) => 3,
            _ => return None,
        },
        (None, Some(c)) if *c == uid.class => 2,
        (None, Some(_)) => return None,
        (None, None) => 1,
    };
    let env_fit = env_fit(m, lineage)?;
    let origin = match m.origin {
        super::Origin::Project(_) => 2,
        super::Origin::Builtin(_) => 1,
    };
    Some((selector, env_fit, origin))
}

/// The module that provisions `uid` in the environment of `lineage` (its name, then
/// the environments it extends, nearest first).
pub fn select<'m>(
    modules: &'m [Module],
    uid: &Uid,
    lineage: &[&str],
    at: Option<Span>,
) -> Result<&'m Module, Diagnostic> {
    let env = lineage[0];
    let mut candidates: Vec<((u8, usize, u8), &Module)> = modules
        .iter()
        .filter_map(|m| fit(m, uid, lineage).map(|f| (f, m)))
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    match candidates.as_slice() {
        [] => {
            let mut types: Vec<&str> = modules
                .iter()
                .filter(|m| serves(m, lineage))
                .map(|m| m.provisions.kind.as_str())
                .collect();
            types.sort();
            types.dedup();
            let same_type: Vec<String> = modules
                .iter()
                .filter(|m| m.provisions.kind == uid.kind)
                .map(describe)
                .collect();
            let mut d = Diagnostic::error(
                Stage::Generate,
                "module/no-match",
                format!("no module provisions `{uid}` in environment `{env}`"),
            )
            .at(at)
            .label(format!("type `{}`", uid.kind))
            .detail(format!("types available in `{env}`: {}", types.join(", ")));
            if lineage.len() > 1 {
                d = d.detail(format!(
                    "`{env}` is served by modules for: {}",
                    lineage.join(", ")
                ));
            }
            if !same_type.is_empty() {
                d = d.detail(format!(
                    "modules for `{}` exist but do not match its class, id or environment: {}",
                    uid.kind,
                    same_type.join("; ")
                ));
            }
            // Environments whose modules would serve it, for a staging without `extends`.
            let mut served: Vec<&str> = modules
                .iter()
                .filter(|m| m.provisions.kind == uid.kind)
                .flat_map(|m| m.provisions.environments.iter().flatten())
                .map(String::as_str)
                .collect();
            served.sort_unstable();
            served.dedup();
            let extend = (lineage.len() == 1)
                .then(|| served.first())
                .flatten()
                .map(|e| {
                    format!(
                        "modules for `{}` serve {}: let `{env}` extend one (`environment \"{env}\" {{ extends = \"{e}\" }}` in baton.hcl), or add a module with `provisions \"{}\"` to the project's modules/ folder",
                        uid.kind,
                        served.join(", "),
                        uid.kind
                    )
                });
            let hint = did_you_mean(&uid.kind, types.iter().copied())
                .map(|s| format!("did you mean type `{s}`?"))
                .or(extend)
                .unwrap_or_else(|| {
                    format!(
                        "add a module with `provisions \"{}\"` to the project's modules/ folder",
                        uid.kind
                    )
                });
            Err(d.help(hint))
        }
        [(best, m), (second, n), ..] if best == second => Err(Diagnostic::error(
            Stage::Generate,
            "module/ambiguous",
            format!("two modules provision `{uid}` equally well"),
        )
        .at(at)
        .detail(format!(
            "{} and {}",
            m.origin.describe(),
            n.origin.describe()
        ))
        .help("make one more specific (set `class`, `id` or `environments`), or remove one")),
        [(_, m), ..] => Ok(m),
    }
}

fn describe(m: &Module) -> String {
    let p = &m.provisions;
    format!(
        "{} (class {}, id {}, environments {})",
        m.origin.describe(),
        p.class.as_deref().unwrap_or("any"),
        p.id.as_deref().unwrap_or("any"),
        p.environments
            .as_ref()
            .map(|e| e.join(","))
            .unwrap_or_else(|| "all".into())
    )
}
