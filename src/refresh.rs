//! Refresh: read every recorded object through its provider, in parallel (bounded), to
//! see what really exists. Differences are drift. An interrupted create (an intent with
//! no recorded object) is looked up with the configuration it was given: if the object
//! exists it is adopted as tainted, so the plan replaces it; if not, the plan creates it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::diag::{Diagnostic, Stage};
use crate::plan::Drift;
use crate::provider::{Attrs, Registry};
use crate::state::{Object, State};
use crate::value::Value;

/// What refresh found.
pub struct Refreshed {
    /// Objects as they are now (vanished ones absent, interrupted creates adopted).
    pub objects: BTreeMap<String, Object>,
    /// Objects that differ from their record.
    pub drift: Vec<Drift>,
}

/// The recorded state taken as is (`--refresh=false`).
pub fn without_refresh(state: &State) -> Refreshed {
    Refreshed {
        objects: state.objects.clone(),
        drift: Vec::new(),
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
    let mut objects = state.objects.clone();
    let mut drift = Vec::new();
    let mut errors = Vec::new();
    for o in state.objects.values() {
        if only.is_some_and(|f| !f(&o.address)) {
            continue;
        }
        let Some(provider) = registry.provider_for(&o.kind) else {
            continue;
        };
        if provider.reads_state_only(&o.kind) {
            // Nothing outside baton holds it: the read is immediate, no task needed.
            let r = provider.read(&o.kind, &o.attributes).await;
            settle(o, r, false, &mut objects, &mut drift, &mut errors);
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
        if intent.action != "create"
            || state.objects.contains_key(&intent.address)
            || only.is_some_and(|f| !f(&intent.address))
        {
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
            attributes: intent.planned.clone(),
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
        settle(
            &o,
            result,
            interrupted,
            &mut objects,
            &mut drift,
            &mut errors,
        );
    }
    drift.sort_by(|a, b| a.address.cmp(&b.address));
    if errors.is_empty() {
        Ok(Refreshed { objects, drift })
    } else {
        Err(errors)
    }
}

/// Folds the result of reading `o` into the refreshed objects, drift and errors.
fn settle(
    o: &Object,
    result: Result<Option<Attrs>, crate::provider::ProviderError>,
    interrupted: bool,
    objects: &mut BTreeMap<String, Object>,
    drift: &mut Vec<Drift>,
    errors: &mut Vec<Diagnostic>,
) {
    match (result, interrupted) {
        (Ok(Some(attrs)), true) => {
            let mut adopted = o.clone();
            adopted.attributes = attrs;
            objects.insert(o.address.clone(), adopted);
        }
        (Ok(None), true) => {}
        (Ok(Some(attrs)), false) => {
            if differs(&o.attributes, &attrs) {
                let mut now = o.clone();
                now.attributes = attrs;
                drift.push(Drift {
                    address: o.address.clone(),
                    kind: o.kind.clone(),
                    before: o.marked_attributes(),
                    after: Some(now.marked_attributes()),
                });
                objects.insert(o.address.clone(), now);
            }
        }
        (Ok(None), false) => {
            drift.push(Drift {
                address: o.address.clone(),
                kind: o.kind.clone(),
                before: o.marked_attributes(),
                after: None,
            });
            objects.remove(&o.address);
        }
        (Err(e), _) => errors.push(Diagnostic::error(
            Stage::Generate,
            "refresh/read",
            format!("cannot refresh {}: {e}", o.address),
        )),
    }
}
