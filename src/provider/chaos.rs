//! Fault injection, a testing aid: with `BATON_CHAOS` set, every provider is wrapped so
//! that its changing calls (create, update, delete) fail at random, and the process can
//! abort right after a call returns, before apply records it: the worst moment for a
//! crash. Reads are never disturbed. Off (and free) when the variable is unset.
//!
//! `BATON_CHAOS="seed=7,fail=0.2,abort_after=5"`:
//! - `seed`: the decisions are drawn from it and the ordinal of the call, so one seed
//!   gives the same faults for the same order of calls (`--parallelism 1`).
//! - `fail`: the probability that a call fails; half of the failures happen *before*
//!   the call reaches the provider (nothing done), half *after* it succeeded (the object
//!   exists but baton sees an error, as when a connection drops after the server
//!   committed).
//! - `when=before|after`: only that half.
//! - `abort_after`: `std::process::abort()` right after the K-th changing call
//!   returns, as a `kill -9` would.
//! - `kinds=a+b`: only calls on these kinds are disturbed and counted.
//!
//! A malformed value makes every changing call fail with a message naming the variable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Attrs, KindSchema, Provider, ProviderError};

/// The environment variable that turns fault injection on.
pub const VAR: &str = "BATON_CHAOS";

/// What to inject.
#[derive(Debug, Clone, PartialEq)]
pub struct Chaos {
    /// Seed of the decisions.
    pub seed: u64,
    /// Probability that a changing call fails.
    pub fail: f64,
    /// Abort the process right after this many changing calls returned.
    pub abort_after: Option<u64>,
    /// Fail only before (`Some(false)`) or only after (`Some(true)`) the provider acted.
    pub after: Option<bool>,
    /// Only calls on these kinds (all when empty).
    pub kinds: Vec<String>,
}

impl Chaos {
    /// Parses `seed=N,fail=P,abort_after=K` (every key optional).
    pub fn parse(text: &str) -> Result<Chaos, String> {
        let mut chaos = Chaos {
            seed: 0,
            fail: 0.0,
            abort_after: None,
            after: None,
            kinds: Vec::new(),
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not KEY=VALUE"))?;
            let bad = |what: &str| format!("`{key}={value}`: expected {what}");
            match key.trim() {
                "seed" => chaos.seed = value.trim().parse().map_err(|_| bad("an integer"))?,
                "fail" => {
                    chaos.fail = value
                        .trim()
                        .parse()
                        .ok()
                        .filter(|p: &f64| (0.0..=1.0).contains(p))
                        .ok_or_else(|| bad("a probability between 0 and 1"))?
                }
                "abort_after" => {
                    chaos.abort_after = Some(value.trim().parse().map_err(|_| bad("an integer"))?)
                }
                "when" => {
                    chaos.after = match value.trim() {
                        "before" => Some(false),
                        "after" => Some(true),
                        _ => return Err(bad("`before` or `after`")),
                    }
                }
                "kinds" => chaos.kinds = value.split('+').map(|k| k.trim().to_string()).collect(),
                other => {
                    return Err(format!(
                        "unknown key `{other}` (expected seed, fail, when, abort_after, kinds)"
                    ));
                }
            }
        }
        Ok(chaos)
    }
}

/// Where a call fails, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Before,
    After,
}

/// The decisions shared by every wrapped provider of a run.
struct Dice {
    chaos: Result<Chaos, String>,
    calls: AtomicU64,
}

impl Dice {
    /// The fault for the next call, and its ordinal (1-based).
    fn roll(&self, chaos: &Chaos) -> (Fault, u64) {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let r = splitmix64(chaos.seed ^ splitmix64(n));
        // 53 random bits as a number in [0, 1).
        let p = (r >> 11) as f64 / (1u64 << 53) as f64;
        let fault = if p >= chaos.fail {
            Fault::None
        } else if chaos.after.unwrap_or(r & 1 == 1) {
            Fault::After
        } else {
            Fault::Before
        };
        (fault, n)
    }
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Wraps every provider when `BATON_CHAOS` is set; returns them unchanged otherwise.
pub fn wrap_from_env(providers: Vec<Arc<dyn Provider>>) -> Vec<Arc<dyn Provider>> {
    match std::env::var(VAR) {
        Ok(text) => wrap(providers, Chaos::parse(&text)),
        Err(_) => providers,
    }
}

/// Wraps every provider with the same dice.
fn wrap(providers: Vec<Arc<dyn Provider>>, chaos: Result<Chaos, String>) -> Vec<Arc<dyn Provider>> {
    let dice = Arc::new(Dice {
        chaos,
        calls: AtomicU64::new(0),
    });
    providers
        .into_iter()
        .map(|inner| {
            Arc::new(ChaosProvider {
                inner,
                dice: dice.clone(),
            }) as Arc<dyn Provider>
        })
        .collect()
}

/// A provider whose changing calls fail at random.
struct ChaosProvider {
    inner: Arc<dyn Provider>,
    dice: Arc<Dice>,
}

impl ChaosProvider {
    async fn call<T>(
        &self,
        what: &str,
        kind: &str,
        call: impl std::future::Future<Output = Result<T, ProviderError>>,
    ) -> Result<T, ProviderError> {
        let chaos = match &self.dice.chaos {
            Ok(c) => c,
            Err(e) => return Err(ProviderError::Invalid(format!("{VAR}: {e}"))),
        };
        if !chaos.kinds.is_empty() && !chaos.kinds.iter().any(|k| k == kind) {
            return call.await;
        }
        let (fault, n) = self.dice.roll(chaos);
        if fault == Fault::Before {
            return Err(ProviderError::Failed(format!(
                "{VAR}: injected failure before {what} {kind} (call {n})"
            )));
        }
        let result = call.await;
        if chaos.abort_after == Some(n) {
            std::process::abort();
        }
        match (fault, result) {
            (Fault::After, Ok(_)) => Err(ProviderError::Failed(format!(
                "{VAR}: injected failure after {what} {kind} succeeded (call {n})"
            ))),
            (_, result) => result,
        }
    }
}

#[async_trait::async_trait]
impl Provider for ChaosProvider {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn kinds(&self) -> Vec<KindSchema> {
        self.inner.kinds()
    }

    fn vars(&self) -> crate::value::Map {
        self.inner.vars()
    }

    async fn read(&self, kind: &str, prior: &Attrs) -> Result<Option<Attrs>, ProviderError> {
        self.inner.read(kind, prior).await
    }

    fn read_recorded(&self, kind: &str, prior: &Attrs) -> Option<bool> {
        self.inner.read_recorded(kind, prior)
    }

    async fn create(
        &self,
        kind: &str,
        config: &Attrs,
        owner: &crate::provider::Owner,
    ) -> Result<Attrs, ProviderError> {
        self.call("create", kind, self.inner.create(kind, config, owner))
            .await
    }

    fn proof(&self, kind: &str) -> crate::provider::Proof {
        self.inner.proof(kind)
    }

    fn check(&self, kind: &str, config: &Attrs) -> Result<(), String> {
        self.inner.check(kind, config)
    }

    async fn claim(
        &self,
        kind: &str,
        found: &Attrs,
        owner: &crate::provider::Owner,
    ) -> Result<crate::provider::Claim, ProviderError> {
        self.inner.claim(kind, found, owner).await
    }

    async fn mark(
        &self,
        kind: &str,
        found: &Attrs,
        owner: &crate::provider::Owner,
    ) -> Result<(), ProviderError> {
        self.inner.mark(kind, found, owner).await
    }

    async fn update(
        &self,
        kind: &str,
        prior: &Attrs,
        config: &Attrs,
    ) -> Result<Attrs, ProviderError> {
        self.call("update", kind, self.inner.update(kind, prior, config))
            .await
    }

    async fn delete(&self, kind: &str, prior: &Attrs) -> Result<(), ProviderError> {
        self.call("delete", kind, self.inner.delete(kind, prior))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Value;

    #[test]
    fn parses_every_key_and_rejects_bad_ones() {
        assert_eq!(
            Chaos::parse("seed=7, fail=0.25,abort_after=3,when=after,kinds=a+b"),
            Ok(Chaos {
                seed: 7,
                fail: 0.25,
                abort_after: Some(3),
                after: Some(true),
                kinds: vec!["a".into(), "b".into()],
            })
        );
        assert_eq!(
            Chaos::parse(""),
            Ok(Chaos {
                seed: 0,
                fail: 0.0,
                abort_after: None,
                after: None,
                kinds: Vec::new(),
            })
        );
        for (text, needle) in [
            ("fail=2", "a probability between 0 and 1"),
            ("seed=x", "an integer"),
            ("boom=1", "unknown key `boom`"),
            ("when=later", "`before` or `after`"),
            ("seed", "is not KEY=VALUE"),
        ] {
            let e = Chaos::parse(text).unwrap_err();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    /// A file made through the local provider, wrapped with `chaos`: the call's result
    /// and whether the file exists afterwards.
    fn make_file(chaos: &str, kind_of_call: &str) -> (Result<Attrs, ProviderError>, bool) {
        let dir = tempfile::tempdir().unwrap();
        let wrapped = wrap(
            vec![Arc::new(super::super::local::LocalProvider::new(
                dir.path(),
                &Attrs::new(),
            ))],
            Chaos::parse(chaos),
        );
        let config: Attrs = [
            ("path".to_string(), Value::string("f.txt")),
            ("content".to_string(), Value::string("x")),
        ]
        .into_iter()
        .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = rt.block_on(wrapped[0].create(
            kind_of_call,
            &config,
            &crate::provider::Owner::for_tests(),
        ));
        (result, dir.path().join("f.txt").exists())
    }

    #[test]
    fn a_failure_before_does_nothing_and_one_after_leaves_the_object() {
        let (r, exists) = make_file("fail=1,when=before", "local_file");
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("injected failure before create local_file (call 1)")
        );
        assert!(!exists);
        let (r, exists) = make_file("fail=1,when=after", "local_file");
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("injected failure after create local_file succeeded")
        );
        assert!(exists, "the provider made the file");
        // Other kinds are left alone.
        let (r, exists) = make_file("fail=1,kinds=local_directory", "local_file");
        assert!(r.is_ok() && exists);
        // A malformed value names the variable.
        let (r, _) = make_file("fail=lots", "local_file");
        assert!(
            r.unwrap_err()
                .to_string()
                .starts_with("invalid configuration: BATON_CHAOS: `fail=lots`")
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_the_rate_is_respected() {
        let chaos = Chaos {
            seed: 42,
            fail: 0.3,
            abort_after: None,
            after: None,
            kinds: Vec::new(),
        };
        let roll_all = || {
            let dice = Dice {
                chaos: Ok(chaos.clone()),
                calls: AtomicU64::new(0),
            };
            (0..2000).map(|_| dice.roll(&chaos).0).collect::<Vec<_>>()
        };
        let a = roll_all();
        assert_eq!(a, roll_all());
        let before = a.iter().filter(|f| **f == Fault::Before).count();
        let after = a.iter().filter(|f| **f == Fault::After).count();
        // 600 expected failures, split about evenly; far from 0 and from 2000.
        assert!((450..750).contains(&(before + after)), "{before} + {after}");
        assert!(before > 200 && after > 200, "{before} / {after}");
        let other = Chaos {
            seed: 43,
            ..chaos.clone()
        };
        let dice = Dice {
            chaos: Ok(other.clone()),
            calls: AtomicU64::new(0),
        };
        let b: Vec<Fault> = (0..2000).map(|_| dice.roll(&other).0).collect();
        assert_ne!(a, b);
    }
}
