//! The app secret's resource policy: its value is readable only from the address (or CIDR)
//! given as `--ip`; its value, tags and policy cannot be changed from outside it by anyone but
//! the principal that applied the stack; and nothing iotstack reads is denied anywhere, so a run
//! from another address can still see and repair the secret.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::{Check, Facts};
use iotstack_policy::{self as eval, Decision, Request, KEY_SOURCE_IP};

/// Reading the value: denied outside `--ip`.
const READ: &str = "secretsmanager:GetSecretValue";

/// What iotstack reads to plan and repair the secret: never denied by address, or a run from
/// another address could not see the secret it has to repair.
const OWN_READS: [&str; 3] = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:ListSecretVersionIds",
];

/// Changes of the policy and the value: denied outside `--ip` to everyone but the deployer.
const CHANGES: [&str; 4] = [
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
];

/// The `aws:userid` of a principal that did not deploy the stack (a role session).
const SOMEONE_ELSE: &str = "AROAIOTSTACKDOCTORPROBE:someone-else";

/// An address AWS may see requests come from, outside every documentation range the stack's
/// own examples use: the policy must deny reading the value from somewhere.
const ELSEWHERE: &str = "192.0.2.77";

/// An address inside the network and one just outside it.
fn inside_outside(net: &IpNet) -> (IpAddr, Option<IpAddr>) {
    let inside = net.network();
    let outside = match net {
        IpNet::V4(n) => {
            let after = u32::from(n.broadcast()).checked_add(1);
            let before = u32::from(n.network()).checked_sub(1);
            after.or(before).map(|a| IpAddr::V4(a.into()))
        }
        IpNet::V6(n) => {
            let after = u128::from(n.broadcast()).checked_add(1);
            let before = u128::from(n.network()).checked_sub(1);
            after.or(before).map(|a| IpAddr::V6(a.into()))
        }
    };
    (inside, outside)
}

/// The networks the policy names in `aws:SourceIp` conditions.
fn source_networks(doc: &Value) -> Vec<IpNet> {
    let statements = match &doc["Statement"] {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut nets = Vec::new();
    for condition in statements.iter().filter_map(|s| s["Condition"].as_object()) {
        for keys in condition.values().filter_map(Value::as_object) {
            let ip = keys
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(KEY_SOURCE_IP));
            let values = match ip.map(|(_, v)| v) {
                Some(Value::Array(a)) => a.iter().collect(),
                Some(v) => vec![v],
                None => Vec::new(),
            };
            let parsed = values.into_iter().filter_map(Value::as_str);
            nets.extend(parsed.filter_map(|v| {
                v.parse::<IpNet>()
                    .ok()
                    .or_else(|| v.parse::<IpAddr>().ok().map(IpNet::from))
            }));
        }
    }
    nets
}

/// The actions of `actions` for which `pick` holds, without the service prefix, joined by `, `
/// (empty when there are none).
fn named(actions: &[&str], pick: impl Fn(&str) -> bool) -> String {
    let picked: Vec<&str> = actions.iter().copied().filter(|a| pick(a)).collect();
    let short: Vec<&str> = picked
        .iter()
        .map(|a| a.trim_start_matches("secretsmanager:"))
        .collect();
    short.join(", ")
}

/// Whether the policy denies `action` from `addr` to a principal that did not deploy the stack.
fn denied(doc: &Value, arn: &str, action: &str, addr: IpAddr) -> bool {
    let request = Request::new(action, arn)
        .with(KEY_SOURCE_IP, addr.to_string())
        .with("aws:userid", SOMEONE_ELSE);
    eval::evaluate(doc, &request).decision == Decision::ExplicitDeny
}

/// What is wrong with the policy whatever `--ip` is: it restricts nothing (no address is denied
/// the value, or one of its networks is every address), changes are not denied outside its
/// networks, or it denies what iotstack reads.
fn judge(doc: &Value, arn: &str) -> Vec<String> {
    let nets = source_networks(doc);
    let mut problems = Vec::new();
    for net in nets.iter().filter(|n| n.prefix_len() == 0) {
        problems.push(format!(
            "`aws:SourceIp` {net} admits every address: the policy restricts nothing"
        ));
    }
    let elsewhere: IpAddr = ELSEWHERE.parse().expect("an address");
    let mut probes = vec![elsewhere];
    for net in &nets {
        let (inside, outside) = inside_outside(net);
        probes.push(inside);
        probes.extend(outside);
    }
    if !probes.iter().any(|a| denied(doc, arn, READ, *a)) {
        problems.push(format!(
            "{READ} is denied from no address: the policy restricts nothing"
        ));
    }
    for net in nets.iter().filter(|n| n.prefix_len() > 0) {
        let Some(outside) = inside_outside(net).1 else {
            continue;
        };
        let open = named(&CHANGES, |a| !denied(doc, arn, a, outside));
        if !open.is_empty() {
            problems.push(format!(
                "{open} from {outside} (outside {net}) by any principal is not denied: the policy and the value can be changed from anywhere"
            ));
        }
    }
    for addr in &probes {
        let locked = named(&OWN_READS, |a| denied(doc, arn, a, *addr));
        if !locked.is_empty() {
            problems.push(format!(
                "{locked} from {addr} is denied: iotstack could not read the secret from there"
            ));
        }
    }
    problems.dedup();
    problems
}

/// What is wrong with the policy for `--ip`: the value denied from inside it, or not denied
/// from outside it.
fn judge_ip(doc: &Value, arn: &str, ip: &str, net: &IpNet) -> Vec<String> {
    let (inside, outside) = inside_outside(net);
    let mut problems = Vec::new();
    if denied(doc, arn, READ, inside) {
        problems.push(format!(
            "{READ} from {inside} (inside {ip}) is denied by the secret's resource policy"
        ));
    }
    if let Some(outside) = outside.filter(|a| !denied(doc, arn, READ, *a)) {
        problems.push(format!(
            "{READ} from {outside} (outside {ip}) is not denied by the secret's resource policy"
        ));
    }
    problems
}

pub fn checks(facts: &Facts) -> Vec<Check> {
    let Some(secret) = facts.of_type("secretsmanager_secret") else {
        return Vec::new();
    };
    let c = Check::new(
        "secret-address",
        "The app secret is readable only from --ip, and changed only from there",
    );
    let Some(o) = &secret.observed else {
        return vec![c.fail("the app secret does not exist", "run `iotstack apply`")];
    };
    let doc = o
        .props
        .get("resource_policy")
        .cloned()
        .unwrap_or(Value::Null);
    let arn = o.attr("arn");
    let ip = facts.subject.ip.as_deref();
    let net = ip.and_then(|ip| ip.parse::<IpNet>().ok());
    let mut problems = Vec::new();
    if !doc.is_null() {
        problems = judge(&doc, arn);
        if let (Some(ip), Some(net)) = (ip, &net) {
            problems.extend(judge_ip(&doc, arn, ip, net));
        }
    }
    let fix_ip = ip.unwrap_or("IP");
    let c = if doc.is_null() {
        c.fail(
            format!("secret {} has no resource policy: it is readable from any address", o.attr("name")),
            "restore the deny-outside-address policy (`iotstack doctor --fix --ip IP` or `iotstack apply`)",
        )
    } else if !problems.is_empty() {
        c.fail_all(problems, format!("set the policy's `NotIpAddress aws:SourceIp` to {fix_ip} (`iotstack doctor --fix --ip {fix_ip}` restores the stack's policy)"))
    } else {
        return vec![match (ip, net) {
            (Some(ip), Some(_)) => c.pass(format!(
                "{}: GetSecretValue is denied outside {ip}, and so are changes of its value and policy by anyone but the deployer",
                o.attr("name")
            )),
            (None, _) => c.skip("pass --ip (or set IOTSTACK_IP) to check the secret's address restriction"),
            (Some(ip), None) => c.skip(format!("`{ip}` is not a CIDR")),
        }];
    };
    // Restored only when the stack's policy is resolved (it refers to other resources).
    let restore = secret.desired.is_known("resource_policy");
    vec![if restore {
        c.restore(&secret.desired.id)
    } else {
        c
    }]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::doctor::fixture::*;
    use crate::doctor::Status;

    #[test]
    fn inside_and_outside_addresses() {
        let (i, o) = inside_outside(&"203.0.113.7/32".parse().unwrap());
        assert_eq!(i.to_string(), "203.0.113.7");
        assert_eq!(o.unwrap().to_string(), "203.0.113.8");
        let (_, o) = inside_outside(&"203.0.113.0/24".parse().unwrap());
        assert_eq!(o.unwrap().to_string(), "203.0.114.0");
        let (_, o) = inside_outside(&"255.255.255.255/32".parse().unwrap());
        assert_eq!(o.unwrap().to_string(), "255.255.255.254");
        assert!(inside_outside(&"0.0.0.0/0".parse().unwrap()).1.is_none());
    }

    /// A policy that denies reading the value outside `cidr`, and nothing else.
    fn reads_only(cidr: &str) -> Value {
        json!({"Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": "secretsmanager:GetSecretValue", "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": cidr}}}]})
    }

    #[test]
    fn a_restriction_to_another_address_is_restored() {
        let mut f = healthy();
        // The earlier form of the policy, which also denied DescribeSecret.
        let loose = json!({"Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}]});
        set_live(&mut f, "app-secret", "resource_policy", loose);
        let c = failing(&f, "secret-address", "(inside 203.0.113.7/32) is denied");
        let said = |s: &str| c.evidence.iter().any(|e| e.contains(s));
        assert!(
            said("(outside 198.51.100.0/24) by any principal is not denied"),
            "{c:#?}"
        );
        assert!(said("DescribeSecret from 198.51.101.0 is denied"), "{c:#?}");
        restores(&c, "app-secret");
    }

    #[test]
    fn a_policy_that_restricts_nothing_fails_even_without_ip() {
        for (policy, evidence) in [
            (reads_only("0.0.0.0/0"), "0.0.0.0/0 admits every address"),
            (reads_only("::/0"), "::/0 admits every address"),
            (
                json!({"Statement": [{"Effect": "Allow", "Principal": "*",
                    "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}),
                "denied from no address",
            ),
        ] {
            let mut f = healthy();
            set_live(&mut f, "app-secret", "resource_policy", policy);
            restored(&f, "secret-address", evidence, "app-secret");
            f.subject.ip = None;
            failing(&f, "secret-address", evidence);
        }
    }

    #[test]
    fn changes_from_outside_are_denied_to_all_but_the_deployer() {
        let mut f = healthy();
        set_live(&mut f, "app-secret", "resource_policy", reads_only(IP));
        let c = failing(&f, "secret-address", "can be changed from anywhere");
        assert!(c.evidence[0].starts_with("PutResourcePolicy, DeleteResourcePolicy, PutSecretValue, UpdateSecret from 203.0.113.8"), "{c:#?}");
        // The stack's own policy: someone else outside is denied, the deployer is not, wherever
        // it runs from, and nothing iotstack reads is denied to anyone.
        let doc = template(include_str!("../../policies/app-secret-policy.json"));
        let outside: IpAddr = "198.51.100.9".parse().unwrap();
        for action in CHANGES {
            assert!(denied(&doc, SECRET_ARN, action, outside), "{action}");
            let by_deployer = Request::new(action, SECRET_ARN)
                .with(KEY_SOURCE_IP, outside.to_string())
                .with("aws:userid", "AROAEXAMPLEDEPLOYER:another-session");
            let d = eval::evaluate(&doc, &by_deployer).decision;
            assert_ne!(d, Decision::ExplicitDeny, "{action} by the deployer");
        }
        for action in OWN_READS {
            assert!(!denied(&doc, SECRET_ARN, action, outside), "{action}");
        }
        assert!(denied(&doc, SECRET_ARN, READ, outside));
    }

    #[test]
    fn a_secret_without_restriction_is_restored() {
        let mut f = healthy();
        live_mut(&mut f, "app-secret").props.clear();
        let c = failing(&f, "secret-address", "readable from any address");
        restores(&c, "app-secret");
        // A policy that cannot be resolved yet is not restored.
        let secret = f
            .resources
            .iter_mut()
            .find(|r| r.desired.id == "app-secret");
        secret
            .unwrap()
            .desired
            .unknown
            .insert("resource_policy".into());
        assert!(check(&f, "secret-address").repairs.is_empty());
    }

    #[test]
    fn the_restriction_is_checked_only_against_a_cidr() {
        let mut f = healthy();
        assert_eq!(check(&f, "secret-address").status, Status::Pass);
        f.subject.ip = None;
        assert_eq!(check(&f, "secret-address").status, Status::Skip);
        f.subject.ip = Some("somewhere".into());
        assert_eq!(check(&f, "secret-address").status, Status::Skip);
        remove(&mut f, "app-secret");
        failing(&f, "secret-address", "does not exist");
    }
}
