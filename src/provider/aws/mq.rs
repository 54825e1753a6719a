//! `aws_mq_broker`: an Amazon MQ broker (RabbitMQ or ActiveMQ) with its user.
//!
//! What forces a new broker follows Terraform's aws provider: the name, the engine, the
//! deployment mode, public access, the subnets and the user's name. The engine version,
//! instance type, minor-version upgrades, security groups and tags change in place
//! (`UpdateBroker`; the broker is rebooted to make them take effect when
//! `apply_immediately`, else they wait for the maintenance window — a read reports the
//! pending value, so the deferred change is not drift).
//!
//! The user: Amazon MQ makes a RabbitMQ broker's user once, with the broker, and has no
//! API to change or even list it afterwards (RabbitMQ users are managed inside RabbitMQ).
//! So for RabbitMQ a new password is refused with that explanation, and the user is not
//! read back. An ActiveMQ broker's user is read (`DescribeUser`: a user deleted outside
//! baton shows as its password gone) and its password is changed with `UpdateUser`.
//!
//! Creating takes 15–20 minutes on AWS and deleting several: both wait, for up to
//! an hour, until the broker is `RUNNING` or gone.

use std::time::Duration;

use aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput;
use aws_sdk_mq::types::{BrokerState, DeploymentMode, EngineType, User};

use super::common::{
    Tags, exists, optional, put_tags, required, tag_changes, tags, wait_for, with_owner,
};
use super::config::Clients;
use super::error::Named;
use crate::provider::server::{list_value, string_list};
use crate::provider::{
    AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, bool_attr, str_attr,
};
use crate::value::Value;

/// The kind served.
pub const BROKER: &str = "aws_mq_broker";

const MISSING: &[&str] = &["NotFoundException"];

/// How long create, reboot and delete wait (Terraform waits 30 min).
const WAIT: Duration = Duration::from_secs(60 * 60);

fn rabbitmq() -> Value {
    Value::string("RabbitMQ")
}
fn micro() -> Value {
    Value::string("mq.t3.micro")
}
fn single() -> Value {
    Value::string("SINGLE_INSTANCE")
}
fn yes() -> Value {
    Value::Bool(true)
}
fn no() -> Value {
    Value::Bool(false)
}

/// The schema of `aws_mq_broker`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: BROKER,
        provider: "aws",
        description: "An Amazon MQ broker (RabbitMQ or ActiveMQ) and its user; version, instance type, tags changed or the broker deleted outside baton show as drift.",
        attributes: vec![
            AttrSchema::required(
                "broker_name",
                AttrType::String,
                "Broker name: letters, digits, hyphens and underscores, up to 50.",
            )
            .force_new(),
            AttrSchema::optional("engine_type", AttrType::String, "\"RabbitMQ\" or \"ActiveMQ\".")
                .default(rabbitmq)
                .force_new(),
            AttrSchema::required(
                "engine_version",
                AttrType::String,
                "Engine version, e.g. \"3.13\".",
            ),
            AttrSchema::optional(
                "host_instance_type",
                AttrType::String,
                "Instance type, e.g. \"mq.m5.large\".",
            )
            .default(micro),
            AttrSchema::optional(
                "deployment_mode",
                AttrType::String,
                "\"SINGLE_INSTANCE\", \"ACTIVE_STANDBY_MULTI_AZ\" (ActiveMQ) or \"CLUSTER_MULTI_AZ\" (RabbitMQ).",
            )
            .default(single)
            .force_new(),
            AttrSchema::optional(
                "publicly_accessible",
                AttrType::Bool,
                "Reachable from outside the VPC.",
            )
            .default(no)
            .force_new(),
            AttrSchema::optional(
                "auto_minor_version_upgrade",
                AttrType::Bool,
                "Take minor versions in the maintenance window.",
            )
            .default(yes),
            AttrSchema::optional(
                "subnet_ids",
                AttrType::List,
                "Subnets (default: the default VPC's).",
            )
            .force_new(),
            AttrSchema::optional("security_groups", AttrType::List, "Security groups."),
            AttrSchema::required(
                "username",
                AttrType::String,
                "The broker's user (for RabbitMQ, its administrator).",
            )
            .force_new(),
            AttrSchema::required(
                "password",
                AttrType::String,
                "The user's password: 12–250 characters, at least 4 different, without , : or =.",
            )
            .sensitive(),
            AttrSchema::optional(
                "apply_immediately",
                AttrType::Bool,
                "Reboot the broker to apply changes now rather than in the maintenance window.",
            )
            .default(no),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::computed("broker_id", AttrType::String, "The broker's id."),
            AttrSchema::computed("arn", AttrType::String, "The broker's ARN."),
            AttrSchema::computed(
                "endpoint",
                AttrType::String,
                "The AMQP endpoint (amqps://HOST:PORT).",
            ),
            AttrSchema::computed("host", AttrType::String, "The endpoint's host name."),
            AttrSchema::computed("port", AttrType::Number, "The endpoint's port."),
            AttrSchema::computed(
                "console_url",
                AttrType::String,
                "The web console (RabbitMQ management).",
            ),
        ],
        create_before_destroy: false,
    }
}

fn what(name: &str) -> String {
    format!("{BROKER} {name:?}")
}

fn engine(attrs: &Attrs) -> EngineType {
    EngineType::from(
        optional(attrs, "engine_type")
            .unwrap_or("RabbitMQ")
            .to_ascii_uppercase()
            .as_str(),
    )
}

fn is_rabbitmq(attrs: &Attrs) -> bool {
    engine(attrs) == EngineType::Rabbitmq
}

/// The password, checked as Amazon MQ would (without ever showing it).
fn password<'a>(attrs: &'a Attrs, w: &str) -> Result<&'a str, ProviderError> {
    let p = str_attr(attrs, "password")
        .ok_or_else(|| ProviderError::Invalid(format!("{w}: `password` is required")))?;
    let distinct: std::collections::BTreeSet<char> = p.chars().collect();
    if !(12..=250).contains(&p.len())
        || distinct.len() < 4
        || p.chars().any(|c| matches!(c, ',' | ':' | '='))
    {
        return Err(ProviderError::Invalid(format!(
            "{w}: password must be 12–250 characters with at least 4 different ones, without , : or ="
        )));
    }
    Ok(p)
}

fn user(attrs: &Attrs, w: &str) -> Result<User, ProviderError> {
    Ok(User::builder()
        .username(required(attrs, "username", w)?)
        .password(password(attrs, w)?)
        .build())
}

/// The broker by id, or `None` when it does not exist or is being deleted.
async fn describe(
    c: &Clients,
    id: &str,
    w: &str,
) -> Result<Option<DescribeBrokerOutput>, ProviderError> {
    let out =
        c.mq.describe_broker()
            .broker_id(id)
            .send()
            .await
            .or_missing(w, MISSING)?;
    Ok(out.filter(|b| b.broker_state() != Some(&BrokerState::DeletionInProgress)))
}

/// The id of the broker named `name`, if there is one (for a broker without a
/// recorded id: an import).
async fn find_by_name(c: &Clients, name: &str, w: &str) -> Result<Option<String>, ProviderError> {
    let mut token = None;
    loop {
        let page =
            c.mq.list_brokers()
                .max_results(100)
                .set_next_token(token)
                .send()
                .await
                .named(w)?;
        if let Some(b) = page
            .broker_summaries()
            .iter()
            .find(|b| b.broker_name() == Some(name))
        {
            return Ok(b.broker_id().map(str::to_string));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(None),
        }
    }
}

async fn broker_id(c: &Clients, attrs: &Attrs, w: &str) -> Result<Option<String>, ProviderError> {
    match str_attr(attrs, "broker_id") {
        Some(id) => Ok(Some(id.to_string())),
        None => find_by_name(c, required(attrs, "broker_name", BROKER)?, w).await,
    }
}

async fn wait_running(
    c: &Clients,
    id: &str,
    w: &str,
) -> Result<DescribeBrokerOutput, ProviderError> {
    wait_for(c.settle.max(WAIT), w, "RUNNING", || async {
        Ok(match describe(c, id, w).await? {
            Some(b) if b.broker_state() == Some(&BrokerState::Running) => Ok(b),
            Some(b) if b.broker_state() == Some(&BrokerState::CreationFailed) => {
                return Err(ProviderError::Failed(format!(
                    "{w}: AWS could not create the broker (CREATION_FAILED); delete it and check the subnets, security groups and instance type"
                )));
            }
            Some(b) => Err(b
                .broker_state()
                .map_or("unknown".to_string(), |s| s.as_str().to_string())),
            None => Err("not found".to_string()),
        })
    })
    .await
}

/// The AMQP endpoint of the broker, its host and port.
fn amqp_endpoint(b: &DescribeBrokerOutput) -> (String, String, Option<i64>) {
    let endpoints: Vec<&String> = b
        .broker_instances()
        .iter()
        .flat_map(|i| i.endpoints())
        .collect();
    let endpoint = endpoints
        .iter()
        .find(|e| e.starts_with("amqps://") || e.starts_with("amqp+ssl://"))
        .or(endpoints.first())
        .map(|e| e.to_string())
        .unwrap_or_default();
    let (host, port) = match url::Url::parse(&endpoint) {
        Ok(u) => (
            u.host_str().unwrap_or_default().to_string(),
            u.port().map(i64::from),
        ),
        Err(_) => (String::new(), None),
    };
    (endpoint, host, port)
}

fn result(config: &Attrs, b: &DescribeBrokerOutput) -> Attrs {
    let mut out = config.clone();
    let (endpoint, host, port) = amqp_endpoint(b);
    out.insert(
        "broker_id".into(),
        Value::string(b.broker_id().unwrap_or_default()),
    );
    out.insert(
        "arn".into(),
        Value::string(b.broker_arn().unwrap_or_default()),
    );
    out.insert("endpoint".into(), Value::string(endpoint));
    out.insert("host".into(), Value::string(host));
    out.insert("port".into(), port.map_or(Value::Null, Value::int));
    out.insert(
        "console_url".into(),
        Value::string(
            b.broker_instances()
                .first()
                .and_then(|i| i.console_url())
                .unwrap_or_default(),
        ),
    );
    out
}

/// Creates the broker with its user, its tags and the owner's marker, and waits until
/// it is running.
pub async fn create(c: &Clients, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
    let name = required(config, "broker_name", BROKER)?;
    let w = what(name);
    let secrets = [password(config, &w)?];
    if find_by_name(c, name, &w).await?.is_some() {
        return Err(exists(&w));
    }
    let t = with_owner(tags(config, &w)?, owner);
    let out = c
        .mq
        .create_broker()
        .broker_name(name)
        .engine_type(engine(config))
        .engine_version(required(config, "engine_version", &w)?)
        .host_instance_type(optional(config, "host_instance_type").unwrap_or("mq.t3.micro"))
        .deployment_mode(DeploymentMode::from(
            optional(config, "deployment_mode").unwrap_or("SINGLE_INSTANCE"),
        ))
        .publicly_accessible(bool_attr(config, "publicly_accessible").unwrap_or(false))
        .auto_minor_version_upgrade(bool_attr(config, "auto_minor_version_upgrade").unwrap_or(true))
        .set_subnet_ids(string_list(config, "subnet_ids")?)
        .set_security_groups(string_list(config, "security_groups")?)
        .users(user(config, &w)?)
        .set_tags(Some(t.into_iter().collect()))
        .send()
        .await
        .named_secret(&w, &secrets)?;
    let id = out
        .broker_id()
        .ok_or_else(|| ProviderError::Failed(format!("{w}: AWS returned no broker id")))?;
    let b = wait_running(c, id, &w).await?;
    Ok(result(config, &b))
}

/// Changes the broker in place (rebooting it with `apply_immediately`), the ActiveMQ
/// user's password, and the tags.
pub async fn update(c: &Clients, prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let name = required(config, "broker_name", BROKER)?;
    let w = what(name);
    let new_password = password(config, &w)?;
    let secrets = [new_password];
    let Some(id) = broker_id(c, prior, &w).await? else {
        return Err(ProviderError::Failed(format!("{w} does not exist")));
    };
    let differs = |name: &str| prior.get(name) != config.get(name);
    let recorded = str_attr(prior, "password");
    let password_changed = recorded != Some(new_password);
    // Without a recorded password (an imported RabbitMQ broker) there is nothing to
    // compare with: the configured one is recorded as it is.
    if password_changed && is_rabbitmq(config) && recorded.is_some() {
        return Err(ProviderError::Failed(format!(
            "{w}: Amazon MQ cannot change the password of a RabbitMQ broker's user; change it in the RabbitMQ console ({}) and set the same password here, or replace the broker (`baton apply --replace ADDRESS`)",
            str_attr(prior, "console_url").unwrap_or("see the AWS console")
        )));
    }
    let mut req = c.mq.update_broker().broker_id(&id);
    let mut changed = false;
    if differs("engine_version") {
        req = req.engine_version(required(config, "engine_version", &w)?);
        changed = true;
    }
    if differs("host_instance_type") {
        req =
            req.host_instance_type(optional(config, "host_instance_type").unwrap_or("mq.t3.micro"));
        changed = true;
    }
    if differs("auto_minor_version_upgrade") {
        req = req.auto_minor_version_upgrade(
            bool_attr(config, "auto_minor_version_upgrade").unwrap_or(true),
        );
        changed = true;
    }
    if let Some(groups) = string_list(config, "security_groups")?
        && differs("security_groups")
    {
        req = req.set_security_groups(Some(groups));
        changed = true;
    }
    if changed {
        req.send().await.named(&w)?;
    }
    if password_changed && !is_rabbitmq(config) {
        let username = required(config, "username", &w)?;
        let exists =
            c.mq.describe_user()
                .broker_id(&id)
                .username(username)
                .send()
                .await
                .or_missing(&w, MISSING)?
                .is_some();
        if exists {
            c.mq.update_user()
                .broker_id(&id)
                .username(username)
                .password(new_password)
                .send()
                .await
                .named_secret(&w, &secrets)?;
        } else {
            c.mq.create_user()
                .broker_id(&id)
                .username(username)
                .password(new_password)
                .send()
                .await
                .named_secret(&w, &secrets)?;
        }
        changed = true;
    }
    if changed && bool_attr(config, "apply_immediately").unwrap_or(false) {
        c.mq.reboot_broker().broker_id(&id).send().await.named(&w)?;
        wait_running(c, &id, &w).await?;
    }
    let Some(b) = describe(c, &id, &w).await? else {
        return Err(ProviderError::Failed(format!("{w} does not exist")));
    };
    let arn = b.broker_arn().unwrap_or_default().to_string();
    let (set, remove) = tag_changes(&tags_of(&b), &tags(config, &w)?);
    if !remove.is_empty() {
        c.mq.delete_tags()
            .resource_arn(&arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .named(&w)?;
    }
    add_to(c, &arn, set, &w).await?;
    Ok(result(config, &b))
}

fn tags_of(b: &DescribeBrokerOutput) -> Tags {
    b.tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Adds (or changes) the tags `set` of the broker `arn`.
async fn add_to(c: &Clients, arn: &str, set: Tags, w: &str) -> Result<(), ProviderError> {
    if set.is_empty() {
        return Ok(());
    }
    c.mq.create_tags()
        .resource_arn(arn)
        .set_tags(Some(set.into_iter().collect()))
        .send()
        .await
        .named(w)?;
    Ok(())
}

/// The broker `found` names, described (`None`: there is none, or it is being deleted).
async fn described(
    c: &Clients,
    found: &Attrs,
) -> Result<Option<DescribeBrokerOutput>, ProviderError> {
    let w = what(required(found, "broker_name", BROKER)?);
    match broker_id(c, found, &w).await? {
        Some(id) => describe(c, &id, &w).await,
        None => Ok(None),
    }
}

/// The tags of the broker `found` names, the ownership tag included (`None`: there is
/// none, or it is being deleted).
pub async fn owner_tags(c: &Clients, found: &Attrs) -> Result<Option<Tags>, ProviderError> {
    Ok(described(c, found).await?.as_ref().map(tags_of))
}

/// Adds `extra` to the tags of the broker `found` names.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let w = what(required(found, "broker_name", BROKER)?);
    let b = described(c, found)
        .await?
        .ok_or_else(|| ProviderError::Failed(format!("{w} does not exist")))?;
    add_to(c, b.broker_arn().unwrap_or_default(), extra.clone(), &w).await
}

/// The broker as it is: `None` when it does not exist or is being deleted.
pub async fn read(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let name = required(prior, "broker_name", BROKER)?;
    let w = what(name);
    let Some(id) = broker_id(c, prior, &w).await? else {
        return Ok(None);
    };
    let Some(b) = describe(c, &id, &w).await? else {
        return Ok(None);
    };
    let mut out = prior.clone();
    if let Some(n) = b.broker_name() {
        out.insert("broker_name".into(), Value::string(n));
    }
    // AWS spells engines in capitals; the configured spelling stays when it matches.
    if let Some(e) = b.engine_type()
        && !optional(prior, "engine_type").is_some_and(|p| p.eq_ignore_ascii_case(e.as_str()))
    {
        let spelled = match e {
            EngineType::Rabbitmq => "RabbitMQ",
            EngineType::Activemq => "ActiveMQ",
            other => other.as_str(),
        };
        out.insert("engine_type".into(), Value::string(spelled));
    }
    if let Some(v) = b.pending_engine_version().or(b.engine_version()) {
        out.insert("engine_version".into(), Value::string(v));
    }
    if let Some(v) = b.pending_host_instance_type().or(b.host_instance_type()) {
        out.insert("host_instance_type".into(), Value::string(v));
    }
    if let Some(m) = b.deployment_mode() {
        out.insert("deployment_mode".into(), Value::string(m.as_str()));
    }
    out.insert(
        "publicly_accessible".into(),
        Value::Bool(b.publicly_accessible().unwrap_or(false)),
    );
    if let Some(v) = b.auto_minor_version_upgrade() {
        out.insert("auto_minor_version_upgrade".into(), Value::Bool(v));
    }
    // Lists AWS fills in when none are configured are reported only when configured.
    for (attr, actual) in [
        ("subnet_ids", b.subnet_ids()),
        (
            "security_groups",
            if b.pending_security_groups().is_empty() {
                b.security_groups()
            } else {
                b.pending_security_groups()
            },
        ),
    ] {
        if let Some(recorded) = string_list(prior, attr)? {
            let mut a: Vec<String> = actual.to_vec();
            let mut r = recorded.clone();
            a.sort();
            r.sort();
            if a != r {
                out.insert(attr.into(), list_value(&a));
            }
        }
    }
    if !is_rabbitmq(&out) {
        let username = required(prior, "username", &w)?;
        let found =
            c.mq.describe_user()
                .broker_id(&id)
                .username(username)
                .send()
                .await
                .or_missing(&w, MISSING)?;
        if found.is_none() {
            // The user is gone, and with it the password: the next apply makes it again.
            out.remove("password");
        }
    }
    put_tags(&mut out, tags_of(&b), prior);
    out.extend(result(&Attrs::new(), &b));
    Ok(Some(out))
}

/// Deletes the broker and waits until it is gone.
pub async fn delete(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required(prior, "broker_name", BROKER)?;
    let w = what(name);
    let Some(id) = broker_id(c, prior, &w).await? else {
        return Ok(());
    };
    if describe(c, &id, &w).await?.is_some() {
        c.mq.delete_broker()
            .broker_id(&id)
            .send()
            .await
            .or_missing(&w, MISSING)?;
    }
    wait_for(c.settle.max(WAIT), &w, "deleted", || async {
        let out =
            c.mq.describe_broker()
                .broker_id(&id)
                .send()
                .await
                .or_missing(&w, MISSING)?;
        Ok(match out {
            None => Ok(()),
            Some(b) => Err(b
                .broker_state()
                .map_or("unknown".to_string(), |s| s.as_str().to_string())),
        })
    })
    .await
}
