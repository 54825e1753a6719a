//! Moves: recorded objects taken to a new address (`state mv`, `moved` blocks in
//! `baton.hcl`). Only records change; each object keeps its attributes, so its physical
//! name (recorded names win, see `eval`) and its data stay.

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

#[cfg(test)]
mod tests {
    use super::*;

    fn object(address: &str, uid: &str, deps: &[&str]) -> Object {
        Object {
            address: address.into(),
            kind: address
                .rsplit('/')
                .next()
                .unwrap()
                .split('.')
                .next()
                .unwrap()
                .into(),
            provider: "p".into(),
            uid: uid.into(),
            module: "m".into(),
            attributes: Default::default(),
            sensitive: vec![],
            dependencies: deps.iter().map(|d| d.to_string()).collect(),
            tainted: false,
            protected: false,
            triggers: None,
            proven: true,
        }
    }

    fn state(objects: Vec<Object>) -> State {
        State {
            objects: objects
                .into_iter()
                .map(|o| (o.address.clone(), o))
                .collect(),
            ..State::default()
        }
    }

    fn addr(s: &str) -> MoveAddr {
        MoveAddr::parse(s).unwrap()
    }

    #[test]
    fn a_workload_moves_with_its_own_objects_and_their_dependencies() {
        let db = "postgres.default#api.db";
        let s = state(vec![
            object(&format!("{db}/postgres_role.owner"), db, &[]),
            object(
                &format!("{db}/postgres_database.db"),
                db,
                &[&format!("{db}/postgres_role.owner")],
            ),
            object(
                "volume.default#shared/local_directory.data",
                "volume.default#shared",
                &[],
            ),
            object("workload.api", "", &[&format!("{db}/postgres_database.db")]),
        ]);
        let moves = moves(&s, &addr("workload.api"), &addr("workload.web")).unwrap();
        let to: Vec<(&str, &str)> = moves
            .iter()
            .map(|m| (m.from.as_str(), m.object.address.as_str()))
            .collect();
        assert_eq!(
            to,
            [
                (
                    "postgres.default#api.db/postgres_database.db",
                    "postgres.default#web.db/postgres_database.db"
                ),
                (
                    "postgres.default#api.db/postgres_role.owner",
                    "postgres.default#web.db/postgres_role.owner"
                ),
                ("workload.api", "workload.web"),
            ]
        );
        assert_eq!(moves[0].object.uid, "postgres.default#web.db");
        assert_eq!(
            moves[0].object.dependencies,
            ["postgres.default#web.db/postgres_role.owner"]
        );
        let mut taken = s.clone();
        take(&mut taken, &moves);
        assert!(taken.objects.contains_key("workload.web"));
        assert!(!taken.objects.contains_key("workload.api"));
        assert!(
            taken
                .objects
                .contains_key("volume.default#shared/local_directory.data")
        );
        assert_eq!(taken.objects.len(), s.objects.len());
    }

    #[test]
    fn refused_moves_say_why() {
        let mut s = state(vec![
            object("workload.a", "", &[]),
            object("workload.b", "", &[]),
        ]);
        let refused =
            |s: &State, from: &str, to: &str| moves(s, &addr(from), &addr(to)).unwrap_err();
        assert_eq!(refused(&s, "workload.x", "workload.y"), MoveError::Absent);
        assert_eq!(
            refused(&s, "workload.a", "workload.b"),
            MoveError::Exists("workload.b".into())
        );
        assert!(matches!(
            refused(&s, "workload.a", "workload.a"),
            MoveError::Mismatch(_)
        ));
        assert!(matches!(
            refused(&s, "workload.a", "redis.default#a.b"),
            MoveError::Mismatch(_)
        ));
        s.intents.insert(
            "workload.c".into(),
            crate::state::Intent {
                address: "workload.c".into(),
                action: "create".into(),
                kind: "workload_manifests".into(),
                planned: Default::default(),
                started_at: String::new(),
            },
        );
        assert_eq!(
            refused(&s, "workload.a", "workload.c"),
            MoveError::Intent("workload.c".into())
        );
    }
}
