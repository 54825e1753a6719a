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
use crate::plan::Drift;
use crate::provider::{Attrs, Registry};
use crate::state::{Object, State};
use crate::value::Value;

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
    }
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
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let r = provider.read(&o.kind, &o.attributes).await;
            (o, r, false)
        });
    }
    for intent in state.intents.values() {
        // Intents outside `only` may be another run's calls in flight (on workloads this
        // run does not lock), not interrupted ones.
        if only.is_some_and(|f| !f(&intent.address)) {
            continue;
        }
        // An update or a delete acted on a recorded object, which is read above.
        if intent.action != "create" {
            settled.push(intent.address.clone());
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
        };
        tasks.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let r = provider.read(&o.kind, &o.attributes).await;
            (o, r, true)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((o, result, interrupted)) = joined else {
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
    if errors.is_empty() {
        Ok(Refreshed {
            changed: objects,
            drift,
            adopted,
            settled,
        })
    } else {
        Err(errors)
    }
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
