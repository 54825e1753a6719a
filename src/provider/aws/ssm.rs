//! `aws_ssm_parameter`: a Parameter Store parameter (String or SecureString) with its
//! description and tags. `value` is always sensitive: simpler than depending on the
//! type, and never wrong. A read decrypts the value, so changes made outside baton show.

use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType, ResourceTypeForTagging, Tag};

use super::common::{Tags, exists, optional, put_tags, required, tag_changes, tags, with_owner};
use super::config::Clients;
use super::error::{Fault, Named, build_error};
use crate::provider::{AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, str_attr};
use crate::value::Value;

/// The kind served.
pub const PARAMETER: &str = "aws_ssm_parameter";

const MISSING: &[&str] = &["ParameterNotFound"];

fn string_type() -> Value {
    Value::string("String")
}

/// The schema of `aws_ssm_parameter`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: PARAMETER,
        provider: "aws",
        description: "An SSM Parameter Store parameter; a value changed outside baton shows as drift.",
        attributes: vec![
            AttrSchema::required(
                "name",
                AttrType::String,
                "Parameter name, e.g. \"/app/db/url\".",
            )
            .force_new(),
            AttrSchema::optional("type", AttrType::String, "String or SecureString.")
                .default(string_type)
                .force_new(),
            AttrSchema::required("value", AttrType::String, "The value.").sensitive(),
            AttrSchema::optional("description", AttrType::String, "Description."),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::computed("arn", AttrType::String, "The parameter's ARN."),
        ],
        create_before_destroy: false,
    }
}

fn what(name: &str) -> String {
    format!("{PARAMETER} {name:?}")
}

fn parameter_type(config: &Attrs, w: &str) -> Result<ParameterType, ProviderError> {
    match optional(config, "type").unwrap_or("String") {
        "String" => Ok(ParameterType::String),
        "SecureString" => Ok(ParameterType::SecureString),
        other => Err(ProviderError::Invalid(format!(
            "{w}: type {other:?} is not String or SecureString"
        ))),
    }
}

/// The value: any text (newlines included), but not empty, which SSM refuses.
fn value<'a>(config: &'a Attrs, w: &str) -> Result<&'a str, ProviderError> {
    str_attr(config, "value")
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            ProviderError::Invalid(format!("{w}: `value` is required and must not be empty"))
        })
}

fn tag_list(t: Tags, w: &str) -> Result<Vec<Tag>, ProviderError> {
    t.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| build_error(w, e))
}

/// Creates the parameter with its tags and the owner's marker (never overwriting one
/// that exists), then reads its ARN.
pub async fn create(c: &Clients, config: &Attrs, owner: &Owner) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", PARAMETER)?;
    let w = what(name);
    let value = value(config, &w)?;
    let t = with_owner(tags(config, &w)?, owner);
    let out = c
        .ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(parameter_type(config, &w)?)
        .set_description(optional(config, "description").map(str::to_string))
        .set_tags(Some(tag_list(t, &w)?))
        .overwrite(false)
        .send()
        .await;
    if let Err(e) = out {
        let f = Fault::from(e);
        if f.is(&["ParameterAlreadyExists"]) {
            return Err(exists(&w));
        }
        return Err(f.error(&w, &[value]));
    }
    let mut result = config.clone();
    result.insert(
        "arn".into(),
        Value::string(arn(c, name, &w).await?.unwrap_or_default()),
    );
    Ok(result)
}

async fn arn(c: &Clients, name: &str, w: &str) -> Result<Option<String>, ProviderError> {
    let out = c
        .ssm
        .get_parameter()
        .name(name)
        .send()
        .await
        .or_missing(w, MISSING)?;
    Ok(out.and_then(|o| o.parameter().and_then(|p| p.arn().map(str::to_string))))
}

async fn actual_tags(c: &Clients, name: &str, w: &str) -> Result<Tags, ProviderError> {
    let out = c
        .ssm
        .list_tags_for_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .send()
        .await
        .named(w)?;
    Ok(out
        .tag_list()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// Adds (or changes) the tags `set`.
async fn add_to(c: &Clients, name: &str, set: Tags, w: &str) -> Result<(), ProviderError> {
    if set.is_empty() {
        return Ok(());
    }
    c.ssm
        .add_tags_to_resource()
        .resource_type(ResourceTypeForTagging::Parameter)
        .resource_id(name)
        .set_tags(Some(tag_list(set, w)?))
        .send()
        .await
        .named(w)?;
    Ok(())
}

/// The tags of the parameter `found` names, the ownership tag included (`None`: no
/// such parameter).
pub async fn owner_tags(c: &Clients, found: &Attrs) -> Result<Option<Tags>, ProviderError> {
    let name = required(found, "name", PARAMETER)?;
    let w = what(name);
    if arn(c, name, &w).await?.is_none() {
        return Ok(None);
    }
    actual_tags(c, name, &w).await.map(Some)
}

/// Adds `extra` to the tags of the parameter `found` names.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let name = required(found, "name", PARAMETER)?;
    add_to(c, name, extra.clone(), &what(name)).await
}

/// The parameter's description (`DescribeParameters`, the only call that has it).
async fn description(c: &Clients, name: &str, w: &str) -> Result<Option<String>, ProviderError> {
    let filter = ParameterStringFilter::builder()
        .key("Name")
        .option("Equals")
        .values(name)
        .build()
        .map_err(|e| build_error(w, e))?;
    let out = c
        .ssm
        .describe_parameters()
        .parameter_filters(filter)
        .send()
        .await
        .named(w)?;
    Ok(out
        .parameters()
        .iter()
        .find(|p| p.name() == Some(name))
        .and_then(|p| p.description().map(str::to_string)))
}

/// Overwrites value and description, and sets the tags.
pub async fn update(c: &Clients, _prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", PARAMETER)?;
    let w = what(name);
    let value = value(config, &w)?;
    // Tags cannot be sent with an overwrite; they are set below.
    c.ssm
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(parameter_type(config, &w)?)
        // An empty description clears one set before.
        .description(optional(config, "description").unwrap_or(""))
        .overwrite(true)
        .send()
        .await
        .named_secret(&w, &[value])?;
    let (set, remove) = tag_changes(&actual_tags(c, name, &w).await?, &tags(config, &w)?);
    add_to(c, name, set, &w).await?;
    if !remove.is_empty() {
        c.ssm
            .remove_tags_from_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .named(&w)?;
    }
    let mut result = config.clone();
    result.insert(
        "arn".into(),
        Value::string(arn(c, name, &w).await?.unwrap_or_default()),
    );
    Ok(result)
}

/// The parameter as it is (value decrypted): `None` when it does not exist.
pub async fn read(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let name = required(prior, "name", PARAMETER)?;
    let w = what(name);
    let Some(out) = c
        .ssm
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .or_missing(&w, MISSING)?
    else {
        return Ok(None);
    };
    let Some(p) = out.parameter() else {
        return Ok(None);
    };
    let mut attrs = prior.clone();
    attrs.insert("value".into(), Value::string(p.value().unwrap_or_default()));
    if let Some(t) = p.r#type() {
        attrs.insert("type".into(), Value::string(t.as_str()));
    }
    match description(c, name, &w).await?.filter(|d| !d.is_empty()) {
        Some(d) => attrs.insert("description".into(), Value::string(d)),
        None => attrs.remove("description"),
    };
    put_tags(&mut attrs, actual_tags(c, name, &w).await?, prior);
    attrs.insert("arn".into(), Value::string(p.arn().unwrap_or_default()));
    Ok(Some(attrs))
}

/// Deletes the parameter (gone already is fine).
pub async fn delete(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required(prior, "name", PARAMETER)?;
    c.ssm
        .delete_parameter()
        .name(name)
        .send()
        .await
        .or_missing(&what(name), MISSING)?;
    Ok(())
}
