//! `redis`: ACL users on a Redis server (`redis_acl_user`).
//!
//! Every command is sent with each rule as its own argument (never a joined string),
//! and every call is retried while the server is unreachable or loading. A connection
//! is opened per attempt: calls are rare, and a fresh connection after a fault is the
//! simplest way to be sure none is reused half-broken.

mod acl;
#[cfg(test)]
mod tests;

use std::time::Duration;

use ::redis::{ErrorKind, RedisError, ServerErrorKind};

use self::acl::{AclUser, KIND, Spec};
use super::retry::{Backoff, retry};
use super::server::{Endpoint, redact};
use super::{Attrs, KindSchema, Provider, ProviderError, str_attr};

pub use self::acl::{UNKNOWN_PASSWORD, sha256_hex};

/// Where the server is when the provider block does not say.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

/// The `redis` provider.
pub struct RedisProvider {
    endpoint: Result<Endpoint, String>,
    backoff: Backoff,
}

impl RedisProvider {
    /// A provider for the server at `config.url` (default [`DEFAULT_URL`]); nothing is
    /// contacted until a call. A bad URL is reported by each call.
    pub fn new(config: &Attrs) -> RedisProvider {
        RedisProvider {
            endpoint: Endpoint::from_config(config, "url", DEFAULT_URL, 6379, "redis"),
            backoff: Backoff::from_env(),
        }
    }

    /// The same provider with another retry policy.
    pub fn with_backoff(mut self, backoff: Backoff) -> RedisProvider {
        self.backoff = backoff;
        self
    }

    fn endpoint(&self) -> Result<&Endpoint, ProviderError> {
        self.endpoint
            .as_ref()
            .map_err(|e| ProviderError::Invalid(e.clone()))
    }

    /// Sends one command once. `what` names the object for messages; `secrets` are
    /// removed from any message (Redis echoes a rule it rejects, which may be a password).
    async fn once(
        &self,
        what: &str,
        cmd: &::redis::Cmd,
        secrets: &[String],
    ) -> Result<::redis::Value, ProviderError> {
        let ep = self.endpoint()?;
        let fail = |e: RedisError| -> ProviderError {
            let msg = redact(&ep.redact(&e.to_string()), secrets);
            classify(&e, format!("{what}: {msg} (redis at {})", ep.display()))
        };
        let client = ::redis::Client::open(ep.url().as_str()).map_err(|e| {
            ProviderError::Invalid(format!("provider \"redis\": {}", ep.redact(&e.to_string())))
        })?;
        let cfg = ::redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(10)));
        let mut con = client
            .get_multiplexed_async_connection_with_config(&cfg)
            .await
            .map_err(fail)?;
        cmd.query_async::<::redis::Value>(&mut con)
            .await
            .map_err(fail)
    }

    /// Sends one command, retrying transient faults.
    async fn call(
        &self,
        what: &str,
        cmd: &::redis::Cmd,
        secrets: &[String],
    ) -> Result<::redis::Value, ProviderError> {
        retry(self.backoff, || self.once(what, cmd, secrets)).await
    }

    async fn get_user(&self, name: &str) -> Result<Option<AclUser>, ProviderError> {
        let what = format!("redis ACL user {name:?}");
        let mut cmd = ::redis::cmd("ACL");
        cmd.arg("GETUSER").arg(name);
        let reply = self.call(&what, &cmd, &[]).await?;
        AclUser::parse(&reply).map_err(|e| ProviderError::Failed(format!("{what}: {e}")))
    }

    /// Sets the user to exactly `spec`, then reads it back.
    async fn set_user(&self, spec: &Spec, config: &Attrs) -> Result<Attrs, ProviderError> {
        let what = format!("redis ACL user {:?}", spec.username);
        let mut cmd = ::redis::cmd("ACL");
        cmd.arg("SETUSER").arg(&spec.username);
        for rule in spec.rules() {
            cmd.arg(rule);
        }
        // ACL SETUSER with `reset` first is idempotent, so a retry after a lost reply is safe.
        self.call(&what, &cmd, &spec.passwords).await?;
        let user = self.get_user(&spec.username).await?.ok_or_else(|| {
            ProviderError::Failed(format!("{what}: vanished right after it was set"))
        })?;
        Ok(user.applied(spec, config))
    }
}

/// Whether an existing user has exactly the configured passwords (and at least one).
fn made_from(found: &AclUser, spec: &Spec) -> bool {
    let ours: std::collections::BTreeSet<String> =
        spec.passwords.iter().map(|p| sha256_hex(p)).collect();
    let theirs: std::collections::BTreeSet<String> =
        found.password_hashes.iter().cloned().collect();
    !ours.is_empty() && ours == theirs
}

/// Connection faults, timeouts and a server still loading its data may pass; the rest
/// are permanent.
fn classify(e: &RedisError, msg: String) -> ProviderError {
    let transient = e.is_io_error()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_connection_dropped()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ClusterDown
            )
        );
    if transient {
        ProviderError::Transient(msg)
    } else {
        ProviderError::Failed(msg)
    }
}

fn unknown(kind: &str) -> ProviderError {
    ProviderError::Invalid(format!("the redis provider has no kind {kind}"))
}

#[async_trait::async_trait]
impl Provider for RedisProvider {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![acl::schema()]
    }

    /// `host`, `port`, and `username`/`password` (sensitive) when the URL has them.
    fn vars(&self) -> crate::value::Map {
        let mut out = crate::value::Map::new();
        if let Ok(ep) = &self.endpoint {
            ep.vars("", &mut out);
        }
        out
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        if kind != KIND {
            return Err(unknown(kind));
        }
        let name = str_attr(prior, "username")
            .ok_or_else(|| ProviderError::Invalid("`username` is required".into()))?;
        Ok(self.get_user(name).await?.map(|u| u.observed(prior)))
    }

    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        if kind != KIND {
            return Err(unknown(kind));
        }
        let spec = Spec::from_config(config)?;
        // Taking over a user that baton did not create would silently rewrite someone
        // else's access. A user whose passwords are exactly the configured ones was made
        // from this configuration, as nobody else knows them: by an earlier run killed
        // before recording it, or a create-before-destroy replacement stopped before it
        // deleted the old user. That one is set to the configuration and adopted.
        if let Some(found) = self.get_user(&spec.username).await?
            && !made_from(&found, &spec)
        {
            return Err(ProviderError::NotOurs(format!(
                "redis ACL user {:?} already exists and baton cannot prove it made it (its passwords are not the ones baton generated)",
                spec.username
            )));
        }
        self.set_user(&spec, config).await
    }

    fn proof(&self, _kind: &str) -> crate::provider::Proof {
        crate::provider::Proof::Secret
    }

    /// A user is baton's when its passwords are exactly the ones recorded for it: baton
    /// generated them, and nobody else knows them.
    async fn claim(
        &self,
        kind: &str,
        found: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<crate::provider::Claim, ProviderError> {
        if kind != KIND {
            return Err(unknown(kind));
        }
        let spec = Spec::from_config(found)?;
        Ok(match self.get_user(&spec.username).await? {
            Some(user) if made_from(&user, &spec) => crate::provider::Claim::Ours,
            _ => crate::provider::Claim::Unproven,
        })
    }

    async fn update(
        &self,
        kind: &str,
        _prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        if kind != KIND {
            return Err(unknown(kind));
        }
        let spec = Spec::from_config(config)?;
        self.set_user(&spec, config).await
    }

    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        if kind != KIND {
            return Err(unknown(kind));
        }
        let name = str_attr(prior, "username")
            .ok_or_else(|| ProviderError::Invalid("`username` is required".into()))?;
        let mut cmd = ::redis::cmd("ACL");
        cmd.arg("DELUSER").arg(name);
        // The reply counts the users deleted; 0 (already gone) is success too.
        self.call(&format!("redis ACL user {name:?}"), &cmd, &[])
            .await
            .map(|_| ())
    }
}
