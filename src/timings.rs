//! Where a run's time goes, stage by stage, when `BATON_TIMINGS=1` is set: the stages
//! of the pipeline record their wall time here and the binary prints them on stderr
//! at exit. Off by default; when off, recording is one relaxed atomic load.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

static STATE: AtomicU8 = AtomicU8::new(0); // 0 unknown, 1 off, 2 on
static SPANS: Mutex<Vec<(&'static str, Duration, Option<u64>)>> = Mutex::new(Vec::new());

/// Whether timings are being collected (`BATON_TIMINGS` set to anything but `0`).
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let on = std::env::var_os("BATON_TIMINGS").is_some_and(|v| v != "0" && !v.is_empty());
            STATE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
    }
}

/// Runs `f`, recording its wall time under `stage`.
pub fn stage<T>(stage: &'static str, f: impl FnOnce() -> T) -> T {
    if !enabled() {
        return f();
    }
    let start = Instant::now();
    let out = f();
    record(stage, start.elapsed());
    out
}

/// Records `elapsed` under `stage` (added to what the stage already has).
pub fn record(stage: &'static str, elapsed: Duration) {
    if !enabled() {
        return;
    }
    let rss = resident_bytes();
    let mut spans = SPANS.lock().unwrap_or_else(|e| e.into_inner());
    match spans.iter_mut().find(|(s, _, _)| *s == stage) {
        Some((_, d, r)) => {
            *d += elapsed;
            *r = rss;
        }
        None => spans.push((stage, elapsed, rss)),
    }
}

/// The process's resident memory now (Linux: `/proc/self/statm`), so each stage shows
/// how much memory the run holds when it ends: at 10,000 resources, fresh memory is
/// paid for in page clearing as much as in the work itself.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The recorded stages, one line each, in the order they first ran; `None` when off.
pub fn report() -> Option<String> {
    if !enabled() {
        return None;
    }
    let spans = SPANS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = String::from("timings:\n");
    for (stage, d, rss) in spans.iter() {
        let rss = rss.map_or(String::new(), |b| {
            format!("   rss {:>7.1} MB", b as f64 / 1048576.0)
        });
        out.push_str(&format!(
            "  {:<24} {:>9.1} ms{rss}\n",
            stage,
            d.as_secs_f64() * 1e3
        ));
    }
    Some(out)
}
