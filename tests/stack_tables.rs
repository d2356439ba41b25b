//! Who may and may not connect, publish, subscribe and receive in the shipped stacks
//! `stacks/notifications.yaml` and `stacks/chatroom.yaml`, decided by the offline IoT evaluator
//! (the one `doctor` uses) from the stack's own policy templates, rendered as for a deployment.
//!
//! AWS IoT authorizes a signed-in Cognito identity only when **both** the identity pool's
//! authenticated role (IAM) and the IoT policy attached to the identity allow the request; a
//! guest has the unauthenticated role alone; a backend with IAM credentials has its role's IAM
//! policy alone. Policy variables (`${cognito-identity.amazonaws.com:sub}`, ...) are substituted
//! from each request's context, and `*` / `?` follow the IoT wildcard rules (MQTT `+` and `#` are
//! literal characters in policies).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use iotstack::stack::Stack;
use iotstack_policy::{
    evaluate_layers, evaluate_policies, Context, IotAction, Layer, Request, KEY_IOT_CLIENT_ID,
};

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "123456789012";
const PREFIX: &str = "acme";
/// The identity pool the stack is deployed with.
const POOL: &str = "us-east-1:0f0f0f0f-1111-4222-8333-444444444444";
/// Another identity pool in the same account.
const OTHER_POOL: &str = "us-east-1:0e0e0e0e-5555-4666-8777-888888888888";
const A: &str = "us-east-1:aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const B: &str = "us-east-1:bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const GUEST: &str = "us-east-1:99999999-9999-4999-8999-999999999999";

/// Who makes the request.
#[derive(Debug, Clone, Copy)]
enum Who {
    /// A signed-in identity whose IoT policy is attached (as the attach function does).
    User(&'static str),
    /// A signed-in identity whose IoT policy is not attached yet.
    Unattached(&'static str),
    /// A guest (unauthenticated) identity of the pool.
    Guest(&'static str),
    /// An IAM role of the stack (its resource id), with IAM credentials.
    Role(&'static str),
}

const ALLOW: bool = true;
const DENY: bool = false;

struct Case {
    why: &'static str,
    who: Who,
    action: IotAction,
    /// Client id, topic or topic filter, depending on the action.
    name: String,
    allow: bool,
}

fn case(why: &'static str, who: Who, action: IotAction, name: &str, allow: bool) -> Case {
    Case {
        why,
        who,
        action,
        name: name.to_string(),
        allow,
    }
}

/// The stack's policies as rendered for one deployment (prefix `acme`, identity pool [`POOL`]).
struct Rendered {
    /// IAM role resource id -> its inline policies (name, document).
    roles: BTreeMap<String, Vec<(String, Value)>>,
    /// IoT policy resource id -> its document.
    iot_policies: BTreeMap<String, Value>,
    /// Whether the identity pool gives guests credentials.
    allow_guests: bool,
    /// The roles the identity pool gives its identities (resource ids).
    auth_role: String,
    unauth_role: Option<String>,
    /// The IoT policy attached to each signed-in identity (resource id).
    identity_policy: String,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ref:<id>.<attr>` stands for an attribute of another resource; the resource id is what the
/// tables need of it.
fn referenced(v: &str) -> String {
    v.strip_prefix("ref:")
        .and_then(|r| r.split_once('.'))
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| panic!("expected a reference to another resource, found {v:?}"))
}

fn render(stack: &Path) -> Rendered {
    let s =
        Stack::load(stack).unwrap_or_else(|d| panic!("{} does not load: {d:?}", stack.display()));
    let values: BTreeMap<String, String> = [
        ("prefix", PREFIX),
        ("prefix_underscore", PREFIX),
        ("region", REGION),
        ("account", ACCOUNT),
        ("partition", "aws"),
        ("email", "ops@example.com"),
        ("email_domain", "example.com"),
        ("ip", "203.0.113.7/32"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let type_of = |id: &str| s.get(id).map(|r| r.kind.type_name()).unwrap_or_default();
    let lookup = |id: &str, attr: &str| -> Option<String> {
        Some(match (type_of(id), attr) {
            ("cognito_identity_pool", "id") => POOL.to_string(),
            _ => format!("ref:{id}.{attr}"),
        })
    };
    let mut r = Rendered {
        roles: BTreeMap::new(),
        iot_policies: BTreeMap::new(),
        allow_guests: true,
        auth_role: String::new(),
        unauth_role: None,
        identity_policy: String::new(),
    };
    for decl in &s.resources {
        let d = decl.resolve(&values, &lookup);
        match decl.kind.type_name() {
            "iam_role" => {
                assert_eq!(
                    d.value("managed_policy_arns"),
                    &Value::Array(vec![]),
                    "{}: the tables evaluate inline policies only",
                    d.id
                );
                let docs = d
                    .document("inline_policies")
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                r.roles.insert(d.id.clone(), docs);
            }
            "iot_policy" => {
                r.iot_policies
                    .insert(d.id.clone(), d.document("document").clone());
            }
            "cognito_identity_pool" => r.allow_guests = d.bool("allow_unauthenticated", false),
            "cognito_identity_pool_roles" => {
                r.auth_role = referenced(d.str("authenticated_role_arn"));
                r.unauth_role = d
                    .opt_str("unauthenticated_role_arn")
                    .filter(|v| !v.is_empty())
                    .map(referenced);
            }
            "iot_identity_attachments" => r.identity_policy = referenced(d.str("policy")),
            _ => {}
        }
    }
    assert!(
        !r.auth_role.is_empty(),
        "the stack sets no authenticated role"
    );
    assert!(
        r.iot_policies.contains_key(&r.identity_policy),
        "the stack attaches no IoT policy to identities"
    );
    r
}

fn named(docs: &[(String, Value)]) -> Vec<(&str, &Value)> {
    docs.iter().map(|(n, d)| (n.as_str(), d)).collect()
}

/// Whether AWS IoT would allow the case, and the evaluator's reasons when it refuses.
fn decide(r: &Rendered, c: &Case) -> (bool, String) {
    let identity = |id: &str, authenticated: bool| {
        let ctx = Context::cognito_identity(id, POOL, authenticated);
        let req = Request::iot(c.action, REGION, ACCOUNT, &c.name).with_context(&ctx);
        // Publish, Subscribe and Receive come from a connection whose client id is the identity's.
        match c.action {
            IotAction::Connect => req,
            _ => req.with(KEY_IOT_CLIENT_ID, id),
        }
    };
    let result = match c.who {
        Who::User(id) | Who::Unattached(id) => {
            let attached = matches!(c.who, Who::User(_));
            let iot = &r.iot_policies[&r.identity_policy];
            let iot_policies: Vec<(&str, &Value)> = if attached {
                vec![(r.identity_policy.as_str(), iot)]
            } else {
                Vec::new()
            };
            evaluate_layers(
                &named(&r.roles[&r.auth_role]),
                &iot_policies,
                &identity(id, true),
                true,
            )
        }
        Who::Guest(id) => {
            if !r.allow_guests {
                return (
                    false,
                    "the identity pool gives guests no credentials".into(),
                );
            }
            let role = r.unauth_role.as_ref().map(|id| named(&r.roles[id]));
            evaluate_layers(&role.unwrap_or_default(), &[], &identity(id, false), false)
        }
        Who::Role(role) => {
            let req = Request::iot(c.action, REGION, ACCOUNT, &c.name);
            let e = evaluate_policies(Layer::IdentityRole, &named(&r.roles[role]), &req);
            return (e.is_allowed(), e.explain(&req));
        }
    };
    let reasons = result
        .refusals
        .iter()
        .map(|x| x.reason.clone())
        .collect::<Vec<_>>()
        .join("; ");
    (result.is_allowed(), reasons)
}

fn check_table(stack: &str, cases: &[Case]) {
    let r = render(&repo().join(stack));
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let (allowed, reasons) = decide(&r, c);
            (allowed != c.allow).then(|| {
                format!(
                    "{stack}: {}: {:?} {} {}: expected {}, got {} ({reasons})",
                    c.why,
                    c.who,
                    c.action,
                    c.name,
                    if c.allow { "allow" } else { "deny" },
                    if allowed { "allow" } else { "deny" },
                )
            })
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

use IotAction::{Connect, Publish, Receive, Subscribe};

#[test]
fn notifications_each_user_receives_only_its_own_topic() {
    let own = |id: &str| format!("private/{id}");
    let backend = Who::Role("backend-role");
    #[rustfmt::skip]
    let cases = [
        // A signed-in user connects as itself.
        case("connect as itself", Who::User(A), Connect, A, ALLOW),
        case("forged client id: another identity's", Who::User(A), Connect, B, DENY),
        case("client id must be exactly the identity id", Who::User(A), Connect, &format!("{A}-laptop"), DENY),
        case("forged client id: a made-up one", Who::User(A), Connect, "backend", DENY),
        // Its own notifications, and nobody else's.
        case("subscribe to its own topic", Who::User(A), Subscribe, &own(A), ALLOW),
        case("receive its own notifications", Who::User(A), Receive, &own(A), ALLOW),
        case("user A on B's topic: subscribe", Who::User(A), Subscribe, &own(B), DENY),
        case("user A on B's topic: receive", Who::User(A), Receive, &own(B), DENY),
        case("every user's topic at once (+)", Who::User(A), Subscribe, "private/+", DENY),
        case("every user's topic at once (#)", Who::User(A), Subscribe, "private/#", DENY),
        case("everything", Who::User(A), Subscribe, "#", DENY),
        case("a level below its own topic", Who::User(A), Subscribe, &format!("{}/x", own(A)), DENY),
        case("users only listen: not even to themselves", Who::User(A), Publish, &own(A), DENY),
        case("user A forging B's notifications", Who::User(A), Publish, &own(B), DENY),
        case("user B has its own", Who::User(B), Receive, &own(B), ALLOW),
        case("user B on A's topic", Who::User(B), Receive, &own(A), DENY),
        // Without the IoT policy attached to the identity, the role alone is not enough.
        case("not attached yet: connect", Who::Unattached(A), Connect, A, DENY),
        case("not attached yet: receive", Who::Unattached(A), Receive, &own(A), DENY),
        // Guests get nothing.
        case("guest: connect", Who::Guest(GUEST), Connect, GUEST, DENY),
        case("guest: subscribe", Who::Guest(GUEST), Subscribe, &own(GUEST), DENY),
        case("guest: receive", Who::Guest(GUEST), Receive, &own(GUEST), DENY),
        // The backend publishes to any identity's topic, and does nothing else.
        case("backend: publish to A", backend, Publish, &own(A), ALLOW),
        case("backend: publish to B", backend, Publish, &own(B), ALLOW),
        case("backend: outside private/", backend, Publish, "public/news", DENY),
        case("backend: a look-alike prefix", backend, Publish, &format!("privateX/{A}"), DENY),
        case("backend: subscribe", backend, Subscribe, "private/#", DENY),
        case("backend: receive", backend, Receive, &own(A), DENY),
        case("backend: no MQTT session (it publishes over HTTPS)", backend, Connect, "backend", DENY),
        // The attach function's role attaches policies; it has no data-plane access.
        case("attach function: publish", Who::Role("attach-role"), Publish, &own(A), DENY),
        // The authenticated role cannot publish notifications either.
        case("the users' role is not the backend", Who::Role("auth-role"), Publish, &own(A), DENY),
    ];
    check_table("stacks/notifications.yaml", &cases);
}

#[test]
fn chatroom_users_publish_only_as_themselves_and_read_every_room() {
    let room = |room: &str, id: &str| format!("{POOL}/{room}/{id}");
    #[rustfmt::skip]
    let cases = [
        // Client ids start with the identity id.
        case("connect as itself", Who::User(A), Connect, A, ALLOW),
        case("a second client of the same user", Who::User(A), Connect, &format!("{A}-laptop"), ALLOW),
        case("forged client id: another identity's", Who::User(A), Connect, B, DENY),
        case("forged client id: B's id with a suffix", Who::User(A), Connect, &format!("{B}-{A}"), DENY),
        case("forged client id: own id not at the start", Who::User(A), Connect, &format!("chat-{A}"), DENY),
        // Each user publishes only as itself, in any room of this pool.
        case("publish as itself in the lobby", Who::User(A), Publish, &room("lobby", A), ALLOW),
        case("publish as itself in another room", Who::User(A), Publish, &room("random", A), ALLOW),
        case("user A posing as B", Who::User(A), Publish, &room("lobby", B), DENY),
        case("a room's topic without a sender", Who::User(A), Publish, &format!("{POOL}/lobby"), DENY),
        case("below its own sender topic", Who::User(A), Publish, &format!("{}/x", room("lobby", A)), DENY),
        case("a two-level room that ends in B's id", Who::User(A), Publish, &room(&format!("lobby/{B}"), A), DENY),
        case("another pool's rooms", Who::User(A), Publish, &format!("{OTHER_POOL}/lobby/{A}"), DENY),
        case("outside the rooms", Who::User(A), Publish, &format!("lobby/{A}"), DENY),
        case("user B as itself", Who::User(B), Publish, &room("lobby", B), ALLOW),
        case("user B posing as A", Who::User(B), Publish, &room("lobby", A), DENY),
        // Every room may be read.
        case("one room", Who::User(A), Subscribe, &format!("{POOL}/lobby/+"), ALLOW),
        case("one room, any depth", Who::User(A), Subscribe, &format!("{POOL}/lobby/#"), ALLOW),
        case("every room", Who::User(A), Subscribe, &format!("{POOL}/+/+"), ALLOW),
        case("every room, any depth", Who::User(A), Subscribe, &format!("{POOL}/#"), ALLOW),
        case("B's messages in a room", Who::User(A), Receive, &room("lobby", B), ALLOW),
        case("everything", Who::User(A), Subscribe, "#", DENY),
        case("another pool's rooms", Who::User(A), Subscribe, &format!("{OTHER_POOL}/#"), DENY),
        case("a message outside the rooms", Who::User(A), Receive, "other/news", DENY),
        // Without the IoT policy attached to the identity, the role alone is not enough.
        case("not attached yet: connect", Who::Unattached(A), Connect, A, DENY),
        case("not attached yet: publish", Who::Unattached(A), Publish, &room("lobby", A), DENY),
        case("not attached yet: receive", Who::Unattached(A), Receive, &room("lobby", B), DENY),
        // Guests get nothing.
        case("guest: connect", Who::Guest(GUEST), Connect, GUEST, DENY),
        case("guest: publish", Who::Guest(GUEST), Publish, &room("lobby", GUEST), DENY),
        case("guest: subscribe", Who::Guest(GUEST), Subscribe, &format!("{POOL}/#"), DENY),
        case("guest: receive", Who::Guest(GUEST), Receive, &room("lobby", A), DENY),
        // The attach function's role has no data-plane access.
        case("attach function: publish", Who::Role("attach-role"), Publish, &room("lobby", A), DENY),
    ];
    check_table("stacks/chatroom.yaml", &cases);
}

/// The tables stand for both layers only if the IoT policy and the role's IAM policy grant the
/// same: each stack renders one template into both.
#[test]
fn both_layers_carry_the_same_grants() {
    for (stack, template) in [
        ("stacks/notifications.yaml", "own-notifications"),
        ("stacks/chatroom.yaml", "chat-rooms"),
    ] {
        let r = render(&repo().join(stack));
        let role = &r.roles[&r.auth_role];
        let (_, in_role) = role
            .iter()
            .find(|(n, _)| n == template)
            .unwrap_or_else(|| panic!("{stack}: the authenticated role has no {template}"));
        assert_eq!(in_role, &r.iot_policies[&r.identity_policy], "{stack}");
        assert!(!r.allow_guests, "{stack}: guests get no credentials");
        assert_eq!(r.unauth_role, None, "{stack}");
    }
}
