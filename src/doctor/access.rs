//! What a signed-in client asks AWS IoT for (Connect, Publish, Subscribe, Receive), and whether
//! each request passes **both** layers: the authenticated role's policies and the IoT policies
//! attached to the identity.

use serde_json::Value;

use super::{crosscheck, Check, Facts};
use iotstack_policy::{self as eval, Context, IotAction, Request, KEY_IOT_CLIENT_ID};

/// The requests a client makes, for an identity, client id and topic.
#[derive(Debug, Clone)]
pub struct Requests {
    pub identity: String,
    pub client_id: String,
    pub topic: String,
    /// No `--identity-id` was given: `identity` is a made-up one.
    pub sample: bool,
    pub region: String,
    pub account: String,
    pub pool_id: String,
}

impl Requests {
    /// The requests of the subject (or of a sample identity) of the identity pool `pool_id`.
    pub fn of_subject(f: &Facts, pool_id: &str) -> Requests {
        let (identity, sample) = match &f.subject.identity_id {
            Some(i) => (i.clone(), false),
            None => (
                format!("{}:00000000-0000-0000-0000-000000000000", f.region),
                true,
            ),
        };
        Requests {
            client_id: f
                .subject
                .client_id
                .clone()
                .unwrap_or_else(|| identity.clone()),
            topic: f
                .subject
                .topic
                .clone()
                .unwrap_or_else(|| format!("{pool_id}/{identity}/test")),
            identity,
            sample,
            region: f.region.clone(),
            account: f.account.clone(),
            pool_id: pool_id.to_string(),
        }
    }

    /// Connect, then Publish, Subscribe and Receive on the topic (only Subscribe for a filter).
    pub fn all(&self) -> Vec<(IotAction, Request)> {
        let (region, account) = (self.region.as_str(), self.account.as_str());
        let ctx = Context::cognito_identity(&self.identity, &self.pool_id, true)
            .with(KEY_IOT_CLIENT_ID, self.client_id.as_str());
        // A topic filter is only subscribed to.
        let wildcard = self.topic.contains('+') || self.topic.contains('#');
        [
            (IotAction::Connect, &self.client_id),
            (IotAction::Publish, &self.topic),
            (IotAction::Subscribe, &self.topic),
            (IotAction::Receive, &self.topic),
        ]
        .into_iter()
        .filter(|(a, _)| !wildcard || matches!(a, IotAction::Connect | IotAction::Subscribe))
        .map(|(a, name)| (a, Request::iot(a, region, account, name).with_context(&ctx)))
        .collect()
    }
}

/// `action: why` for each request that `why_not` refuses (it returns the explanation).
pub fn refused<'r>(
    requests: impl IntoIterator<Item = &'r Request>,
    why_not: impl Fn(&Request) -> Option<String>,
) -> Vec<String> {
    requests
        .into_iter()
        .filter_map(|r| Some(format!("{}: {}", r.action, why_not(r)?)))
        .collect()
}

/// Why one policy document refuses a request, if it does.
pub fn document_refuses(doc: &Value, req: &Request) -> Option<String> {
    let e = eval::evaluate(doc, req);
    (!e.is_allowed()).then(|| e.explain(req))
}

/// Why a layer of named documents refuses a request, if it does.
pub fn layer_refuses(
    layer: eval::Layer,
    docs: &[(String, Value)],
    req: &Request,
) -> Option<String> {
    let e = eval::evaluate_policies(layer, &refs(docs), req);
    (!e.is_allowed()).then(|| e.explain(req))
}

fn refs(p: &[(String, Value)]) -> Vec<(&str, &Value)> {
    p.iter().map(|(n, v)| (n.as_str(), v)).collect()
}

/// One check per request: allowed by the role's documents and the identity's IoT policies, beside
/// AWS's own verdict on each layer when it was asked ([`crosscheck`]).
pub fn both_layers(
    f: &Facts,
    requests: &Requests,
    role_docs: &[(String, Value)],
    iot_docs: &[(String, Value)],
    policy_name: &str,
) -> Vec<Check> {
    let mut out = Vec::new();
    let asks = crosscheck::identity_asks(f);
    for (a, req) in requests.all() {
        let r = eval::evaluate_layers(&refs(role_docs), &refs(iot_docs), &req, true);
        let name = a.as_str().trim_start_matches("iot:").to_lowercase();
        // `client/...`, `topic/...`: the ARN without its partition, region and account.
        let short = req.resource.splitn(6, ':').nth(5).unwrap_or(&req.resource);
        let title = format!(
            "{} on {short} passes both the role and the IoT policy",
            a.as_str()
        );
        let c = Check::new(access_id(a), title);
        let c = if r.is_allowed() {
            let c = c.pass(r.role.explain(&req));
            match &r.iot {
                Some(i) => c.note(i.explain(&req)),
                None => c,
            }
        } else {
            let c = c.fail(
                r.refusals
                    .iter()
                    .map(|x| x.reason.clone())
                    .collect::<Vec<_>>()
                    .join("; "),
                match r.refused_by() {
                    Some(eval::Layer::IotPolicy) => format!(
                        "attach {policy_name} to the identity and let it allow {name} on this resource"
                    ),
                    _ => "let the authenticated role allow it (see auth-role-iot)".to_string(),
                },
            );
            if requests.sample {
                c.note(format!(
                    "evaluated for the sample identity {}",
                    requests.identity
                ))
            } else {
                c
            }
        };
        let said = asks
            .as_ref()
            .map(|asks| crosscheck::identity(f, asks, &req, &r))
            .unwrap_or_default();
        out.push(crosscheck::add(c, said));
    }
    out
}

fn access_id(a: IotAction) -> &'static str {
    match a {
        IotAction::Connect => "access-connect",
        IotAction::Publish => "access-publish",
        IotAction::Subscribe => "access-subscribe",
        IotAction::Receive => "access-receive",
    }
}
