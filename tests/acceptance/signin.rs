//! Signing in as the app user, the way the stack's apps do: the password from the app secret,
//! user-pool tokens from `InitiateAuth`, then the Cognito identity and its temporary AWS
//! credentials from the identity pool.

use std::time::SystemTime;

use aws_sdk_cognitoidentity::config::Credentials;
use aws_sdk_cognitoidentityprovider::types::AuthFlowType;
use aws_smithy_types::error::display::DisplayErrorContext;
use serde_json::Value;

use iotstack::aws::Clients;

/// What an app is configured with: `iotstack output --aws-exports`.
pub struct AppConfig {
    pub user_pool_id: String,
    pub client_id: String,
    pub identity_pool_id: String,
    pub attach_url: String,
    pub iot_policy: String,
}

impl AppConfig {
    pub fn from_exports(v: &Value) -> AppConfig {
        let field = |k: &str| -> String {
            match v[k].as_str() {
                Some(s) if !s.is_empty() => s.to_string(),
                _ => panic!("`iotstack output --aws-exports` has no `{k}`:\n{v:#}"),
            }
        };
        AppConfig {
            user_pool_id: field("aws_user_pools_id"),
            client_id: field("aws_user_pools_web_client_id"),
            identity_pool_id: field("aws_cognito_identity_pool_id"),
            attach_url: field("aws_iot_attach_policy_url"),
            iot_policy: field("aws_iot_policy_name"),
        }
    }
}

/// The app user, signed in: its user-pool ID token, its Cognito identity and that identity's
/// temporary credentials. Never printed.
pub struct SignedIn {
    pub id_token: String,
    pub identity_id: String,
    pub credentials: Credentials,
}

/// The password in the app secret's value. SPEC §3 (corrected for issue 8) makes the value the
/// JSON object the seed's clients read, `{"<prefix>-app-user": "<password>"}`; a bare password,
/// as earlier versions stored it, is read too.
fn password_in(value: &str, username: &str) -> String {
    match serde_json::from_str::<Value>(value) {
        Ok(Value::Object(m)) => match m.get(username).and_then(Value::as_str) {
            Some(p) => p.to_string(),
            None => panic!(
                "the app secret is a JSON object without the key `{username}` (keys: {:?})",
                m.keys().collect::<Vec<_>>()
            ),
        },
        _ => value.to_string(),
    }
}

/// Reads the app user's password from the secret. The secret's resource policy denies
/// `GetSecretValue` from any address outside `--ip`; the suite deployed with
/// `IOTSTACK_ACCEPTANCE_IP`, so an `AccessDeniedException` here means that variable is not the
/// address this machine's requests reach AWS from.
pub async fn password(aws: &Clients, secret_arn: &str, username: &str) -> String {
    let out = aws
        .secrets
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GetSecretValue {secret_arn}: {} (is IOTSTACK_ACCEPTANCE_IP the public address \
                 this machine reaches AWS from?)",
                DisplayErrorContext(e)
            )
        });
    password_in(
        out.secret_string().expect("the secret has a string value"),
        username,
    )
}

/// Signs in with the password and turns the ID token into the identity's credentials.
///
/// - `InitiateAuth` with `USER_PASSWORD_AUTH` (the app client allows it) takes `USERNAME` and
///   `PASSWORD` and returns the tokens; Cognito does not evaluate IAM for it, so the SDK sends it
///   unsigned (Cognito API reference, InitiateAuth:
///   <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html>).
/// - `GetId` and `GetCredentialsForIdentity` are public APIs that need no credentials; the
///   user pool's login key is `cognito-idp.<region>.amazonaws.com/<user pool id>` (Cognito
///   identity API reference, GetId:
///   <https://docs.aws.amazon.com/cognitoidentity/latest/APIReference/API_GetId.html>).
pub async fn sign_in(
    aws: &Clients,
    app: &AppConfig,
    region: &str,
    username: &str,
    password: &str,
) -> SignedIn {
    let auth = aws
        .cognito_idp
        .initiate_auth()
        .auth_flow(AuthFlowType::UserPasswordAuth)
        .client_id(&app.client_id)
        .auth_parameters("USERNAME", username)
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .unwrap_or_else(|e| panic!("InitiateAuth as {username}: {}", DisplayErrorContext(e)));
    let id_token = match auth.authentication_result().and_then(|r| r.id_token()) {
        Some(t) => t.to_string(),
        None => panic!(
            "InitiateAuth as {username} answered with the challenge {:?} instead of tokens",
            auth.challenge_name()
        ),
    };
    let login = format!("cognito-idp.{region}.amazonaws.com/{}", app.user_pool_id);
    let identity_id = aws
        .cognito_identity
        .get_id()
        .identity_pool_id(&app.identity_pool_id)
        .logins(&login, &id_token)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GetId in {}: {}",
                app.identity_pool_id,
                DisplayErrorContext(e)
            )
        })
        .identity_id()
        .expect("GetId names an identity")
        .to_string();
    let out = aws
        .cognito_identity
        .get_credentials_for_identity()
        .identity_id(&identity_id)
        .logins(&login, &id_token)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GetCredentialsForIdentity {identity_id}: {}",
                DisplayErrorContext(e)
            )
        });
    let c = out
        .credentials()
        .expect("GetCredentialsForIdentity returns credentials");
    let credentials = Credentials::new(
        c.access_key_id().expect("an access key id"),
        c.secret_key().expect("a secret key"),
        c.session_token().map(str::to_string),
        c.expiration().and_then(|t| SystemTime::try_from(*t).ok()),
        "cognito-identity",
    );
    SignedIn {
        id_token,
        identity_id,
        credentials,
    }
}
