//! The stored form of state, shared by every backend: objects, intents and history as
//! rows of text (JSON), and the codec between them and the model. Sealing of secrets
//! happens here, once, so SQLite and PostgreSQL store byte-for-byte the same kind of
//! row and a state moved between them (`state migrate`) needs no re-sealing.

use super::crypto::{self, StateKey};
use super::deployment::{Blob, Deployment};
use super::{HistoryEntry, Intent, Object, StateError, redacted_json};
use crate::value::Value;
use sha2::{Digest, Sha256};

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRow {
    /// Address.
    pub address: String,
    /// Kind.
    pub kind: String,
    /// Provider.
    pub provider: String,
    /// Score uid.
    pub uid: String,
    /// Module.
    pub module: String,
    /// Attributes, JSON; sensitive values sealed when a key is set.
    pub attributes: String,
    /// Sensitive attribute names, JSON list.
    pub sensitive: String,
    /// Dependencies, JSON list.
    pub dependencies: String,
    /// `ok` or `tainted`.
    pub status: String,
    /// The serial of the apply that last wrote it (its version).
    pub updated_serial: i64,
    /// Lifecycle JSON (`prevent_destroy`, `triggers`).
    pub lifecycle: String,
    /// SHA-256 of the columns above ([`ObjectRow::digest`]); `None` in rows written
    /// before the column existed.
    pub checksum: Option<String>,
}

/// One stored intent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRow {
    /// Address.
    pub address: String,
    /// Action.
    pub action: String,
    /// Kind.
    pub kind: String,
    /// The configuration given, JSON; sealed as a whole when a key is set.
    pub planned: String,
    /// RFC 3339.
    pub started_at: String,
    /// SHA-256 of the columns above ([`IntentRow::digest`]); `None` in rows written
    /// before the column existed.
    pub checksum: Option<String>,
}

/// One stored history row (redacted JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// Serial.
    pub serial: i64,
    /// RFC 3339.
    pub at: String,
    /// Address.
    pub address: String,
    /// Action.
    pub action: String,
    /// `user@host`.
    pub who: String,
    /// Before, redacted JSON.
    pub before: Option<String>,
    /// After, redacted JSON.
    pub after: Option<String>,
    /// SHA-256 of the other columns (`None` in rows written before checksums).
    pub checksum: Option<String>,
}

/// Everything one environment's state holds, as stored: what `state migrate` copies and
/// compares. Locks and schema bookkeeping are not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dump {
    /// Lineage.
    pub lineage: String,
    /// Serial.
    pub serial: u64,
    /// Objects by address order.
    pub objects: Vec<ObjectRow>,
    /// Intents by address order.
    pub intents: Vec<IntentRow>,
    /// History, oldest first.
    pub history: Vec<HistoryRow>,
    /// Deployments, by serial.
    pub deployments: Vec<DeploymentRow>,
    /// The texts deployments refer to.
    pub blobs: Vec<Blob>,
}

/// The stored form of a [`Deployment`]: its JSON document under a checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeploymentRow {
    /// The apply's serial.
    pub serial: i64,
    /// The deployment as JSON.
    pub document: String,
    /// SHA-256 of the serial and the document.
    pub checksum: String,
}

impl DeploymentRow {
    /// The row of a deployment.
    pub fn of(d: &Deployment) -> DeploymentRow {
        let document = serde_json::to_string(d).expect("a deployment serializes");
        let serial = d.serial as i64;
        let checksum = digest("baton deployment v1", &[&serial.to_string(), &document]);
        DeploymentRow {
            serial,
            document,
            checksum,
        }
    }

    /// The deployment, its checksum checked.
    pub fn deployment(&self, location: &str) -> Result<Deployment, StateError> {
        let address = format!("deployment {}", self.serial);
        if digest(
            "baton deployment v1",
            &[&self.serial.to_string(), &self.document],
        ) != self.checksum
        {
            return Err(mismatch(location, &address, "deployment"));
        }
        serde_json::from_str(&self.document).map_err(|e| StateError::Corrupt {
            path: location.to_string(),
            address,
            why: format!("the deployment is not readable: {e}"),
        })
    }
}

/// A blob as stored, its digest checked.
pub fn checked_blob(location: &str, digest: String, text: String) -> Result<Blob, StateError> {
    let blob = Blob { digest, text };
    if !blob.is_sound() {
        return Err(StateError::Corrupt {
            path: location.to_string(),
            address: format!("blob {}", blob.digest),
            why: "the stored text no longer has the hash it is stored under".into(),
        });
    }
    Ok(blob)
}

impl Dump {
    /// A readable JSON form (for tests and `state migrate` reports).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "lineage": self.lineage,
            "serial": self.serial,
            "objects": self.objects.iter().map(|o| serde_json::json!([
                o.address, o.kind, o.provider, o.uid, o.module, o.attributes, o.sensitive,
                o.dependencies, o.status, o.updated_serial, o.lifecycle, o.checksum
            ])).collect::<Vec<_>>(),
            "intents": self.intents.iter().map(|i| serde_json::json!([
                i.address, i.action, i.kind, i.planned, i.started_at, i.checksum
            ])).collect::<Vec<_>>(),
            "history": self.history.iter().map(|h| serde_json::json!([
                h.serial, h.at, h.address, h.action, h.who, h.before, h.after
            ])).collect::<Vec<_>>(),
        })
    }

    /// Checks the checksum of every object, intent and history row (a row without one
    /// passes), so a damaged row is never copied elsewhere as if it were sound.
    pub fn verify(&self, location: &str) -> Result<(), StateError> {
        for o in &self.objects {
            o.verify(location)?;
        }
        for i in &self.intents {
            i.verify(location)?;
        }
        for h in &self.history {
            h.verify(location)?;
        }
        for d in &self.deployments {
            d.deployment(location)?;
        }
        for b in &self.blobs {
            checked_blob(location, b.digest.clone(), b.text.clone())?;
        }
        Ok(())
    }

    /// True when the state holds nothing yet (a new state).
    pub fn is_empty(&self) -> bool {
        self.serial == 0
            && self.objects.is_empty()
            && self.intents.is_empty()
            && self.history.is_empty()
    }
}

/// The checksum of a row: SHA-256 over a tag naming the table and each column, every
/// column preceded by its length so no two rows share an input (hex, 64 characters).
pub fn digest(table: &str, columns: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(table.as_bytes());
    for c in columns {
        h.update((c.len() as u64).to_le_bytes());
        h.update(c.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The error of a row whose checksum is not the digest of its columns.
fn mismatch(location: &str, address: &str, what: &str) -> StateError {
    StateError::Corrupt {
        path: location.to_string(),
        address: address.to_string(),
        why: format!(
            "the {what} row's checksum does not match its columns (the stored bytes changed since baton wrote them)"
        ),
    }
}

impl ObjectRow {
    /// The checksum of this row's columns.
    pub fn digest(&self) -> String {
        digest(
            "baton object v1",
            &[
                &self.address,
                &self.kind,
                &self.provider,
                &self.uid,
                &self.module,
                &self.attributes,
                &self.sensitive,
                &self.dependencies,
                &self.status,
                &self.updated_serial.to_string(),
                &self.lifecycle,
            ],
        )
    }

    /// Sets the checksum to the digest of the columns as they are now.
    pub fn seal(&mut self) {
        self.checksum = Some(self.digest());
    }

    /// Fails when the row has a checksum that is not its columns' digest.
    pub fn verify(&self, location: &str) -> Result<(), StateError> {
        match &self.checksum {
            Some(sum) if *sum != self.digest() => Err(mismatch(location, &self.address, "object")),
            _ => Ok(()),
        }
    }
}

impl HistoryRow {
    /// A row of the history, sealed with its checksum.
    pub fn new(
        serial: i64,
        at: String,
        address: String,
        action: String,
        who: String,
        before: Option<String>,
        after: Option<String>,
    ) -> HistoryRow {
        let mut row = HistoryRow {
            serial,
            at,
            address,
            action,
            who,
            before,
            after,
            checksum: None,
        };
        row.checksum = Some(row.digest());
        row
    }

    /// The checksum of this row's columns (a missing before or after is not an empty one).
    pub fn digest(&self) -> String {
        let opt = |v: &Option<String>| {
            v.as_ref()
                .map_or_else(|| "-".to_string(), |s| format!("+{s}"))
        };
        digest(
            "baton history v1",
            &[
                &self.serial.to_string(),
                &self.at,
                &self.address,
                &self.action,
                &self.who,
                &opt(&self.before),
                &opt(&self.after),
            ],
        )
    }

    /// Fails when the row has a checksum that is not its columns' digest.
    pub fn verify(&self, location: &str) -> Result<(), StateError> {
        match &self.checksum {
            Some(sum) if *sum != self.digest() => Err(mismatch(location, &self.address, "history")),
            _ => Ok(()),
        }
    }
}

impl IntentRow {
    /// The checksum of this row's columns.
    pub fn digest(&self) -> String {
        digest(
            "baton intent v1",
            &[
                &self.address,
                &self.action,
                &self.kind,
                &self.planned,
                &self.started_at,
            ],
        )
    }

    /// Fails when the row has a checksum that is not its columns' digest.
    pub fn verify(&self, location: &str) -> Result<(), StateError> {
        match &self.checksum {
            Some(sum) if *sum != self.digest() => Err(mismatch(location, &self.address, "intent")),
            _ => Ok(()),
        }
    }
}

/// Decodes object rows into `state` (objects and their versions). Large states are
/// decoded on every core (JSON and unsealing are most of a load); the first bad row in
/// row order is the error.
pub fn decode_objects(
    codec: &Codec<'_>,
    rows: Vec<ObjectRow>,
    state: &mut super::State,
) -> Result<(), StateError> {
    const PARALLEL: usize = 2048;
    let threads = crate::par::threads();
    let decode = |part: Vec<ObjectRow>| -> Result<Vec<(u64, Object)>, StateError> {
        part.into_iter()
            .map(|row| {
                let version = row.updated_serial as u64;
                codec.object(row).map(|o| (version, o))
            })
            .collect()
    };
    let decoded: Vec<Result<Vec<(u64, Object)>, StateError>> =
        if threads == 1 || rows.len() < PARALLEL {
            vec![decode(rows)]
        } else {
            let chunk = rows.len().div_ceil(threads);
            let mut parts: Vec<Vec<ObjectRow>> = Vec::with_capacity(threads);
            let mut rows = rows.into_iter();
            loop {
                let part: Vec<ObjectRow> = rows.by_ref().take(chunk).collect();
                if part.is_empty() {
                    break;
                }
                parts.push(part);
            }
            crate::par::map_owned(parts, decode)
        };
    // Built in bulk: a `BTreeMap` filled by one insert per row (rows come in address
    // order) leaves its nodes about half full; collected, they are full.
    let mut objects = Vec::with_capacity(decoded.iter().flatten().map(Vec::len).sum());
    let mut versions = Vec::with_capacity(objects.capacity());
    for part in decoded {
        for (version, o) in part? {
            versions.push((o.address.clone(), version));
            objects.push((o.address.clone(), o));
        }
    }
    state.objects.append(&mut objects.into_iter().collect());
    state.versions.append(&mut versions.into_iter().collect());
    Ok(())
}

/// Encodes and decodes rows, sealing and opening secrets with the store's key.
pub struct Codec<'a> {
    /// The key, if secrets are sealed.
    pub key: Option<&'a StateKey>,
    /// Where the state is (for errors).
    pub location: &'a str,
}

impl Codec<'_> {
    fn key_error(&self, why: String) -> StateError {
        StateError::Key {
            path: self.location.to_string(),
            why,
        }
    }

    /// Replaces sealed values (the value itself, or at the top level of an object) with
    /// their plain values.
    pub fn open_sealed(&self, j: serde_json::Value) -> Result<serde_json::Value, StateError> {
        let open_one = |v: serde_json::Value| -> Result<serde_json::Value, StateError> {
            if !crypto::is_sealed(&v) {
                return Ok(v);
            }
            match self.key {
                Some(k) => k.open(&v).map_err(|e| self.key_error(e)),
                None => Err(self.key_error(format!(
                    "the state holds secrets sealed with key {}; set BATON_STATE_KEY (or BATON_STATE_KEY_FILE) to that key",
                    crypto::sealed_with(&v).unwrap_or("?")
                ))),
            }
        };
        match j {
            serde_json::Value::Object(m)
                if !crypto::is_sealed(&serde_json::Value::Object(m.clone())) =>
            {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    out.insert(k, open_one(v)?);
                }
                Ok(serde_json::Value::Object(out))
            }
            other => open_one(other),
        }
    }

    /// JSON of attributes, the sensitive ones sealed when a key is set.
    pub fn seal_attributes(&self, attrs: &crate::value::Map, sensitive: &[String]) -> String {
        let plain = Value::Map(attrs.clone())
            .to_json_revealed()
            .unwrap_or(serde_json::Value::Null);
        let (Some(key), serde_json::Value::Object(m)) = (self.key, &plain) else {
            return plain.to_string();
        };
        let sealed: serde_json::Map<String, serde_json::Value> = m
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if sensitive.contains(k) {
                        key.seal(v)
                    } else {
                        v.clone()
                    },
                )
            })
            .collect();
        serde_json::Value::Object(sealed).to_string()
    }

    /// JSON of an intent's configuration, sealed as a whole when a key is set.
    pub fn seal_planned(&self, planned: &crate::value::Map) -> String {
        let plain = Value::Map(planned.clone())
            .to_json_revealed()
            .unwrap_or(serde_json::Value::Null);
        match self.key {
            Some(k) => k.seal(&plain).to_string(),
            None => plain.to_string(),
        }
    }

    /// The row of an object written at `serial`.
    pub fn object_row(&self, o: &Object, serial: u64) -> ObjectRow {
        let mut row = ObjectRow {
            address: o.address.clone(),
            kind: o.kind.clone(),
            provider: o.provider.clone(),
            uid: o.uid.clone(),
            module: o.module.clone(),
            attributes: self.seal_attributes(&o.attributes, &o.sensitive),
            sensitive: serde_json::to_string(&o.sensitive).unwrap_or_else(|_| "[]".into()),
            dependencies: serde_json::to_string(&o.dependencies).unwrap_or_else(|_| "[]".into()),
            status: if o.tainted { "tainted" } else { "ok" }.into(),
            updated_serial: serial as i64,
            lifecycle: self.seal_lifecycle(o),
            checksum: None,
        };
        row.seal();
        row
    }

    /// The lifecycle JSON of an object: `prevent_destroy`, the `replace_triggered_by`
    /// values (sealed as a whole when a key is set: they may be secrets), and `proven`
    /// (written only when true, so rows of unproven objects read as before).
    fn seal_lifecycle(&self, o: &Object) -> String {
        let triggers = match (&o.triggers, self.key) {
            (Some(t), Some(k)) => k.seal(t),
            (t, _) => t.clone().unwrap_or(serde_json::Value::Null),
        };
        let mut lifecycle =
            serde_json::json!({ "prevent_destroy": o.protected, "triggers": triggers });
        if o.proven {
            lifecycle["proven"] = serde_json::Value::Bool(true);
        }
        lifecycle.to_string()
    }

    /// The object of a row, secrets opened.
    pub fn object(&self, row: ObjectRow) -> Result<Object, StateError> {
        row.verify(self.location)?;
        let corrupt = |why: String| StateError::Corrupt {
            path: self.location.to_string(),
            address: row.address.clone(),
            why,
        };
        let lifecycle: serde_json::Value =
            serde_json::from_str(&row.lifecycle).map_err(|e| corrupt(format!("lifecycle: {e}")))?;
        let triggers = match lifecycle.get("triggers").filter(|t| !t.is_null()) {
            Some(t) => Some(self.open_sealed(t.clone())?),
            None => None,
        };
        let attrs: serde_json::Value =
            serde_json::from_str(&row.attributes).map_err(|e| corrupt(e.to_string()))?;
        let attrs = self.open_sealed(attrs)?;
        let attributes = match Value::from_json(&attrs) {
            Value::Map(m) => m,
            _ => return Err(corrupt("attributes are not an object".into())),
        };
        let sensitive: Vec<String> =
            serde_json::from_str(&row.sensitive).map_err(|e| corrupt(e.to_string()))?;
        let dependencies: Vec<String> =
            serde_json::from_str(&row.dependencies).map_err(|e| corrupt(e.to_string()))?;
        Ok(Object {
            address: row.address,
            kind: row.kind,
            provider: row.provider,
            uid: row.uid,
            module: row.module,
            attributes: std::sync::Arc::new(attributes),
            sensitive,
            dependencies,
            tainted: row.status == "tainted",
            protected: lifecycle["prevent_destroy"].as_bool().unwrap_or(false),
            triggers,
            proven: lifecycle["proven"].as_bool().unwrap_or(false),
        })
    }

    /// The row of an intent.
    pub fn intent_row(&self, i: &Intent) -> IntentRow {
        let mut row = IntentRow {
            address: i.address.clone(),
            action: i.action.clone(),
            kind: i.kind.clone(),
            planned: self.seal_planned(&i.planned),
            started_at: i.started_at.clone(),
            checksum: None,
        };
        row.checksum = Some(row.digest());
        row
    }

    /// The intent of a row, its configuration opened (empty when unreadable).
    pub fn intent(&self, row: IntentRow) -> Result<Intent, StateError> {
        row.verify(self.location)?;
        let planned = match serde_json::from_str::<serde_json::Value>(&row.planned) {
            Ok(j) => match Value::from_json(&self.open_sealed(j)?) {
                Value::Map(m) => m,
                _ => crate::value::Map::new(),
            },
            Err(_) => crate::value::Map::new(),
        };
        Ok(Intent {
            address: row.address,
            action: row.action,
            kind: row.kind,
            planned,
            started_at: row.started_at,
        })
    }
}

/// The redacted JSON of a stored object's attributes, for the `before` of history. Sealed
/// values need no key: they are sensitive, so they are redacted anyway.
pub fn redacted_before(attributes: &str, sensitive: &str) -> String {
    let attrs =
        match serde_json::from_str::<serde_json::Value>(attributes).map(|j| Value::from_json(&j)) {
            Ok(Value::Map(m)) => m,
            _ => crate::value::Map::new(),
        };
    let sens: Vec<String> = serde_json::from_str(sensitive).unwrap_or_default();
    redacted_json(&attrs, &sens).to_string()
}

/// The redacted JSON of a new object's attributes, for the `after` of history.
pub fn redacted_after(o: &Object) -> String {
    redacted_json(&o.attributes, &o.sensitive).to_string()
}

/// A history entry of a row.
pub fn history_entry(row: HistoryRow) -> HistoryEntry {
    let parse = |s: Option<String>| s.and_then(|s| serde_json::from_str(&s).ok());
    HistoryEntry {
        serial: row.serial as u64,
        at: row.at,
        address: row.address,
        action: row.action,
        who: row.who,
        before: parse(row.before),
        after: parse(row.after),
    }
}

/// The address a record is about.
pub fn record_address(r: &super::Record) -> &str {
    match r {
        super::Record::Put(o) => &o.address,
        super::Record::Remove(a) => a,
    }
}
