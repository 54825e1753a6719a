//! `aws_dynamodb_table`: a table with a hash (and optional range) key, on-demand or
//! provisioned capacity, an optional TTL attribute and tags. Creating or changing a
//! table waits until it is `ACTIVE`, since AWS refuses further changes until then.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ProvisionedThroughput,
    ScalarAttributeType, TableDescription, TableStatus, Tag, TimeToLiveSpecification,
    TimeToLiveStatus,
};

use super::common::{
    Tags, exists, optional, put_observed, put_tags, required, tag_changes, tags, with_owner,
};
use super::config::Clients;
use super::error::{Named, build_error};
use crate::provider::{AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, int_attr};
use crate::value::Value;

/// The kind served.
pub const TABLE: &str = "aws_dynamodb_table";

const MISSING: &[&str] = &["ResourceNotFoundException"];

fn s() -> Value {
    Value::string("S")
}
fn on_demand() -> Value {
    Value::string("PAY_PER_REQUEST")
}

/// The schema of `aws_dynamodb_table`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: TABLE,
        provider: "aws",
        description: "A DynamoDB table; capacity, TTL and tags changed outside baton show as drift.",
        attributes: vec![
            AttrSchema::required("name", AttrType::String, "Table name.").force_new(),
            AttrSchema::required("hash_key", AttrType::String, "Partition key attribute.")
                .force_new(),
            AttrSchema::optional(
                "hash_key_type",
                AttrType::String,
                "S (string), N (number) or B (binary).",
            )
            .default(s)
            .force_new(),
            AttrSchema::optional("range_key", AttrType::String, "Sort key attribute.").force_new(),
            AttrSchema::optional(
                "range_key_type",
                AttrType::String,
                "S, N or B (with range_key).",
            )
            .default(s)
            .force_new(),
            AttrSchema::optional(
                "billing_mode",
                AttrType::String,
                "PAY_PER_REQUEST or PROVISIONED.",
            )
            .default(on_demand),
            AttrSchema::optional(
                "read_capacity",
                AttrType::Number,
                "Read capacity units (PROVISIONED).",
            ),
            AttrSchema::optional(
                "write_capacity",
                AttrType::Number,
                "Write capacity units (PROVISIONED).",
            ),
            AttrSchema::optional(
                "ttl_attribute",
                AttrType::String,
                "Attribute holding each item's expiry (epoch seconds).",
            ),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::computed("arn", AttrType::String, "The table's ARN."),
        ],
        create_before_destroy: false,
    }
}

fn what(name: &str) -> String {
    format!("{TABLE} {name:?}")
}

fn scalar(config: &Attrs, attr: &str, w: &str) -> Result<ScalarAttributeType, ProviderError> {
    match optional(config, attr).unwrap_or("S") {
        "S" => Ok(ScalarAttributeType::S),
        "N" => Ok(ScalarAttributeType::N),
        "B" => Ok(ScalarAttributeType::B),
        other => Err(ProviderError::Invalid(format!(
            "{w}: {attr} {other:?} is not S, N or B"
        ))),
    }
}

/// Billing mode and, when provisioned, the throughput.
fn billing(
    config: &Attrs,
    w: &str,
) -> Result<(BillingMode, Option<ProvisionedThroughput>), ProviderError> {
    match optional(config, "billing_mode").unwrap_or("PAY_PER_REQUEST") {
        "PAY_PER_REQUEST" => Ok((BillingMode::PayPerRequest, None)),
        "PROVISIONED" => {
            let units = |a: &str| {
                int_attr(config, a).filter(|n| *n >= 1).ok_or_else(|| {
                    ProviderError::Invalid(format!(
                        "{w}: PROVISIONED needs `{a}` (a whole number ≥ 1)"
                    ))
                })
            };
            let t = ProvisionedThroughput::builder()
                .read_capacity_units(units("read_capacity")?)
                .write_capacity_units(units("write_capacity")?)
                .build()
                .map_err(|e| build_error(w, e))?;
            Ok((BillingMode::Provisioned, Some(t)))
        }
        other => Err(ProviderError::Invalid(format!(
            "{w}: billing_mode {other:?} is not PAY_PER_REQUEST or PROVISIONED"
        ))),
    }
}

/// Creates the table with its tags and the owner's marker, waits for it, then sets its
/// TTL attribute.
pub async fn create(c: &Clients, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", TABLE)?;
    let w = what(name);
    let hash = required(config, "hash_key", TABLE)?;
    let mut keys = vec![
        KeySchemaElement::builder()
            .attribute_name(hash)
            .key_type(KeyType::Hash)
            .build()
            .map_err(|e| build_error(&w, e))?,
    ];
    let mut defs = vec![
        AttributeDefinition::builder()
            .attribute_name(hash)
            .attribute_type(scalar(config, "hash_key_type", &w)?)
            .build()
            .map_err(|e| build_error(&w, e))?,
    ];
    if let Some(range) = optional(config, "range_key") {
        keys.push(
            KeySchemaElement::builder()
                .attribute_name(range)
                .key_type(KeyType::Range)
                .build()
                .map_err(|e| build_error(&w, e))?,
        );
        defs.push(
            AttributeDefinition::builder()
                .attribute_name(range)
                .attribute_type(scalar(config, "range_key_type", &w)?)
                .build()
                .map_err(|e| build_error(&w, e))?,
        );
    }
    let (mode, throughput) = billing(config, &w)?;
    let tag_list = with_owner(tags(config, &w)?, owner)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_error(&w, e))?;
    let out = c
        .dynamodb
        .create_table()
        .table_name(name)
        .set_key_schema(Some(keys))
        .set_attribute_definitions(Some(defs))
        .billing_mode(mode)
        .set_provisioned_throughput(throughput)
        .set_tags(Some(tag_list))
        .send()
        .await;
    if let Err(e) = out {
        let f = super::error::Fault::from(e);
        if f.is(&["ResourceInUseException"]) {
            return Err(exists(&w));
        }
        return Err(f.error(&w, &[]));
    }
    let table = wait_active(c, name, &w).await?;
    if let Some(ttl) = optional(config, "ttl_attribute") {
        set_ttl(c, name, ttl, true, &w).await?;
    }
    let mut result = config.clone();
    result.insert(
        "arn".into(),
        Value::string(table.table_arn().unwrap_or_default()),
    );
    Ok(result)
}

async fn describe(
    c: &Clients,
    name: &str,
    w: &str,
) -> Result<Option<TableDescription>, ProviderError> {
    let out = c
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .or_missing(w, MISSING)?;
    Ok(out.and_then(|o| o.table().cloned()))
}

/// Polls until the table is `ACTIVE` (new tables and capacity changes take seconds to
/// minutes on AWS).
async fn wait_active(c: &Clients, name: &str, w: &str) -> Result<TableDescription, ProviderError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(200);
    loop {
        let table = describe(c, name, w).await?;
        match &table {
            Some(t) if t.table_status() == Some(&TableStatus::Active) => return Ok(t.clone()),
            _ if start.elapsed() > c.settle => {
                return Err(ProviderError::Transient(format!(
                    "{w}: not ACTIVE after {:.0?} (status {:?})",
                    start.elapsed(),
                    table.as_ref().and_then(|t| t.table_status().cloned())
                )));
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

async fn set_ttl(
    c: &Clients,
    name: &str,
    attr: &str,
    enabled: bool,
    w: &str,
) -> Result<(), ProviderError> {
    let spec = TimeToLiveSpecification::builder()
        .enabled(enabled)
        .attribute_name(attr)
        .build()
        .map_err(|e| build_error(w, e))?;
    c.dynamodb
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await
        .named(w)?;
    Ok(())
}

/// The TTL attribute while TTL is enabled (or being enabled).
async fn actual_ttl(c: &Clients, name: &str, w: &str) -> Result<Option<String>, ProviderError> {
    let out = c
        .dynamodb
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .named(w)?;
    Ok(out
        .time_to_live_description()
        .filter(|d| {
            matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
        })
        .and_then(|d| d.attribute_name().map(str::to_string)))
}

async fn actual_tags(c: &Clients, arn: &str, w: &str) -> Result<Tags, ProviderError> {
    let out = c
        .dynamodb
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .named(w)?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// Changes billing, capacity, TTL and tags to the configuration.
pub async fn update(c: &Clients, _prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", TABLE)?;
    let w = what(name);
    let table = describe(c, name, &w)
        .await?
        .ok_or_else(|| ProviderError::Failed(format!("{w} does not exist")))?;
    let (mode, throughput) = billing(config, &w)?;
    let current_mode = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode().cloned())
        .unwrap_or(BillingMode::Provisioned);
    let current = table.provisioned_throughput();
    let throughput_differs = throughput.as_ref().is_some_and(|t| {
        current.is_none_or(|cur| {
            cur.read_capacity_units() != Some(t.read_capacity_units())
                || cur.write_capacity_units() != Some(t.write_capacity_units())
        })
    });
    if current_mode != mode || throughput_differs {
        c.dynamodb
            .update_table()
            .table_name(name)
            .billing_mode(mode)
            .set_provisioned_throughput(throughput)
            .send()
            .await
            .named(&w)?;
        wait_active(c, name, &w).await?;
    }
    let want_ttl = optional(config, "ttl_attribute");
    let have_ttl = actual_ttl(c, name, &w).await?;
    if want_ttl != have_ttl.as_deref() {
        // One attribute at a time: the old one is disabled before another is enabled.
        if let Some(old) = &have_ttl {
            set_ttl(c, name, old, false, &w).await?;
        }
        if let Some(new) = want_ttl {
            set_ttl(c, name, new, true, &w).await?;
        }
    }
    let arn = table.table_arn().unwrap_or_default().to_string();
    let (set, remove) = tag_changes(&actual_tags(c, &arn, &w).await?, &tags(config, &w)?);
    retag(c, &arn, set, remove, &w).await?;
    let mut result = config.clone();
    result.insert("arn".into(), Value::string(arn));
    Ok(result)
}

/// Sets the tags `set` and removes the keys `remove` on the table `arn`.
async fn retag(
    c: &Clients,
    arn: &str,
    set: Tags,
    mut remove: Vec<String>,
    w: &str,
) -> Result<(), ProviderError> {
    // A changed value is removed first: TagResource overwrites on AWS, but moto adds a
    // second tag of the same key. Costs one call, and is correct on both.
    remove.extend(set.keys().cloned());
    if !remove.is_empty() {
        c.dynamodb
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .named(w)?;
    }
    if !set.is_empty() {
        let list = set
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| build_error(w, e))?;
        c.dynamodb
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(list))
            .send()
            .await
            .named(w)?;
    }
    Ok(())
}

/// The tags of the table `found` names, the ownership tag included (`None`: no such
/// table).
pub async fn owner_tags(c: &Clients, found: &Attrs) -> Result<Option<Tags>, ProviderError> {
    let name = required(found, "name", TABLE)?;
    let w = what(name);
    let Some(table) = describe(c, name, &w).await? else {
        return Ok(None);
    };
    actual_tags(c, table.table_arn().unwrap_or_default(), &w)
        .await
        .map(Some)
}

/// Adds `extra` to the tags of the table `found` names.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let name = required(found, "name", TABLE)?;
    let w = what(name);
    let table = describe(c, name, &w)
        .await?
        .ok_or_else(|| ProviderError::Failed(format!("{w} does not exist")))?;
    retag(
        c,
        table.table_arn().unwrap_or_default(),
        extra.clone(),
        Vec::new(),
        &w,
    )
    .await
}

/// The table as it is: `None` when it does not exist or is being deleted.
pub async fn read(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let name = required(prior, "name", TABLE)?;
    let w = what(name);
    let Some(table) = describe(c, name, &w).await? else {
        return Ok(None);
    };
    if table.table_status() == Some(&TableStatus::Deleting) {
        return Ok(None);
    }
    let mut out = prior.clone();
    let type_of = |attr: &str| {
        table
            .attribute_definitions()
            .iter()
            .find(|d| d.attribute_name() == attr)
            .map(|d| Value::string(d.attribute_type().as_str()))
            .unwrap_or(Value::Null)
    };
    for k in table.key_schema() {
        let (key, ty) = if k.key_type() == &KeyType::Hash {
            ("hash_key", "hash_key_type")
        } else {
            ("range_key", "range_key_type")
        };
        out.insert(key.into(), Value::string(k.attribute_name()));
        out.insert(ty.into(), type_of(k.attribute_name()));
    }
    if !table
        .key_schema()
        .iter()
        .any(|k| k.key_type() == &KeyType::Range)
    {
        out.remove("range_key");
    }
    let mode = table
        .billing_mode_summary()
        .and_then(|b| b.billing_mode().cloned())
        .unwrap_or(BillingMode::Provisioned);
    out.insert("billing_mode".into(), Value::string(mode.as_str()));
    if mode == BillingMode::Provisioned
        && let Some(t) = table.provisioned_throughput()
    {
        put_observed(
            &mut out,
            "read_capacity",
            t.read_capacity_units().map_or(Value::Null, Value::int),
        );
        put_observed(
            &mut out,
            "write_capacity",
            t.write_capacity_units().map_or(Value::Null, Value::int),
        );
    }
    match actual_ttl(c, name, &w).await? {
        Some(a) => out.insert("ttl_attribute".into(), Value::string(a)),
        None => out.remove("ttl_attribute"),
    };
    let arn = table.table_arn().unwrap_or_default().to_string();
    put_tags(&mut out, actual_tags(c, &arn, &w).await?, prior);
    out.insert("arn".into(), Value::string(arn));
    Ok(Some(out))
}

/// Deletes the table (gone already is fine).
pub async fn delete(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required(prior, "name", TABLE)?;
    c.dynamodb
        .delete_table()
        .table_name(name)
        .send()
        .await
        .or_missing(&what(name), MISSING)?;
    Ok(())
}
