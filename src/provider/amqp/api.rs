//! A small client of the RabbitMQ management HTTP API: GET, PUT and DELETE of JSON
//! documents under `/api/…`, each path segment percent-encoded (so a name with `/`,
//! `..`, spaces or quotes stays one segment), retried while the server is unreachable
//! or answers 502/503/504/429.
//!
//! `ureq` is blocking, so each request runs on tokio's blocking pool. Credentials are
//! sent in an `Authorization` header, never in the URL, so no URL in a message holds them.

use std::time::Duration;

use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::provider::ProviderError;
use crate::provider::retry::{Backoff, retry};
use crate::provider::server::{Endpoint, redact};

/// Everything but letters, digits, `-`, `_` and `~` is encoded: `.` too, so that `..`
/// can never be taken as "the parent" by anything between here and the server.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'~');

/// One path segment, encoded.
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// The management API of one server.
#[derive(Clone)]
pub struct Api {
    /// `scheme://host:port/prefix` without credentials or a trailing slash.
    base: String,
    auth: Option<String>,
    agent: ureq::Agent,
    endpoint: Endpoint,
    backoff: Backoff,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The Authorization header is left out on purpose.
        write!(f, "Api({})", self.base)
    }
}

/// How a request ended, before it is judged.
enum Outcome {
    Status(u16, String),
    Unreachable(String),
    Broken(String),
}

impl Api {
    /// A client for `endpoint` (an `http://user:pass@host:port[/prefix]` URL).
    pub fn new(endpoint: Endpoint, backoff: Backoff) -> Result<Api, String> {
        let url = endpoint.url();
        // The client is built without TLS (the API is reached on the local host); an
        // https URL is refused here rather than failing obscurely at the first call.
        if url.scheme() != "http" {
            return Err(format!(
                "provider \"amqp\": `management_url` must be an http:// URL (https is not supported), not {}",
                endpoint.display()
            ));
        }
        let host = match url.host() {
            Some(url::Host::Ipv6(a)) => format!("[{a}]"),
            Some(h) => h.to_string(),
            None => String::new(),
        };
        let base = format!(
            "{}://{host}:{}{}",
            url.scheme(),
            endpoint.port(),
            url.path().trim_end_matches('/')
        );
        let auth = endpoint.username().map(|u| {
            let pair = format!("{u}:{}", endpoint.password().unwrap_or_default());
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let agent = ureq::Agent::config_builder()
            // Statuses are judged here (404 means "gone", 503 "retry"), not turned into errors.
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .max_redirects(0)
            .build()
            .new_agent();
        Ok(Api {
            base,
            auth,
            agent,
            endpoint,
            backoff,
        })
    }

    /// The same client with another retry policy.
    pub fn with_backoff(mut self, backoff: Backoff) -> Api {
        self.backoff = backoff;
        self
    }

    /// The port of the API.
    pub fn port(&self) -> u16 {
        self.endpoint.port()
    }

    /// The server, for messages (no credentials).
    pub fn display(&self) -> String {
        self.endpoint.display()
    }

    fn url(&self, path: &[&str]) -> String {
        let mut u = format!("{}/api", self.base);
        for s in path {
            u.push('/');
            u.push_str(&segment(s));
        }
        u
    }

    async fn once(
        &self,
        method: &'static str,
        path: &[&str],
        body: Option<&serde_json::Value>,
    ) -> Outcome {
        let (agent, url, auth) = (self.agent.clone(), self.url(path), self.auth.clone());
        let body = body.map(|b| b.to_string());
        let done = tokio::task::spawn_blocking(move || {
            let mut resp = match (method, body) {
                ("PUT", Some(b)) => {
                    let mut req = agent.put(&url).header("content-type", "application/json");
                    if let Some(a) = &auth {
                        req = req.header("authorization", a);
                    }
                    req.send(b)
                }
                (m, _) => {
                    let mut req = if m == "DELETE" {
                        agent.delete(&url)
                    } else {
                        agent.get(&url)
                    };
                    if let Some(a) = &auth {
                        req = req.header("authorization", a);
                    }
                    req.call()
                }
            };
            match resp.as_mut() {
                Ok(r) => {
                    let status = r.status().as_u16();
                    match r.body_mut().read_to_string() {
                        Ok(text) => Outcome::Status(status, text),
                        Err(e) => Outcome::Unreachable(format!("reading the answer failed: {e}")),
                    }
                }
                Err(e) => match e {
                    ureq::Error::Io(_)
                    | ureq::Error::Timeout(_)
                    | ureq::Error::ConnectionFailed
                    | ureq::Error::HostNotFound => Outcome::Unreachable(e.to_string()),
                    other => Outcome::Broken(other.to_string()),
                },
            }
        })
        .await;
        done.unwrap_or_else(|e| Outcome::Broken(format!("request task failed: {e}")))
    }

    /// One request, judged: `Ok(None)` for 404, `Ok(Some(json))` for 2xx.
    async fn request(
        &self,
        what: &str,
        method: &'static str,
        path: &[&str],
        body: Option<&serde_json::Value>,
        secrets: &[String],
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        let clean = |m: String| redact(&self.endpoint.redact(&m), secrets);
        match self.once(method, path, body).await {
            Outcome::Unreachable(e) => Err(ProviderError::Transient(clean(format!(
                "{what}: cannot reach the RabbitMQ management API at {}: {e}",
                self.display()
            )))),
            Outcome::Broken(e) => Err(ProviderError::Failed(clean(format!(
                "{what}: request to the RabbitMQ management API at {} failed: {e}",
                self.display()
            )))),
            Outcome::Status(s, text) if (200..300).contains(&s) => Ok(Some(
                serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
            )),
            Outcome::Status(404, _) => Ok(None),
            Outcome::Status(s, text) => {
                let reason = reason(&text);
                let msg = clean(format!(
                    "{what}: {reason} (HTTP {s} from {})",
                    self.display()
                ));
                Err(match s {
                    429 | 502 | 503 | 504 => ProviderError::Transient(msg),
                    _ => ProviderError::Failed(msg),
                })
            }
        }
    }

    /// GETs `/api/<path>`; `None` when it does not exist.
    pub async fn get(
        &self,
        what: &str,
        path: &[&str],
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        retry(self.backoff, || self.request(what, "GET", path, None, &[])).await
    }

    /// PUTs `body` to `/api/<path>`; `secrets` (e.g. the password in the body) are
    /// removed from any message. PUT replaces, so a retry after a lost answer is safe.
    pub async fn put(
        &self,
        what: &str,
        path: &[&str],
        body: &serde_json::Value,
        secrets: &[String],
    ) -> Result<(), ProviderError> {
        let r = retry(self.backoff, || {
            self.request(what, "PUT", path, Some(body), secrets)
        })
        .await?;
        match r {
            Some(_) => Ok(()),
            None => Err(ProviderError::Failed(format!(
                "{what}: not found (HTTP 404 from {})",
                self.display()
            ))),
        }
    }

    /// DELETEs `/api/<path>`; something already gone is fine.
    pub async fn delete(&self, what: &str, path: &[&str]) -> Result<(), ProviderError> {
        retry(self.backoff, || {
            self.request(what, "DELETE", path, None, &[])
        })
        .await
        .map(|_| ())
    }
}

/// The server's reason from an error body (`{"error": …, "reason": …}`), else the text.
fn reason(text: &str) -> String {
    let shown = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(j) => match (j.get("error"), j.get("reason")) {
            (Some(e), Some(r)) => format!("{}: {}", shown(e), shown(r)),
            (_, Some(r)) | (Some(r), None) => shown(r),
            _ => j.to_string(),
        },
        Err(_) => text.chars().take(500).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_escape_their_place() {
        assert_eq!(segment("/"), "%2F");
        assert_eq!(segment(".."), "%2E%2E");
        assert_eq!(segment("a b?c#d;e'\""), "a%20b%3Fc%23d%3Be%27%22");
        assert_eq!(
            reason(r#"{"error":"bad_request","reason":"no"}"#),
            "bad_request: no"
        );
    }
}
