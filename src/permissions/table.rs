//! [`TABLE`]: per kind, the IAM actions its calls make and the resources they act on; what
//! AWS authorizes only on `*` ([`ANY_RESOURCE`]); and what every run needs ([`ALWAYS`]).

use super::{grant, Grant, KindPermissions, On::*, Phase::*};

pub(super) const ROLE: &str = "arn:{partition}:iam::{account}:role/{}";
/// Managed policies, the account's and AWS's own (`arn:aws:iam::aws:policy/...`): doctor reads
/// those attached to the stack's roles.
const MANAGED_POLICY: &str = "arn:{partition}:iam::*:policy/*";
const THING: &str = "arn:{partition}:iot:{region}:{account}:thing/{}";
const THING_GROUP: &str = "arn:{partition}:iot:{region}:{account}:thinggroup/{}";
const IOT_POLICY: &str = "arn:{partition}:iot:{region}:{account}:policy/{}";
const CERT: &str = "arn:{partition}:iot:{region}:{account}:cert/*";
const RULE: &str = "arn:{partition}:iot:{region}:{account}:rule/{}";
const TOPIC: &str = "arn:{partition}:sns:{region}:{account}:{}";
const FUNCTION: &str = "arn:{partition}:lambda:{region}:{account}:function:{}";
/// Secrets Manager appends `-` and six random characters to a secret's name.
const SECRET: &str = "arn:{partition}:secretsmanager:{region}:{account}:secret:{}-*";
const USER_POOL: &str = "arn:{partition}:cognito-idp:{region}:{account}:userpool/*";
const IDENTITY_POOL: &str = "arn:{partition}:cognito-identity:{region}:{account}:identitypool/*";

/// The actions AWS authorizes only on `Resource: "*"`, and why. Nothing else gets `*`.
pub static ANY_RESOURCE: &[(&str, &str)] = &[
    ("sts:GetCallerIdentity", "no resource type: finds the account"),
    ("iot:DescribeEndpoint", "no resource type"),
    ("iot:ListCertificates", "a List action without resource type"),
    ("iot:ListTopicRules", "a List action without resource type"),
    (
        "iot:CreateCertificateFromCsr",
        "no resource type: the certificate does not exist yet",
    ),
    (
        "iot:AttachPolicy",
        "resource types are only certificates and thing groups; a Cognito identity target has no ARN",
    ),
    (
        "iot:DetachPolicy",
        "as AttachPolicy: deleting a policy detaches it from Cognito identities too",
    ),
    (
        "iot:ListAttachedPolicies",
        "as AttachPolicy: doctor lists the policies of a Cognito identity",
    ),
    (
        "iot:AttachThingPrincipal",
        "authorized on the principal (a certificate id AWS generates), not on a name the stack gives",
    ),
    ("iot:DetachThingPrincipal", "as AttachThingPrincipal"),
    (
        "iot:TestAuthorization",
        "as AttachPolicy: the principal under test may be a Cognito identity, which has no ARN",
    ),
    ("iot:ListPrincipalThings", "as AttachThingPrincipal"),
    (
        "cognito-idp:CreateUserPool",
        "no resource type: the pool's id is generated",
    ),
    ("cognito-idp:ListUserPools", "a List action without resource type"),
    (
        "cognito-identity:CreateIdentityPool",
        "no resource type: the pool's id is generated",
    ),
    (
        "cognito-identity:ListIdentityPools",
        "a List action without resource type",
    ),
    (
        "sns:GetSubscriptionAttributes",
        "subscriptions are not a resource type",
    ),
    ("sns:Unsubscribe", "subscriptions are not a resource type"),
];

/// Every kind's calls. Creating a resource with tags also needs the service's tagging action.
pub static TABLE: &[KindPermissions] = &[
    KindPermissions {
        type_name: "iam_role",
        arn: Some(ROLE),
        grants: &[
            grant(
                Read,
                &[
                    "iam:GetRole",
                    "iam:ListRolePolicies",
                    "iam:GetRolePolicy",
                    "iam:ListAttachedRolePolicies",
                ],
                Own,
            ),
            grant(
                Create,
                &[
                    "iam:CreateRole",
                    "iam:TagRole",
                    "iam:PutRolePolicy",
                    "iam:AttachRolePolicy",
                ],
                Own,
            ),
            grant(
                Update,
                &[
                    "iam:UpdateAssumeRolePolicy",
                    "iam:UpdateRole",
                    "iam:PutRolePolicy",
                    "iam:DeleteRolePolicy",
                    "iam:AttachRolePolicy",
                    "iam:DetachRolePolicy",
                    "iam:TagRole",
                ],
                Own,
            ),
            grant(
                Delete,
                &[
                    "iam:ListRolePolicies",
                    "iam:DeleteRolePolicy",
                    "iam:ListAttachedRolePolicies",
                    "iam:DetachRolePolicy",
                    "iam:DeleteRole",
                ],
                Own,
            ),
            grant(
                Doctor,
                &["iam:GetPolicy", "iam:GetPolicyVersion"],
                Arn(MANAGED_POLICY),
            ),
            // doctor's cross-check: AWS's own evaluation of the role's policies.
            grant(Doctor, &["iam:SimulatePrincipalPolicy"], Own),
        ],
    },
    KindPermissions {
        type_name: "iot_policy",
        arn: Some(IOT_POLICY),
        grants: &[
            grant(Read, &["iot:GetPolicy", "iot:ListTagsForResource"], Own),
            grant(Create, &["iot:CreatePolicy", "iot:TagResource"], Own),
            grant(
                Update,
                &[
                    "iot:ListPolicyVersions",
                    "iot:DeletePolicyVersion",
                    "iot:CreatePolicyVersion",
                    "iot:TagResource",
                ],
                Own,
            ),
            grant(
                Delete,
                &[
                    "iot:ListTargetsForPolicy",
                    "iot:ListPolicyVersions",
                    "iot:DeletePolicyVersion",
                    "iot:DeletePolicy",
                ],
                Own,
            ),
            grant(Delete, &["iot:DetachPolicy"], Any),
            grant(
                Doctor,
                &["iot:ListTargetsForPolicy", "iot:ListPolicyVersions"],
                Own,
            ),
            // The policies attached to the identity under diagnosis, whatever their names.
            grant(
                Doctor,
                &["iot:GetPolicy"],
                Arn("arn:{partition}:iot:{region}:{account}:policy/*"),
            ),
            grant(Doctor, &["iot:ListAttachedPolicies"], Any),
            // doctor's cross-check: AWS IoT's own evaluation of the attached policies.
            grant(Doctor, &["iot:TestAuthorization"], Any),
        ],
    },
    KindPermissions {
        type_name: "iot_thing",
        arn: Some(THING),
        grants: &[
            grant(Read, &["iot:DescribeThing"], Own),
            grant(Create, &["iot:CreateThing"], Own),
            grant(Update, &["iot:UpdateThing"], Own),
            grant(Delete, &["iot:ListThingPrincipals", "iot:DeleteThing"], Own),
            grant(Delete, &["iot:DetachThingPrincipal"], Any),
        ],
    },
    KindPermissions {
        type_name: "iot_certificate",
        arn: Some(CERT),
        grants: &[
            grant(Read, &["iot:DescribeCertificate"], Own),
            grant(Read, &["iot:ListCertificates"], Any),
            grant(Read, &["iot:ListThingPrincipals"], Named("thing", THING)),
            grant(Create, &["iot:CreateCertificateFromCsr"], Any),
            grant(Update, &["iot:UpdateCertificate"], Own),
            grant(
                Delete,
                &["iot:UpdateCertificate", "iot:DeleteCertificate"],
                Own,
            ),
            grant(
                Delete,
                &[
                    "iot:ListPrincipalThings",
                    "iot:DetachThingPrincipal",
                    "iot:ListAttachedPolicies",
                    "iot:DetachPolicy",
                ],
                Any,
            ),
        ],
    },
    KindPermissions {
        type_name: "iot_policy_attachment",
        arn: None,
        grants: &[
            grant(
                Read,
                &["iot:ListTargetsForPolicy"],
                Named("policy", IOT_POLICY),
            ),
            grant(Create, &["iot:AttachPolicy"], Any),
            grant(Delete, &["iot:DetachPolicy"], Any),
        ],
    },
    KindPermissions {
        type_name: "iot_thing_principal",
        arn: None,
        grants: &[
            grant(Read, &["iot:ListThingPrincipals"], Named("thing", THING)),
            grant(Create, &["iot:AttachThingPrincipal"], Any),
            grant(Delete, &["iot:DetachThingPrincipal"], Any),
        ],
    },
    KindPermissions {
        type_name: "iot_thing_group",
        arn: Some(THING_GROUP),
        grants: &[
            grant(
                Read,
                &["iot:DescribeThingGroup", "iot:ListTagsForResource"],
                Own,
            ),
            grant(Create, &["iot:CreateThingGroup", "iot:TagResource"], Own),
            grant(Update, &["iot:UpdateThingGroup", "iot:TagResource"], Own),
            grant(Delete, &["iot:DeleteThingGroup"], Own),
        ],
    },
    KindPermissions {
        type_name: "iot_thing_group_member",
        arn: None,
        grants: &[
            grant(
                Read,
                &["iot:ListThingGroupsForThing"],
                Named("thing", THING),
            ),
            grant(
                Create,
                &["iot:AddThingToThingGroup"],
                Named("thing_group", THING_GROUP),
            ),
            grant(
                Delete,
                &["iot:RemoveThingFromThingGroup"],
                Named("thing_group", THING_GROUP),
            ),
        ],
    },
    KindPermissions {
        type_name: "iot_topic_rule",
        arn: Some(RULE),
        grants: &[
            grant(Read, &["iot:GetTopicRule"], Own),
            grant(Read, &["iot:ListTopicRules"], Any),
            grant(Create, &["iot:CreateTopicRule"], Own),
            grant(
                Update,
                &[
                    "iot:ReplaceTopicRule",
                    "iot:EnableTopicRule",
                    "iot:DisableTopicRule",
                ],
                Own,
            ),
            grant(Delete, &["iot:DeleteTopicRule"], Own),
            grant(
                Create,
                &["iam:PassRole"],
                PassRole("role_arn", "iot.amazonaws.com"),
            ),
            grant(
                Update,
                &["iam:PassRole"],
                PassRole("role_arn", "iot.amazonaws.com"),
            ),
        ],
    },
    KindPermissions {
        type_name: "sns_topic",
        arn: Some(TOPIC),
        grants: &[
            grant(
                Read,
                &["sns:GetTopicAttributes", "sns:ListTagsForResource"],
                Own,
            ),
            grant(Create, &["sns:CreateTopic", "sns:TagResource"], Own),
            grant(Update, &["sns:SetTopicAttributes", "sns:TagResource"], Own),
            grant(Delete, &["sns:DeleteTopic"], Own),
        ],
    },
    KindPermissions {
        type_name: "sns_email_subscription",
        arn: None,
        grants: &[
            grant(
                Read,
                &["sns:ListSubscriptionsByTopic"],
                ArnIn("topic_arn", TOPIC),
            ),
            grant(Create, &["sns:Subscribe"], ArnIn("topic_arn", TOPIC)),
            grant(Delete, &["sns:Unsubscribe"], Any),
            grant(Doctor, &["sns:GetSubscriptionAttributes"], Any),
        ],
    },
    KindPermissions {
        type_name: "lambda_function",
        arn: Some(FUNCTION),
        grants: &[
            grant(Read, &["lambda:GetFunction"], Own),
            grant(
                Create,
                &["lambda:CreateFunction", "lambda:TagResource"],
                Own,
            ),
            grant(
                Update,
                &[
                    "lambda:UpdateFunctionCode",
                    "lambda:UpdateFunctionConfiguration",
                    "lambda:TagResource",
                ],
                Own,
            ),
            grant(Delete, &["lambda:DeleteFunction"], Own),
            grant(
                Create,
                &["iam:PassRole"],
                PassRole("role_arn", "lambda.amazonaws.com"),
            ),
            grant(
                Update,
                &["iam:PassRole"],
                PassRole("role_arn", "lambda.amazonaws.com"),
            ),
        ],
    },
    KindPermissions {
        type_name: "cognito_user_pool",
        arn: Some(USER_POOL),
        grants: &[
            grant(Read, &["cognito-idp:ListUserPools"], Any),
            grant(Read, &["cognito-idp:DescribeUserPool"], Own),
            // Duplicates (other pools under the stack's name with its mark): an empty one is
            // deleted once ListUsers shows it holds nobody.
            grant(
                Update,
                &["cognito-idp:ListUsers", "cognito-idp:DeleteUserPool"],
                Own,
            ),
            grant(Create, &["cognito-idp:CreateUserPool"], Any),
            grant(Create, &["cognito-idp:TagResource"], Own),
            grant(
                Update,
                &["cognito-idp:UpdateUserPool", "cognito-idp:TagResource"],
                Own,
            ),
            grant(Delete, &["cognito-idp:DeleteUserPool"], Own),
            grant(Doctor, &["cognito-idp:AdminGetUser"], Own),
        ],
    },
    KindPermissions {
        type_name: "cognito_user_pool_client",
        arn: None,
        grants: &[
            grant(
                Read,
                &[
                    "cognito-idp:ListUserPoolClients",
                    "cognito-idp:DescribeUserPoolClient",
                ],
                Arn(USER_POOL),
            ),
            grant(
                Create,
                &["cognito-idp:CreateUserPoolClient"],
                Arn(USER_POOL),
            ),
            grant(
                Update,
                &["cognito-idp:UpdateUserPoolClient"],
                Arn(USER_POOL),
            ),
            grant(
                Delete,
                &["cognito-idp:DeleteUserPoolClient"],
                Arn(USER_POOL),
            ),
        ],
    },
    KindPermissions {
        type_name: "cognito_identity_pool",
        arn: Some(IDENTITY_POOL),
        grants: &[
            grant(Read, &["cognito-identity:ListIdentityPools"], Any),
            grant(Read, &["cognito-identity:DescribeIdentityPool"], Own),
            // Duplicates: identities counted and roles looked up to choose the pool to keep, an
            // empty one deleted.
            grant(
                Read,
                &[
                    "cognito-identity:ListIdentities",
                    "cognito-identity:GetIdentityPoolRoles",
                ],
                Own,
            ),
            grant(
                Update,
                &[
                    "cognito-identity:ListIdentities",
                    "cognito-identity:DeleteIdentityPool",
                ],
                Own,
            ),
            grant(Create, &["cognito-identity:CreateIdentityPool"], Any),
            grant(Create, &["cognito-identity:TagResource"], Own),
            grant(
                Update,
                &[
                    "cognito-identity:UpdateIdentityPool",
                    "cognito-identity:TagResource",
                ],
                Own,
            ),
            grant(Delete, &["cognito-identity:DeleteIdentityPool"], Own),
        ],
    },
    KindPermissions {
        type_name: "cognito_identity_pool_roles",
        arn: None,
        grants: &[
            grant(
                Read,
                &["cognito-identity:GetIdentityPoolRoles"],
                Arn(IDENTITY_POOL),
            ),
            grant(
                Create,
                &["cognito-identity:SetIdentityPoolRoles"],
                Arn(IDENTITY_POOL),
            ),
            grant(
                Update,
                &["cognito-identity:SetIdentityPoolRoles"],
                Arn(IDENTITY_POOL),
            ),
            grant(
                Delete,
                &["cognito-identity:SetIdentityPoolRoles"],
                Arn(IDENTITY_POOL),
            ),
            grant(
                Create,
                &["iam:PassRole"],
                PassRole("authenticated_role_arn", "cognito-identity.amazonaws.com"),
            ),
            grant(
                Create,
                &["iam:PassRole"],
                PassRole("unauthenticated_role_arn", "cognito-identity.amazonaws.com"),
            ),
            grant(
                Update,
                &["iam:PassRole"],
                PassRole("authenticated_role_arn", "cognito-identity.amazonaws.com"),
            ),
            grant(
                Update,
                &["iam:PassRole"],
                PassRole("unauthenticated_role_arn", "cognito-identity.amazonaws.com"),
            ),
        ],
    },
    KindPermissions {
        type_name: "cognito_user",
        arn: None,
        grants: &[
            grant(Read, &["cognito-idp:AdminGetUser"], Arn(USER_POOL)),
            grant(
                Read,
                &["secretsmanager:ListSecretVersionIds"],
                ArnIn("password_secret_arn", SECRET),
            ),
            grant(
                Create,
                &[
                    "cognito-idp:AdminCreateUser",
                    "cognito-idp:AdminSetUserPassword",
                ],
                Arn(USER_POOL),
            ),
            grant(
                Create,
                &[
                    "secretsmanager:ListSecretVersionIds",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                ArnIn("password_secret_arn", SECRET),
            ),
            grant(
                Update,
                &[
                    "cognito-idp:AdminUpdateUserAttributes",
                    "cognito-idp:AdminSetUserPassword",
                ],
                Arn(USER_POOL),
            ),
            grant(
                Update,
                &[
                    "secretsmanager:ListSecretVersionIds",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                ],
                ArnIn("password_secret_arn", SECRET),
            ),
            grant(Delete, &["cognito-idp:AdminDeleteUser"], Arn(USER_POOL)),
        ],
    },
    KindPermissions {
        type_name: "lambda_permission",
        arn: None,
        grants: &[
            grant(
                Read,
                &["lambda:GetPolicy"],
                Named("function_name", FUNCTION),
            ),
            grant(
                Create,
                &["lambda:AddPermission"],
                Named("function_name", FUNCTION),
            ),
            grant(
                Update,
                &["lambda:AddPermission", "lambda:RemovePermission"],
                Named("function_name", FUNCTION),
            ),
            grant(
                Delete,
                &["lambda:RemovePermission"],
                Named("function_name", FUNCTION),
            ),
        ],
    },
    KindPermissions {
        type_name: "lambda_function_url",
        arn: None,
        grants: &[
            grant(
                Read,
                &["lambda:GetFunctionUrlConfig"],
                Named("function_name", FUNCTION),
            ),
            grant(
                Create,
                &["lambda:CreateFunctionUrlConfig"],
                Named("function_name", FUNCTION),
            ),
            grant(
                Update,
                &["lambda:UpdateFunctionUrlConfig"],
                Named("function_name", FUNCTION),
            ),
            grant(
                Delete,
                &["lambda:DeleteFunctionUrlConfig"],
                Named("function_name", FUNCTION),
            ),
        ],
    },
    KindPermissions {
        type_name: "secretsmanager_secret",
        arn: Some(SECRET),
        grants: &[
            grant(
                Read,
                &[
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetResourcePolicy",
                ],
                Own,
            ),
            grant(
                Create,
                &[
                    "secretsmanager:CreateSecret",
                    "secretsmanager:TagResource",
                    "secretsmanager:PutResourcePolicy",
                    // A secret of the same name scheduled for deletion is restored instead.
                    "secretsmanager:RestoreSecret",
                    "secretsmanager:UpdateSecret",
                ],
                Own,
            ),
            grant(
                Update,
                &[
                    "secretsmanager:UpdateSecret",
                    "secretsmanager:TagResource",
                    "secretsmanager:PutResourcePolicy",
                ],
                Own,
            ),
            grant(Delete, &["secretsmanager:DeleteSecret"], Own),
        ],
    },
    KindPermissions {
        type_name: "caller_identity",
        arn: None,
        grants: &[grant(Read, &["sts:GetCallerIdentity"], Any)],
    },
    KindPermissions {
        type_name: "iot_endpoint",
        arn: None,
        grants: &[grant(Read, &["iot:DescribeEndpoint"], Any)],
    },
    KindPermissions {
        type_name: "iot_identity_attachments",
        arn: None,
        grants: &[
            grant(
                Read,
                &["iot:ListTargetsForPolicy"],
                Named("policy", IOT_POLICY),
            ),
            grant(
                Read,
                &["cognito-identity:ListIdentities"],
                Arn(IDENTITY_POOL),
            ),
            grant(Create, &["iot:AttachPolicy"], Any),
            grant(Update, &["iot:AttachPolicy"], Any),
            grant(Delete, &["iot:DetachPolicy"], Any),
        ],
    },
];

/// What every run needs whatever the stack: the caller's account, the stack's lock (an IoT
/// thing named `<prefix>-iotstack-lock`) for apply, destroy and doctor --fix, and the stack's
/// record of what it made.
pub static ALWAYS: &[Grant] = &[
    grant(Read, &["sts:GetCallerIdentity"], Any),
    grant(
        Create,
        &[
            "iot:DescribeThing",
            "iot:CreateThing",
            "iot:UpdateThing",
            "iot:DeleteThing",
        ],
        Arn("arn:{partition}:iot:{region}:{account}:thing/{prefix}-iotstack-lock"),
    ),
    // The stack's record (`crate::record`): a secret named `<prefix>-iotstack-record`.
    grant(
        Read,
        &[
            "secretsmanager:DescribeSecret",
            "secretsmanager:GetSecretValue",
        ],
        Arn(RECORD),
    ),
    grant(
        Create,
        &[
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:TagResource",
        ],
        Arn(RECORD),
    ),
    grant(Delete, &["secretsmanager:DeleteSecret"], Arn(RECORD)),
];

/// The stack's record, a secret named after the prefix in lower case. Secrets Manager appends `-` and six characters to a secret's
/// name. The pattern ends in `*`, not `-*`, so that it matches the secret however a request
/// names it: by its ARN, or by its name before it exists (the first plan's DescribeSecret).
const RECORD: &str =
    "arn:{partition}:secretsmanager:{region}:{account}:secret:{prefix_lower}-iotstack-record*";
