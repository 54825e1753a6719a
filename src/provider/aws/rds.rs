//! `aws_db_instance`: an RDS database instance (PostgreSQL, MySQL, MariaDB, …) with its
//! master user, storage, backups, network placement and tags.
//!
//! What forces a new instance follows Terraform's aws provider: the identifier, the
//! engine, the initial database, the master user name, storage encryption and its key,
//! and the subnet group. Everything else is changed in place with `ModifyDBInstance`:
//! at once with `apply_immediately = true`, else in the next maintenance window. A read
//! reports a change AWS has accepted but not yet made (its *pending* value) as the
//! value, so an apply deferred to the window does not show as drift until then.
//!
//! AWS never returns the master password: a password changed outside baton cannot be
//! seen (as with Terraform); a changed `password` in the configuration is set in place.
//!
//! Creating, changing and deleting an instance take minutes: each waits until AWS
//! reports the instance `available` (or gone), for up to an hour. Deleting takes a final
//! snapshot named `final_snapshot_identifier` unless `skip_final_snapshot = true`; with
//! neither the delete is refused before anything is touched.

use std::time::Duration;

use aws_sdk_rds::types::{DbInstance, Tag};

use super::common::{
    Tags, exists, optional, put_observed, put_tags, required, tag_changes, tags, wait_for,
    with_owner,
};
use super::config::Clients;
use super::error::{Fault, Named};
use crate::provider::server::{list_value, string_list};
use crate::provider::{
    AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, bool_attr, int_attr, str_attr,
};
use crate::value::Value;

/// The kind served.
pub const INSTANCE: &str = "aws_db_instance";

const MISSING: &[&str] = &["DBInstanceNotFound", "DBInstanceNotFoundFault"];

/// How long create, modify and delete wait for the instance (Terraform waits 40–80 min).
const WAIT: Duration = Duration::from_secs(60 * 60);

fn gp3() -> Value {
    Value::string("gp3")
}
fn no() -> Value {
    Value::Bool(false)
}
fn one() -> Value {
    Value::int(1)
}

/// The schema of `aws_db_instance`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: INSTANCE,
        provider: "aws",
        description: "An RDS database instance; size, version, backups, tags changed or the instance deleted outside baton show as drift.",
        attributes: vec![
            AttrSchema::required(
                "identifier",
                AttrType::String,
                "Instance name: lower-case letters, digits and hyphens, starting with a letter.",
            )
            .force_new(),
            AttrSchema::required(
                "engine",
                AttrType::String,
                "\"postgres\", \"mysql\", \"mariadb\", …",
            )
            .force_new(),
            AttrSchema::optional(
                "engine_version",
                AttrType::String,
                "Engine version; \"16\" accepts any 16.x AWS picks (default: AWS's default).",
            ),
            AttrSchema::required(
                "instance_class",
                AttrType::String,
                "Instance class, e.g. \"db.t4g.micro\".",
            ),
            AttrSchema::required(
                "allocated_storage",
                AttrType::Number,
                "Storage in GiB (can only grow).",
            ),
            AttrSchema::optional(
                "storage_type",
                AttrType::String,
                "\"gp3\", \"gp2\", \"io1\", \"io2\" or \"standard\".",
            )
            .default(gp3),
            AttrSchema::optional(
                "db_name",
                AttrType::String,
                "Database created with the instance.",
            )
            .force_new(),
            AttrSchema::required("username", AttrType::String, "Master user name.").force_new(),
            AttrSchema::required(
                "password",
                AttrType::String,
                "Master password (AWS never returns it).",
            )
            .sensitive(),
            AttrSchema::optional(
                "port",
                AttrType::Number,
                "Port (default: the engine's, e.g. 5432).",
            ),
            AttrSchema::optional("multi_az", AttrType::Bool, "A standby in another zone.")
                .default(no),
            AttrSchema::optional(
                "publicly_accessible",
                AttrType::Bool,
                "Reachable from outside the VPC.",
            )
            .default(no),
            AttrSchema::optional(
                "backup_retention_period",
                AttrType::Number,
                "Days automated backups are kept (0 disables them).",
            )
            .default(one),
            AttrSchema::optional("storage_encrypted", AttrType::Bool, "Encrypt the storage.")
                .default(no)
                .force_new(),
            AttrSchema::optional(
                "kms_key_id",
                AttrType::String,
                "KMS key for the storage (default: AWS's key for RDS).",
            )
            .force_new(),
            AttrSchema::optional(
                "db_subnet_group_name",
                AttrType::String,
                "Subnet group (the VPC's subnets it may use; default: the default VPC).",
            )
            .force_new(),
            AttrSchema::optional(
                "vpc_security_group_ids",
                AttrType::List,
                "Security groups (default: the VPC's default group).",
            ),
            AttrSchema::optional(
                "deletion_protection",
                AttrType::Bool,
                "Refuse deletes until it is turned off.",
            )
            .default(no),
            AttrSchema::optional(
                "apply_immediately",
                AttrType::Bool,
                "Make changes now rather than in the next maintenance window.",
            )
            .default(no),
            AttrSchema::optional(
                "skip_final_snapshot",
                AttrType::Bool,
                "Delete without a final snapshot.",
            )
            .default(no),
            AttrSchema::optional(
                "final_snapshot_identifier",
                AttrType::String,
                "Name of the snapshot taken before deleting (needed unless skip_final_snapshot).",
            ),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::computed("arn", AttrType::String, "The instance's ARN."),
            AttrSchema::computed("address", AttrType::String, "The host name to connect to."),
            AttrSchema::computed("endpoint", AttrType::String, "address:port."),
        ],
        create_before_destroy: false,
    }
}

fn what(id: &str) -> String {
    format!("{INSTANCE} {id:?}")
}

fn number(attrs: &Attrs, name: &str, w: &str) -> Result<Option<i32>, ProviderError> {
    match attrs.get(name).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| {
                ProviderError::Invalid(format!("{w}: `{name}` must be a whole number ≥ 0"))
            }),
    }
}

fn tag_list(t: Tags) -> Vec<Tag> {
    t.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The instance, or `None` when there is none (or it is being deleted).
async fn describe(c: &Clients, id: &str, w: &str) -> Result<Option<DbInstance>, ProviderError> {
    let out = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .or_missing(w, MISSING)?;
    Ok(out
        .and_then(|o| o.db_instances().first().cloned())
        .filter(|i| i.db_instance_status() != Some("deleting")))
}

/// Waits until the instance is `available`.
async fn wait_available(c: &Clients, id: &str, w: &str) -> Result<DbInstance, ProviderError> {
    wait_for(c.settle.max(WAIT), w, "available", || async {
        Ok(match describe(c, id, w).await? {
            Some(i) if i.db_instance_status() == Some("available") => Ok(i),
            Some(i) => Err(i.db_instance_status().unwrap_or("unknown").to_string()),
            None => Err("not found".to_string()),
        })
    })
    .await
}

/// `config` with the computed attributes of `instance`.
fn result(config: &Attrs, instance: &DbInstance) -> Attrs {
    let mut out = config.clone();
    let endpoint = instance.endpoint();
    let address = endpoint.and_then(|e| e.address()).unwrap_or_default();
    let port = endpoint
        .and_then(|e| e.port())
        .or(instance.db_instance_port());
    out.insert(
        "arn".into(),
        Value::string(instance.db_instance_arn().unwrap_or_default()),
    );
    out.insert("address".into(), Value::string(address));
    out.insert(
        "endpoint".into(),
        Value::string(match port {
            Some(p) => format!("{address}:{p}"),
            None => address.to_string(),
        }),
    );
    out
}

/// Creates the instance and waits until it is available; it carries the owner's
/// marker as a tag from the start.
pub async fn create(c: &Clients, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
    let id = required(config, "identifier", INSTANCE)?;
    let w = what(id);
    let password = required(config, "password", &w)?;
    let secrets = [password];
    check_delete_settings(config, &w)?;
    let t = with_owner(tags(config, &w)?, owner);
    let out = c
        .rds
        .create_db_instance()
        .db_instance_identifier(id)
        .engine(required(config, "engine", &w)?)
        .set_engine_version(optional(config, "engine_version").map(str::to_string))
        .db_instance_class(required(config, "instance_class", &w)?)
        .set_allocated_storage(number(config, "allocated_storage", &w)?)
        .set_storage_type(optional(config, "storage_type").map(str::to_string))
        .set_db_name(optional(config, "db_name").map(str::to_string))
        .master_username(required(config, "username", &w)?)
        .master_user_password(password)
        .set_port(number(config, "port", &w)?)
        .multi_az(bool_attr(config, "multi_az").unwrap_or(false))
        .publicly_accessible(bool_attr(config, "publicly_accessible").unwrap_or(false))
        .set_backup_retention_period(number(config, "backup_retention_period", &w)?)
        .storage_encrypted(bool_attr(config, "storage_encrypted").unwrap_or(false))
        .set_kms_key_id(optional(config, "kms_key_id").map(str::to_string))
        .set_db_subnet_group_name(optional(config, "db_subnet_group_name").map(str::to_string))
        .set_vpc_security_group_ids(string_list(config, "vpc_security_group_ids")?)
        .deletion_protection(bool_attr(config, "deletion_protection").unwrap_or(false))
        .set_tags(Some(tag_list(t)))
        .send()
        .await;
    if let Err(e) = out {
        let f = Fault::from(e);
        if f.is(&["DBInstanceAlreadyExists", "DBInstanceAlreadyExistsFault"]) {
            return Err(exists(&w));
        }
        return Err(f.error(&w, &secrets));
    }
    let instance = wait_available(c, id, &w).await?;
    Ok(result(config, &instance))
}

/// A delete must know what to do about the final snapshot; checked at create too, so
/// that an instance that could never be deleted as configured is not made.
fn check_delete_settings(attrs: &Attrs, w: &str) -> Result<(), ProviderError> {
    if !bool_attr(attrs, "skip_final_snapshot").unwrap_or(false)
        && optional(attrs, "final_snapshot_identifier").is_none()
    {
        return Err(ProviderError::Invalid(format!(
            "{w}: a final snapshot is taken before the instance is deleted, so it needs a name: set final_snapshot_identifier, or skip_final_snapshot = true"
        )));
    }
    Ok(())
}

/// Whether going from `old` to `new` changes the major version (`15.4` → `16.1`).
fn major_upgrade(old: Option<&str>, new: &str) -> bool {
    let major = |v: &str| v.split('.').next().unwrap_or("").to_string();
    old.is_some_and(|o| major(o) != major(new))
}

/// Sets what changed with one `ModifyDBInstance`, and the tags.
pub async fn update(c: &Clients, prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let id = required(config, "identifier", INSTANCE)?;
    let w = what(id);
    let password = required(config, "password", &w)?;
    let secrets = [password];
    check_delete_settings(config, &w)?;
    let immediately = bool_attr(config, "apply_immediately").unwrap_or(false);
    let Some(before) = describe(c, id, &w).await? else {
        return Err(ProviderError::Failed(format!("{w} does not exist")));
    };
    let mut req = c
        .rds
        .modify_db_instance()
        .db_instance_identifier(id)
        .apply_immediately(immediately);
    let mut changed = false;
    let differs = |name: &str| prior.get(name) != config.get(name);
    if differs("instance_class") {
        req = req.db_instance_class(required(config, "instance_class", &w)?);
        changed = true;
    }
    if differs("allocated_storage") {
        req = req.set_allocated_storage(number(config, "allocated_storage", &w)?);
        changed = true;
    }
    if differs("storage_type") {
        req = req.set_storage_type(optional(config, "storage_type").map(str::to_string));
        changed = true;
    }
    if let Some(v) = optional(config, "engine_version")
        && differs("engine_version")
    {
        req = req
            .engine_version(v)
            .allow_major_version_upgrade(major_upgrade(before.engine_version(), v));
        changed = true;
    }
    if str_attr(prior, "password") != Some(password) {
        req = req.master_user_password(password);
        changed = true;
    }
    if let Some(p) = number(config, "port", &w)?
        && differs("port")
    {
        req = req.db_port_number(p);
        changed = true;
    }
    for name in ["multi_az", "publicly_accessible", "deletion_protection"] {
        if differs(name) {
            let v = bool_attr(config, name).unwrap_or(false);
            req = match name {
                "multi_az" => req.multi_az(v),
                "publicly_accessible" => req.publicly_accessible(v),
                _ => req.deletion_protection(v),
            };
            changed = true;
        }
    }
    if differs("backup_retention_period") {
        req = req.set_backup_retention_period(number(config, "backup_retention_period", &w)?);
        changed = true;
    }
    if let Some(groups) = string_list(config, "vpc_security_group_ids")?
        && differs("vpc_security_group_ids")
    {
        req = req.set_vpc_security_group_ids(Some(groups));
        changed = true;
    }
    if changed {
        req.send().await.named_secret(&w, &secrets)?;
    }
    let arn = before.db_instance_arn().unwrap_or_default().to_string();
    let actual = list_tags(c, &arn, &w).await?;
    let (set, remove) = tag_changes(&actual, &tags(config, &w)?);
    if !remove.is_empty() {
        c.rds
            .remove_tags_from_resource()
            .resource_name(&arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .named(&w)?;
    }
    add_to(c, &arn, set, &w).await?;
    let instance = if changed && immediately {
        wait_available(c, id, &w).await?
    } else {
        describe(c, id, &w).await?.unwrap_or(before)
    };
    Ok(result(config, &instance))
}

/// Adds (or changes) the tags `set` of the resource `arn`.
async fn add_to(c: &Clients, arn: &str, set: Tags, w: &str) -> Result<(), ProviderError> {
    if set.is_empty() {
        return Ok(());
    }
    c.rds
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
    let id = required(found, "identifier", INSTANCE)?;
    let w = what(id);
    match describe(c, id, &w).await? {
        Some(d) => list_tags(c, d.db_instance_arn().unwrap_or_default(), &w)
            .await
            .map(Some),
        None => Ok(None),
    }
}

/// Adds `extra` to the tags of the object `found` names.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let id = required(found, "identifier", INSTANCE)?;
    let w = what(id);
    let d = describe(c, id, &w)
        .await?
        .ok_or_else(|| ProviderError::Failed(format!("{w} does not exist")))?;
    add_to(
        c,
        d.db_instance_arn().unwrap_or_default(),
        extra.clone(),
        &w,
    )
    .await
}

async fn list_tags(c: &Clients, arn: &str, w: &str) -> Result<Tags, ProviderError> {
    let out = c
        .rds
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

/// `configured` when it names the same version as `actual` (`16` and `16.3`), else
/// `actual`.
fn version_value(configured: Option<&str>, actual: &str) -> Value {
    match configured {
        Some(v) if actual == v || actual.starts_with(&format!("{v}.")) => Value::string(v),
        _ => Value::string(actual),
    }
}

/// The instance as it is: `None` when it does not exist or is being deleted.
pub async fn read(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let id = required(prior, "identifier", INSTANCE)?;
    let w = what(id);
    let Some(i) = describe(c, id, &w).await? else {
        return Ok(None);
    };
    let pending = i.pending_modified_values();
    let mut out = prior.clone();
    // RDS keeps identifiers in lower case; the configured spelling stays when it matches.
    if let Some(actual) = i.db_instance_identifier()
        && !actual.eq_ignore_ascii_case(id)
    {
        out.insert("identifier".into(), Value::string(actual));
    }
    if let Some(e) = i.engine() {
        out.insert("engine".into(), Value::string(e));
    }
    // Optional attributes without a default are reported only when configured: AWS's
    // choice for an unset one is not a change.
    if let Some(v) = pending
        .and_then(|p| p.engine_version())
        .or(i.engine_version())
        && str_attr(prior, "engine_version").is_some()
    {
        out.insert(
            "engine_version".into(),
            version_value(str_attr(prior, "engine_version"), v),
        );
    }
    if let Some(v) = pending
        .and_then(|p| p.db_instance_class())
        .or(i.db_instance_class())
    {
        out.insert("instance_class".into(), Value::string(v));
    }
    if let Some(v) = pending
        .and_then(|p| p.allocated_storage())
        .or(i.allocated_storage())
    {
        put_observed(&mut out, "allocated_storage", Value::int(v.into()));
    }
    if let Some(v) = pending.and_then(|p| p.storage_type()).or(i.storage_type()) {
        out.insert("storage_type".into(), Value::string(v));
    }
    match i.db_name() {
        Some(n) => out.insert("db_name".into(), Value::string(n)),
        None => out.remove("db_name"),
    };
    if let Some(u) = i.master_username() {
        out.insert("username".into(), Value::string(u));
    }
    let port = pending
        .and_then(|p| p.port())
        .or(i.endpoint().and_then(|e| e.port()))
        .or(i.db_instance_port());
    if let Some(p) = port
        && int_attr(prior, "port").is_some()
    {
        put_observed(&mut out, "port", Value::int(p.into()));
    }
    if let Some(v) = pending.and_then(|p| p.multi_az()).or(i.multi_az()) {
        out.insert("multi_az".into(), Value::Bool(v));
    }
    out.insert(
        "publicly_accessible".into(),
        Value::Bool(i.publicly_accessible().unwrap_or(false)),
    );
    if let Some(v) = pending
        .and_then(|p| p.backup_retention_period())
        .or(i.backup_retention_period())
    {
        put_observed(&mut out, "backup_retention_period", Value::int(v.into()));
    }
    out.insert(
        "storage_encrypted".into(),
        Value::Bool(i.storage_encrypted().unwrap_or(false)),
    );
    if str_attr(prior, "kms_key_id").is_some() {
        match i.kms_key_id() {
            Some(k) => out.insert("kms_key_id".into(), Value::string(k)),
            None => out.remove("kms_key_id"),
        };
    }
    if str_attr(prior, "db_subnet_group_name").is_some() {
        match i.db_subnet_group().and_then(|g| g.db_subnet_group_name()) {
            Some(g) => out.insert("db_subnet_group_name".into(), Value::string(g)),
            None => out.remove("db_subnet_group_name"),
        };
    }
    if let Some(recorded) = string_list(prior, "vpc_security_group_ids")? {
        let mut actual: Vec<String> = i
            .vpc_security_groups()
            .iter()
            .filter(|g| g.status() != Some("removing"))
            .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
            .collect();
        let mut sorted = recorded.clone();
        sorted.sort();
        actual.sort();
        if sorted != actual {
            out.insert("vpc_security_group_ids".into(), list_value(&actual));
        }
    }
    out.insert(
        "deletion_protection".into(),
        Value::Bool(i.deletion_protection().unwrap_or(false)),
    );
    let arn = i.db_instance_arn().unwrap_or_default().to_string();
    put_tags(&mut out, list_tags(c, &arn, &w).await?, prior);
    let computed = result(&Attrs::new(), &i);
    out.extend(computed);
    Ok(Some(out))
}

/// Deletes the instance (after a final snapshot unless `skip_final_snapshot`) and waits
/// until it is gone, so that a replacement can take its identifier.
pub async fn delete(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let id = required(prior, "identifier", INSTANCE)?;
    let w = what(id);
    check_delete_settings(prior, &w)?;
    let skip = bool_attr(prior, "skip_final_snapshot").unwrap_or(false);
    let mut req = c
        .rds
        .delete_db_instance()
        .db_instance_identifier(id)
        .skip_final_snapshot(skip)
        .delete_automated_backups(true);
    if !skip {
        req = req.set_final_db_snapshot_identifier(
            optional(prior, "final_snapshot_identifier").map(str::to_string),
        );
    }
    match req.send().await {
        Ok(_) => {}
        Err(e) => {
            let f = Fault::from(e);
            if f.is(MISSING) {
                return Ok(());
            }
            if f.message.contains("deletion protection") {
                return Err(ProviderError::Failed(format!(
                    "{w} has deletion protection, so it was kept; set deletion_protection = false and apply first"
                )));
            }
            return Err(f.error(&w, &[]));
        }
    }
    wait_for(c.settle.max(WAIT), &w, "deleted", || async {
        Ok(match describe_any(c, id, &w).await? {
            None => Ok(()),
            Some(status) => Err(status),
        })
    })
    .await
}

/// The instance's status, whatever it is; `None` when it does not exist.
async fn describe_any(c: &Clients, id: &str, w: &str) -> Result<Option<String>, ProviderError> {
    let out = c
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .or_missing(w, MISSING)?;
    Ok(out.and_then(|o| {
        o.db_instances()
            .first()
            .map(|i| i.db_instance_status().unwrap_or("unknown").to_string())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_upgrades() {
        assert_eq!(version_value(Some("16"), "16.3"), Value::string("16"));
        assert_eq!(version_value(Some("16.3"), "16.3"), Value::string("16.3"));
        assert_eq!(version_value(Some("16"), "15.4"), Value::string("15.4"));
        assert_eq!(version_value(Some("1"), "16.3"), Value::string("16.3"));
        assert!(major_upgrade(Some("15.4"), "16.1"));
        assert!(!major_upgrade(Some("16.1"), "16.3"));
        assert!(!major_upgrade(None, "16"));
    }
}
