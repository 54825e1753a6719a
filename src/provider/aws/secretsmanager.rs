//! `aws_secretsmanager_secret`: a secret with its current value, description and tags.
//! A read fetches the current value, so a value changed outside baton shows as drift and
//! the next apply puts the configured one back. Deleting skips the recovery window by
//! default, so the name can be used again at once.

use aws_sdk_secretsmanager::types::Tag;

use super::common::{Tags, exists, optional, put_tags, required, tag_changes, tags, with_owner};
use super::config::Clients;
use super::error::{Fault, Named};
use crate::provider::{
    AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, int_attr, str_attr,
};
use crate::value::Value;

/// The kind served.
pub const SECRET: &str = "aws_secretsmanager_secret";

const MISSING: &[&str] = &["ResourceNotFoundException"];

fn zero() -> Value {
    Value::int(0)
}

/// The schema of `aws_secretsmanager_secret`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: SECRET,
        provider: "aws",
        description: "A Secrets Manager secret; a value changed outside baton shows as drift and is put back.",
        attributes: vec![
            AttrSchema::required("name", AttrType::String, "Secret name.").force_new(),
            AttrSchema::optional("description", AttrType::String, "Description."),
            AttrSchema::optional(
                "value",
                AttrType::String,
                "The secret's value (a new version on each change).",
            )
            .sensitive(),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::optional(
                "recovery_window_days",
                AttrType::Number,
                "Days a deleted secret can be restored (7–30); 0 deletes it at once.",
            )
            .default(zero),
            AttrSchema::computed("arn", AttrType::String, "The secret's ARN."),
        ],
        create_before_destroy: false,
    }
}

fn what(name: &str) -> String {
    format!("{SECRET} {name:?}")
}

fn tag_list(t: Tags) -> Vec<Tag> {
    t.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn recovery_window(attrs: &Attrs, w: &str) -> Result<i64, ProviderError> {
    match int_attr(attrs, "recovery_window_days").unwrap_or(0) {
        n @ (0 | 7..=30) => Ok(n),
        n => Err(ProviderError::Invalid(format!(
            "{w}: recovery_window_days {n} is not 0 or 7–30"
        ))),
    }
}

/// Creates the secret with its first value, its tags and the owner's marker.
pub async fn create(c: &Clients, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", SECRET)?;
    let w = what(name);
    recovery_window(config, &w)?;
    let value = str_attr(config, "value");
    let secrets: Vec<&str> = value.into_iter().collect();
    let t = with_owner(tags(config, &w)?, owner);
    let out = c
        .secrets
        .create_secret()
        .name(name)
        .set_description(optional(config, "description").map(str::to_string))
        .set_secret_string(value.map(str::to_string))
        .set_tags(Some(tag_list(t)))
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            let f = Fault::from(e);
            if f.is(&["ResourceExistsException"]) {
                return Err(exists(&w));
            }
            return Err(f.error(&w, &secrets));
        }
    };
    let mut result = config.clone();
    result.insert("arn".into(), Value::string(out.arn().unwrap_or_default()));
    Ok(result)
}

/// Puts a new value when it changed, and sets description and tags.
pub async fn update(c: &Clients, _prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", SECRET)?;
    let w = what(name);
    recovery_window(config, &w)?;
    let value = str_attr(config, "value");
    let secrets: Vec<&str> = value.into_iter().collect();
    let Some(described) = c
        .secrets
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .or_missing(&w, MISSING)?
    else {
        return Err(ProviderError::Failed(format!("{w} does not exist")));
    };
    // Compared with the secret's current value, not the record: a value changed
    // outside baton since the last refresh is put back too.
    if let Some(v) = value
        && current_value(c, name, &w).await?.as_deref() != Some(v)
    {
        c.secrets
            .put_secret_value()
            .secret_id(name)
            .secret_string(v)
            .send()
            .await
            .named_secret(&w, &secrets)?;
    }
    let description = optional(config, "description").unwrap_or("");
    if described.description().unwrap_or("") != description {
        c.secrets
            .update_secret()
            .secret_id(name)
            .description(description)
            .send()
            .await
            .named_secret(&w, &secrets)?;
    }
    let (set, remove) = tag_changes(&tags_of(&described), &tags(config, &w)?);
    if !remove.is_empty() {
        c.secrets
            .untag_resource()
            .secret_id(name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .named(&w)?;
    }
    if !set.is_empty() {
        c.secrets
            .tag_resource()
            .secret_id(name)
            .set_tags(Some(tag_list(set)))
            .send()
            .await
            .named(&w)?;
    }
    let mut result = config.clone();
    result.insert(
        "arn".into(),
        Value::string(described.arn().unwrap_or_default()),
    );
    Ok(result)
}

fn tags_of(
    described: &aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput,
) -> Tags {
    described
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or("").to_string(),
                t.value().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The tags of the secret `found` names, the ownership tag included (`None`: no such
/// secret).
pub async fn owner_tags(c: &Clients, found: &Attrs) -> Result<Option<Tags>, ProviderError> {
    let name = required(found, "name", SECRET)?;
    let described = c
        .secrets
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .or_missing(&what(name), MISSING)?;
    Ok(described.as_ref().map(tags_of))
}

/// Adds `extra` to the tags of the secret `found` names.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let name = required(found, "name", SECRET)?;
    c.secrets
        .tag_resource()
        .secret_id(name)
        .set_tags(Some(tag_list(extra.clone())))
        .send()
        .await
        .named(&what(name))?;
    Ok(())
}

/// The current value; `None` when the secret has none yet.
async fn current_value(c: &Clients, name: &str, w: &str) -> Result<Option<String>, ProviderError> {
    // A secret without any version answers ResourceNotFoundException too.
    let out = c
        .secrets
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .or_missing(w, MISSING)?;
    Ok(out.and_then(|o| o.secret_string().map(str::to_string)))
}

/// The secret as it is: `None` when it does not exist or is scheduled for deletion.
pub async fn read(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let name = required(prior, "name", SECRET)?;
    let w = what(name);
    let Some(d) = c
        .secrets
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .or_missing(&w, MISSING)?
    else {
        return Ok(None);
    };
    if d.deleted_date().is_some() {
        return Ok(None);
    }
    let mut out = prior.clone();
    match d.description().filter(|s| !s.is_empty()) {
        Some(desc) => out.insert("description".into(), Value::string(desc)),
        None => out.remove("description"),
    };
    // A value the configuration never set is not reported: the configuration cannot
    // remove it, so reporting it would be a change no apply could converge.
    if str_attr(prior, "value").is_some()
        && let Some(v) = current_value(c, name, &w).await?
    {
        out.insert("value".into(), Value::string(v));
    }
    let actual: Tags = d
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or("").to_string(),
                t.value().unwrap_or("").to_string(),
            )
        })
        .collect();
    put_tags(&mut out, actual, prior);
    out.insert("arn".into(), Value::string(d.arn().unwrap_or_default()));
    Ok(Some(out))
}

/// Deletes the secret: at once with `recovery_window_days = 0`, else after the window.
pub async fn delete(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required(prior, "name", SECRET)?;
    let w = what(name);
    let days = recovery_window(prior, &w)?;
    let mut req = c.secrets.delete_secret().secret_id(name);
    req = if days == 0 {
        req.force_delete_without_recovery(true)
    } else {
        req.recovery_window_in_days(days)
    };
    req.send().await.or_missing(&w, MISSING)?;
    Ok(())
}
