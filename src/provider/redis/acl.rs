//! Redis ACL users as data: the schema of `redis_acl_user`, the `ACL SETUSER` rule list
//! built from a configuration (every rule validated, so none can smuggle in another),
//! the parsed `ACL GETUSER` reply, and the attributes a read reports.
//!
//! Redis normalizes rules (`+@all -@dangerous +get` reads back as `+@all -@dangerous`), so
//! the configured lists cannot be compared with what the server reports. Instead the
//! normalized form at the last apply is kept as the computed `acl`; a read that finds a
//! different form reports the server's rules, which differ from the configuration, and
//! the plan updates the user.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::provider::server::{check_name, list_value, string_list};
use crate::provider::{
    AttrSchema, AttrType, Attrs, KindSchema, ProviderError, bool_attr, str_attr,
};
use crate::value::Value;

/// The kind served.
pub const KIND: &str = "redis_acl_user";

/// What `passwords` reports for a password that baton did not set (its plain text is
/// unknowable); it never equals a configured password, so the plan resets it.
pub const UNKNOWN_PASSWORD: &str = "(password set outside baton)";

fn all() -> Value {
    list_value(&["*"])
}
fn all_commands() -> Value {
    list_value(&["+@all"])
}
fn on() -> Value {
    Value::Bool(true)
}

/// The schema of `redis_acl_user`.
pub fn schema() -> KindSchema {
    KindSchema {
        kind: KIND,
        provider: "redis",
        description: "A Redis ACL user (ACL SETUSER); rules edited outside baton show as drift.",
        attributes: vec![
            AttrSchema::required("username", AttrType::String, "User name (no spaces).").force_new(),
            AttrSchema::optional(
                "passwords",
                AttrType::List,
                "Passwords the user may log in with; none means no password login.",
            )
            .sensitive(),
            AttrSchema::optional("enabled", AttrType::Bool, "Whether the user may log in.").default(on),
            AttrSchema::optional(
                "keys",
                AttrType::List,
                "Key patterns (glob) the user may access; `%R~pat`/`%W~pat` for read/write only.",
            )
            .default(all),
            AttrSchema::optional("channels", AttrType::List, "Pub/Sub channel patterns (glob).")
                .default(all),
            AttrSchema::optional(
                "commands",
                AttrType::List,
                "Command rules in order, e.g. \"+@all\", \"-@dangerous\", \"+get\", \"-config|set\".",
            )
            .default(all_commands),
            AttrSchema::computed(
                "password_hashes",
                AttrType::List,
                "SHA-256 (hex) of each password, as Redis stores them.",
            )
            .sensitive(),
            AttrSchema::computed(
                "acl",
                AttrType::String,
                "The user's keys, channels and commands as Redis normalized them at the last apply.",
            ),
        ],
        create_before_destroy: false,
    }
}

/// A validated configuration of a user.
#[derive(Debug, Clone)]
pub struct Spec {
    /// User name.
    pub username: String,
    /// May log in.
    pub enabled: bool,
    /// Plain-text passwords.
    pub passwords: Vec<String>,
    /// Key rules, each a complete `~pattern` or `%R~pattern` rule.
    pub keys: Vec<String>,
    /// Channel rules, each `&pattern`.
    pub channels: Vec<String>,
    /// Command rules.
    pub commands: Vec<String>,
}

/// Refuses a pattern that could be read as more than one rule: Redis takes each
/// argument as one rule, but `ACL LIST` and the ACL file are space-separated, so a
/// space or control character would let a pattern become extra rules once saved.
fn check_pattern(attr: &str, p: &str) -> Result<(), ProviderError> {
    if p.is_empty() || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ProviderError::Invalid(format!(
            "`{attr}` entry {p:?} must be a non-empty pattern without spaces or control characters"
        )));
    }
    Ok(())
}

fn key_rule(p: &str) -> Result<String, ProviderError> {
    check_pattern("keys", p)?;
    // `%R~`, `%W~`, `%RW~` select read or write access (Redis 7); any other `%` form
    // is something else and refused rather than passed through.
    if let Some(rest) = p.strip_prefix('%') {
        let (perm, pat) = rest.split_once('~').unwrap_or(("", ""));
        if !matches!(perm, "R" | "W" | "RW" | "WR") || pat.is_empty() {
            return Err(ProviderError::Invalid(format!(
                "`keys` entry {p:?}: a `%` rule must be `%R~pattern`, `%W~pattern` or `%RW~pattern`"
            )));
        }
        return Ok(p.to_string());
    }
    Ok(format!("~{p}"))
}

/// True for `+name`, `-name`, `+@category`, `-name|subcommand`, `allcommands`,
/// `nocommands`: the rules about commands, and nothing that touches passwords, keys,
/// channels, flags or selectors.
fn is_command_rule(r: &str) -> bool {
    if r == "allcommands" || r == "nocommands" {
        return true;
    }
    let Some(body) = r.strip_prefix('+').or_else(|| r.strip_prefix('-')) else {
        return false;
    };
    let body = body.strip_prefix('@').unwrap_or(body);
    let word = |w: &str| {
        !w.is_empty()
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    };
    match body.split_once('|') {
        Some((cmd, sub)) => word(cmd) && word(sub) && !r[1..].starts_with('@'),
        None => word(body),
    }
}

impl Spec {
    /// Validates `config` (defaults applied for absent attributes).
    pub fn from_config(config: &Attrs) -> Result<Spec, ProviderError> {
        let username = str_attr(config, "username")
            .ok_or_else(|| ProviderError::Invalid("`username` is required".into()))?
            .to_string();
        check_name("redis ACL user name", &username)?;
        if username.chars().any(char::is_whitespace) {
            return Err(ProviderError::Invalid(format!(
                "redis ACL user name {username:?} contains spaces"
            )));
        }
        let passwords = string_list(config, "passwords")?.unwrap_or_default();
        if passwords.iter().any(String::is_empty) {
            return Err(ProviderError::Invalid(format!(
                "redis ACL user {username:?}: a password is empty"
            )));
        }
        let list = |name: &str, default: &str| -> Result<Vec<String>, ProviderError> {
            Ok(string_list(config, name)?.unwrap_or_else(|| vec![default.to_string()]))
        };
        let keys = list("keys", "*")?
            .iter()
            .map(|k| key_rule(k))
            .collect::<Result<_, _>>()?;
        let channels = list("channels", "*")?
            .iter()
            .map(|c| check_pattern("channels", c).map(|()| format!("&{c}")))
            .collect::<Result<_, _>>()?;
        let commands = list("commands", "+@all")?;
        if let Some(bad) = commands.iter().find(|c| !is_command_rule(c)) {
            return Err(ProviderError::Invalid(format!(
                "`commands` entry {bad:?} is not a command rule (like \"+@all\", \"-@dangerous\", \"+get\", \"-config|set\")"
            )));
        }
        Ok(Spec {
            username,
            enabled: bool_attr(config, "enabled").unwrap_or(true),
            passwords,
            keys,
            channels,
            commands,
        })
    }

    /// The arguments after `ACL SETUSER name`: `reset` first, so the user ends up with
    /// exactly these rules whatever it had; one rule per argument, never joined.
    pub fn rules(&self) -> Vec<String> {
        let mut r = vec![
            "reset".to_string(),
            if self.enabled { "on" } else { "off" }.to_string(),
        ];
        r.extend(self.passwords.iter().map(|p| format!(">{p}")));
        r.extend(self.keys.iter().cloned());
        r.extend(self.channels.iter().cloned());
        r.extend(self.commands.iter().cloned());
        r
    }

    /// The configured attributes with defaults filled in.
    pub fn attrs(&self, config: &Attrs) -> Attrs {
        let mut out = config.clone();
        for (k, v) in [
            ("enabled", on()),
            ("keys", all()),
            ("channels", all()),
            ("commands", all_commands()),
        ] {
            if out.get(k).is_none_or(Value::is_null) {
                out.insert(k.to_string(), v);
            }
        }
        out
    }
}

/// A user as `ACL GETUSER` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AclUser {
    /// Flags (`on`/`off`, `nopass`, …).
    pub flags: Vec<String>,
    /// SHA-256 hex of each password.
    pub password_hashes: Vec<String>,
    /// Key rules (`~pat`, `%R~pat`).
    pub keys: Vec<String>,
    /// Channel rules (`&pat`).
    pub channels: Vec<String>,
    /// Command rules, normalized.
    pub commands: Vec<String>,
    /// Further selectors (Redis 7), each rendered as `(rules…)`.
    pub selectors: Vec<String>,
}

fn text(v: &::redis::Value) -> Option<String> {
    match v {
        ::redis::Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        ::redis::Value::SimpleString(s) => Some(s.clone()),
        ::redis::Value::VerbatimString { text, .. } => Some(text.clone()),
        ::redis::Value::Okay => Some("OK".into()),
        _ => None,
    }
}

/// The words of a field: Redis 7 sends rules as one space-separated string, Redis 6
/// as an array.
fn words(v: &::redis::Value) -> Vec<String> {
    match v {
        ::redis::Value::Array(items) | ::redis::Value::Set(items) => {
            items.iter().filter_map(text).collect()
        }
        other => text(other)
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
    }
}

fn pairs(v: &::redis::Value) -> Option<Vec<(String, &::redis::Value)>> {
    match v {
        ::redis::Value::Array(items) => Some(
            items
                .chunks(2)
                .filter_map(|c| match c {
                    [k, v] => text(k).map(|k| (k, v)),
                    _ => None,
                })
                .collect(),
        ),
        ::redis::Value::Map(m) => Some(
            m.iter()
                .filter_map(|(k, v)| text(k).map(|k| (k, v)))
                .collect(),
        ),
        _ => None,
    }
}

fn prefixed(words: Vec<String>, prefix: char) -> Vec<String> {
    words
        .into_iter()
        .map(|w| {
            if w.starts_with(prefix) || w.starts_with('%') {
                w
            } else {
                format!("{prefix}{w}")
            }
        })
        .collect()
}

impl AclUser {
    /// Parses a reply of `ACL GETUSER`; `None` for nil (no such user).
    pub fn parse(reply: &::redis::Value) -> Result<Option<AclUser>, String> {
        if matches!(reply, ::redis::Value::Nil) {
            return Ok(None);
        }
        let fields =
            pairs(reply).ok_or_else(|| format!("unexpected ACL GETUSER reply: {reply:?}"))?;
        let mut u = AclUser::default();
        for (k, v) in fields {
            match k.as_str() {
                "flags" => u.flags = words(v),
                "passwords" => u.password_hashes = words(v),
                "keys" => u.keys = prefixed(words(v), '~'),
                "channels" => u.channels = prefixed(words(v), '&'),
                "commands" => u.commands = words(v),
                "selectors" => {
                    if let ::redis::Value::Array(sels) = v {
                        for s in sels {
                            let sub = AclUser::parse(s)?.unwrap_or_default();
                            u.selectors.push(format!("({})", sub.rules_text()));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(Some(u))
    }

    fn rules_text(&self) -> String {
        self.keys
            .iter()
            .chain(&self.channels)
            .chain(&self.commands)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The normalized rules as one string (the computed `acl`).
    pub fn acl(&self) -> String {
        let mut parts = vec![self.rules_text()];
        parts.extend(self.selectors.iter().cloned());
        parts.retain(|p| !p.is_empty());
        parts.join(" ")
    }

    /// Whether the user may log in.
    pub fn enabled(&self) -> bool {
        self.flags.iter().any(|f| f == "on")
    }

    /// Attributes after an apply of `config`: the configuration as given plus what
    /// Redis computed.
    pub fn applied(&self, spec: &Spec, config: &Attrs) -> Attrs {
        let mut out = spec.attrs(config);
        out.insert("password_hashes".into(), list_value(&self.password_hashes));
        out.insert("acl".into(), Value::string(self.acl()));
        out
    }

    /// Attributes as they really are, given what was recorded (`prior`): recorded
    /// values where the server still matches them, the server's otherwise.
    pub fn observed(&self, prior: &Attrs) -> Attrs {
        let mut out = prior.clone();
        out.insert("enabled".into(), Value::Bool(self.enabled()));
        out.insert("password_hashes".into(), list_value(&self.password_hashes));

        let known = string_list(prior, "passwords")
            .ok()
            .flatten()
            .unwrap_or_default();
        let server: BTreeSet<&str> = self.password_hashes.iter().map(String::as_str).collect();
        let hashed: Vec<(String, String)> =
            known.iter().map(|p| (sha256_hex(p), p.clone())).collect();
        let ours: BTreeSet<&str> = hashed.iter().map(|(h, _)| h.as_str()).collect();
        if server != ours || self.flags.iter().any(|f| f == "nopass") {
            // Keep the passwords still valid, and stand in for the ones set elsewhere.
            let mut pw: Vec<String> = hashed
                .iter()
                .filter(|(h, _)| server.contains(h.as_str()))
                .map(|(_, p)| p.clone())
                .collect();
            pw.extend(
                server
                    .difference(&ours)
                    .map(|_| UNKNOWN_PASSWORD.to_string()),
            );
            if self.flags.iter().any(|f| f == "nopass") {
                pw.push(UNKNOWN_PASSWORD.to_string());
            }
            out.insert("passwords".into(), list_value(&pw));
        }

        let acl = self.acl();
        if str_attr(prior, "acl") != Some(acl.as_str()) {
            let strip = |rules: &[String], prefix: char| -> Vec<String> {
                rules
                    .iter()
                    .map(|r| r.strip_prefix(prefix).unwrap_or(r).to_string())
                    .collect()
            };
            out.insert("keys".into(), list_value(&strip(&self.keys, '~')));
            out.insert("channels".into(), list_value(&strip(&self.channels, '&')));
            let mut commands = self.commands.clone();
            commands.extend(self.selectors.iter().cloned());
            out.insert("commands".into(), list_value(&commands));
            out.insert("acl".into(), Value::string(acl));
        }
        out
    }
}

/// SHA-256 of `s`, lower-case hex (how Redis stores passwords).
pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, Value)]) -> Attrs {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn rules_are_one_per_argument_and_validated() {
        let spec = Spec::from_config(&attrs(&[
            ("username", Value::string("app")),
            ("passwords", list_value(&["a b >c"])),
            ("keys", list_value(&["app:*", "%R~ro:*"])),
            (
                "commands",
                list_value(&["+@read", "-config|set", "+json.get"]),
            ),
        ]))
        .unwrap();
        assert_eq!(
            spec.rules(),
            [
                "reset",
                "on",
                ">a b >c",
                "~app:*",
                "%R~ro:*",
                "&*",
                "+@read",
                "-config|set",
                "+json.get"
            ]
        );
        for (attr, bad) in [
            ("keys", "a* ~*"),
            ("keys", "a*\n+@all"),
            ("keys", ""),
            ("keys", "%X~a"),
            ("channels", "x &*"),
            ("commands", "+@all ~*"),
            ("commands", ">pw"),
            ("commands", "reset"),
            ("commands", "nopass"),
            ("commands", "+@all|x"),
            ("commands", "(+get ~x)"),
            ("commands", "on"),
        ] {
            let r = Spec::from_config(&attrs(&[
                ("username", Value::string("u")),
                (attr, list_value(&[bad])),
            ]));
            assert!(
                matches!(r, Err(ProviderError::Invalid(_))),
                "{attr} {bad:?} was accepted"
            );
        }
        for bad in ["a b", "", "x\u{0}", "on\tnopass"] {
            assert!(
                Spec::from_config(&attrs(&[("username", Value::string(bad))])).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reads_keep_the_configuration_until_the_server_differs() {
        let reply = ::redis::Value::Array(vec![
            ::redis::Value::BulkString(b"flags".to_vec()),
            ::redis::Value::Array(vec![::redis::Value::SimpleString("on".into())]),
            ::redis::Value::BulkString(b"passwords".to_vec()),
            ::redis::Value::Array(vec![::redis::Value::BulkString(
                sha256_hex("pw").into_bytes(),
            )]),
            ::redis::Value::BulkString(b"commands".to_vec()),
            ::redis::Value::BulkString(b"+@all -@dangerous".to_vec()),
            ::redis::Value::BulkString(b"keys".to_vec()),
            ::redis::Value::BulkString(b"~a*".to_vec()),
            ::redis::Value::BulkString(b"channels".to_vec()),
            ::redis::Value::BulkString(b"".to_vec()),
            ::redis::Value::BulkString(b"selectors".to_vec()),
            ::redis::Value::Array(vec![]),
        ]);
        let user = AclUser::parse(&reply).unwrap().unwrap();
        assert_eq!(user.acl(), "~a* +@all -@dangerous");
        let config = attrs(&[
            ("username", Value::string("u")),
            ("passwords", list_value(&["pw"])),
            ("keys", list_value(&["a*"])),
            ("channels", list_value::<&str>(&[])),
            ("commands", list_value(&["+@all", "-@dangerous", "+get"])),
        ]);
        let spec = Spec::from_config(&config).unwrap();
        let state = user.applied(&spec, &config);
        assert_eq!(user.observed(&state), state);

        let mut changed = user.clone();
        changed.commands = vec!["-@all".into()];
        changed.password_hashes = vec![sha256_hex("other")];
        let seen = changed.observed(&state);
        assert_eq!(seen["commands"], list_value(&["-@all"]));
        assert_eq!(seen["passwords"], list_value(&[UNKNOWN_PASSWORD]));
        assert_eq!(seen["keys"], list_value(&["a*"]));
        assert!(AclUser::parse(&::redis::Value::Nil).unwrap().is_none());
    }
}
