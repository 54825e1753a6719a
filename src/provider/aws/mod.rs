//! `aws`: S3 buckets, SQS queues, DynamoDB tables, Secrets Manager secrets, SSM
//! parameters, Route 53 zones and records, IAM users with their access keys and
//! inline policies, RDS database instances, ElastiCache replication groups and Amazon
//! MQ brokers, on the AWS SDK for Rust.
//!
//! The provider is built from the environment's `provider "aws" { … }` block without
//! contacting AWS; the SDK clients are made on the first call (see `config`). Every
//! call goes through the SDK's standard retry (throttling, 5xx, connection faults);
//! what still fails is classified in `error`.
//!
//! AWS is eventually consistent: right after a create, a read may briefly not find the
//! object. The provider remembers what it created in the last minute, and a read of
//! such an object that finds nothing asks again with backoff before reporting it gone.
//! Reads of older objects report a disappearance at once (drift is seen without delay).
//!
//! Ownership (see `provider::owner`): every kind that takes tags carries the owner's
//! marker as the tag `baton:owner`, written by the call that makes the object (S3 and
//! Route 53 zones: by the tagging call right after it). Records, access keys and user
//! policies hold no tags: they are baton's through their zone or user. A create that
//! finds its object already there returns it only when it proves to be baton's.

mod common;
mod config;
mod dynamodb;
mod elasticache;
mod error;
mod iam;
#[cfg(test)]
mod moto;
mod mq;
mod rds;
mod route53;
mod s3;
mod secretsmanager;
mod sqs;
mod ssm;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_managed;
#[cfg(test)]
mod tests_owner;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

use self::common::{OWNER_TAG, Tags, claim_from, claim_through};
use self::config::{Clients, Settings};
use super::retry::Backoff;
use super::{Attrs, Claim, KindSchema, Owner, Proof, Provider, ProviderError, str_attr};

pub use self::config::{DEFAULT_REGION, SETTINGS};

/// How long after a create a read that finds nothing is retried.
const CREATED_RECENTLY: Duration = Duration::from_secs(60);

/// The `aws` provider.
pub struct AwsProvider {
    settings: Result<Settings, String>,
    clients: OnceCell<Clients>,
    /// Retries of read-after-create, and how long to wait for objects to settle.
    backoff: Backoff,
    /// Objects created by this provider, by identity, and when.
    created: Mutex<HashMap<String, Instant>>,
}

impl AwsProvider {
    /// A provider for the `provider "aws"` block `config` (region default
    /// [`DEFAULT_REGION`]); nothing is contacted until a call. A bad block is reported
    /// by each call.
    pub fn new(config: &Attrs) -> AwsProvider {
        AwsProvider {
            settings: Settings::from_config(config),
            clients: OnceCell::new(),
            backoff: Backoff::from_env(),
            created: Mutex::new(HashMap::new()),
        }
    }

    /// The same provider with another retry policy (read-after-create and waits).
    pub fn with_backoff(mut self, backoff: Backoff) -> AwsProvider {
        self.backoff = backoff;
        self
    }

    fn settings(&self) -> Result<&Settings, ProviderError> {
        self.settings.as_ref().map_err(|e| config::invalid(e))
    }

    async fn clients(&self) -> Result<&Clients, ProviderError> {
        let settings = self.settings()?;
        // A table or a DNS change may take minutes on AWS; never less than the budget.
        let settle = self.backoff.budget.max(Duration::from_secs(300));
        Ok(self
            .clients
            .get_or_init(|| Clients::build(settings, settle))
            .await)
    }

    fn created_recently(&self, key: &str) -> bool {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        created.retain(|_, at| at.elapsed() < CREATED_RECENTLY);
        created.contains_key(key)
    }

    fn remember(&self, key: String, created: bool) {
        let mut map = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if created {
            map.insert(key, Instant::now());
        } else {
            map.remove(&key);
        }
    }

    async fn read_once(
        &self,
        c: &Clients,
        kind: &str,
        prior: &Attrs,
    ) -> Result<Option<Attrs>, ProviderError> {
        match kind {
            s3::BUCKET => s3::read(c, prior).await,
            sqs::QUEUE => sqs::read(c, prior).await,
            dynamodb::TABLE => dynamodb::read(c, prior).await,
            secretsmanager::SECRET => secretsmanager::read(c, prior).await,
            ssm::PARAMETER => ssm::read(c, prior).await,
            route53::ZONE => route53::read_zone(c, prior).await,
            route53::RECORD => route53::read_record(c, prior).await,
            iam::USER => iam::read_user(c, prior).await,
            iam::ACCESS_KEY => iam::read_access_key(c, prior).await,
            iam::USER_POLICY => iam::read_user_policy(c, prior).await,
            rds::INSTANCE => rds::read(c, prior).await,
            elasticache::GROUP => elasticache::read(c, prior).await,
            mq::BROKER => mq::read(c, prior).await,
            other => Err(unknown(other)),
        }
    }

    /// The tags of the object `found` names, the ownership tag included (`None`: it
    /// does not exist). Only for kinds that hold tags.
    async fn tags_of(
        &self,
        c: &Clients,
        kind: &str,
        found: &Attrs,
    ) -> Result<Option<Tags>, ProviderError> {
        match kind {
            s3::BUCKET => s3::owner_tags(c, found).await,
            sqs::QUEUE => sqs::owner_tags(c, found).await,
            dynamodb::TABLE => dynamodb::owner_tags(c, found).await,
            secretsmanager::SECRET => secretsmanager::owner_tags(c, found).await,
            ssm::PARAMETER => ssm::owner_tags(c, found).await,
            route53::ZONE => route53::zone_tags(c, common::required(found, "zone_id", kind)?).await,
            iam::USER => iam::tags_of_user(c, common::required(found, "name", kind)?).await,
            rds::INSTANCE => rds::owner_tags(c, found).await,
            elasticache::GROUP => elasticache::owner_tags(c, found).await,
            mq::BROKER => mq::owner_tags(c, found).await,
            other => Err(no_tags(other)),
        }
    }

    /// What baton can prove about the object `found` names, for `owner`.
    async fn claim_in(
        &self,
        c: &Clients,
        kind: &str,
        found: &Attrs,
        owner: &Owner,
    ) -> Result<Claim, ProviderError> {
        Ok(match kind {
            route53::RECORD => owner.judge(route53::record_marker(c, found).await?.as_deref()),
            iam::ACCESS_KEY | iam::USER_POLICY => {
                let user = iam::user_of(kind, found)?;
                claim_through(iam::tags_of_user(c, user).await?.as_ref(), owner)
            }
            _ => claim_from(self.tags_of(c, kind, found).await?.as_ref(), owner),
        })
    }

    async fn create_once(
        &self,
        c: &Clients,
        kind: &str,
        config: &Attrs,
        owner: &Owner,
    ) -> Result<Attrs, ProviderError> {
        match kind {
            s3::BUCKET => s3::create(c, config, owner).await,
            sqs::QUEUE => sqs::create(c, config, owner).await,
            dynamodb::TABLE => dynamodb::create(c, config, owner).await,
            secretsmanager::SECRET => secretsmanager::create(c, config, owner).await,
            ssm::PARAMETER => ssm::create(c, config, owner).await,
            route53::ZONE => route53::create_zone(c, config, owner).await,
            route53::RECORD => route53::create_record(c, config, owner).await,
            iam::USER => iam::create_user(c, config, owner).await,
            iam::ACCESS_KEY => iam::create_access_key(c, config).await,
            iam::USER_POLICY => iam::put_user_policy(c, config).await,
            rds::INSTANCE => rds::create(c, config, owner).await,
            elasticache::GROUP => elasticache::create(c, config, owner).await,
            mq::BROKER => mq::create(c, config, owner).await,
            other => Err(unknown(other)),
        }
    }

    fn schema(&self, kind: &str) -> Result<KindSchema, ProviderError> {
        self.kinds()
            .into_iter()
            .find(|k| k.kind == kind)
            .ok_or_else(|| unknown(kind))
    }
}

/// What identifies an object of `kind` among all of its kind (for read-after-create).
fn identity(kind: &str, attrs: &Attrs) -> String {
    let keys: &[&str] = match kind {
        s3::BUCKET => &["bucket"],
        route53::ZONE => &["zone_id"],
        route53::RECORD => &["zone_id", "name", "type"],
        iam::ACCESS_KEY => &["access_key_id"],
        iam::USER_POLICY => &["user", "name"],
        rds::INSTANCE => &["identifier"],
        elasticache::GROUP => &["replication_group_id"],
        mq::BROKER => &["broker_name"],
        _ => &["name"],
    };
    let parts: Vec<&str> = keys
        .iter()
        .map(|k| str_attr(attrs, k).unwrap_or(""))
        .collect();
    format!("{kind}\u{0}{}", parts.join("\u{0}"))
}

fn no_tags(kind: &str) -> ProviderError {
    ProviderError::Invalid(format!("`{kind}` objects cannot carry an ownership marker"))
}

/// Whether objects of `kind` are baton's through the object they belong to.
fn is_relation(kind: &str) -> bool {
    matches!(kind, iam::ACCESS_KEY | iam::USER_POLICY)
}

/// What a relation kind's object belongs to (an access key's or a policy's user), for
/// messages.
fn parent_of(attrs: &Attrs) -> String {
    format!("user {:?}", str_attr(attrs, "user").unwrap_or(""))
}

fn unknown(kind: &str) -> ProviderError {
    ProviderError::Invalid(format!("the aws provider has no kind {kind}"))
}

#[async_trait::async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &'static str {
        "aws"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![
            s3::schema(),
            sqs::schema(),
            dynamodb::schema(),
            secretsmanager::schema(),
            ssm::schema(),
            route53::zone_schema(),
            route53::record_schema(),
            iam::user_schema(),
            iam::access_key_schema(),
            iam::user_policy_schema(),
            rds::schema(),
            elasticache::schema(),
            mq::schema(),
        ]
    }

    /// `region`; `endpoint` (for S3) and `sqs_endpoint`: the configured endpoint, or
    /// AWS's regional one; `zone_id`, `domain`, `dns_target` as configured (or null),
    /// for the `dns` and `route` modules.
    fn vars(&self) -> crate::value::Map {
        match &self.settings {
            Ok(s) => s.vars(),
            // Calls report the error; modules still load.
            Err(_) => Settings::from_config(&Attrs::new())
                .map(|s| s.vars())
                .unwrap_or_default(),
        }
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        self.schema(kind)?;
        let c = self.clients().await?;
        let first = self.read_once(c, kind, prior).await?;
        let key = identity(kind, prior);
        if first.is_some() || !self.created_recently(&key) {
            return Ok(first);
        }
        // Just created here, yet not found: most likely not visible yet.
        let start = Instant::now();
        let mut delay = self.backoff.initial;
        while start.elapsed() + delay <= self.backoff.budget.min(CREATED_RECENTLY) {
            tokio::time::sleep(delay).await;
            if let Some(found) = self.read_once(c, kind, prior).await? {
                return Ok(Some(found));
            }
            delay = (delay * 2).min(self.backoff.max_delay);
        }
        Ok(None)
    }

    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        owner: &Owner,
    ) -> Result<Attrs, ProviderError> {
        let config = common::with_defaults(&self.schema(kind)?, config);
        let c = self.clients().await?;
        // A key or a policy changes its user: only one baton made.
        if is_relation(kind) {
            let claim = self.claim_in(c, kind, &config, owner).await?;
            if !claim.is_ours() {
                return Err(ProviderError::NotOurs(format!(
                    "{kind} cannot be made in {}: baton cannot prove it made it ({})",
                    parent_of(&config),
                    claim.describe()
                )));
            }
        }
        let out = match self.create_once(c, kind, &config, owner).await {
            // The object is there already: a retried create whose first attempt made
            // it is given back; anyone else's is left as it is.
            Err(ProviderError::NotOurs(what)) => {
                let found = self.read_once(c, kind, &config).await?;
                let claim = match &found {
                    Some(_) => self.claim_in(c, kind, &config, owner).await?,
                    None => Claim::Unproven,
                };
                match found {
                    Some(found) if claim == Claim::Ours => found,
                    _ => {
                        return Err(ProviderError::NotOurs(format!(
                            "{what} already exists and baton cannot prove it made it ({})",
                            claim.describe()
                        )));
                    }
                }
            }
            other => other?,
        };
        self.remember(identity(kind, &out), true);
        Ok(out)
    }

    fn proof(&self, kind: &str) -> Proof {
        if is_relation(kind) {
            Proof::Relation
        } else {
            Proof::Marker
        }
    }

    async fn claim(
        &self,
        kind: &str,
        found: &Attrs,
        owner: &Owner,
    ) -> Result<Claim, ProviderError> {
        self.schema(kind)?;
        let c = self.clients().await?;
        self.claim_in(c, kind, found, owner).await
    }

    async fn mark(&self, kind: &str, found: &Attrs, owner: &Owner) -> Result<(), ProviderError> {
        self.schema(kind)?;
        let c = self.clients().await?;
        let tag = Tags::from([(OWNER_TAG.to_string(), owner.marker())]);
        match kind {
            s3::BUCKET => s3::add_tags(c, found, &tag).await,
            sqs::QUEUE => sqs::add_tags(c, found, &tag).await,
            dynamodb::TABLE => dynamodb::add_tags(c, found, &tag).await,
            secretsmanager::SECRET => secretsmanager::add_tags(c, found, &tag).await,
            ssm::PARAMETER => ssm::add_tags(c, found, &tag).await,
            route53::ZONE => route53::add_zone_tags(c, found, &tag).await,
            route53::RECORD => route53::mark_record(c, found, owner).await,
            iam::USER => iam::add_tags(c, found, &tag).await,
            rds::INSTANCE => rds::add_tags(c, found, &tag).await,
            elasticache::GROUP => elasticache::add_tags(c, found, &tag).await,
            mq::BROKER => mq::add_tags(c, found, &tag).await,
            other => Err(no_tags(other)),
        }
    }

    async fn update(
        &self,
        kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        let config = common::with_defaults(&self.schema(kind)?, config);
        let c = self.clients().await?;
        match kind {
            s3::BUCKET => s3::update(c, prior, &config).await,
            sqs::QUEUE => sqs::update(c, prior, &config).await,
            dynamodb::TABLE => dynamodb::update(c, prior, &config).await,
            secretsmanager::SECRET => secretsmanager::update(c, prior, &config).await,
            ssm::PARAMETER => ssm::update(c, prior, &config).await,
            route53::ZONE => route53::update_zone(c, prior, &config).await,
            route53::RECORD => route53::update_record(c, prior, &config).await,
            iam::USER => iam::update_user(c, prior, &config).await,
            iam::ACCESS_KEY => iam::update_access_key(prior, &config),
            iam::USER_POLICY => iam::put_user_policy(c, &config).await,
            rds::INSTANCE => rds::update(c, prior, &config).await,
            elasticache::GROUP => elasticache::update(c, prior, &config).await,
            mq::BROKER => mq::update(c, prior, &config).await,
            other => Err(unknown(other)),
        }
    }

    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        self.schema(kind)?;
        let c = self.clients().await?;
        match kind {
            s3::BUCKET => s3::delete(c, prior).await,
            sqs::QUEUE => sqs::delete(c, prior).await,
            dynamodb::TABLE => dynamodb::delete(c, prior).await,
            secretsmanager::SECRET => secretsmanager::delete(c, prior).await,
            ssm::PARAMETER => ssm::delete(c, prior).await,
            route53::ZONE => route53::delete_zone(c, prior).await,
            route53::RECORD => route53::delete_record(c, prior).await,
            iam::USER => iam::delete_user(c, prior).await,
            iam::ACCESS_KEY => iam::delete_access_key(c, prior).await,
            iam::USER_POLICY => iam::delete_user_policy(c, prior).await,
            rds::INSTANCE => rds::delete(c, prior).await,
            elasticache::GROUP => elasticache::delete(c, prior).await,
            mq::BROKER => mq::delete(c, prior).await,
            other => Err(unknown(other)),
        }?;
        self.remember(identity(kind, prior), false);
        Ok(())
    }
}
