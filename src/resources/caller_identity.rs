//! The principal iotstack runs as (STS GetCallerIdentity): a data source, only read. Policies
//! refer to it to exempt the deployer from a deny, as the app secret's policy does.

use async_trait::async_trait;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
use serde_json::{json, Value};

use super::{Ctx, Desired, Fetch, KindSpec, Observed, Ownership};
use crate::aws::Missing;
use crate::error::ResourceError;

pub struct CallerIdentity;

pub static SPEC: KindSpec = KindSpec {
    type_name: "caller_identity",
    props: &[],
    attrs: &["account_id", "arn", "user_id", "user_id_pattern"],
    name_rule: None,
    ownership: Ownership::None,
    missing: Missing(&[]),
    facts: &[],
    deleted_with: &[],
};

/// The `aws:userid` values of every request the caller's principal makes. GetCallerIdentity's
/// `UserId` is "the aws:userid column in the Principal table found on the Policy Variables
/// reference page in the IAM User Guide": `AROA…:<session name>` for a role's session, the user's
/// id (`AIDA…`) for an IAM user, the account id for root. A role is matched with every session
/// name (`AROA…:*`): each run may name its session differently (SSO, aws-vault). The role's id,
/// unlike its name, belongs to that role only: a role deleted and made again under the same name
/// gets a new id, so nobody else can take over the exemption.
pub fn user_id_pattern(user_id: &str) -> String {
    match user_id.split_once(':') {
        Some((role, _)) if role.starts_with("AROA") => format!("{role}:*"),
        _ => user_id.to_string(),
    }
}

#[async_trait]
impl Fetch for CallerIdentity {
    type Fetched = GetCallerIdentityOutput;

    fn spec(&self) -> &'static KindSpec {
        &SPEC
    }

    async fn fetch(
        &self,
        ctx: &Ctx,
        _want: &Desired,
    ) -> Result<Option<GetCallerIdentityOutput>, ResourceError> {
        Ok(Some(ctx.clients.caller_identity().await?))
    }

    fn observe(&self, r: GetCallerIdentityOutput, want: &Desired) -> Option<Observed> {
        let props: serde_json::Map<String, Value> = want.props.clone().into_iter().collect();
        let user_id = r.user_id().unwrap_or_default();
        Some(Observed::new(
            Value::Object(props),
            json!({
                "account_id": r.account(),
                "arn": r.arn(),
                "user_id": user_id,
                "user_id_pattern": user_id_pattern(user_id),
            }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(user_id: &str, arn: &str) -> Observed {
        let r = GetCallerIdentityOutput::builder()
            .account("123456789012")
            .arn(arn)
            .user_id(user_id)
            .build();
        let want = Desired::from_json("deployer", json!({}));
        CallerIdentity.observe(r, &want).unwrap()
    }

    #[test]
    fn a_role_session_is_known_by_its_role_id_whatever_the_session_name() {
        let o = observed(
            "AROA3XFRBF535PLBIFPI4:ops@example.com",
            "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/ops@example.com",
        );
        assert_eq!(o.attr("user_id_pattern"), "AROA3XFRBF535PLBIFPI4:*");
        assert_eq!(o.attr("user_id"), "AROA3XFRBF535PLBIFPI4:ops@example.com");
        assert_eq!(o.attr("account_id"), "123456789012");
    }

    #[test]
    fn users_root_and_federated_users_are_known_by_their_exact_id() {
        let user = observed(
            "AIDACKCEVSQ6C2EXAMPLE",
            "arn:aws:iam::123456789012:user/ops",
        );
        assert_eq!(user.attr("user_id_pattern"), "AIDACKCEVSQ6C2EXAMPLE");
        let root = observed("123456789012", "arn:aws:iam::123456789012:root");
        assert_eq!(root.attr("user_id_pattern"), "123456789012");
        let federated = observed(
            "123456789012:ops",
            "arn:aws:sts::123456789012:federated-user/ops",
        );
        assert_eq!(federated.attr("user_id_pattern"), "123456789012:ops");
    }
}
