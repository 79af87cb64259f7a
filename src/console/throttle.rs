//! Slows down guessing at the sign-in form: after [`FREE_FAILURES`] failed sign-ins from a
//! client address, each further try must wait, twice as long after every failure (1 s, 2 s,
//! 4 s … up to [`MAX_WAIT`]); a success forgets the address. Memory is bounded: at most
//! [`MAX_ADDRESSES`] addresses are tracked, and when full the quietest entries make room (and,
//! should every slot be hot, new addresses share one slot, so flooding from many addresses
//! slows them all rather than growing memory).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sign-ins from one address that cost nothing.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between tries.
pub const MAX_WAIT: Duration = Duration::from_secs(60);
/// Addresses tracked at once.
pub const MAX_ADDRESSES: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    until: Instant,
}

/// Failed sign-ins per client address.
#[derive(Debug, Default)]
pub struct Throttle {
    entries: Mutex<HashMap<Option<IpAddr>, Entry>>,
}

impl Throttle {
    /// How long `addr` must still wait before trying again, if at all.
    pub fn wait(&self, addr: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = if entries.contains_key(&addr) || entries.len() < MAX_ADDRESSES {
            addr
        } else {
            None
        };
        entries
            .get(&key)
            .and_then(|e| e.until.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Records a failed sign-in from `addr`.
    pub fn failed(&self, addr: Option<IpAddr>, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if !entries.contains_key(&addr) && entries.len() >= MAX_ADDRESSES {
            // Forget the addresses whose wait is over and that are below the free failures
            // (never the overflow slot, which counts for every address that found no room).
            entries.retain(|k, e| k.is_none() || e.until > now || e.failures >= FREE_FAILURES);
        }
        let key = if entries.contains_key(&addr) || entries.len() < MAX_ADDRESSES {
            addr
        } else {
            None
        };
        let entry = entries.entry(key).or_insert(Entry {
            failures: 0,
            until: now,
        });
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures >= FREE_FAILURES {
            let doublings = (entry.failures - FREE_FAILURES).min(16);
            let wait = Duration::from_secs(1u64 << doublings).min(MAX_WAIT);
            entry.until = now + wait;
        }
    }

    /// A successful sign-in from `addr`: its failures are forgotten.
    pub fn succeeded(&self, addr: Option<IpAddr>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(&addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> Option<IpAddr> {
        Some(IpAddr::from(std::net::Ipv4Addr::from(n)))
    }

    #[test]
    fn the_sixth_failure_makes_the_address_wait_and_the_wait_doubles() {
        let t = Throttle::default();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES - 1 {
            t.failed(ip(1), now);
            assert_eq!(t.wait(ip(1), now), None);
        }
        t.failed(ip(1), now);
        assert_eq!(t.wait(ip(1), now), Some(Duration::from_secs(1)));
        t.failed(ip(1), now);
        assert_eq!(t.wait(ip(1), now), Some(Duration::from_secs(2)));
        assert_eq!(t.wait(ip(2), now), None, "another address is not slowed");
        assert_eq!(t.wait(ip(1), now + Duration::from_secs(2)), None);
        for _ in 0..40 {
            t.failed(ip(1), now);
        }
        assert_eq!(t.wait(ip(1), now), Some(MAX_WAIT));
        t.succeeded(ip(1));
        assert_eq!(t.wait(ip(1), now), None);
    }

    #[test]
    fn memory_stays_bounded_when_many_addresses_fail() {
        let t = Throttle::default();
        let now = Instant::now();
        for n in 0..(MAX_ADDRESSES as u32 * 2) {
            for _ in 0..FREE_FAILURES {
                t.failed(ip(n), now);
            }
        }
        let len = t.entries.lock().unwrap().len();
        assert!(
            len <= MAX_ADDRESSES + 1,
            "{len} entries (the overflow slot is the one more)"
        );
        assert!(
            t.wait(ip(MAX_ADDRESSES as u32 * 3), now).is_some(),
            "a new address shares the overflow slot, which is hot"
        );
    }
}
