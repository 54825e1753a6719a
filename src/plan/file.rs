//! Saved plans (`plan --out FILE`): a typed, versioned wire format holding the plan's
//! changes and drift as data, the options it was made with and the versions of what it
//! touches, under a SHA-256 digest. No rendering is stored: `show FILE` renders the
//! saved changes with the renderers `plan` uses, and `apply FILE` compares a new plan's
//! changes with the same saved changes, so what a reviewer reads is what apply checks.
//! No secret is stored either: a sensitive value keeps only its marks (null, unknown,
//! the keys of a map) and whether it equals the value at the same place on the other
//! side of its change, which is what the renderings show of it.
//!
//! `apply FILE` checks the state's lineage and the version of every object the plan
//! touches (the serial of the apply that last wrote it, or none when absent): runs on
//! other workloads move the global serial without making the plan stale, but anything
//! the plan touches that moved does. It then plans again from the same inputs and
//! refuses unless the new plan's changes equal the saved ones. Secrets, which the file
//! never holds, come from the state and configuration again, and a plan made stale by a
//! change of inputs or of the real world is never applied.
//!
//! This module does no I/O: the command line reads and writes the bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::diff::PlanOptions;
use super::{Action, Change, Drift, Plan, Reason, Settled};
use crate::value::Attrs;
use crate::value::{SENSITIVE_TEXT, Value};

/// The version of the plan-file format (3: typed changes under a digest, no renderings;
/// 4: moves, the `move` action and a change's `moved_from`; files of earlier versions
/// are refused).
pub const VERSION: u64 = 4;

/// Object versions a plan was made against: address → serial of its last write, `None`
/// when the object was not in the state.
pub type Versions = BTreeMap<String, Option<u64>>;

/// Why a plan file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// The bytes are not a plan file of any version.
    #[error("{path} is not a baton plan file: {source}")]
    NotAPlanFile {
        /// The file.
        path: PathBuf,
        /// What the JSON reader said.
        source: serde_json::Error,
    },
    /// A file of an earlier format, which this baton does not read.
    #[error(
        "the plan file {path} was made by an older baton (plan file version {version}, this baton reads version {VERSION}); make a new plan with `baton plan --out {path}`"
    )]
    Older {
        /// The file.
        path: PathBuf,
        /// Its format version.
        version: u64,
    },
    /// A file of a later format.
    #[error(
        "the plan file {path} was made by a newer baton (plan file version {version}, this baton reads version {VERSION}); apply it with that baton, or make a new plan with `baton plan --out {path}`"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// Its format version.
        version: u64,
    },
    /// The file is not what baton wrote: its digest does not match, or it no longer
    /// has the shape of a plan file of its version.
    #[error(
        "the plan file {path} was modified after it was written ({why}); make a new plan with `baton plan --out {path}`"
    )]
    Modified {
        /// The file.
        path: PathBuf,
        /// What gave it away.
        why: String,
    },
}

/// A saved plan: everything `show` renders and `apply` checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    /// Environment.
    pub environment: String,
    /// Lineage of the state it is bound to.
    pub lineage: String,
    /// Serial of the state when it was made.
    pub serial: u64,
    /// Versions of the objects it touches.
    pub versions: Versions,
    /// Options it was made with (apply plans again with them).
    pub options: SavedOptions,
    /// Changes in schedule order.
    pub changes: Vec<SavedChange>,
    /// Drift found by the refresh before it.
    pub drift: Vec<SavedDrift>,
}

/// [`PlanOptions`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedOptions {
    /// A `--destroy` plan.
    pub destroy: bool,
    /// `--target` addresses.
    pub targets: Vec<String>,
    /// `--replace` addresses.
    pub replace: Vec<String>,
    /// The workloads of a run narrowed with `-f`.
    pub workloads: Option<Vec<String>>,
    /// `--at SERIAL`: planned from the configuration that apply recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<u64>,
}

/// One object's [`Change`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedChange {
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
    pub action: SavedAction,
    /// Why.
    pub reason: SavedReason,
    /// Attributes before, absent when the object does not exist yet.
    pub before: Option<SavedAttrs>,
    /// Attributes after, absent on delete.
    pub after: Option<SavedAttrs>,
    /// Addresses of objects it depends on.
    pub depends_on: Vec<String>,
    /// A replace creates the new object first.
    pub create_before_destroy: bool,
    /// `prevent_destroy` is in force after the change.
    pub protected: bool,
    /// Its data is lost by a delete or replace (see [`Change::stateful`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stateful: bool,
    /// The address a `moved` block took it from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<String>,
}

/// One object's [`Drift`] on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedDrift {
    /// Address.
    pub address: String,
    /// Kind.
    pub kind: String,
    /// As recorded.
    pub before: SavedAttrs,
    /// As read; absent when the object is gone.
    pub after: Option<SavedAttrs>,
}

/// [`Action`] on the wire (the plan JSON's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SavedAction {
    /// Made new.
    Create,
    /// Changed in place.
    Update,
    /// Destroyed and made new.
    Replace,
    /// Destroyed.
    Delete,
    /// Left as it is.
    NoOp,
    /// Recorded at a new address.
    Move,
}

/// [`Reason`] on the wire (the plan JSON's names; the attribute names as data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavedReason {
    /// Not in state yet.
    New,
    /// These attributes changed.
    Changed(Vec<String>),
    /// This force-new attribute changed.
    ForceNew(String),
    /// The change converges a change made outside baton.
    Drift,
    /// An earlier create did not finish.
    Tainted,
    /// `--replace` asked for it.
    ReplaceRequested,
    /// No workload needs it any more (or `--destroy`).
    NoLongerReferenced,
    /// A value named in `replace_triggered_by` changed.
    ReplaceTriggered,
    /// An object recorded before baton wrote ownership markers gets its marker.
    Mark,
    /// Only `prevent_destroy` changed (to this value).
    Protection(bool),
    /// A `moved` block took it to its address.
    Moved,
    /// Nothing to do.
    Unchanged,
}

/// Attributes on the wire, by name.
pub type SavedAttrs = BTreeMap<String, SavedValue>;

/// A [`Value`] on the wire, marks kept and secrets withheld. Everything under
/// `Sensitive` is a secret's: its maps keep their keys (the Markdown rendering names
/// the entries of a manifest map that changed), null and unknown stay what they are,
/// and every other value is `Withheld`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SavedValue {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(serde_json::Number),
    /// A string.
    String(String),
    /// A list.
    List(Vec<SavedValue>),
    /// A map, ordered by key.
    Map(BTreeMap<String, SavedValue>),
    /// Not known until apply.
    Unknown,
    /// A secret (its value is withheld below).
    Sensitive(Box<SavedValue>),
    /// A secret's value, not stored.
    Withheld {
        /// It equals the value at the same place on the other side of the change (the
        /// renderings show a secret as changed or not, and nothing more).
        same: bool,
        /// Part of it is not known until apply.
        unknown: bool,
    },
}

/// The file: the format version, the digest, and the plan the digest covers.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    baton_plan_file: u64,
    digest: String,
    plan: SavedPlan,
}

/// Only the version, read first so files of other versions get a message of their own.
#[derive(Deserialize)]
struct Probe {
    baton_plan_file: u64,
}

/// The versions, in `state_versions`, of every object `plan` touches.
pub fn versions_of(plan: &Plan, state_versions: &BTreeMap<String, u64>) -> Versions {
    plan.changes
        .iter()
        .flat_map(|c| std::iter::once(&c.address).chain(&c.moved_from))
        .map(|a| (a.clone(), state_versions.get(a).copied()))
        .collect()
}

/// The objects whose version moved since a plan recorded `saved`: one line each.
pub fn moved(saved: &Versions, now: &BTreeMap<String, u64>) -> Vec<String> {
    let at = |v: Option<u64>| match v {
        Some(s) => format!("written at serial {s}"),
        None => "absent".to_string(),
    };
    saved
        .iter()
        .filter(|(a, v)| now.get(*a).copied() != **v)
        .map(|(a, v)| {
            format!(
                "{a}: {} when planned, now {}",
                at(*v),
                at(now.get(a).copied())
            )
        })
        .collect()
}

impl SavedPlan {
    /// The saved form of `plan`, made with `opts` against `versions`.
    pub fn new(plan: &Plan, opts: &PlanOptions, versions: Versions) -> SavedPlan {
        SavedPlan {
            environment: plan.environment.clone(),
            lineage: plan.lineage.clone(),
            serial: plan.serial,
            versions,
            options: SavedOptions {
                destroy: opts.destroy,
                targets: opts.targets.clone(),
                replace: opts.replace.clone(),
                workloads: opts.workloads.clone(),
                at: opts.at,
            },
            changes: plan.changes.iter().map(SavedChange::new).collect(),
            drift: plan
                .drift
                .iter()
                .map(|d| SavedDrift {
                    address: d.address.clone(),
                    kind: d.kind.clone(),
                    before: attrs(&d.before, d.after.as_ref()),
                    after: d.after.as_ref().map(|a| attrs(a, Some(&d.before))),
                })
                .collect(),
        }
    }

    /// The bytes of the plan file (pretty JSON).
    pub fn to_bytes(&self) -> Vec<u8> {
        let doc = Document {
            baton_plan_file: VERSION,
            digest: digest(self),
            plan: self.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&doc).expect("a saved plan serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Reads a plan file's bytes (`path` names it in errors), refusing files of other
    /// versions and files whose digest does not match their plan.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<SavedPlan, PlanFileError> {
        let path = path.to_path_buf();
        let version = serde_json::from_slice::<Probe>(bytes)
            .map_err(|source| PlanFileError::NotAPlanFile {
                path: path.clone(),
                source,
            })?
            .baton_plan_file;
        if version < VERSION {
            return Err(PlanFileError::Older { path, version });
        }
        if version > VERSION {
            return Err(PlanFileError::Newer { path, version });
        }
        // baton always writes a file that reads back: one that does not was edited (or
        // cut short), and says so rather than how it fails to parse only.
        let doc: Document = serde_json::from_slice(bytes).map_err(|e| PlanFileError::Modified {
            path: path.clone(),
            why: format!("it no longer reads as a plan file: {e}"),
        })?;
        if doc.digest != digest(&doc.plan) {
            return Err(PlanFileError::Modified {
                path,
                why: "digest mismatch".into(),
            });
        }
        Ok(doc.plan)
    }

    /// The options to plan again with.
    pub fn options(&self) -> PlanOptions {
        PlanOptions {
            destroy: self.options.destroy,
            targets: self.options.targets.clone(),
            replace: self.options.replace.clone(),
            workloads: self.options.workloads.clone(),
            at: self.options.at,
        }
    }

    /// The plan to render: the saved changes and drift as [`Plan`] values, rendered by
    /// the same code as a fresh plan. Secrets are placeholders that compare with each
    /// other as the real values did, so every rendering shows the same lines; nothing in
    /// it can be applied (it has no settled intents and no trigger values).
    pub fn plan(&self) -> Plan {
        Plan {
            environment: self.environment.clone(),
            lineage: self.lineage.clone(),
            serial: self.serial,
            changes: self.changes.iter().map(SavedChange::to_change).collect(),
            drift: self
                .drift
                .iter()
                .map(|d| {
                    let (before, after) = pair_attrs(Some(&d.before), d.after.as_ref());
                    Drift {
                        address: d.address.clone(),
                        kind: d.kind.clone(),
                        before: before.unwrap_or_default(),
                        after,
                    }
                })
                .collect(),
            destroy: self.options.destroy,
            settled: Settled::default(),
            schedule: Default::default(),
        }
    }

    /// The first difference between the saved changes and `now`'s, in words, or `None`
    /// when they are equal. Objects found changed outside baton since the plan was made
    /// (drift the plan did not see) are named after it: they are usually why.
    pub fn first_difference(&self, now: &Plan) -> Option<String> {
        let now_changes: Vec<SavedChange> = now.changes.iter().map(SavedChange::new).collect();
        let first = self
            .changes
            .iter()
            .zip(&now_changes)
            .find(|(saved, new)| saved != new)
            .map(|(saved, new)| {
                if saved.address != new.address {
                    format!(
                        "at this step the plan has `{}` {}, but now `{}` would be {}",
                        saved.address,
                        done(saved),
                        new.address,
                        done(new)
                    )
                } else if (saved.action, &saved.reason) != (new.action, &new.reason) {
                    let planned = if saved.action == SavedAction::NoOp {
                        "the plan leaves it as it is".to_string()
                    } else {
                        format!("the plan has it {}", done(saved))
                    };
                    format!("`{}` would now be {}; {planned}", new.address, done(new))
                } else {
                    let attrs = differing(saved.after.as_ref(), new.after.as_ref());
                    let what = if attrs.is_empty() {
                        "other dependencies".to_string()
                    } else {
                        format!("other values of {}", attrs.join(", "))
                    };
                    format!(
                        "`{}` would still be {}, but with {what}",
                        new.address,
                        done(new)
                    )
                }
            })
            .or_else(|| {
                (self.changes.len() != now_changes.len()).then(|| {
                    let (longer, shorter, verb) = if now_changes.len() > self.changes.len() {
                        (&now_changes, &self.changes, "now also")
                    } else {
                        (&self.changes, &now_changes, "no longer")
                    };
                    let extra = &longer[shorter.len()];
                    format!(
                        "{} changes were planned, {} would be made now: `{}` would {verb} be {}",
                        self.changes.len(),
                        now_changes.len(),
                        extra.address,
                        done(extra)
                    )
                })
            })?;
        let seen: std::collections::BTreeSet<&str> =
            self.drift.iter().map(|d| d.address.as_str()).collect();
        let drifted: Vec<String> = now
            .drift
            .iter()
            .filter(|d| !seen.contains(d.address.as_str()))
            .map(|d| match &d.after {
                None => format!("`{}` was deleted", d.address),
                Some(after) => {
                    let keys: std::collections::BTreeSet<&String> =
                        d.before.keys().chain(after.keys()).collect();
                    let changed: Vec<&str> = keys
                        .into_iter()
                        .filter(|k| {
                            d.before.get(*k).map(Value::reveal) != after.get(*k).map(Value::reveal)
                        })
                        .map(String::as_str)
                        .collect();
                    format!("`{}` changed ({})", d.address, changed.join(", "))
                }
            })
            .collect();
        Some(if drifted.is_empty() {
            first
        } else {
            format!(
                "{first}; changed outside baton since the plan was made: {}",
                drifted.join(", ")
            )
        })
    }
}

/// What a saved change does to its object, in words: "deleted (no longer referenced)".
fn done(c: &SavedChange) -> String {
    let reason = Reason::from(c.reason.clone());
    let participle = match c.action {
        SavedAction::Create => "created",
        SavedAction::Update => "changed in place",
        SavedAction::Replace => "replaced",
        SavedAction::Delete => "deleted",
        SavedAction::NoOp => return "left as it is".into(),
        SavedAction::Move => {
            return format!(
                "moved from `{}`",
                c.moved_from.as_deref().unwrap_or_default()
            );
        }
    };
    match reason {
        Reason::New => participle.to_string(),
        other => format!("{participle} ({})", other.describe()),
    }
}

/// The names of the attributes whose saved values differ between two sides.
fn differing(a: Option<&SavedAttrs>, b: Option<&SavedAttrs>) -> Vec<String> {
    let empty = SavedAttrs::new();
    let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// The digest of a plan: SHA-256 of its canonical form, compact JSON with keys sorted.
fn digest(plan: &SavedPlan) -> String {
    let canonical = serde_json::to_value(plan)
        .and_then(|v| serde_json::to_vec(&v))
        .expect("a saved plan serializes");
    format!("sha256:{}", hex::encode(Sha256::digest(&canonical)))
}

impl SavedChange {
    fn new(c: &Change) -> SavedChange {
        SavedChange {
            address: c.address.clone(),
            uid: c.uid.clone(),
            kind: c.kind.clone(),
            provider: c.provider.clone(),
            module: c.module.clone(),
            workloads: c.workloads.clone(),
            action: c.action.into(),
            reason: c.reason.clone().into(),
            before: c.before.as_deref().map(|b| attrs(b, c.after.as_deref())),
            after: c.after.as_deref().map(|a| attrs(a, c.before.as_deref())),
            depends_on: c.depends_on.clone(),
            create_before_destroy: c.create_before_destroy,
            protected: c.protected,
            stateful: c.stateful,
            moved_from: c.moved_from.clone(),
        }
    }

    fn to_change(&self) -> Change {
        let (before, after) = pair_attrs(self.before.as_ref(), self.after.as_ref());
        Change {
            address: self.address.clone(),
            uid: self.uid.clone(),
            kind: self.kind.clone(),
            provider: self.provider.clone(),
            module: self.module.clone(),
            workloads: self.workloads.clone(),
            action: self.action.into(),
            reason: self.reason.clone().into(),
            before: before.map(Arc::new),
            after: after.map(Arc::new),
            desired: None,
            depends_on: self.depends_on.clone(),
            create_before_destroy: self.create_before_destroy,
            protected: self.protected,
            triggers: None,
            stateful: self.stateful,
            moved_from: self.moved_from.clone(),
        }
    }
}

impl From<Action> for SavedAction {
    fn from(a: Action) -> SavedAction {
        match a {
            Action::Create => SavedAction::Create,
            Action::Update => SavedAction::Update,
            Action::Replace => SavedAction::Replace,
            Action::Delete => SavedAction::Delete,
            Action::NoOp => SavedAction::NoOp,
            Action::Move => SavedAction::Move,
        }
    }
}

impl From<SavedAction> for Action {
    fn from(a: SavedAction) -> Action {
        match a {
            SavedAction::Create => Action::Create,
            SavedAction::Update => Action::Update,
            SavedAction::Replace => Action::Replace,
            SavedAction::Delete => Action::Delete,
            SavedAction::NoOp => Action::NoOp,
            SavedAction::Move => Action::Move,
        }
    }
}

impl From<Reason> for SavedReason {
    fn from(r: Reason) -> SavedReason {
        match r {
            Reason::New => SavedReason::New,
            Reason::Changed(a) => SavedReason::Changed(a),
            Reason::ForceNew(a) => SavedReason::ForceNew(a),
            Reason::Drift => SavedReason::Drift,
            Reason::Tainted => SavedReason::Tainted,
            Reason::ReplaceRequested => SavedReason::ReplaceRequested,
            Reason::NoLongerReferenced => SavedReason::NoLongerReferenced,
            Reason::ReplaceTriggered => SavedReason::ReplaceTriggered,
            Reason::Mark => SavedReason::Mark,
            Reason::Protection(p) => SavedReason::Protection(p),
            Reason::Moved => SavedReason::Moved,
            Reason::Unchanged => SavedReason::Unchanged,
        }
    }
}

impl From<SavedReason> for Reason {
    fn from(r: SavedReason) -> Reason {
        match r {
            SavedReason::New => Reason::New,
            SavedReason::Changed(a) => Reason::Changed(a),
            SavedReason::ForceNew(a) => Reason::ForceNew(a),
            SavedReason::Drift => Reason::Drift,
            SavedReason::Tainted => Reason::Tainted,
            SavedReason::ReplaceRequested => Reason::ReplaceRequested,
            SavedReason::NoLongerReferenced => Reason::NoLongerReferenced,
            SavedReason::ReplaceTriggered => Reason::ReplaceTriggered,
            SavedReason::Mark => Reason::Mark,
            SavedReason::Protection(p) => Reason::Protection(p),
            SavedReason::Moved => Reason::Moved,
            SavedReason::Unchanged => Reason::Unchanged,
        }
    }
}

/// The saved form of one side of a change; `other` is the other side, which a
/// withheld secret is compared with.
fn attrs(side: &Attrs, other: Option<&Attrs>) -> SavedAttrs {
    side.iter()
        .map(|(k, v)| (k.clone(), save(v, other.and_then(|o| o.get(k)))))
        .collect()
}

/// The saved form of `v`; `other` is the value at the same place on the other side.
fn save(v: &Value, other: Option<&Value>) -> SavedValue {
    match v {
        Value::Null => SavedValue::Null,
        Value::Bool(b) => SavedValue::Bool(*b),
        Value::Number(n) => SavedValue::Number(n.clone()),
        Value::String(s) => SavedValue::String(s.clone()),
        Value::List(items) => SavedValue::List(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| save(x, other.and_then(Value::as_list).and_then(|l| l.get(i))))
                .collect(),
        ),
        Value::Map(m) => SavedValue::Map(
            m.iter()
                .map(|(k, x)| {
                    let o = other.and_then(Value::as_map).and_then(|m| m.get(k));
                    (k.clone(), save(x, o))
                })
                .collect(),
        ),
        Value::Unknown => SavedValue::Unknown,
        Value::Sensitive(inner) => SavedValue::Sensitive(Box::new(withhold(inner, other))),
    }
}

/// The saved form of a secret's value `v`: what the renderings look at, nothing more.
fn withhold(v: &Value, other: Option<&Value>) -> SavedValue {
    match v {
        // One mark says it all: nested marks render and compare as one.
        Value::Sensitive(inner) => withhold(inner, other),
        Value::Null => SavedValue::Null,
        Value::Unknown => SavedValue::Unknown,
        Value::Map(m) => SavedValue::Map(
            m.iter()
                .map(|(k, x)| {
                    let o = other.and_then(Value::as_map).and_then(|m| m.get(k));
                    (k.clone(), withhold(x, o))
                })
                .collect(),
        ),
        _ => SavedValue::Withheld {
            same: other.is_some_and(|o| o.reveal() == v.reveal()),
            unknown: v.contains_unknown(),
        },
    }
}

/// Both sides of a change back as values. Each withheld secret becomes a placeholder
/// that equals the other side's value at its place exactly when the secret did, so
/// every comparison a renderer makes (revealed equality, null, unknown) comes out as it
/// did for the real values.
fn pair_attrs(
    before: Option<&SavedAttrs>,
    after: Option<&SavedAttrs>,
) -> (Option<Attrs>, Option<Attrs>) {
    let keys: BTreeSet<&String> = before
        .into_iter()
        .flat_map(|m| m.keys())
        .chain(after.into_iter().flat_map(|m| m.keys()))
        .collect();
    let (mut b, mut a) = (Attrs::new(), Attrs::new());
    for k in keys {
        let (x, y) = pair(before.and_then(|m| m.get(k)), after.and_then(|m| m.get(k)));
        if let Some(x) = x {
            b.insert(k.clone(), x);
        }
        if let Some(y) = y {
            a.insert(k.clone(), y);
        }
    }
    (before.map(|_| b), after.map(|_| a))
}

fn pair(b: Option<&SavedValue>, a: Option<&SavedValue>) -> (Option<Value>, Option<Value>) {
    match (b, a) {
        (Some(b), Some(a)) => {
            let (b, a) = both(b, a);
            (Some(b), Some(a))
        }
        (b, a) => (b.map(alone), a.map(alone)),
    }
}

/// The values at one place of both sides.
fn both(b: &SavedValue, a: &SavedValue) -> (Value, Value) {
    use SavedValue as S;
    match (b, a) {
        (S::Sensitive(b), a) => {
            let (b, a) = both(b, a);
            (Value::Sensitive(Box::new(b)), a)
        }
        (b, S::Sensitive(a)) => {
            let (b, a) = both(b, a);
            (b, Value::Sensitive(Box::new(a)))
        }
        (S::Withheld { same, unknown }, a) => {
            let a = alone(a);
            (placeholder(Some(&a), *same, *unknown), a)
        }
        (b, S::Withheld { same, unknown }) => {
            let b = alone(b);
            let a = placeholder(Some(&b), *same, *unknown);
            (b, a)
        }
        (S::Map(b), S::Map(a)) => {
            let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            let (mut bm, mut am) = (crate::value::Map::new(), crate::value::Map::new());
            for k in keys {
                let (x, y) = pair(b.get(k), a.get(k));
                if let Some(x) = x {
                    bm.insert(k.clone(), x);
                }
                if let Some(y) = y {
                    am.insert(k.clone(), y);
                }
            }
            (Value::Map(bm), Value::Map(am))
        }
        (S::List(b), S::List(a)) => {
            let (mut bl, mut al) = (Vec::new(), Vec::new());
            for i in 0..b.len().max(a.len()) {
                let (x, y) = pair(b.get(i), a.get(i));
                bl.extend(x);
                al.extend(y);
            }
            (Value::List(bl), Value::List(al))
        }
        (b, a) => (alone(b), alone(a)),
    }
}

/// A value with nothing on the other side to compare with.
fn alone(v: &SavedValue) -> Value {
    match v {
        SavedValue::Null => Value::Null,
        SavedValue::Bool(b) => Value::Bool(*b),
        SavedValue::Number(n) => Value::Number(n.clone()),
        SavedValue::String(s) => Value::String(s.clone()),
        SavedValue::List(items) => Value::List(items.iter().map(alone).collect()),
        SavedValue::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), alone(x))).collect()),
        SavedValue::Unknown => Value::Unknown,
        SavedValue::Sensitive(inner) => Value::Sensitive(Box::new(alone(inner))),
        SavedValue::Withheld { unknown, .. } => placeholder(None, false, *unknown),
    }
}

/// A stand-in for a withheld secret: the other side's value (revealed) when the secret
/// equalled it, else a value that differs from it and is unknown in part exactly when
/// the secret was. It is never a map or a multi-line string, as the secret was not.
fn placeholder(other: Option<&Value>, same: bool, unknown: bool) -> Value {
    let other = other.map(Value::reveal);
    match other {
        Some(o) if same => o,
        other => {
            let base = if unknown {
                Value::List(vec![Value::Unknown])
            } else {
                Value::string(SENSITIVE_TEXT)
            };
            if other.as_ref() == Some(&base) {
                Value::List(vec![base])
            } else {
                base
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::diff::differs;

    fn s(x: &str) -> Value {
        Value::string(x)
    }

    fn secret(v: Value) -> Value {
        Value::sensitive(v)
    }

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    /// Saves a pair of values as the two sides of a change and reads them back.
    fn round_trip(b: &Value, a: &Value) -> (Value, Value) {
        let (b2, a2) = both(&save(b, Some(a)), &save(a, Some(b)));
        (b2, a2)
    }

    /// What the renderers look at, at one place: equality (as `differs` sees it), null,
    /// unknown, the sensitive mark, and one level into maps.
    fn observed(b: &Value, a: &Value) -> Vec<bool> {
        let mut seen = vec![
            differs(Some(b), Some(a)),
            b.is_null(),
            a.is_null(),
            a.is_unknown(),
            a.contains_unknown(),
            b.is_sensitive(),
            a.is_sensitive(),
        ];
        if let (Some(bm), Some(am)) = (b.as_map(), a.as_map()) {
            let keys: BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
            for k in keys {
                seen.push(differs(bm.get(k), am.get(k)));
            }
        }
        seen
    }

    #[test]
    fn withheld_secrets_compare_as_the_real_values_did() {
        let files = |secret_text: &str, plain: &str| {
            map(&[
                ("web.yaml", s(plain)),
                ("web.secrets.yaml", secret(s(secret_text))),
            ])
        };
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "secret unchanged",
                secret(s("hunter2")),
                secret(s("hunter2")),
            ),
            ("secret changed", secret(s("hunter2")), secret(s("hunter3"))),
            (
                "secret becomes unknown",
                secret(s("hunter2")),
                secret(Value::Unknown),
            ),
            ("secret null", secret(Value::Null), s("x")),
            (
                "plain becomes secret, same",
                s("hunter2"),
                secret(s("hunter2")),
            ),
            (
                "plain becomes secret, other",
                s("hunter2"),
                secret(s("hunter3")),
            ),
            (
                "secret equal to the placeholder",
                s(SENSITIVE_TEXT),
                secret(s("x")),
            ),
            (
                "secret partly unknown",
                secret(s("a")),
                secret(Value::List(vec![Value::Unknown])),
            ),
            // The state marks a whole map sensitive; the plan marks entries of it.
            (
                "manifest map, entry changed",
                secret(files("a", "x")),
                files("a", "y"),
            ),
            (
                "manifest map, secret entry changed",
                secret(files("a", "x")),
                files("b", "x"),
            ),
            (
                "manifest map, unchanged",
                secret(files("a", "x")),
                files("a", "x"),
            ),
            (
                "list with a secret",
                Value::List(vec![s("a"), secret(s("b"))]),
                Value::List(vec![s("a"), secret(s("c"))]),
            ),
        ];
        for (name, b, a) in cases {
            let (b2, a2) = round_trip(&b, &a);
            assert_eq!(observed(&b2, &a2), observed(&b, &a), "{name}");
            assert_eq!(
                b2.to_json_redacted(),
                b.to_json_redacted(),
                "{name}: before as JSON"
            );
            assert_eq!(
                a2.to_json_redacted(),
                a.to_json_redacted(),
                "{name}: after as JSON"
            );
        }
    }

    #[test]
    fn no_secret_reaches_the_file() {
        let b = map(&[("password", secret(s("hunter2"))), ("user", s("web"))]);
        let a = map(&[("password", secret(s("correct horse"))), ("user", s("web"))]);
        let saved = SavedChange {
            address: "postgres_role.web".into(),
            uid: String::new(),
            kind: "postgres_role".into(),
            provider: "postgres".into(),
            module: "postgres".into(),
            workloads: vec!["web".into()],
            action: SavedAction::Update,
            reason: SavedReason::Changed(vec!["password".into()]),
            before: Some(attrs(b.as_map().unwrap(), a.as_map())),
            after: Some(attrs(a.as_map().unwrap(), b.as_map())),
            depends_on: vec![],
            create_before_destroy: false,
            protected: false,
            stateful: false,
            moved_from: None,
        };
        let text = serde_json::to_string(&saved).unwrap();
        assert!(
            !text.contains("hunter2") && !text.contains("correct horse"),
            "{text}"
        );
        assert!(text.contains("\"withheld\":{\"same\":false"), "{text}");
    }

    #[test]
    fn the_digest_is_over_sorted_compact_json() {
        let plan = SavedPlan {
            environment: "local".into(),
            lineage: "l".into(),
            serial: 1,
            versions: Versions::new(),
            options: SavedOptions {
                destroy: false,
                targets: vec![],
                replace: vec![],
                workloads: None,
                at: None,
            },
            changes: vec![],
            drift: vec![],
        };
        // Documented in docs/plan-json.md so that others can check a file: keys sorted,
        // no spaces (serde_json's `preserve_order` feature would break this).
        let canonical = r#"{"changes":[],"drift":[],"environment":"local","lineage":"l","options":{"destroy":false,"replace":[],"targets":[],"workloads":null},"serial":1,"versions":{}}"#;
        assert_eq!(
            digest(&plan),
            format!(
                "sha256:{}",
                hex::encode(Sha256::digest(canonical.as_bytes()))
            )
        );
        let bytes = plan.to_bytes();
        assert_eq!(SavedPlan::from_bytes(&bytes, Path::new("p")).unwrap(), plan);
        let edited = String::from_utf8(bytes)
            .unwrap()
            .replace("\"serial\": 1", "\"serial\": 2");
        let err = SavedPlan::from_bytes(edited.as_bytes(), Path::new("p")).unwrap_err();
        assert!(err.to_string().contains("(digest mismatch)"), "{err}");
    }
}
