//! Providers: the only code that talks to real systems. A provider serves resource kinds;
//! each kind declares its schema (what is required, optional, computed, force-new,
//! sensitive) and implements read, create, update and delete.
//!
//! Providers receive attributes with secrets revealed and return plain values; the engine
//! marks sensitive attributes from the schema. Errors are typed and never include secrets.

pub mod amqp;
pub mod aws;
pub mod chaos;
pub mod data;
pub mod local;
pub mod mysql;
pub mod owner;
pub mod postgres;
pub mod random;
pub mod redis;
pub mod retry;
pub mod server;
mod sql;
pub mod target;
pub mod time;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use crate::schema::{AttrSchema, AttrType, KindSchema, Kinds, Presence, Proof};
use crate::value::Value;
pub use owner::{Claim, Owner};

pub use crate::value::Attrs;

/// A provider failure, naming what failed; never contains secret values.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The system said no; the message is the system's (secrets redacted).
    #[error("{0}")]
    Failed(String),
    /// The configuration cannot work (e.g. a path outside the allowed directory).
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// The call was interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    /// A fault that may go away (connection refused, server restarting, throttled);
    /// callers retry these with backoff for a bounded time (see `retry`).
    #[error("{0}")]
    Transient(String),
    /// The object exists and baton cannot prove it made it (see [`owner`]): nothing was
    /// changed. The message names the object; the engine adds how to take it over.
    #[error("{0}")]
    NotOurs(String),
}

/// A provider.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Its name, e.g. `random`.
    fn name(&self) -> &'static str;

    /// The kinds it serves.
    fn kinds(&self) -> Vec<KindSchema>;

    /// What modules read as `provider.NAME.KEY` (e.g. host and port of the server),
    /// derived from the environment's `provider "NAME" { … }` block and defaults.
    /// Secrets among them must be `Value::Sensitive`.
    fn vars(&self) -> crate::value::Map {
        crate::value::Map::new()
    }

    /// Reads the object as it really is; `None` when it no longer exists.
    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError>;

    /// For kinds whose `read` looks only at the recorded attributes (nothing outside
    /// baton holds the object, e.g. `baton_data`, `random_*`): whether the object exists,
    /// decided in place without a task or a copy of its attributes (refresh keeps them as
    /// recorded). `None` (the default) for kinds read from outside.
    fn read_recorded(&self, _kind: &str, _prior: &Attrs) -> Option<bool> {
        None
    }

    /// Creates an object from its configuration for `owner`, writing the owner's marker
    /// with it where the kind holds one (see [`owner`]); returns all attributes (computed
    /// ones set). An object that already exists is returned as it is only when its claim
    /// is [`Claim::Ours`] (a retried create whose first attempt succeeded); otherwise the
    /// create fails with [`ProviderError::NotOurs`] and changes nothing.
    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        owner: &Owner,
    ) -> Result<Attrs, ProviderError>;

    /// Refuses a configuration the provider will never act on (e.g. a path outside the
    /// directories it may write), with the reason; called when the plan is made, so
    /// that the plan is refused before anything is done. Attributes unknown until apply
    /// are checked by the call itself.
    fn check(&self, _kind: &str, _config: &Attrs) -> Result<(), String> {
        Ok(())
    }

    /// How objects of `kind` prove they are baton's.
    fn proof(&self, _kind: &str) -> Proof {
        Proof::None
    }

    /// What baton can prove about the existing object `found` (as `read` returned it,
    /// or as recorded) for `owner`.
    async fn claim(
        &self,
        kind: &str,
        _found: &Attrs,
        _owner: &Owner,
    ) -> Result<Claim, ProviderError> {
        Ok(match self.proof(kind) {
            Proof::Intrinsic => Claim::Intrinsic,
            _ => Claim::Unproven,
        })
    }

    /// Writes `owner`'s marker onto the existing object `found`: for `baton import`, and
    /// for objects recorded by a baton that wrote no markers. Only for [`Proof::Marker`]
    /// kinds.
    async fn mark(&self, kind: &str, _found: &Attrs, _owner: &Owner) -> Result<(), ProviderError> {
        Err(ProviderError::Invalid(format!(
            "`{kind}` objects cannot carry an ownership marker"
        )))
    }

    /// Updates an object in place.
    async fn update(
        &self,
        kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError>;

    /// Deletes an object.
    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError>;
}

/// Provider configuration values from `baton.hcl`, by provider name.
pub type ProviderConfigs = BTreeMap<String, crate::value::Map>;

/// All providers of a run, and the schemas of their kinds.
#[derive(Clone)]
pub struct Registry {
    providers: BTreeMap<&'static str, Arc<dyn Provider>>,
    kinds: BTreeMap<&'static str, (KindSchema, &'static str)>,
}

impl Registry {
    /// The built-in providers with default configuration, for a project rooted at `root`.
    pub fn builtin(root: &std::path::Path) -> Registry {
        Registry::new(root, &ProviderConfigs::new())
    }

    /// The built-in providers, configured from the environment's `provider` blocks.
    pub fn new(root: &std::path::Path, configs: &ProviderConfigs) -> Registry {
        let empty = Attrs::new();
        let config = |name: &str| configs.get(name).unwrap_or(&empty);
        let providers: Vec<Arc<dyn Provider>> = vec![
            Arc::new(amqp::AmqpProvider::new(config("amqp"))),
            Arc::new(aws::AwsProvider::new(config("aws"))),
            Arc::new(data::DataProvider),
            Arc::new(mysql::MysqlProvider::new(config("mysql"))),
            Arc::new(postgres::PostgresProvider::new(config("postgres"))),
            Arc::new(redis::RedisProvider::new(config("redis"))),
            Arc::new(random::RandomProvider),
            Arc::new(local::LocalProvider::new(root, config("local"))),
            Arc::new(time::TimeProvider),
            Arc::new(target::TargetProvider::new(root)),
        ];
        // Fault injection for crash tests, only when BATON_CHAOS is set.
        let providers = chaos::wrap_from_env(providers);
        let mut reg = Registry {
            providers: BTreeMap::new(),
            kinds: BTreeMap::new(),
        };
        for p in providers {
            for k in p.kinds() {
                reg.kinds.insert(k.kind, (k, p.name()));
            }
            reg.providers.insert(p.name(), p);
        }
        reg
    }

    /// Names of all providers, sorted.
    pub fn provider_names(&self) -> Vec<String> {
        self.providers.keys().map(|k| k.to_string()).collect()
    }

    /// `provider.NAME.KEY` for modules: each provider's `vars()`.
    pub fn vars(&self) -> Value {
        Value::Map(
            self.providers
                .iter()
                .map(|(name, p)| (name.to_string(), Value::Map(p.vars())))
                .collect(),
        )
    }

    /// The schema of a kind.
    pub fn schema(&self, kind: &str) -> Option<&KindSchema> {
        self.kinds.get(kind).map(|(s, _)| s)
    }

    /// The provider serving a kind.
    pub fn provider_for(&self, kind: &str) -> Option<Arc<dyn Provider>> {
        let (_, p) = self.kinds.get(kind)?;
        self.providers.get(p).cloned()
    }

    /// All kinds, sorted.
    pub fn kind_names(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
    }
}

impl Kinds for Registry {
    fn schema(&self, kind: &str) -> Option<&KindSchema> {
        Registry::schema(self, kind)
    }

    fn kind_names(&self) -> Vec<&'static str> {
        Registry::kind_names(self)
    }

    fn proof(&self, kind: &str) -> Option<Proof> {
        self.provider_for(kind).map(|p| p.proof(kind))
    }

    fn check(&self, kind: &str, config: &Attrs) -> Result<(), String> {
        match self.provider_for(kind) {
            Some(p) => p.check(kind, config),
            None => Ok(()),
        }
    }
}

/// Reads an optional string attribute.
pub fn str_attr<'a>(attrs: &'a Attrs, name: &str) -> Option<&'a str> {
    attrs.get(name).and_then(Value::as_str)
}

/// Reads an optional integer attribute.
pub fn int_attr(attrs: &Attrs, name: &str) -> Option<i64> {
    attrs.get(name).and_then(Value::as_i64)
}

/// Reads an optional boolean attribute.
pub fn bool_attr(attrs: &Attrs, name: &str) -> Option<bool> {
    attrs.get(name).and_then(Value::as_bool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_its_settings_listed_in_config() {
        let reg = Registry::builtin(std::path::Path::new("."));
        let listed: Vec<String> = crate::config::PROVIDER_SETTINGS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        assert_eq!(listed, reg.provider_names());
    }
}
