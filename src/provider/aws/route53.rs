//! `aws_route53_zone` (a public hosted zone) and `aws_route53_record` (one record set:
//! name, type, TTL, values). Route 53 reports names fully qualified, lower-case and
//! with some characters escaped (`*` as `\052`); names are compared in that normal form
//! and the configured spelling is kept when they match. Record changes wait until Route
//! 53 reports them `INSYNC` (on all its servers).

use std::time::{Duration, Instant};

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, HostedZoneConfig, ResourceRecord,
    ResourceRecordSet, RrType, Tag, TagResourceType,
};

use super::common::{OWNER_TAG, Tags, exists, optional, required};
use super::config::Clients;
use super::error::{Named, build_error};
use crate::provider::server::{list_value, string_list};
use crate::provider::{AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, int_attr};
use crate::value::Value;

/// A hosted zone.
pub const ZONE: &str = "aws_route53_zone";
/// A record set.
pub const RECORD: &str = "aws_route53_record";

const NO_ZONE: &[&str] = &["NoSuchHostedZone"];

fn ttl_300() -> Value {
    Value::int(300)
}

/// The schema of `aws_route53_zone`.
pub fn zone_schema() -> KindSchema {
    KindSchema {
        kind: ZONE,
        provider: "aws",
        description: "A public Route 53 hosted zone.",
        attributes: vec![
            AttrSchema::required(
                "name",
                AttrType::String,
                "The domain, e.g. \"example.com\".",
            )
            .force_new(),
            AttrSchema::optional("comment", AttrType::String, "Comment."),
            AttrSchema::computed(
                "zone_id",
                AttrType::String,
                "The zone's id (without \"/hostedzone/\").",
            ),
            AttrSchema::computed(
                "name_servers",
                AttrType::List,
                "The zone's name servers, to delegate the domain to.",
            ),
        ],
        create_before_destroy: false,
    }
}

/// The schema of `aws_route53_record`.
pub fn record_schema() -> KindSchema {
    KindSchema {
        kind: RECORD,
        provider: "aws",
        description: "A Route 53 record set; values or TTL changed outside baton show as drift.",
        attributes: vec![
            AttrSchema::required("zone_id", AttrType::String, "The hosted zone's id.").force_new(),
            AttrSchema::required(
                "name",
                AttrType::String,
                "Full name, e.g. \"www.example.com\".",
            )
            .force_new(),
            AttrSchema::required("type", AttrType::String, "A, AAAA, CNAME, TXT, MX, …")
                .force_new(),
            AttrSchema::optional("ttl", AttrType::Number, "Seconds resolvers may cache it.")
                .default(ttl_300),
            AttrSchema::required(
                "records",
                AttrType::List,
                "The values (TXT values in double quotes).",
            ),
        ],
        create_before_destroy: false,
    }
}

/// A DNS name in Route 53's form: lower-case, no trailing dot, `\052` as `*`.
pub fn normal_name(name: &str) -> String {
    name.trim_end_matches('.')
        .replace("\\052", "*")
        .replace("\\100", "@")
        .to_ascii_lowercase()
}

fn bare_zone_id(id: &str) -> &str {
    id.trim_start_matches("/hostedzone/")
}

fn zone_what(name: &str) -> String {
    format!("{ZONE} {name:?}")
}

/// Creates the zone, then tags it with the owner's marker (CreateHostedZone takes no
/// tags). Route 53 allows several zones with one name, so nothing is refused; a zone
/// left untagged by a run killed in between is never found again by name, and the
/// next run makes another.
pub async fn create_zone(
    c: &Clients,
    config: &Attrs,
    owner: &Owner,
) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", ZONE)?;
    let w = zone_what(name);
    let mut req = c
        .route53
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("baton-{}", uuid::Uuid::new_v4()));
    if let Some(comment) = optional(config, "comment") {
        req = req.hosted_zone_config(HostedZoneConfig::builder().comment(comment).build());
    }
    let out = req.send().await.named(&w)?;
    let id = out
        .hosted_zone()
        .map(|z| bare_zone_id(z.id()).to_string())
        .unwrap_or_default();
    tag_zone(
        c,
        &id,
        Tags::from([(OWNER_TAG.to_string(), owner.marker())]),
        &w,
    )
    .await?;
    let servers: Vec<String> = out
        .delegation_set()
        .map(|d| d.name_servers().to_vec())
        .unwrap_or_default();
    let mut result = config.clone();
    result.insert("zone_id".into(), Value::string(id));
    result.insert("name_servers".into(), list_value(&servers));
    Ok(result)
}

/// Adds (or changes) the tags `set` of the zone `id`.
async fn tag_zone(c: &Clients, id: &str, set: Tags, w: &str) -> Result<(), ProviderError> {
    let tags = set
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Vec<_>>();
    c.route53
        .change_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(id)
        .set_add_tags(Some(tags))
        .send()
        .await
        .named(w)?;
    Ok(())
}

/// The tags of the zone `zone_id`, the ownership tag included (`None`: no such zone).
pub async fn zone_tags(c: &Clients, zone_id: &str) -> Result<Option<Tags>, ProviderError> {
    let id = bare_zone_id(zone_id);
    let out = c
        .route53
        .list_tags_for_resource()
        .resource_type(TagResourceType::Hostedzone)
        .resource_id(id)
        .send()
        .await
        .or_missing(&zone_what(id), NO_ZONE)?;
    Ok(out.map(|o| {
        o.resource_tag_set()
            .map(|t| {
                t.tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }))
}

/// Adds `extra` to the tags of the zone `found` names.
pub async fn add_zone_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let id = required(found, "zone_id", ZONE)?;
    let w = zone_what(optional(found, "name").unwrap_or(id));
    tag_zone(c, bare_zone_id(id), extra.clone(), &w).await
}

/// Sets the comment.
pub async fn update_zone(
    c: &Clients,
    prior: &Attrs,
    config: &Attrs,
) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", ZONE)?;
    let w = zone_what(name);
    let id = required(prior, "zone_id", ZONE)?;
    c.route53
        .update_hosted_zone_comment()
        .id(id)
        .comment(optional(config, "comment").unwrap_or(""))
        .send()
        .await
        .named(&w)?;
    let mut result = config.clone();
    for k in ["zone_id", "name_servers"] {
        if let Some(v) = prior.get(k) {
            result.insert(k.into(), v.clone());
        }
    }
    Ok(result)
}

/// The zone as it is: `None` when it does not exist.
pub async fn read_zone(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let id = required(prior, "zone_id", ZONE)?;
    let w = zone_what(optional(prior, "name").unwrap_or(id));
    let Some(out) = c
        .route53
        .get_hosted_zone()
        .id(id)
        .send()
        .await
        .or_missing(&w, NO_ZONE)?
    else {
        return Ok(None);
    };
    let Some(zone) = out.hosted_zone() else {
        return Ok(None);
    };
    let mut attrs = prior.clone();
    if optional(prior, "name").map(normal_name) != Some(normal_name(zone.name())) {
        attrs.insert(
            "name".into(),
            Value::string(zone.name().trim_end_matches('.')),
        );
    }
    match zone
        .config()
        .and_then(|c| c.comment())
        .filter(|s| !s.is_empty())
    {
        Some(comment) => attrs.insert("comment".into(), Value::string(comment)),
        None => attrs.remove("comment"),
    };
    let servers: Vec<String> = out
        .delegation_set()
        .map(|d| d.name_servers().to_vec())
        .unwrap_or_default();
    attrs.insert("name_servers".into(), list_value(&servers));
    Ok(Some(attrs))
}

/// Deletes the zone (gone already is fine). Route 53 refuses a zone that still has
/// records other than its SOA and NS; those are the records' own objects to delete.
pub async fn delete_zone(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let id = required(prior, "zone_id", ZONE)?;
    let w = zone_what(optional(prior, "name").unwrap_or(id));
    c.route53
        .delete_hosted_zone()
        .id(id)
        .send()
        .await
        .or_missing(&w, NO_ZONE)?;
    Ok(())
}

/// A record set's identity and values.
struct RecordSpec {
    zone_id: String,
    name: String,
    rtype: RrType,
    ttl: i64,
    records: Vec<String>,
}

fn record_what(a: &Attrs) -> String {
    format!(
        "{RECORD} {:?} ({})",
        optional(a, "name").unwrap_or_default(),
        optional(a, "type").unwrap_or_default()
    )
}

impl RecordSpec {
    /// Zone, name and type of a record set (its values may be unknown).
    fn identity(a: &Attrs) -> Result<RecordSpec, ProviderError> {
        Ok(RecordSpec {
            zone_id: bare_zone_id(required(a, "zone_id", RECORD)?).to_string(),
            name: required(a, "name", RECORD)?.to_string(),
            rtype: RrType::from(required(a, "type", RECORD)?.to_ascii_uppercase().as_str()),
            ttl: 300,
            records: vec![],
        })
    }

    fn from(config: &Attrs) -> Result<RecordSpec, ProviderError> {
        let w = record_what(config);
        let records = string_list(config, "records")?.unwrap_or_default();
        if records.is_empty() {
            return Err(ProviderError::Invalid(format!(
                "{w}: `records` needs at least one value"
            )));
        }
        Ok(RecordSpec {
            zone_id: bare_zone_id(required(config, "zone_id", RECORD)?).to_string(),
            name: required(config, "name", RECORD)?.to_string(),
            rtype: RrType::from(
                required(config, "type", RECORD)?
                    .to_ascii_uppercase()
                    .as_str(),
            ),
            ttl: int_attr(config, "ttl").unwrap_or(300),
            records,
        })
    }

    fn set(&self, w: &str) -> Result<ResourceRecordSet, ProviderError> {
        let records = self
            .records
            .iter()
            .map(|r| ResourceRecord::builder().value(r).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| build_error(w, e))?;
        ResourceRecordSet::builder()
            .name(&self.name)
            .r#type(self.rtype.clone())
            .ttl(self.ttl)
            .set_resource_records(Some(records))
            .build()
            .map_err(|e| build_error(w, e))
    }
}

/// Sends one batch of changes (applied whole or not at all) and waits until it is in
/// sync.
async fn change(
    c: &Clients,
    zone_id: &str,
    changes: Vec<(ChangeAction, ResourceRecordSet)>,
    w: &str,
) -> Result<(), ProviderError> {
    let changes = changes
        .into_iter()
        .map(|(action, set)| {
            Change::builder()
                .action(action)
                .resource_record_set(set)
                .build()
                .map_err(|e| build_error(w, e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = ChangeBatch::builder()
        .set_changes(Some(changes))
        .build()
        .map_err(|e| build_error(w, e))?;
    let out = c
        .route53
        .change_resource_record_sets()
        .hosted_zone_id(zone_id)
        .change_batch(batch)
        .send()
        .await
        .named(w)?;
    let Some(info) = out.change_info() else {
        return Ok(());
    };
    let start = Instant::now();
    let mut delay = Duration::from_millis(500);
    let mut status = info.status().clone();
    while status != ChangeStatus::Insync {
        if start.elapsed() > c.settle {
            // Accepted, and Route 53 will finish it; waiting longer helps no one.
            return Ok(());
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
        status = c
            .route53
            .get_change()
            .id(info.id())
            .send()
            .await
            .named(w)?
            .change_info()
            .map(|i| i.status().clone())
            .unwrap_or(ChangeStatus::Insync);
    }
    Ok(())
}

/// The name of the TXT record that carries the ownership marker of the record set
/// `name`/`rtype` (a record set cannot carry tags; its zone may be someone else's):
/// `_baton-owner.<type>.<name>`, as external-dns keeps its registry beside each record.
fn marker_name(name: &str, rtype: &RrType) -> String {
    format!(
        "_baton-owner.{}.{}",
        rtype.as_str().to_ascii_lowercase(),
        name.trim_end_matches('.')
    )
}

/// The TXT record set holding `owner`'s marker for the record set `spec` names.
fn marker_set(
    spec: &RecordSpec,
    owner: &Owner,
    w: &str,
) -> Result<ResourceRecordSet, ProviderError> {
    RecordSpec {
        zone_id: spec.zone_id.clone(),
        name: marker_name(&spec.name, &spec.rtype),
        rtype: RrType::Txt,
        ttl: spec.ttl,
        records: vec![format!("\"{}\"", owner.marker())],
    }
    .set(w)
}

/// Creates the record set and, in the same change batch (Route 53 applies a batch
/// whole or not at all), the TXT record carrying the owner's marker. Route 53 refuses
/// a record set that exists already (`CREATE`), which is reported as existing.
pub async fn create_record(
    c: &Clients,
    config: &Attrs,
    owner: &Owner,
) -> Result<Attrs, ProviderError> {
    let spec = RecordSpec::from(config)?;
    let w = record_what(config);
    // Route 53 refuses the batch when the record set exists; not every implementation
    // of its API does (moto replaces it), so it is looked for first.
    if find(c, &spec.zone_id, &spec.name, &spec.rtype, &w)
        .await?
        .is_some()
    {
        return Err(exists(&w));
    }
    let changes = vec![
        (ChangeAction::Create, spec.set(&w)?),
        (ChangeAction::Create, marker_set(&spec, owner, &w)?),
    ];
    match change(c, &spec.zone_id, changes, &w).await {
        Err(ProviderError::Failed(m)) if m.contains("already exists") => Err(exists(&w)),
        other => other,
    }?;
    Ok(config.clone())
}

/// The marker the record set `found` names carries: the value of its marker TXT record
/// (`None`: no such record).
pub async fn record_marker(c: &Clients, found: &Attrs) -> Result<Option<String>, ProviderError> {
    let spec = RecordSpec::identity(found)?;
    let w = record_what(found);
    let name = marker_name(&spec.name, &spec.rtype);
    Ok(find(c, &spec.zone_id, &name, &RrType::Txt, &w)
        .await?
        .and_then(|set| {
            set.resource_records()
                .iter()
                .map(|r| r.value().trim_matches('"').to_string())
                .find(|v| v.starts_with("baton:"))
        }))
}

/// Writes `owner`'s marker beside an existing record set (`UPSERT` of its marker TXT).
pub async fn mark_record(c: &Clients, found: &Attrs, owner: &Owner) -> Result<(), ProviderError> {
    let spec = RecordSpec::identity(found)?;
    let w = record_what(found);
    change(
        c,
        &spec.zone_id,
        vec![(ChangeAction::Upsert, marker_set(&spec, owner, &w)?)],
        &w,
    )
    .await
}

/// Replaces TTL and values (`UPSERT`).
pub async fn update_record(
    c: &Clients,
    _prior: &Attrs,
    config: &Attrs,
) -> Result<Attrs, ProviderError> {
    let spec = RecordSpec::from(config)?;
    let w = record_what(config);
    change(
        c,
        &spec.zone_id,
        vec![(ChangeAction::Upsert, spec.set(&w)?)],
        &w,
    )
    .await?;
    Ok(config.clone())
}

/// The record set of that name and type as Route 53 has it.
async fn find(
    c: &Clients,
    zone_id: &str,
    name: &str,
    rtype: &RrType,
    w: &str,
) -> Result<Option<ResourceRecordSet>, ProviderError> {
    let Some(out) = c
        .route53
        .list_resource_record_sets()
        .hosted_zone_id(zone_id)
        .start_record_name(name)
        .start_record_type(rtype.clone())
        .max_items(1)
        .send()
        .await
        .or_missing(w, NO_ZONE)?
    else {
        return Ok(None);
    };
    Ok(out
        .resource_record_sets()
        .iter()
        .find(|s| normal_name(s.name()) == normal_name(name) && s.r#type() == rtype)
        .cloned())
}

/// The record set as it is: `None` when it (or its zone) does not exist.
pub async fn read_record(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let zone_id = bare_zone_id(required(prior, "zone_id", RECORD)?);
    let name = required(prior, "name", RECORD)?;
    let rtype = RrType::from(
        required(prior, "type", RECORD)?
            .to_ascii_uppercase()
            .as_str(),
    );
    let w = record_what(prior);
    let Some(set) = find(c, zone_id, name, &rtype, &w).await? else {
        return Ok(None);
    };
    let mut out = prior.clone();
    if let Some(ttl) = set.ttl()
        && int_attr(prior, "ttl") != Some(ttl)
    {
        out.insert("ttl".into(), Value::int(ttl));
    }
    let actual: Vec<String> = set
        .resource_records()
        .iter()
        .map(|r| r.value().to_string())
        .collect();
    // The same values in another order are the same record set.
    let mut a = actual.clone();
    a.sort();
    let mut recorded = string_list(prior, "records")
        .ok()
        .flatten()
        .unwrap_or_default();
    recorded.sort();
    if a != recorded {
        out.insert("records".into(), list_value(&actual));
    }
    Ok(Some(out))
}

/// Deletes the record set. Route 53 deletes only an exact match, so the current values
/// are read first; gone already is fine.
pub async fn delete_record(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let zone_id = bare_zone_id(required(prior, "zone_id", RECORD)?);
    let name = required(prior, "name", RECORD)?;
    let rtype = RrType::from(
        required(prior, "type", RECORD)?
            .to_ascii_uppercase()
            .as_str(),
    );
    let w = record_what(prior);
    let Some(set) = find(c, zone_id, name, &rtype, &w).await? else {
        return Ok(());
    };
    // The marker goes with the record, in one batch.
    let mut changes = vec![(ChangeAction::Delete, set)];
    if let Some(marker) = find(c, zone_id, &marker_name(name, &rtype), &RrType::Txt, &w).await? {
        changes.push((ChangeAction::Delete, marker));
    }
    match change(c, zone_id, changes, &w).await {
        // Deleted by someone else in between.
        Err(ProviderError::Failed(m)) if m.contains("not found") => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_in_route53_form() {
        assert_eq!(normal_name("\\052.Example.COM."), "*.example.com");
        assert_eq!(bare_zone_id("/hostedzone/Z123"), "Z123");
    }
}
