//! The request to authorize: an action on a resource ARN with its context (condition keys and
//! policy variables), and the ARNs of the AWS IoT data-plane resources.

use std::collections::BTreeMap;

use serde::Serialize;

/// Context key and policy variable holding the Cognito identity id.
pub const KEY_COGNITO_SUB: &str = "cognito-identity.amazonaws.com:sub";
/// Context key and policy variable holding the Cognito identity pool id.
pub const KEY_COGNITO_AUD: &str = "cognito-identity.amazonaws.com:aud";
/// Multi-valued context key holding the Cognito authentication methods
/// (`authenticated` or `unauthenticated`, plus the login providers).
pub const KEY_COGNITO_AMR: &str = "cognito-identity.amazonaws.com:amr";
/// Context key and policy variable holding the MQTT client id.
pub const KEY_IOT_CLIENT_ID: &str = "iot:ClientId";
/// Context key and policy variable holding the name of the thing the
/// connection is attached to (set only when the client id is a thing name
/// attached to the certificate).
pub const KEY_THING_NAME: &str = "iot:Connection.Thing.ThingName";
/// Context key and policy variable holding the client's source address.
pub const KEY_SOURCE_IP: &str = "aws:SourceIp";

/// An AWS IoT data-plane action checked against IoT and identity policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum IotAction {
    /// `iot:Connect`, authorized against `client/<clientId>`.
    Connect,
    /// `iot:Publish`, authorized against `topic/<topic>`.
    Publish,
    /// `iot:Receive`, authorized against `topic/<topic>` for each delivered message.
    Receive,
    /// `iot:Subscribe`, authorized against `topicfilter/<filter>`.
    Subscribe,
}

impl IotAction {
    /// Every data-plane action, in connection order.
    pub const ALL: [IotAction; 4] = [
        IotAction::Connect,
        IotAction::Publish,
        IotAction::Receive,
        IotAction::Subscribe,
    ];

    /// The IAM action name, e.g. `iot:Publish`.
    pub fn as_str(self) -> &'static str {
        match self {
            IotAction::Connect => "iot:Connect",
            IotAction::Publish => "iot:Publish",
            IotAction::Receive => "iot:Receive",
            IotAction::Subscribe => "iot:Subscribe",
        }
    }

    /// The resource type the action is authorized against: `client`,
    /// `topic` or `topicfilter`.
    pub fn resource_type(self) -> &'static str {
        match self {
            IotAction::Connect => "client",
            IotAction::Publish | IotAction::Receive => "topic",
            IotAction::Subscribe => "topicfilter",
        }
    }

    /// Parses an action name such as `iot:publish` (case-insensitive).
    pub fn parse(action: &str) -> Option<IotAction> {
        let action = action.trim();
        IotAction::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(action))
    }

    /// The resource ARN this action is authorized against for `name` (a
    /// client id, topic or topic filter).
    pub fn arn(self, region: &str, account: &str, name: &str) -> String {
        iot_arn(region, account, self.resource_type(), name)
    }
}

display_as!(IotAction, as_str);

/// The ARN partition of a region: `aws-cn` for `cn-*`, `aws-us-gov` for
/// `us-gov-*`, `aws` otherwise.
pub fn partition_for_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Builds `arn:<partition>:iot:<region>:<account>:<resource_type>/<name>`.
pub fn iot_arn(region: &str, account: &str, resource_type: &str, name: &str) -> String {
    format!(
        "arn:{}:iot:{region}:{account}:{resource_type}/{name}",
        partition_for_region(region)
    )
}

/// The `iot:Connect` resource for a client id: `arn:aws:iot:<region>:<account>:client/<clientId>`.
pub fn client_arn(region: &str, account: &str, client_id: &str) -> String {
    iot_arn(region, account, "client", client_id)
}

/// The `iot:Publish` / `iot:Receive` resource for a topic: `arn:aws:iot:<region>:<account>:topic/<topic>`.
pub fn topic_arn(region: &str, account: &str, topic: &str) -> String {
    iot_arn(region, account, "topic", topic)
}

/// The `iot:Subscribe` resource for a topic filter: `arn:aws:iot:<region>:<account>:topicfilter/<filter>`.
pub fn topic_filter_arn(region: &str, account: &str, topic_filter: &str) -> String {
    iot_arn(region, account, "topicfilter", topic_filter)
}

/// Request context: condition keys and policy variables with their values.
///
/// Keys are case-insensitive. A key may hold several values (for example
/// `cognito-identity.amazonaws.com:amr`); a key with no values counts as
/// absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Lower-cased key -> (key as given, values).
    values: BTreeMap<String, (String, Vec<String>)>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// The context of a Cognito identity: `sub` (identity id), `aud`
    /// (identity pool id) and `amr` (`authenticated` or `unauthenticated`).
    /// Add login providers to `amr` with [`Context::set_values`] if needed.
    pub fn cognito_identity(
        identity_id: &str,
        identity_pool_id: &str,
        authenticated: bool,
    ) -> Self {
        let amr = if authenticated {
            "authenticated"
        } else {
            "unauthenticated"
        };
        Self::new()
            .with(KEY_COGNITO_SUB, identity_id)
            .with(KEY_COGNITO_AUD, identity_pool_id)
            .with(KEY_COGNITO_AMR, amr)
    }

    /// Returns the context with `key` set to the single `value`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// Returns the context with `key` set to several values.
    pub fn with_values<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.set_values(key, values);
        self
    }

    /// Sets `key` to the single `value`, replacing earlier values.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.set_values(key, [value.into()]);
    }

    /// Sets `key` to several values, replacing earlier values.
    pub fn set_values<I, S>(&mut self, key: &str, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values = values.into_iter().map(Into::into).collect();
        self.values
            .insert(key.to_lowercase(), (key.to_string(), values));
    }

    /// Removes `key`, returning its values.
    pub fn remove(&mut self, key: &str) -> Option<Vec<String>> {
        self.values.remove(&key.to_lowercase()).map(|(_, v)| v)
    }

    /// The values of `key` (case-insensitive), if set.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.values
            .get(&key.to_lowercase())
            .map(|(_, v)| v.as_slice())
    }

    /// Whether `key` has at least one value.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| !v.is_empty())
    }

    /// Iterates over `(key as first given, values)`, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.values
            .values()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Copies every key of `other` into `self`, replacing existing keys.
    pub fn extend(&mut self, other: &Context) {
        for (lower, entry) in &other.values {
            self.values.insert(lower.clone(), entry.clone());
        }
    }
}

/// A request to authorize: an action on a resource ARN, with its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The action, e.g. `iot:Publish`.
    pub action: String,
    /// The resource ARN, e.g. `arn:aws:iot:eu-west-1:123456789012:topic/a/b`.
    pub resource: String,
    /// Condition keys and policy variables.
    pub context: Context,
}

impl Request {
    /// A request for any action and resource, with an empty context.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> Self {
        Self {
            action: action.into(),
            resource: resource.into(),
            context: Context::new(),
        }
    }

    /// A data-plane request on the resource for `name` (client id, topic or
    /// topic filter, depending on the action).
    pub fn iot(action: IotAction, region: &str, account: &str, name: &str) -> Self {
        let mut request = Self::new(action.as_str(), action.arn(region, account, name));
        if action == IotAction::Connect {
            request.context.set(KEY_IOT_CLIENT_ID, name);
        }
        request
    }

    /// `iot:Connect` for `client_id`; also sets `iot:ClientId` in the context.
    pub fn connect(region: &str, account: &str, client_id: &str) -> Self {
        Self::iot(IotAction::Connect, region, account, client_id)
    }

    /// `iot:Publish` on `topic`.
    pub fn publish(region: &str, account: &str, topic: &str) -> Self {
        Self::iot(IotAction::Publish, region, account, topic)
    }

    /// `iot:Receive` of a message published on `topic`.
    pub fn receive(region: &str, account: &str, topic: &str) -> Self {
        Self::iot(IotAction::Receive, region, account, topic)
    }

    /// `iot:Subscribe` to `topic_filter`.
    pub fn subscribe(region: &str, account: &str, topic_filter: &str) -> Self {
        Self::iot(IotAction::Subscribe, region, account, topic_filter)
    }

    /// Returns the request with every key of `context` added (replacing
    /// keys already set).
    pub fn with_context(mut self, context: &Context) -> Self {
        self.context.extend(context);
        self
    }

    /// Returns the request with context `key` set to `value`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.context.set(key, value);
        self
    }

    /// Returns the request with context `key` set to several values.
    pub fn with_values<I, S>(mut self, key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.context.set_values(key, values);
        self
    }
}
