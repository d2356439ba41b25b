//! Client-side rate limits per AWS operation, so that a fleet's thousands of calls stay under
//! the rates AWS throttles at instead of provoking `ThrottlingException` and its backoff.
//!
//! Every SDK request passes through [`limited`], an HTTP client that waits for its operation's
//! turn before sending; [`OperationTag`] (an interceptor) names the operation on the request.
//! Each attempt counts, retries included, as AWS counts them. The calls of one operation pass
//! its gate one at a time, in the order they came, each at least `1 / (HEADROOM x rate)` after
//! the previous one really left (no burst): a wake-up made late by a busy machine pushes the
//! calls behind it back, never the next one closer. A request then reaches AWS some
//! milliseconds after it left, by a varying delay, so calls spaced at exactly the rate would
//! arrive a little closer together now and then; with a tenth spare, `r + 1` calls span at
//! least `r / (0.9 r)` = 1.11 s when they leave, so no one-second window at AWS holds more than
//! `r` of them as long as that delay varies by less than a ninth of a second, whatever the
//! bucket AWS keeps (`scripts/bench --fleet` checks this at the proxy). The wait happens inside
//! the attempt, so it must stay well under the attempt timeout (30 s): the walks bound how many
//! calls wait at once (at most `parallelism / rate` seconds, e.g. 64 calls at 10 per second:
//! 6.4 s). The walks share their slots among the stack's kinds of resource
//! (`graph::walk`'s lanes), so the calls waiting for one operation's turns never hold every
//! slot: the other kinds' calls, of other operations, go at their own rates beside them.
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

use std::collections::HashMap;
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

/// When the next call of one operation may leave, given when the last one left (`None`: none
/// yet), `interval` apart, at `now`: a late caller does not inherit idle slots, nor does a call
/// follow one that left late any closer than `interval`.
pub fn due(last: Option<Instant>, interval: Duration, now: Instant) -> Instant {
    last.map_or(now, |l| (l + interval).max(now))
}

/// Each operation's gate: its callers pass one at a time, in the order they came (a fair
/// mutex), each at least an interval after the previous one left.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    gates: Arc<Mutex<HashMap<String, Gate>>>,
}

/// When the last call of an operation left.
type Gate = Arc<tokio::sync::Mutex<Option<Instant>>>;

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

    /// Waits for the turn of a call of `operation` at `rate` per second, and takes it: the call
    /// leaves when this returns.
    pub async fn pass(&self, operation: &str, rate: f64) {
        let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
        let gate = self.gate(operation);
        let mut last = gate.lock().await;
        let at = due(*last, interval, Instant::now());
        tokio::time::sleep_until(at).await;
        // The instant it really leaves: a wake-up later than `at` (a busy machine) pushes the
        // calls behind it back instead of bringing the next one closer.
        *last = Some(Instant::now());
    }

    /// Waits for the next turn of `operation` (at once for an operation without a limit).
    pub async fn acquire(&self, service: &str, operation: &str) {
        if let Some(rate) = rate(service, operation) {
            self.pass(operation, rate * HEADROOM).await;
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
    /// Calls that each leave at their due time: spaced at the rate, from the first.
    fn schedule(calls: usize, interval: Duration, t0: Instant) -> Vec<Duration> {
        let mut last = None;
        (0..calls)
            .map(|_| {
                let at = due(last, interval, t0);
                last = Some(at);
                at - t0
            })
            .collect()
    }

    #[test]
    fn calls_of_one_operation_are_spaced_at_its_rate() {
        let ms: Vec<u128> = schedule(5, Duration::from_millis(100), Instant::now())
            .iter()
            .map(Duration::as_millis)
            .collect();
        assert_eq!(ms, vec![0, 100, 200, 300, 400]);
    }

    #[test]
    fn a_call_that_left_late_pushes_the_next_back() {
        let (t0, interval) = (Instant::now(), Duration::from_millis(100));
        // Due at t0, it left 70 ms late (a busy machine): the next leaves 100 ms after it.
        let late = t0 + Duration::from_millis(70);
        assert_eq!(due(Some(late), interval, t0 + interval), late + interval);
    }

    #[test]
    fn a_late_caller_does_not_inherit_idle_slots() {
        let t0 = Instant::now();
        let interval = Duration::from_millis(100);
        assert_eq!(due(None, interval, t0), t0);
        assert_eq!(due(Some(t0), interval, t0), t0 + interval);
        let later = t0 + Duration::from_secs(5);
        assert_eq!(due(Some(t0 + interval), interval, later), later);
    }

    #[tokio::test]
    async fn callers_share_the_turns_and_operations_do_not() {
        let limits = Limits::default();
        let start = Instant::now();
        // 4 calls of each of two operations at 20 per second, all at once: each operation's
        // fourth leaves 150 ms in, both operations side by side (not 350 ms, one after another).
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
            for pair in at.windows(2) {
                assert!(
                    pair[1] - pair[0] >= Duration::from_millis(50),
                    "{op}: {at:?}"
                );
            }
        }
        // B's first call did not wait for A's calls: the operations' turns interleave.
        let first_b = left.iter().filter(|l| l.0 == "B").map(|l| l.1).min();
        let last_a = left.iter().filter(|l| l.0 == "A").map(|l| l.1).max();
        assert!(first_b < last_a, "{left:?}");
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
        // Four calls at 10 per second: the fourth waits at least 0.3 s.
        assert!(start.elapsed() >= Duration::from_millis(300));
    }
}
