//! The app secret is readable only from the address (or CIDR) given as `--ip`.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::{Check, Facts};
use iotstack_policy::{self as eval, Decision, Request, KEY_SOURCE_IP};

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

pub fn checks(facts: &Facts) -> Vec<Check> {
    let Some(secret) = facts.of_type("secretsmanager_secret") else {
        return Vec::new();
    };
    let c = Check::new(
        "secret-address",
        "The app secret is readable only from --ip",
    );
    let Some(o) = &secret.observed else {
        return vec![c.fail("the app secret does not exist", "run `iotstack apply`")];
    };
    let Some(ip) = &facts.subject.ip else {
        return vec![
            c.skip("pass --ip (or set IOTSTACK_IP) to check the secret's address restriction")
        ];
    };
    let Ok(net) = ip.parse::<IpNet>() else {
        return vec![c.skip(format!("`{ip}` is not a CIDR"))];
    };
    let doc = o
        .props
        .get("resource_policy")
        .cloned()
        .unwrap_or(Value::Null);
    let arn = o.attr("arn");
    let (inside, outside) = inside_outside(&net);
    let mut problems = Vec::new();
    for action in [
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    ] {
        let from_inside = Request::new(action, arn).with(KEY_SOURCE_IP, inside.to_string());
        if eval::evaluate(&doc, &from_inside).decision == Decision::ExplicitDeny {
            problems.push(format!(
                "{action} from {inside} (inside {ip}) is denied by the secret's resource policy"
            ));
        }
        if let Some(outside) = outside {
            let from_outside = Request::new(action, arn).with(KEY_SOURCE_IP, outside.to_string());
            if eval::evaluate(&doc, &from_outside).decision != Decision::ExplicitDeny {
                problems.push(format!("{action} from {outside} (outside {ip}) is not denied by the secret's resource policy"));
            }
        }
    }
    let c = if doc.is_null() {
        c.fail(
            format!("secret {} has no resource policy: it is readable from any address", o.attr("name")),
            "restore the deny-outside-address policy (`iotstack doctor --fix --ip IP` or `iotstack apply`)",
        )
    } else if problems.is_empty() {
        return vec![c.pass(format!(
            "{}: GetSecretValue and DescribeSecret are denied outside {ip}",
            o.attr("name")
        ))];
    } else {
        c.fail_all(problems, format!("set the policy's `NotIpAddress aws:SourceIp` to {ip} (`iotstack doctor --fix --ip {ip}` restores the stack's policy)"))
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

    #[test]
    fn a_restriction_to_another_address_is_restored() {
        let mut f = healthy();
        let loose = json!({"Statement": [{"Effect": "Deny", "Principal": "*",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], "Resource": "*",
            "Condition": {"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}}]});
        set_live(&mut f, "app-secret", "resource_policy", loose);
        let c = failing(&f, "secret-address", "203.0.113.7");
        assert_eq!(c.evidence.len(), 2, "both actions from inside: {c:#?}");
        restores(&c, "app-secret");
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
