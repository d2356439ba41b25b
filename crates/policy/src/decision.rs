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
//!   any `${key}`) are substituted from the request [`Context`](crate::Context) when the
//!   document has `"Version": "2012-10-17"` (otherwise they are literal
//!   text); a variable that cannot be resolved makes the element using it
//!   not match; `${*}`, `${?}` and `${$}` stand for a literal `*`, `?`, `$`.
//!
//! Statement indexes are zero-based, as in the JSON pointer
//! `/Statement/<index>`.

use serde::Serialize;
use serde_json::Value;

use crate::document::{
    self, mentions_variables, Document, Effect, NotAnObject, StatementsProblem, POLICY_VERSION,
};
use crate::request::Request;
use crate::statement::{evaluate_statement, statement_label};

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

display_as!(Decision, as_str);

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
    let value = match document::json(policy) {
        Ok(value) => value,
        Err(err) => {
            notes.push(format!("policy document is not valid JSON: {err}"));
            return Evaluation::refused(notes);
        }
    };
    let Some(doc) = Document::parse(&value) else {
        notes.push("policy document is not a JSON object".to_string());
        return Evaluation::refused(notes);
    };
    let statements = match &doc.statements {
        Ok(statements) => statements,
        Err(StatementsProblem::NotAList) => {
            notes.push("Statement must be an object or an array of objects".to_string());
            return Evaluation::refused(notes);
        }
        Err(StatementsProblem::Missing) => {
            notes.push("policy document has no Statement".to_string());
            return Evaluation::refused(notes);
        }
    };
    let vars = doc.substitutes_variables();
    if !vars && mentions_variables(doc.value) {
        notes.push(format!(
            "policy Version is not {POLICY_VERSION}, so ${{...}} policy variables are matched as literal text"
        ));
    }

    let mut matched = Vec::new();
    for statement in statements {
        match statement {
            Ok(statement) => {
                matched.extend(evaluate_statement(statement, request, vars, &mut notes))
            }
            Err(NotAnObject { index, .. }) => notes.push(format!(
                "{} is not a JSON object; ignored",
                statement_label(*index, None)
            )),
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

display_as!(Layer, describe);

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
