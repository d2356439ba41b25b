#!/usr/bin/env python3
"""The benchmark's peer: the default stack (stacks/default.yaml) made by a plain boto3 script,
one call after another, the way a hand-written provisioning script does it.

    python scripts/peer_boto3.py create   --endpoint URL --prefix P --email E --ip IP --state FILE
    python scripts/peer_boto3.py delete   --endpoint URL --state FILE
    python scripts/peer_boto3.py check    --endpoint URL --state FILE --expect present|absent
    python scripts/peer_boto3.py selftest --endpoint URL --prefix P --email E --ip IP --state FILE

It makes the same resources as iotstack's default stack, with the same names (derived from the
prefix), the same settings, the same policy documents (the templates under policies/, rendered
the same way) and the same zipped built-in functions (src/functions/*.py); the `iotstack:stack`
tag goes wherever iotstack sets it, inside the create call. It is a fair peer, not a strawman:
every call is one the job needs (no read-back, no listing, no sleep, no retry), values a later
call needs come from the answers of earlier calls, and the calls go out strictly one after
another. `delete` removes everything in reverse order with the calls AWS requires and no more:
what AWS deletes together with its parent goes with it (the app client and user with the user
pool, the role attachment with the identity pool, the function URL and permission with their
function, the email subscription with its topic, a role's inline policy just before the role).

The Python interpreter's start, the imports and the clients are made before the clock starts:
the time reported is that of the calls and the local work between them (zip, key, CSR). Each
phase prints one JSON line on stdout: {"phase", "calls", "wall_s", "operations"}.

`create` writes what `delete` needs (ids and ARNs AWS assigned) to the --state file, and the
device key and certificate next to it. `check` verifies with listings (outside any measured
phase) that every resource exists with its wiring (--expect present) or that nothing named for
the prefix is left (--expect absent). `selftest` runs create, check present, delete, check absent.

It talks to --endpoint only (the local emulator or the benchmark's latency proxy), with the
credentials of the environment (default: the emulator's dummy ones). The certificate's key and
CSR are made locally with the `cryptography` package (an EC P-256 key, as iotstack makes), so
the private key never leaves the machine: CreateCertificateFromCsr, as iotstack does.
"""

import argparse
import io
import json
import os
import re
import secrets
import string
import sys
import time
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICIES = os.path.join(REPO, "policies")
FUNCTIONS = os.path.join(REPO, "src", "functions")
STACK_TAG = "iotstack:stack"
SERVICES = ("sts", "iot", "iam", "lambda", "cognito-idp", "cognito-identity",
            "secretsmanager", "sns")


# --- local work ---------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")


def render(template, values):
    """The policy template with its parameters and references filled in. Policy variables
    (`${iot:...}`, `${cognito-identity.amazonaws.com:sub}`) pass through; any other unknown
    name is an error, as in iotstack's validation."""
    with open(os.path.join(POLICIES, template), encoding="utf-8") as f:
        text = f.read()

    def sub(m):
        key = m.group(1)
        if key in values:
            return values[key]
        if ":" in key:
            return m.group(0)
        raise SystemExit(f"peer: {template}: no value for ${{{key}}}")

    return json.dumps(json.loads(PLACEHOLDER.sub(sub, text)), separators=(",", ":"))


def package(name):
    """The built-in function zipped as iotstack zips it: one deflated file, fixed timestamp (the
    bytes differ from iotstack's, whose deflate encoder is another; the file in them does not)."""
    with open(os.path.join(FUNCTIONS, f"{name}.py"), encoding="utf-8") as f:
        source = f.read()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo(f"{name}.py", date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
        z.writestr(info, source)
    return buf.getvalue()


def key_and_csr(common_name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM).decode()


def password():
    """20 characters with every class, as iotstack generates for the app user."""
    classes = [string.ascii_uppercase, string.ascii_lowercase, string.digits, "!#$%&*+-=?@^_"]
    pw = [secrets.choice(c) for c in classes]
    pw += [secrets.choice("".join(classes)) for _ in range(20 - len(pw))]
    secrets.SystemRandom().shuffle(pw)
    return "".join(pw)


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def cidr(ip):
    if "/" in ip:
        return ip
    return ip + ("/128" if ":" in ip else "/32")


# --- AWS ----------------------------------------------------------------------------------------


class Aws:
    """One boto3 client per service, made up front, and a count of the requests they send."""

    def __init__(self, endpoint, region):
        import boto3
        from botocore.config import Config

        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        # Errors surface at once: no retry (and so no back-off sleep) hides a failing call.
        config = Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=120)
        session = boto3.session.Session(region_name=region)
        self.region = region
        self.calls = 0
        self.operations = {}
        self.clients = {}
        for service in SERVICES:
            client = session.client(service, endpoint_url=endpoint, config=config)
            client.meta.events.register("before-call", self._operation)
            client.meta.events.register("before-send", self._count)
            self.clients[service] = client
        self._op = "?"

    def _operation(self, model, **_):
        self._op = f"{model.service_model.signing_name}:{model.name}"

    def _count(self, **_):
        self.calls += 1
        self.operations[self._op] = self.operations.get(self._op, 0) + 1

    def __getitem__(self, service):
        return self.clients[service]


def tags_list(prefix):
    return [{"Key": STACK_TAG, "Value": prefix}]


def create(aws, prefix, email, ip, state_path):
    """Every resource of the default stack, in dependency order, one call at a time."""
    iot, iam, lam, sns = aws["iot"], aws["iam"], aws["lambda"], aws["sns"]
    idp, cid, sm = aws["cognito-idp"], aws["cognito-identity"], aws["secretsmanager"]
    region = aws.region
    out_dir = os.path.join(os.path.dirname(os.path.abspath(state_path)), prefix)
    os.makedirs(out_dir, exist_ok=True)
    v = {
        "prefix": prefix,
        "prefix_underscore": prefix.replace("-", "_"),
        "email": email,
        "email_domain": email.rsplit("@", 1)[-1].lower(),
        "ip": cidr(ip),
        "region": region,
        # The region's ARN partition, as iotstack's `${partition}` parameter.
        "partition": ("aws-cn" if region.startswith("cn-")
                      else "aws-us-gov" if region.startswith("us-gov-") else "aws"),
    }
    s = {"prefix": prefix}  # what delete needs

    def role(name, description, trust, inline, document):
        """An IAM role and its inline policy: two calls. Returns the role's ARN."""
        arn = iam.create_role(RoleName=name, Description=description,
                              AssumeRolePolicyDocument=render(trust, v),
                              Tags=tags_list(prefix))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName=inline, PolicyDocument=render(document, v))
        return arn

    def function(name, description, role_arn, module, timeout, environment):
        """A Lambda function with a built-in handler. Returns its ARN."""
        return lam.create_function(
            FunctionName=name, Description=description, Role=role_arn, Runtime="python3.12",
            Handler=f"{module}.handler", Timeout=timeout,
            Environment={"Variables": environment}, Code={"ZipFile": package(module)},
            Tags={STACK_TAG: prefix},
        )["FunctionArn"]

    me = aws["sts"].get_caller_identity()
    v["account"] = me["Account"]
    # The app secret's policy exempts the deployer (every session of a role, by its role id).
    role_id, _, _ = me["UserId"].partition(":")
    v["deployer.user_id_pattern"] = (
        f"{role_id}:*" if role_id.startswith("AROA") and ":" in me["UserId"] else me["UserId"])
    endpoint = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]

    # Certificate device: thing, policy, certificate from a local key, both attachments.
    thing = f"{prefix}-thing"
    iot.create_thing(thingName=thing, attributePayload={"attributes": {STACK_TAG: prefix}})
    device_policy = f"{prefix}-device-policy"
    iot.create_policy(policyName=device_policy, policyDocument=render("device-policy.json", v),
                      tags=tags_list(prefix))
    key_pem, csr = key_and_csr(thing)
    write_private(os.path.join(out_dir, "device.private.key"), key_pem)
    cert = iot.create_certificate_from_csr(certificateSigningRequest=csr, setAsActive=True)
    with open(os.path.join(out_dir, "device.cert.pem"), "w", encoding="utf-8") as f:
        f.write(cert["certificatePem"])
    s["certificate_id"], s["certificate_arn"] = cert["certificateId"], cert["certificateArn"]
    iot.attach_policy(policyName=device_policy, target=cert["certificateArn"])
    iot.attach_thing_principal(thingName=thing, principal=cert["certificateArn"])

    # Alerts: topic, email subscription, rule role, topic rule.
    topic_arn = sns.create_topic(
        Name=f"{prefix}-iot-notification",
        Attributes={"DisplayName": f"{prefix} IoT alerts"},
        Tags=tags_list(prefix),
    )["TopicArn"]
    s["topic_arn"] = topic_arn
    v["alert-topic.arn"] = topic_arn
    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint=email,
                  ReturnSubscriptionArn=True)
    rule_role_arn = role(
        f"{prefix}-iot-rule-sns-role",
        f"Lets the {prefix} alert rule publish to its SNS topic, and nothing else",
        "iot-rule-trust.json", "sns-publish", "iot-rule-sns-publish.json")
    iot.create_topic_rule(
        ruleName=f"{v['prefix_underscore']}_alerts",
        topicRulePayload={
            "sql": f"SELECT * FROM '{prefix}/alerts'",
            "description": f"Forwards {prefix}/alerts to the {prefix} alert email",
            "awsIotSqlVersion": "2016-03-23",
            "ruleDisabled": False,
            "actions": [{"sns": {"targetArn": topic_arn, "roleArn": rule_role_arn,
                                 "messageFormat": "RAW"}}],
        },
        tags=f"iotstack%3Astack={prefix}",
    )

    # Users: pre-sign-up role and function, user pool with the trigger, permission, client.
    presignup_role_arn = role(
        f"{prefix}-LambdaCognitoPresignupExecutionRole",
        f"Runs the {prefix} pre-sign-up function; writes its own logs only",
        "lambda-trust.json", "own-logs", "presignup-logs.json")
    presignup = f"{prefix}-cognito-presignup-lambda"
    presignup_arn = function(presignup, "Auto-confirms sign-ups from the allowed email domains",
                             presignup_role_arn, "presignup", 10,
                             {"ALLOWED_DOMAINS": v["email_domain"]})
    pool = idp.create_user_pool(
        PoolName=f"{prefix}-user-pool",
        Policies={"PasswordPolicy": {
            "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
            "RequireNumbers": True, "RequireSymbols": True,
            "TemporaryPasswordValidityDays": 7}},
        AutoVerifiedAttributes=["email"],
        MfaConfiguration="OFF",
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": False},
        UsernameConfiguration={"CaseSensitive": False},
        LambdaConfig={"PreSignUp": presignup_arn},
        Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True,
                 "Mutable": True}],
        UserPoolTags={STACK_TAG: prefix},
    )["UserPool"]
    pool_id = pool["Id"]
    s["user_pool_id"] = pool_id
    lam.add_permission(FunctionName=presignup, StatementId="cognito-presignup",
                       Action="lambda:InvokeFunction", Principal="cognito-idp.amazonaws.com",
                       SourceArn=pool["Arn"])
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=f"{prefix}-app-client",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        RefreshTokenValidity=200,
        TokenValidityUnits={"RefreshToken": "days"},
    )["UserPoolClient"]["ClientId"]

    # Identities: identity pool, the identities' IoT policy.
    identity_pool_id = cid.create_identity_pool(
        IdentityPoolName=f"{prefix}-edge-identity-pool",
        AllowUnauthenticatedIdentities=True,
        CognitoIdentityProviders=[{
            "ProviderName": f"cognito-idp.{region}.amazonaws.com/{pool_id}",
            "ClientId": client_id,
            "ServerSideTokenCheck": False}],
        IdentityPoolTags={STACK_TAG: prefix},
    )["IdentityPoolId"]
    s["identity_pool_id"] = identity_pool_id
    v["identity-pool.id"] = identity_pool_id
    identity_policy = f"{prefix}-cognito-iot-policy"
    iot.create_policy(policyName=identity_policy,
                      policyDocument=render("cognito-iot-policy.json", v),
                      tags=tags_list(prefix))

    # The app secret (readable only from --ip) and the app user whose password it holds.
    user = f"{prefix}-app-user"
    pw = password()
    secret_arn = sm.create_secret(
        Name=f"{pool_id}_{user}",
        Description=f"Password of {user}; readable only from {v['ip']}",
        SecretString=json.dumps({user: pw}),
        Tags=[{"Key": k, "Value": val} for k, val in {
            "ClientId": client_id,
            "IdentityPoolId": identity_pool_id,
            "IoTEndpoint": endpoint,
            "EmailAddress": email,
            "UserPoolId": pool_id,
            "IoTPolicy": identity_policy,
            STACK_TAG: prefix,
        }.items()],
    )["ARN"]
    s["secret_arn"] = secret_arn
    v["app-secret.arn"] = secret_arn
    sm.put_resource_policy(SecretId=secret_arn,
                           ResourcePolicy=render("app-secret-policy.json", v))
    idp.admin_create_user(
        UserPoolId=pool_id, Username=user, MessageAction="SUPPRESS",
        UserAttributes=[{"Name": "email", "Value": email},
                        {"Name": "email_verified", "Value": "true"}],
    )
    idp.admin_set_user_password(UserPoolId=pool_id, Username=user, Password=pw, Permanent=True)

    # Per-identity attachment: role, function, function URL.
    attach_role_arn = role(
        f"{prefix}-attach-iot-policy-role",
        f"Runs the {prefix} attach function; attaches the identity IoT policy",
        "lambda-trust.json", "attach-and-logs", "attach-function.json")
    attach = f"{prefix}-attach-iot-policy"
    v["attach-function.arn"] = function(
        attach, f"Attaches {identity_policy} to the calling identity only", attach_role_arn,
        "attach_policy", 30,
        {"IDENTITY_POOL_ID": identity_pool_id, "IOT_POLICY_NAME": identity_policy})
    lam.create_function_url_config(FunctionName=attach, AuthType="AWS_IAM")

    # The identity pool's roles and their attachment.
    roles = {
        "authenticated": role(
            f"{prefix}-IdentityPoolAuthRole",
            f"Signed-in identities of {prefix}-edge-identity-pool",
            "identity-trust-authenticated.json", "iot-and-secret", "identity-auth-role.json"),
        "unauthenticated": role(
            f"{prefix}-IdentityPoolUnAuthRole",
            f"Guest identities of {prefix}-edge-identity-pool",
            "identity-trust-unauthenticated.json", "secret", "identity-unauth-role.json"),
    }
    cid.set_identity_pool_roles(IdentityPoolId=identity_pool_id, Roles=roles)

    with open(state_path, "w", encoding="utf-8") as f:
        json.dump(s, f, indent=1)


def delete(aws, state_path):
    """Everything `create` made, in reverse order, one call at a time."""
    with open(state_path, encoding="utf-8") as f:
        s = json.load(f)
    prefix = s["prefix"]
    iot, iam, lam, sns = aws["iot"], aws["iam"], aws["lambda"], aws["sns"]
    idp, cid, sm = aws["cognito-idp"], aws["cognito-identity"], aws["secretsmanager"]

    def role(name, inline):
        iam.delete_role_policy(RoleName=name, PolicyName=inline)
        iam.delete_role(RoleName=name)

    # The identity pool's roles (their attachment goes with the pool).
    role(f"{prefix}-IdentityPoolUnAuthRole", "secret")
    role(f"{prefix}-IdentityPoolAuthRole", "iot-and-secret")
    # Per-identity attachment (the URL goes with the function).
    lam.delete_function(FunctionName=f"{prefix}-attach-iot-policy")
    role(f"{prefix}-attach-iot-policy-role", "attach-and-logs")
    # The app secret (the user goes with the pool).
    sm.delete_secret(SecretId=s["secret_arn"], ForceDeleteWithoutRecovery=True)
    # Identities.
    iot.delete_policy(policyName=f"{prefix}-cognito-iot-policy")
    cid.delete_identity_pool(IdentityPoolId=s["identity_pool_id"])
    # Users (the client goes with the pool, the permission with the function).
    idp.delete_user_pool(UserPoolId=s["user_pool_id"])
    lam.delete_function(FunctionName=f"{prefix}-cognito-presignup-lambda")
    role(f"{prefix}-LambdaCognitoPresignupExecutionRole", "own-logs")
    # Alerts (the subscription goes with the topic).
    iot.delete_topic_rule(ruleName=f"{prefix.replace('-', '_')}_alerts")
    role(f"{prefix}-iot-rule-sns-role", "sns-publish")
    sns.delete_topic(TopicArn=s["topic_arn"])
    # Certificate device: a certificate is deleted detached and inactive.
    thing = f"{prefix}-thing"
    iot.detach_thing_principal(thingName=thing, principal=s["certificate_arn"])
    iot.detach_policy(policyName=f"{prefix}-device-policy", target=s["certificate_arn"])
    iot.update_certificate(certificateId=s["certificate_id"], newStatus="INACTIVE")
    iot.delete_certificate(certificateId=s["certificate_id"])
    iot.delete_policy(policyName=f"{prefix}-device-policy")
    iot.delete_thing(thingName=thing)


# --- check (not measured) -----------------------------------------------------------------------


def inventory(aws, prefix):
    """Everything named for the prefix that the listings show, as "kind name" strings."""
    iot, iam, lam, sns = aws["iot"], aws["iam"], aws["lambda"], aws["sns"]
    idp, cid, sm = aws["cognito-idp"], aws["cognito-identity"], aws["secretsmanager"]
    us = prefix.replace("-", "_")
    found = set()

    def add(kind, names, match=lambda n: n.startswith(prefix)):
        found.update(f"{kind} {n}" for n in names if match(n))

    add("iam_role", (r["RoleName"] for p in iam.get_paginator("list_roles").paginate()
                     for r in p["Roles"]))
    add("lambda_function", (f["FunctionName"] for p in lam.get_paginator("list_functions")
                            .paginate() for f in p["Functions"]))
    add("user_pool", (u["Name"] for u in idp.list_user_pools(MaxResults=60)["UserPools"]))
    add("identity_pool", (i["IdentityPoolName"] for i in
                          cid.list_identity_pools(MaxResults=60)["IdentityPools"]))
    add("iot_policy", (p["policyName"] for p in iot.list_policies()["policies"]))
    add("iot_thing", (t["thingName"] for t in iot.list_things()["things"]))
    add("iot_topic_rule", (r["ruleName"] for r in iot.list_topic_rules()["rules"]),
        lambda n: n.startswith(us))
    add("sns_topic", (t["TopicArn"].rsplit(":", 1)[-1] for t in sns.list_topics()["Topics"]))
    add("sns_subscription", (sub["Endpoint"] + " " + sub["TopicArn"].rsplit(":", 1)[-1]
                             for sub in sns.list_subscriptions()["Subscriptions"]),
        lambda n: n.split(" ")[-1].startswith(prefix))
    add("secret", (x["Name"] for x in sm.list_secrets()["SecretList"]),
        lambda n: n.endswith(f"_{prefix}-app-user"))
    for c in iot.list_certificates()["certificates"]:
        pem = iot.describe_certificate(certificateId=c["certificateId"])[
            "certificateDescription"]["certificatePem"]
        if f"{prefix}-thing" in subject_cn(pem):
            found.add(f"iot_certificate {c['certificateId']}")
    return found


def subject_cn(pem):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    cert = x509.load_pem_x509_certificate(pem.encode())
    return ",".join(a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME))


def check(aws, state_path, expect):
    with open(state_path, encoding="utf-8") as f:
        s = json.load(f)
    prefix = s["prefix"]
    have = inventory(aws, prefix)
    problems = []
    if expect == "absent":
        problems += [f"left behind: {x}" for x in sorted(have)]
    else:
        roles = ["iot-rule-sns-role", "LambdaCognitoPresignupExecutionRole",
                 "attach-iot-policy-role", "IdentityPoolAuthRole", "IdentityPoolUnAuthRole"]
        want = {f"iam_role {prefix}-{r}" for r in roles}
        want |= {f"lambda_function {prefix}-cognito-presignup-lambda",
                 f"lambda_function {prefix}-attach-iot-policy",
                 f"user_pool {prefix}-user-pool",
                 f"identity_pool {prefix}-edge-identity-pool",
                 f"iot_policy {prefix}-device-policy",
                 f"iot_policy {prefix}-cognito-iot-policy",
                 f"iot_thing {prefix}-thing",
                 f"iot_certificate {s['certificate_id']}",
                 f"iot_topic_rule {prefix.replace('-', '_')}_alerts",
                 f"sns_topic {prefix}-iot-notification",
                 f"secret {s['user_pool_id']}_{prefix}-app-user"}
        problems += [f"missing: {x}" for x in sorted(want - have)]
        subs = [x for x in have if x.startswith("sns_subscription ")]
        if len(subs) != 1:
            problems.append(f"expected one email subscription, found {len(subs)}")
        problems += wiring(aws, s)
    for p in problems:
        print(f"peer: check {expect}: {p}", file=sys.stderr)
    print(json.dumps({"check": expect, "ok": not problems, "resources": len(have)}))
    return 0 if not problems else 1


def wiring(aws, s):
    """What the listings do not show: attachments, trigger, permission, URL, roles, user."""
    prefix, problems = s["prefix"], []
    iot, iam, lam = aws["iot"], aws["iam"], aws["lambda"]
    idp, cid, sm = aws["cognito-idp"], aws["cognito-identity"], aws["secretsmanager"]

    def expect(ok, what):
        if not ok:
            problems.append(what)

    cert = s["certificate_arn"]
    expect([p["policyName"] for p in iot.list_attached_policies(target=cert)["policies"]]
           == [f"{prefix}-device-policy"], "device policy not attached to the certificate")
    expect(iot.list_principal_things(principal=cert)["things"] == [f"{prefix}-thing"],
           "certificate not attached to the thing")
    pool = idp.describe_user_pool(UserPoolId=s["user_pool_id"])["UserPool"]
    expect(pool.get("LambdaConfig", {}).get("PreSignUp", "").endswith(
        f":function:{prefix}-cognito-presignup-lambda"), "user pool without its trigger")
    clients = idp.list_user_pool_clients(UserPoolId=s["user_pool_id"])["UserPoolClients"]
    expect([c["ClientName"] for c in clients] == [f"{prefix}-app-client"], "app client missing")
    user = idp.admin_get_user(UserPoolId=s["user_pool_id"], Username=f"{prefix}-app-user")
    expect(user["UserStatus"] == "CONFIRMED", "app user not confirmed")
    policy = lam.get_policy(FunctionName=f"{prefix}-cognito-presignup-lambda")["Policy"]
    policy = json.loads(policy)
    expect([st.get("Sid") for st in policy["Statement"]] == ["cognito-presignup"],
           "pre-sign-up permission missing")
    url = lam.get_function_url_config(FunctionName=f"{prefix}-attach-iot-policy")
    expect(url["AuthType"] == "AWS_IAM", "function URL missing")
    roles = cid.get_identity_pool_roles(IdentityPoolId=s["identity_pool_id"])["Roles"]
    expect(sorted(roles) == ["authenticated", "unauthenticated"], "identity pool roles missing")
    for r, inline in (("iot-rule-sns-role", "sns-publish"),
                      ("LambdaCognitoPresignupExecutionRole", "own-logs"),
                      ("attach-iot-policy-role", "attach-and-logs"),
                      ("IdentityPoolAuthRole", "iot-and-secret"),
                      ("IdentityPoolUnAuthRole", "secret")):
        names = iam.list_role_policies(RoleName=f"{prefix}-{r}")["PolicyNames"]
        expect(names == [inline], f"role {prefix}-{r} without its inline policy")
    expect("NotIpAddress" in sm.get_resource_policy(SecretId=s["secret_arn"])
           .get("ResourcePolicy", ""), "secret without its resource policy")
    return problems


# --- main ---------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("phase", choices=["create", "delete", "check", "selftest"])
    ap.add_argument("--endpoint", required=True, help="the emulator or the latency proxy")
    ap.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    ap.add_argument("--prefix")
    ap.add_argument("--email")
    ap.add_argument("--ip")
    ap.add_argument("--state", required=True, help="file create writes and delete reads")
    ap.add_argument("--expect", choices=["present", "absent"], default="present")
    args = ap.parse_args()
    if args.phase in ("create", "selftest") and not (args.prefix and args.email and args.ip):
        ap.error(f"{args.phase} needs --prefix, --email and --ip")

    aws = Aws(args.endpoint, args.region)  # imports and clients: before the clock starts

    def measured(phase, fn, *a):
        aws.calls, aws.operations = 0, {}
        t0 = time.perf_counter()
        fn(aws, *a)
        wall = time.perf_counter() - t0
        print(json.dumps({"phase": phase, "calls": aws.calls, "wall_s": round(wall, 3),
                          "operations": aws.operations}), flush=True)

    if args.phase == "create":
        measured("create", create, args.prefix, args.email, args.ip, args.state)
    elif args.phase == "delete":
        measured("delete", delete, args.state)
    elif args.phase == "check":
        return check(aws, args.state, args.expect)
    else:
        measured("create", create, args.prefix, args.email, args.ip, args.state)
        if check(aws, args.state, "present"):
            return 1
        measured("delete", delete, args.state)
        return check(aws, args.state, "absent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
