//! `aws_iam_user`, `aws_iam_access_key` and `aws_iam_user_policy` (an inline policy):
//! the credentials a workload gets, limited to its own resources.
//!
//! An access key's secret is only returned when the key is created; a read keeps the
//! recorded one and reports the key gone when AWS no longer lists it. Policies are
//! compared as JSON, since IAM returns them re-encoded (and URL-encoded).
//!
//! A user carries the ownership tag; keys and policies cannot hold tags and are baton's
//! when their user carries a marker of the same state (a relation).

use aws_sdk_iam::types::Tag;

use super::common::{
    OWNER_TAG, Tags, exists, optional, put_tags, required, same_json, tag_changes, tags, with_owner,
};
use super::config::Clients;
use super::error::{Fault, Named, build_error};
use crate::provider::{AttrSchema, AttrType, Attrs, KindSchema, Owner, ProviderError, str_attr};
use crate::value::Value;

/// A user.
pub const USER: &str = "aws_iam_user";
/// An access key of a user.
pub const ACCESS_KEY: &str = "aws_iam_access_key";
/// An inline policy of a user.
pub const USER_POLICY: &str = "aws_iam_user_policy";

const MISSING: &[&str] = &["NoSuchEntity"];

fn root_path() -> Value {
    Value::string("/")
}

/// The schema of `aws_iam_user`.
pub fn user_schema() -> KindSchema {
    KindSchema {
        kind: USER,
        provider: "aws",
        description: "An IAM user (for workloads' access keys).",
        attributes: vec![
            AttrSchema::required("name", AttrType::String, "User name.").force_new(),
            AttrSchema::optional("path", AttrType::String, "Path, e.g. \"/baton/\".")
                .default(root_path),
            AttrSchema::optional("tags", AttrType::Map, "Tags."),
            AttrSchema::computed("arn", AttrType::String, "The user's ARN."),
        ],
        create_before_destroy: false,
    }
}

/// The schema of `aws_iam_access_key`.
pub fn access_key_schema() -> KindSchema {
    KindSchema {
        kind: ACCESS_KEY,
        provider: "aws",
        description: "An access key of an IAM user; a key deleted outside baton is made again.",
        attributes: vec![
            AttrSchema::required("user", AttrType::String, "The user.").force_new(),
            AttrSchema::computed("access_key_id", AttrType::String, "The key's id."),
            AttrSchema::computed("secret_access_key", AttrType::String, "The secret key.")
                .sensitive(),
        ],
        create_before_destroy: false,
    }
}

/// The schema of `aws_iam_user_policy`.
pub fn user_policy_schema() -> KindSchema {
    KindSchema {
        kind: USER_POLICY,
        provider: "aws",
        description: "An inline policy of an IAM user; compared as JSON.",
        attributes: vec![
            AttrSchema::required("user", AttrType::String, "The user.").force_new(),
            AttrSchema::required("name", AttrType::String, "Policy name.").force_new(),
            AttrSchema::required(
                "policy",
                AttrType::String,
                "The policy document (JSON, e.g. from jsonencode).",
            ),
        ],
        create_before_destroy: false,
    }
}

fn user_what(name: &str) -> String {
    format!("{USER} {name:?}")
}

fn tag_list(t: Tags, w: &str) -> Result<Vec<Tag>, ProviderError> {
    t.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| build_error(w, e))
}

/// Creates the user with its tags and the owner's marker.
pub async fn create_user(
    c: &Clients,
    config: &Attrs,
    owner: &Owner,
) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", USER)?;
    let w = user_what(name);
    let t = with_owner(tags(config, &w)?, owner);
    let out = c
        .iam
        .create_user()
        .user_name(name)
        .path(optional(config, "path").unwrap_or("/"))
        .set_tags(Some(tag_list(t, &w)?))
        .send()
        .await;
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            let f = Fault::from(e);
            if f.is(&["EntityAlreadyExists"]) {
                return Err(exists(&w));
            }
            return Err(f.error(&w, &[]));
        }
    };
    let mut result = config.clone();
    result.insert(
        "arn".into(),
        Value::string(out.user().map(|u| u.arn()).unwrap_or_default()),
    );
    Ok(result)
}

async fn user_tags(c: &Clients, name: &str, w: &str) -> Result<Tags, ProviderError> {
    let out = c
        .iam
        .list_user_tags()
        .user_name(name)
        .send()
        .await
        .named(w)?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// Adds (or changes) the tags `set` of the user `name`.
async fn tag_user(c: &Clients, name: &str, set: Tags, w: &str) -> Result<(), ProviderError> {
    if set.is_empty() {
        return Ok(());
    }
    c.iam
        .tag_user()
        .user_name(name)
        .set_tags(Some(tag_list(set, w)?))
        .send()
        .await
        .named(w)?;
    Ok(())
}

/// The tags of the user `name`, the ownership tag included (`None`: no such user).
pub async fn tags_of_user(c: &Clients, name: &str) -> Result<Option<Tags>, ProviderError> {
    let w = user_what(name);
    let exists = c
        .iam
        .get_user()
        .user_name(name)
        .send()
        .await
        .or_missing(&w, MISSING)?
        .is_some();
    if !exists {
        return Ok(None);
    }
    user_tags(c, name, &w).await.map(Some)
}

/// The user an object of `kind` (a user, or its key or policy) belongs to.
pub fn user_of<'a>(kind: &str, found: &'a Attrs) -> Result<&'a str, ProviderError> {
    match kind {
        USER => required(found, "name", USER),
        other => required(found, "user", other),
    }
}

/// Adds `extra` to the tags of the user `found` names.
pub async fn add_tags(c: &Clients, found: &Attrs, extra: &Tags) -> Result<(), ProviderError> {
    let name = required(found, "name", USER)?;
    tag_user(c, name, extra.clone(), &user_what(name)).await
}

/// Sets the path and tags.
pub async fn update_user(
    c: &Clients,
    _prior: &Attrs,
    config: &Attrs,
) -> Result<Attrs, ProviderError> {
    let name = required(config, "name", USER)?;
    let w = user_what(name);
    let user = c.iam.get_user().user_name(name).send().await.named(&w)?;
    let path = optional(config, "path").unwrap_or("/");
    let mut arn = user.user().map(|u| u.arn().to_string()).unwrap_or_default();
    let mut marker = None;
    if user.user().map(|u| u.path()) != Some(path) {
        // Some IAM implementations (moto) keep tags by ARN, which holds the path: the
        // ownership tag is carried over by hand.
        marker = user_tags(c, name, &w).await?.remove(OWNER_TAG);
        c.iam
            .update_user()
            .user_name(name)
            .new_path(path)
            .send()
            .await
            .named(&w)?;
        // The ARN holds the path.
        arn = c
            .iam
            .get_user()
            .user_name(name)
            .send()
            .await
            .named(&w)?
            .user()
            .map(|u| u.arn().to_string())
            .unwrap_or_default();
    }
    let actual = user_tags(c, name, &w).await?;
    let (mut set, remove) = tag_changes(&actual, &tags(config, &w)?);
    if let Some(m) = marker.filter(|_| !actual.contains_key(OWNER_TAG)) {
        set.insert(OWNER_TAG.to_string(), m);
    }
    if !remove.is_empty() {
        c.iam
            .untag_user()
            .user_name(name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .named(&w)?;
    }
    tag_user(c, name, set, &w).await?;
    let mut result = config.clone();
    result.insert("arn".into(), Value::string(arn));
    Ok(result)
}

/// The user as it is: `None` when it does not exist.
pub async fn read_user(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let name = required(prior, "name", USER)?;
    let w = user_what(name);
    let Some(out) = c
        .iam
        .get_user()
        .user_name(name)
        .send()
        .await
        .or_missing(&w, MISSING)?
    else {
        return Ok(None);
    };
    let Some(user) = out.user() else {
        return Ok(None);
    };
    let mut attrs = prior.clone();
    attrs.insert("path".into(), Value::string(user.path()));
    attrs.insert("arn".into(), Value::string(user.arn()));
    put_tags(&mut attrs, user_tags(c, name, &w).await?, prior);
    Ok(Some(attrs))
}

/// Deletes the user (gone already is fine). Its keys and policies are objects of their
/// own, deleted before it.
pub async fn delete_user(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let name = required(prior, "name", USER)?;
    c.iam
        .delete_user()
        .user_name(name)
        .send()
        .await
        .or_missing(&user_what(name), MISSING)?;
    Ok(())
}

fn key_what(user: &str) -> String {
    format!("{ACCESS_KEY} of user {user:?}")
}

/// Creates a key; its secret is known only now.
pub async fn create_access_key(c: &Clients, config: &Attrs) -> Result<Attrs, ProviderError> {
    let user = required(config, "user", ACCESS_KEY)?;
    let w = key_what(user);
    let out = c
        .iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .named(&w)?;
    let key = out
        .access_key()
        .ok_or_else(|| ProviderError::Failed(format!("{w}: IAM returned no key")))?;
    let mut result = config.clone();
    result.insert("access_key_id".into(), Value::string(key.access_key_id()));
    result.insert(
        "secret_access_key".into(),
        Value::string(key.secret_access_key()),
    );
    Ok(result)
}

/// Nothing of a key can change in place (`user` is force-new); keeps the record.
pub fn update_access_key(prior: &Attrs, config: &Attrs) -> Result<Attrs, ProviderError> {
    let mut result = config.clone();
    for k in ["access_key_id", "secret_access_key"] {
        if let Some(v) = prior.get(k) {
            result.insert(k.into(), v.clone());
        }
    }
    Ok(result)
}

/// The key as recorded while the user still has it; `None` once it (or the user) is gone.
pub async fn read_access_key(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let user = required(prior, "user", ACCESS_KEY)?;
    let w = key_what(user);
    let Some(id) = str_attr(prior, "access_key_id") else {
        return Ok(None);
    };
    let Some(out) = c
        .iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .or_missing(&w, MISSING)?
    else {
        return Ok(None);
    };
    let found = out
        .access_key_metadata()
        .iter()
        .any(|k| k.access_key_id() == Some(id));
    Ok(found.then(|| prior.clone()))
}

/// Deletes the key (gone already is fine).
pub async fn delete_access_key(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let user = required(prior, "user", ACCESS_KEY)?;
    let Some(id) = str_attr(prior, "access_key_id") else {
        return Ok(());
    };
    c.iam
        .delete_access_key()
        .user_name(user)
        .access_key_id(id)
        .send()
        .await
        .or_missing(&key_what(user), MISSING)?;
    Ok(())
}

fn policy_what(user: &str, name: &str) -> String {
    format!("{USER_POLICY} {name:?} of user {user:?}")
}

/// Creates or replaces the inline policy (`PutUserPolicy` does both).
pub async fn put_user_policy(c: &Clients, config: &Attrs) -> Result<Attrs, ProviderError> {
    let user = required(config, "user", USER_POLICY)?;
    let name = required(config, "name", USER_POLICY)?;
    let w = policy_what(user, name);
    let policy = str_attr(config, "policy")
        .ok_or_else(|| ProviderError::Invalid(format!("{w}: `policy` is required")))?;
    if let Err(e) = serde_json::from_str::<serde_json::Value>(policy) {
        return Err(ProviderError::Invalid(format!(
            "{w}: `policy` is not JSON ({e})"
        )));
    }
    c.iam
        .put_user_policy()
        .user_name(user)
        .policy_name(name)
        .policy_document(policy)
        .send()
        .await
        .named(&w)?;
    Ok(config.clone())
}

/// A policy document as IAM returns it (URL-encoded), decoded.
pub(super) fn decode_policy(doc: &str) -> String {
    if serde_json::from_str::<serde_json::Value>(doc).is_ok() {
        return doc.to_string();
    }
    percent_encoding::percent_decode_str(doc)
        .decode_utf8_lossy()
        .into_owned()
}

/// The policy as it is: the recorded text while it means the same, else IAM's.
pub async fn read_user_policy(c: &Clients, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
    let user = required(prior, "user", USER_POLICY)?;
    let name = required(prior, "name", USER_POLICY)?;
    let w = policy_what(user, name);
    let Some(out) = c
        .iam
        .get_user_policy()
        .user_name(user)
        .policy_name(name)
        .send()
        .await
        .or_missing(&w, MISSING)?
    else {
        return Ok(None);
    };
    let actual = decode_policy(out.policy_document());
    let mut attrs = prior.clone();
    if !str_attr(prior, "policy").is_some_and(|p| same_json(p, &actual)) {
        attrs.insert("policy".into(), Value::string(actual));
    }
    Ok(Some(attrs))
}

/// Deletes the policy (gone already, or the user gone, is fine).
pub async fn delete_user_policy(c: &Clients, prior: &Attrs) -> Result<(), ProviderError> {
    let user = required(prior, "user", USER_POLICY)?;
    let name = required(prior, "name", USER_POLICY)?;
    c.iam
        .delete_user_policy()
        .user_name(user)
        .policy_name(name)
        .send()
        .await
        .or_missing(&policy_what(user, name), MISSING)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_are_url_decoded_and_compared_as_json() {
        let doc = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decode_policy(encoded), doc);
        assert_eq!(decode_policy(doc), doc);
        assert!(same_json(
            &decode_policy(encoded),
            "{\"Statement\": [], \"Version\": \"2012-10-17\"}"
        ));
    }
}
