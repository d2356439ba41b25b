//! Client-side rate limits per AWS operation, so that a fleet's thousands of calls stay under
//! the rates AWS throttles at instead of provoking `ThrottlingException` and its backoff.
//!
//! Every SDK request passes through [`limited`], an HTTP client that waits for its operation's
//! turn before sending; [`OperationTag`] (an interceptor) names the operation on the request.
//! Each attempt counts, retries included, as AWS counts them. The calls of one operation pass
//! its gate one at a time, in the order they came ([`due`]): no more than `r` (the published
//! rate) leave in any `1 / HEADROOM` = 1.11 s, and no more than [`BURST`] together, so a stack's
//! few calls of one operation go at once while a fleet's go at 90% of the rate. The instants
//! counted are those at which calls really left: a wake-up made late by a busy machine pushes
//! the calls behind it back, never the next ones closer. A request then reaches AWS some
//! milliseconds after it left, by a varying delay; since any `r + 1` calls span at least 1.11 s
//! when they leave, no one-second window at AWS holds more than `r` of them as long as that
//! delay varies by less than a ninth of a second (`scripts/bench --fleet` checks this at the
//! proxy). The wait happens inside the attempt, so it must stay well under the attempt timeout
//! (30 s): the walks bound how many calls wait at once (at most `parallelism / rate` seconds,
//! e.g. 64 calls at 10 per second: 6.4 s). The walks share their slots among the stack's kinds
//! of resource (`graph::walk`'s lanes), so the calls waiting for one operation's turns never
//! hold every slot: the other kinds' calls, of other operations, go at their own rates beside
//! them.
//!
//! The rates are AWS IoT Core's default control-plane quotas, per account and region: "AWS IoT
//! Core endpoints and quotas" (AWS General Reference,
//! <https://docs.aws.amazon.com/general/latest/gr/iot-core.html>, "AWS IoT Core API throttling
//! limits"), as Service Quotas lists them for the service code `iotcore` (quota code, default
//! transactions per second):
//!
//! | operation                 | quota code | TPS |
//! |---------------------------|------------|-----|
//! | CreateThing               | L-64CBACAC | 100 |
//! | DescribeThing             | L-0EF0F5EE | 350 |
//! | UpdateThing               | L-211F680E | 100 |
//! | DeleteThing               | L-889800F7 | 100 |
//! | AttachThingPrincipal      | L-F64D1AA6 | 100 |
//! | DetachThingPrincipal      | L-B5EE4A16 | 100 |
//! | ListThingPrincipals       | L-FC3EF4D9 |  10 |
//! | ListPrincipalThings       | L-C481616A |  10 |
//! | ListThings                | L-57AAC135 |  10 |
//! | CreateThingGroup          | L-512F449C |  25 |
//! | DescribeThingGroup        | L-52E1E197 | 100 |
//! | UpdateThingGroup          | L-5D84F9FE |  15 |
//! | DeleteThingGroup          | L-FCAB1AF4 |  15 |
//! | ListThingGroups           | L-1E5260D6 |  10 |
//! | AddThingToThingGroup      | L-2904683A | 100 |
//! | RemoveThingFromThingGroup | L-2A81A394 | 100 |
//! | ListThingGroupsForThing   | L-75F129AD | 100 |
//! | ListThingsInThingGroup    | L-D33FD5F9 |  25 |
//! | TagResource               | L-06E76376 |  10 |
//! | UntagResource             | L-8996ACA8 |  10 |
//! | ListTagsForResource       | L-D127B7BE |  10 |
//!
//! The certificate and policy operations have quotas too (CreateCertificateFromCsr L-01BCDDCA,
//! AttachPolicy L-CA7D4E3E, …) whose default values the references at hand do not give; they are
//! held at 10 per second, the lowest default of the IoT API rates above, which is also the rate
//! at which DescribeCertificate is known to throttle. Operations of other services are not
//! limited here (the SDK's retries handle their rare throttling).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, Metadata};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use tokio::time::Instant;

/// Requests per second for the operations limited (see the table above).
pub fn rate(service: &str, operation: &str) -> Option<f64> {
    if !service.eq_ignore_ascii_case("iot") {
        return None;
    }
    Some(match operation {
        "DescribeThing" => 350.0,
        "CreateThing"
        | "UpdateThing"
        | "DeleteThing"
        | "AttachThingPrincipal"
        | "DetachThingPrincipal"
        | "DescribeThingGroup"
        | "AddThingToThingGroup"
        | "RemoveThingFromThingGroup"
        | "ListThingGroupsForThing" => 100.0,
        "CreateThingGroup" | "ListThingsInThingGroup" => 25.0,
        "UpdateThingGroup" | "DeleteThingGroup" => 15.0,
        _ => 10.0,
    })
}

/// The share of the published rate that is used (see the module's notes).
pub const HEADROOM: f64 = 0.9;

/// How many calls of one operation may leave together: a stack's few reads or deletes of one
/// operation (three IoT policies' tags, two policies' deletes) go at once instead of a turn
/// apart, while a fleet's thousands still leave at the rate. It is no more than the burst of any
/// bucket that grants the rate at all, and fewer than the rate of every operation paced.
pub const BURST: usize = 3;

/// When the next call of one operation may leave, given when its last calls left (`left`, the
/// oldest first), at `rate` per second, at `now`: no more than `rate` calls in any
/// `1 / HEADROOM` seconds (the quota, with its spare: see the module's notes), and no more than
/// [`BURST`] in any `BURST / (HEADROOM x rate)` seconds. A late caller does not inherit idle
/// turns beyond that, nor does a call follow ones that left late any closer.
pub fn due(left: &VecDeque<Instant>, rate: f64, now: Instant) -> Instant {
    let per_window = (rate.floor() as usize).max(1);
    let window = Duration::from_secs_f64(1.0 / HEADROOM);
    let burst = BURST.min(per_window);
    let burst_window = Duration::from_secs_f64(burst as f64 / (HEADROOM * rate.max(0.001)));
    let nth_last = |n: usize| left.len().checked_sub(n).map(|i| left[i]);
    let by_quota = nth_last(per_window).map(|t| t + window);
    let by_burst = nth_last(burst).map(|t| t + burst_window);
    [Some(now), by_quota, by_burst]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now)
}

/// Each operation's gate: its callers pass one at a time, in the order they came (a fair
/// mutex), each when [`due`] says.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    gates: Arc<Mutex<HashMap<String, Gate>>>,
}

/// When the last calls of an operation left, the oldest first (as many as [`due`] looks at).
type Gate = Arc<tokio::sync::Mutex<VecDeque<Instant>>>;

impl Limits {
    /// The limits every client of this process shares (the quotas are per account and region).
    pub fn shared() -> Limits {
        static SHARED: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();
        SHARED.get_or_init(Limits::default).clone()
    }

    fn gate(&self, operation: &str) -> Gate {
        let mut gates = self.gates.lock().expect("rate limits poisoned");
        gates.entry(operation.to_string()).or_default().clone()
    }

    /// Waits for the turn of a call of `operation` at `rate` per second (the published quota),
    /// and takes it: the call leaves when this returns.
    pub async fn pass(&self, operation: &str, rate: f64) {
        let gate = self.gate(operation);
        let mut left = gate.lock().await;
        let at = due(&left, rate, Instant::now());
        // A turn already due is taken at once: a sleep until now still waits for the timer's
        // next tick, which a runtime busy with a wave of calls turns late (milliseconds that
        // put a stack's IoT calls behind every other service's).
        if at > Instant::now() {
            tokio::time::sleep_until(at).await;
        }
        // The instant it really leaves: a wake-up later than `at` (a busy machine) pushes the
        // calls behind it back instead of bringing the next ones closer.
        left.push_back(Instant::now());
        let keep = (rate.floor() as usize).max(BURST).max(1);
        while left.len() > keep {
            left.pop_front();
        }
    }

    /// Waits for the next turn of `operation` (at once for an operation without a limit).
    pub async fn acquire(&self, service: &str, operation: &str) {
        if let Some(rate) = rate(service, operation) {
            self.pass(operation, rate).await;
        }
    }
}

/// The operation a request belongs to, carried from [`OperationTag`] to the connector.
#[derive(Debug, Clone)]
struct Operation {
    service: String,
    name: String,
}

/// Names each request's operation on the request, for [`limited`].
#[derive(Debug, Clone, Default)]
pub struct OperationTag;

impl Intercept for OperationTag {
    fn name(&self) -> &'static str {
        "iotstack-operation-tag"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            context.request_mut().add_extension(Operation {
                service: m.service().to_string(),
                name: m.name().to_string(),
            });
        }
        Ok(())
    }
}

/// `inner`, each request of which first waits for its operation's slot in `limits`.
pub fn limited(inner: SharedHttpClient, limits: Limits) -> SharedHttpClient {
    SharedHttpClient::new(Limited { inner, limits })
}

#[derive(Debug)]
struct Limited {
    inner: SharedHttpClient,
    limits: Limits,
}

impl HttpClient for Limited {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            limits: self.limits.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    limits: Limits,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = request.extension::<Operation>().cloned();
        let (inner, limits) = (self.inner.clone(), self.limits.clone());
        HttpConnectorFuture::new(async move {
            if let Some(op) = op {
                limits.acquire(&op.service, &op.name).await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quotas_of_a_fleet() {
        assert_eq!(rate("iot", "CreateThing"), Some(100.0));
        assert_eq!(rate("IoT", "DescribeThing"), Some(350.0));
        assert_eq!(rate("iot", "ListThingPrincipals"), Some(10.0));
        assert_eq!(rate("iot", "CreateCertificateFromCsr"), Some(10.0));
        assert_eq!(rate("iot", "CreateThingGroup"), Some(25.0));
        assert_eq!(rate("iam", "CreateRole"), None);
    }

    // The schedule is computed from the instants given, so it is checked without a clock
    // (tokio's paused time needs its `test-util` feature, which would rebuild every SDK crate for
    // the tests); the tests below that wait, wait for real.
    /// When `calls` calls made at once at `rate` leave, each at its due time, from `t0`.
    fn schedule(calls: usize, rate: f64, t0: Instant) -> Vec<Instant> {
        let mut left = VecDeque::new();
        (0..calls)
            .map(|_| {
                let at = due(&left, rate, t0);
                left.push_back(at);
                at
            })
            .collect()
    }

    #[test]
    fn a_few_calls_go_together_and_many_at_the_rate_never_more_in_a_second() {
        let t0 = Instant::now();
        let at = schedule(200, 10.0, t0);
        // A stack's few calls of one operation leave at once.
        assert!(at[..BURST].iter().all(|t| *t == t0), "{at:?}");
        assert!(at[BURST] > t0);
        // Any 11 consecutive calls span 1/0.9 s: no one-second window holds more than 10, even
        // with each arrival up to a ninth of a second late.
        for w in at.windows(11) {
            assert!(w[10] - w[0] >= Duration::from_millis(1111), "{w:?}");
        }
        // And a fleet's calls go at 9 a second: 200 calls in about 22 s, not more.
        let span = at[199] - t0;
        let (low, high) = (Duration::from_secs(21), Duration::from_secs(23));
        assert!(span >= low && span <= high, "{span:?}");
    }

    #[test]
    fn calls_that_left_late_push_the_next_back() {
        let t0 = Instant::now();
        // Due at t0, three left 70 ms late (a busy machine): the next leaves a burst's time
        // after them.
        let late = t0 + Duration::from_millis(70);
        let left = VecDeque::from(vec![late; BURST]);
        let burst_window = Duration::from_secs_f64(BURST as f64 / (HEADROOM * 10.0));
        assert_eq!(due(&left, 10.0, t0), late + burst_window);
    }

    #[test]
    fn a_late_caller_does_not_inherit_idle_turns() {
        let t0 = Instant::now();
        assert_eq!(due(&VecDeque::new(), 10.0, t0), t0);
        let later = t0 + Duration::from_secs(5);
        assert_eq!(due(&VecDeque::from(vec![t0; 10]), 10.0, later), later);
    }

    #[tokio::test]
    async fn callers_share_the_turns_and_operations_do_not() {
        let limits = Limits::default();
        let start = Instant::now();
        // 4 calls of each of two operations at 20 per second, all at once: each operation's
        // first three leave together, its fourth a burst's time (3 / 18 s) later, both
        // operations side by side (not one after another).
        let calls = (0..8).map(|i| {
            let op = if i % 2 == 0 { "A" } else { "B" };
            let limits = limits.clone();
            async move {
                limits.pass(op, 20.0).await;
                (op, start.elapsed())
            }
        });
        let left = futures::future::join_all(calls).await;
        for op in ["A", "B"] {
            let mut at: Vec<Duration> = left.iter().filter(|l| l.0 == op).map(|l| l.1).collect();
            at.sort();
            assert!(at[3] - at[0] >= Duration::from_millis(160), "{op}: {at:?}");
            assert!(at[2] - at[0] < Duration::from_millis(100), "{op}: {at:?}");
        }
        // B's first call did not wait for A's calls: the operations' turns interleave.
        let first_b = left.iter().filter(|l| l.0 == "B").map(|l| l.1).min();
        let last_a = left.iter().filter(|l| l.0 == "A").map(|l| l.1).max();
        assert!(first_b < last_a, "{left:?}");
    }

    #[tokio::test]
    async fn a_turn_already_due_is_taken_without_waiting_for_the_timer() {
        use futures::FutureExt;
        let limits = Limits::default();
        // The first three calls of an operation are due at once: each passes in one poll,
        // without a sleep that only the timer's next tick would end.
        for _ in 0..3 {
            let passed = limits.pass("DetachPolicy", 10.0).now_or_never();
            assert!(passed.is_some(), "a due turn waited for the timer");
        }
        // The fourth is not due yet: it waits.
        assert!(limits.pass("DetachPolicy", 10.0).now_or_never().is_none());
    }

    #[tokio::test]
    async fn acquire_waits_for_the_slot_and_unlimited_operations_do_not() {
        let limits = Limits::default();
        let start = Instant::now();
        limits.acquire("sts", "GetCallerIdentity").await;
        limits.acquire("sts", "GetCallerIdentity").await;
        assert!(start.elapsed() < Duration::from_millis(50));
        for _ in 0..4 {
            limits.acquire("iot", "ListThingPrincipals").await;
        }
        // Four calls at 10 per second: the fourth waits a burst's time, a third of a second.
        assert!(start.elapsed() >= Duration::from_millis(300));
    }
}
