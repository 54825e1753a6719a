//! Using the cores a stage would leave idle: sorting on two threads, for the large sorts
//! of the stages that otherwise run on one core (resolving a project's uids, ordering a
//! graph's addresses; each half sorted on its own thread, then merged, the same result as
//! a sequential sort's for keys without ties), and work lowered to a background priority.

use std::cmp::Ordering;

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
    std::thread::scope(|s| {
        s.spawn(|| right.sort_unstable_by(&cmp));
        left.sort_unstable_by(&cmp);
    });
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

/// Gives the calling thread the lowest scheduling priority (Linux: `nice` 19 for this
/// thread alone), for work that should use a core only when no other thread needs it.
pub fn background_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority with `who` 0 changes only the calling thread's nice value; it
    // reads no memory of ours. A failure leaves the priority as it was, which is harmless.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
