//! Ownership: how baton proves that an object is one it made, for which state and address.
//!
//! Every create is made for an [`Owner`]: the state's lineage (fixed when the state is
//! created, so each environment and each project has its own) and the object's address.
//! Where a system can hold a note on an object (a PostgreSQL comment, a MariaDB database
//! comment, a RabbitMQ vhost description, an AWS tag, a marker file in a directory), the
//! provider writes the owner's [`marker`](Owner::marker) in the same call that makes the
//! object. Where it cannot (a Redis ACL user, a MariaDB user), the proof is a secret only
//! the creator holds: the password baton generated, recorded (sealed) before the call.
//! Before adopting, updating, replacing or deleting, the engine asks the provider for the
//! object's [`Claim`] and touches it only when it is [`Claim::Ours`] (or the kind keeps
//! nothing outside baton); anything else is refused with the way to take it over on
//! purpose, `baton import`.

use sha2::{Digest, Sha256};

/// Who an object is made for: the state's lineage and the object's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The lineage of the state that records the object.
    pub lineage: String,
    /// The object's address in that state.
    pub address: String,
}

/// The prefix of every marker baton writes.
pub const MARKER_PREFIX: &str = "baton:";

impl Owner {
    /// The owner of the object at `address` in the state of lineage `lineage`.
    pub fn new(lineage: impl Into<String>, address: impl Into<String>) -> Owner {
        Owner {
            lineage: lineage.into(),
            address: address.into(),
        }
    }

    /// The owner used by provider tests: one fixed lineage, address `test`.
    #[cfg(test)]
    pub fn for_tests() -> Owner {
        Owner::new("00000000-0000-4000-8000-000000000000", "test")
    }

    /// The marker written with the object: `baton:<lineage>:<16 hex digits of SHA-256 of
    /// the address>`, 59 characters, short enough for an AWS tag value or a MariaDB
    /// comment and the same for the same owner on every run.
    pub fn marker(&self) -> String {
        let digest = Sha256::digest(self.address.as_bytes());
        format!(
            "{MARKER_PREFIX}{}:{}",
            self.lineage,
            hex::encode(&digest[..8])
        )
    }

    /// Whether `marker` was written by this owner's state (for any address): what a
    /// relation such as a grant checks on the object it hangs from.
    pub fn same_state(&self, marker: &str) -> bool {
        marker
            .strip_prefix(MARKER_PREFIX)
            .and_then(|rest| rest.strip_prefix(self.lineage.as_str()))
            .is_some_and(|rest| rest.starts_with(':'))
    }

    /// The claim an object makes given the note found on it (`None` or empty: none).
    pub fn judge(&self, found: Option<&str>) -> Claim {
        match found.map(str::trim) {
            None | Some("") => Claim::Unproven,
            Some(m) if m == self.marker() => Claim::Ours,
            Some(m) if m.starts_with(MARKER_PREFIX) => Claim::Foreign(m.to_string()),
            // A note someone else wrote (a description, a comment): not baton's.
            Some(_) => Claim::Unproven,
        }
    }
}

/// What baton can prove about an existing object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// It carries this owner's marker, or a proof only baton holds (the password baton
    /// generated for it).
    Ours,
    /// Nothing outside baton holds it (a random value, `baton_data`): baton's by nature.
    Intrinsic,
    /// Nothing proves it is baton's: made by someone else, or recorded by a baton that
    /// wrote no markers yet.
    Unproven,
    /// It carries the marker of another state or another address (the marker).
    Foreign(String),
}

impl Claim {
    /// Whether baton may change or delete the object.
    pub fn is_ours(&self) -> bool {
        matches!(self, Claim::Ours | Claim::Intrinsic)
    }

    /// Whether baton may change or delete a recorded object with this claim: proven ones
    /// must still prove it; objects recorded unproven (by a baton that wrote no markers,
    /// or of a kind without proof) are trusted unless they carry another owner's marker.
    pub fn permits(&self, recorded_proven: bool) -> bool {
        match self {
            Claim::Ours | Claim::Intrinsic => true,
            Claim::Unproven => !recorded_proven,
            Claim::Foreign(_) => false,
        }
    }

    /// Why an object is not baton's, for messages.
    pub fn describe(&self) -> String {
        match self {
            Claim::Ours | Claim::Intrinsic => "it is baton's".into(),
            Claim::Unproven => "it carries no ownership marker of this state".into(),
            Claim::Foreign(m) => match m
                .strip_prefix(MARKER_PREFIX)
                .and_then(|r| r.rsplit_once(':'))
            {
                Some((lineage, _)) => {
                    format!(
                        "it carries the ownership marker of another baton state or address (lineage {lineage})"
                    )
                }
                None => format!("it carries another owner's marker `{m}`"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_differ_by_lineage_and_address_and_judge_back() {
        let a = Owner::new(
            "11111111-1111-1111-1111-111111111111",
            "postgres.default#web.db/postgres_role.owner",
        );
        let b = Owner::new("22222222-2222-2222-2222-222222222222", &a.address);
        let c = Owner::new(&a.lineage, "postgres.default#api.db/postgres_role.owner");
        assert_ne!(a.marker(), b.marker());
        assert_ne!(a.marker(), c.marker());
        assert_eq!(a.marker().len(), 59);
        assert_eq!(a.judge(Some(&a.marker())), Claim::Ours);
        assert_eq!(a.judge(Some(&b.marker())), Claim::Foreign(b.marker()));
        assert_eq!(a.judge(Some(&c.marker())), Claim::Foreign(c.marker()));
        assert_eq!(a.judge(None), Claim::Unproven);
        assert_eq!(a.judge(Some("made by hand")), Claim::Unproven);
        assert!(a.same_state(&c.marker()));
        assert!(!a.same_state(&b.marker()));
        assert!(!a.same_state("baton:11111111-1111-1111-1111-1111111111112:00"));
    }
}
