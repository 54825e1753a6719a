//! Container start order from Score `before` relations, shared by both renderers.
//!
//! Score reads `before` from the declaring container: `D.before = {T: {ready: R}}` means D
//! starts before T, and T starts only once D has reached R (`started`, `healthy` or
//! `complete`). This is how the Score spec proposal and score-compose read it
//! (score-compose turns it into `T.depends_on: {D: condition}`).

use std::collections::{BTreeMap, BTreeSet};

use crate::score::model::Container;

use super::ResolvedContainer;

/// `ready: complete`: the container runs to completion.
pub(crate) const COMPLETE: &str = "complete";
/// `ready: healthy`: the container passes its readiness probe.
pub(crate) const HEALTHY: &str = "healthy";

/// What a container is, given its own `before` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// No `before` entries: a long-running main container.
    Main,
    /// Every entry is `complete`: it runs to completion before the others start.
    Init,
    /// Some entry is `started` or `healthy`: it starts first and keeps running; `healthy`
    /// means the others wait for its readiness probe.
    Sidecar {
        /// Some entry is `healthy`.
        healthy: bool,
    },
}

/// The role of a container (score-compose's `isInitContainer` for [`Role::Init`]).
pub(crate) fn role(c: &Container) -> Role {
    if c.before.is_empty() {
        Role::Main
    } else if c.before.values().all(|b| b.ready == COMPLETE) {
        Role::Init
    } else {
        Role::Sidecar {
            healthy: c.before.values().any(|b| b.ready == HEALTHY),
        }
    }
}

/// Container names in an order where every container comes after the containers that
/// must start before it; ties (and, defensively, a cycle validation should have caught)
/// fall back to name order.
pub(crate) fn start_order(containers: &BTreeMap<String, ResolvedContainer>) -> Vec<&str> {
    // Edges D -> T for each `D.before` entry T that names another known container.
    let mut waits_on: BTreeMap<&str, usize> = containers.keys().map(|n| (n.as_str(), 0)).collect();
    for (d, c) in containers {
        for t in c.spec.before.keys() {
            if t != d
                && let Some(n) = waits_on.get_mut(t.as_str())
            {
                *n += 1;
            }
        }
    }
    let mut ready: BTreeSet<&str> = waits_on
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut out = Vec::with_capacity(containers.len());
    while let Some(d) = ready.pop_first() {
        out.push(d);
        for t in containers[d].spec.before.keys() {
            if t != d
                && let Some(n) = waits_on.get_mut(t.as_str())
                && *n > 0
            {
                *n -= 1;
                if *n == 0 {
                    ready.insert(t.as_str());
                }
            }
        }
    }
    for name in containers.keys() {
        if !out.contains(&name.as_str()) {
            out.push(name);
        }
    }
    out
}

/// The containers `target` waits for, directly or through others (its `before` ancestors).
pub(crate) fn ancestors<'a>(
    containers: &'a BTreeMap<String, ResolvedContainer>,
    target: &str,
) -> BTreeSet<&'a str> {
    let mut found = BTreeSet::new();
    let mut todo = vec![target.to_string()];
    while let Some(t) = todo.pop() {
        for (d, c) in containers {
            if c.spec.before.contains_key(&t) && found.insert(d.as_str()) {
                todo.push(d.clone());
            }
        }
    }
    found
}
