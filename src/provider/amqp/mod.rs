//! `amqp`: RabbitMQ virtual hosts, users and permissions (`rabbitmq_vhost`,
//! `rabbitmq_user`, `rabbitmq_permissions`), managed through the management HTTP API
//! (`management_url`). The AMQP `url` itself is only what modules read (`host`,
//! `port`): nothing here speaks AMQP.
//!
//! Every read asks the server, so a vhost deleted, a password changed or permissions
//! edited outside baton show up as drift.

mod api;
mod kinds;
#[cfg(test)]
mod tests;

use self::api::Api;
use self::kinds::{PERMISSIONS, USER, VHOST};
use super::retry::Backoff;
use super::server::Endpoint;
use super::{Attrs, KindSchema, Provider, ProviderError};
use crate::value::Value;

pub use self::kinds::{UNKNOWN_PASSWORD, password_matches};

/// The broker when the provider block does not say.
pub const DEFAULT_URL: &str = "amqp://guest:guest@127.0.0.1:5672";
/// The management API when the provider block does not say.
pub const DEFAULT_MANAGEMENT_URL: &str = "http://guest:guest@127.0.0.1:15672";

/// The `amqp` provider.
pub struct AmqpProvider {
    amqp: Result<Endpoint, String>,
    api: Result<Api, String>,
}

impl AmqpProvider {
    /// A provider for the broker at `config.url` managed through `config.management_url`
    /// (defaults [`DEFAULT_URL`], [`DEFAULT_MANAGEMENT_URL`]); nothing is contacted until
    /// a call. A bad URL is reported by each call.
    pub fn new(config: &Attrs) -> AmqpProvider {
        let api = Endpoint::from_config(
            config,
            "management_url",
            DEFAULT_MANAGEMENT_URL,
            15672,
            "amqp",
        )
        .and_then(|ep| Api::new(ep, Backoff::from_env()));
        AmqpProvider {
            amqp: Endpoint::from_config(config, "url", DEFAULT_URL, 5672, "amqp"),
            api,
        }
    }

    /// The same provider with another retry policy.
    pub fn with_backoff(mut self, backoff: Backoff) -> AmqpProvider {
        self.api = self.api.map(|a| a.with_backoff(backoff));
        self
    }

    fn api(&self) -> Result<&Api, ProviderError> {
        self.api
            .as_ref()
            .map_err(|e| ProviderError::Invalid(e.clone()))
    }

    /// Refuses to create what already exists: adopting it would silently take over an
    /// object that this configuration did not make.
    async fn must_not_exist(&self, what: &str, path: &[&str]) -> Result<(), ProviderError> {
        match self.api()?.get(what, path).await? {
            Some(_) => Err(ProviderError::Failed(format!(
                "{what} already exists (not created by this configuration); delete it or choose another name"
            ))),
            None => Ok(()),
        }
    }

    /// PUTs the object as configured and reads it back.
    async fn put(&self, kind: &str, config: &Attrs) -> Result<Attrs, ProviderError> {
        let api = self.api()?;
        let config = kinds::with_defaults(config, kind);
        let vanished =
            |what: &str| ProviderError::Failed(format!("{what}: vanished right after it was set"));
        match kind {
            VHOST => {
                let (name, body) = kinds::vhost_body(&config)?;
                let what = format!("RabbitMQ vhost {name:?}");
                api.put(&what, &["vhosts", &name], &body, &[]).await?;
                let j = api
                    .get(&what, &["vhosts", &name])
                    .await?
                    .ok_or_else(|| vanished(&what))?;
                Ok(kinds::vhost_observed(&config, &j))
            }
            USER => {
                let (name, body, secrets) = kinds::user_body(&config)?;
                let what = format!("RabbitMQ user {name:?}");
                api.put(&what, &["users", &name], &body, &secrets).await?;
                let j = api
                    .get(&what, &["users", &name])
                    .await?
                    .ok_or_else(|| vanished(&what))?;
                Ok(kinds::user_observed(&config, &j))
            }
            PERMISSIONS => {
                let (vhost, user) = kinds::permissions_key(&config)?;
                let what = format!("RabbitMQ permissions of user {user:?} in vhost {vhost:?}");
                let path = ["permissions", vhost.as_str(), user.as_str()];
                api.put(&what, &path, &kinds::permissions_body(&config), &[])
                    .await?;
                let j = api
                    .get(&what, &path)
                    .await?
                    .ok_or_else(|| vanished(&what))?;
                Ok(kinds::permissions_observed(&config, &j))
            }
            other => Err(unknown(other)),
        }
    }
}

fn unknown(kind: &str) -> ProviderError {
    ProviderError::Invalid(format!("the amqp provider has no kind {kind}"))
}

#[async_trait::async_trait]
impl Provider for AmqpProvider {
    fn name(&self) -> &'static str {
        "amqp"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        kinds::schemas()
    }

    /// `host`, `port`, `username`/`password` (sensitive) of the AMQP URL, and
    /// `management_port`.
    fn vars(&self) -> crate::value::Map {
        let mut out = crate::value::Map::new();
        if let Ok(ep) = &self.amqp {
            ep.vars("", &mut out);
        }
        if let Ok(api) = &self.api {
            out.insert("management_port".into(), Value::int(api.port().into()));
        }
        out
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        let api = self.api()?;
        match kind {
            VHOST => {
                let name = kinds::name(prior, "name", "RabbitMQ vhost name")?;
                let j = api
                    .get(&format!("RabbitMQ vhost {name:?}"), &["vhosts", &name])
                    .await?;
                Ok(j.map(|j| kinds::vhost_observed(prior, &j)))
            }
            USER => {
                let name = kinds::name(prior, "name", "RabbitMQ user name")?;
                let j = api
                    .get(&format!("RabbitMQ user {name:?}"), &["users", &name])
                    .await?;
                Ok(j.map(|j| kinds::user_observed(prior, &j)))
            }
            PERMISSIONS => {
                let (vhost, user) = kinds::permissions_key(prior)?;
                let what = format!("RabbitMQ permissions of user {user:?} in vhost {vhost:?}");
                let j = api.get(&what, &["permissions", &vhost, &user]).await?;
                Ok(j.map(|j| kinds::permissions_observed(prior, &j)))
            }
            other => Err(unknown(other)),
        }
    }

    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        match kind {
            VHOST => {
                let name = kinds::name(config, "name", "RabbitMQ vhost name")?;
                self.must_not_exist(&format!("RabbitMQ vhost {name:?}"), &["vhosts", &name])
                    .await?;
            }
            USER => {
                let name = kinds::name(config, "name", "RabbitMQ user name")?;
                self.must_not_exist(&format!("RabbitMQ user {name:?}"), &["users", &name])
                    .await?;
            }
            // Permissions are a setting of a user in a vhost, not an object of their own:
            // setting them over what was there is what creating them means.
            _ => {}
        }
        self.put(kind, config).await
    }

    async fn update(
        &self,
        kind: &str,
        _prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        self.put(kind, config).await
    }

    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        let api = self.api()?;
        match kind {
            VHOST => {
                let name = kinds::name(prior, "name", "RabbitMQ vhost name")?;
                api.delete(&format!("RabbitMQ vhost {name:?}"), &["vhosts", &name])
                    .await
            }
            USER => {
                let name = kinds::name(prior, "name", "RabbitMQ user name")?;
                api.delete(&format!("RabbitMQ user {name:?}"), &["users", &name])
                    .await
            }
            PERMISSIONS => {
                let (vhost, user) = kinds::permissions_key(prior)?;
                let what = format!("RabbitMQ permissions of user {user:?} in vhost {vhost:?}");
                api.delete(&what, &["permissions", &vhost, &user]).await
            }
            other => Err(unknown(other)),
        }
    }
}
