//! Retrying transient provider faults with exponential backoff, for a bounded time.
//! A permanent error, or a transient one that outlasts the budget, is returned as is
//! (the last message, which names what failed).

use std::future::Future;
use std::time::{Duration, Instant};

use super::ProviderError;

/// How long and how often to retry.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First wait.
    pub initial: Duration,
    /// Longest single wait.
    pub max_delay: Duration,
    /// Give up once this much time has passed.
    pub budget: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            initial: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            budget: Duration::from_secs(20),
        }
    }
}

impl Backoff {
    /// The budget from `BATON_RETRY_BUDGET` (seconds) when set, else the default.
    pub fn from_env() -> Backoff {
        let mut b = Backoff::default();
        if let Some(secs) = std::env::var("BATON_RETRY_BUDGET")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
        {
            b.budget = Duration::from_secs_f64(secs.max(0.0));
        }
        b
    }
}

/// Runs `op` until it succeeds, fails permanently, or the budget is spent.
pub async fn retry<T, F, Fut>(backoff: Backoff, mut op: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let start = Instant::now();
    let mut delay = backoff.initial;
    loop {
        match op().await {
            Err(ProviderError::Transient(msg)) => {
                if start.elapsed() + delay > backoff.budget {
                    return Err(ProviderError::Transient(format!(
                        "{msg} (gave up after {:.0?})",
                        start.elapsed()
                    )));
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(backoff.max_delay);
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn transient_faults_are_retried_until_they_pass() {
        let calls = AtomicU32::new(0);
        let b = Backoff {
            initial: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
            budget: Duration::from_secs(5),
        };
        let r = retry(b, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(ProviderError::Transient("refused".into()))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn permanent_errors_and_spent_budgets_stop() {
        let b = Backoff {
            initial: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            budget: Duration::from_millis(20),
        };
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = retry(b, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(ProviderError::Failed("no".into()))
        })
        .await;
        assert!(matches!(r, Err(ProviderError::Failed(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let r: Result<(), _> =
            retry(b, || async { Err(ProviderError::Transient("down".into())) }).await;
        assert!(r.unwrap_err().to_string().contains("gave up after"));
    }
}
