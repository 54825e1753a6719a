//! `aws_elasticache_replication_group`: a Redis (or Valkey) replication group on
//! ElastiCache, cluster mode disabled: one primary and `num_cache_clusters - 1`
//! replicas, with TLS, encryption at rest and an AUTH token.
//!
//! What forces a new group follows Terraform's aws provider: the id, the engine, the
//! port, the subnet group and both encryption settings. The node type, description,
//! replica count, failover, backups, security groups, version and the AUTH token are
//! changed in place (`ModifyReplicationGroup`, `Increase/DecreaseReplicaCount`); a new
//! AUTH token is added with the `ROTATE` strategy, so clients holding the old one keep
//! working until they restart with the new one.
//!
//! AWS never returns the AUTH token, and reports neither the engine version nor the
//! security groups on the group itself: those three are not read back (a change made
//! outside baton to them is not seen). Everything else is, and a group deleted or being
//! deleted reads as gone. Creating, changing and deleting wait until AWS reports the
//! group `available` (or gone), for up to an hour.

use std::time::Duration;

use aws_sdk_elasticache::types::{AuthTokenUpdateStrategyType, ReplicationGroup, Tag};

use super::common::{
    Tags, exists, optional, put_observed, put_tags, required, tag_changes, tags, wait_for,
    with_owner,
};
use super::config::Clients;
use super::error::{Fault, Named};
use crate::provider::server::string_list;
use crate::provider::{
    AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, bool_attr, str_attr,
};
use crate::value::Value;

/// The kind served.
pub const GROUP: &str = "aws_elasticache_replication_group";

const MISSING: &[&str] = &["ReplicationGroupNotFoundFault", "ReplicationGroupNotFound"];

/// How long create, modify and delete wait for the group (Terraform waits 40–60 min).
const WAIT: Duration = Duration::from_secs(60 * 60);

fn managed() -> Value {
    Value::string("Managed by baton")
}
fn redis() -> Value {
    Value::string("redis")
}
fn port_6379() -> Value {
    Value::int(6379)
}
fn yes() -> Value {
    Value::Bool(true)
}
fn no() -> Value {
    Value::Bool(false)
}
fn zero() -> Value {
    Value::int(0)
}
fn one() -> Value {
    Value::int(1)
}

/// The schema of `aws_elasticache_replication_group`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: GROUP,
        provider: "aws",
        description: "An ElastiCache Redis/Valkey replication group (cluster mode disabled); node type, replicas, backups, tags changed or the group deleted outside baton show as drift.",
        attributes: vec![
            AttrSchema::required(
                "replication_group_id",
                AttrType::String,
                "Group id: up to 40 lower-case letters, digits and hyphens, starting with a letter.",
            )
            .force_new(),
            AttrSchema::optional("description", AttrType::String, "Description.").default(managed),
            AttrSchema::optional("engine", AttrType::String, "\"redis\" or \"valkey\".")
                .default(redis)
                .force_new(),
            AttrSchema::optional(
                "engine_version",
                AttrType::String,
                "Engine version (default: AWS's; not read back).",
            ),
            AttrSchema::required(
                "node_type",
                AttrType::String,
                "Node type, e.g. \"cache.t4g.micro\".",
            ),
            AttrSchema::optional(
                "num_cache_clusters",
                AttrType::Number,
                "Nodes: the primary and its replicas (1–6).",
            )
            .default(one),
            AttrSchema::optional("port", AttrType::Number, "Port.")
                .default(port_6379)
                .force_new(),
            AttrSchema::optional(
                "automatic_failover_enabled",
                AttrType::Bool,
                "Promote a replica when the primary fails (needs 2 nodes or more).",
            )
            .default(no),
            AttrSchema::optional(
                "multi_az_enabled",
                AttrType::Bool,
                "Keep replicas in other zones (needs automatic failover).",
            )
            .default(no),
            AttrSchema::optional(
                "transit_encryption_enabled",
                AttrType::Bool,
                "TLS between clients and nodes (needed for an AUTH token).",
            )
            .default(yes)
            .force_new(),
            AttrSchema::optional(
                "at_rest_encryption_enabled",
                AttrType::Bool,
                "Encrypt data on disk.",
            )
            .default(yes)
            .force_new(),
            AttrSchema::optional(
                "auth_token",
                AttrType::String,
                "AUTH token (16–128 printable characters without \", / or @; AWS never returns it).",
            )
            .sensitive(),
            AttrSchema::optional(
                "snapshot_retention_limit",
                AttrType::Number,
                "Days automatic snapshots are kept (0: none).",
            )
            .default(zero),
            AttrSchema::optional(
                "subnet_group_name",
                AttrType::String,
                "Cache subnet group (default: the default VPC).",
            )
            .force_new(),
            AttrSchema::optional(
                "security_group_ids",
                AttrType::List,
                "VPC security groups (not read back).",
            ),
            AttrSchema::optional(
                "apply_immediately",
                AttrType::Bool,
                "Make changes now rather than in the next maintenance window.",
            )
            .default(no),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::computed("arn", AttrType::String, "The group's ARN."),
            AttrSchema::computed(
                "primary_endpoint_address",
                AttrType::String,
                "Host name of the primary (reads and writes).",
            ),
            AttrSchema::computed(
                "reader_endpoint_address",
                AttrType::String,
                "Host name spreading reads over the replicas.",
            ),
        ],
        create_before_destroy: false,
    }
}

fn what(id: &str) -> String {
    format!("{GROUP} {id:?}")
}

fn number(attrs: &Attrs, name: &str, default: i32, w: &str) -> Result<i32, ProviderError> {
    match attrs.get(name).filter(|v| !v.is_null()) {
        None => Ok(default),
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| *n >= 0)
            .ok_or_else(|| {
                ProviderError::Invalid(format!("{w}: `{name}` must be a whole number ≥ 0"))
            }),
    }
}

/// The AUTH token, checked as ElastiCache would (without ever showing it).
fn auth_token<'a>(attrs: &'a Attrs, w: &str) -> Result<Option<&'a str>, ProviderError> {
    let Some(t) = str_attr(attrs, "auth_token") else {
        return Ok(None);
    };
    if !(16..=128).contains(&t.len())
        || t.chars()
            .any(|c| !c.is_ascii_graphic() || matches!(c, '"' | '/' | '@'))
    {
        return Err(ProviderError::Invalid(format!(
            "{w}: auth_token must be 16–128 printable characters without \", / or @"
        )));
    }
    if !bool_attr(attrs, "transit_encryption_enabled").unwrap_or(true) {
        return Err(ProviderError::Invalid(format!(
            "{w}: an auth_token needs transit_encryption_enabled = true"
        )));
    }
    Ok(Some(t))
}

fn tag_list(t: Tags) -> Vec<Tag> {
    t.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The group whatever its status; `None` when there is none.
async fn describe_any(
    c: &Clients,
    id: &str,
    w: &str,
) -> Result<Option<ReplicationGroup>, ProviderError> {
    let out = c
        .elasticache
        .describe_replication_groups()
        .replication_group_id(id)
        .send()
        .await
        .or_missing(w, MISSING)?;
    Ok(out.and_then(|o| o.replication_groups().first().cloned()))
}

/// The group, or `None` when there is none or it is being deleted.
async fn describe(
    c: &Clients,
    id: &str,
    w: &str,
) -> Result<Option<ReplicationGroup>, ProviderError> {
    Ok(describe_any(c, id, w)
        .await?
        .filter(|g| g.status() != Some("deleting")))
}

async fn wait_available(c: &Clients, id: &str, w: &str) -> Result<ReplicationGroup, ProviderError> {
    wait_for(c.settle.max(WAIT), w, "available", || async {
        Ok(match describe(c, id, w).await? {
            Some(g) if g.status() == Some("available") => Ok(g),
            Some(g) => Err(g.status().unwrap_or("unknown").to_string()),
            None => Err("not found".to_string()),
        })
    })
    .await
}

fn result(config: &Attrs, g: &ReplicationGroup) -> Attrs {
    let mut out = config.clone();
    let group = g.node_groups().first();
    let primary = group
        .and_then(|n| n.primary_endpoint())
        .or(g.configuration_endpoint())
        .and_then(|e| e.address())
        .unwrap_or_default();
    let reader = group
        .and_then(|n| n.reader_endpoint())
        .and_then(|e| e.address())
        .unwrap_or(primary);
    out.insert("arn".into(), Value::string(g.arn().unwrap_or_default()));
    out.insert("primary_endpoint_address".into(), Value::string(primary));
    out.insert("reader_endpoint_address".into(), Value::string(reader));
    out
}

/// Creates the group and waits until it is available; it carries the owner's
/// marker as a tag from the start.
pub async fn create(c: &Clients, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
    let id = required(config, "replication_group_id", GROUP)?;
    let w = what(id);
    let token = auth_token(config, &w)?;
    let secrets: Vec<&str> = token.into_iter().collect();
    let t = with_owner(tags(config, &w)?, owner);
    let out = c
        .elasticache
        .create_replication_group()
        .replication_group_id(id)
        .replication_group_description(
            optional(config, "description").unwrap_or("Managed by baton"),
        )
        .engine(optional(config, "engine").unwrap_or("redis"))
        .set_engine_version(optional(config, "engine_version").map(str::to_string))
        .cache_node_type(required(config, "node_type", &w)?)
        .num_cache_clusters(number(config, "num_cache_clusters", 1, &w)?)
        .port(number(config, "port", 6379, &w)?)
        .automatic_failover_enabled(
            bool_attr(config, "automatic_failover_enabled").unwrap_or(false),
        )
        .multi_az_enabled(bool_attr(config, "multi_az_enabled").unwrap_or(false))
        .transit_encryption_enabled(bool_attr(config, "transit_encryption_enabled").unwrap_or(true))
        .at_rest_encryption_enabled(bool_attr(config, "at_rest_encryption_enabled").unwrap_or(true))
        .set_auth_token(token.map(str::to_string))
        .snapshot_retention_limit(number(config, "snapshot_retention_limit", 0, &w)?)
        .set_cache_subnet_group_name(optional(config, "subnet_group_name").map(str::to_string))
        .set_security_group_ids(string_list(config, "security_group_ids")?)
        .set_tags(Some(tag_list(t)))
        .send()
        .await;
    if let Err(e) = out {
        let f = Fault::from(e);
        if f.is(&[
            "ReplicationGroupAlreadyExists",
            "ReplicationGroupAlreadyExistsFault",
        ]) {
            return Err(exists(&w));
        }
        return Err(f.error(&w, &secrets));
    }
    let g = wait_available(c, id, &w).await?;
    Ok(result(config, &g))
}

/// Sets what changed, the replica count, and the tags.
pub async fn update(c: &Clients, prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let id = required(config, "replication_group_id", GROUP)?;
    let w = what(id);
    let token = auth_token(config, &w)?;
    let secrets: Vec<&str> = token.into_iter().collect();
    let mut immediately = bool_attr(config, "apply_immediately").unwrap_or(false);
    let Some(before) = describe(c, id, &w).await? else {
        return Err(ProviderError::Failed(format!("{w} does not exist")));
    };
    let differs = |name: &str| prior.get(name) != config.get(name);
    let mut req = c
        .elasticache
        .modify_replication_group()
        .replication_group_id(id);
    let mut changed = false;
    if differs("description") {
        req = req.replication_group_description(
            optional(config, "description").unwrap_or("Managed by baton"),
        );
        changed = true;
    }
    if differs("node_type") {
        req = req.cache_node_type(required(config, "node_type", &w)?);
        changed = true;
    }
    if let Some(v) = optional(config, "engine_version")
        && differs("engine_version")
    {
        req = req.engine_version(v);
        changed = true;
    }
    if differs("automatic_failover_enabled") {
        req = req.automatic_failover_enabled(
            bool_attr(config, "automatic_failover_enabled").unwrap_or(false),
        );
        changed = true;
    }
    if differs("multi_az_enabled") {
        req = req.multi_az_enabled(bool_attr(config, "multi_az_enabled").unwrap_or(false));
        changed = true;
    }
    if differs("snapshot_retention_limit") {
        req = req.snapshot_retention_limit(number(config, "snapshot_retention_limit", 0, &w)?);
        changed = true;
    }
    if let Some(groups) = string_list(config, "security_group_ids")?
        && differs("security_group_ids")
    {
        req = req.set_security_group_ids(Some(groups));
        changed = true;
    }
    if let Some(t) = token
        && str_attr(prior, "auth_token") != Some(t)
    {
        // A token change must be applied at once; ROTATE keeps the old one valid too.
        req = req
            .auth_token(t)
            .auth_token_update_strategy(AuthTokenUpdateStrategyType::Rotate);
        immediately = true;
        changed = true;
    }
    if changed {
        req.apply_immediately(immediately)
            .send()
            .await
            .named_secret(&w, &secrets)?;
        if immediately {
            wait_available(c, id, &w).await?;
        }
    }
    let nodes = number(config, "num_cache_clusters", 1, &w)?;
    let now = i32::try_from(before.member_clusters().len()).unwrap_or(1);
    if nodes != now {
        if nodes < 1 {
            return Err(ProviderError::Invalid(format!(
                "{w}: num_cache_clusters must be at least 1"
            )));
        }
        if nodes > now {
            c.elasticache
                .increase_replica_count()
                .replication_group_id(id)
                .new_replica_count(nodes - 1)
                .apply_immediately(true)
                .send()
                .await
                .named(&w)?;
        } else {
            c.elasticache
                .decrease_replica_count()
                .replication_group_id(id)
                .new_replica_count(nodes - 1)
                .apply_immediately(true)
                .send()
                .await
                .named(&w)?;
        }
        wait_available(c, id, &w).await?;
    }
    let arn = before.arn().unwrap_or_default().to_string();
    let actual = list_tags(c, &arn, &w).await?;
    let (set, remove) = tag_changes(&actual, &tags(config, &w)?);
    if !remove.is_empty() {
        c.elasticache
            .remove_tags_from_resource()
            .resource_name(&arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .named(&w)?;
    }
    add_to(c, &arn, set, &w).await?;
    let g = describe(c, id, &w).await?.unwrap_or(before);
    Ok(result(config, &g))
}

/// Adds (or changes) the tags `set` of the resource `arn`.
async fn add_to(c: &Clients, arn: &str, set: Tags, w: &str) -> Result<(), ProviderError> {
    if set.is_empty() {
        return Ok(());
    }
    c.elasticache
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(tag_list(set)))
        .send()
        .await
        .named(w)?;
    Ok(())
}

/// The tags of the object `found` names, the ownership tag included (`None`: there
/// is none, or it is being deleted).
pub async fn owner_tags(c: &Clients, found: &Attrs) -> Result<Option<Tags>, ProviderError> {
    let id = required(found, "replication_group_id", GROUP)?;
    let w = what(id);
    match describe(c, id, &w).await? {
        Some(d) => list_tags(c, d.arn().unwrap_or_default(), &w)
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// Adds `extra` to the tags of the object `found` names.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let id = required(found, "replication_group_id", GROUP)?;
    let w = what(id);
    let d = describe(c, id, &w)
        .await?
        .ok_or_else(|| ProviderError::Failed(format!("{w} does not exist")))?;
    add_to(c, d.arn().unwrap_or_default(), extra.clone(), &w).await
}

async fn list_tags(c: &Clients, arn: &str, w: &str) -> Result<Tags, ProviderError> {
    let out = c
        .elasticache
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .named(w)?;
    Ok(out
        .tag_list()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// The group as it is: `None` when it does not exist or is being deleted.
pub async fn read(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let id = required(prior, "replication_group_id", GROUP)?;
    let w = what(id);
    let Some(g) = describe(c, id, &w).await? else {
        return Ok(None);
    };
    let mut out = prior.clone();
    if let Some(d) = g.description() {
        out.insert("description".into(), Value::string(d));
    }
    if let Some(e) = g.engine() {
        out.insert("engine".into(), Value::string(e));
    }
    if let Some(t) = g.cache_node_type() {
        out.insert("node_type".into(), Value::string(t));
    }
    put_observed(
        &mut out,
        "num_cache_clusters",
        Value::int(g.member_clusters().len() as i64),
    );
    if let Some(p) = g
        .node_groups()
        .first()
        .and_then(|n| n.primary_endpoint())
        .or(g.configuration_endpoint())
        .and_then(|e| e.port())
    {
        put_observed(&mut out, "port", Value::int(p.into()));
    }
    let enabled = |s: Option<&str>| s.is_some_and(|s| s == "enabled" || s == "enabling");
    out.insert(
        "automatic_failover_enabled".into(),
        Value::Bool(enabled(g.automatic_failover().map(|a| a.as_str()))),
    );
    out.insert(
        "multi_az_enabled".into(),
        Value::Bool(enabled(g.multi_az().map(|a| a.as_str()))),
    );
    out.insert(
        "transit_encryption_enabled".into(),
        Value::Bool(g.transit_encryption_enabled().unwrap_or(false)),
    );
    out.insert(
        "at_rest_encryption_enabled".into(),
        Value::Bool(g.at_rest_encryption_enabled().unwrap_or(false)),
    );
    put_observed(
        &mut out,
        "snapshot_retention_limit",
        Value::int(g.snapshot_retention_limit().unwrap_or(0).into()),
    );
    // An AUTH token removed outside baton is seen; its value never is.
    if g.auth_token_enabled() == Some(false) {
        out.remove("auth_token");
    }
    let arn = g.arn().unwrap_or_default().to_string();
    put_tags(&mut out, list_tags(c, &arn, &w).await?, prior);
    out.extend(result(&Attrs::new(), &g));
    Ok(Some(out))
}

/// Deletes the group (all its nodes) and waits until it is gone, so that a replacement
/// can take its id.
pub async fn delete(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let id = required(prior, "replication_group_id", GROUP)?;
    let w = what(id);
    let deleting = describe_any(c, id, &w)
        .await?
        .is_some_and(|g| g.status() == Some("deleting"));
    if !deleting {
        c.elasticache
            .delete_replication_group()
            .replication_group_id(id)
            .retain_primary_cluster(false)
            .send()
            .await
            .or_missing(&w, MISSING)?;
    }
    wait_for(c.settle.max(WAIT), &w, "deleted", || async {
        Ok(match describe_any(c, id, &w).await? {
            None => Ok(()),
            Some(g) => Err(g.status().unwrap_or("unknown").to_string()),
        })
    })
    .await
}
