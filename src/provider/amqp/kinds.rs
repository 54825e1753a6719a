//! The RabbitMQ kinds as data: schemas, the JSON bodies sent to the management API
//! (built from validated attributes), and the attributes a read reports from the API's
//! answer, keeping recorded values where the server still matches them.

use std::collections::BTreeSet;

use base64::Engine;
use sha2::Digest;

use crate::provider::owner::MARKER_PREFIX;
use crate::provider::server::{check_name, list_value, string_list};
use crate::provider::{
    AttrSchema, AttrType, Attrs, Claim, KindSchema, Owner, ProviderError, str_attr,
};
use crate::value::Value;

/// A virtual host.
pub const VHOST: &str = "rabbitmq_vhost";
/// A user.
pub const USER: &str = "rabbitmq_user";
/// A user's permissions in a virtual host.
pub const PERMISSIONS: &str = "rabbitmq_permissions";

/// What `password` reports when the server's password is not the recorded one (its
/// plain text is unknowable); it never equals a configured password, so the plan resets it.
pub const UNKNOWN_PASSWORD: &str = "(password set outside baton)";

fn none() -> Value {
    Value::List(Vec::new())
}
fn everything() -> Value {
    Value::string(".*")
}

/// The schemas of the three kinds.
pub fn schemas() -> Vec<KindSchema> {
    vec![
        KindSchema {
            kind: VHOST,
            provider: "amqp",
            description: "A RabbitMQ virtual host.",
            attributes: vec![
                AttrSchema::required("name", AttrType::String, "Name of the virtual host.")
                    .force_new(),
                AttrSchema::optional("description", AttrType::String, "Description."),
                AttrSchema::optional("tags", AttrType::List, "Tags (no commas or spaces).")
                    .default(none),
            ],
            create_before_destroy: false,
        },
        KindSchema {
            kind: USER,
            provider: "amqp",
            description: "A RabbitMQ user; a password changed outside baton shows as drift.",
            attributes: vec![
                AttrSchema::required("name", AttrType::String, "User name.").force_new(),
                AttrSchema::optional(
                    "password",
                    AttrType::String,
                    "Password; none means no password login.",
                )
                .sensitive(),
                AttrSchema::optional(
                    "tags",
                    AttrType::List,
                    "Tags, e.g. \"management\", \"monitoring\", \"administrator\".",
                )
                .default(none),
                AttrSchema::computed(
                    "password_hash",
                    AttrType::String,
                    "The salted hash the server keeps (base64), as last read.",
                )
                .sensitive(),
            ],
            create_before_destroy: false,
        },
        KindSchema {
            kind: PERMISSIONS,
            provider: "amqp",
            description: "What a RabbitMQ user may do in a virtual host (regular expressions over resource names).",
            attributes: vec![
                AttrSchema::required("user", AttrType::String, "The user.").force_new(),
                AttrSchema::required("vhost", AttrType::String, "The virtual host.").force_new(),
                AttrSchema::optional(
                    "configure",
                    AttrType::String,
                    "Resources the user may configure.",
                )
                .default(everything),
                AttrSchema::optional(
                    "write",
                    AttrType::String,
                    "Resources the user may write to.",
                )
                .default(everything),
                AttrSchema::optional(
                    "read",
                    AttrType::String,
                    "Resources the user may read from.",
                )
                .default(everything),
            ],
            create_before_destroy: false,
        },
    ]
}

/// A required name attribute, checked.
pub fn name(attrs: &Attrs, attr: &str, what: &str) -> Result<String, ProviderError> {
    let n = str_attr(attrs, attr)
        .ok_or_else(|| ProviderError::Invalid(format!("`{attr}` is required")))?;
    check_name(what, n)?;
    Ok(n.to_string())
}

/// Tags, checked: the API also takes tags as one comma-separated string, so a comma
/// would turn one tag into several (e.g. `"x,administrator"`). Tags starting with
/// `baton:` are baton's ownership markers, which a configuration may not forge.
fn tags(attrs: &Attrs) -> Result<Vec<String>, ProviderError> {
    let tags = string_list(attrs, "tags")?.unwrap_or_default();
    if let Some(bad) = tags.iter().find(|t| {
        t.is_empty()
            || t.chars()
                .any(|c| c == ',' || c.is_whitespace() || c.is_control())
    }) {
        return Err(ProviderError::Invalid(format!(
            "tag {bad:?} must be non-empty, without commas or spaces"
        )));
    }
    if let Some(bad) = tags.iter().find(|t| is_marker(t)) {
        return Err(ProviderError::Invalid(format!(
            "tag {bad:?} starts with `{MARKER_PREFIX}`, which is reserved for baton's ownership markers"
        )));
    }
    Ok(tags)
}

fn is_marker(tag: &str) -> bool {
    tag.starts_with(MARKER_PREFIX)
}

/// The configured tags followed by the ownership `markers`, as the API's
/// comma-separated string.
fn tags_with(config: &Attrs, markers: &[String]) -> Result<String, ProviderError> {
    let mut all = tags(config)?;
    all.extend(markers.iter().cloned());
    Ok(all.join(","))
}

/// The ownership markers among an object's tags (a vhost's or a user's).
pub fn markers(j: &serde_json::Value) -> Vec<String> {
    all_tags(j).into_iter().filter(|t| is_marker(t)).collect()
}

/// What an object's marker tags prove for `owner`: this owner's marker wins over any
/// other one found beside it.
pub fn judge_markers(j: &serde_json::Value, owner: &Owner) -> Claim {
    let found = markers(j);
    let mine = owner.marker();
    let pick = found.iter().find(|m| **m == mine).or(found.first());
    owner.judge(pick.map(String::as_str))
}

/// The body of the PUT that writes `owner`'s marker onto the existing vhost `j`: its
/// description, tags and settings as they are, any other marker replaced by this one.
pub fn vhost_marked(j: &serde_json::Value, owner: &Owner) -> serde_json::Value {
    let mut tags: Vec<String> = all_tags(j).into_iter().filter(|t| !is_marker(t)).collect();
    tags.push(owner.marker());
    let mut body = serde_json::json!({
        "description": j.get("description").and_then(|d| d.as_str()).unwrap_or(""),
        "tags": tags.join(","),
    });
    for keep in ["default_queue_type", "tracing"] {
        if let Some(v) = j.get(keep).filter(|v| v.as_str() != Some("undefined")) {
            body[keep] = v.clone();
        }
    }
    body
}

/// Tags as the server reports them, ownership markers left out: they are not part of
/// what a configuration says.
fn server_tags(j: &serde_json::Value) -> Vec<String> {
    all_tags(j).into_iter().filter(|t| !is_marker(t)).collect()
}

/// Tags as the server reports them: a list (3.9+) or a comma-separated string.
fn all_tags(j: &serde_json::Value) -> Vec<String> {
    match j.get("tags") {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// Sets `tags` in `out` to the server's, unless they are the recorded ones in another order.
fn observe_tags(out: &mut Attrs, prior: &Attrs, j: &serde_json::Value) {
    let server = server_tags(j);
    let recorded = string_list(prior, "tags")
        .ok()
        .flatten()
        .unwrap_or_default();
    let same = server.iter().collect::<BTreeSet<_>>() == recorded.iter().collect::<BTreeSet<_>>();
    if !same || !prior.contains_key("tags") {
        out.insert("tags".into(), list_value(&server));
    }
}

/// The vhost's name and the body of `PUT /api/vhosts/{name}`, carrying the ownership
/// `markers` as tags.
pub fn vhost_body(
    config: &Attrs,
    markers: &[String],
) -> Result<(String, serde_json::Value), ProviderError> {
    let name = name(config, "name", "RabbitMQ vhost name")?;
    let body = serde_json::json!({
        "description": str_attr(config, "description").unwrap_or(""),
        "tags": tags_with(config, markers)?,
    });
    Ok((name, body))
}

/// A vhost as it is, given what was recorded.
pub fn vhost_observed(prior: &Attrs, j: &serde_json::Value) -> Attrs {
    let mut out = prior.clone();
    // A description never set reads back as "", which is not a change.
    let server = j.get("description").and_then(|d| d.as_str()).unwrap_or("");
    if str_attr(prior, "description").unwrap_or("") != server {
        out.insert("description".into(), Value::string(server));
    }
    observe_tags(&mut out, prior, j);
    out
}

/// The user's name, the body of `PUT /api/users/{name}` (the ownership `markers` among
/// its tags), and the secrets in it.
pub fn user_body(
    config: &Attrs,
    markers: &[String],
) -> Result<(String, serde_json::Value, Vec<String>), ProviderError> {
    let name = name(config, "name", "RabbitMQ user name")?;
    let tags = tags_with(config, markers)?;
    Ok(match str_attr(config, "password") {
        Some(p) if !p.is_empty() => (
            name,
            serde_json::json!({ "password": p, "tags": tags }),
            vec![p.to_string()],
        ),
        // An empty hash is how the API says "no password" (login only by other means).
        _ => (
            name,
            serde_json::json!({ "password_hash": "", "tags": tags }),
            Vec::new(),
        ),
    })
}

/// Whether `password` is the one behind `hash` (base64 of a 4-byte salt followed by
/// H(salt ‖ password)); `None` for a hashing algorithm not known here.
pub fn password_matches(password: &str, hash: &str, algorithm: &str) -> Option<bool> {
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(hash) else {
        return Some(false);
    };
    if raw.len() < 5 {
        return Some(false);
    }
    let (salt, digest) = raw.split_at(4);
    let input = [salt, password.as_bytes()].concat();
    let expected: Vec<u8> = match algorithm {
        "rabbit_password_hashing_sha256" | "" => sha2::Sha256::digest(&input).to_vec(),
        "rabbit_password_hashing_sha512" => sha2::Sha512::digest(&input).to_vec(),
        "rabbit_password_hashing_md5" => md5::Md5::digest(&input).to_vec(),
        _ => return None,
    };
    Some(expected == digest)
}

/// Whether the user `j` has exactly the password recorded in `prior` (one baton
/// generated, that nobody else knows); false when none is recorded.
pub fn user_has_password(prior: &Attrs, j: &serde_json::Value) -> bool {
    let hash = j
        .get("password_hash")
        .and_then(|h| h.as_str())
        .unwrap_or("");
    let algorithm = j
        .get("hashing_algorithm")
        .and_then(|h| h.as_str())
        .unwrap_or("");
    match str_attr(prior, "password").filter(|p| !p.is_empty()) {
        Some(p) if !hash.is_empty() => password_matches(p, hash, algorithm) == Some(true),
        _ => false,
    }
}

/// What baton can prove about the user `j` for `owner`: it is baton's when its password
/// is the one baton generated and recorded in `prior`, or when it carries this owner's
/// marker among its tags (what proves a user without a password, and one whose password
/// was changed outside baton, which the plan then sets back).
pub fn user_claim(prior: &Attrs, j: &serde_json::Value, owner: &Owner) -> Claim {
    match judge_markers(j, owner) {
        Claim::Ours => Claim::Ours,
        _ if user_has_password(prior, j) => Claim::Ours,
        other => other,
    }
}

/// A user as it is, given what was recorded.
pub fn user_observed(prior: &Attrs, j: &serde_json::Value) -> Attrs {
    let mut out = prior.clone();
    let hash = j
        .get("password_hash")
        .and_then(|h| h.as_str())
        .unwrap_or("");
    let algorithm = j
        .get("hashing_algorithm")
        .and_then(|h| h.as_str())
        .unwrap_or("");
    let recorded = str_attr(prior, "password").filter(|p| !p.is_empty());
    let still_ours = match recorded {
        None => hash.is_empty(),
        Some(_) if hash.is_empty() => false,
        // Unknown algorithm: at least notice a hash different from the one recorded.
        Some(p) => password_matches(p, hash, algorithm)
            .unwrap_or_else(|| str_attr(prior, "password_hash") == Some(hash)),
    };
    if !still_ours {
        let now = if hash.is_empty() {
            Value::Null
        } else {
            Value::string(UNKNOWN_PASSWORD)
        };
        out.insert("password".into(), now);
    }
    out.insert("password_hash".into(), Value::string(hash));
    observe_tags(&mut out, prior, j);
    out
}

/// `(vhost, user)` of a permissions object.
pub fn permissions_key(attrs: &Attrs) -> Result<(String, String), ProviderError> {
    Ok((
        name(attrs, "vhost", "RabbitMQ vhost name")?,
        name(attrs, "user", "RabbitMQ user name")?,
    ))
}

const REGEXES: [&str; 3] = ["configure", "write", "read"];

/// The body of `PUT /api/permissions/{vhost}/{user}`.
pub fn permissions_body(config: &Attrs) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    for r in REGEXES {
        body.insert(r.into(), str_attr(config, r).unwrap_or(".*").into());
    }
    body.into()
}

/// The configuration with the schema's defaults filled in for absent attributes (the
/// engine does this too; callers that skip it get the same object).
pub fn with_defaults(config: &Attrs, kind: &str) -> Attrs {
    let mut out = config.clone();
    for schema in schemas().into_iter().filter(|s| s.kind == kind) {
        for a in schema.attributes {
            if let Some(default) = a.default
                && out.get(a.name).is_none_or(Value::is_null)
            {
                out.insert(a.name.to_string(), default());
            }
        }
    }
    out
}

/// Permissions as they are, given what was recorded.
pub fn permissions_observed(prior: &Attrs, j: &serde_json::Value) -> Attrs {
    let mut out = prior.clone();
    for r in REGEXES {
        out.insert(
            r.into(),
            Value::string(j.get(r).and_then(|v| v.as_str()).unwrap_or("")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_checked_against_the_salted_hash() {
        // Made by RabbitMQ 3.10 for the password "p w".
        let h = "jnvsLXA7jDXEitON9g+DFV3+QXNju6j9WDSTrL6Al7FnzotP";
        assert_eq!(
            password_matches("p w", h, "rabbit_password_hashing_sha256"),
            Some(true)
        );
        assert_eq!(
            password_matches("p x", h, "rabbit_password_hashing_sha256"),
            Some(false)
        );
        assert_eq!(password_matches("p w", h, "something_new"), None);
        let prior = Attrs::from([
            ("name".to_string(), Value::string("u")),
            ("password".to_string(), Value::string("p w")),
            ("tags".to_string(), list_value(&["b", "a"])),
        ]);
        let j = serde_json::json!({"password_hash": h, "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["a", "b"]});
        let seen = user_observed(&prior, &j);
        assert_eq!(seen["password"], Value::string("p w"));
        assert_eq!(seen["tags"], list_value(&["b", "a"]));
        let j = serde_json::json!({"password_hash": h, "tags": "a,c"});
        let mut other = prior.clone();
        other.insert("password".into(), Value::string("new"));
        let seen = user_observed(&other, &j);
        assert_eq!(seen["password"], Value::string(UNKNOWN_PASSWORD));
        assert_eq!(seen["tags"], list_value(&["a", "c"]));
    }

    #[test]
    fn tags_cannot_smuggle_more_tags() {
        let c = Attrs::from([
            ("name".to_string(), Value::string("u")),
            (
                "tags".to_string(),
                list_value(&["management,administrator"]),
            ),
        ]);
        assert!(matches!(user_body(&c, &[]), Err(ProviderError::Invalid(_))));
        let c = Attrs::from([("name".to_string(), Value::string("v\u{7}"))]);
        assert!(matches!(
            vhost_body(&c, &[]),
            Err(ProviderError::Invalid(_))
        ));
        // A configured tag cannot pose as an ownership marker.
        let owner = Owner::for_tests();
        let c = Attrs::from([
            ("name".to_string(), Value::string("v")),
            ("tags".to_string(), list_value(&[owner.marker()])),
        ]);
        assert!(matches!(
            vhost_body(&c, &[]),
            Err(ProviderError::Invalid(_))
        ));
    }

    #[test]
    fn markers_among_tags_prove_ownership_and_stay_out_of_the_tags_read() {
        let owner = Owner::for_tests();
        let other = Owner::new(&owner.lineage, "elsewhere");
        let j = serde_json::json!({"description": "d", "tags": ["a", other.marker(), owner.marker()], "default_queue_type": "quorum"});
        assert_eq!(judge_markers(&j, &owner), Claim::Ours);
        assert_eq!(judge_markers(&j, &other), Claim::Ours);
        let stranger = Owner::new("11111111-1111-1111-1111-111111111111", "test");
        assert_eq!(judge_markers(&j, &stranger), Claim::Foreign(other.marker()));
        assert_eq!(
            judge_markers(&serde_json::json!({"tags": ["a"]}), &owner),
            Claim::Unproven
        );
        let prior = Attrs::from([("tags".to_string(), list_value(&["a"]))]);
        assert_eq!(vhost_observed(&prior, &j)["tags"], list_value(&["a"]));
        let body = vhost_marked(&j, &stranger);
        assert_eq!(
            body["tags"],
            serde_json::json!(format!("a,{}", stranger.marker()))
        );
        assert_eq!(
            (
                body["description"].as_str(),
                body["default_queue_type"].as_str()
            ),
            (Some("d"), Some("quorum"))
        );
    }
}
