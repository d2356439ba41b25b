//! What of this suite's stacks exists in one account and region, found the way a person would
//! look: one list call per service, keeping what is named after a prefix of this suite
//! (`prefix::owner`), and for secrets, whose names start with the user pool id, the
//! `iotstack:stack` tag. Certificates have neither a name nor tags: the lifecycle checks its own
//! by id, and `iotstack destroy` finds a stack's certificate through its thing.

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use iotstack::aws::{Clients, OpExt};

use crate::prefix;

/// One resource of one of this suite's stacks.
#[derive(Debug)]
pub struct Found {
    /// What it is, e.g. "IAM role".
    pub kind: &'static str,
    pub name: String,
    /// The prefix of the stack it belongs to.
    pub stack: String,
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// Every item a paginated list request returns (all pages), or its error as text.
macro_rules! every {
    ($request:expr, $operation:literal) => {
        $request
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .op($operation)
            .map_err(|e| e.to_string())?
    };
}

/// Every resource of every stack of this suite in the clients' account and region.
pub async fn all(aws: &Clients) -> Result<Vec<Found>, String> {
    let mut found = Vec::new();
    let mut keep = |kind: &'static str, name: &str| {
        if let Some(stack) = prefix::owner(name) {
            found.push(Found {
                kind,
                name: name.to_string(),
                stack,
            });
        }
    };

    for r in every!(aws.iam.list_roles(), "ListRoles") {
        keep("IAM role", r.role_name());
    }
    for f in every!(aws.lambda.list_functions(), "ListFunctions") {
        keep("Lambda function", f.function_name().unwrap_or_default());
    }
    for p in every!(aws.iot.list_policies(), "ListPolicies") {
        keep("IoT policy", p.policy_name().unwrap_or_default());
    }
    for t in every!(aws.iot.list_things(), "ListThings") {
        keep("IoT thing", t.thing_name().unwrap_or_default());
    }
    // Topic rule names take the prefix with `_` for `-` (`acc_htpp2_7q2m_alerts`).
    for r in every!(aws.iot.list_topic_rules(), "ListTopicRules") {
        keep("IoT topic rule", r.rule_name().unwrap_or_default());
    }
    for t in every!(aws.sns.list_topics(), "ListTopics") {
        let arn = t.topic_arn().unwrap_or_default();
        keep("SNS topic", arn.rsplit(':').next().unwrap_or(arn));
    }
    let pools = aws.cognito_idp.list_user_pools().max_results(60);
    for p in every!(pools, "ListUserPools") {
        keep("Cognito user pool", p.name().unwrap_or_default());
    }
    let identity_pools = aws.cognito_identity.list_identity_pools().max_results(60);
    for p in every!(identity_pools, "ListIdentityPools") {
        keep(
            "Cognito identity pool",
            p.identity_pool_name().unwrap_or_default(),
        );
    }

    // ListSecrets is eventually consistent ("might not reflect changes from the last five
    // minutes", Secrets Manager API reference, ListSecrets:
    // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html):
    // callers that expect a change to show retry for that long. Secrets scheduled for deletion
    // are listed too: the stack deletes its secret without a recovery window, so one still
    // scheduled is a leftover.
    let secrets = aws
        .secrets
        .list_secrets()
        .include_planned_deletion(true)
        .filters(
            Filter::builder()
                .key(FilterNameStringType::TagKey)
                .values("iotstack:stack")
                .build(),
        )
        .into_paginator()
        .send();
    let pages = secrets
        .try_collect()
        .await
        .op("ListSecrets")
        .map_err(|e| e.to_string())?;
    for s in pages.iter().flat_map(|page| page.secret_list()) {
        let tag = s
            .tags()
            .iter()
            .find(|t| t.key() == Some("iotstack:stack"))
            .and_then(|t| t.value());
        if let Some(stack) = tag.and_then(prefix::owner) {
            let kind = if s.deleted_date().is_some() {
                "secret (scheduled for deletion)"
            } else {
                "secret"
            };
            found.push(Found {
                kind,
                name: s.name().unwrap_or_default().to_string(),
                stack,
            });
        }
    }
    Ok(found)
}
