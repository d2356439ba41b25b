//! Client-side rate limits per AWS operation, so that a fleet's thousands of calls stay under
//! the rates AWS throttles at instead of provoking `ThrottlingException` and its backoff.
//!
//! Every SDK request passes through [`limited`], an HTTP client that waits for its operation's
//! next free slot before sending; [`OperationTag`] (an interceptor) names the operation on the
//! request. Each attempt counts, retries included, as AWS counts them. The slots of one
//! operation are evenly spaced (no burst) at [`HEADROOM`] of the published rate: a request
//! reaches AWS some milliseconds after its slot, by a varying delay, so calls spaced at exactly
//! the rate would arrive a little closer together now and then; a tenth spare keeps every
//! one-second window under the rate whatever the bucket AWS keeps (`scripts/bench --fleet`
//! checks this at the proxy). The wait happens inside the attempt, so it must stay
//! well under the attempt timeout (30 s): the walks bound how many calls wait at once (at most
//! `parallelism / rate` seconds, e.g. 64 calls at 10 per second: 6.4 s).
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

/// The next free slot of each operation.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    next: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Limits {
    /// The limits every client of this process shares (the quotas are per account and region).
    pub fn shared() -> Limits {
        static SHARED: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();
        SHARED.get_or_init(Limits::default).clone()
    }

    /// Takes the next slot of `operation` at `rate` per second: how long to wait from `now`.
    pub fn reserve(&self, operation: &str, rate: f64, now: Instant) -> Duration {
        let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
        let mut next = self.next.lock().expect("rate limits poisoned");
        let slot = match next.get(operation) {
            Some(&free) if free > now => free,
            _ => now,
        };
        next.insert(operation.to_string(), slot + interval);
        slot - now
    }

    /// Waits for the next slot of `operation` (at once for an operation without a limit).
    pub async fn acquire(&self, service: &str, operation: &str) {
        if let Some(rate) = rate(service, operation) {
            let wait = self.reserve(operation, rate * HEADROOM, Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
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

    // The slots are computed from the instants given, so the schedule is checked without a
    // clock (tokio's paused time needs its `test-util` feature, which would rebuild every SDK
    // crate for the tests); one test below waits for real.
    #[test]
    fn calls_of_one_operation_are_spaced_at_its_rate() {
        let limits = Limits::default();
        let t0 = Instant::now();
        let waits: Vec<u128> = (0..5)
            .map(|_| limits.reserve("ListThingPrincipals", 10.0, t0).as_millis())
            .collect();
        assert_eq!(waits, vec![0, 100, 200, 300, 400]);
    }

    #[test]
    fn callers_share_the_slots_and_operations_do_not() {
        let limits = Limits::default();
        let t0 = Instant::now();
        let mut starts: Vec<Duration> = (0..250)
            .map(|i| {
                let op = if i % 2 == 0 {
                    "CreateThing"
                } else {
                    "AddThingToThingGroup"
                };
                limits.reserve(op, rate("iot", op).unwrap(), t0)
            })
            .collect();
        starts.sort();
        // 125 calls of each operation at 100 per second: the last starts 1.24 s in, both
        // operations side by side; no one-second window holds more than 100 of either.
        assert_eq!(starts.first(), Some(&Duration::ZERO));
        assert_eq!(starts.last().map(|d| d.as_millis()), Some(1240));
        let in_first_second = starts.iter().filter(|d| d.as_millis() < 1000).count();
        assert_eq!(in_first_second, 2 * 100);
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

    #[test]
    fn a_late_caller_does_not_inherit_idle_slots() {
        let limits = Limits::default();
        let t0 = Instant::now();
        assert_eq!(limits.reserve("X", 10.0, t0), Duration::ZERO);
        assert_eq!(limits.reserve("X", 10.0, t0), Duration::from_millis(100));
        let later = t0 + Duration::from_secs(5);
        assert_eq!(limits.reserve("X", 10.0, later), Duration::ZERO);
        assert_eq!(limits.reserve("X", 10.0, later), Duration::from_millis(100));
    }
}
