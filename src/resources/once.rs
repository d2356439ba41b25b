//! Creates that AWS does not make idempotent (CreateUserPool, CreateIdentityPool,
//! CreateUserPoolClient, CreateCertificateFromCsr): each call makes a new resource, so a request
//! whose answer was lost (a 5xx, a timeout, a connection dropped after the request reached AWS)
//! may have made one already. The SDK would retry it blindly and make a second; here the SDK does
//! not retry these operations (a per-operation retry override), and before sending again we look
//! for the resource by its name and the stack's mark (the kind's own read), and take it when it
//! is there.

use std::future::Future;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_iot::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response;

use super::{Created, KindSpec, Observed, ResourceError};

/// How many times a create is sent in all, and the first pause between two (doubled each time).
const ATTEMPTS: u32 = 5;
const PAUSE: Duration = Duration::from_millis(300);

/// The per-operation override that stops the SDK from retrying a create on its own.
pub fn no_retry() -> RetryConfig {
    RetryConfig::disabled()
}

/// Sends `$req` (a request builder of the SDK crate `$sdk`) once, with the SDK's own retries
/// turned off by [`no_retry`]: the `send` that [`create`] takes.
macro_rules! send_unretried {
    ($sdk:ident, $req:expr) => {{
        let over =
            $sdk::config::Builder::default().retry_config($crate::resources::once::no_retry());
        $req.clone().customize().config_override(over).send()
    }};
}
pub(crate) use send_unretried;

/// Codes with which AWS says the request was not carried out because of load: safe to send again
/// (looking first costs nothing).
const TRANSIENT: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
    "InternalFailure",
    "InternalError",
    "InternalErrorException",
    "InternalServerError",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Whether the request may have been carried out with its answer lost, or was refused for load:
/// either way, look and send again.
pub fn answer_lost<E>(e: &SdkError<E, Response>) -> bool
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(s) => {
            s.err().code().is_some_and(|c| TRANSIENT.contains(&c))
                || e.raw_response().is_some_and(|r| r.status().as_u16() >= 500)
        }
        _ => false,
    }
}

/// What [`create`] got: the create's answer, or the resource an earlier attempt made, as the
/// kind's read found it.
#[derive(Debug)]
pub enum Made<T> {
    Answered(T),
    Found(Observed),
}

impl<T> Made<T> {
    /// What the create tells of the resource: from the answer by `attrs`, or the attributes
    /// the read found (those `spec` lists).
    pub fn created(self, spec: &KindSpec, attrs: impl FnOnce(T) -> Created) -> Created {
        match self {
            Made::Answered(answer) => attrs(answer),
            Made::Found(o) => o.created(spec),
        }
    }
}

/// Sends a non-idempotent create (`send`, built with [`no_retry`]) until it succeeds; after an
/// answer that may have been lost, `find` (the kind's read) looks for the resource first. Returns
/// the answer, or what was found made by an earlier attempt.
pub async fn create<T, E, S, SF, F, FF>(
    operation: &'static str,
    find: F,
    send: S,
) -> Result<Made<T>, ResourceError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    S: Fn() -> SF,
    SF: Future<Output = Result<T, SdkError<E, Response>>>,
    F: Fn() -> FF,
    FF: Future<Output = Result<Option<Observed>, ResourceError>>,
{
    let mut pause = PAUSE;
    for attempt in 1..=ATTEMPTS {
        if attempt > 1 {
            if let Some(found) = find().await? {
                return Ok(Made::Found(found));
            }
        }
        match send().await {
            Ok(out) => return Ok(Made::Answered(out)),
            Err(e) if attempt < ATTEMPTS && answer_lost(&e) => {
                tokio::time::sleep(pause + jitter(pause)).await;
                pause *= 2;
            }
            Err(e) => return Err(crate::aws::aws_err(operation, e).into()),
        }
    }
    unreachable!("the last attempt returns")
}

fn jitter(d: Duration) -> Duration {
    d.mul_f64(rand::random::<f64>() / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_sdk_iot::operation::create_thing::CreateThingError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn service_error(code: &str, status: u16) -> SdkError<CreateThingError, Response> {
        let meta = ErrorMetadata::builder().code(code).build();
        SdkError::service_error(
            CreateThingError::generic(meta),
            Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
        )
    }

    #[test]
    fn lost_answers_and_load_are_told_from_refusals() {
        assert!(answer_lost(&service_error("InternalFailure", 500)));
        assert!(answer_lost(&service_error("Throttling", 400)));
        assert!(answer_lost(&service_error("Whatever", 503)));
        assert!(!answer_lost(&service_error("InvalidRequestException", 400)));
        assert!(!answer_lost(&service_error("LimitExceededException", 400)));
    }

    #[test]
    fn what_was_found_made_tells_the_attributes_its_read_found() {
        let spec = &crate::resources::cognito_user_pool_client::SPEC;
        let found = Observed::new(
            serde_json::json!({}),
            serde_json::json!({"id": "c1", "name": "n", "user_pool_id": "pool"}),
        );
        let made = Made::<()>::Found(found).created(spec, |_| unreachable!());
        assert_eq!(
            made,
            Created::from([("id".into(), "c1".into()), ("name".into(), "n".into())])
        );
        let answered =
            Made::Answered("c2").created(spec, |id| crate::resources::created([("id", id)]));
        assert_eq!(answered["id"], "c2");
    }

    #[tokio::test]
    async fn a_lost_answer_is_looked_for_before_sending_again() {
        let sent = AtomicUsize::new(0);
        let looked = AtomicUsize::new(0);
        let made = AtomicUsize::new(0);
        let r = create(
            "CreateThing",
            || async {
                looked.fetch_add(1, Ordering::SeqCst);
                Ok((made.load(Ordering::SeqCst) > 0).then(Observed::default))
            },
            || async {
                sent.fetch_add(1, Ordering::SeqCst);
                made.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(service_error("InternalFailure", 500))
            },
        )
        .await;
        assert!(matches!(r, Ok(Made::Found(_))), "taken, not made again");
        assert_eq!(sent.load(Ordering::SeqCst), 1);
        assert_eq!(looked.load(Ordering::SeqCst), 1);

        // Not found: sent again; a refusal is the error.
        let sent = AtomicUsize::new(0);
        let r = create(
            "CreateThing",
            || async { Ok(None) },
            || async {
                let n = sent.fetch_add(1, Ordering::SeqCst);
                Err::<(), _>(if n == 0 {
                    service_error("Throttling", 400)
                } else {
                    service_error("InvalidRequestException", 400)
                })
            },
        )
        .await;
        assert_eq!(sent.load(Ordering::SeqCst), 2);
        let Err(ResourceError::Aws(e)) = r else {
            panic!("the refusal is the error")
        };
        assert_eq!(e.code.as_deref(), Some("InvalidRequestException"));
    }
}
