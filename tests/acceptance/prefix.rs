//! The prefix of one run: `acc-<start>-<random>`, where `<start>` is the minute the run started
//! (minutes since the Unix epoch, base 36) and `<random>` four base-36 characters. The start in
//! the name is what lets the sweeper date a leftover without relying on any resource's creation
//! date (things and policies have none in their listings). `acc-htpp2-7q2m` is 14 characters, so
//! every derived name stays within its AWS limit (the longest, the pre-sign-up role, at 50 of 64).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;

const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn base36(mut n: u64) -> String {
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII")
}

fn is_base36(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| DIGITS.contains(&b))
}

fn minutes_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / 60
}

/// A fresh prefix for a run starting at `now`.
pub fn new(now: SystemTime) -> String {
    let mut rng = rand::rng();
    let random: String = (0..4)
        .map(|_| DIGITS[rng.random_range(0..DIGITS.len())] as char)
        .collect();
    format!("acc-{}-{random}", base36(minutes_since_epoch(now)))
}

/// The start of the oldest run this suite recognises: 2025-01-01T00:00Z. With the five base-36
/// digits a start has until 2084, this keeps prefixes that merely look alike (`acc-devel-…`
/// would be 2012) out of the sweeper's reach.
const EARLIEST: u64 = 1_735_689_600 / 60;

/// The prefix of this suite's stack that `name` belongs to, if any: a name made from the prefix
/// (`acc-htpp2-7q2m-thing`), the topic rule's form with underscores (`acc_htpp2_7q2m_alerts`),
/// or the prefix itself (the value of an `iotstack:stack` tag).
pub fn owner(name: &str) -> Option<String> {
    let rest = name
        .strip_prefix("acc-")
        .or_else(|| name.strip_prefix("acc_"))?;
    let mut parts = rest.splitn(3, ['-', '_']);
    let start = parts.next()?;
    let random = parts.next()?;
    if start.len() != 5 || !is_base36(start) || random.len() != 4 || !is_base36(random) {
        return None;
    }
    let minutes = u64::from_str_radix(start, 36).ok()?;
    let latest = minutes_since_epoch(SystemTime::now()) + 24 * 60;
    (EARLIEST..=latest)
        .contains(&minutes)
        .then(|| format!("acc-{start}-{random}"))
}

/// When the run that made `prefix` started (to the minute).
pub fn started(prefix: &str) -> Option<SystemTime> {
    let start = owner(prefix)?;
    let digits = start.split('-').nth(1)?;
    let minutes = u64::from_str_radix(digits, 36).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(minutes * 60))
}

/// Checks, on every run of the target (AWS or not), that the sweeper recognises and dates every
/// name the lifecycle makes, and nothing else.
pub fn self_check() {
    let now = SystemTime::now();
    let p = new(now);
    for name in [
        p.clone(),
        format!("{p}-LambdaCognitoPresignupExecutionRole"),
        format!("{}_alerts", p.replace('-', "_")),
    ] {
        assert_eq!(owner(&name).as_deref(), Some(p.as_str()), "{name}");
    }
    let age = now
        .duration_since(started(&p).expect("dated"))
        .expect("not in the future");
    assert!(age < Duration::from_secs(60), "{p} is dated {age:?} ago");
    for other in [
        "acme-dev-thing",
        "acc-dev-thing",
        "acc-devel-abcd-thing",
        "acc-htpp2",
        "acc-HTPP2-7q2m",
        "accx-htpp2-7q2m",
    ] {
        assert_eq!(owner(other), None, "{other} is not a name of this suite");
    }
    assert!(p.len() <= 16, "{p} is longer than the names allow for");
    println!("prefix scheme self-check: ok ({p} is recognised and dated)");
}
