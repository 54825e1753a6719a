//! The `provider "aws" { … }` block: region, endpoint, credentials and the values
//! modules read, and the SDK clients built from it on first use.
//!
//! Nothing here connects when the provider is built: `baton validate` and `baton plan`
//! without a refresh must work without AWS credentials. Clients are built once, on the
//! first call, and share one HTTP client (one connection pool).

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;

use crate::provider::{Attrs, ProviderError};
use crate::value::Value;

/// The region when the provider block does not say.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Attempts per SDK call (the first and the retries of throttling, 5xx and connection
/// faults), with the SDK's standard exponential backoff and jitter between them.
const MAX_ATTEMPTS: u32 = 4;

/// The settings of the provider block (`baton.hcl` refuses any other key; the list is
/// `config`'s, which checks every provider block).
pub const SETTINGS: &[&str] = crate::config::AWS_SETTINGS;

/// The provider block, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// AWS region.
    pub region: String,
    /// Every service's endpoint (an emulator, or a VPC endpoint), when set.
    pub endpoint: Option<String>,
    /// Static credentials (access key id, secret key), when both are set.
    pub static_keys: Option<(String, String)>,
    /// A named profile of the shared config files.
    pub profile: Option<String>,
    /// Route 53 zone and domain the `dns`/`route` modules use by default.
    pub zone_id: Option<String>,
    /// The zone's domain name.
    pub domain: Option<String>,
    /// Where `dns` names point by default (a load balancer's name or an address).
    pub dns_target: Option<String>,
}

fn opt_string(config: &Attrs, key: &str) -> Result<Option<String>, String> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_str() {
            Some(s) if !s.is_empty() => Ok(Some(s.to_string())),
            Some(_) => Ok(None),
            None => Err(format!("provider \"aws\": `{key}` must be a string")),
        },
    }
}

impl Settings {
    /// Checks the provider block; the error never shows a credential.
    pub fn from_config(config: &Attrs) -> Result<Settings, String> {
        if let Some(k) = config.keys().find(|k| !SETTINGS.contains(&k.as_str())) {
            return Err(format!(
                "provider \"aws\": unknown setting `{k}` (known: {})",
                SETTINGS.join(", ")
            ));
        }
        let region = opt_string(config, "region")?.unwrap_or_else(|| DEFAULT_REGION.into());
        if !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(format!(
                "provider \"aws\": region {region:?} is not a region name like \"eu-west-1\""
            ));
        }
        let endpoint = opt_string(config, "endpoint")?;
        if let Some(e) = &endpoint {
            match url::Url::parse(e) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                _ => {
                    return Err(
                        "provider \"aws\": `endpoint` must be an http(s) URL like \"http://127.0.0.1:5000\""
                            .into(),
                    );
                }
            }
        }
        let key_id = opt_string(config, "access_key_id")?;
        let secret = opt_string(config, "secret_access_key")?;
        let static_keys = match (key_id, secret) {
            (Some(k), Some(s)) => Some((k, s)),
            (None, None) => None,
            _ => {
                return Err(
                    "provider \"aws\": set both `access_key_id` and `secret_access_key`, or neither"
                        .into(),
                );
            }
        };
        Ok(Settings {
            region,
            endpoint,
            static_keys,
            profile: opt_string(config, "profile")?,
            zone_id: opt_string(config, "zone_id")?,
            domain: opt_string(config, "domain")?,
            dns_target: opt_string(config, "dns_target")?,
        })
    }

    /// The DNS suffix of the region's partition.
    fn dns_suffix(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "amazonaws.com.cn"
        } else {
            "amazonaws.com"
        }
    }

    /// The ARN partition of the region.
    pub fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    /// The endpoint workloads use for `service` (`s3`, `sqs`): the configured one, or
    /// AWS's regional one.
    pub fn service_endpoint(&self, service: &str) -> String {
        match &self.endpoint {
            Some(e) => e.trim_end_matches('/').to_string(),
            None => format!("https://{service}.{}.{}", self.region, self.dns_suffix()),
        }
    }

    /// `provider.aws.*` for modules. No credential is among them: workloads get keys of
    /// their own (an IAM user per resource), never the provider's.
    pub fn vars(&self) -> crate::value::Map {
        let opt = |v: &Option<String>| v.as_ref().map_or(Value::Null, Value::string);
        crate::value::Map::from([
            ("region".to_string(), Value::string(&self.region)),
            (
                "endpoint".to_string(),
                Value::string(self.service_endpoint("s3")),
            ),
            (
                "sqs_endpoint".to_string(),
                Value::string(self.service_endpoint("sqs")),
            ),
            ("zone_id".to_string(), opt(&self.zone_id)),
            ("domain".to_string(), opt(&self.domain)),
            ("dns_target".to_string(), opt(&self.dns_target)),
        ])
    }
}

/// One client per service, all from the same configuration.
#[derive(Debug, Clone)]
pub struct Clients {
    /// S3 (path-style addressing when an endpoint is set).
    pub s3: aws_sdk_s3::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// SSM Parameter Store.
    pub ssm: aws_sdk_ssm::Client,
    /// Route 53.
    pub route53: aws_sdk_route53::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// RDS.
    pub rds: aws_sdk_rds::Client,
    /// ElastiCache.
    pub elasticache: aws_sdk_elasticache::Client,
    /// Amazon MQ.
    pub mq: aws_sdk_mq::Client,
    /// The region, for ARNs and bucket locations.
    pub region: String,
    /// The ARN partition.
    pub partition: &'static str,
    /// How long to wait for an object to settle (a table to become active, a DNS change
    /// to propagate).
    pub settle: Duration,
}

impl Clients {
    /// Builds the clients. Loading the configuration reads environment variables and
    /// the shared config files (for the default credential chain) but sends nothing.
    pub async fn build(s: &Settings, settle: Duration) -> Clients {
        // rustls with ring: no C toolchain beyond what `ring` needs, and no OpenSSL;
        // plain `http://` endpoints (an emulator) work with the same client.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(s.region.clone()))
            .http_client(http)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(e) = &s.endpoint {
            loader = loader.endpoint_url(e.clone());
        }
        if let Some(p) = &s.profile {
            loader = loader.profile_name(p.clone());
        }
        if let Some((id, secret)) = &s.static_keys {
            loader = loader.credentials_provider(Credentials::new(
                id.clone(),
                secret.clone(),
                None,
                None,
                "baton provider block",
            ));
        }
        let sdk = loader.load().await;
        // Virtual-host addressing (bucket.host) needs DNS for every bucket, which an
        // emulator on 127.0.0.1 does not have.
        let s3 = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(s.endpoint.is_some())
            .build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            route53: aws_sdk_route53::Client::new(&sdk),
            iam: aws_sdk_iam::Client::new(&sdk),
            rds: aws_sdk_rds::Client::new(&sdk),
            elasticache: aws_sdk_elasticache::Client::new(&sdk),
            mq: aws_sdk_mq::Client::new(&sdk),
            region: s.region.clone(),
            partition: s.partition(),
            settle,
        }
    }
}

/// The configuration error of a provider block, as returned by every call.
pub fn invalid(e: &str) -> ProviderError {
    ProviderError::Invalid(e.to_string())
}
