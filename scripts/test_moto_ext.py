"""Tests of the emulator patches in scripts/moto_ext.py.

Starts two ``scripts/emulator serve`` on free loopback ports, one without and
one with strict mode, and checks each patch through boto3. Run with the
emulator's python:

    $(scripts/emulator python) -m unittest scripts/test_moto_ext.py
"""

from __future__ import annotations

import io
import concurrent.futures
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
import types
import unittest
import urllib.error
import urllib.request
import uuid
import zipfile
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

EMULATOR = Path(__file__).resolve().parent / "emulator"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
# Strict-mode timings of the strict server (short, to keep the tests quick).
LIST_LAG = 1.0
ROLE_DELAY = 1.0

ENDPOINT = ""  # a server without strict mode
STRICT_ENDPOINT = ""  # a server with every strict patch on


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


class _Server:
    """``scripts/emulator serve`` on a free loopback port."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        port = _free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.log: IO[bytes] = tempfile.TemporaryFile()
        environ = {
            k: v for k, v in os.environ.items() if not k.startswith("IOTSTACK_EMULATOR_")
            or k in ("IOTSTACK_EMULATOR_HOME", "IOTSTACK_EMULATOR_PYTHON")
        }
        environ.update(env or {})
        self.process: subprocess.Popen[bytes] | None = subprocess.Popen(
            [str(EMULATOR), "serve", "--port", str(port), *args],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=environ,
        )

    def wait(self) -> None:
        deadline = time.monotonic() + 120
        while not _answers(self.endpoint):
            assert self.process is not None
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                log = self.log.read().decode(errors="replace")
                raise RuntimeError(f"emulator did not start on {self.endpoint}:\n{log}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        self.log.close()


_servers: list[_Server] = []


def setUpModule() -> None:
    global ENDPOINT, STRICT_ENDPOINT
    plain = _Server()
    strict = _Server(
        "--strict",
        env={
            "IOTSTACK_EMULATOR_LIST_LAG": str(LIST_LAG),
            "IOTSTACK_EMULATOR_ROLE_DELAY": str(ROLE_DELAY),
        },
    )
    _servers.extend([plain, strict])
    try:
        plain.wait()
        strict.wait()
    except BaseException:
        tearDownModule()
        raise
    ENDPOINT, STRICT_ENDPOINT = plain.endpoint, strict.endpoint


def tearDownModule() -> None:
    while _servers:
        _servers.pop().stop()


def client(service: str, region: str = REGION, endpoint: str = "", **creds: str):  # type: ignore[no-untyped-def]
    return boto3.client(
        service,
        endpoint_url=endpoint or ENDPOINT,
        region_name=region,
        aws_access_key_id=creds.get("AccessKeyId", "AKIAIOSFODNN7EXAMPLE"),
        aws_secret_access_key=creds.get(
            "SecretKey", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        ),
        aws_session_token=creds.get("SessionToken"),
        config=Config(retries={"max_attempts": 1}),
    )


def strict_client(service: str, region: str = REGION, **creds: str):  # type: ignore[no-untyped-def]
    return client(service, region, STRICT_ENDPOINT, **creds)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())


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


def certificate_from_csr(iot, *subject: tuple) -> tuple:  # type: ignore[no-untyped-def]
    """CreateCertificateFromCsr for a new EC key and a CSR with ``subject``
    ((oid, value) pairs): (response, certificate, CSR); asserts that the
    certificate certifies the key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(oid, value) for oid, value in subject])
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(name)
        .sign(key, hashes.SHA256())
    )
    created = iot.create_certificate_from_csr(
        certificateSigningRequest=csr.public_bytes(serialization.Encoding.PEM).decode(),
        setAsActive=True,
    )
    cert = x509.load_pem_x509_certificate(created["certificatePem"].encode())
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(
        der, spki
    ), "the certificate does not certify the CSR's key"
    return created, cert, csr


class CertificateDeleteTest(EmulatorCase):
    """DeleteCertificate refuses an ACTIVE certificate and one still attached to a thing or to
    a policy of its own, not one whose thing's group carries a policy; and its checks hold
    while other requests attach and detach at the same time (a fleet's destroy)."""

    def fleet(self, n: int) -> tuple[Any, str, list[tuple[str, str, str]]]:
        iot = client("iot")
        group, policy = unique("group"), unique("policy")
        iot.create_thing_group(thingGroupName=group)
        iot.create_policy(policyName=policy, policyDocument='{"Version":"2012-10-17","Statement":[]}')
        group_arn = iot.describe_thing_group(thingGroupName=group)["thingGroupArn"]
        iot.attach_policy(policyName=policy, target=group_arn)
        devices = []
        for _ in range(n):
            thing = unique("thing")
            iot.create_thing(thingName=thing)
            iot.add_thing_to_thing_group(thingGroupName=group, thingName=thing)
            cert = iot.create_keys_and_certificate(setAsActive=True)
            iot.attach_thing_principal(thingName=thing, principal=cert["certificateArn"])
            devices.append((thing, cert["certificateId"], cert["certificateArn"]))
        return iot, policy, devices

    def test_what_refuses_a_delete(self) -> None:
        iot, policy, [(thing, cid, arn)] = self.fleet(1)
        self.assertError("CertificateStateException", iot.delete_certificate, certificateId=cid)
        iot.update_certificate(certificateId=cid, newStatus="INACTIVE")
        self.assertError("DeleteConflictException", iot.delete_certificate, certificateId=cid)
        iot.detach_thing_principal(thingName=thing, principal=arn)
        own = unique("own")
        iot.create_policy(policyName=own, policyDocument='{"Version":"2012-10-17","Statement":[]}')
        iot.attach_policy(policyName=own, target=arn)
        self.assertError("DeleteConflictException", iot.delete_certificate, certificateId=cid)
        iot.detach_policy(policyName=own, target=arn)
        # The group's policy does not hold the certificate back.
        iot.delete_certificate(certificateId=cid)
        self.assertError("ResourceNotFoundException", iot.describe_certificate, certificateId=cid)
        targets = iot.list_targets_for_policy(policyName=policy)["targets"]
        self.assertEqual(len(targets), 1, targets)

    def test_deletes_beside_detaches_answer_no_server_error(self) -> None:
        iot, _, devices = self.fleet(40)
        for _, cid, _ in devices:
            iot.update_certificate(certificateId=cid, newStatus="INACTIVE")

        def remove(device: tuple[str, str, str]) -> None:
            thing, cid, arn = device
            own = client("iot")  # one connection per thread, as a concurrent client has
            own.detach_thing_principal(thingName=thing, principal=arn)
            own.delete_certificate(certificateId=cid)

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(lambda d: _outcome(remove, d), devices))
        self.assertEqual([r for r in results if r], [])

    def test_the_checks_hold_while_the_tables_change(self) -> None:
        # In process: the server's threads share the backend. A fleet's attachment table is
        # large, and other threads detach from it while a delete checks it.
        ext = load_moto_ext()
        backend = ext.iot_backends["123456789012"]["eu-west-3"]
        prefix = "arn:aws:iot:eu-west-3:123456789012:cert/"
        for i in range(20000):
            backend.principal_things[(f"{prefix}{i:064x}", f"thing-{i}")] = object()
        mine = "f" * 64
        backend.principal_things[(prefix + mine, "mine")] = object()
        cert = types.SimpleNamespace(status="INACTIVE", certificate_id=mine)
        stop = threading.Event()

        def churn() -> None:
            i = 0
            while not stop.is_set():
                key = (f"{prefix}{i % 20000:064x}", f"thing-{i % 20000}")
                backend.principal_things.pop(key, None)
                backend.principal_things[key] = object()
                i += 1

        other = threading.Thread(target=churn)
        other.start()
        try:
            for _ in range(30):
                with self.assertRaises(ext.DeleteConflictException):
                    backend._validation_delete(cert)
        finally:
            stop.set()
            other.join()
        del backend.principal_things[(prefix + mine, "mine")]
        backend._validation_delete(cert)


def _outcome(fn: Any, arg: Any) -> str:
    """"" when ``fn(arg)`` succeeds, else its error."""
    try:
        fn(arg)
        return ""
    except Exception as e:  # noqa: BLE001 - every failure is reported
        return repr(e)


class CertificateFromCsrTest(EmulatorCase):
    def test_certificate_matches_csr_key(self) -> None:
        from cryptography import x509

        iot = client("iot")
        created, cert, csr = certificate_from_csr(
            iot, (x509.NameOID.COMMON_NAME, "device-1")
        )
        described = iot.describe_certificate(certificateId=created["certificateId"])
        self.assertEqual(described["certificateDescription"]["status"], "ACTIVE")
        self.assertEqual(
            created["certificateArn"],
            f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/{created['certificateId']}",
        )
        # Without strict mode the CSR's subject is kept.
        self.assertEqual(cert.subject, csr.subject)


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


class PasswordLengthTest(EmulatorCase):
    def test_passwords_up_to_256_characters_meet_the_policy(self) -> None:
        idp = client("cognito-idp")
        pool = idp.create_user_pool(
            PoolName=unique("pool"),
            Policies={"PasswordPolicy": {"MinimumLength": 30}},
        )["UserPool"]["Id"]
        idp.admin_create_user(UserPoolId=pool, Username="u")
        good = "Aa1!" + "x" * 95
        idp.admin_set_user_password(UserPoolId=pool, Username="u", Password=good, Permanent=True)
        for bad in ("Aa1!" + "x" * 20, "Aa1!" + "x" * 253, "a" * 40):
            self.assertError(
                "InvalidPasswordException",
                idp.admin_set_user_password,
                UserPoolId=pool,
                Username="u",
                Password=bad,
                Permanent=True,
            )


class SecretVersionStageTest(EmulatorCase):
    def test_moving_awscurrent_moves_what_get_secret_value_answers(self) -> None:
        sm = client("secretsmanager")
        name = unique("secret")
        sm.create_secret(Name=name, SecretString="one")
        old = sm.get_secret_value(SecretId=name)["VersionId"]
        new = "v2-" + uuid.uuid4().hex
        sm.put_secret_value(
            SecretId=name, SecretString="two", ClientRequestToken=new, VersionStages=["AWSPENDING"]
        )
        self.assertEqual(sm.get_secret_value(SecretId=name)["SecretString"], "one")
        sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=new, RemoveFromVersionId=old
        )
        current = sm.get_secret_value(SecretId=name)
        self.assertEqual((current["SecretString"], current["VersionId"]), ("two", new))
        previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
        self.assertEqual(previous["SecretString"], "one")


class PutSecretValueRetryTest(EmulatorCase):
    def test_a_retried_first_value_keeps_its_labels(self) -> None:
        sm = client("secretsmanager")
        name = unique("secret")
        arn = sm.create_secret(Name=name)["ARN"]
        token = "v1-" + uuid.uuid4().hex
        for _ in range(2):  # the request, then its retry (the first answer lost)
            sm.put_secret_value(
                SecretId=arn, SecretString="one", ClientRequestToken=token,
                VersionStages=["AWSPENDING"],
            )
        versions = sm.list_secret_version_ids(SecretId=name)["Versions"]
        self.assertEqual(len(versions), 1)
        self.assertEqual(sorted(versions[0]["VersionStages"]), ["AWSCURRENT", "AWSPENDING"])
        self.assertError(
            "ResourceExistsException",
            sm.put_secret_value,
            SecretId=arn,
            SecretString="two",
            ClientRequestToken=token,
        )


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
        # With and without strict mode (the end-to-end tests run strict): iotstack's lock takes
        # a successful CreateThing as proof that the thing holds the payload it sent.
        for iot in (self.iot, strict_client("iot")):
            with self.subTest(endpoint=iot.meta.endpoint_url):
                mine = {"attributes": {"holder": "a", "by": "x"}}
                first = iot.create_thing(thingName=self.name, attributePayload=mine)
                again = iot.create_thing(thingName=self.name, attributePayload=mine)
                self.assertEqual(first["thingId"], again["thingId"])
                for other in ({"holder": "b", "by": "x"}, {"holder": "a"}, {}):
                    self.assertError(
                        "ResourceAlreadyExistsException",
                        iot.create_thing,
                        thingName=self.name,
                        attributePayload={"attributes": other},
                    )
                attrs = iot.describe_thing(thingName=self.name)["attributes"]
                self.assertEqual(attrs, {"holder": "a", "by": "x"})

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

# --- J ----------------------------------------------------------------------


def post_json(path: str, body: dict) -> dict:
    """POST ``body`` as JSON to the emulator's ``path``: its JSON answer."""
    request = urllib.request.Request(
        ENDPOINT + path, data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


class LostAnswerTest(EmulatorCase):
    def arm(self, **body) -> dict:  # type: ignore[no-untyped-def]
        return post_json("/moto-api/iotstack/lose-answer", body)

    def client(self, service: str, attempts: int):  # type: ignore[no-untyped-def]
        return boto3.client(
            service,
            endpoint_url=ENDPOINT,
            region_name=REGION,
            aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
            aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            config=Config(retries={"total_max_attempts": attempts, "mode": "standard"}),
        )

    def pools(self, name: str) -> int:
        listed = client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
        return sum(1 for p in listed if p["Name"] == name)

    def test_carried_out_but_answered_500(self) -> None:
        name = unique("users")
        self.assertEqual(self.arm(action="CreateUserPool"), {"armed": {"CreateUserPool": 1}})
        once = self.client("cognito-idp", 1)
        err = self.assertError("InternalFailure", once.create_user_pool, PoolName=name)
        self.assertEqual(err.response["ResponseMetadata"]["HTTPStatusCode"], 500)
        self.assertEqual(self.pools(name), 1)
        self.assertEqual(get_json(ENDPOINT + "/moto-api/iotstack/lose-answer"), {"armed": {}})
        # An SDK that retries creates it twice.
        self.arm(action="CreateUserPool")
        other = unique("users")
        self.client("cognito-idp", 3).create_user_pool(PoolName=other)
        self.assertEqual(self.pools(other), 2)

    def test_query_protocol_and_disarm(self) -> None:
        sns = self.client("sns", 1)
        self.arm(action="CreateTopic", count=2)
        self.arm(action="CreateTopic", count=0)
        sns.create_topic(Name=unique("t"))
        self.arm(action="CreateTopic", count=2)
        urllib.request.urlopen(
            urllib.request.Request(ENDPOINT + "/moto-api/reset", method="POST")
        )
        sns.create_topic(Name=unique("t"))
        self.arm(action="CreateTopic")
        self.assertError("InternalFailure", sns.create_topic, Name=unique("t"))


# --- P ----------------------------------------------------------------------


class OwnTimeTest(EmulatorCase):
    """Patch P keeps what moto computed the same, only made once."""

    def test_each_pool_signs_its_own_tokens_with_the_key_its_jwks_publishes(self) -> None:
        from joserfc import jwk, jwt

        idp = client("cognito-idp")
        pools = [UserPoolFixture(idp) for _ in range(2)]
        for fixture in pools:
            token = fixture.id_token("ada")
            jwks = get_json(f"{ENDPOINT}/{fixture.pool_id}/.well-known/jwks.json")
            claims = jwt.decode(token, jwk.KeySet.import_key_set(jwks)).claims
            self.assertEqual(claims["iss"], f"https://{fixture.provider}")
            self.assertEqual(claims["aud"], fixture.client_id)
            self.assertEqual(claims["cognito:username"], "ada")

    def test_error_answers_keep_their_codes_when_asked_again(self) -> None:
        for _ in range(2):
            self.assertError(
                "ResourceNotFoundException", client("iot").describe_thing, thingName=unique("t")
            )
            self.assertError("NoSuchEntity", client("iam").get_role, RoleName=unique("r"))
            self.assertError(
                "ResourceNotFoundException",
                client("cognito-idp").describe_user_pool,
                UserPoolId=f"{REGION}_nope",
            )
            self.assertError(
                "ResourceNotFoundException",
                client("secretsmanager").describe_secret,
                SecretId=unique("s"),
            )


# --- N ----------------------------------------------------------------------


class SeedTest(EmulatorCase):
    def seed(self, **body) -> dict:  # type: ignore[no-untyped-def]
        return post_json("/moto-api/iotstack/seed", body)

    def test_seeded_resources_are_seen_through_the_api(self) -> None:
        prefix = unique("seed")
        before = len(client("iot").list_certificates(pageSize=250)["certificates"])
        counts = self.seed(
            account=ACCOUNT, region=REGION, prefix=prefix,
            user_pools=3, identity_pools=2, certificates=4,
        )
        self.assertGreaterEqual(counts["certificates"], before + 4)
        pools = client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
        ours = [p for p in pools if p["Name"].startswith(prefix + "-")]
        self.assertEqual(len(ours), 3)
        described = client("cognito-idp").describe_user_pool(UserPoolId=ours[0]["Id"])
        self.assertEqual(described["UserPool"]["Name"], ours[0]["Name"])
        listed = client("cognito-identity").list_identity_pools(MaxResults=60)["IdentityPools"]
        self.assertEqual(
            sum(1 for p in listed if p["IdentityPoolName"].startswith(prefix + "_")), 2
        )
        certs = client("iot").list_certificates(pageSize=250)["certificates"]
        self.assertEqual(len(certs), before + 4)
        one = client("iot").describe_certificate(certificateId=certs[-1]["certificateId"])
        self.assertEqual(one["certificateDescription"]["status"], "ACTIVE")

    def test_a_bad_body_is_refused(self) -> None:
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            self.seed(region=REGION)
        self.assertEqual(ctx.exception.code, 400)


# --- strict mode -------------------------------------------------------------


def trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def function_zip() -> bytes:
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return 1\n")
    return code.getvalue()


_loaded: list[Any] = []


def load_moto_ext():  # type: ignore[no-untyped-def]
    """The extension, loaded in this process once: it patches moto's classes, which a second
    load would find patched already."""
    if _loaded:
        return _loaded[0]
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "moto_ext", Path(__file__).resolve().parent / "moto_ext.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _loaded.append(module)
    return module


class ServerTest(EmulatorCase):
    def test_the_server_names_its_process(self) -> None:
        # `scripts/emulator serve` execs the server: the process started is the one answering.
        for server in _servers:
            assert server.process is not None
            answer = get_json(server.endpoint + "/moto-api/iotstack/server")
            self.assertEqual(answer, {"pid": server.process.pid})


class StrictConfigTest(EmulatorCase):
    def test_status(self) -> None:
        on = get_json(STRICT_ENDPOINT + "/moto-api/iotstack/strict")
        self.assertEqual(
            on,
            {
                "patches": [
                    "cert-subject",
                    "classic-flow",
                    "guest-scope",
                    "list-lag",
                    "role-delay",
                    "secret-scheduled",
                    "sns-pending",
                    "update-resets",
                ],
                "list_lag": LIST_LAG,
                "role_delay": ROLE_DELAY,
            },
        )
        off = get_json(ENDPOINT + "/moto-api/iotstack/strict")
        self.assertEqual(off["patches"], [])

    def test_parse(self) -> None:
        ext = load_moto_ext()
        every = set(ext.STRICT_PATCHES)
        self.assertEqual(len(every), 8)
        for spec in ("", "0", "off", " "):
            self.assertEqual(ext.parse_strict(spec), set(), spec)
        for spec in ("1", "all", "ALL", "on"):
            self.assertEqual(ext.parse_strict(spec), every, spec)
        self.assertEqual(ext.parse_strict("all,-list-lag"), every - {"list-lag"})
        self.assertEqual(
            ext.parse_strict("-list-lag, -role-delay"), every - {"list-lag", "role-delay"}
        )
        self.assertEqual(
            ext.parse_strict("cert-subject,sns-pending"), {"cert-subject", "sns-pending"}
        )
        with self.assertRaisesRegex(ValueError, "unknown strict patch 'nope'"):
            ext.parse_strict("all,-nope")

    def test_unknown_patch_refused_at_start(self) -> None:
        run = subprocess.run(
            [str(EMULATOR), "serve", "--port", str(_free_port()), "--strict=all,bogus"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("unknown strict patch 'bogus'", run.stderr)


class StrictCertificateTest(EmulatorCase):
    def test_aws_subject_and_issuer(self) -> None:
        from cryptography import x509

        _, cert, _ = certificate_from_csr(
            strict_client("iot"),
            (x509.NameOID.COMMON_NAME, "device-1"),
            (x509.NameOID.ORGANIZATIONAL_UNIT_NAME, "iotstack:demo"),
        )
        self.assertEqual(cert.subject.rfc4514_string(), "CN=AWS IoT Certificate")
        self.assertEqual(
            [(a.oid, a.value) for a in cert.issuer],
            [
                (
                    x509.NameOID.ORGANIZATIONAL_UNIT_NAME,
                    "Amazon Web Services O=Amazon.com Inc. L=Seattle ST=Washington C=US",
                )
            ],
        )
        self.assertEqual(cert.not_valid_after_utc.year, 2049)


class StrictListSecretsTest(EmulatorCase):
    def setUp(self) -> None:
        self.sm = strict_client("secretsmanager")
        self.name = unique("lagged")

    def listed(self, **extra) -> list[dict]:  # type: ignore[no-untyped-def]
        return self.sm.list_secrets(
            Filters=[{"Key": "name", "Values": [self.name]}], **extra
        )["SecretList"]

    def test_new_secret_listed_after_the_lag(self) -> None:
        arn = self.sm.create_secret(Name=self.name, SecretString="v1")["ARN"]
        self.assertEqual(self.listed(), [])
        self.assertEqual(self.sm.describe_secret(SecretId=self.name)["ARN"], arn)
        self.assertEqual(self.sm.get_secret_value(SecretId=arn)["SecretString"], "v1")
        time.sleep(LIST_LAG + 0.2)
        self.assertEqual([s["ARN"] for s in self.listed()], [arn])

    def test_tags_listed_after_the_lag(self) -> None:
        self.sm.create_secret(
            Name=self.name, SecretString="v1", Tags=[{"Key": "a", "Value": "1"}]
        )
        time.sleep(LIST_LAG + 0.2)
        self.sm.tag_resource(SecretId=self.name, Tags=[{"Key": "a", "Value": "2"}])
        self.assertEqual(self.listed()[0]["Tags"], [{"Key": "a", "Value": "1"}])
        described = self.sm.describe_secret(SecretId=self.name)
        self.assertEqual(described["Tags"], [{"Key": "a", "Value": "2"}])
        time.sleep(LIST_LAG + 0.2)
        self.assertEqual(self.listed()[0]["Tags"], [{"Key": "a", "Value": "2"}])

    def test_deleted_secret_listed_until_the_lag(self) -> None:
        arn = self.sm.create_secret(Name=self.name, SecretString="v1")["ARN"]
        time.sleep(LIST_LAG + 0.2)
        self.sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        self.assertEqual([s["ARN"] for s in self.listed()], [arn])
        self.assertError("ResourceNotFoundException", self.sm.describe_secret, SecretId=arn)
        time.sleep(LIST_LAG + 0.2)
        self.assertEqual(self.listed(), [])

    def test_scheduled_deletion_listed_until_the_lag(self) -> None:
        arn = self.sm.create_secret(Name=self.name, SecretString="v1")["ARN"]
        time.sleep(LIST_LAG + 0.2)
        self.sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
        listed = self.listed()
        self.assertEqual([s["ARN"] for s in listed], [arn])
        self.assertNotIn("DeletedDate", listed[0])
        self.assertIn("DeletedDate", self.sm.describe_secret(SecretId=arn))
        time.sleep(LIST_LAG + 0.2)
        self.assertEqual(self.listed(), [])
        planned = self.listed(IncludePlannedDeletion=True)
        self.assertEqual([s["ARN"] for s in planned], [arn])

    def test_not_strict_lists_at_once(self) -> None:
        sm = client("secretsmanager")
        arn = sm.create_secret(Name=self.name, SecretString="v1")["ARN"]
        listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [self.name]}])
        self.assertEqual([s["ARN"] for s in listed["SecretList"]], [arn])


class StrictScheduledSecretTest(EmulatorCase):
    def test_a_name_scheduled_for_deletion_is_refused_as_aws_does(self) -> None:
        name = unique("scheduled")
        sm = strict_client("secretsmanager")
        sm.create_secret(Name=name, SecretString="v1")
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        e = self.assertError("InvalidRequestException", sm.create_secret, Name=name)
        self.assertIn("scheduled for deletion", e.response["Error"]["Message"])
        # A name held by a live secret is still ResourceExistsException.
        live = unique("live")
        sm.create_secret(Name=live, SecretString="v1")
        self.assertError("ResourceExistsException", sm.create_secret, Name=live)

    def test_not_strict_says_the_name_exists(self) -> None:
        name = unique("scheduled")
        sm = client("secretsmanager")
        sm.create_secret(Name=name, SecretString="v1")
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        self.assertError("ResourceExistsException", sm.create_secret, Name=name)


class StrictUpdateResetsTest(EmulatorCase):
    CLIENT = dict(
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        CallbackURLs=["https://example.com/cb"],
        AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid"],
        AllowedOAuthFlowsUserPoolClient=True,
        SupportedIdentityProviders=["COGNITO"],
        RefreshTokenValidity=10,
        EnableTokenRevocation=False,
    )

    def update_client(self, idp) -> dict:  # type: ignore[no-untyped-def]
        pool_id = idp.create_user_pool(PoolName=unique("users"))["UserPool"]["Id"]
        client_id = idp.create_user_pool_client(UserPoolId=pool_id, **self.CLIENT)[
            "UserPoolClient"
        ]["ClientId"]
        idp.update_user_pool_client(
            UserPoolId=pool_id, ClientId=client_id, IdTokenValidity=30
        )
        return idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)[
            "UserPoolClient"
        ]

    def test_user_pool_client_resets_omitted(self) -> None:
        got = self.update_client(strict_client("cognito-idp"))
        self.assertEqual(got["ClientName"], "app")
        self.assertEqual(got["IdTokenValidity"], 30)
        for gone in (
            "ExplicitAuthFlows",
            "CallbackURLs",
            "AllowedOAuthFlows",
            "AllowedOAuthScopes",
            "SupportedIdentityProviders",
        ):
            self.assertNotIn(gone, got)
        self.assertEqual(got["RefreshTokenValidity"], 30)
        self.assertIs(got["EnableTokenRevocation"], True)
        self.assertIs(got["AllowedOAuthFlowsUserPoolClient"], False)

    def test_not_strict_user_pool_client_keeps_omitted(self) -> None:
        got = self.update_client(client("cognito-idp"))
        self.assertEqual(got["CallbackURLs"], ["https://example.com/cb"])
        self.assertEqual(got["RefreshTokenValidity"], 10)

    def update_pool(self, idp) -> dict:  # type: ignore[no-untyped-def]
        pool_id = idp.create_user_pool(
            PoolName=unique("users"),
            MfaConfiguration="OPTIONAL",
            AutoVerifiedAttributes=["email"],
            LambdaConfig={"PreSignUp": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"},
            UserPoolTags={"env": "test"},
            UsernameConfiguration={"CaseSensitive": False},
            AliasAttributes=["email"],
        )["UserPool"]["Id"]
        idp.update_user_pool(
            UserPoolId=pool_id, Policies={"PasswordPolicy": {"MinimumLength": 12}}
        )
        return idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]

    def test_user_pool_resets_omitted(self) -> None:
        got = self.update_pool(strict_client("cognito-idp"))
        self.assertEqual(got["MfaConfiguration"], "OFF")
        self.assertNotIn("AutoVerifiedAttributes", got)
        self.assertEqual(got.get("LambdaConfig", {}), {})
        self.assertEqual(got["UserPoolTags"], {"env": "test"})
        # What UpdateUserPool does not take is kept, strict or not.
        self.assertEqual(got["UsernameConfiguration"], {"CaseSensitive": False})
        self.assertEqual(got["AliasAttributes"], ["email"])

    def test_not_strict_user_pool_keeps_mfa(self) -> None:
        got = self.update_pool(client("cognito-idp"))
        self.assertEqual(got["MfaConfiguration"], "OPTIONAL")
        self.assertNotIn("AutoVerifiedAttributes", got)  # moto resets the rest
        self.assertEqual(got["UsernameConfiguration"], {"CaseSensitive": False})

    def update_identity_pool(self, ci) -> dict:  # type: ignore[no-untyped-def]
        provider = f"cognito-idp.{REGION}.amazonaws.com/{REGION}_abc"
        pool_id = ci.create_identity_pool(
            IdentityPoolName=unique("ids"),
            AllowUnauthenticatedIdentities=False,
            AllowClassicFlow=True,
            SupportedLoginProviders={"graph.facebook.com": "123"},
            CognitoIdentityProviders=[{"ProviderName": provider, "ClientId": "c1"}],
            OpenIdConnectProviderARNs=[f"arn:aws:iam::{ACCOUNT}:oidc-provider/x"],
            IdentityPoolTags={"env": "test"},
        )["IdentityPoolId"]
        described = ci.describe_identity_pool(IdentityPoolId=pool_id)
        self.assertIs(described["AllowClassicFlow"], True)
        ci.update_identity_pool(
            IdentityPoolId=pool_id,
            IdentityPoolName="renamed",
            AllowUnauthenticatedIdentities=True,
        )
        return ci.describe_identity_pool(IdentityPoolId=pool_id)

    def test_identity_pool_resets_omitted(self) -> None:
        got = self.update_identity_pool(strict_client("cognito-identity"))
        self.assertEqual(got["IdentityPoolName"], "renamed")
        self.assertIs(got["AllowUnauthenticatedIdentities"], True)
        self.assertIs(got["AllowClassicFlow"], False)
        self.assertEqual(got.get("SupportedLoginProviders", {}), {})
        self.assertEqual(got.get("CognitoIdentityProviders", []), [])
        self.assertEqual(got.get("OpenIdConnectProviderARNs", []), [])
        self.assertEqual(got["IdentityPoolTags"], {"env": "test"})

    def test_not_strict_identity_pool_keeps_omitted(self) -> None:
        got = self.update_identity_pool(client("cognito-identity"))
        self.assertNotEqual(got["IdentityPoolName"], "renamed")  # moto keeps the name
        self.assertIs(got["AllowClassicFlow"], True)
        self.assertEqual(got["SupportedLoginProviders"], {"graph.facebook.com": "123"})
        self.assertEqual(len(got["CognitoIdentityProviders"]), 1)


class StrictEmailSubscriptionTest(EmulatorCase):
    def setUp(self) -> None:
        self.sns = strict_client("sns")
        self.topic = self.sns.create_topic(Name=unique("alerts"))["TopicArn"]
        self.email = f"{unique('ops')}@example.com"

    def listed(self) -> list[str]:
        subs = self.sns.list_subscriptions_by_topic(TopicArn=self.topic)["Subscriptions"]
        return [s["SubscriptionArn"] for s in subs]

    def confirmations(self) -> list[dict]:
        url = f"{STRICT_ENDPOINT}/moto-api/iotstack/sns/confirmations?endpoint={self.email}"
        return get_json(url)["Confirmations"]

    def test_pending_until_confirmed(self) -> None:
        sub = self.sns.subscribe(TopicArn=self.topic, Protocol="email", Endpoint=self.email)
        self.assertEqual(sub["SubscriptionArn"], "pending confirmation")
        again = self.sns.subscribe(
            TopicArn=self.topic, Protocol="email", Endpoint=self.email
        )
        self.assertEqual(again["SubscriptionArn"], "pending confirmation")
        arn = self.sns.subscribe(
            TopicArn=self.topic,
            Protocol="email",
            Endpoint=self.email,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        self.assertTrue(arn.startswith(self.topic + ":"), arn)
        self.assertEqual(self.listed(), ["PendingConfirmation"])
        everywhere = self.sns.list_subscriptions()["Subscriptions"]
        mine = [s for s in everywhere if s["Endpoint"] == self.email]
        self.assertEqual([s["SubscriptionArn"] for s in mine], ["PendingConfirmation"])
        attributes = self.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        self.assertEqual(attributes["PendingConfirmation"], "true")
        topic = self.sns.get_topic_attributes(TopicArn=self.topic)["Attributes"]
        self.assertEqual(topic["SubscriptionsPending"], "1")
        self.assertEqual(topic["SubscriptionsConfirmed"], "0")

        for target in ("PendingConfirmation", arn):
            err = self.assertError(
                "InvalidParameter", self.sns.unsubscribe, SubscriptionArn=target
            )
            self.assertIn("SubscriptionArn", err.response["Error"]["Message"])

        [mail] = self.confirmations()
        self.assertEqual(
            {k: mail[k] for k in ("TopicArn", "Endpoint", "Protocol", "SubscriptionArn")},
            {
                "TopicArn": self.topic,
                "Endpoint": self.email,
                "Protocol": "email",
                "SubscriptionArn": arn,
            },
        )
        self.assertError(
            "InvalidParameter",
            self.sns.confirm_subscription,
            TopicArn=self.topic,
            Token="0" * 8,
        )
        confirmed = self.sns.confirm_subscription(TopicArn=self.topic, Token=mail["Token"])
        self.assertEqual(confirmed["SubscriptionArn"], arn)
        self.assertEqual(self.confirmations(), [])
        self.assertEqual(self.listed(), [arn])
        attributes = self.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        self.assertEqual(attributes["PendingConfirmation"], "false")
        sub = self.sns.subscribe(TopicArn=self.topic, Protocol="email", Endpoint=self.email)
        self.assertEqual(sub["SubscriptionArn"], arn)
        self.sns.unsubscribe(SubscriptionArn=arn)
        self.assertEqual(self.listed(), [])

    def test_email_json_pending_sqs_not(self) -> None:
        self.sns.subscribe(TopicArn=self.topic, Protocol="email-json", Endpoint=self.email)
        queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('q')}"
        sqs = self.sns.subscribe(TopicArn=self.topic, Protocol="sqs", Endpoint=queue)
        self.assertTrue(sqs["SubscriptionArn"].startswith(self.topic + ":"))
        self.assertEqual(
            sorted(self.listed()), sorted(["PendingConfirmation", sqs["SubscriptionArn"]])
        )

    def test_not_strict_confirmed_at_once(self) -> None:
        sns = client("sns")
        topic = sns.create_topic(Name=unique("alerts"))["TopicArn"]
        arn = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=self.email)[
            "SubscriptionArn"
        ]
        self.assertTrue(arn.startswith(topic + ":"), arn)
        subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        self.assertEqual([s["SubscriptionArn"] for s in subs], [arn])


class StrictGuestTest(EmulatorCase):
    def guest_credentials(self, endpoint: str) -> dict[str, str]:
        ci = client("cognito-identity", endpoint=endpoint)
        pool_id = create_identity_pool(ci, AllowUnauthenticatedIdentities=True)
        ci.set_identity_pool_roles(
            IdentityPoolId=pool_id,
            Roles={"unauthenticated": f"arn:aws:iam::{ACCOUNT}:role/guest"},
        )
        guest = ci.get_id(IdentityPoolId=pool_id)["IdentityId"]
        listed = ci.list_identities(IdentityPoolId=pool_id, MaxResults=60)["Identities"]
        self.assertEqual([i["IdentityId"] for i in listed], [guest])
        self.assertNotIn("Logins", listed[0])
        creds = ci.get_credentials_for_identity(IdentityId=guest)["Credentials"]
        return {k: creds[k] for k in ("AccessKeyId", "SecretKey", "SessionToken")}

    def test_guest_has_no_secrets_manager(self) -> None:
        name = unique("app")
        strict_client("secretsmanager").create_secret(Name=name, SecretString="x")
        creds = self.guest_credentials(STRICT_ENDPOINT)
        self.assertRegex(creds["AccessKeyId"], r"^ASIA[A-Z0-9]{16}$")
        sm = strict_client("secretsmanager", **creds)
        err = self.assertError("AccessDeniedException", sm.get_secret_value, SecretId=name)
        message = err.response["Error"]["Message"]
        self.assertIn("assumed-role/guest/CognitoIdentityCredentials", message)
        self.assertIn("secretsmanager:GetSecretValue", message)
        self.assertError("AccessDeniedException", strict_client("iot", **creds).list_things)
        err = self.assertError("AuthorizationError", strict_client("sns", **creds).list_topics)
        self.assertIn("sns:ListTopics", err.response["Error"]["Message"])
        self.assertError("AccessDenied", strict_client("iam", **creds).list_roles)
        # What the session policy allows still works.
        strict_client("polly", **creds).describe_voices()

    def test_not_strict_guest_reads_secrets(self) -> None:
        name = unique("app")
        client("secretsmanager").create_secret(Name=name, SecretString="x")
        creds = self.guest_credentials(ENDPOINT)
        sm = client("secretsmanager", **creds)
        self.assertEqual(sm.get_secret_value(SecretId=name)["SecretString"], "x")


class StrictClassicFlowTest(EmulatorCase):
    def guest(self, endpoint: str, **extra) -> str:  # type: ignore[no-untyped-def]
        ci = client("cognito-identity", endpoint=endpoint)
        pool_id = create_identity_pool(ci, AllowUnauthenticatedIdentities=True, **extra)
        ci.set_identity_pool_roles(
            IdentityPoolId=pool_id,
            Roles={"unauthenticated": f"arn:aws:iam::{ACCOUNT}:role/guest"},
        )
        return ci.get_id(IdentityPoolId=pool_id)["IdentityId"]

    def test_guest_reads_secrets_through_the_classic_flow(self) -> None:
        name = unique("app")
        strict_client("secretsmanager").create_secret(Name=name, SecretString="x")
        guest = self.guest(STRICT_ENDPOINT, AllowClassicFlow=True)
        token = strict_client("cognito-identity").get_open_id_token(IdentityId=guest)
        creds = strict_client("sts").assume_role_with_web_identity(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/guest",
            RoleSessionName="device",
            WebIdentityToken=token["Token"],
        )["Credentials"]
        keys = {k: creds[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}
        keys["SecretKey"] = keys.pop("SecretAccessKey")
        sm = strict_client("secretsmanager", **keys)
        self.assertEqual(sm.get_secret_value(SecretId=name)["SecretString"], "x")

    def test_classic_flow_needs_allow_classic_flow(self) -> None:
        ci = strict_client("cognito-identity")
        for extra in ({}, {"AllowClassicFlow": False}):
            guest = self.guest(STRICT_ENDPOINT, **extra)
            err = self.assertError(
                "InvalidParameterException", ci.get_open_id_token, IdentityId=guest
            )
            self.assertIn("Basic (classic) flow is not enabled", str(err))
        self.assertError(
            "ResourceNotFoundException",
            ci.get_open_id_token,
            IdentityId=f"{REGION}:00000000-0000-0000-0000-000000000000",
        )

    def test_not_strict_any_pool_gives_a_token(self) -> None:
        guest = self.guest(ENDPOINT)
        self.assertTrue(client("cognito-identity").get_open_id_token(IdentityId=guest)["Token"])


class StrictRoleDelayTest(EmulatorCase):
    def setUp(self) -> None:
        self.iam = strict_client("iam")
        self.lam = strict_client("lambda")
        self.iot = strict_client("iot")

    def role(self, service: str) -> str:
        return self.iam.create_role(
            RoleName=unique("role"), AssumeRolePolicyDocument=trust(service)
        )["Role"]["Arn"]

    def create_function(self, role: str, lam=None) -> str:  # type: ignore[no-untyped-def]
        name = unique("fn")
        (lam or self.lam).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": function_zip()},
        )
        return name

    def test_lambda_waits_for_a_new_role(self) -> None:
        role = self.role("lambda.amazonaws.com")
        err = self.assertError("InvalidParameterValueException", self.create_function, role)
        self.assertEqual(
            err.response["Error"]["Message"],
            "The role defined for the function cannot be assumed by Lambda.",
        )
        time.sleep(ROLE_DELAY + 0.2)
        name = self.create_function(role)
        other = self.role("lambda.amazonaws.com")
        self.assertError(
            "InvalidParameterValueException",
            self.lam.update_function_configuration,
            FunctionName=name,
            Role=other,
        )
        self.lam.update_function_configuration(FunctionName=name, Timeout=10)
        time.sleep(ROLE_DELAY + 0.2)
        self.lam.update_function_configuration(FunctionName=name, Role=other)

    def test_lambda_needs_trust(self) -> None:
        role = self.role("iot.amazonaws.com")
        time.sleep(ROLE_DELAY + 0.2)
        self.assertError("InvalidParameterValueException", self.create_function, role)

    def rule(self, role: str) -> dict:
        topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts"
        return {
            "sql": "SELECT * FROM 'devices/+/alerts'",
            "actions": [{"sns": {"targetArn": topic, "roleArn": role}}],
        }

    def test_iot_waits_for_a_new_role(self) -> None:
        role, name = self.role("iot.amazonaws.com"), unique("rule")
        err = self.assertError(
            "InvalidRequestException",
            self.iot.create_topic_rule,
            ruleName=name,
            topicRulePayload=self.rule(role),
        )
        self.assertIn(
            f"iot.amazonaws.com is unable to assume role (sts:AssumeRole) on resource: {role}",
            err.response["Error"]["Message"],
        )
        time.sleep(ROLE_DELAY + 0.2)
        self.iot.create_topic_rule(ruleName=name, topicRulePayload=self.rule(role))
        self.iam.update_assume_role_policy(
            RoleName=role.rpartition("/")[2], PolicyDocument=trust("iot.amazonaws.com")
        )
        self.assertError(
            "InvalidRequestException",
            self.iot.replace_topic_rule,
            ruleName=name,
            topicRulePayload=self.rule(role),
        )
        time.sleep(ROLE_DELAY + 0.2)
        self.iot.replace_topic_rule(ruleName=name, topicRulePayload=self.rule(role))

    def test_iot_needs_an_existing_trusting_role(self) -> None:
        missing = f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}"
        lambda_only = self.role("lambda.amazonaws.com")
        time.sleep(ROLE_DELAY + 0.2)
        for role in (missing, lambda_only):
            payload = self.rule(role)
            payload["errorAction"] = payload["actions"].pop()
            payload["actions"] = []
            self.assertError(
                "InvalidRequestException",
                self.iot.create_topic_rule,
                ruleName=unique("rule"),
                topicRulePayload=payload,
            )

    def test_not_strict_role_usable_at_once(self) -> None:
        iam, iot = client("iam"), client("iot")
        lambda_role = iam.create_role(
            RoleName=unique("role"), AssumeRolePolicyDocument=trust("lambda.amazonaws.com")
        )["Role"]["Arn"]
        self.create_function(lambda_role, client("lambda"))
        iot_role = iam.create_role(
            RoleName=unique("role"), AssumeRolePolicyDocument=trust("iot.amazonaws.com")
        )["Role"]["Arn"]
        iot.create_topic_rule(ruleName=unique("rule"), topicRulePayload=self.rule(iot_role))


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
