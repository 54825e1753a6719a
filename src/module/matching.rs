//! Picks the module for a resource: among the modules whose type, class, id and
//! environment match, the most specific wins (an id beats a class beats any; a named
//! environment beats all environments; a project module beats a built-in one). A tie is
//! an error naming both files; no match is an error naming the uid and the types that
//! are available.

use super::Module;
use crate::addr::{Uid, UidScope};
use crate::diag::{Diagnostic, Span, Stage, did_you_mean};

/// How well a module fits, higher is more specific; `None` when it does not fit.
fn fit(m: &Module, uid: &Uid, env: &str) -> Option<(u8, u8, u8)> {
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
    let env_fit = match &p.environments {
        Some(envs) if envs.iter().any(|e| e == env) => 2,
        Some(_) => return None,
        None => 1,
    };
    let origin = match m.origin {
        super::Origin::Project(_) => 2,
        super::Origin::Builtin(_) => 1,
    };
    Some((selector, env_fit, origin))
}

/// The module that provisions `uid` in environment `env`.
pub fn select<'m>(
    modules: &'m [Module],
    uid: &Uid,
    env: &str,
    at: Option<Span>,
) -> Result<&'m Module, Diagnostic> {
    let mut candidates: Vec<((u8, u8, u8), &Module)> = modules
        .iter()
        .filter_map(|m| fit(m, uid, env).map(|f| (f, m)))
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    match candidates.as_slice() {
        [] => {
            let mut types: Vec<&str> = modules
                .iter()
                .filter(|m| {
                    m.provisions
                        .environments
                        .as_ref()
                        .is_none_or(|e| e.iter().any(|x| x == env))
                })
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
            if !same_type.is_empty() {
                d = d.detail(format!(
                    "modules for `{}` exist but do not match its class, id or environment: {}",
                    uid.kind,
                    same_type.join("; ")
                ));
            }
            let hint = did_you_mean(&uid.kind, types.iter().copied())
                .map(|s| format!("did you mean type `{s}`?"))
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
