//! Moves: recorded objects taken to a new address (`state mv`, `moved` blocks in
//! `baton.hcl`). Only records change; each object keeps its attributes, so its physical
//! name (recorded names win, see `plan::eval`) and its data stay.

use std::collections::BTreeMap;

use super::{Object, State};
use crate::addr::MoveAddr;

/// One object to move: where it was recorded, and the record at its new address.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    /// The address it is recorded at now.
    pub from: String,
    /// The record at the new address (its address, uid and dependencies moved).
    pub object: Object,
}

/// Why a move cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoveError {
    /// The two addresses are not of the same kind (the reason).
    Mismatch(String),
    /// Nothing is recorded at FROM.
    Absent,
    /// Something is recorded at this address of TO already.
    Exists(String),
    /// A call that never finished left an intent at this address.
    Intent(String),
}

impl std::fmt::Display for MoveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MoveError::Mismatch(why) => f.write_str(why),
            MoveError::Absent => f.write_str("nothing is recorded there"),
            MoveError::Exists(a) => write!(f, "`{a}` is recorded already"),
            MoveError::Intent(a) => write!(
                f,
                "a call on `{a}` never finished; run `baton plan` to settle it first"
            ),
        }
    }
}

/// The objects of `state` that moving `from` to `to` takes, in address order.
pub fn moves(state: &State, from: &MoveAddr, to: &MoveAddr) -> Result<Vec<Move>, MoveError> {
    if let Some(why) = from.mismatch(to) {
        return Err(MoveError::Mismatch(why));
    }
    if from == to {
        return Err(MoveError::Mismatch("it is the same address".into()));
    }
    let mut renamed: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for o in state.objects.values() {
        if let Some(new) = from.relocate(to, &o.address, &o.uid) {
            renamed.insert(o.address.as_str(), new);
        }
    }
    if renamed.is_empty() {
        return Err(MoveError::Absent);
    }
    for (old, (new, _)) in &renamed {
        if state.objects.contains_key(new) && !renamed.contains_key(new.as_str()) {
            return Err(MoveError::Exists(new.clone()));
        }
        for a in [*old, new.as_str()] {
            if state.intents.contains_key(a) {
                return Err(MoveError::Intent(a.to_string()));
            }
        }
    }
    Ok(renamed
        .iter()
        .map(|(old, (address, uid))| {
            let o = &state.objects[*old];
            let dependencies = o
                .dependencies
                .iter()
                .map(|d| renamed.get(d.as_str()).map_or(d, |(n, _)| n).clone())
                .collect();
            Move {
                from: old.to_string(),
                object: Object {
                    address: address.clone(),
                    uid: uid.clone(),
                    dependencies,
                    ..o.clone()
                },
            }
        })
        .collect())
}

/// Takes `moves` in `state` (in memory): each object leaves its old address for its new
/// one.
pub fn take(state: &mut State, moves: &[Move]) {
    for m in moves {
        state.objects.remove(&m.from);
    }
    for m in moves {
        state
            .objects
            .insert(m.object.address.clone(), m.object.clone());
    }
}
