//! Turning SDK errors into provider errors.
//!
//! The SDK has already retried throttling, 5xx answers and connection faults (standard
//! retry mode, see `config`). What is still failing afterwards is reported as
//! `Transient` when it may pass (the endpoint unreachable, throttled, AWS failing) and
//! as `Failed` otherwise, naming the object and carrying AWS's error code and message.
//! Messages pass through `redact` with the object's secrets, in case AWS echoes one.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::provider::ProviderError;
use crate::provider::server::redact;

/// Error codes AWS services use for throttling, which the SDK also retries.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// An SDK failure reduced to what the provider decides on.
#[derive(Debug, Clone)]
pub struct Fault {
    /// AWS's error code, e.g. `NoSuchBucket`.
    pub code: Option<String>,
    /// AWS's message, or the cause of a failure that had no answer.
    pub message: String,
    /// Worth retrying later.
    pub transient: bool,
}

impl<E> From<SdkError<E, HttpResponse>> for Fault
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn from(e: SdkError<E, HttpResponse>) -> Fault {
        let status = e.raw_response().map(|r| r.status().as_u16());
        match &e {
            SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
                let code = e.code().map(str::to_string);
                let transient = status.is_some_and(|s| s >= 500)
                    || code.as_deref().is_some_and(|c| THROTTLING.contains(&c));
                let message = e
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| match status {
                        Some(s) => format!("HTTP {s}"),
                        None => DisplayErrorContext(&e).to_string(),
                    });
                Fault {
                    code,
                    message,
                    transient,
                }
            }
            // No answer: the endpoint is unreachable, or it timed out. A failure before
            // sending (no credentials, a bad request) is permanent.
            SdkError::DispatchFailure(d) => Fault {
                code: None,
                transient: d.is_io() || d.is_timeout(),
                message: DisplayErrorContext(&e).to_string(),
            },
            SdkError::TimeoutError(_) => Fault {
                code: None,
                transient: true,
                message: DisplayErrorContext(&e).to_string(),
            },
            _ => Fault {
                code: None,
                transient: false,
                message: DisplayErrorContext(&e).to_string(),
            },
        }
    }
}

impl Fault {
    /// True when AWS answered with one of `codes`.
    pub fn is(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }

    /// The provider error for `what` (e.g. `aws_s3_bucket "logs"`), without `secrets`.
    pub fn error(&self, what: &str, secrets: &[&str]) -> ProviderError {
        let text = match &self.code {
            Some(code) => format!("{what}: {code}: {}", self.message),
            None if self.transient => format!("{what}: AWS is not reachable: {}", self.message),
            None => format!("{what}: {}", self.message),
        };
        let text = redact(&text, secrets);
        if self.transient {
            ProviderError::Transient(text)
        } else {
            ProviderError::Failed(text)
        }
    }
}

/// Naming failures of SDK calls.
pub trait Named<T> {
    /// The result, or the error naming `what`.
    fn named(self, what: &str) -> Result<T, ProviderError>;
    /// Like `named`, removing `secrets` from the message.
    fn named_secret(self, what: &str, secrets: &[&str]) -> Result<T, ProviderError>;
    /// `None` when AWS answered with one of `missing` (the object does not exist).
    fn or_missing(self, what: &str, missing: &[&str]) -> Result<Option<T>, ProviderError>;
}

impl<T, E> Named<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn named(self, what: &str) -> Result<T, ProviderError> {
        self.named_secret(what, &[])
    }

    fn named_secret(self, what: &str, secrets: &[&str]) -> Result<T, ProviderError> {
        self.map_err(|e| Fault::from(e).error(what, secrets))
    }

    fn or_missing(self, what: &str, missing: &[&str]) -> Result<Option<T>, ProviderError> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                let f = Fault::from(e);
                if f.is(missing) {
                    Ok(None)
                } else {
                    Err(f.error(what, &[]))
                }
            }
        }
    }
}

/// A request that could not be built (a required field missing): a bug or a bad value.
pub fn build_error(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Invalid(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_object_and_hide_secrets() {
        let f = Fault {
            code: Some("AccessDenied".into()),
            message: "no for hunter2".into(),
            transient: false,
        };
        let e = f.error("aws_s3_bucket \"b\"", &["hunter2"]);
        assert!(
            matches!(&e, ProviderError::Failed(m) if m == "aws_s3_bucket \"b\": AccessDenied: no for (sensitive)"),
            "{e:?}"
        );
        let f = Fault {
            code: None,
            message: "connection refused".into(),
            transient: true,
        };
        assert!(
            matches!(f.error("x", &[]), ProviderError::Transient(m) if m.contains("not reachable"))
        );
        assert!(
            Fault {
                code: Some("NoSuchKey".into()),
                message: String::new(),
                transient: false
            }
            .is(&["NoSuchKey"])
        );
    }
}
