//! Refresh: read every recorded object through its provider, in parallel (bounded), to
//! see what really exists. Differences are drift. A leftover create intent (a run killed
//! during the call, or a call that failed after the provider may have acted) is looked
//! up with the configuration it was given: if that object exists and nothing recorded
//! stands at its address any more, it is adopted as tainted, so the plan replaces it (or
//! deletes it when no longer desired); if not, the plan creates it. Every leftover intent
//! read this way is *settled*: apply records the adopted objects and clears the rest.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::{Diagnostic, Stage};
use crate::provider::{Attrs, Claim, Owner, Proof, Registry};
use crate::state::{Object, State};
use crate::value::Value;

/// An object changed outside baton.
#[derive(Debug, Clone)]
pub struct Drift {
    /// Address.
    pub address: String,
    /// Kind.
    pub kind: String,
    /// As recorded.
    pub before: Attrs,
    /// As read; `None` when the object is gone.
    pub after: Option<Attrs>,
}

/// What refresh found.
pub struct Refreshed {
    /// Where reading differs from the record: `Some` as the object is now (drifted, or
    /// adopted from an interrupted create), `None` where it vanished. Every other
    /// recorded object is as recorded; [`Now`] gives the whole view without copying the
    /// state.
    pub changed: BTreeMap<String, Option<Object>>,
    /// Objects that differ from their record.
    pub drift: Vec<Drift>,
    /// Addresses of the objects adopted from leftover create intents (in `objects`,
    /// tainted, not recorded yet).
    pub adopted: Vec<String>,
    /// Addresses of the leftover intents this refresh settled: adopted, or with nothing
    /// to adopt (the call never happened, or what it made is what is recorded).
    pub settled: Vec<String>,
    /// Recorded objects of kinds that carry ownership markers, recorded by a baton that
    /// wrote none and found without one: the plan marks them (sorted).
    pub unmarked: Vec<String>,
    /// Objects whose interrupted update had acted before the run stopped: read as they
    /// are now, recorded by the next apply so that the record matches them again.
    pub updated: Vec<Object>,
}

/// The objects as they are now: the record, with what refresh found over it.
#[derive(Clone, Copy)]
pub struct Now<'a> {
    changed: &'a BTreeMap<String, Option<Object>>,
    stored: &'a State,
}

impl<'a> Now<'a> {
    /// The view of `stored` with `changed` over it.
    pub fn new(changed: &'a BTreeMap<String, Option<Object>>, stored: &'a State) -> Now<'a> {
        Now { changed, stored }
    }

    /// The object at `address` as it is now, if it exists.
    pub fn get(&self, address: &str) -> Option<&'a Object> {
        match self.changed.get(address) {
            Some(now) => now.as_ref(),
            None => self.stored.objects.get(address),
        }
    }
}

/// The recorded state taken as is (`--refresh=false`).
pub fn without_refresh(_state: &State) -> Refreshed {
    Refreshed {
        changed: BTreeMap::new(),
        drift: Vec::new(),
        adopted: Vec::new(),
        settled: Vec::new(),
        unmarked: Vec::new(),
        updated: Vec::new(),
    }
}

/// Whether `marker`, found on the object recorded at `address`, is one this state wrote
/// for an address it records no more: the object was moved here. A marker of an address
/// still recorded belongs to that object, and stays another's.
fn moved_here(
    state: &State,
    address: &str,
    marker: &str,
    markers: &mut Option<std::collections::HashSet<String>>,
) -> bool {
    let owner = Owner::new(&state.lineage, address);
    if !owner.same_state(marker) {
        return false;
    }
    let recorded = markers.get_or_insert_with(|| {
        state
            .objects
            .keys()
            .map(|a| Owner::new(&state.lineage, a).marker())
            .collect()
    });
    !recorded.contains(marker)
}

fn differs(a: &Attrs, b: &Attrs) -> bool {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter().any(|k| {
        a.get(k).map(Value::reveal).filter(|v| !v.is_null())
            != b.get(k).map(Value::reveal).filter(|v| !v.is_null())
    })
}

/// Reads `only` (or every object when `None`) through its provider.
pub async fn refresh(
    state: &State,
    registry: &Registry,
    parallelism: usize,
    only: Option<&dyn Fn(&str) -> bool>,
) -> Result<Refreshed, Vec<Diagnostic>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(parallelism.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut objects: BTreeMap<String, Option<Object>> = BTreeMap::new();
    let mut drift = Vec::new();
    let mut errors = Vec::new();
    // Objects found for create intents, adopted once every recorded object is read.
    let mut found: Vec<Object> = Vec::new();
    let mut settled = Vec::new();
    let mut unmarked = Vec::new();
    let mut interrupted_updates: std::collections::BTreeSet<String> = Default::default();
    // The markers of every recorded address, made when first needed.
    let mut markers: Option<std::collections::HashSet<String>> = None;
    for o in state.objects.values() {
        if only.is_some_and(|f| !f(&o.address)) {
            continue;
        }
        let Some(provider) = registry.provider_for(&o.kind) else {
            continue;
        };
        if let Some(exists) = provider.read_recorded(&o.kind, &o.attributes) {
            // Nothing outside baton holds it: decided in place, no task, no copy; an
            // object that exists is as recorded.
            if !exists {
                fold(
                    o,
                    Ok(None),
                    false,
                    &mut objects,
                    &mut drift,
                    &mut errors,
                    &mut found,
                );
            }
            continue;
        }
        let sem = sem.clone();
        let o = o.clone();
        let owner = Owner::new(&state.lineage, &o.address);
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let r = provider.read(&o.kind, &o.attributes).await;
            // The object found under the recorded name must still be baton's.
            let claim = match &r {
                Ok(Some(_)) => Some(provider.claim(&o.kind, &o.attributes, &owner).await),
                _ => None,
            };
            let proof = provider.proof(&o.kind);
            (o, r, false, claim, proof)
        });
    }
    for intent in state.intents.values() {
        // Intents outside `only` may be another run's calls in flight (on workloads this
        // run does not lock), not interrupted ones.
        if only.is_some_and(|f| !f(&intent.address)) {
            continue;
        }
        // An update or a delete acted on a recorded object, which is read above; an
        // update that acted is recorded as read (below).
        if intent.action != "create" {
            settled.push(intent.address.clone());
            if intent.action == "update" {
                interrupted_updates.insert(intent.address.clone());
            }
            continue;
        }
        let Some(provider) = registry.provider_for(&intent.kind) else {
            continue;
        };
        let sem = sem.clone();
        let o = Object {
            address: intent.address.clone(),
            kind: intent.kind.clone(),
            provider: provider.name().to_string(),
            uid: String::new(),
            module: String::new(),
            attributes: std::sync::Arc::new(intent.planned.clone()),
            sensitive: registry
                .schema(&intent.kind)
                .map(|s| s.sensitive_names())
                .unwrap_or_default(),
            dependencies: Vec::new(),
            tainted: true,
            protected: false,
            triggers: None,
            proven: false,
        };
        let owner = Owner::new(&state.lineage, &o.address);
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let r = provider.read(&o.kind, &o.attributes).await;
            // Only what baton can prove it made is adopted: a create refused because the
            // object was someone else's leaves an intent too. Kinds whose system holds
            // no proof are adopted as found (see docs/state.md).
            let claim = match &r {
                Ok(Some(_)) if provider.proof(&o.kind) != Proof::None => {
                    Some(provider.claim(&o.kind, &o.attributes, &owner).await)
                }
                Ok(Some(_)) => Some(Ok(Claim::Ours)),
                _ => None,
            };
            let proof = provider.proof(&o.kind);
            (o, r, true, claim, proof)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((mut o, result, interrupted, claim, proof)) = joined else {
            errors.push(Diagnostic::error(
                Stage::Generate,
                "refresh/internal",
                "internal error: a refresh task panicked",
            ));
            continue;
        };
        if interrupted && matches!(result, Ok(None)) {
            settled.push(o.address.clone());
        }
        match claim {
            None => {}
            Some(Err(e)) => {
                errors.push(Diagnostic::error(
                    Stage::Generate,
                    "refresh/read",
                    format!("cannot refresh {}: {e}", o.address),
                ));
                continue;
            }
            Some(Ok(claim)) if interrupted => {
                if !claim.is_ours() {
                    // Someone else's object under the name: nothing to adopt; the
                    // create is refused again, naming it.
                    settled.push(o.address.clone());
                    continue;
                }
                o.proven = proof != Proof::None;
            }
            Some(Ok(claim)) => {
                // A marker this state wrote for an address it no longer records: the
                // object was moved (`state mv`, a `moved` block). Its new address is
                // marked by the plan, like an object recorded without a marker.
                let moved = matches!(&claim, Claim::Foreign(m)
                    if proof == Proof::Marker && moved_here(state, &o.address, m, &mut markers));
                if moved {
                    unmarked.push(o.address.clone());
                } else if !claim.permits(o.proven) {
                    errors.push(not_ours(&o, &claim));
                    continue;
                }
                if claim == Claim::Unproven && !o.proven && proof == Proof::Marker {
                    unmarked.push(o.address.clone());
                }
            }
        }
        fold(
            &o,
            result,
            interrupted,
            &mut objects,
            &mut drift,
            &mut errors,
            &mut found,
        );
    }
    // The object a create intent made is adopted unless a recorded object still exists
    // at the address: then that is either the same object (read above) or the old one of
    // a create-before-destroy replacement, which the plan replaces again.
    let mut adopted = Vec::new();
    for mut o in found {
        settled.push(o.address.clone());
        if Now::new(&objects, state).get(&o.address).is_none() {
            // In place of a recorded object that vanished: keep what the record knew.
            if let Some(recorded) = state.objects.get(&o.address) {
                o.uid = recorded.uid.clone();
                o.module = recorded.module.clone();
                o.dependencies = recorded.dependencies.clone();
                o.protected = recorded.protected;
            }
            adopted.push(o.address.clone());
            objects.insert(o.address.clone(), Some(o));
        }
    }
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    adopted.sort();
    settled.sort();
    unmarked.sort();
    // An interrupted update that acted: the object as read is what the update made.
    let updated = interrupted_updates
        .iter()
        .filter_map(|a| objects.get(a).cloned().flatten())
        .collect();
    if errors.is_empty() {
        Ok(Refreshed {
            changed: objects,
            drift,
            adopted,
            settled,
            unmarked,
            updated,
        })
    } else {
        Err(errors)
    }
}

/// The refusal of a recorded object that is no longer provably baton's.
fn not_ours(o: &Object, claim: &Claim) -> Diagnostic {
    Diagnostic::error(
        Stage::Generate,
        "refresh/not-ours",
        format!(
            "{}: the {} object found is not the one baton recorded ({})",
            o.address,
            o.kind,
            claim.describe()
        ),
    )
    .detail(
        "it was replaced or re-made outside baton, or belongs to another baton state; baton changes and deletes only objects it can prove it made, so this run changes nothing",
    )
    .help(format!(
        "to manage the object found with baton on purpose: `baton state rm {0}` then `baton import {0} ID`; to keep baton away from it: `baton state rm {0}` and rename the resource",
        o.address
    ))
}

/// Folds the result of reading `o` into the refreshed objects, drift and errors; the
/// object found for a create intent into `found`.
fn fold(
    o: &Object,
    result: Result<Option<Attrs>, crate::provider::ProviderError>,
    interrupted: bool,
    objects: &mut BTreeMap<String, Option<Object>>,
    drift: &mut Vec<Drift>,
    errors: &mut Vec<Diagnostic>,
    found: &mut Vec<Object>,
) {
    match (result, interrupted) {
        (Ok(Some(attrs)), true) => {
            let mut adopted = o.clone();
            adopted.attributes = std::sync::Arc::new(attrs);
            found.push(adopted);
        }
        (Ok(None), true) => {}
        (Ok(Some(attrs)), false) => {
            if differs(&o.attributes, &attrs) {
                let mut now = o.clone();
                now.attributes = std::sync::Arc::new(attrs);
                drift.push(Drift {
                    address: o.address.clone(),
                    kind: o.kind.clone(),
                    before: o.marked_attributes(),
                    after: Some(now.marked_attributes()),
                });
                objects.insert(o.address.clone(), Some(now));
            }
        }
        (Ok(None), false) => {
            drift.push(Drift {
                address: o.address.clone(),
                kind: o.kind.clone(),
                before: o.marked_attributes(),
                after: None,
            });
            objects.insert(o.address.clone(), None);
        }
        (Err(e), _) => errors.push(Diagnostic::error(
            Stage::Generate,
            "refresh/read",
            format!("cannot refresh {}: {e}", o.address),
        )),
    }
}
