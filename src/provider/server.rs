//! Helpers shared by the providers that talk to network servers (`redis`, `amqp`):
//! the server's URL from the environment's `provider "NAME" { … }` block (or a default),
//! the host and port modules may read, messages that never show credentials, and
//! list-of-strings attributes.

use super::{Attrs, ProviderError};
use crate::value::Value;

/// A server's URL, parsed once when the provider is built (never connecting).
#[derive(Debug, Clone)]
pub struct Endpoint {
    url: url::Url,
    default_port: u16,
}

impl Endpoint {
    /// The URL in `config[key]`, else `default`; `provider` and `key` name it in errors.
    /// The error message shows the URL without its credentials.
    pub fn from_config(
        config: &Attrs,
        key: &str,
        default: &str,
        default_port: u16,
        provider: &str,
    ) -> Result<Endpoint, String> {
        let raw = config.get(key).and_then(Value::as_str).unwrap_or(default);
        match url::Url::parse(raw) {
            Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => {
                Ok(Endpoint { url, default_port })
            }
            // Without a host, where a password would be is unclear, so the text is not shown.
            Ok(_) => Err(format!(
                "provider \"{provider}\": `{key}` has no host (expected like {})",
                url::Url::parse(default)
                    .map(|u| without_credentials(&u))
                    .unwrap_or_default()
            )),
            // The raw text may hold a password, so only the parser's reason is shown.
            Err(e) => Err(format!(
                "provider \"{provider}\": `{key}` is not a URL ({e})"
            )),
        }
    }

    /// The full URL, credentials included (for the client library only).
    pub fn url(&self) -> &url::Url {
        &self.url
    }

    /// The host name or address.
    pub fn host(&self) -> String {
        self.url.host_str().unwrap_or_default().to_string()
    }

    /// The port, or the scheme's default (`http` 80) or else the provider's.
    pub fn port(&self) -> u16 {
        self.url
            .port_or_known_default()
            .unwrap_or(self.default_port)
    }

    /// The user name in the URL, percent-decoded.
    pub fn username(&self) -> Option<String> {
        Some(self.url.username())
            .filter(|u| !u.is_empty())
            .map(|u| {
                percent_encoding::percent_decode_str(u)
                    .decode_utf8_lossy()
                    .into_owned()
            })
    }

    /// The password in the URL, percent-decoded.
    pub fn password(&self) -> Option<String> {
        self.url.password().map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        })
    }

    /// The URL without credentials, for messages.
    pub fn display(&self) -> String {
        without_credentials(&self.url)
    }

    /// `host`, `port` (a number), and the credentials (sensitive) when the URL has them,
    /// each key prefixed with `prefix` (e.g. `management_`).
    pub fn vars(&self, prefix: &str, out: &mut crate::value::Map) {
        out.insert(format!("{prefix}host"), Value::string(self.host()));
        out.insert(format!("{prefix}port"), Value::int(self.port().into()));
        if let Some(u) = self.username() {
            out.insert(
                format!("{prefix}username"),
                Value::sensitive(Value::string(u)),
            );
        }
        if let Some(p) = self.password() {
            out.insert(
                format!("{prefix}password"),
                Value::sensitive(Value::string(p)),
            );
        }
    }

    /// Removes this URL's password (raw and percent-encoded) from `msg`, in case a
    /// library echoes it.
    pub fn redact(&self, msg: &str) -> String {
        let mut secrets = Vec::new();
        if let Some(p) = self.url.password() {
            secrets.push(p.to_string());
        }
        if let Some(p) = self.password() {
            secrets.push(p);
        }
        redact(msg, &secrets)
    }
}

/// `url` with its user name and password removed.
pub fn without_credentials(url: &url::Url) -> String {
    let mut u = url.clone();
    // Both fail only for URLs that cannot have credentials, which then have none.
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.to_string()
}

/// `msg` with every occurrence of each (non-empty) secret replaced by `(sensitive)`.
pub fn redact<S: AsRef<str>>(msg: &str, secrets: &[S]) -> String {
    let mut out = msg.to_string();
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| !s.is_empty())
        .collect();
    // Longest first, so a secret that contains another is removed whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in secrets {
        out = out.replace(s, crate::value::SENSITIVE_TEXT);
    }
    out
}

/// A list-of-strings attribute: `Ok(None)` when absent or null, an error naming the
/// attribute when it is not a list of strings. Sensitive marks are looked through.
pub fn string_list(attrs: &Attrs, name: &str) -> Result<Option<Vec<String>>, ProviderError> {
    let Some(v) = attrs.get(name).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let items = v
        .as_list()
        .ok_or_else(|| ProviderError::Invalid(format!("`{name}` must be a list of strings")))?;
    items
        .iter()
        .map(|i| {
            i.as_str().map(str::to_string).ok_or_else(|| {
                ProviderError::Invalid(format!("`{name}` must be a list of strings"))
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// A list of strings as a value.
pub fn list_value<S: AsRef<str>>(items: &[S]) -> Value {
    Value::List(items.iter().map(|s| Value::string(s.as_ref())).collect())
}

/// Refuses an empty name or one with control characters, which no server here needs
/// and which would make messages and logs ambiguous. `what` names it in the message.
pub fn check_name(what: &str, name: &str) -> Result<(), ProviderError> {
    if name.is_empty() {
        return Err(ProviderError::Invalid(format!("{what} is empty")));
    }
    if name.chars().any(char::is_control) {
        return Err(ProviderError::Invalid(format!(
            "{what} {name:?} contains control characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(url: &str) -> Attrs {
        Attrs::from([("url".to_string(), Value::sensitive(Value::string(url)))])
    }

    #[test]
    fn credentials_are_only_sensitive_and_never_displayed() {
        let e = Endpoint::from_config(
            &cfg("amqp://bob:s%40cret@mq.local/vh"),
            "url",
            "x",
            5672,
            "amqp",
        )
        .unwrap();
        assert_eq!(e.host(), "mq.local");
        assert_eq!(e.port(), 5672);
        assert_eq!(e.password().as_deref(), Some("s@cret"));
        assert!(!e.display().contains("cret"), "{}", e.display());
        let mut vars = crate::value::Map::new();
        e.vars("", &mut vars);
        assert_eq!(vars["port"], Value::int(5672));
        assert!(vars["password"].is_sensitive() && vars["username"].is_sensitive());
        assert_eq!(
            e.redact("auth s@cret / s%40cret"),
            "auth (sensitive) / (sensitive)"
        );
        let bad =
            Endpoint::from_config(&cfg("nope:/x:hunter2@"), "url", "x", 1, "redis").unwrap_err();
        assert!(!bad.contains("hunter2"), "{bad}");
        let dflt = Endpoint::from_config(
            &Attrs::new(),
            "url",
            "redis://127.0.0.1:6379",
            6379,
            "redis",
        )
        .unwrap();
        assert_eq!((dflt.host().as_str(), dflt.port()), ("127.0.0.1", 6379));
    }

    #[test]
    fn lists_and_names_are_checked() {
        let a = Attrs::from([(
            "l".to_string(),
            Value::List(vec![Value::string("a"), Value::int(1)]),
        )]);
        assert!(string_list(&a, "l").is_err());
        assert_eq!(string_list(&a, "missing").unwrap(), None);
        assert!(check_name("user", "a\nb").is_err());
        assert!(check_name("user", "").is_err());
        assert!(check_name("user", "a b/'\";").is_ok());
    }
}
