"""Tests of the emulator patches in scripts/moto_ext.py.

Starts ``scripts/emulator serve`` on a free loopback port and checks each
patch through boto3. Run with the emulator's python:

    .emulator/venv/bin/python -m unittest scripts/test_moto_ext.py
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import IO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EMULATOR = Path(__file__).resolve().parent / "emulator"
REGION = "eu-west-1"
ACCOUNT = "123456789012"

_server: subprocess.Popen[bytes] | None = None
_server_log: IO[bytes] | None = None
ENDPOINT = ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/moto-api/config", timeout=2)
    except urllib.error.HTTPError:
        pass
    except OSError:
        return False
    return True


def setUpModule() -> None:
    global _server, _server_log, ENDPOINT
    port = _free_port()
    ENDPOINT = f"http://127.0.0.1:{port}"
    _server_log = tempfile.TemporaryFile()
    _server = subprocess.Popen(
        [str(EMULATOR), "serve", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=_server_log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not _answers(ENDPOINT):
        if _server.poll() is not None or time.monotonic() > deadline:
            _server_log.seek(0)
            log = _server_log.read().decode(errors="replace")
            tearDownModule()
            raise RuntimeError(f"emulator did not start on {ENDPOINT}:\n{log}")
        time.sleep(0.1)


def tearDownModule() -> None:
    global _server
    if _server is not None:
        _server.terminate()
        try:
            _server.wait(10)
        except subprocess.TimeoutExpired:
            _server.kill()
            _server.wait()
        _server = None
    if _server_log is not None:
        _server_log.close()


def client(service: str, region: str = REGION):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=region,
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(retries={"max_attempts": 1}),
    )


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class EmulatorCase(unittest.TestCase):
    def assertError(self, code: str, call, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self.assertRaises(ClientError) as ctx:
            call(*args, **kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code)
        return ctx.exception


class UserPoolFixture:
    """A user pool with an app client and a confirmed user per name."""

    def __init__(self, idp) -> None:  # type: ignore[no-untyped-def]
        self.idp = idp
        pool = idp.create_user_pool(PoolName=unique("users"))["UserPool"]
        self.pool_id = pool["Id"]
        self.provider = f"cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"
        self.client_id = idp.create_user_pool_client(
            UserPoolId=self.pool_id,
            ClientName="app",
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]

    def id_token(self, username: str) -> str:
        password = "Corr3ct-Horse-Battery!"
        try:
            self.idp.admin_create_user(
                UserPoolId=self.pool_id, Username=username, MessageAction="SUPPRESS"
            )
            self.idp.admin_set_user_password(
                UserPoolId=self.pool_id,
                Username=username,
                Password=password,
                Permanent=True,
            )
        except ClientError as err:
            if err.response["Error"]["Code"] != "UsernameExistsException":
                raise
        auth = self.idp.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        return auth["AuthenticationResult"]["IdToken"]


def create_identity_pool(ci, fixture: UserPoolFixture | None = None, **extra):  # type: ignore[no-untyped-def]
    kwargs = dict(
        IdentityPoolName=unique("ids"), AllowUnauthenticatedIdentities=False
    )
    if fixture is not None:
        kwargs["CognitoIdentityProviders"] = [
            {"ProviderName": fixture.provider, "ClientId": fixture.client_id}
        ]
    kwargs.update(extra)
    return ci.create_identity_pool(**kwargs)["IdentityPoolId"]


# --- A ----------------------------------------------------------------------


class IdentityPoolRolesTest(EmulatorCase):
    def setUp(self) -> None:
        self.ci = client("cognito-identity")
        self.pool_id = create_identity_pool(self.ci)
        self.auth_role = f"arn:aws:iam::{ACCOUNT}:role/iotstack-auth"
        self.unauth_role = f"arn:aws:iam::{ACCOUNT}:role/iotstack-unauth"

    def test_roles_round_trip(self) -> None:
        mappings = {
            f"cognito-idp.{REGION}.amazonaws.com/{REGION}_abc:client1": {
                "Type": "Token",
                "AmbiguousRoleResolution": "AuthenticatedRole",
            }
        }
        self.ci.set_identity_pool_roles(
            IdentityPoolId=self.pool_id,
            Roles={"authenticated": self.auth_role, "unauthenticated": self.unauth_role},
            RoleMappings=mappings,
        )
        got = self.ci.get_identity_pool_roles(IdentityPoolId=self.pool_id)
        self.assertEqual(got["IdentityPoolId"], self.pool_id)
        self.assertEqual(
            got["Roles"],
            {"authenticated": self.auth_role, "unauthenticated": self.unauth_role},
        )
        self.assertEqual(got["RoleMappings"], mappings)

    def test_set_replaces_previous_roles(self) -> None:
        self.ci.set_identity_pool_roles(
            IdentityPoolId=self.pool_id,
            Roles={"authenticated": self.auth_role, "unauthenticated": self.unauth_role},
        )
        self.ci.set_identity_pool_roles(
            IdentityPoolId=self.pool_id, Roles={"authenticated": self.unauth_role}
        )
        got = self.ci.get_identity_pool_roles(IdentityPoolId=self.pool_id)
        self.assertEqual(got["Roles"], {"authenticated": self.unauth_role})
        self.assertEqual(got["RoleMappings"], {})

    def test_no_roles_before_set(self) -> None:
        got = self.ci.get_identity_pool_roles(IdentityPoolId=self.pool_id)
        self.assertEqual(got["Roles"], {})

    def test_unknown_pool(self) -> None:
        missing = f"{REGION}:00000000-0000-0000-0000-000000000000"
        self.assertError(
            "ResourceNotFoundException",
            self.ci.get_identity_pool_roles,
            IdentityPoolId=missing,
        )
        self.assertError(
            "ResourceNotFoundException",
            self.ci.set_identity_pool_roles,
            IdentityPoolId=missing,
            Roles={"authenticated": self.auth_role},
        )

    def test_delete_pool_drops_roles(self) -> None:
        self.ci.set_identity_pool_roles(
            IdentityPoolId=self.pool_id, Roles={"authenticated": self.auth_role}
        )
        self.ci.delete_identity_pool(IdentityPoolId=self.pool_id)
        self.assertError(
            "ResourceNotFoundException",
            self.ci.get_identity_pool_roles,
            IdentityPoolId=self.pool_id,
        )


# --- B ----------------------------------------------------------------------


class UserPoolTagsTest(EmulatorCase):
    def setUp(self) -> None:
        self.idp = client("cognito-idp")
        pool = self.idp.create_user_pool(
            PoolName=unique("tagged"), UserPoolTags={"env": "test"}
        )["UserPool"]
        self.pool_id, self.arn = pool["Id"], pool["Arn"]
        self.assertEqual(
            self.arn,
            f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{self.pool_id}",
        )

    def tags(self) -> dict[str, str]:
        return self.idp.list_tags_for_resource(ResourceArn=self.arn)["Tags"]

    def described_tags(self) -> dict[str, str]:
        pool = self.idp.describe_user_pool(UserPoolId=self.pool_id)["UserPool"]
        return pool.get("UserPoolTags", {})

    def test_round_trip(self) -> None:
        self.assertEqual(self.tags(), {"env": "test"})
        self.idp.tag_resource(ResourceArn=self.arn, Tags={"team": "iot", "env": "prod"})
        self.assertEqual(self.tags(), {"env": "prod", "team": "iot"})
        self.assertEqual(self.described_tags(), {"env": "prod", "team": "iot"})
        self.idp.untag_resource(ResourceArn=self.arn, TagKeys=["env", "absent"])
        self.assertEqual(self.tags(), {"team": "iot"})
        self.assertEqual(self.described_tags(), {"team": "iot"})

    def test_update_user_pool_keeps_or_sets_tags(self) -> None:
        self.idp.update_user_pool(
            UserPoolId=self.pool_id,
            Policies={"PasswordPolicy": {"MinimumLength": 12}},
        )
        self.assertEqual(self.tags(), {"env": "test"})
        self.idp.update_user_pool(UserPoolId=self.pool_id, UserPoolTags={"a": "b"})
        self.assertEqual(self.tags(), {"a": "b"})
        self.assertEqual(self.described_tags(), {"a": "b"})

    def test_unknown_pool(self) -> None:
        arn = f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/{REGION}_missing"
        self.assertError(
            "ResourceNotFoundException", self.idp.list_tags_for_resource, ResourceArn=arn
        )
        self.assertError(
            "ResourceNotFoundException",
            self.idp.tag_resource,
            ResourceArn=arn,
            Tags={"a": "b"},
        )


class IdentityPoolTagsTest(EmulatorCase):
    def setUp(self) -> None:
        self.ci = client("cognito-identity")
        self.pool_id = create_identity_pool(self.ci, IdentityPoolTags={"env": "test"})
        self.arn = f"arn:aws:cognito-identity:{REGION}:{ACCOUNT}:identitypool/{self.pool_id}"

    def tags(self) -> dict[str, str]:
        return self.ci.list_tags_for_resource(ResourceArn=self.arn)["Tags"]

    def test_round_trip(self) -> None:
        self.assertEqual(self.tags(), {"env": "test"})
        self.ci.tag_resource(ResourceArn=self.arn, Tags={"team": "iot"})
        self.assertEqual(self.tags(), {"env": "test", "team": "iot"})
        described = self.ci.describe_identity_pool(IdentityPoolId=self.pool_id)
        self.assertEqual(described["IdentityPoolTags"], {"env": "test", "team": "iot"})
        self.ci.untag_resource(ResourceArn=self.arn, TagKeys=["env"])
        self.assertEqual(self.tags(), {"team": "iot"})

    def test_unknown_pool(self) -> None:
        arn = (
            f"arn:aws:cognito-identity:{REGION}:{ACCOUNT}:identitypool/"
            f"{REGION}:00000000-0000-0000-0000-000000000000"
        )
        self.assertError(
            "ResourceNotFoundException", self.ci.list_tags_for_resource, ResourceArn=arn
        )


POLICY_DOC = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:Connect", "Resource": "*"}],
    }
)


class IotTagsTest(EmulatorCase):
    def setUp(self) -> None:
        self.iot = client("iot")

    def tags(self, arn: str) -> dict[str, str]:
        listed = self.iot.list_tags_for_resource(resourceArn=arn)["tags"]
        return {t["Key"]: t["Value"] for t in listed}

    def test_policy_tags(self) -> None:
        name = unique("policy")
        arn = self.iot.create_policy(
            policyName=name,
            policyDocument=POLICY_DOC,
            tags=[{"Key": "env", "Value": "test"}],
        )["policyArn"]
        self.assertEqual(arn, f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/{name}")
        self.assertEqual(self.tags(arn), {"env": "test"})
        self.iot.tag_resource(
            resourceArn=arn,
            tags=[{"Key": "team", "Value": "iot"}, {"Key": "env", "Value": "prod"}],
        )
        self.assertEqual(self.tags(arn), {"env": "prod", "team": "iot"})
        self.iot.untag_resource(resourceArn=arn, tagKeys=["env"])
        self.assertEqual(self.tags(arn), {"team": "iot"})
        self.iot.delete_policy(policyName=name)
        self.assertError(
            "ResourceNotFoundException", self.iot.list_tags_for_resource, resourceArn=arn
        )
        self.iot.create_policy(policyName=name, policyDocument=POLICY_DOC)
        self.assertEqual(self.tags(arn), {})

    def test_topic_rule_tags_from_header(self) -> None:
        name = unique("rule")
        arn = f"arn:aws:iot:{REGION}:{ACCOUNT}:rule/{name}"
        payload = {"sql": "SELECT * FROM 'devices/+/telemetry'", "actions": []}
        self.iot.create_topic_rule(
            ruleName=name, topicRulePayload=payload, tags="env=test&owner=a%20b"
        )
        self.assertEqual(self.tags(arn), {"env": "test", "owner": "a b"})
        self.iot.replace_topic_rule(
            ruleName=name, topicRulePayload=dict(payload, description="v2")
        )
        self.assertEqual(self.tags(arn), {"env": "test", "owner": "a b"})
        self.iot.delete_topic_rule(ruleName=name)
        self.assertError(
            "ResourceNotFoundException", self.iot.list_tags_for_resource, resourceArn=arn
        )
        self.iot.create_topic_rule(ruleName=name, topicRulePayload=payload)
        self.assertEqual(self.tags(arn), {})

    def test_unknown_resource(self) -> None:
        arn = f"arn:aws:iot:{REGION}:{ACCOUNT}:policy/{unique('missing')}"
        self.assertError(
            "ResourceNotFoundException", self.iot.list_tags_for_resource, resourceArn=arn
        )
        self.assertError(
            "ResourceNotFoundException",
            self.iot.tag_resource,
            resourceArn=arn,
            tags=[{"Key": "a", "Value": "b"}],
        )


# --- C ----------------------------------------------------------------------


class DescribeEndpointTest(EmulatorCase):
    def test_stable_per_account_region_and_type(self) -> None:
        iot = client("iot")
        ats = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        self.assertRegex(ats, rf"^[a-z0-9]{{14}}-ats\.iot\.{REGION}\.amazonaws\.com$")
        for _ in range(3):
            again = iot.describe_endpoint(endpointType="iot:Data-ATS")
            self.assertEqual(again["endpointAddress"], ats)
        creds = iot.describe_endpoint(endpointType="iot:CredentialProvider")
        self.assertRegex(
            creds["endpointAddress"],
            rf"^[a-z0-9]{{14}}\.credentials\.iot\.{REGION}\.amazonaws\.com$",
        )
        other = client("iot", "us-west-2").describe_endpoint(endpointType="iot:Data-ATS")
        self.assertRegex(
            other["endpointAddress"], r"^[a-z0-9]{14}-ats\.iot\.us-west-2\.amazonaws\.com$"
        )
        self.assertNotEqual(other["endpointAddress"].split("-")[0], ats.split("-")[0])

    def test_survives_reset(self) -> None:
        iot = client("iot")
        before = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        urllib.request.urlopen(
            urllib.request.Request(ENDPOINT + "/moto-api/reset", method="POST")
        )
        after = iot.describe_endpoint(endpointType="iot:Data-ATS")["endpointAddress"]
        self.assertEqual(after, before)

    def test_unknown_type(self) -> None:
        self.assertError(
            "InvalidRequestException",
            client("iot").describe_endpoint,
            endpointType="iot:Nope",
        )


# --- D ----------------------------------------------------------------------


class GetIdTest(EmulatorCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.idp = client("cognito-idp")
        cls.users = UserPoolFixture(cls.idp)

    def setUp(self) -> None:
        self.ci = client("cognito-identity")
        self.pool_id = create_identity_pool(self.ci, self.users)

    def get_id(self, token: str, pool_id: str | None = None) -> str:
        return self.ci.get_id(
            IdentityPoolId=pool_id or self.pool_id,
            Logins={self.users.provider: token},
        )["IdentityId"]

    def test_same_user_same_identity(self) -> None:
        first_token = self.users.id_token("alice")
        first = self.get_id(first_token)
        self.assertRegex(first, rf"^{REGION}:[0-9a-f-]{{36}}$")
        self.assertEqual(self.get_id(first_token), first)
        second_token = self.users.id_token("alice")  # a new token, same sub
        self.assertNotEqual(second_token, first_token)
        self.assertEqual(self.get_id(second_token), first)

        bob = self.get_id(self.users.id_token("bob"))
        self.assertNotEqual(bob, first)

        listed = self.ci.list_identities(IdentityPoolId=self.pool_id, MaxResults=60)
        self.assertEqual(listed["IdentityPoolId"], self.pool_id)
        ids = [i["IdentityId"] for i in listed["Identities"]]
        self.assertEqual(sorted(ids), sorted([first, bob]))
        for identity in listed["Identities"]:
            self.assertEqual(identity["Logins"], [self.users.provider])

    def test_identity_is_per_pool(self) -> None:
        token = self.users.id_token("carol")
        other_pool = create_identity_pool(self.ci, self.users)
        self.assertNotEqual(self.get_id(token), self.get_id(token, other_pool))

    def test_non_jwt_token_is_keyed_by_value(self) -> None:
        logins = {"graph.facebook.com": "opaque-token-1"}
        first = self.ci.get_id(IdentityPoolId=self.pool_id, Logins=logins)
        again = self.ci.get_id(IdentityPoolId=self.pool_id, Logins=logins)
        other = self.ci.get_id(
            IdentityPoolId=self.pool_id, Logins={"graph.facebook.com": "opaque-token-2"}
        )
        self.assertEqual(first["IdentityId"], again["IdentityId"])
        self.assertNotEqual(first["IdentityId"], other["IdentityId"])

    def test_unauthenticated(self) -> None:
        self.assertError("NotAuthorizedException", self.ci.get_id, IdentityPoolId=self.pool_id)
        open_pool = create_identity_pool(self.ci, AllowUnauthenticatedIdentities=True)
        a = self.ci.get_id(IdentityPoolId=open_pool)["IdentityId"]
        b = self.ci.get_id(IdentityPoolId=open_pool)["IdentityId"]
        self.assertNotEqual(a, b)
        listed = self.ci.list_identities(IdentityPoolId=open_pool, MaxResults=60)
        self.assertEqual(sorted(i["IdentityId"] for i in listed["Identities"]), sorted([a, b]))

    def test_unknown_and_deleted_pool(self) -> None:
        missing = f"{REGION}:00000000-0000-0000-0000-000000000000"
        self.assertError(
            "ResourceNotFoundException",
            self.ci.get_id,
            IdentityPoolId=missing,
            Logins={"graph.facebook.com": "x"},
        )
        self.get_id(self.users.id_token("dave"))
        self.ci.delete_identity_pool(IdentityPoolId=self.pool_id)
        self.assertError(
            "ResourceNotFoundException",
            self.ci.list_identities,
            IdentityPoolId=self.pool_id,
            MaxResults=60,
        )

    def test_credentials_need_a_role(self) -> None:
        token = self.users.id_token("erin")
        identity = self.get_id(token)
        logins = {self.users.provider: token}
        self.assertError(
            "InvalidIdentityPoolConfigurationException",
            self.ci.get_credentials_for_identity,
            IdentityId=identity,
            Logins=logins,
        )
        self.ci.set_identity_pool_roles(
            IdentityPoolId=self.pool_id,
            Roles={"authenticated": f"arn:aws:iam::{ACCOUNT}:role/iotstack-auth"},
        )
        creds = self.ci.get_credentials_for_identity(IdentityId=identity, Logins=logins)
        self.assertEqual(creds["IdentityId"], identity)
        self.assertTrue(creds["Credentials"]["AccessKeyId"])
        self.assertError(
            "ResourceNotFoundException",
            self.ci.get_credentials_for_identity,
            IdentityId=f"{REGION}:00000000-0000-0000-0000-000000000000",
        )


# --- E ----------------------------------------------------------------------


class CertificateFromCsrTest(EmulatorCase):
    def test_certificate_matches_csr_key(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(
                x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "device-1")])
            )
            .sign(key, hashes.SHA256())
        )
        iot = client("iot")
        created = iot.create_certificate_from_csr(
            certificateSigningRequest=csr.public_bytes(serialization.Encoding.PEM).decode(),
            setAsActive=True,
        )
        cert = x509.load_pem_x509_certificate(created["certificatePem"].encode())
        self.assertEqual(
            cert.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
            key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
        described = iot.describe_certificate(certificateId=created["certificateId"])
        self.assertEqual(described["certificateDescription"]["status"], "ACTIVE")
        self.assertEqual(
            created["certificateArn"],
            f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/{created['certificateId']}",
        )


# --- F ----------------------------------------------------------------------


class LambdaPermissionTest(EmulatorCase):
    def test_function_url_permission(self) -> None:
        iam, lam = client("iam"), client("lambda")
        role = iam.create_role(
            RoleName=unique("fn"),
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return 1\n")
        name = unique("fn")
        arn = lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": code.getvalue()},
        )["FunctionArn"]
        permission = dict(
            FunctionName=name,
            StatementId="FunctionURLAllowPublicAccess",
            Action="lambda:InvokeFunctionUrl",
            Principal="*",
            FunctionUrlAuthType="NONE",
        )
        lam.add_permission(**permission)
        self.assertError("ResourceConflictException", lam.add_permission, **permission)
        statements = json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
        self.assertEqual(
            statements,
            [
                {
                    "Sid": "FunctionURLAllowPublicAccess",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "lambda:InvokeFunctionUrl",
                    "Resource": arn,
                    "Condition": {
                        "StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}
                    },
                }
            ],
        )


# --- G ----------------------------------------------------------------------


class ManagedPolicyTest(EmulatorCase):
    def test_attach_aws_managed_policy(self) -> None:
        iam = client("iam")
        name = unique("logging")
        iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "iot.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )
        policy_arn = "arn:aws:iam::aws:policy/service-role/AWSIoTLogging"
        iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        self.assertEqual(
            attached, [{"PolicyName": "AWSIoTLogging", "PolicyArn": policy_arn}]
        )


# --- I ----------------------------------------------------------------------


class ThingVersionsTest(EmulatorCase):
    def setUp(self) -> None:
        self.iot = client("iot")
        self.name = unique("thing")

    def version(self) -> int:
        return self.iot.describe_thing(thingName=self.name)["version"]

    def test_create_is_idempotent_only_for_the_same_configuration(self) -> None:
        mine = {"attributes": {"holder": "a"}}
        first = self.iot.create_thing(thingName=self.name, attributePayload=mine)
        again = self.iot.create_thing(thingName=self.name, attributePayload=mine)
        self.assertEqual(first["thingId"], again["thingId"])
        self.assertError(
            "ResourceAlreadyExistsException",
            self.iot.create_thing,
            thingName=self.name,
            attributePayload={"attributes": {"holder": "b"}},
        )
        attrs = self.iot.describe_thing(thingName=self.name)["attributes"]
        self.assertEqual(attrs, {"holder": "a"})

    def test_update_and_delete_honour_the_expected_version(self) -> None:
        self.iot.create_thing(thingName=self.name)
        v = self.version()
        self.iot.update_thing(
            thingName=self.name,
            attributePayload={"attributes": {"holder": "b"}},
            expectedVersion=v,
        )
        self.assertEqual(self.version(), v + 1)
        self.assertError(
            "VersionConflictException",
            self.iot.update_thing,
            thingName=self.name,
            attributePayload={"attributes": {"holder": "c"}},
            expectedVersion=v,
        )
        self.assertError(
            "VersionConflictException",
            self.iot.delete_thing,
            thingName=self.name,
            expectedVersion=v,
        )
        self.iot.delete_thing(thingName=self.name, expectedVersion=v + 1)
        self.assertError(
            "ResourceNotFoundException", self.iot.describe_thing, thingName=self.name
        )
        # Deleting a thing that does not exist succeeds, as AWS documents.
        self.iot.delete_thing(thingName=self.name)


class EmulatorScriptTest(unittest.TestCase):
    def test_python_prints_venv_interpreter(self) -> None:
        out = subprocess.run(
            [str(EMULATOR), "python"], check=True, capture_output=True, text=True
        ).stdout.strip()
        self.assertTrue(os.access(out, os.X_OK), out)
        self.assertTrue(re.search(r"/venv/bin/python$", out), out)

    def test_serve_requires_port(self) -> None:
        run = subprocess.run(
            [str(EMULATOR), "serve"], capture_output=True, text=True
        )
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("--port", run.stderr)


if __name__ == "__main__":
    unittest.main()
