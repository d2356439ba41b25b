//! Live state read through the AWS API, as a person would check it (never through iotstack's own
//! view), and the changes tests make behind iotstack's back. One method per check the tests make;
//! each fails the test with the request and the name when AWS answers with an error.

use std::collections::HashMap;
use std::fmt::Display;
use std::ops::Deref;

use aws_sdk_cognitoidentity::operation::describe_identity_pool::DescribeIdentityPoolOutput;
use aws_sdk_cognitoidentity::types::IdentityPoolShortDescription;
use aws_sdk_cognitoidentityprovider::types::{
    AuthFlowType, UserPoolClientDescription, UserPoolDescriptionType, UserPoolType,
};
use aws_sdk_iam::types::Role;
use aws_sdk_iot::operation::describe_thing::DescribeThingOutput;
use aws_sdk_iot::types::{CertificateDescription, TopicRule};
use aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigOutput;
use aws_sdk_lambda::types::FunctionConfiguration;
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_sns::types::Subscription;
use aws_smithy_types::error::display::DisplayErrorContext;
use serde_json::Value;

use iotstack::aws::Clients;

/// A world's AWS clients and prefix. Derefs to the clients for the calls only one test makes.
pub struct Live {
    aws: Clients,
    prefix: String,
    /// How far ListSecrets lags behind writes on this world's emulator.
    list_lag: std::time::Duration,
}

impl Deref for Live {
    type Target = Clients;
    fn deref(&self) -> &Clients {
        &self.aws
    }
}

/// Sends an AWS request a check depends on and returns its answer; an error fails the test with
/// the request (and, given first, the name it is about).
macro_rules! send {
    ($about:expr, $request:expr) => {
        $request.send().await.unwrap_or_else(|e| {
            panic!(
                "{} {}: {}",
                stringify!($request),
                $about,
                DisplayErrorContext(e)
            )
        })
    };
    ($request:expr) => {
        send!("", $request)
    };
}

/// The ids of the stack's user pool, its app client and its identity pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub id: String,
    pub client_id: String,
    pub identity_pool_id: String,
}

impl Live {
    pub fn new(aws: Clients, prefix: &str) -> Live {
        Live {
            aws,
            prefix: prefix.to_string(),
            list_lag: crate::harness::list_lag(),
        }
    }

    // --- IAM

    pub async fn role(&self, name: &str) -> Role {
        let out = send!(name, self.iam.get_role().role_name(name));
        out.role().cloned().expect("a role")
    }

    /// Whether IAM answers for the role at all.
    pub async fn role_exists(&self, name: &str) -> bool {
        self.iam.get_role().role_name(name).send().await.is_ok()
    }

    /// Deletes a role's inline policy `name` out of band.
    pub async fn delete_inline_policy(&self, role: &str, name: &str) {
        let call = self
            .iam
            .delete_role_policy()
            .role_name(role)
            .policy_name(name);
        send!(format!("{role}/{name}"), call);
    }

    /// A role's trust policy, decoded.
    pub async fn trust(&self, role: &str) -> Value {
        let role = self.role(role).await;
        decode(role.assume_role_policy_document().expect("a trust policy"))
    }

    /// A role's inline policy `name`, decoded.
    pub async fn inline_policy(&self, role: &str, name: &str) -> Value {
        let out = send!(
            format!("{role}/{name}"),
            self.iam.get_role_policy().role_name(role).policy_name(name)
        );
        decode(out.policy_document())
    }

    pub async fn put_trust(&self, role: &str, doc: impl Display) {
        send!(
            role,
            self.iam
                .update_assume_role_policy()
                .role_name(role)
                .policy_document(doc.to_string())
        );
    }

    pub async fn put_inline_policy(&self, role: &str, name: &str, doc: impl Display) {
        send!(
            format!("{role}/{name}"),
            self.iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(doc.to_string())
        );
    }

    pub async fn role_tags(&self, role: &str) -> HashMap<String, String> {
        let role = self.role(role).await;
        role.tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    }

    // --- AWS IoT

    /// The default version of an IoT policy's document.
    pub async fn iot_policy(&self, name: &str) -> Value {
        let out = send!(name, self.iot.get_policy().policy_name(name));
        serde_json::from_str(out.policy_document().expect("a document")).expect("policy JSON")
    }

    pub async fn iot_policy_tags(&self, name: &str) -> HashMap<String, String> {
        let out = send!(name, self.iot.get_policy().policy_name(name));
        let arn = out.policy_arn().expect("a policy ARN");
        let tags = send!(arn, self.iot.list_tags_for_resource().resource_arn(arn));
        tags.tags()
            .iter()
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// The version ids of an IoT policy.
    pub async fn policy_versions(&self, name: &str) -> Vec<String> {
        let out = send!(name, self.iot.list_policy_versions().policy_name(name));
        names(out.policy_versions(), |v| v.version_id())
    }

    /// Makes `doc` the IoT policy's default document, as the console does.
    pub async fn put_policy_version(&self, name: &str, doc: impl Display) {
        send!(
            name,
            self.iot
                .create_policy_version()
                .policy_name(name)
                .policy_document(doc.to_string())
                .set_as_default(true)
        );
    }

    /// What an IoT policy is attached to (certificate ARNs, identity ids).
    pub async fn policy_targets(&self, policy: &str) -> Vec<String> {
        let out = send!(
            policy,
            self.iot.list_targets_for_policy().policy_name(policy)
        );
        out.targets().to_vec()
    }

    /// The names of the IoT policies attached to `target`.
    pub async fn attached_policies(&self, target: &str) -> Vec<String> {
        let out = send!(target, self.iot.list_attached_policies().target(target));
        names(out.policies(), |p| p.policy_name())
    }

    pub async fn detach_policy(&self, policy: &str, target: &str) {
        send!(
            format!("{policy} from {target}"),
            self.iot.detach_policy().policy_name(policy).target(target)
        );
    }

    /// The principals (certificate ARNs) attached to a thing.
    pub async fn thing_principals(&self, thing: &str) -> Vec<String> {
        let out = send!(thing, self.iot.list_thing_principals().thing_name(thing));
        out.principals().to_vec()
    }

    pub async fn certificate(&self, id: &str) -> CertificateDescription {
        let out = send!(id, self.iot.describe_certificate().certificate_id(id));
        out.certificate_description()
            .cloned()
            .expect("a description")
    }

    /// `ACTIVE`, `INACTIVE`, ...
    pub async fn certificate_status(&self, id: &str) -> String {
        let cert = self.certificate(id).await;
        cert.status().expect("a status").as_str().to_string()
    }

    /// The ids of every certificate in the account.
    pub async fn certificates(&self) -> Vec<String> {
        let out = send!(self.iot.list_certificates());
        names(out.certificates(), |c| c.certificate_id())
    }

    pub async fn thing(&self, name: &str) -> DescribeThingOutput {
        send!(name, self.iot.describe_thing().thing_name(name))
    }

    /// The address of the account's AWS IoT data endpoint (`iot:Data-ATS`).
    pub async fn data_endpoint(&self) -> String {
        let out = send!(self.iot.describe_endpoint().endpoint_type("iot:Data-ATS"));
        out.endpoint_address().expect("an address").to_string()
    }

    /// Whether AWS IoT answers for the thing at all.
    pub async fn thing_exists(&self, name: &str) -> bool {
        let thing = self.iot.describe_thing().thing_name(name).send().await;
        thing.is_ok()
    }

    /// The names of every topic rule in the account.
    pub async fn topic_rules(&self) -> Vec<String> {
        let out = send!(self.iot.list_topic_rules());
        names(out.rules(), |r| r.rule_name())
    }

    pub async fn topic_rule(&self, name: &str) -> TopicRule {
        let out = send!(name, self.iot.get_topic_rule().rule_name(name));
        out.rule().cloned().expect("a rule")
    }

    pub async fn disable_topic_rule(&self, name: &str) {
        send!(name, self.iot.disable_topic_rule().rule_name(name));
    }

    // --- SNS

    pub async fn subscriptions(&self, topic_arn: &str) -> Vec<Subscription> {
        let out = send!(
            topic_arn,
            self.sns.list_subscriptions_by_topic().topic_arn(topic_arn)
        );
        out.subscriptions().to_vec()
    }

    pub async fn topic_tags(&self, topic_arn: &str) -> HashMap<String, String> {
        let out = send!(
            topic_arn,
            self.sns.list_tags_for_resource().resource_arn(topic_arn)
        );
        out.tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()
    }

    // --- Cognito

    pub async fn user_pools(&self) -> Vec<UserPoolDescriptionType> {
        let out = send!(self.cognito_idp.list_user_pools().max_results(60));
        out.user_pools().to_vec()
    }

    pub async fn identity_pools(&self) -> Vec<IdentityPoolShortDescription> {
        let out = send!(self.cognito_identity.list_identity_pools().max_results(60));
        out.identity_pools().to_vec()
    }

    /// The stack's user pool, app client and identity pool, found by their names.
    pub async fn pool(&self) -> Pool {
        let p = &self.prefix;
        let id = id_named(&self.user_pools().await, &format!("{p}-user-pool"), |u| {
            (u.name(), u.id())
        });
        let client_id = self.app_clients(&id).await[0]
            .client_id()
            .unwrap()
            .to_string();
        let identity_pool_id = id_named(
            &self.identity_pools().await,
            &format!("{p}-edge-identity-pool"),
            |i| (i.identity_pool_name(), i.identity_pool_id()),
        );
        Pool {
            id,
            client_id,
            identity_pool_id,
        }
    }

    /// The app clients of the user pool `pool_id`.
    pub async fn app_clients(&self, pool_id: &str) -> Vec<UserPoolClientDescription> {
        let out = send!(
            pool_id,
            self.cognito_idp
                .list_user_pool_clients()
                .user_pool_id(pool_id)
        );
        out.user_pool_clients().to_vec()
    }

    pub async fn user_pool(&self, id: &str) -> UserPoolType {
        let out = send!(id, self.cognito_idp.describe_user_pool().user_pool_id(id));
        out.user_pool().cloned().expect("a user pool")
    }

    pub async fn identity_pool(&self, id: &str) -> DescribeIdentityPoolOutput {
        send!(
            id,
            self.cognito_identity
                .describe_identity_pool()
                .identity_pool_id(id)
        )
    }

    /// The roles an identity pool gives, by kind (`authenticated`, `unauthenticated`).
    pub async fn identity_pool_roles(&self, id: &str) -> HashMap<String, String> {
        let out = send!(
            id,
            self.cognito_identity
                .get_identity_pool_roles()
                .identity_pool_id(id)
        );
        out.roles().cloned().unwrap_or_default()
    }

    /// The stack's pools, and the identity id the app user gets by signing in.
    pub async fn signed_in(&self) -> (Pool, String) {
        let pool = self.pool().await;
        let (_, identity) = self.sign_in(&pool).await;
        (pool, identity)
    }

    /// Signs the app user in with the password from the secret; returns (password, identity id).
    pub async fn sign_in(&self, pool: &Pool) -> (String, String) {
        let p = &self.prefix;
        let secret_id = format!("{}_{p}-app-user", pool.id);
        let username = format!("{p}-app-user");
        let value = self.secret_value(&secret_id).await;
        let password = value[&username]
            .as_str()
            .unwrap_or_else(|| panic!("the secret holds {{\"{username}\": password}}: {value}"))
            .to_string();
        let id = self.sign_in_as(pool, &username, &password).await;
        (password, id)
    }

    /// Signs `username` in with USER_PASSWORD_AUTH and gets its identity's credentials; returns
    /// the identity id.
    pub async fn sign_in_as(&self, pool: &Pool, username: &str, password: &str) -> String {
        let auth = self
            .cognito_idp
            .initiate_auth()
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .client_id(&pool.client_id)
            .auth_parameters("USERNAME", username)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .expect("USER_PASSWORD_AUTH with the user's password");
        let token = auth
            .authentication_result()
            .unwrap()
            .id_token()
            .unwrap()
            .to_string();
        let provider = format!("cognito-idp.us-east-1.amazonaws.com/{}", pool.id);
        let ids = &self.cognito_identity;
        let got = send!(ids
            .get_id()
            .identity_pool_id(&pool.identity_pool_id)
            .logins(&provider, &token));
        let id = got.identity_id().unwrap().to_string();
        let creds = send!(ids
            .get_credentials_for_identity()
            .identity_id(&id)
            .logins(&provider, &token));
        assert!(creds
            .credentials()
            .and_then(|c| c.access_key_id())
            .is_some());
        id
    }

    // --- Lambda

    pub async fn function(&self, name: &str) -> FunctionConfiguration {
        let out = send!(name, self.lambda.get_function().function_name(name));
        out.configuration().cloned().expect("a configuration")
    }

    /// A function's environment variables.
    pub async fn function_env(&self, name: &str) -> HashMap<String, String> {
        let f = self.function(name).await;
        f.environment()
            .and_then(|e| e.variables())
            .cloned()
            .expect("environment variables")
    }

    pub async fn function_url(&self, name: &str) -> GetFunctionUrlConfigOutput {
        send!(
            name,
            self.lambda.get_function_url_config().function_name(name)
        )
    }

    // --- Secrets Manager

    /// Every secret, those scheduled for deletion included, each as DescribeSecret answers it.
    /// ListSecrets lags behind writes (strict emulator, as AWS documents): the listing is taken
    /// once it has caught up, and each secret is then read by name, which is current.
    pub async fn secrets(&self) -> Vec<DescribeSecretOutput> {
        tokio::time::sleep(self.list_lag).await;
        let out = send!(self.secrets.list_secrets().include_planned_deletion(true));
        let mut found = Vec::new();
        for name in out.secret_list().iter().filter_map(|s| s.name()) {
            if let Some(s) = self.described_secret(name).await {
                found.push(s);
            }
        }
        found
    }

    /// DescribeSecret's answer for `id` (a name or an ARN), if there is such a secret.
    pub async fn described_secret(&self, id: &str) -> Option<DescribeSecretOutput> {
        match self.secrets.describe_secret().secret_id(id).send().await {
            Ok(s) => Some(s),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                None
            }
            Err(e) => panic!("DescribeSecret {id}: {}", DisplayErrorContext(e)),
        }
    }

    /// The secret named `name`, not scheduled for deletion.
    pub async fn secret(&self, name: &str) -> DescribeSecretOutput {
        let s = self.described_secret(name).await;
        let s = s.unwrap_or_else(|| panic!("the secret {name}"));
        assert!(
            s.deleted_date().is_none(),
            "{name} is scheduled for deletion"
        );
        s
    }

    pub async fn secret_tags(&self, name: &str) -> HashMap<String, String> {
        let secret = self.secret(name).await;
        secret
            .tags()
            .iter()
            .map(|t| (t.key().unwrap().to_string(), t.value().unwrap().to_string()))
            .collect()
    }

    /// A secret's value, which must be JSON (the app secret's is `{"<user>": "<password>"}`).
    pub async fn secret_value(&self, id: &str) -> Value {
        let out = send!(id, self.secrets.get_secret_value().secret_id(id));
        let text = out.secret_string().expect("a string value");
        serde_json::from_str(text).unwrap_or_else(|e| panic!("the value of {id} is not JSON: {e}"))
    }

    pub async fn put_secret_policy(&self, id: &str, doc: impl Display) {
        send!(
            id,
            self.secrets
                .put_resource_policy()
                .secret_id(id)
                .resource_policy(doc.to_string())
        );
    }

    /// A secret's resource policy, if it has one.
    pub async fn secret_policy(&self, id: &str) -> Option<Value> {
        let out = send!(id, self.secrets.get_resource_policy().secret_id(id));
        out.resource_policy()
            .map(|p| serde_json::from_str(p).expect("policy JSON"))
    }

    /// Every resource of the prefix still live.
    pub async fn leftovers(&self) -> Vec<String> {
        let p = self.prefix.as_str();
        let mut left = Vec::new();
        let mut add = |kind: &str, names: Vec<String>| {
            left.extend(
                names
                    .into_iter()
                    .filter(|n| n.contains(p))
                    .map(|n| format!("{kind} {n}")),
            );
        };
        let things = send!(self.iot.list_things());
        add("thing", names(things.things(), |t| t.thing_name()));
        let pols = send!(self.iot.list_policies());
        add("iot policy", names(pols.policies(), |x| x.policy_name()));
        add("rule", self.topic_rules().await);
        let topics = send!(self.sns.list_topics());
        add("topic", names(topics.topics(), |x| x.topic_arn()));
        let subs = send!(self.sns.list_subscriptions());
        add(
            "subscription",
            names(subs.subscriptions(), |s| s.topic_arn()),
        );
        let roles = send!(self.iam.list_roles());
        add("role", names(roles.roles(), |r| Some(r.role_name())));
        add("user pool", names(&self.user_pools().await, |x| x.name()));
        add(
            "identity pool",
            names(&self.identity_pools().await, |x| x.identity_pool_name()),
        );
        let fns = send!(self.lambda.list_functions());
        add("function", names(fns.functions(), |x| x.function_name()));
        add("secret", names(&self.secrets().await, |x| x.name()));
        // Certificates carry no name: every test world has an emulator of its own, so any is a
        // leftover.
        left.extend(
            self.certificates()
                .await
                .into_iter()
                .map(|n| format!("certificate {n}")),
        );
        left
    }
}

fn names<T>(items: &[T], name: impl Fn(&T) -> Option<&str>) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| name(i).map(str::to_string))
        .collect()
}

/// The id of the item named `name`, given each item's (name, id).
fn id_named<T>(
    items: &[T],
    name: &str,
    name_and_id: impl Fn(&T) -> (Option<&str>, Option<&str>),
) -> String {
    items
        .iter()
        .map(name_and_id)
        .find(|(n, _)| *n == Some(name))
        .and_then(|(_, id)| id.map(str::to_string))
        .unwrap_or_else(|| panic!("no {name}"))
}

/// The id at the end of a certificate's ARN.
pub fn certificate_id(arn: &str) -> String {
    arn.rsplit('/').next().unwrap().to_string()
}

// --- Policy documents

/// A policy document as IAM returns it (percent-encoded).
pub fn decode(doc: &str) -> Value {
    let d = percent_encoding::percent_decode_str(doc)
        .decode_utf8_lossy()
        .to_string();
    serde_json::from_str(&d).expect("policy JSON")
}

/// The statements of a policy, whether one or a list.
pub fn statements(doc: &Value) -> Vec<Value> {
    match &doc["Statement"] {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    }
}

/// A string or a list of strings, as a list.
pub fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
}

/// Every action a policy names, sorted.
pub fn actions(doc: &Value) -> Vec<String> {
    let mut a: Vec<String> = statements(doc)
        .iter()
        .flat_map(|s| list(&s["Action"]))
        .collect();
    a.sort();
    a
}

/// The statement whose actions are exactly `actions`.
pub fn statement_for(doc: &Value, actions: &[&str]) -> Value {
    statements(doc)
        .into_iter()
        .find(|s| list(&s["Action"]) == actions)
        .unwrap_or_else(|| panic!("a statement for {actions:?} in {doc}"))
}

/// The first statement whose actions include `action`.
pub fn statement_granting(doc: &Value, action: &str) -> Value {
    statements(doc)
        .into_iter()
        .find(|s| list(&s["Action"]).iter().any(|a| a == action))
        .unwrap_or_else(|| panic!("a statement granting {action} in {doc}"))
}
