//! Plans: what must change, and why, to make the real world match the desired graph.
//!
//! `crate::eval` (the room below) computes desired values node by node (shared with
//! apply, which re-evaluates what was unknown at plan time); `diff` compares them with
//! the refreshed state and decides the action and reason of every object; `file` is
//! the saved-plan format.
//! `renames` finds deletes and creates that look like a rename. The plan decides; apply
//! follows it and never re-decides.

pub mod diff;
pub mod file;
pub mod renames;
pub mod rollback;
pub mod schedule;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::refresh::Drift;
use crate::value::Attrs;

/// What happens to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// Made new.
    Create,
    /// Changed in place.
    Update,
    /// Destroyed and made new (or made new, then the old destroyed).
    Replace,
    /// Destroyed.
    Delete,
    /// Left as it is.
    NoOp,
    /// Recorded at a new address (a `moved` block), the object left as it is but for its
    /// ownership marker, which names the new address.
    Move,
}

impl Action {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::NoOp => "no-op",
            Action::Move => "move",
        }
    }
}

/// Why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Not in state yet.
    New,
    /// These attributes changed in the configuration.
    Changed(Vec<String>),
    /// This force-new attribute changed.
    ForceNew(String),
    /// Reality changed outside baton; the change converges it.
    Drift,
    /// An earlier create failed midway.
    Tainted,
    /// `--replace` asked for it.
    ReplaceRequested,
    /// No workload needs it any more (or `--destroy`).
    NoLongerReferenced,
    /// A value named in `replace_triggered_by` changed.
    ReplaceTriggered,
    /// Recorded by a baton that wrote no ownership markers: the marker is written,
    /// nothing else changes.
    Mark,
    /// Only `prevent_destroy` changed (`true`: set, `false`: lifted): the state records
    /// it; the object is not touched.
    Protection(bool),
    /// A `moved` block took it to this address; nothing else changes.
    Moved,
    /// Nothing to do.
    Unchanged,
}

impl Reason {
    /// Wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Changed(_) => "changed",
            Reason::ForceNew(_) => "force_new",
            Reason::Drift => "drift",
            Reason::Tainted => "tainted",
            Reason::ReplaceRequested => "replace_requested",
            Reason::NoLongerReferenced => "no_longer_referenced",
            Reason::ReplaceTriggered => "replace_triggered",
            Reason::Mark => "mark",
            Reason::Protection(_) => "protection",
            Reason::Moved => "moved",
            Reason::Unchanged => "unchanged",
        }
    }

    /// A sentence for a reviewer.
    pub fn describe(&self) -> String {
        match self {
            Reason::New => "new".into(),
            Reason::Changed(attrs) => format!("changed: {}", attrs.join(", ")),
            Reason::ForceNew(a) => format!("`{a}` changed and forces replacement"),
            Reason::Drift => "changed outside baton".into(),
            Reason::Tainted => "an earlier create did not finish".into(),
            Reason::ReplaceRequested => "replacement requested".into(),
            Reason::NoLongerReferenced => "no longer referenced".into(),
            Reason::ReplaceTriggered => "a value in `replace_triggered_by` changed".into(),
            Reason::Mark => "it carries no marker of this address (recorded before baton marked what it owns, or moved here by `state mv`): its ownership marker is written, nothing else changes".into(),
            Reason::Protection(true) => "`prevent_destroy` set: the state records the protection, the object is not touched".into(),
            Reason::Protection(false) => "`prevent_destroy` lifted: the state records it, the object is not touched".into(),
            Reason::Moved => "moved: it keeps its name and data".into(),
            Reason::Unchanged => "unchanged".into(),
        }
    }
}

/// One object's change.
#[derive(Debug, Clone)]
pub struct Change {
    /// Address.
    pub address: String,
    /// Score uid (empty for workloads).
    pub uid: String,
    /// Kind.
    pub kind: String,
    /// Provider.
    pub provider: String,
    /// Module that declares it.
    pub module: String,
    /// Workloads that need it.
    pub workloads: Vec<String>,
    /// What happens.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// Attributes before (marked), `None` when it does not exist yet. Shared: a no-op
    /// change's before and after, and the value dependents read, are one map.
    pub before: Option<Arc<Attrs>>,
    /// Attributes after (marked, unknowns for values computed at apply), `None` on delete.
    pub after: Option<Arc<Attrs>>,
    /// The configuration the provider is given, as evaluated at plan time (recorded
    /// names kept), with unknowns where a value comes from an object this apply makes or
    /// changes. Apply evaluates again only when it holds unknowns, and then checks the
    /// known values still match. `None` when no provider is called, and for a plan read
    /// from a file.
    pub desired: Option<Arc<Attrs>>,
    /// Addresses of objects it depends on.
    pub depends_on: Vec<String>,
    /// Replace by creating first.
    pub create_before_destroy: bool,
    /// `prevent_destroy` is in force for the object after this change.
    pub protected: bool,
    /// The `replace_triggered_by` values to record.
    pub triggers: Option<serde_json::Value>,
    /// The object holds data that a delete or replace loses: its module says
    /// `stateful = true` and the kind names something outside baton (display only).
    pub stateful: bool,
    /// The address it was recorded at before a `moved` block took it here.
    pub moved_from: Option<String>,
}

/// A whole plan.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Environment.
    pub environment: String,
    /// State lineage the plan is bound to.
    pub lineage: String,
    /// State serial the plan is bound to.
    pub serial: u64,
    /// Changes in schedule order (dependencies first; deletes in reverse dependency order).
    pub changes: Vec<Change>,
    /// Drift found by refresh.
    pub drift: Vec<Drift>,
    /// Whether this is a destroy plan.
    pub destroy: bool,
    /// Leftover intents of interrupted provider calls that refresh settled.
    pub settled: Settled,
    /// The steps apply takes and what each waits for ([`schedule`]); empty when nothing
    /// changes, and for a plan read back from a file, which is only shown.
    pub schedule: schedule::Schedule,
}

/// What refresh found for the intents left by interrupted or failed provider calls;
/// apply records it before anything else (also when nothing else changes).
#[derive(Debug, Clone, Default)]
pub struct Settled {
    /// Objects such calls made, adopted as tainted: the plan replaces or deletes them.
    pub adopted: Vec<crate::state::Object>,
    /// Addresses whose intents are cleared: settled, nothing (more) to adopt.
    pub intents: Vec<String>,
    /// Objects an interrupted update changed before the run stopped, as read now:
    /// recorded, so the record matches the object again (and `drift` is quiet).
    pub updated: Vec<crate::state::Object>,
    /// Objects the `moved` blocks take to a new address: recorded there first.
    pub moved: Vec<crate::state::moves::Move>,
}

impl Settled {
    /// Whether there is nothing to record.
    pub fn is_empty(&self) -> bool {
        self.adopted.is_empty()
            && self.intents.is_empty()
            && self.updated.is_empty()
            && self.moved.is_empty()
    }
}

/// Counts per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Creates.
    pub create: usize,
    /// Updates.
    pub update: usize,
    /// Replaces.
    pub replace: usize,
    /// Deletes.
    pub delete: usize,
    /// Unchanged.
    pub no_op: usize,
    /// Moved to a new address (moved only, or moved and changed).
    pub moved: usize,
}

impl Plan {
    /// Counts per action.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Replace => s.replace += 1,
                Action::Delete => s.delete += 1,
                Action::NoOp => s.no_op += 1,
                Action::Move => {}
            }
            if c.moved_from.is_some() {
                s.moved += 1;
            }
        }
        s
    }

    /// True when applying would change something.
    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::NoOp)
    }

    /// Changes by address.
    pub fn by_address(&self) -> BTreeMap<&str, &Change> {
        self.changes
            .iter()
            .map(|c| (c.address.as_str(), c))
            .collect()
    }
}
