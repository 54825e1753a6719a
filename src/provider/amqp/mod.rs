//! `amqp`: RabbitMQ virtual hosts, users and permissions (`rabbitmq_vhost`,
//! `rabbitmq_user`, `rabbitmq_permissions`), managed through the management HTTP API
//! (`management_url`). The AMQP `url` itself is only what modules read (`host`,
//! `port`): nothing here speaks AMQP.
//!
//! Every read asks the server, so a vhost deleted, a password changed or permissions
//! edited outside baton show up as drift.
//!
//! Ownership (see `provider::owner`): vhosts and users are made with the owner's marker
//! among their tags, in the PUT that creates them (tags are free-form; the marker grants
//! nothing and reads leave it out of `tags`). A user is also proven by its password, the
//! one baton generated. Permissions are baton's when their vhost carries a marker of the
//! same state. An object that exists without the proof is never taken over.

mod api;
mod kinds;
#[cfg(test)]
mod tests;

use self::api::Api;
use self::kinds::{PERMISSIONS, USER, VHOST};
use super::retry::Backoff;
use super::server::Endpoint;
use super::{Attrs, Claim, KindSchema, Owner, Proof, Provider, ProviderError, str_attr};
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

    /// The object at `path` as the API reports it; `None` when it does not exist.
    async fn found(
        &self,
        what: &str,
        path: &[&str],
    ) -> Result<Option<serde_json::Value>, ProviderError> {
        self.api()?.get(what, path).await
    }

    /// The ownership markers the object at `path` carries now, which a PUT replacing its
    /// tags must keep (an update does not know its owner; `mark` writes the marker).
    async fn kept_markers(&self, what: &str, path: &[&str]) -> Result<Vec<String>, ProviderError> {
        Ok(self
            .found(what, path)
            .await?
            .map(|j| kinds::markers(&j))
            .unwrap_or_default())
    }

    /// PUTs the object as configured, with the ownership `markers` among its tags (`None`:
    /// the ones it carries now), and reads it back.
    async fn put(
        &self,
        kind: &str,
        config: &Attrs,
        markers: Option<Vec<String>>,
    ) -> Result<Attrs, ProviderError> {
        let api = self.api()?;
        let config = kinds::with_defaults(config, kind);
        let vanished =
            |what: &str| ProviderError::Failed(format!("{what}: vanished right after it was set"));
        match kind {
            VHOST => {
                let name = kinds::name(&config, "name", "RabbitMQ vhost name")?;
                let (what, path) = (
                    format!("RabbitMQ vhost {name:?}"),
                    ["vhosts", name.as_str()],
                );
                let markers = match markers {
                    Some(m) => m,
                    None => self.kept_markers(&what, &path).await?,
                };
                let (_, body) = kinds::vhost_body(&config, &markers)?;
                api.put(&what, &path, &body, &[]).await?;
                let j = api
                    .get(&what, &path)
                    .await?
                    .ok_or_else(|| vanished(&what))?;
                Ok(kinds::vhost_observed(&config, &j))
            }
            USER => {
                let name = kinds::name(&config, "name", "RabbitMQ user name")?;
                let (what, path) = (format!("RabbitMQ user {name:?}"), ["users", name.as_str()]);
                let markers = match markers {
                    Some(m) => m,
                    None => self.kept_markers(&what, &path).await?,
                };
                let (_, body, secrets) = kinds::user_body(&config, &markers)?;
                api.put(&what, &path, &body, &secrets).await?;
                let j = api
                    .get(&what, &path)
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

    /// What baton can prove about an object of `kind` described by `attrs` (configured
    /// or recorded) for `owner`; `None` when the vhost or user (for permissions: their
    /// vhost) does not exist. Permissions are a relation: baton's when their vhost
    /// carries a marker of this owner's state.
    async fn claim_of(
        &self,
        kind: &str,
        attrs: &Attrs,
        owner: &Owner,
    ) -> Result<Option<Claim>, ProviderError> {
        match kind {
            VHOST => {
                let name = kinds::name(attrs, "name", "RabbitMQ vhost name")?;
                let j = self
                    .found(&format!("RabbitMQ vhost {name:?}"), &["vhosts", &name])
                    .await?;
                Ok(j.map(|j| kinds::judge_markers(&j, owner)))
            }
            USER => {
                let name = kinds::name(attrs, "name", "RabbitMQ user name")?;
                let j = self
                    .found(&format!("RabbitMQ user {name:?}"), &["users", &name])
                    .await?;
                Ok(j.map(|j| kinds::user_claim(attrs, &j, owner)))
            }
            PERMISSIONS => {
                // Judged whether the permissions exist or not: setting them is a change to
                // the vhost, which must be baton's.
                let (vhost, _) = kinds::permissions_key(attrs)?;
                // No vhost: nothing to protect, and the PUT fails with the server's reason.
                let Some(v) = self
                    .found(&format!("RabbitMQ vhost {vhost:?}"), &["vhosts", &vhost])
                    .await?
                else {
                    return Ok(None);
                };
                let ours = kinds::markers(&v).iter().any(|m| owner.same_state(m));
                Ok(Some(if ours { Claim::Ours } else { Claim::Unproven }))
            }
            other => Err(unknown(other)),
        }
    }
}

/// The refusal of an object baton cannot prove it made: an existing vhost or user, or
/// permissions (existing or not) in a vhost this state did not make.
fn not_ours(kind: &str, attrs: &Attrs, claim: &Claim) -> ProviderError {
    let name = |key: &str| str_attr(attrs, key).unwrap_or("").to_string();
    ProviderError::NotOurs(match (kind, claim) {
        (VHOST, _) => format!(
            "RabbitMQ vhost {:?} already exists and baton cannot prove it made it ({})",
            name("name"),
            claim.describe()
        ),
        (USER, Claim::Unproven) => format!(
            "RabbitMQ user {:?} already exists and baton cannot prove it made it (its password is not the one baton generated and it carries no ownership marker of this state)",
            name("name")
        ),
        (USER, _) => format!(
            "RabbitMQ user {:?} already exists and baton cannot prove it made it ({})",
            name("name"),
            claim.describe()
        ),
        _ => format!(
            "RabbitMQ permissions of user {:?} in vhost {:?}: the vhost was not made by this baton state, so baton cannot prove the permissions are its own (it carries no ownership marker of this state)",
            name("user"),
            name("vhost")
        ),
    })
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

    /// Creates the object with `owner`'s marker among its tags (vhosts and users; a
    /// user's password proves it too). An object that exists is taken only when it
    /// proves to be baton's for `owner`, else refused untouched.
    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        owner: &Owner,
    ) -> Result<Attrs, ProviderError> {
        if let Some(claim) = self.claim_of(kind, config, owner).await? {
            if claim != Claim::Ours {
                return Err(not_ours(kind, config, &claim));
            }
            // A retried create whose first attempt succeeded: set it as configured.
            return self.put(kind, config, None).await;
        }
        let markers = match kind {
            PERMISSIONS => Vec::new(),
            _ => vec![owner.marker()],
        };
        self.put(kind, config, Some(markers)).await
    }

    fn proof(&self, kind: &str) -> Proof {
        match kind {
            VHOST => Proof::Marker,
            // The password baton generated; the marker tag written with it proves a user
            // without one.
            USER => Proof::Secret,
            _ => Proof::Relation,
        }
    }

    async fn claim(
        &self,
        kind: &str,
        found: &Attrs,
        owner: &Owner,
    ) -> Result<Claim, ProviderError> {
        Ok(self
            .claim_of(kind, found, owner)
            .await?
            .unwrap_or(Claim::Unproven))
    }

    /// Adds `owner`'s marker to the vhost's tags, keeping its description, its other
    /// tags and its settings.
    async fn mark(&self, kind: &str, found: &Attrs, owner: &Owner) -> Result<(), ProviderError> {
        if kind != VHOST {
            return Err(ProviderError::Invalid(format!(
                "`{kind}` objects cannot carry an ownership marker"
            )));
        }
        let api = self.api()?;
        let name = kinds::name(found, "name", "RabbitMQ vhost name")?;
        let (what, path) = (
            format!("RabbitMQ vhost {name:?}"),
            ["vhosts", name.as_str()],
        );
        let j = api
            .get(&what, &path)
            .await?
            .ok_or_else(|| ProviderError::Failed(format!("{what}: not found")))?;
        api.put(&what, &path, &kinds::vhost_marked(&j, owner), &[])
            .await
    }

    async fn update(
        &self,
        kind: &str,
        _prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        self.put(kind, config, None).await
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
