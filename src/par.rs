//! Using the cores a stage would leave idle, on one pool of worker threads (rayon) kept
//! for the whole run: Score files parsed and checked, state rows decoded, a plan's graph
//! levels evaluated ([`map`], [`map_owned`]: results in the order of the input); the
//! large sorts of the stages that otherwise run on one core (resolving a project's uids,
//! ordering a graph's addresses; each half sorted on its own thread, then merged, the
//! same result as a sequential sort's for keys without ties); and a blocking call that
//! a flag can give up waiting for ([`unless`]).
//!
//! One pool rather than threads started by each step: at 10,000 resources a plan started
//! eleven threads, each with a fresh stack and allocator heap, and a graph level's two
//! halves spent as long starting their thread as evaluating (docs/performance.md).

use std::cmp::Ordering;
use std::sync::OnceLock;

/// Threads of the parallel stages: `BATON_THREADS`, else the machine's cores (at most 8).
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("BATON_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)))
    })
}

/// The process's worker threads ([`threads`] of them), started on first use and kept:
/// every parallel step runs on the same threads, and their allocator heaps, instead of
/// starting threads of its own (a new thread's stack and heap are fresh memory).
fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads())
            .thread_name(|i| format!("baton-worker-{i}"))
            .build()
            .expect("start the worker threads")
    })
}

/// `f` of every item (taken by value), in their order, on the worker threads.
pub fn map_owned<T, R, F>(items: Vec<T>, f: F) -> Vec<R>
where
    T: Send,
    R: Send,
    F: Fn(T) -> R + Sync + Send,
{
    if items.len() < 2 || threads() == 1 {
        return items.into_iter().map(f).collect();
    }
    use rayon::prelude::*;
    pool().install(|| items.into_par_iter().map(f).collect())
}

/// `f` of every item, in the order of `items`, computed on the worker threads when
/// there are at least `min` items and more than one thread.
pub fn map<T, R, F>(items: &[T], min: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync + Send,
{
    if items.len() < min || threads() == 1 {
        return items.iter().map(f).collect();
    }
    use rayon::prelude::*;
    pool().install(|| {
        items
            .par_iter()
            .with_min_len(min.div_ceil(2).max(1))
            .map(f)
            .collect()
    })
}

/// Below this length a sort stays on the calling thread.
const PARALLEL_SORT: usize = 4096;

/// Sorts `v` by `cmp` (not stable: ties may come in either order).
pub fn sort_unstable_by<T, F>(v: &mut Vec<T>, cmp: F)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    let two = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    if v.len() < PARALLEL_SORT || !two {
        v.sort_unstable_by(&cmp);
        return;
    }
    let right_half = v.split_off(v.len() / 2);
    let mut left = std::mem::take(v);
    let mut right = right_half;
    pool().join(
        || left.sort_unstable_by(&cmp),
        || right.sort_unstable_by(&cmp),
    );
    v.reserve(left.len() + right.len());
    let mut l = left.into_iter().peekable();
    let mut r = right.into_iter().peekable();
    loop {
        let take_right = match (l.peek(), r.peek()) {
            (Some(a), Some(b)) => cmp(b, a) == Ordering::Less,
            (Some(_), None) => false,
            (None, Some(_)) => true,
            (None, None) => break,
        };
        v.extend(if take_right { r.next() } else { l.next() });
    }
}

/// Runs the blocking `call` (a read from the terminal, say) on a thread of its own and
/// waits for its result, checking `interrupted` every 50 ms: `None` as soon as it says
/// so. The call is then left to finish or block on its own; its result is dropped.
pub fn unless<T: Send + 'static>(
    interrupted: &dyn Fn() -> bool,
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<T> {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(call()));
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(50)) {
            Ok(v) => return Some(v),
            Err(RecvTimeoutError::Timeout) if !interrupted() => {}
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unless_returns_the_result_or_gives_up_when_interrupted() {
        assert_eq!(unless(&|| false, || 7), Some(7));
        // A call that never returns: the flag ends the wait.
        let (_keep, blocked) = std::sync::mpsc::channel::<()>();
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let flag = || asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= 2;
        assert_eq!(unless(&flag, move || blocked.recv().ok()), None);
        assert_eq!(asked.into_inner(), 3, "checked until it said so");
    }

    #[test]
    fn maps_keep_the_order_of_their_input() {
        for n in [0, 1, 2, 255, 256, 10_001] {
            let items: Vec<u64> = (0..n as u64).collect();
            let want: Vec<u64> = items.iter().map(|i| i * 3 + 1).collect();
            assert_eq!(map(&items, 256, |i| i * 3 + 1), want, "map, n = {n}");
            assert_eq!(map(&items, 2, |i| i * 3 + 1), want, "map, n = {n}");
            assert_eq!(map_owned(items, |i| i * 3 + 1), want, "map_owned, n = {n}");
        }
    }

    #[test]
    fn sorts_like_the_standard_sort() {
        for n in [0, 1, 2, 4095, 4096, 4097, 10_001] {
            // A deterministic shuffle of 0..n with repeated keys.
            let mut v: Vec<u64> = (0..n as u64).map(|i| (i * 7919) % 5003).collect();
            let mut want = v.clone();
            want.sort_unstable();
            sort_unstable_by(&mut v, |a, b| a.cmp(b));
            assert_eq!(v, want, "n = {n}");
        }
    }
}
