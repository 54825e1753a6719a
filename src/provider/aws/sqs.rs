//! `aws_sqs_queue`: a standard or FIFO queue with its timeouts, an optional redrive
//! policy (dead-letter queue) and tags. A queue is found by name (`GetQueueUrl`), so a
//! queue deleted outside baton reads as gone.

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;

use super::common::{
    Tags, count, exists, put_observed, put_tags, required, tag_changes, tags, with_owner,
};
use super::config::Clients;
use super::error::{Fault, Named};
use crate::provider::{
    AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, bool_attr, str_attr,
};
use crate::value::Value;

/// The kind served.
pub const QUEUE: &str = "aws_sqs_queue";

/// The error codes of a queue that does not exist (query and JSON protocols).
const MISSING: &[&str] = &[
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];

fn thirty() -> Value {
    Value::int(30)
}
fn four_days() -> Value {
    Value::int(345_600)
}
fn five() -> Value {
    Value::int(5)
}
fn no() -> Value {
    Value::Bool(false)
}

/// The schema of `aws_sqs_queue`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: QUEUE,
        provider: "aws",
        description: "An SQS queue; a queue deleted or changed outside baton shows as drift.",
        attributes: vec![
            AttrSchema::required(
                "name",
                AttrType::String,
                "Queue name (a FIFO queue's ends in \".fifo\").",
            )
            .force_new(),
            AttrSchema::optional(
                "visibility_timeout",
                AttrType::Number,
                "Seconds a received message stays hidden.",
            )
            .default(thirty),
            AttrSchema::optional(
                "message_retention_seconds",
                AttrType::Number,
                "Seconds a message is kept.",
            )
            .default(four_days),
            AttrSchema::optional(
                "dead_letter_queue_arn",
                AttrType::String,
                "ARN of the queue that receives messages received too often (redrive policy).",
            ),
            AttrSchema::optional(
                "max_receive_count",
                AttrType::Number,
                "Receives before a message moves to the dead-letter queue.",
            )
            .default(five),
            AttrSchema::optional(
                "fifo",
                AttrType::Bool,
                "A FIFO queue (exactly-once, ordered).",
            )
            .default(no)
            .force_new(),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::computed("url", AttrType::String, "The queue's URL."),
            AttrSchema::computed("arn", AttrType::String, "The queue's ARN."),
        ],
        create_before_destroy: false,
    }
}

fn what(name: &str) -> String {
    format!("{QUEUE} {name:?}")
}

/// The attributes to set, as SQS names them (`RedrivePolicy` empty removes it).
fn attributes(
    config: &Attrs,
    w: &str,
) -> Result<HashMap<QueueAttributeName, String>, ProviderError> {
    let mut a = HashMap::new();
    a.insert(
        QueueAttributeName::VisibilityTimeout,
        count(config, "visibility_timeout", 30, w)?.to_string(),
    );
    a.insert(
        QueueAttributeName::MessageRetentionPeriod,
        count(config, "message_retention_seconds", 345_600, w)?.to_string(),
    );
    let redrive = match str_attr(config, "dead_letter_queue_arn").filter(|s| !s.is_empty()) {
        Some(dlq) => serde_json::json!({
            "deadLetterTargetArn": dlq,
            "maxReceiveCount": count(config, "max_receive_count", 5, w)?,
        })
        .to_string(),
        None => String::new(),
    };
    a.insert(QueueAttributeName::RedrivePolicy, redrive);
    Ok(a)
}

/// Creates the queue with its tags and the owner's marker; an existing queue of that
/// name is reported as existing (SQS itself would return it, silently taking it over).
pub async fn create(c: &Clients, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", QUEUE)?;
    let w = what(name);
    let fifo = bool_attr(config, "fifo").unwrap_or(false);
    if fifo != name.ends_with(".fifo") {
        return Err(ProviderError::Invalid(format!(
            "{w}: a FIFO queue's name ends in \".fifo\" and only a FIFO queue's does (fifo = {fifo})"
        )));
    }
    if c.sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .or_missing(&w, MISSING)?
        .is_some()
    {
        return Err(exists(&w));
    }
    let mut attrs = attributes(config, &w)?;
    if attrs
        .get(&QueueAttributeName::RedrivePolicy)
        .is_some_and(String::is_empty)
    {
        attrs.remove(&QueueAttributeName::RedrivePolicy);
    }
    if fifo {
        attrs.insert(QueueAttributeName::FifoQueue, "true".into());
    }
    let tags = with_owner(tags(config, &w)?, owner);
    let out = c
        .sqs
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attrs))
        .set_tags(Some(tags.into_iter().collect()))
        .send()
        .await
        .named(&w)?;
    let url = out.queue_url().unwrap_or_default().to_string();
    let arn = queue_arn(c, &url, &w).await?;
    let mut result = config.clone();
    result.insert("url".into(), Value::string(url));
    result.insert("arn".into(), Value::string(arn));
    Ok(result)
}

async fn queue_arn(c: &Clients, url: &str, w: &str) -> Result<String, ProviderError> {
    let a = c
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .named(w)?;
    Ok(a.attributes()
        .and_then(|m| m.get(&QueueAttributeName::QueueArn))
        .cloned()
        .unwrap_or_default())
}

async fn url_of(c: &Clients, name: &str, w: &str) -> Result<Option<String>, ProviderError> {
    let out = c
        .sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .or_missing(w, MISSING)?;
    Ok(out.and_then(|o| o.queue_url().map(str::to_string)))
}

async fn actual_tags(c: &Clients, url: &str, w: &str) -> Result<Tags, ProviderError> {
    let t = c
        .sqs
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .named(w)?;
    Ok(t.tags()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// The tags of the queue `found` names, the ownership tag included (`None`: no such
/// queue).
pub async fn owner_tags(c: &Clients, found: &Attrs) -> Result<Option<Tags>, ProviderError> {
    let name = required(found, "name", QUEUE)?;
    let w = what(name);
    match url_of(c, name, &w).await? {
        Some(url) => actual_tags(c, &url, &w).await.map(Some),
        None => Ok(None),
    }
}

/// Adds `extra` to the tags of the queue `found` names.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let name = required(found, "name", QUEUE)?;
    let w = what(name);
    let url = url_of(c, name, &w)
        .await?
        .ok_or_else(|| ProviderError::Failed(format!("{w} does not exist")))?;
    c.sqs
        .tag_queue()
        .queue_url(&url)
        .set_tags(Some(extra.clone().into_iter().collect()))
        .send()
        .await
        .named(&w)?;
    Ok(())
}

/// Sets the attributes and tags.
pub async fn update(c: &Clients, _prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", QUEUE)?;
    let w = what(name);
    let url = url_of(c, name, &w)
        .await?
        .ok_or_else(|| ProviderError::Failed(format!("{w} does not exist")))?;
    let attrs = attributes(config, &w)?;
    match c
        .sqs
        .set_queue_attributes()
        .queue_url(&url)
        .set_attributes(Some(attrs.clone()))
        .send()
        .await
    {
        Ok(_) => {}
        // Some SQS versions refuse an empty redrive policy; removing it is then a no-op
        // when the queue has none.
        Err(e) => {
            let f = Fault::from(e);
            if !f.is(&["InvalidAttributeValue"])
                || !attrs[&QueueAttributeName::RedrivePolicy].is_empty()
            {
                return Err(f.error(&w, &[]));
            }
            let mut rest = attrs;
            rest.remove(&QueueAttributeName::RedrivePolicy);
            c.sqs
                .set_queue_attributes()
                .queue_url(&url)
                .set_attributes(Some(rest))
                .send()
                .await
                .named(&w)?;
        }
    }
    // Tags are compared with what the queue has, not with the record.
    let (set, remove) = tag_changes(&actual_tags(c, &url, &w).await?, &tags(config, &w)?);
    if !remove.is_empty() {
        c.sqs
            .untag_queue()
            .queue_url(&url)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .named(&w)?;
    }
    if !set.is_empty() {
        c.sqs
            .tag_queue()
            .queue_url(&url)
            .set_tags(Some(set.into_iter().collect()))
            .send()
            .await
            .named(&w)?;
    }
    let arn = queue_arn(c, &url, &w).await?;
    let mut result = config.clone();
    result.insert("url".into(), Value::string(url));
    result.insert("arn".into(), Value::string(arn));
    Ok(result)
}

/// The queue as it is: `None` when no queue has the name.
pub async fn read(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let name = required(prior, "name", QUEUE)?;
    let w = what(name);
    let Some(url) = url_of(c, name, &w).await? else {
        return Ok(None);
    };
    let Some(a) = c
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .or_missing(&w, MISSING)?
    else {
        return Ok(None);
    };
    let attrs = a.attributes().cloned().unwrap_or_default();
    let get = |n: QueueAttributeName| attrs.get(&n).cloned();
    let number = |n: QueueAttributeName| {
        get(n)
            .and_then(|s| s.parse::<i64>().ok())
            .map(Value::int)
            .unwrap_or(Value::Null)
    };

    let mut out = prior.clone();
    put_observed(
        &mut out,
        "visibility_timeout",
        number(QueueAttributeName::VisibilityTimeout),
    );
    put_observed(
        &mut out,
        "message_retention_seconds",
        number(QueueAttributeName::MessageRetentionPeriod),
    );
    out.insert(
        "fifo".into(),
        Value::Bool(get(QueueAttributeName::FifoQueue).as_deref() == Some("true")),
    );
    let redrive = get(QueueAttributeName::RedrivePolicy)
        .filter(|s| !s.is_empty())
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
    match redrive {
        Some(r) => {
            let dlq = r["deadLetterTargetArn"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            // Sent as a number; some SQS versions report it as a string.
            let max = r["maxReceiveCount"]
                .as_i64()
                .or_else(|| r["maxReceiveCount"].as_str().and_then(|s| s.parse().ok()));
            put_observed(&mut out, "dead_letter_queue_arn", Value::string(dlq));
            if let Some(m) = max {
                put_observed(&mut out, "max_receive_count", Value::int(m));
            }
        }
        None => {
            out.remove("dead_letter_queue_arn");
        }
    }
    put_tags(&mut out, actual_tags(c, &url, &w).await?, prior);
    out.insert("url".into(), Value::string(url));
    if let Some(arn) = get(QueueAttributeName::QueueArn) {
        out.insert("arn".into(), Value::string(arn));
    }
    Ok(Some(out))
}

/// Deletes the queue (gone already is fine).
pub async fn delete(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required(prior, "name", QUEUE)?;
    let w = what(name);
    let Some(url) = url_of(c, name, &w).await? else {
        return Ok(());
    };
    c.sqs
        .delete_queue()
        .queue_url(url)
        .send()
        .await
        .or_missing(&w, MISSING)?;
    Ok(())
}
