//! Offline evaluation of IAM and AWS IoT policy documents for the AWS IoT
//! data-plane actions (`iot:Connect`, `iot:Publish`, `iot:Receive`,
//! `iot:Subscribe`).
//!
//! The evaluator answers questions such as "would these policies let this
//! Cognito identity publish on this topic?" without calling AWS. It follows
//! the documented IAM and AWS IoT policy rules:
//!
//! * an explicit `Deny` overrides any `Allow`; when no statement allows the
//!   request it is implicitly denied;
//! * `Action` patterns match case-insensitively, `Resource` patterns
//!   case-sensitively; in both, `*` matches any run of characters (including
//!   `/`) and `?` exactly one character;
//! * the MQTT wildcards `+` and `#` are literal characters in policies;
//! * policy variables (`${iot:ClientId}`, `${cognito-identity.amazonaws.com:sub}`,
//!   any `${key}`) are substituted from the request [`Context`] when the
//!   document has `"Version": "2012-10-17"` (otherwise they are literal
//!   text); a variable that cannot be resolved makes the element using it
//!   not match; `${*}`, `${?}` and `${$}` stand for a literal `*`, `?`, `$`.
//!
//! Statement indexes are zero-based, as in the JSON pointer
//! `/Statement/<index>`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;
use serde_json::{Map, Value};

/// The policy language version that enables policy variables.
pub const POLICY_VERSION: &str = "2012-10-17";

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

impl fmt::Display for IotAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// The `Effect` of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Effect {
    /// `"Effect": "Allow"`.
    Allow,
    /// `"Effect": "Deny"`.
    Deny,
}

impl Effect {
    /// `Allow` or `Deny`, as written in policies.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Effect::Allow => "allows",
            Effect::Deny => "explicitly denies",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of evaluating policies for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Decision {
    /// At least one statement allows the request and none denies it.
    Allow,
    /// A `Deny` statement matches the request.
    ExplicitDeny,
    /// No statement allows the request.
    ImplicitDeny,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(self) -> bool {
        self == Decision::Allow
    }

    /// `allow`, `explicit deny` or `implicit deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::ExplicitDeny => "explicit deny",
            Decision::ImplicitDeny => "implicit deny",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement that applies to the request (action, resource and condition
/// all match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedStatement {
    /// Zero-based index in `Statement` (as in `/Statement/<index>`).
    pub index: usize,
    /// The statement's `Sid`, if any.
    pub sid: Option<String>,
    /// The statement's effect.
    pub effect: Effect,
    /// The `Action` entry that matched, or `NotAction [...]`.
    pub action: String,
    /// The `Resource` entry that matched (as written, before variable
    /// substitution), or `NotResource [...]`.
    pub resource: String,
}

impl MatchedStatement {
    /// `statement <index>` or `statement <index> (Sid <sid>)`.
    pub fn label(&self) -> String {
        statement_label(self.index, self.sid.as_deref())
    }

    /// Evidence line, e.g. `statement 2 (Sid X) allows iot:Publish on
    /// arn:...:topic/a (Action "iot:Pub*", Resource "arn:...:topic/*")`.
    pub fn describe(&self, request: &Request) -> String {
        format!(
            "{} {} {} on {} (Action {:?}, Resource {:?})",
            self.label(),
            self.effect.verb(),
            request.action,
            request.resource,
            self.action,
            self.resource
        )
    }
}

/// The result of evaluating one policy document for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    /// The decision of this document alone.
    pub decision: Decision,
    /// Every statement that applies to the request, in document order.
    pub matched: Vec<MatchedStatement>,
    /// Why statements that looked relevant did not apply (condition not met,
    /// unresolved variable, unknown operator, malformed statement, ...).
    pub notes: Vec<String>,
}

impl Evaluation {
    fn refused(notes: Vec<String>) -> Self {
        Self {
            decision: Decision::ImplicitDeny,
            matched: Vec::new(),
            notes,
        }
    }

    /// Whether the document allows the request.
    pub fn is_allowed(&self) -> bool {
        self.decision.is_allowed()
    }

    /// One line of evidence for the decision: the allowing statement, the
    /// denying statements, or that nothing allows the request.
    pub fn explain(&self, request: &Request) -> String {
        let pick = |effect: Effect| -> Vec<String> {
            self.matched
                .iter()
                .filter(|m| m.effect == effect)
                .map(|m| m.describe(request))
                .collect()
        };
        match self.decision {
            Decision::Allow => pick(Effect::Allow).join("; "),
            Decision::ExplicitDeny => pick(Effect::Deny).join("; "),
            Decision::ImplicitDeny => format!(
                "no statement allows {} on {}",
                request.action, request.resource
            ),
        }
    }
}

/// Evaluates one IAM or AWS IoT policy document for `request`.
///
/// `policy` is the parsed document, or a JSON string holding it (as the AWS
/// APIs return policy documents). An unusable document is an implicit deny
/// with a note.
pub fn evaluate(policy: &Value, request: &Request) -> Evaluation {
    let mut notes = Vec::new();
    let parsed;
    let doc = match policy {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                parsed = value;
                &parsed
            }
            Err(err) => {
                notes.push(format!("policy document is not valid JSON: {err}"));
                return Evaluation::refused(notes);
            }
        },
        other => other,
    };
    let Some(obj) = doc.as_object() else {
        notes.push("policy document is not a JSON object".to_string());
        return Evaluation::refused(notes);
    };
    let statements: Vec<&Value> = match obj.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => {
            notes.push("Statement must be an object or an array of objects".to_string());
            return Evaluation::refused(notes);
        }
        None => {
            notes.push("policy document has no Statement".to_string());
            return Evaluation::refused(notes);
        }
    };
    let vars = obj.get("Version").and_then(Value::as_str) == Some(POLICY_VERSION);
    if !vars && any_string(doc, &|s| s.contains("${")) {
        notes.push(format!(
            "policy Version is not {POLICY_VERSION}, so ${{...}} policy variables are matched as literal text"
        ));
    }

    let mut matched = Vec::new();
    for (index, statement) in statements.into_iter().enumerate() {
        if let Some(m) = evaluate_statement(index, statement, request, vars, &mut notes) {
            matched.push(m);
        }
    }
    let decision = if matched.iter().any(|m| m.effect == Effect::Deny) {
        Decision::ExplicitDeny
    } else if matched.is_empty() {
        Decision::ImplicitDeny
    } else {
        Decision::Allow
    };
    Evaluation {
        decision,
        matched,
        notes,
    }
}

/// Which policy layer a result refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Layer {
    /// The IAM policies of the identity pool role.
    IdentityRole,
    /// The AWS IoT policies attached to the identity (or certificate).
    IotPolicy,
}

impl Layer {
    /// Human-readable name of the layer.
    pub fn describe(self) -> &'static str {
        match self {
            Layer::IdentityRole => "identity pool role policies",
            Layer::IotPolicy => "AWS IoT policies",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// The evaluation of one named policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyEvaluation {
    /// The policy's name.
    pub policy: String,
    /// Its evaluation.
    pub evaluation: Evaluation,
}

/// The combined evaluation of the policies of one layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerEvaluation {
    /// The layer.
    pub layer: Layer,
    /// Explicit deny if any policy denies, allow if any allows, implicit
    /// deny otherwise (also when no policy is given).
    pub decision: Decision,
    /// Per-policy evaluations, in the order given.
    pub policies: Vec<PolicyEvaluation>,
}

impl LayerEvaluation {
    /// Whether the layer allows the request.
    pub fn is_allowed(&self) -> bool {
        self.decision.is_allowed()
    }

    /// Evidence for the layer's decision, naming policies and statements,
    /// and the notes explaining statements that did not apply.
    pub fn explain(&self, request: &Request) -> String {
        let layer = self.layer.describe();
        let effect = match self.decision {
            Decision::Allow => Some(Effect::Allow),
            Decision::ExplicitDeny => Some(Effect::Deny),
            Decision::ImplicitDeny => None,
        };
        if let Some(effect) = effect {
            let evidence: Vec<String> = self
                .policies
                .iter()
                .flat_map(|p| {
                    p.evaluation
                        .matched
                        .iter()
                        .filter(move |m| m.effect == effect)
                        .map(move |m| format!("policy {:?} {}", p.policy, m.describe(request)))
                })
                .collect();
            return format!("{layer}: {}", evidence.join("; "));
        }
        if self.policies.is_empty() {
            let hint = match self.layer {
                Layer::IotPolicy => {
                    " (attach an AWS IoT policy to the Cognito identity id with iot:AttachPolicy)"
                }
                Layer::IdentityRole => "",
            };
            return format!(
                "{layer}: no policy is attached, so {} on {} is implicitly denied{hint}",
                request.action, request.resource
            );
        }
        let names: Vec<String> = self
            .policies
            .iter()
            .map(|p| format!("{:?}", p.policy))
            .collect();
        let mut text = format!(
            "{layer}: no statement in {} allows {} on {} (implicit deny)",
            names.join(", "),
            request.action,
            request.resource
        );
        for p in &self.policies {
            for note in &p.evaluation.notes {
                text.push_str(&format!("; policy {:?}: {note}", p.policy));
            }
        }
        text
    }
}

/// Evaluates several named policies of one layer for `request`.
pub fn evaluate_policies(
    layer: Layer,
    policies: &[(&str, &Value)],
    request: &Request,
) -> LayerEvaluation {
    let policies: Vec<PolicyEvaluation> = policies
        .iter()
        .map(|(name, doc)| PolicyEvaluation {
            policy: (*name).to_string(),
            evaluation: evaluate(doc, request),
        })
        .collect();
    let decision = combine(policies.iter().map(|p| p.evaluation.decision));
    LayerEvaluation {
        layer,
        decision,
        policies,
    }
}

/// Why a layer refused a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The refusing layer.
    pub layer: Layer,
    /// Its decision (explicit or implicit deny).
    pub decision: Decision,
    /// Evidence: denying statements, or why nothing allowed the request.
    pub reason: String,
}

/// The result of [`evaluate_layers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayeredResult {
    /// Overall decision: explicit deny if any evaluated layer denies, allow
    /// only if every evaluated layer allows, implicit deny otherwise.
    pub decision: Decision,
    /// The identity pool role's policies.
    pub role: LayerEvaluation,
    /// The AWS IoT policies; `None` for unauthenticated identities, whose
    /// requests the role alone decides.
    pub iot: Option<LayerEvaluation>,
    /// One entry per evaluated layer that did not allow the request.
    pub refusals: Vec<Refusal>,
    /// Remarks about the evaluation itself.
    pub notes: Vec<String>,
}

impl LayeredResult {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.decision.is_allowed()
    }

    /// The first layer that refused the request, if any.
    pub fn refused_by(&self) -> Option<Layer> {
        self.refusals.first().map(|r| r.layer)
    }
}

/// Evaluates a Cognito identity's request the way AWS IoT does.
///
/// For an authenticated identity both the identity pool role's policies and
/// the AWS IoT policies attached to the identity must allow the request (and
/// neither may explicitly deny it). For an unauthenticated identity the role
/// alone decides; `iot_policies` are not evaluated.
pub fn evaluate_layers(
    role_policies: &[(&str, &Value)],
    iot_policies: &[(&str, &Value)],
    request: &Request,
    authenticated: bool,
) -> LayeredResult {
    let role = evaluate_policies(Layer::IdentityRole, role_policies, request);
    let mut notes = Vec::new();
    let iot = if authenticated {
        Some(evaluate_policies(Layer::IotPolicy, iot_policies, request))
    } else {
        if !iot_policies.is_empty() {
            notes.push(format!(
                "unauthenticated identities are authorized by the identity pool role alone; {} AWS IoT policies were not evaluated",
                iot_policies.len()
            ));
        }
        None
    };
    let refusals: Vec<Refusal> = std::iter::once(&role)
        .chain(iot.as_ref())
        .filter(|layer| !layer.is_allowed())
        .map(|layer| Refusal {
            layer: layer.layer,
            decision: layer.decision,
            reason: layer.explain(request),
        })
        .collect();
    let decision = if refusals
        .iter()
        .any(|r| r.decision == Decision::ExplicitDeny)
    {
        Decision::ExplicitDeny
    } else if refusals.is_empty() {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    };
    LayeredResult {
        decision,
        role,
        iot,
        refusals,
        notes,
    }
}

/// Whether an `Action` pattern matches `action`: case-insensitive, with `*`
/// (any run of characters) and `?` (one character).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = plain_tokens(&pattern.to_lowercase(), true);
    let text: Vec<char> = action.to_lowercase().chars().collect();
    glob_match(&pattern, &text)
}

/// Whether a `Resource` pattern matches `resource` after substituting
/// policy variables from `context` (as in a `2012-10-17` document):
/// case-sensitive, `*` matches any run of characters including `/`, `?` one
/// character, `+` and `#` are literal. `None` when a variable cannot be
/// resolved (AWS then treats the resource as not matching).
pub fn resource_matches(pattern: &str, resource: &str, context: &Context) -> Option<bool> {
    let tokens = compile(pattern, context, true, true).ok()?;
    let text: Vec<char> = resource.chars().collect();
    Some(glob_match(&tokens, &text))
}

/// Whether `pattern` (compared case-sensitively, or case-insensitively when
/// `ignore_case`) matches every string that starts with `prefix`; e.g.
/// `iot:*`, `*` and `io?:*` cover the prefix `iot:`. Policy variables are
/// not expanded.
pub fn pattern_covers_prefix(pattern: &str, prefix: &str, ignore_case: bool) -> bool {
    let (pattern, prefix) = if ignore_case {
        (pattern.to_lowercase(), prefix.to_lowercase())
    } else {
        (pattern.to_string(), prefix.to_string())
    };
    let tokens = plain_tokens(&pattern, true);
    let n = tokens.len();
    let close = |states: &mut Vec<bool>| {
        for p in 0..n {
            if states[p] && tokens[p] == Tok::Any {
                states[p + 1] = true;
            }
        }
    };
    let mut states = vec![false; n + 1];
    states[0] = true;
    close(&mut states);
    for c in prefix.chars() {
        let mut next = vec![false; n + 1];
        for p in 0..n {
            if !states[p] {
                continue;
            }
            match tokens[p] {
                Tok::Any => next[p] = true,
                Tok::One => next[p + 1] = true,
                Tok::Lit(l) if l == c => next[p + 1] = true,
                Tok::Lit(_) => {}
            }
        }
        close(&mut next);
        states = next;
    }
    (0..=n).any(|p| states[p] && tokens[p..].iter().all(|t| *t == Tok::Any))
}

/// Whether `pattern` has a `*` or `?` wildcard outside `${...}` variables.
pub fn has_wildcards(pattern: &str) -> bool {
    let mut rest = pattern;
    loop {
        let (head, tail) = match rest.find("${") {
            Some(start) => match rest[start..].find('}') {
                Some(end) => (&rest[..start], Some(&rest[start + end + 1..])),
                None => (rest, None),
            },
            None => (rest, None),
        };
        if head.contains(['*', '?']) {
            return true;
        }
        match tail {
            Some(t) => rest = t,
            None => return false,
        }
    }
}

/// The policy variables referenced in `text` (the key inside each
/// `${...}`, without a `, 'default'` part); the escapes `${*}`, `${?}` and
/// `${$}` are not variables.
pub fn policy_variables(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            break;
        };
        let inner = after[..end].trim();
        if !matches!(inner, "*" | "?" | "$") {
            let key = inner.split(',').next().unwrap_or(inner).trim();
            found.push(key.to_string());
        }
        rest = &after[end + 1..];
    }
    found
}

/// Whether `name` is a condition operator of the IAM policy language
/// (including `ForAnyValue:` / `ForAllValues:` and `...IfExists` forms).
pub fn is_known_condition_operator(name: &str) -> bool {
    !matches!(parse_operator(name), OperatorKind::Unknown)
}

/// Whether this evaluator can evaluate condition operator `name` (every
/// known operator except the `Date*` and `Binary*` families).
pub fn is_supported_condition_operator(name: &str) -> bool {
    matches!(parse_operator(name), OperatorKind::Supported(_))
}

// ---------------------------------------------------------------------------
// Statement evaluation

fn combine(decisions: impl Iterator<Item = Decision>) -> Decision {
    let mut decision = Decision::ImplicitDeny;
    for d in decisions {
        match d {
            Decision::ExplicitDeny => return Decision::ExplicitDeny,
            Decision::Allow => decision = Decision::Allow,
            Decision::ImplicitDeny => {}
        }
    }
    decision
}

fn statement_label(index: usize, sid: Option<&str>) -> String {
    match sid {
        Some(sid) => format!("statement {index} (Sid {sid})"),
        None => format!("statement {index}"),
    }
}

fn any_string(value: &Value, pred: &dyn Fn(&str) -> bool) -> bool {
    match value {
        Value::String(s) => pred(s),
        Value::Array(items) => items.iter().any(|v| any_string(v, pred)),
        Value::Object(map) => map.iter().any(|(k, v)| pred(k) || any_string(v, pred)),
        _ => false,
    }
}

/// Reads `positive` or `negative` (e.g. `Action` / `NotAction`) as a list of
/// strings; `Ok((negated, entries))`.
fn string_list<'v>(
    obj: &'v Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<(bool, Vec<&'v str>), String> {
    let (negated, value) = match (obj.get(positive), obj.get(negative)) {
        (Some(_), Some(_)) => return Err(format!("has both {positive} and {negative}")),
        (None, None) => return Err(format!("has neither {positive} nor {negative}")),
        (Some(v), None) => (false, v),
        (None, Some(v)) => (true, v),
    };
    let name = if negated { negative } else { positive };
    match value {
        Value::String(s) => Ok((negated, vec![s.as_str()])),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .ok_or_else(|| format!("{name} has an entry that is not a string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|entries| (negated, entries)),
        _ => Err(format!("{name} must be a string or an array of strings")),
    }
}

fn evaluate_statement(
    index: usize,
    statement: &Value,
    request: &Request,
    vars: bool,
    notes: &mut Vec<String>,
) -> Option<MatchedStatement> {
    let Some(obj) = statement.as_object() else {
        notes.push(format!(
            "{} is not a JSON object; ignored",
            statement_label(index, None)
        ));
        return None;
    };
    let sid = obj.get("Sid").and_then(Value::as_str).map(str::to_string);
    let label = statement_label(index, sid.as_deref());
    let effect = match obj.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        Some(other) => {
            notes.push(format!(
                "{label}: Effect {other:?} is neither \"Allow\" nor \"Deny\"; ignored"
            ));
            return None;
        }
        None => {
            notes.push(format!("{label}: Effect is missing; ignored"));
            return None;
        }
    };

    let action = match string_list(obj, "Action", "NotAction") {
        Err(msg) => {
            notes.push(format!("{label}: {msg}; ignored"));
            return None;
        }
        Ok((false, entries)) => entries
            .iter()
            .find(|p| action_matches(p, &request.action))
            .map(|p| (*p).to_string())?,
        Ok((true, entries)) => {
            if entries.iter().any(|p| action_matches(p, &request.action)) {
                return None;
            }
            format!("NotAction {entries:?}")
        }
    };

    let text: Vec<char> = request.resource.chars().collect();
    let resource = match string_list(obj, "Resource", "NotResource") {
        Err(msg) => {
            notes.push(format!("{label}: {msg}; ignored"));
            return None;
        }
        Ok((negated, entries)) => {
            let mut unresolved = Vec::new();
            let mut hit = None;
            for entry in &entries {
                match compile(entry, &request.context, vars, true) {
                    Ok(tokens) => {
                        if glob_match(&tokens, &text) {
                            hit = Some(*entry);
                            break;
                        }
                    }
                    Err(err) => unresolved.push(err.describe(entry)),
                }
            }
            match (negated, hit) {
                (false, Some(entry)) => entry.to_string(),
                (false, None) => {
                    for u in unresolved {
                        notes.push(format!(
                            "{label} would apply to {} but Resource {u}",
                            request.action
                        ));
                    }
                    return None;
                }
                (true, Some(_)) => return None,
                (true, None) => {
                    for u in unresolved {
                        notes.push(format!(
                            "{label}: NotResource {u}, so it does not exclude {}",
                            request.resource
                        ));
                    }
                    format!("NotResource {entries:?}")
                }
            }
        }
    };

    if let Some(condition) = obj.get("Condition") {
        match evaluate_condition(condition, &request.context, vars) {
            CondOutcome::Met => {}
            CondOutcome::NotMet(reason) => {
                notes.push(format!(
                    "{label} would {} {} on {} but its Condition is not met: {reason}",
                    match effect {
                        Effect::Allow => "allow",
                        Effect::Deny => "deny",
                    },
                    request.action,
                    request.resource
                ));
                return None;
            }
            CondOutcome::Invalid(reason) => {
                notes.push(format!("{label}: {reason}; the statement does not apply"));
                return None;
            }
        }
    }

    Some(MatchedStatement {
        index,
        sid,
        effect,
        action,
        resource,
    })
}

// ---------------------------------------------------------------------------
// Conditions

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumCmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(NumCmp),
    Bool,
    Ip,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Operator {
    qualifier: Qualifier,
    base: Base,
    negated: bool,
    if_exists: bool,
}

enum OperatorKind {
    Supported(Operator),
    Unsupported,
    Unknown,
}

fn parse_operator(name: &str) -> OperatorKind {
    let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Qualifier::ForAnyValue, rest)
    } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Qualifier::ForAllValues, rest)
    } else {
        (Qualifier::Single, name)
    };
    let (rest, if_exists) = match rest.strip_suffix("IfExists") {
        Some(rest) => (rest, true),
        None => (rest, false),
    };
    let (base, negated) = match rest {
        "StringEquals" => (Base::StringEquals, false),
        "StringNotEquals" => (Base::StringEquals, true),
        "StringEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Base::StringEqualsIgnoreCase, true),
        "StringLike" => (Base::StringLike, false),
        "StringNotLike" => (Base::StringLike, true),
        "NumericEquals" => (Base::Numeric(NumCmp::Eq), false),
        "NumericNotEquals" => (Base::Numeric(NumCmp::Eq), true),
        "NumericLessThan" => (Base::Numeric(NumCmp::Lt), false),
        "NumericLessThanEquals" => (Base::Numeric(NumCmp::Le), false),
        "NumericGreaterThan" => (Base::Numeric(NumCmp::Gt), false),
        "NumericGreaterThanEquals" => (Base::Numeric(NumCmp::Ge), false),
        "Bool" => (Base::Bool, false),
        "IpAddress" => (Base::Ip, false),
        "NotIpAddress" => (Base::Ip, true),
        "ArnEquals" | "ArnLike" => (Base::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Base::Arn, true),
        "Null" if qualifier == Qualifier::Single && !if_exists => (Base::Null, false),
        "DateEquals"
        | "DateNotEquals"
        | "DateLessThan"
        | "DateLessThanEquals"
        | "DateGreaterThan"
        | "DateGreaterThanEquals"
        | "BinaryEquals" => return OperatorKind::Unsupported,
        _ => return OperatorKind::Unknown,
    };
    OperatorKind::Supported(Operator {
        qualifier,
        base,
        negated,
        if_exists,
    })
}

enum CondOutcome {
    Met,
    NotMet(String),
    Invalid(String),
}

fn condition_values(raw: &Value) -> Option<Vec<String>> {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
    match raw {
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

fn evaluate_condition(condition: &Value, context: &Context, vars: bool) -> CondOutcome {
    let Some(blocks) = condition.as_object() else {
        return CondOutcome::Invalid("Condition must be a JSON object".to_string());
    };
    let mut parsed = Vec::with_capacity(blocks.len());
    for (name, block) in blocks {
        let op = match parse_operator(name) {
            OperatorKind::Supported(op) => op,
            OperatorKind::Unsupported => {
                return CondOutcome::Invalid(format!(
                    "condition operator {name} cannot be evaluated offline"
                ))
            }
            OperatorKind::Unknown => {
                return CondOutcome::Invalid(format!("unknown condition operator {name:?}"))
            }
        };
        let Some(keys) = block.as_object() else {
            return CondOutcome::Invalid(format!("{name} must map condition keys to values"));
        };
        parsed.push((name, op, keys));
    }
    for (name, op, keys) in parsed {
        for (key, raw) in keys {
            let Some(values) = condition_values(raw) else {
                return CondOutcome::Invalid(format!(
                    "{name} {key}: values must be strings, numbers or booleans"
                ));
            };
            let mut unresolved = Vec::new();
            if !eval_key(op, key, &values, context, vars, &mut unresolved) {
                let have = match context.get(key) {
                    Some(v) if !v.is_empty() => format!("request has {key} = {v:?}"),
                    _ => format!("{key} is not in the request context"),
                };
                let mut reason = format!("{name} {{{key:?}: {values:?}}} is false ({have})");
                for u in unresolved {
                    reason.push_str("; ");
                    reason.push_str(&u);
                }
                return CondOutcome::NotMet(reason);
            }
        }
    }
    CondOutcome::Met
}

enum Matcher {
    Exact(String),
    IgnoreCase(String),
    Glob(Vec<Tok>),
    Numeric(NumCmp, f64),
    Net(IpNet),
}

impl Matcher {
    fn new(base: Base, value: &str, context: &Context, vars: bool) -> Result<Matcher, String> {
        let literal = |value: &str| -> Result<String, String> {
            compile(value, context, vars, false)
                .map(|tokens| tokens_to_string(&tokens))
                .map_err(|err| err.describe(value))
        };
        match base {
            Base::StringEquals => literal(value).map(Matcher::Exact),
            Base::StringEqualsIgnoreCase | Base::Bool => {
                literal(value).map(|s| Matcher::IgnoreCase(s.to_lowercase()))
            }
            Base::StringLike | Base::Arn => compile(value, context, vars, true)
                .map(Matcher::Glob)
                .map_err(|err| err.describe(value)),
            Base::Numeric(cmp) => value
                .trim()
                .parse::<f64>()
                .map(|n| Matcher::Numeric(cmp, n))
                .map_err(|_| format!("condition value {value:?} is not a number")),
            Base::Ip => parse_net(value).map(Matcher::Net).ok_or_else(|| {
                format!("condition value {value:?} is not an IP address or CIDR block")
            }),
            Base::Null => Err("Null takes true or false".to_string()),
        }
    }

    fn matches(&self, candidate: &str) -> bool {
        match self {
            Matcher::Exact(s) => candidate == s,
            Matcher::IgnoreCase(s) => candidate.to_lowercase() == *s,
            Matcher::Glob(tokens) => {
                let text: Vec<char> = candidate.chars().collect();
                glob_match(tokens, &text)
            }
            Matcher::Numeric(cmp, n) => match candidate.trim().parse::<f64>() {
                Ok(c) => match cmp {
                    NumCmp::Eq => c == *n,
                    NumCmp::Lt => c < *n,
                    NumCmp::Le => c <= *n,
                    NumCmp::Gt => c > *n,
                    NumCmp::Ge => c >= *n,
                },
                Err(_) => false,
            },
            Matcher::Net(net) => candidate
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| net.contains(&ip)),
        }
    }
}

fn parse_net(value: &str) -> Option<IpNet> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .ok()
        .or_else(|| value.parse::<IpAddr>().ok().map(IpNet::from))
}

fn eval_key(
    op: Operator,
    key: &str,
    policy_values: &[String],
    context: &Context,
    vars: bool,
    unresolved: &mut Vec<String>,
) -> bool {
    let present = context.get(key).filter(|v| !v.is_empty());
    if op.base == Base::Null {
        // "true": the key must be absent; "false": it must be present.
        return policy_values
            .iter()
            .any(|v| v.trim().eq_ignore_ascii_case("true") == present.is_none());
    }
    let Some(request_values) = present else {
        if op.if_exists {
            return true;
        }
        return match op.qualifier {
            Qualifier::Single => op.negated,
            Qualifier::ForAnyValue => false,
            Qualifier::ForAllValues => true,
        };
    };
    let mut matchers = Vec::with_capacity(policy_values.len());
    for value in policy_values {
        match Matcher::new(op.base, value, context, vars) {
            Ok(m) => matchers.push(m),
            Err(e) => unresolved.push(e),
        }
    }
    let satisfies =
        |candidate: &String| matchers.iter().any(|m| m.matches(candidate)) != op.negated;
    match op.qualifier {
        Qualifier::Single if op.negated => request_values.iter().all(satisfies),
        Qualifier::Single | Qualifier::ForAnyValue => request_values.iter().any(satisfies),
        Qualifier::ForAllValues => request_values.iter().all(satisfies),
    }
}

// ---------------------------------------------------------------------------
// Patterns

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Any,
    One,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct VarError {
    variable: String,
    multi_valued: bool,
}

impl VarError {
    fn describe(&self, element: &str) -> String {
        if self.multi_valued {
            format!(
                "{element:?} uses ${{{}}}, which has several values in the request context (a multi-valued key cannot be a policy variable), so it cannot match",
                self.variable
            )
        } else {
            format!(
                "{element:?} uses ${{{}}}, which has no value in the request context, so it cannot match",
                self.variable
            )
        }
    }
}

fn plain_tokens(pattern: &str, wildcards: bool) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' if wildcards => Tok::Any,
            '?' if wildcards => Tok::One,
            other => Tok::Lit(other),
        })
        .collect()
}

fn tokens_to_string(tokens: &[Tok]) -> String {
    tokens
        .iter()
        .map(|t| match t {
            Tok::Lit(c) => *c,
            Tok::Any => '*',
            Tok::One => '?',
        })
        .collect()
}

/// Turns a pattern into tokens, substituting `${...}` variables when `vars`
/// (substituted text is literal) and treating `*` / `?` as wildcards when
/// `wildcards`.
fn compile(
    pattern: &str,
    context: &Context,
    vars: bool,
    wildcards: bool,
) -> Result<Vec<Tok>, VarError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if vars && c == '$' && chars.get(i + 1) == Some(&'{') {
            if let Some(len) = chars[i + 2..].iter().position(|&ch| ch == '}') {
                let inner: String = chars[i + 2..i + 2 + len].iter().collect();
                resolve_variable(&inner, context, &mut out)?;
                i += len + 3;
                continue;
            }
        }
        out.push(match c {
            '*' if wildcards => Tok::Any,
            '?' if wildcards => Tok::One,
            other => Tok::Lit(other),
        });
        i += 1;
    }
    Ok(out)
}

fn resolve_variable(inner: &str, context: &Context, out: &mut Vec<Tok>) -> Result<(), VarError> {
    let inner = inner.trim();
    match inner {
        "*" | "?" | "$" => {
            out.extend(inner.chars().map(Tok::Lit));
            return Ok(());
        }
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, default)) => {
            let default = default.trim();
            let default = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .unwrap_or(default);
            (key.trim(), Some(default))
        }
        None => (inner, None),
    };
    match context.get(key) {
        Some([value]) => out.extend(value.chars().map(Tok::Lit)),
        Some(values) if values.len() > 1 => {
            return Err(VarError {
                variable: key.to_string(),
                multi_valued: true,
            })
        }
        _ => match default {
            Some(default) => out.extend(default.chars().map(Tok::Lit)),
            None => {
                return Err(VarError {
                    variable: key.to_string(),
                    multi_valued: false,
                })
            }
        },
    }
    Ok(())
}

fn glob_match(pattern: &[Tok], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Any) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, from)) => {
                    p = star + 1;
                    t = from + 1;
                    backtrack = Some((star, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::Any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REGION: &str = "us-east-1";
    const ACCOUNT: &str = "123456789012";
    const POOL: &str = "us-east-1:6a1b8c2d-0000-4000-8000-000000000001";
    const SUB: &str = "us-east-1:9f8e7d6c-1111-4111-8111-000000000002";
    const OTHER_SUB: &str = "us-east-1:00000000-2222-4222-8222-000000000003";

    fn arn(resource: &str) -> String {
        format!("arn:aws:iot:{REGION}:{ACCOUNT}:{resource}")
    }

    fn doc(statements: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    fn allow(action: Value, resource: &str) -> Value {
        json!({"Effect": "Allow", "Action": action, "Resource": arn(resource)})
    }

    fn allow_if(action: &str, condition: Value) -> Value {
        doc(json!([{
            "Effect": "Allow",
            "Action": action,
            "Resource": "*",
            "Condition": condition
        }]))
    }

    /// The default stack's policy for Cognito identities.
    fn identity_policy() -> Value {
        doc(json!([
            {"Effect": "Allow", "Action": "iot:Connect",
             "Resource": arn("client/${cognito-identity.amazonaws.com:sub}")},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
             "Resource": arn(&format!("topic/{POOL}/${{cognito-identity.amazonaws.com:sub}}/*"))},
            {"Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": arn(&format!("topicfilter/{POOL}/${{cognito-identity.amazonaws.com:sub}}/*"))}
        ]))
    }

    /// A device policy scoped by the attached thing's name.
    fn device_policy() -> Value {
        doc(json!([
            {"Effect": "Allow", "Action": "iot:Connect",
             "Resource": arn("client/${iot:Connection.Thing.ThingName}")},
            {"Effect": "Allow", "Action": ["iot:Publish", "iot:Receive"],
             "Resource": [arn("topic/P/devices/${iot:Connection.Thing.ThingName}/*"), arn("topic/P/alerts")]},
            {"Effect": "Allow", "Action": "iot:Subscribe",
             "Resource": arn("topicfilter/P/devices/${iot:Connection.Thing.ThingName}/*")}
        ]))
    }

    fn cognito() -> Context {
        Context::cognito_identity(SUB, POOL, true)
    }

    fn identity(req: Request) -> Request {
        req.with_context(&cognito())
    }

    fn device(req: Request, thing: &str) -> Request {
        req.with(KEY_THING_NAME, thing)
    }

    fn connect(client: &str) -> Request {
        Request::connect(REGION, ACCOUNT, client)
    }

    fn publish(topic: &str) -> Request {
        Request::publish(REGION, ACCOUNT, topic)
    }

    fn receive(topic: &str) -> Request {
        Request::receive(REGION, ACCOUNT, topic)
    }

    fn subscribe(filter: &str) -> Request {
        Request::subscribe(REGION, ACCOUNT, filter)
    }

    fn own(suffix: &str) -> String {
        format!("{POOL}/{SUB}/{suffix}")
    }

    struct Case {
        name: &'static str,
        policy: Value,
        request: Request,
        expect: Decision,
    }

    fn case(name: &'static str, policy: Value, request: Request, expect: Decision) -> Case {
        Case {
            name,
            policy,
            request,
            expect,
        }
    }

    use Decision::{Allow as A, ExplicitDeny as D, ImplicitDeny as I};

    #[test]
    fn decision_table() {
        let everything_but_secret = doc(json!([
            allow(json!("iot:*"), "*"),
            {"Effect": "Deny", "Action": "iot:Publish", "Resource": arn("topic/secret/*")}
        ]));
        let deny_outside_allowed = doc(json!([
            allow(json!("iot:Publish"), "*"),
            {"Effect": "Deny", "Action": "iot:Publish", "NotResource": arn("topic/allowed/*")}
        ]));
        let cases = vec![
            // IoT + Cognito: ${cognito-identity.amazonaws.com:sub} is replaced by the caller's identity id
            case(
                "identity connects with its own id",
                identity_policy(),
                identity(connect(SUB)),
                A,
            ),
            // IAM: a request that no statement allows is implicitly denied
            case(
                "identity connects with another id",
                identity_policy(),
                identity(connect(OTHER_SUB)),
                I,
            ),
            // IoT: topic/ resource for Publish; policy variable scopes the topic per identity
            case(
                "identity publishes under its prefix",
                identity_policy(),
                identity(publish(&own("telemetry"))),
                A,
            ),
            // IoT + Cognito: the variable resolves to the caller only, not to other identities
            case(
                "identity publishes under another prefix",
                identity_policy(),
                identity(publish(&format!("{POOL}/{OTHER_SUB}/telemetry"))),
                I,
            ),
            // IoT policy: * matches any combination of characters, including /
            case(
                "identity receives on a nested topic",
                identity_policy(),
                identity(receive(&own("a/b/c"))),
                A,
            ),
            // IoT: topicfilter/ resource for Subscribe; * also matches the literal # of a filter
            case(
                "identity subscribes to own/#",
                identity_policy(),
                identity(subscribe(&own("#"))),
                A,
            ),
            // IoT: Subscribe is authorized against topicfilter/, never against topic/
            case(
                "subscribe checked against a topic/ ARN",
                identity_policy(),
                identity(Request::new(
                    "iot:Subscribe",
                    arn(&format!("topic/{}", own("x"))),
                )),
                I,
            ),
            // IAM: a variable that cannot be resolved makes the resource not match
            case(
                "no identity id in the context",
                identity_policy(),
                publish(&own("telemetry")),
                I,
            ),
            // IoT: thing policy variable ${iot:Connection.Thing.ThingName} resolves to the attached thing
            case(
                "device connects as its thing",
                device_policy(),
                device(connect("sensor-1"), "sensor-1"),
                A,
            ),
            // IoT: the Connect resource is client/<client id>
            case(
                "device connects with another client id",
                device_policy(),
                device(connect("sensor-2"), "sensor-1"),
                I,
            ),
            // IoT: thing variables are not set when no thing is attached, so they match nothing
            case(
                "device without an attached thing",
                device_policy(),
                connect("sensor-1"),
                I,
            ),
            // IoT: topic/ resource for Publish and Receive
            case(
                "device publishes on its topic",
                device_policy(),
                device(publish("P/devices/sensor-1/temp"), "sensor-1"),
                A,
            ),
            // IoT: policy variables scope topics per thing
            case(
                "device publishes on another device's topic",
                device_policy(),
                device(publish("P/devices/sensor-2/temp"), "sensor-1"),
                I,
            ),
            // IAM: any entry of a Resource array may match
            case(
                "device receives alerts",
                device_policy(),
                device(receive("P/alerts"), "sensor-1"),
                A,
            ),
            // IoT: topicfilter/ resource for Subscribe
            case(
                "device subscribes to its filter",
                device_policy(),
                device(subscribe("P/devices/sensor-1/+"), "sensor-1"),
                A,
            ),
            // IoT: Subscribe on a filter outside the topicfilter/ resources is refused
            case(
                "device subscribes to alerts filter",
                device_policy(),
                device(subscribe("P/alerts"), "sensor-1"),
                I,
            ),
            // IoT policy: MQTT wildcard characters + and # are treated as literal strings
            case(
                "topic/a/+ does not match a/b",
                doc(json!([allow(json!("iot:Publish"), "topic/a/+")])),
                publish("a/b"),
                I,
            ),
            // IoT policy: MQTT wildcard characters + and # are treated as literal strings
            case(
                "topic/a/+ matches the literal topic a/+",
                doc(json!([allow(json!("iot:Publish"), "topic/a/+")])),
                publish("a/+"),
                A,
            ),
            // IoT policy: MQTT wildcard characters + and # are treated as literal strings
            case(
                "topic/a/# does not match a/b/c",
                doc(json!([allow(json!("iot:Receive"), "topic/a/#")])),
                receive("a/b/c"),
                I,
            ),
            // IoT policy: + and # are literal, so topicfilter/a/# allows exactly the filter a/#
            case(
                "topicfilter/a/# allows subscribing to a/#",
                doc(json!([allow(json!("iot:Subscribe"), "topicfilter/a/#")])),
                subscribe("a/#"),
                A,
            ),
            // IoT policy: + and # are literal, so topicfilter/a/# does not allow a/b
            case(
                "topicfilter/a/# does not allow a/b",
                doc(json!([allow(json!("iot:Subscribe"), "topicfilter/a/#")])),
                subscribe("a/b"),
                I,
            ),
            // IoT policy: * matches any combination of characters, including /
            case(
                "topic/a/* matches a/b/c",
                doc(json!([allow(json!("iot:Publish"), "topic/a/*")])),
                publish("a/b/c"),
                A,
            ),
            // IAM: ? matches exactly one character
            case(
                "topic/a/? matches a/b",
                doc(json!([allow(json!("iot:Publish"), "topic/a/?")])),
                publish("a/b"),
                A,
            ),
            // IAM: ? matches exactly one character
            case(
                "topic/a/? does not match a/bc",
                doc(json!([allow(json!("iot:Publish"), "topic/a/?")])),
                publish("a/bc"),
                I,
            ),
            // IAM: ? matches exactly one character, never zero
            case(
                "topic/a/? does not match a/",
                doc(json!([allow(json!("iot:Publish"), "topic/a/?")])),
                publish("a/"),
                I,
            ),
            // IAM: resource ARNs are matched case-sensitively
            case(
                "resource case differs",
                doc(json!([allow(json!("iot:Publish"), "topic/A/b")])),
                publish("a/b"),
                I,
            ),
            // IAM: action names are case-insensitive
            case(
                "action case differs",
                doc(json!([allow(json!("IOT:publish"), "topic/a")])),
                publish("a"),
                A,
            ),
            // IAM: iot:* matches every AWS IoT action
            case(
                "iot:* allows Subscribe",
                doc(json!([allow(json!("iot:*"), "*")])),
                subscribe("x/#"),
                A,
            ),
            // IAM: * as the action matches every action of every service
            case(
                "* allows Connect",
                doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}])),
                connect("c1"),
                A,
            ),
            // IAM: * inside an action name matches any run of characters
            case(
                "iot:Pub* allows Publish",
                doc(json!([allow(json!("iot:Pub*"), "topic/*")])),
                publish("t"),
                A,
            ),
            // IAM: iot:Pub* covers only actions starting with Pub
            case(
                "iot:Pub* does not allow Receive",
                doc(json!([allow(json!("iot:Pub*"), "topic/*")])),
                receive("t"),
                I,
            ),
            // IAM: ? inside an action name matches one character
            case(
                "iot:?eceive allows Receive",
                doc(json!([allow(json!("iot:?eceive"), "topic/*")])),
                receive("t"),
                A,
            ),
            // IAM: Action may be an array; any entry may match
            case(
                "action array",
                doc(json!([allow(
                    json!(["iot:Connect", "iot:Publish"]),
                    "topic/*"
                )])),
                publish("t"),
                A,
            ),
            // IAM: explicit deny overrides allow
            case(
                "deny overrides iot:* allow",
                everything_but_secret.clone(),
                publish("secret/x"),
                D,
            ),
            // IAM: a Deny that does not match leaves the Allow in force
            case(
                "deny elsewhere",
                everything_but_secret,
                publish("public/x"),
                A,
            ),
            // IAM: NotAction matches every action except those listed
            case(
                "NotAction allows other actions",
                doc(json!([{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}])),
                subscribe("a"),
                A,
            ),
            // IAM: NotAction excludes the listed actions
            case(
                "NotAction excludes Publish",
                doc(json!([{"Effect": "Allow", "NotAction": "iot:Publish", "Resource": "*"}])),
                publish("a"),
                I,
            ),
            // IAM: NotResource matches every resource except those listed (explicit deny overrides allow)
            case(
                "NotResource deny outside the allowed prefix",
                deny_outside_allowed.clone(),
                publish("other/x"),
                D,
            ),
            // IAM: NotResource excludes the listed resources
            case(
                "NotResource deny spares the allowed prefix",
                deny_outside_allowed,
                publish("allowed/x"),
                A,
            ),
            // IAM: ${*} is the escape for a literal *
            case(
                "${*} is a literal star",
                doc(json!([allow(json!("iot:Publish"), "topic/a/${*}")])),
                publish("a/*"),
                A,
            ),
            // IAM: ${*} is the escape for a literal *, not a wildcard
            case(
                "${*} is not a wildcard",
                doc(json!([allow(json!("iot:Publish"), "topic/a/${*}")])),
                publish("a/b"),
                I,
            ),
            // IAM: ${?} is the escape for a literal ?
            case(
                "${?} is a literal question mark",
                doc(json!([allow(json!("iot:Publish"), "topic/a${?}")])),
                publish("ab"),
                I,
            ),
            // IAM: ${$} is the escape for a literal $ (reserved $aws topics)
            case(
                "${$} is a literal dollar",
                doc(json!([allow(
                    json!("iot:Publish"),
                    "topic/${$}aws/things/t1/shadow/update"
                )])),
                publish("$aws/things/t1/shadow/update"),
                A,
            ),
            // IAM: without "Version": "2012-10-17" policy variables are literal text
            case(
                "no Version: variable is literal",
                json!({"Statement": [allow(json!("iot:Publish"), "topic/${iot:ClientId}")]}),
                publish("c1").with(KEY_IOT_CLIENT_ID, "c1"),
                I,
            ),
            // IAM: policy variable default value ${key, 'default'} applies when the key is absent
            case(
                "variable default value",
                doc(json!([allow(
                    json!("iot:Publish"),
                    "topic/${aws:username, 'nobody'}/x"
                )])),
                publish("nobody/x"),
                A,
            ),
            // IAM: multivalued keys cannot be used as policy variables
            case(
                "multi-valued key as a variable",
                doc(json!([allow(
                    json!("iot:Publish"),
                    "topic/${cognito-identity.amazonaws.com:amr}"
                )])),
                publish("authenticated")
                    .with_values(KEY_COGNITO_AMR, ["authenticated", "cognito-idp"]),
                I,
            ),
            // IoT: ${iot:ClientId} is replaced by the client id used to connect
            case(
                "iot:ClientId variable",
                doc(json!([allow(
                    json!("iot:Publish"),
                    "topic/clients/${iot:ClientId}/*"
                )])),
                publish("clients/c1/t").with(KEY_IOT_CLIENT_ID, "c1"),
                A,
            ),
            // IAM condition: StringEquals compares case-sensitively
            case(
                "StringEquals on aud matches",
                allow_if(
                    "iot:Connect",
                    json!({"StringEquals": {KEY_COGNITO_AUD: POOL}}),
                ),
                identity(connect(SUB)),
                A,
            ),
            // IAM condition: StringEquals with another value is false
            case(
                "StringEquals on aud differs",
                allow_if(
                    "iot:Connect",
                    json!({"StringEquals": {KEY_COGNITO_AUD: "us-east-1:other"}}),
                ),
                identity(connect(SUB)),
                I,
            ),
            // IAM condition: a key absent from the request context makes the condition false
            case(
                "StringEquals with the key absent",
                allow_if(
                    "iot:Connect",
                    json!({"StringEquals": {KEY_COGNITO_AUD: POOL}}),
                ),
                connect(SUB),
                I,
            ),
            // IAM condition: negated operators (StringNotEquals) are true when the key is absent
            case(
                "StringNotEquals with the key absent",
                allow_if(
                    "iot:Connect",
                    json!({"StringNotEquals": {KEY_COGNITO_AUD: POOL}}),
                ),
                connect(SUB),
                A,
            ),
            // IAM condition: ...IfExists is true when the key is absent
            case(
                "StringEqualsIfExists with the key absent",
                allow_if(
                    "iot:Connect",
                    json!({"StringEqualsIfExists": {KEY_COGNITO_AUD: POOL}}),
                ),
                connect(SUB),
                A,
            ),
            // IAM condition: ...IfExists still compares when the key is present
            case(
                "StringEqualsIfExists with another value",
                allow_if(
                    "iot:Connect",
                    json!({"StringEqualsIfExists": {KEY_COGNITO_AUD: "other"}}),
                ),
                identity(connect(SUB)),
                I,
            ),
            // IAM condition: StringLike supports * and ?
            case(
                "StringLike on the client id",
                allow_if(
                    "iot:Connect",
                    json!({"StringLike": {"iot:ClientId": "sensor-*"}}),
                ),
                connect("sensor-42"),
                A,
            ),
            // IAM condition: StringNotLike is false when the value matches
            case(
                "StringNotLike on the client id",
                allow_if(
                    "iot:Connect",
                    json!({"StringNotLike": {"iot:ClientId": "sensor-*"}}),
                ),
                connect("sensor-42"),
                I,
            ),
            // IAM condition: StringEqualsIgnoreCase ignores case
            case(
                "StringEqualsIgnoreCase",
                allow_if(
                    "iot:Connect",
                    json!({"StringEqualsIgnoreCase": {"iot:ClientId": "SENSOR-1"}}),
                ),
                connect("sensor-1"),
                A,
            ),
            // IAM condition: condition key names are case-insensitive
            case(
                "condition key case differs",
                allow_if(
                    "iot:Connect",
                    json!({"StringEquals": {"IOT:clientid": "c1"}}),
                ),
                connect("c1"),
                A,
            ),
            // IAM condition: IpAddress matches a CIDR block
            case(
                "IpAddress in CIDR",
                allow_if(
                    "iot:Connect",
                    json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                ),
                connect("c1").with(KEY_SOURCE_IP, "10.1.2.3"),
                A,
            ),
            // IAM condition: IpAddress outside the CIDR block is false
            case(
                "IpAddress outside CIDR",
                allow_if(
                    "iot:Connect",
                    json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "172.16.0.0/12"]}}),
                ),
                connect("c1").with(KEY_SOURCE_IP, "192.0.2.1"),
                I,
            ),
            // IAM condition: IpAddress accepts a single address
            case(
                "IpAddress single address",
                allow_if(
                    "iot:Connect",
                    json!({"IpAddress": {"aws:SourceIp": "203.0.113.5"}}),
                ),
                connect("c1").with(KEY_SOURCE_IP, "203.0.113.5"),
                A,
            ),
            // IAM condition: NotIpAddress in a Deny blocks other addresses (explicit deny overrides allow)
            case(
                "NotIpAddress deny",
                doc(json!([
                    allow(json!("iot:Connect"), "client/*"),
                    {"Effect": "Deny", "Action": "iot:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
                ])),
                connect("c1").with(KEY_SOURCE_IP, "198.51.100.7"),
                D,
            ),
            // IAM condition: Bool compares true/false
            case(
                "Bool on a thing attachment",
                allow_if(
                    "iot:Connect",
                    json!({"Bool": {"iot:Connection.Thing.IsAttached": "true"}}),
                ),
                connect("c1").with("iot:Connection.Thing.IsAttached", "true"),
                A,
            ),
            // IAM condition: Bool with the key absent is false
            case(
                "Bool with the key absent",
                allow_if(
                    "iot:Connect",
                    json!({"Bool": {"iot:Connection.Thing.IsAttached": true}}),
                ),
                connect("c1"),
                I,
            ),
            // Cognito: amr is multivalued; ForAnyValue:StringLike is true if any value matches
            case(
                "ForAnyValue:StringLike amr authenticated",
                allow_if(
                    "iot:Connect",
                    json!({"ForAnyValue:StringLike": {KEY_COGNITO_AMR: "authenticated"}}),
                ),
                connect(SUB).with_values(
                    KEY_COGNITO_AMR,
                    [
                        "authenticated",
                        "cognito-idp.us-east-1.amazonaws.com/us-east-1_abc",
                    ],
                ),
                A,
            ),
            // Cognito: ForAnyValue:StringLike is false when no value matches
            case(
                "ForAnyValue:StringLike amr unauthenticated",
                allow_if(
                    "iot:Connect",
                    json!({"ForAnyValue:StringLike": {KEY_COGNITO_AMR: "authenticated"}}),
                ),
                connect(SUB).with_values(KEY_COGNITO_AMR, ["unauthenticated"]),
                I,
            ),
            // IAM condition: ForAnyValue with the key absent is false
            case(
                "ForAnyValue with the key absent",
                allow_if(
                    "iot:Connect",
                    json!({"ForAnyValue:StringEquals": {KEY_COGNITO_AMR: "authenticated"}}),
                ),
                connect(SUB),
                I,
            ),
            // IAM condition: ForAllValues is true only if every request value matches
            case(
                "ForAllValues with a stray value",
                allow_if(
                    "iot:Connect",
                    json!({"ForAllValues:StringEquals": {KEY_COGNITO_AMR: "authenticated"}}),
                ),
                connect(SUB).with_values(KEY_COGNITO_AMR, ["authenticated", "x"]),
                I,
            ),
            // IAM condition: values in conditions may contain policy variables
            case(
                "condition value with a variable",
                allow_if(
                    "iot:Connect",
                    json!({"StringEquals": {"iot:ClientId": "${iot:Connection.Thing.ThingName}"}}),
                ),
                device(connect("sensor-1"), "sensor-1"),
                A,
            ),
            // IAM condition: a variable value that cannot be resolved does not match
            case(
                "condition variable unresolved",
                allow_if(
                    "iot:Connect",
                    json!({"StringEquals": {"iot:ClientId": "${iot:Connection.Thing.ThingName}"}}),
                ),
                connect("sensor-1"),
                I,
            ),
            // IAM condition: all operators and keys of a Condition must be true
            case(
                "condition blocks are ANDed",
                allow_if(
                    "iot:Connect",
                    json!({"StringLike": {"iot:ClientId": "sensor-*"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
                ),
                connect("sensor-1").with(KEY_SOURCE_IP, "192.0.2.1"),
                I,
            ),
            // IAM condition: Null "true" requires the key to be absent
            case(
                "Null true with the key absent",
                allow_if(
                    "iot:Connect",
                    json!({"Null": {"iot:Connection.Thing.ThingName": "true"}}),
                ),
                connect("c1"),
                A,
            ),
            // IAM condition: NumericLessThan compares numbers
            case(
                "NumericLessThan",
                allow_if(
                    "iot:Connect",
                    json!({"NumericLessThan": {"custom:level": 5}}),
                ),
                connect("c1").with("custom:level", "3"),
                A,
            ),
            // IAM: an unknown condition operator makes the statement not apply
            case(
                "unknown operator in an Allow",
                allow_if(
                    "iot:Connect",
                    json!({"StringEqualz": {"iot:ClientId": "c1"}}),
                ),
                connect("c1"),
                I,
            ),
            // IAM: a Deny whose condition operator is unknown does not apply either
            case(
                "unknown operator in a Deny",
                doc(json!([
                    allow(json!("iot:Connect"), "client/*"),
                    {"Effect": "Deny", "Action": "iot:Connect", "Resource": "*", "Condition": {"Foo": {"iot:ClientId": "c1"}}}
                ])),
                connect("c1"),
                A,
            ),
            // IAM: Statement may be a single object instead of an array
            case(
                "single statement object",
                json!({"Version": "2012-10-17", "Statement": allow(json!("iot:Connect"), "client/c1")}),
                connect("c1"),
                A,
            ),
            // IAM: Effect must be exactly Allow or Deny
            case(
                "lower-case effect is ignored",
                doc(json!([{"Effect": "allow", "Action": "iot:Connect", "Resource": "*"}])),
                connect("c1"),
                I,
            ),
            // IAM: an empty policy allows nothing
            case("no statements", doc(json!([])), connect("c1"), I),
        ];
        assert!(cases.len() >= 40, "only {} cases", cases.len());
        let mut failures = Vec::new();
        for c in &cases {
            let got = evaluate(&c.policy, &c.request);
            if got.decision != c.expect {
                failures.push(format!(
                    "{}: expected {:?}, got {:?} (notes: {:?})",
                    c.name, c.expect, got.decision, got.notes
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn arn_helpers() {
        assert_eq!(
            client_arn("eu-west-1", ACCOUNT, "c1"),
            "arn:aws:iot:eu-west-1:123456789012:client/c1"
        );
        assert_eq!(
            topic_arn(REGION, ACCOUNT, "a/b"),
            "arn:aws:iot:us-east-1:123456789012:topic/a/b"
        );
        assert_eq!(
            topic_filter_arn(REGION, ACCOUNT, "a/#"),
            "arn:aws:iot:us-east-1:123456789012:topicfilter/a/#"
        );
        assert_eq!(
            client_arn("cn-north-1", ACCOUNT, "c"),
            "arn:aws-cn:iot:cn-north-1:123456789012:client/c"
        );
        assert_eq!(
            IotAction::Subscribe.arn("us-gov-west-1", ACCOUNT, "f"),
            "arn:aws-us-gov:iot:us-gov-west-1:123456789012:topicfilter/f"
        );
        assert_eq!(IotAction::parse("IOT:receive"), Some(IotAction::Receive));
        assert_eq!(IotAction::parse("iot:AttachPolicy"), None);
        let req = connect("c9");
        assert_eq!(
            req.context.get("IOT:CLIENTID"),
            Some(&["c9".to_string()][..])
        );
    }

    #[test]
    fn evidence_names_statement_and_sid() {
        let policy = doc(json!([
            {"Sid": "ConnectSelf", "Effect": "Allow", "Action": "iot:Connect", "Resource": arn("client/c1")},
            {"Sid": "Pub", "Effect": "Allow", "Action": "iot:Pub*", "Resource": arn("topic/*")},
            {"Sid": "NoSecret", "Effect": "Deny", "Action": "iot:Publish", "Resource": arn("topic/secret")}
        ]));
        let req = publish("t");
        let eval = evaluate(&policy, &req);
        assert_eq!(eval.decision, Decision::Allow);
        assert_eq!(eval.matched.len(), 1);
        let m = &eval.matched[0];
        assert_eq!(
            (m.index, m.sid.as_deref(), m.effect),
            (1, Some("Pub"), Effect::Allow)
        );
        assert_eq!(
            m.describe(&req),
            format!(
                "statement 1 (Sid Pub) allows iot:Publish on {} (Action \"iot:Pub*\", Resource \"{}\")",
                arn("topic/t"),
                arn("topic/*")
            )
        );

        let req = publish("secret");
        let eval = evaluate(&policy, &req);
        assert_eq!(eval.decision, Decision::ExplicitDeny);
        assert_eq!(eval.matched.len(), 2);
        assert!(eval
            .explain(&req)
            .starts_with("statement 2 (Sid NoSecret) explicitly denies"));
    }

    #[test]
    fn notes_explain_what_did_not_apply() {
        let eval = evaluate(&identity_policy(), &publish(&own("x")));
        assert!(
            eval.notes
                .iter()
                .any(|n| n.contains("${cognito-identity.amazonaws.com:sub}")
                    && n.contains("no value in the request context")),
            "{:?}",
            eval.notes
        );

        let policy = allow_if(
            "iot:Connect",
            json!({"StringEqualz": {"iot:ClientId": "c1"}}),
        );
        let eval = evaluate(&policy, &connect("c1"));
        assert!(
            eval.notes
                .iter()
                .any(|n| n.contains("unknown condition operator \"StringEqualz\"")),
            "{:?}",
            eval.notes
        );

        let policy = allow_if(
            "iot:Connect",
            json!({"StringEquals": {KEY_COGNITO_AUD: POOL}}),
        );
        let eval = evaluate(&policy, &connect("c1"));
        assert!(
            eval.notes
                .iter()
                .any(|n| n.contains("Condition is not met")),
            "{:?}",
            eval.notes
        );

        let policy = json!({"Statement": [allow(json!("iot:Publish"), "topic/${iot:ClientId}")]});
        let eval = evaluate(&policy, &publish("c1"));
        assert!(
            eval.notes.iter().any(|n| n.contains("literal text")),
            "{:?}",
            eval.notes
        );

        let policy = doc(json!([{"Effect": "Allow", "Action": "iot:Connect"}]));
        let eval = evaluate(&policy, &connect("c1"));
        assert!(
            eval.notes
                .iter()
                .any(|n| n.contains("neither Resource nor NotResource")),
            "{:?}",
            eval.notes
        );

        let policy = doc(
            json!([{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}]),
        );
        let eval = evaluate(&policy, &connect("c1"));
        assert!(
            eval.notes
                .iter()
                .any(|n| n.contains("cannot be evaluated offline")),
            "{:?}",
            eval.notes
        );
    }

    #[test]
    fn policy_given_as_json_text() {
        let text = Value::String(identity_policy().to_string());
        assert!(evaluate(&text, &identity(connect(SUB))).is_allowed());
        let broken = Value::String("{not json".to_string());
        let eval = evaluate(&broken, &connect("c1"));
        assert_eq!(eval.decision, Decision::ImplicitDeny);
        assert!(eval.notes[0].contains("not valid JSON"));
        let eval = evaluate(&json!({"Version": "2012-10-17"}), &connect("c1"));
        assert!(eval.notes[0].contains("no Statement"));
    }

    fn role_policy() -> Value {
        doc(json!([{
            "Effect": "Allow",
            "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"],
            "Resource": "*"
        }]))
    }

    #[test]
    fn layers_authenticated_needs_role_and_iot_policy() {
        let role = role_policy();
        let iot = identity_policy();
        let req = identity(publish(&own("t")));
        let result = evaluate_layers(
            &[("AuthRole", &role)],
            &[("IdentityPolicy", &iot)],
            &req,
            true,
        );
        assert!(result.is_allowed(), "{:?}", result.refusals);
        assert!(result.refusals.is_empty());

        // IoT: an authenticated Cognito identity also needs an IoT policy allowing the request
        let req = identity(publish(&format!("{POOL}/{OTHER_SUB}/t")));
        let result = evaluate_layers(
            &[("AuthRole", &role)],
            &[("IdentityPolicy", &iot)],
            &req,
            true,
        );
        assert_eq!(result.decision, Decision::ImplicitDeny);
        assert_eq!(result.refused_by(), Some(Layer::IotPolicy));
        assert!(result.refusals[0].reason.contains("\"IdentityPolicy\""));

        // IoT: with no IoT policy attached, authenticated identities are refused
        let req = identity(publish(&own("t")));
        let result = evaluate_layers(&[("AuthRole", &role)], &[], &req, true);
        assert_eq!(result.refused_by(), Some(Layer::IotPolicy));
        assert!(result.refusals[0].reason.contains("iot:AttachPolicy"));

        // IAM: the role must allow too
        let narrow = doc(json!([allow(json!("iot:Connect"), "client/*")]));
        let result = evaluate_layers(
            &[("AuthRole", &narrow)],
            &[("IdentityPolicy", &iot)],
            &req,
            true,
        );
        assert_eq!(result.refused_by(), Some(Layer::IdentityRole));
        assert_eq!(result.refusals.len(), 1);

        // IAM: explicit deny in either layer overrides allow
        let deny = doc(json!([{"Effect": "Deny", "Action": "iot:Publish", "Resource": "*"}]));
        let result = evaluate_layers(
            &[("AuthRole", &role)],
            &[("IdentityPolicy", &iot), ("Deny", &deny)],
            &req,
            true,
        );
        assert_eq!(result.decision, Decision::ExplicitDeny);
        assert_eq!(result.refused_by(), Some(Layer::IotPolicy));
        assert!(result.refusals[0].reason.contains("explicitly denies"));
    }

    #[test]
    fn layers_unauthenticated_role_alone_decides() {
        let role = role_policy();
        let deny_all = doc(json!([{"Effect": "Deny", "Action": "*", "Resource": "*"}]));
        let req = publish("anything").with_context(&Context::cognito_identity(SUB, POOL, false));
        let result = evaluate_layers(
            &[("UnauthRole", &role)],
            &[("Ignored", &deny_all)],
            &req,
            false,
        );
        assert!(result.is_allowed());
        assert!(result.iot.is_none());
        assert_eq!(result.notes.len(), 1);

        let result = evaluate_layers(&[], &[], &req, false);
        assert_eq!(result.refused_by(), Some(Layer::IdentityRole));
        assert!(result.refusals[0].reason.contains("no policy is attached"));
    }

    #[test]
    fn pattern_helpers() {
        assert!(pattern_covers_prefix("iot:*", "iot:", true));
        assert!(pattern_covers_prefix("*", "iot:", true));
        assert!(pattern_covers_prefix("IO?:*", "iot:", true));
        assert!(pattern_covers_prefix("*:*", "iot:", true));
        assert!(!pattern_covers_prefix("iot:Attach*", "iot:", true));
        assert!(!pattern_covers_prefix("iot:?", "iot:", true));
        assert!(has_wildcards("client/*"));
        assert!(!has_wildcards("client/${iot:Connection.Thing.ThingName}"));
        assert!(!has_wildcards("client/${*}"));
        assert_eq!(
            policy_variables("topic/${iot:ClientId}/${*}/${aws:username, 'x'}"),
            vec!["iot:ClientId".to_string(), "aws:username".to_string()]
        );
        assert!(action_matches("iot:Attach*", "iot:AttachPolicy"));
        assert_eq!(
            resource_matches(
                "topic/${iot:ClientId}",
                "topic/c1",
                &Context::new().with(KEY_IOT_CLIENT_ID, "c1")
            ),
            Some(true)
        );
        assert_eq!(
            resource_matches("topic/${iot:ClientId}", "topic/c1", &Context::new()),
            None
        );
        assert!(is_known_condition_operator(
            "ForAnyValue:StringLikeIfExists"
        ));
        assert!(is_known_condition_operator("DateLessThan"));
        assert!(!is_supported_condition_operator("DateLessThan"));
        assert!(!is_known_condition_operator("NullIfExists"));
        assert!(!is_known_condition_operator("StringEqualz"));
    }
}
