//! Kubernetes resource quantities (the unit Score uses) in Docker Compose's units.
//!
//! Score writes CPU as `250m` or `0.5` and memory as `128Mi` or `1G`; Compose wants
//! `cpus` as a decimal number of CPUs and `memory` as a byte size whose `k`/`m`/`g`
//! suffixes are binary. Quantities we cannot read are passed through unchanged, so Compose
//! reports them rather than baton silently dropping a limit.

/// A CPU quantity as Compose `cpus`: `250m` → `0.25`, `2` → `2`.
pub(crate) fn cpus(q: &str) -> String {
    let q = q.trim();
    if let Some(milli) = q.strip_suffix('m').and_then(|m| m.parse::<u64>().ok()) {
        let (whole, frac) = (milli / 1000, milli % 1000);
        return if frac == 0 {
            whole.to_string()
        } else {
            format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
        };
    }
    q.to_string()
}

/// A memory quantity as a Compose byte size: `128Mi` → `128m`, `1G` → `1000000000`.
pub(crate) fn memory(q: &str) -> String {
    let q = q.trim();
    const BINARY: [(&str, &str); 4] = [("Ki", "k"), ("Mi", "m"), ("Gi", "g"), ("Ti", "t")];
    for (k8s, docker) in BINARY {
        if let Some(n) = q.strip_suffix(k8s).filter(|n| is_digits(n)) {
            return format!("{n}{docker}");
        }
    }
    const DECIMAL: [(&str, u32); 5] = [("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15)];
    for (suffix, exp) in DECIMAL {
        if let Some(n) = q.strip_suffix(suffix).filter(|n| is_digits(n))
            && let Some(bytes) = n
                .parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(10u64.pow(exp)))
        {
            return bytes.to_string();
        }
    }
    q.to_string()
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_quantities() {
        assert_eq!(cpus("250m"), "0.25");
        assert_eq!(cpus("1500m"), "1.5");
        assert_eq!(cpus("2000m"), "2");
        assert_eq!(cpus("0.5"), "0.5");
        assert_eq!(cpus("1"), "1");
        assert_eq!(memory("128Mi"), "128m");
        assert_eq!(memory("1Gi"), "1g");
        assert_eq!(memory("1G"), "1000000000");
        assert_eq!(memory("512"), "512");
        assert_eq!(memory("1.5Gi"), "1.5Gi");
    }
}
