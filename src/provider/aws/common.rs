//! Attribute helpers shared by the AWS kinds: defaults from the schema, required
//! strings, tags (as given, as AWS reports them, and the change between two sets), the
//! ownership tag, and attributes AWS returns in another form than the one configured.
//!
//! The ownership tag (`baton:owner`, the owner's marker) is baton's, not the module's:
//! it is written at create, never reported as part of `tags` (so it is no drift) and
//! never removed by an update that sets the module's tags.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::provider::server::check_name;
use crate::provider::{Attrs, Claim, KindSchema, Owner, Presence, ProviderError, str_attr};
use crate::value::Value;

/// Tags by key.
pub type Tags = BTreeMap<String, String>;

/// The key of the tag holding the owner's marker (see `provider::owner`).
pub const OWNER_TAG: &str = "baton:owner";

/// `tags` with the owner's marker added: what a create writes.
pub fn with_owner(mut tags: Tags, owner: &Owner) -> Tags {
    tags.insert(OWNER_TAG.to_string(), owner.marker());
    tags
}

/// The claim of an object from the tags it has (`None`: it does not exist, which
/// proves nothing).
pub fn claim_from(tags: Option<&Tags>, owner: &Owner) -> Claim {
    owner.judge(tags.and_then(|t| t.get(OWNER_TAG)).map(String::as_str))
}

/// The claim of an object that cannot hold tags, through the object it belongs to (a
/// record's zone, an access key's user): baton's when that parent carries a marker of
/// this owner's state.
pub fn claim_through(parent: Option<&Tags>, owner: &Owner) -> Claim {
    match parent.and_then(|t| t.get(OWNER_TAG)) {
        Some(m) if owner.same_state(m) => Claim::Ours,
        _ => Claim::Unproven,
    }
}

/// What a create that found its object already there reports; the provider then asks
/// for the object's claim and returns it only when it is baton's (see `mod.rs`).
pub fn exists(what: &str) -> ProviderError {
    ProviderError::NotOurs(what.to_string())
}

/// `config` with each optional attribute that is absent or null set to its default,
/// so that what is created equals what the plan showed whoever calls (the engine
/// applies the same defaults; direct callers such as tests may not).
pub fn with_defaults(schema: &KindSchema, config: &Attrs) -> Attrs {
    let mut out = config.clone();
    for a in &schema.attributes {
        if a.presence == Presence::Optional
            && out.get(a.name).is_none_or(Value::is_null)
            && let Some(d) = a.default
        {
            out.insert(a.name.to_string(), d());
        }
    }
    out
}

/// A required, non-empty string attribute without control characters.
pub fn required<'a>(attrs: &'a Attrs, name: &str, what: &str) -> Result<&'a str, ProviderError> {
    let v = str_attr(attrs, name)
        .ok_or_else(|| ProviderError::Invalid(format!("{what}: `{name}` is required")))?;
    check_name(&format!("{what}: `{name}`"), v)?;
    Ok(v)
}

/// An optional string attribute (null and absent are both `None`).
pub fn optional<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    str_attr(attrs, name)
}

/// A non-negative integer attribute, or `default`.
pub fn count(attrs: &Attrs, name: &str, default: i64, what: &str) -> Result<i64, ProviderError> {
    match attrs.get(name).filter(|v| !v.is_null()) {
        None => Ok(default),
        Some(v) => v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            ProviderError::Invalid(format!("{what}: `{name}` must be a whole number ≥ 0"))
        }),
    }
}

/// The `tags` attribute: a map whose values are strings (numbers and booleans are
/// written as text, as AWS stores every tag value as a string).
pub fn tags(attrs: &Attrs, what: &str) -> Result<Tags, ProviderError> {
    let Some(v) = attrs.get("tags").filter(|v| !v.is_null()) else {
        return Ok(Tags::new());
    };
    let map = v
        .as_map()
        .ok_or_else(|| ProviderError::Invalid(format!("{what}: `tags` must be a map")))?;
    if map.contains_key(OWNER_TAG) {
        return Err(ProviderError::Invalid(format!(
            "{what}: the tag {OWNER_TAG:?} is baton's ownership tag and cannot be set by a module"
        )));
    }
    map.iter()
        .map(|(k, v)| {
            let text = match v.unmark().0 {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            };
            text.map(|t| (k.clone(), t)).ok_or_else(|| {
                ProviderError::Invalid(format!("{what}: tag {k:?} must be a string"))
            })
        })
        .collect()
}

/// What `tags` reads as: the tags AWS has but the ownership tag, except that no tags
/// on AWS and none recorded stay as recorded (absent or null), so that is not reported
/// as a change.
pub fn tags_value(mut actual: Tags, prior: &Attrs) -> Option<Value> {
    actual.remove(OWNER_TAG);
    let recorded = prior.get("tags").filter(|v| !v.is_null());
    if actual.is_empty() && recorded.is_none() {
        return recorded.cloned();
    }
    // Keep the recorded form (e.g. a number written as a number) when the text matches.
    if let Some(rec) = recorded
        && tags(prior, "").ok().as_ref() == Some(&actual)
    {
        return Some(rec.clone());
    }
    Some(Value::Map(
        actual
            .into_iter()
            .map(|(k, v)| (k, Value::string(v)))
            .collect(),
    ))
}

/// Sets `out.tags` from what AWS reports.
pub fn put_tags(out: &mut Attrs, actual: Tags, prior: &Attrs) {
    match tags_value(actual, prior) {
        Some(v) => out.insert("tags".into(), v),
        None => out.remove("tags"),
    };
}

/// The tags to set (new or changed) and the keys to remove, going from `old` (what
/// AWS has) to `new` (what the module sets). The ownership tag is never removed.
pub fn tag_changes(old: &Tags, new: &Tags) -> (Tags, Vec<String>) {
    let set = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = old
        .keys()
        .filter(|k| !new.contains_key(*k) && k.as_str() != OWNER_TAG)
        .cloned()
        .collect();
    (set, remove)
}

/// Sets `out[name]` to the value AWS reports, unless it equals the recorded one as
/// text (`30` recorded, `"30"` reported), which keeps the recorded form.
pub fn put_observed(out: &mut Attrs, name: &str, actual: Value) {
    let text = |v: &Value| match v.unmark().0 {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => None,
        other => Some(format!("{other:?}")),
    };
    if out.get(name).and_then(text) != text(&actual) {
        out.insert(name.to_string(), actual);
    }
}

/// Polls `probe` until it reports done (`Ok(Ok(value))`), a call fails, or `budget` has
/// passed; in between it reports the current status (`Ok(Err(status))`). The first probe
/// is immediate, then the waits grow from one second to thirty. Used for the kinds AWS
/// takes minutes to create, change or delete (databases, caches, brokers).
pub async fn wait_for<T, F, Fut>(
    budget: Duration,
    what: &str,
    goal: &str,
    mut probe: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Result<T, String>, ProviderError>>,
{
    let start = Instant::now();
    let mut delay = Duration::from_secs(1);
    loop {
        let status = match probe().await? {
            Ok(done) => return Ok(done),
            Err(status) => status,
        };
        if start.elapsed() + delay > budget {
            return Err(ProviderError::Transient(format!(
                "{what}: not {goal} after {:.0?} (status {status}); it may still get there: run apply again later",
                start.elapsed()
            )));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// Two JSON texts with the same meaning (key order and spacing aside). Text that is not
/// JSON is compared as is.
pub fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_compare_as_text_and_absent_equals_empty() {
        let prior = Attrs::from([(
            "tags".to_string(),
            Value::Map(crate::value::Map::from([("n".to_string(), Value::int(1))])),
        )]);
        let t = tags(&prior, "x").unwrap();
        assert_eq!(t["n"], "1");
        assert_eq!(tags_value(t.clone(), &prior), prior.get("tags").cloned());
        assert_eq!(tags_value(Tags::new(), &Attrs::new()), None);
        assert_eq!(
            tags_value(Tags::new(), &prior),
            Some(Value::Map(crate::value::Map::new()))
        );
        let (set, remove) = tag_changes(
            &Tags::from([("a".into(), "1".into()), ("b".into(), "2".into())]),
            &Tags::from([("a".into(), "1".into()), ("c".into(), "3".into())]),
        );
        assert_eq!((set.len(), remove), (1, vec!["b".to_string()]));
        assert!(same_json(
            r#"{"a": [1, 2], "b": "x"}"#,
            r#"{"b":"x","a":[1,2]}"#
        ));
        assert!(!same_json(r#"{"a": 1}"#, r#"{"a": 2}"#));
        let mut out = Attrs::from([("n".to_string(), Value::int(30))]);
        put_observed(&mut out, "n", Value::string("30"));
        assert_eq!(out["n"], Value::int(30));
        put_observed(&mut out, "n", Value::int(31));
        assert_eq!(out["n"], Value::int(31));
    }
}
