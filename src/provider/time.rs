//! `time`: `time_sleep`, which waits on create (and optionally on destroy). Useful to
//! order things that need time to settle, and as the unit of scheduler benchmarks.

use std::time::Duration;

use super::{AttrSchema, AttrType, Attrs, KindSchema, Provider, ProviderError, str_attr};
use crate::value::Value;

/// The `time` provider.
pub struct TimeProvider;

fn schema() -> KindSchema {
    KindSchema {
        kind: "time_sleep",
        provider: "time",
        description: "Waits for a duration when created (and optionally when destroyed).",
        attributes: vec![
            AttrSchema::optional(
                "create_duration",
                AttrType::String,
                "How long to wait on create, e.g. \"30s\", \"50ms\".",
            )
            .force_new(),
            AttrSchema::optional(
                "destroy_duration",
                AttrType::String,
                "How long to wait on destroy.",
            ),
            AttrSchema::optional(
                "triggers",
                AttrType::Map,
                "Arbitrary values; changing them re-creates (and waits again).",
            )
            .force_new(),
            AttrSchema::computed("id", AttrType::String, "When the wait finished (RFC 3339)."),
        ],
        create_before_destroy: false,
    }
}

fn duration(attrs: &Attrs, name: &str) -> Result<Option<Duration>, ProviderError> {
    match str_attr(attrs, name) {
        None => Ok(None),
        Some(s) => humantime::parse_duration(s).map(Some).map_err(|e| {
            ProviderError::Invalid(format!(
                "`{name}` = {s:?} is not a duration like \"30s\" or \"50ms\": {e}"
            ))
        }),
    }
}

#[async_trait::async_trait]
impl Provider for TimeProvider {
    fn name(&self) -> &'static str {
        "time"
    }

    fn kinds(&self) -> Vec<KindSchema> {
        vec![schema()]
    }

    fn proof(&self, _kind: &str) -> crate::provider::Proof {
        crate::provider::Proof::Intrinsic
    }

    async fn read(&self, _kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        // Without `id` (an interrupted create) the wait never finished.
        Ok(prior.contains_key("id").then(|| prior.clone()))
    }

    async fn create(
        &self,
        _kind: &str,
        config: &Attrs,
        _owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        if let Some(d) = duration(config, "create_duration")? {
            precise::sleep(d).await;
        }
        let mut out = config.clone();
        out.insert(
            "id".into(),
            Value::string(
                humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            ),
        );
        Ok(out)
    }

    async fn update(
        &self,
        _kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        duration(config, "destroy_duration")?;
        let mut out = config.clone();
        out.insert("id".into(), prior.get("id").cloned().unwrap_or(Value::Null));
        Ok(out)
    }

    async fn delete(&self, _kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        if let Some(d) = duration(prior, "destroy_duration")? {
            precise::sleep(d).await;
        }
        Ok(())
    }
}

/// Sleeps that last their duration. tokio's timer fires on millisecond ticks and rounds
/// a deadline up, so a 50 ms sleep lasts 51–52 ms; `time_sleep` promises its duration
/// (Terraform's lasts it to a fraction of a millisecond). The bulk of a wait runs on
/// tokio's timer; its last milliseconds on one thread that wakes at the deadline
/// (`park_timeout`, sub-millisecond).
mod precise {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    use std::sync::{Mutex, OnceLock};
    use std::thread::Thread;
    use std::time::{Duration, Instant};

    use tokio::sync::oneshot;

    /// What tokio's timer may overshoot by; the rest of a wait is left to it.
    const SLACK: Duration = Duration::from_millis(3);

    struct Entry {
        deadline: Instant,
        seq: u64,
        wake: oneshot::Sender<()>,
    }

    impl PartialEq for Entry {
        fn eq(&self, other: &Entry) -> bool {
            (self.deadline, self.seq) == (other.deadline, other.seq)
        }
    }
    impl Eq for Entry {}
    impl PartialOrd for Entry {
        fn partial_cmp(&self, other: &Entry) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Entry {
        fn cmp(&self, other: &Entry) -> std::cmp::Ordering {
            (self.deadline, self.seq).cmp(&(other.deadline, other.seq))
        }
    }

    struct Timer {
        entries: Mutex<(BinaryHeap<Reverse<Entry>>, u64)>,
        thread: Thread,
    }

    fn timer() -> &'static Timer {
        static TIMER: OnceLock<Timer> = OnceLock::new();
        TIMER.get_or_init(|| {
            let thread = std::thread::Builder::new()
                .name("baton-timer".into())
                .spawn(run)
                .expect("the timer thread starts");
            Timer {
                entries: Mutex::new((BinaryHeap::new(), 0)),
                thread: thread.thread().clone(),
            }
        })
    }

    /// The timer thread: wakes every wait whose deadline passed, then parks until the
    /// next deadline (or until a new wait arrives).
    fn run() {
        loop {
            let next = {
                let mut guard = timer().entries.lock().expect("timer lock");
                let now = Instant::now();
                while guard.0.peek().is_some_and(|Reverse(e)| e.deadline <= now) {
                    let Reverse(e) = guard.0.pop().expect("peeked");
                    let _ = e.wake.send(());
                }
                guard.0.peek().map(|Reverse(e)| e.deadline)
            };
            match next {
                Some(deadline) => {
                    std::thread::park_timeout(deadline.saturating_duration_since(Instant::now()))
                }
                None => std::thread::park(),
            }
        }
    }

    /// Waits `d`, ending within a fraction of a millisecond of it.
    pub async fn sleep(d: Duration) {
        let deadline = Instant::now() + d;
        if d > SLACK {
            tokio::time::sleep(d - SLACK).await;
        }
        let (wake, woken) = oneshot::channel();
        let t = timer();
        {
            let mut guard = t.entries.lock().expect("timer lock");
            guard.1 += 1;
            let seq = guard.1;
            guard.0.push(Reverse(Entry {
                deadline,
                seq,
                wake,
            }));
        }
        t.thread.unpark();
        let _ = woken.await;
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[tokio::test]
        async fn never_ends_early_and_many_waits_all_end() {
            let started = Instant::now();
            let waits: Vec<_> = (0..50u64)
                .map(|i| tokio::spawn(sleep(Duration::from_millis(i % 7))))
                .collect();
            for w in waits {
                w.await.unwrap();
            }
            sleep(Duration::from_millis(20)).await;
            assert!(started.elapsed() >= Duration::from_millis(20));
            let one = Instant::now();
            sleep(Duration::from_millis(5)).await;
            assert!(one.elapsed() >= Duration::from_millis(5));
        }
    }
}
