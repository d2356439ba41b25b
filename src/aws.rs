//! AWS clients built from one shared configuration, and error classification helpers.

use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iot::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use aws_smithy_http_client::tls;

use crate::error::AwsError;

pub mod rate;

/// Where and as whom to talk to AWS (global flags and the standard `AWS_*` variables).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Retries: the SDK's standard mode on throttling, 5xx and transient network errors, with
/// exponential backoff and jitter; set here on purpose so `AWS_MAX_ATTEMPTS` cannot turn it off.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(6)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(8))
}

pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(120))
        .build()
}

#[derive(Clone, Debug)]
pub struct Clients {
    pub config: SdkConfig,
    pub iot: aws_sdk_iot::Client,
    pub iam: aws_sdk_iam::Client,
    pub sns: aws_sdk_sns::Client,
    pub sts: aws_sdk_sts::Client,
    pub cognito_idp: aws_sdk_cognitoidentityprovider::Client,
    pub cognito_identity: aws_sdk_cognitoidentity::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub lambda: aws_sdk_lambda::Client,
    /// Who runs iotstack (STS GetCallerIdentity), asked once: the account id, the lock's holder
    /// and the `caller_identity` data source share the one answer instead of each asking it on
    /// the way to their first write.
    caller: Arc<tokio::sync::OnceCell<GetCallerIdentityOutput>>,
}

impl Clients {
    pub fn from_config(config: SdkConfig) -> Self {
        Self::with_log(config, CallLog::default())
    }

    /// Clients whose every operation goes through `log` (counted, and named on stderr with
    /// `--verbose`) and waits for its slot under AWS's rate for it ([`rate`]).
    pub fn with_log(config: SdkConfig, log: CallLog) -> Self {
        let http = config
            .http_client()
            .map(|inner| rate::limited(inner, rate::Limits::shared()));
        macro_rules! client {
            ($krate:ident) => {{
                let mut builder = $krate::config::Builder::from(&config)
                    .interceptor(log.clone())
                    .interceptor(rate::OperationTag);
                if let Some(http) = &http {
                    builder = builder.http_client(http.clone());
                }
                $krate::Client::from_conf(builder.build())
            }};
        }
        Clients {
            iot: client!(aws_sdk_iot),
            iam: client!(aws_sdk_iam),
            sns: client!(aws_sdk_sns),
            sts: client!(aws_sdk_sts),
            cognito_idp: client!(aws_sdk_cognitoidentityprovider),
            cognito_identity: client!(aws_sdk_cognitoidentity),
            secrets: client!(aws_sdk_secretsmanager),
            lambda: client!(aws_sdk_lambda),
            config,
            caller: Default::default(),
        }
    }

    /// STS GetCallerIdentity's answer, asked the first time only: the principal does not
    /// change within one run.
    pub async fn caller_identity(&self) -> Result<GetCallerIdentityOutput, AwsError> {
        let ask = || async {
            let call = self.sts.get_caller_identity();
            call.send().await.op("GetCallerIdentity")
        };
        self.caller.get_or_try_init(ask).await.cloned()
    }
}

/// Counts AWS operations and, when verbose, names each one on stderr as it starts.
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    pub verbose: bool,
    count: Arc<std::sync::atomic::AtomicUsize>,
}

impl CallLog {
    pub fn new(verbose: bool) -> Self {
        CallLog {
            verbose,
            count: Default::default(),
        }
    }
    /// AWS operations started so far (retries of one operation count once).
    pub fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for CallLog {
    fn name(&self) -> &'static str {
        "iotstack-call-log"
    }

    // Not `read_before_execution`: client interceptors run that before the operation's own
    // configuration (which names it) is in the bag. This runs once per operation, retries aside.
    fn read_before_serialization(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.verbose {
            if let Some(m) = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>() {
                eprintln!("aws: {} {}", m.service(), m.name());
            }
        }
        Ok(())
    }
}

/// The region, resolved as the AWS CLI resolves it: `--region`, then `AWS_REGION` /
/// `AWS_DEFAULT_REGION`, then the profile's `region` (`--profile`, else `AWS_PROFILE`, else
/// `default`), then `fallback` (the stack file's default), and only then the instance metadata
/// service the SDK's default chain would ask. The AWS CLI documents this order in "Configuration
/// and credential file settings" / "Environment variables to configure the AWS CLI"
/// (command line options take precedence over environment variables, which take precedence over
/// the config file).
pub async fn resolve_region(opts: &AwsOptions, fallback: Option<&str>) -> Option<String> {
    use aws_config::environment::region::EnvironmentVariableRegionProvider;
    use aws_config::meta::region::RegionProviderChain;
    use aws_config::profile::ProfileFileRegionProvider;
    if let Some(r) = &opts.region {
        return Some(r.clone());
    }
    let mut profile = ProfileFileRegionProvider::builder();
    if let Some(p) = &opts.profile {
        profile = profile.profile_name(p);
    }
    let configured = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(profile.build());
    if let Some(r) = configured.region().await {
        return Some(r.to_string());
    }
    if let Some(f) = fallback {
        return Some(f.to_string());
    }
    RegionProviderChain::default_provider()
        .region()
        .await
        .map(|r| r.to_string())
}

/// The shared configuration: credentials from the SDK's default chain (environment, profiles
/// with SSO and `credential_process`, web identity, containers, instance metadata) and the
/// region given, which [`resolve_region`] chose.
pub async fn load_config(opts: &AwsOptions, region: &str) -> SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .region(Region::new(region.to_string()));
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    loader.load().await
}

/// Turns an SDK error into [`AwsError`]: the operation, AWS's code and AWS's own message.
pub fn aws_err<E, R>(operation: &'static str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let code = err.code().map(str::to_string);
    let message = match (&err, err.message()) {
        (_, Some(m)) if !m.is_empty() => m.to_string(),
        (SdkError::TimeoutError(_), _) => "the request timed out".to_string(),
        (SdkError::DispatchFailure(_), _) => {
            let mut cause: &dyn std::error::Error = &err;
            while let Some(next) = cause.source() {
                cause = next;
            }
            format!("could not reach the AWS endpoint: {cause}")
        }
        _ => aws_smithy_types::error::display::DisplayErrorContext(&err).to_string(),
    };
    AwsError {
        operation,
        code,
        message,
    }
}

/// `.op("Name")?` on an SDK result.
pub trait OpExt<T> {
    fn op(self, operation: &'static str) -> Result<T, AwsError>;
}

impl<T, E, R> OpExt<T> for Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    fn op(self, operation: &'static str) -> Result<T, AwsError> {
        self.map_err(|e| aws_err(operation, e))
    }
}

/// The error codes with which AWS says that what was asked for is not there. Each kind names its
/// own ([`KindSpec::missing`](crate::resources::KindSpec)), and each call about something else
/// names that service's: a read turns them into `None`, a delete or a detach into done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing(pub &'static [&'static str]);

impl Missing {
    pub const IOT: Missing = Missing(&["ResourceNotFoundException"]);
    pub const IAM: Missing = Missing(&["NoSuchEntity"]);
    /// `NotFound` for topics and subscriptions, `ResourceNotFound` for their tags.
    pub const SNS: Missing = Missing(&["NotFound", "ResourceNotFound"]);
    /// Cognito user pools and identity pools alike.
    pub const COGNITO: Missing = Missing(&["ResourceNotFoundException"]);
    pub const SECRETS: Missing = Missing(&["ResourceNotFoundException"]);
    pub const LAMBDA: Missing = Missing(&["ResourceNotFoundException"]);

    pub fn is(self, e: &AwsError) -> bool {
        e.code.as_deref().is_some_and(|c| self.0.contains(&c))
    }

    /// A read: "not there" is `None`.
    pub fn found<T>(self, r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
        match r {
            Ok(v) => Ok(Some(v)),
            Err(e) if self.is(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A delete or a detach: "not there" is done.
    pub fn gone<T>(self, r: Result<T, AwsError>) -> Result<(), AwsError> {
        match r {
            Err(e) if self.is(&e) => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

/// Retries `op` while `retry` says its error will pass (IAM still propagating a new role, a
/// detach that has not reached the delete that follows it), at most `attempts` times in all,
/// `pause` apart; then gives up with the last error.
pub async fn retry_while<T, F, Fut>(
    retry: impl Fn(&AwsError) -> bool,
    attempts: usize,
    pause: Duration,
    mut op: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    let mut left = attempts.max(1);
    loop {
        match op().await {
            Err(e) if left > 1 && retry(&e) => {
                left -= 1;
                tokio::time::sleep(pause).await;
            }
            other => return other,
        }
    }
}

/// [`retry_while`] for as long as AWS answers one of `codes`.
pub async fn retry_on<T, F, Fut>(
    codes: &[&str],
    attempts: usize,
    pause: Duration,
    op: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    let retry = |e: &AwsError| e.code.as_deref().is_some_and(|c| codes.contains(&c));
    retry_while(retry, attempts, pause, op).await
}

/// Deletes that follow detaches are retried this often, this far apart.
pub const CONFLICT_ATTEMPTS: usize = 10;
pub const CONFLICT_PAUSE: Duration = Duration::from_secs(2);

/// The account id of the caller.
pub async fn account_id(clients: &Clients) -> Result<String, AwsError> {
    let out = clients.caller_identity().await?;
    Ok(out.account().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn conflict() -> AwsError {
        AwsError {
            operation: "DeleteCertificate",
            code: Some("DeleteConflictException".into()),
            message: "Things must be detached before deletion".into(),
        }
    }

    /// Requests of an SDK client wait for their operation's slot: four ListThingPrincipals (10
    /// per second) span at least 0.3 s, and every request still reaches the HTTP client.
    #[tokio::test]
    async fn sdk_requests_go_through_the_rate_limits() {
        use aws_smithy_runtime_api::client::http::{
            http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
        };
        use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
        use aws_smithy_types::body::SdkBody;

        #[derive(Debug, Clone, Default)]
        struct Answer(std::sync::Arc<AtomicUsize>);
        impl HttpConnector for Answer {
            fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
                self.0.fetch_add(1, Ordering::SeqCst);
                let body = SdkBody::from(r#"{"principals":[]}"#);
                let status = 200u16.try_into().expect("a status");
                HttpConnectorFuture::ready(Ok(HttpResponse::new(status, body)))
            }
        }
        let answer = Answer::default();
        let connector = SharedHttpConnector::new(answer.clone());
        let config = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(aws_sdk_iot::config::SharedCredentialsProvider::new(
                aws_sdk_iot::config::Credentials::new("AKID", "SECRET", None, None, "test"),
            ))
            .http_client(http_client_fn(move |_, _| connector.clone()))
            .build();
        let clients = Clients::from_config(config);
        let start = tokio::time::Instant::now();
        for _ in 0..4 {
            clients
                .iot
                .list_thing_principals()
                .thing_name("rate-limited")
                .send()
                .await
                .expect("answered");
        }
        assert_eq!(answer.0.load(Ordering::SeqCst), 4);
        assert!(start.elapsed() >= Duration::from_millis(300));
    }

    #[tokio::test]
    async fn conflicts_are_retried_until_they_clear() {
        let calls = AtomicUsize::new(0);
        let r = retry_on(&["DeleteConflictException"], 5, Duration::ZERO, || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(conflict())
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn other_errors_and_exhaustion_give_up() {
        let calls = AtomicUsize::new(0);
        let r: Result<(), _> =
            retry_on(&["DeleteConflictException"], 3, Duration::ZERO, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(conflict())
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let calls = AtomicUsize::new(0);
        let r: Result<(), _> =
            retry_on(&["DeleteConflictException"], 3, Duration::ZERO, || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(AwsError {
                    operation: "X",
                    code: Some("AccessDenied".into()),
                    message: String::new(),
                })
            })
            .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
