//! Rename hints: deletes and creates that look like a rename, so a plan can show the
//! `moved` block that keeps the objects (and their data) instead. A whole workload whose
//! node is deleted while one other is created; or, in one workload, one uid removed and
//! one added of the same type and module, making objects of the same kinds.

use std::collections::{BTreeMap, BTreeSet};

use super::{Action, Change, Plan, Reason};
use crate::addr::{MoveAddr, Uid, UidScope};

/// The `moved` blocks (from, to) that would turn the plan's deletes and creates into
/// moves, in a fixed order.
pub fn hints(plan: &Plan) -> Vec<(MoveAddr, MoveAddr)> {
    let deleted =
        |c: &&Change| c.action == Action::Delete && c.reason == Reason::NoLongerReferenced;
    let created = |c: &&Change| c.action == Action::Create && c.reason == Reason::New;
    let workload = |c: &Change| crate::addr::workload_of(&c.address).map(str::to_string);
    let gone: Vec<String> = plan
        .changes
        .iter()
        .filter(deleted)
        .filter_map(workload)
        .collect();
    let new: Vec<String> = plan
        .changes
        .iter()
        .filter(created)
        .filter_map(workload)
        .collect();
    let mut out = Vec::new();
    let mut renamed: BTreeSet<&str> = BTreeSet::new();
    if let ([a], [b]) = (gone.as_slice(), new.as_slice()) {
        out.push((MoveAddr::Workload(a.clone()), MoveAddr::Workload(b.clone())));
        renamed.extend([a.as_str(), b.as_str()]);
    }
    // Per workload, per (type, module): the uids removed and added, with the kinds of
    // their objects.
    type Side = BTreeMap<Uid, BTreeSet<String>>;
    let mut sides: BTreeMap<(String, String, String), (Side, Side)> = BTreeMap::new();
    for (is_new, c) in plan
        .changes
        .iter()
        .filter(deleted)
        .map(|c| (false, c))
        .chain(plan.changes.iter().filter(created).map(|c| (true, c)))
    {
        let Some(uid) = Uid::parse(&c.uid) else {
            continue;
        };
        let UidScope::Workload { workload, .. } = &uid.scope else {
            continue;
        };
        if renamed.contains(workload.as_str()) {
            continue;
        }
        let key = (workload.clone(), uid.kind.clone(), c.module.clone());
        let entry = sides.entry(key).or_default();
        let side = if is_new { &mut entry.1 } else { &mut entry.0 };
        side.entry(uid.clone()).or_default().insert(c.kind.clone());
    }
    for (gone, new) in sides.values() {
        if let ([(a, ak)], [(b, bk)]) = (
            gone.iter().collect::<Vec<_>>().as_slice(),
            new.iter().collect::<Vec<_>>().as_slice(),
        ) && ak == bk
        {
            out.push((MoveAddr::Uid((*a).clone()), MoveAddr::Uid((*b).clone())));
        }
    }
    out
}
