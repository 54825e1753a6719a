//! Rollback notes: what a plan back to an earlier deployment (`plan --at SERIAL`)
//! cannot undo, decided from the plan's changes and the state's history. A returning
//! object that holds data (its module says `stateful = true`, as for the plan's
//! data-loss callout) comes back empty; one deleted or replaced loses its data; objects
//! made since that apply are deleted. Pure: the caller reads the history.

use serde::Serialize;

use super::{Action, Plan};
use crate::state::HistoryEntry;
use crate::state::deployment::DeploymentDiff;

/// What returning to the deployment of `serial` means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollback {
    /// The serial returned to.
    pub serial: u64,
    /// When that apply finished.
    pub at: String,
    /// Who ran it.
    pub who: String,
    /// The configuration that returns: from the latest deployment to that one.
    pub configuration: DeploymentDiff,
    /// Settings that differ but are taken from the current `baton.hcl` (providers,
    /// state, target, and any value stored redacted).
    pub settings_kept: Vec<String>,
    /// Objects that hold data and are made again: they come back empty.
    pub recreated_empty: Vec<Noted>,
    /// Objects that hold data and are deleted or replaced: their data is lost.
    pub data_lost: Vec<Noted>,
    /// Objects made after that apply, which the plan deletes.
    pub created_since: Vec<Noted>,
}

/// An object a rollback note names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Noted {
    /// Address.
    pub address: String,
    /// Kind.
    pub kind: String,
    /// The action the plan takes on it.
    pub action: &'static str,
}

impl Rollback {
    /// Whether something cannot be rolled back (a note to read before applying).
    pub fn has_warnings(&self) -> bool {
        !self.recreated_empty.is_empty() || !self.data_lost.is_empty()
    }
}

/// The objects of `plan` a rollback to `serial` calls out, by the state's `history`:
/// (recreated empty, data lost, created since).
pub fn notes(
    plan: &Plan,
    serial: u64,
    history: &[HistoryEntry],
) -> (Vec<Noted>, Vec<Noted>, Vec<Noted>) {
    let (mut empty, mut lost, mut since) = (Vec::new(), Vec::new(), Vec::new());
    for c in &plan.changes {
        let noted = || Noted {
            address: c.address.clone(),
            kind: c.kind.clone(),
            action: c.action.as_str(),
        };
        match c.action {
            Action::Create if c.stateful => empty.push(noted()),
            Action::Replace if c.stateful => lost.push(noted()),
            Action::Delete => {
                if c.stateful {
                    lost.push(noted());
                }
                // Made after the apply returned to: it did not exist then (its last
                // record at or before that serial, if any, is a delete).
                let then = history
                    .iter()
                    .filter(|h| h.address == c.address && h.serial <= serial)
                    .next_back();
                if then.is_none_or(|h| matches!(h.action.as_str(), "delete" | "rm")) {
                    since.push(noted());
                }
            }
            _ => {}
        }
    }
    (empty, lost, since)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Change, Reason};

    fn change(address: &str, action: Action, stateful: bool) -> Change {
        Change {
            address: address.into(),
            uid: String::new(),
            kind: "k".into(),
            provider: "p".into(),
            module: "m".into(),
            workloads: vec![],
            action,
            reason: Reason::New,
            before: None,
            after: None,
            desired: None,
            moved_from: None,
            depends_on: vec![],
            create_before_destroy: false,
            protected: false,
            triggers: None,
            stateful,
        }
    }

    fn entry(serial: u64, address: &str, action: &str) -> HistoryEntry {
        HistoryEntry {
            serial,
            at: String::new(),
            address: address.into(),
            action: action.into(),
            who: String::new(),
            before: None,
            after: None,
        }
    }

    fn addresses(noted: &[Noted]) -> Vec<&str> {
        noted.iter().map(|n| n.address.as_str()).collect()
    }

    #[test]
    fn each_change_is_noted_by_what_it_does_to_data_and_when_its_object_was_made() {
        let plan = Plan {
            environment: "local".into(),
            lineage: "l".into(),
            serial: 4,
            changes: vec![
                change("db", Action::Create, true),
                change("password", Action::Create, false),
                change("bucket", Action::Replace, true),
                change("role", Action::Update, true),
                change("new_db", Action::Delete, true),
                change("new_file", Action::Delete, false),
                change("old_file", Action::Delete, false),
                change("remade", Action::Delete, false),
            ],
            drift: vec![],
            destroy: false,
            settled: Default::default(),
            schedule: Default::default(),
        };
        let history = [
            entry(1, "old_file", "create"),
            entry(1, "remade", "create"),
            entry(2, "remade", "delete"),
            entry(3, "new_db", "create"),
            entry(3, "new_file", "create"),
            entry(3, "remade", "create"),
        ];
        let (empty, lost, since) = notes(&plan, 2, &history);
        assert_eq!(addresses(&empty), ["db"]);
        assert_eq!(addresses(&lost), ["bucket", "new_db"]);
        assert_eq!(addresses(&since), ["new_db", "new_file", "remade"]);
        // At serial 1, `remade` existed: deleting it now is not "made since".
        let (_, _, since) = notes(&plan, 1, &history);
        assert_eq!(addresses(&since), ["new_db", "new_file"]);
    }
}
