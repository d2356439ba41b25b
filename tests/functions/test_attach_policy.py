import base64
import json
import os
import sys
import unittest
from unittest import mock

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "functions")
)

import attach_policy  # noqa: E402

POOL_ID = "eu-west-1:11111111-2222-4333-8444-555555555555"
PROVIDER = "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"
POLICY = "iotstack-device-policy"
CALLER = "eu-west-1:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
VICTIM = "eu-west-1:00000000-1111-4222-8333-444444444444"
CALLER_TOKEN = "eyJraWQiOiJjYWxsZXIifQ.eyJzdWIiOiJjYWxsZXIifQ.c2lnbmF0dXJl"
VICTIM_TOKEN = "eyJraWQiOiJ2aWN0aW0ifQ.eyJzdWIiOiJ2aWN0aW0ifQ.c2lnbmF0dXJl"


class FakeClientError(Exception):
    """Shaped like botocore.exceptions.ClientError."""

    def __init__(self, code, message="boom"):
        super().__init__("An error occurred (%s): %s" % (code, message))
        self.response = {"Error": {"Code": code, "Message": message}}


class FakeIot:
    def __init__(self, errors=()):
        self.calls = []
        self.errors = list(errors)

    def attach_policy(self, **kwargs):
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)
        return {"ResponseMetadata": {"HTTPStatusCode": 200}}


class FakeCognitoIdentity:
    """GetId as Cognito answers it: the identity of a token it accepts, for this pool and
    provider; NotAuthorizedException for any other token."""

    def __init__(self, identities=None, errors=()):
        self.identities = identities or {CALLER_TOKEN: CALLER, VICTIM_TOKEN: VICTIM}
        self.calls = []
        self.errors = list(errors)

    def get_id(self, **kwargs):
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)
        logins = kwargs.get("Logins") or {}
        if kwargs.get("IdentityPoolId") != POOL_ID or list(logins) != [PROVIDER]:
            raise FakeClientError("NotAuthorizedException", "Invalid login token.")
        identity = self.identities.get(logins[PROVIDER])
        if identity is None:
            raise FakeClientError("NotAuthorizedException", "Invalid login token. Token expired")
        return {"IdentityId": identity}


class FakeContext:
    def __init__(self, remaining_ms=30000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def url_event(method="POST", token=CALLER_TOKEN, body=None, query=None, headers=None):
    """A function URL request (payload format 2.0) as AWS documents it for ``AWS_IAM`` auth:
    ``requestContext.authorizer.iam`` names the signing credentials and, for function URLs,
    ``cognitoIdentity`` is null ("Invoking Lambda function URLs", request payload)."""
    iam = {
        "accessKey": "ASIAEXAMPLE",
        "accountId": "123456789012",
        "callerId": "AROAEXAMPLE:CognitoIdentityCredentials",
        "cognitoIdentity": None,
        "principalOrgId": None,
        "userArn": "arn:aws:sts::123456789012:assumed-role/auth/CognitoIdentityCredentials",
        "userId": "AROAEXAMPLE:CognitoIdentityCredentials",
    }
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers or {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "authorizer": {"iam": iam},
            "domainName": "abc123.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1"},
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "isBase64Encoded": False,
    }
    if body is None and token is not None:
        body = json.dumps({"idToken": token})
    if body is not None:
        event["body"] = body
    if query is not None:
        event["queryStringParameters"] = query
    return event


class AttachPolicyTest(unittest.TestCase):
    def setUp(self):
        self.env = mock.patch.dict(
            os.environ,
            {"IDENTITY_POOL_ID": POOL_ID, "USER_POOL_PROVIDER": PROVIDER, "IOT_POLICY_NAME": POLICY},
        )
        self.env.start()
        self.addCleanup(self.env.stop)

        self.iot = FakeIot()
        self.cognito = FakeCognitoIdentity()
        self.sleeps = []
        patches = [
            mock.patch.object(
                attach_policy, "_clients", {"iot": self.iot, "cognito-identity": self.cognito}
            ),
            mock.patch.object(attach_policy, "_sleep", self.sleeps.append),
            mock.patch.object(
                attach_policy, "make_client", side_effect=AssertionError("real client created")
            ),
        ]
        for p in patches:
            p.start()
            self.addCleanup(p.stop)

    def call(self, event, context=None):
        with self.assertLogs(level="INFO"):
            resp = attach_policy.handler(event, context or FakeContext())
        self.assertEqual(resp["headers"]["Content-Type"], "application/json")
        return resp["statusCode"], json.loads(resp["body"])

    def assert_nothing_attached(self):
        self.assertEqual(self.iot.calls, [])

    def test_the_token_identity_gets_the_policy(self):
        status, body = self.call(url_event())
        self.assertEqual(status, 200)
        self.assertEqual(body, {"attached": True, "policyName": POLICY, "identityId": CALLER})
        self.assertEqual(
            self.cognito.calls, [{"IdentityPoolId": POOL_ID, "Logins": {PROVIDER: CALLER_TOKEN}}]
        )
        self.assertEqual(self.iot.calls, [{"policyName": POLICY, "target": CALLER}])
        self.assertEqual(self.sleeps, [])

    def test_a_base64_body_is_read(self):
        event = url_event(body=base64.b64encode(json.dumps({"idToken": CALLER_TOKEN}).encode()))
        event["body"] = event["body"].decode()
        event["isBase64Encoded"] = True
        status, body = self.call(event)
        self.assertEqual((status, body["identityId"]), (200, CALLER))

    def test_attaching_twice_is_fine(self):
        self.call(url_event())
        status, body = self.call(url_event())
        self.assertEqual(status, 200)
        self.assertEqual(self.iot.calls, [{"policyName": POLICY, "target": CALLER}] * 2)

    def test_a_forged_identity_in_body_query_headers_or_context_is_ignored(self):
        event = url_event(
            body=json.dumps(
                {
                    "idToken": CALLER_TOKEN,
                    "identityId": VICTIM,
                    "target": VICTIM,
                    "policyName": "admin-policy",
                }
            ),
            query={"identityId": VICTIM, "policyName": "admin-policy"},
            headers={
                "content-type": "application/json",
                "x-identity-id": VICTIM,
                "identityid": VICTIM,
            },
        )
        event["rawQueryString"] = "identityId=" + VICTIM
        event["pathParameters"] = {"identityId": VICTIM}
        # Even a context that named an identity (AWS leaves it null for function URLs) is not
        # what decides.
        event["requestContext"]["authorizer"]["iam"]["cognitoIdentity"] = {
            "identityId": VICTIM,
            "identityPoolId": POOL_ID,
            "amr": ["authenticated"],
        }
        status, body = self.call(event)
        self.assertEqual(status, 200)
        self.assertEqual(body["identityId"], CALLER)
        self.assertEqual(body["policyName"], POLICY)
        self.assertEqual(self.iot.calls, [{"policyName": POLICY, "target": CALLER}])

    def test_an_identity_id_without_a_token_attaches_nothing(self):
        event = url_event(token=None, body=json.dumps({"identityId": VICTIM}))
        status, body = self.call(event)
        self.assertEqual(status, 401)
        self.assertIn("idToken", body["error"])
        self.assertEqual(self.cognito.calls, [])
        self.assert_nothing_attached()

    def test_no_body_or_not_json_is_401_without_aws_call(self):
        for event in (
            url_event(token=None),
            url_event(body="idToken=abc"),
            url_event(body=json.dumps(["idToken"])),
            url_event(body=json.dumps({"idToken": ""})),
            url_event(body=json.dumps({"idToken": 42})),
            url_event(body=json.dumps({"idToken": "x" * 20000})),
            {"body": json.dumps({"identityId": VICTIM}), "requestContext": {"http": {"method": "POST"}}},
        ):
            status, _ = self.call(event)
            self.assertEqual(status, 401, event.get("body"))
        self.assertEqual(self.cognito.calls, [])
        self.assert_nothing_attached()

    def test_a_token_cognito_rejects_is_403(self):
        status, body = self.call(url_event(token="eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."))
        self.assertEqual(status, 403)
        self.assertEqual(body["code"], "NotAuthorizedException")
        self.assert_nothing_attached()

    def test_another_users_token_attaches_that_user_only(self):
        # Whoever holds a user's valid token is that user for Cognito: the policy goes to the
        # token's identity, never to the caller's choice.
        status, body = self.call(url_event(token=VICTIM_TOKEN))
        self.assertEqual((status, body["identityId"]), (200, VICTIM))
        self.assertEqual(self.iot.calls, [{"policyName": POLICY, "target": VICTIM}])

    def test_a_malformed_identity_from_cognito_is_403(self):
        for bad in ("not-an-id", "eu-west-1:not-a-uuid", CALLER + "x", ""):
            self.cognito.identities = {CALLER_TOKEN: bad}
            status, _ = self.call(url_event())
            self.assertEqual(status, 403, bad)
        self.assert_nothing_attached()

    def test_get_is_405(self):
        status, body = self.call(url_event(method="GET"))
        self.assertEqual(status, 405)
        self.assertIn("error", body)
        self.assert_nothing_attached()

    def test_missing_config_is_500_without_aws_call(self):
        for name in ("IDENTITY_POOL_ID", "USER_POOL_PROVIDER", "IOT_POLICY_NAME"):
            with mock.patch.dict(os.environ, {name: ""}):
                status, _ = self.call(url_event())
            self.assertEqual(status, 500, name)
        self.assertEqual(self.cognito.calls, [])
        self.assert_nothing_attached()

    def test_get_id_failure_is_502_with_code(self):
        self.cognito.errors = [FakeClientError("ResourceNotFoundException", "IdentityPool not found")]
        status, body = self.call(url_event())
        self.assertEqual(status, 502)
        self.assertEqual(body["code"], "ResourceNotFoundException")
        self.assert_nothing_attached()

    def test_get_id_throttling_is_retried(self):
        self.cognito.errors = [FakeClientError("TooManyRequestsException", "Rate exceeded")]
        status, body = self.call(url_event())
        self.assertEqual((status, body["identityId"]), (200, CALLER))
        self.assertEqual(len(self.cognito.calls), 2)
        self.assertEqual(len(self.sleeps), 1)

    def test_aws_error_is_502_with_code(self):
        self.iot.errors = [FakeClientError("ResourceNotFoundException", "Policy not found")]
        status, body = self.call(url_event())
        self.assertEqual(status, 502)
        self.assertEqual(body["code"], "ResourceNotFoundException")
        self.assertEqual(body["message"], "Policy not found")
        self.assertIn("error", body)
        self.assertNotIn("Traceback", json.dumps(body))
        self.assertEqual(len(self.iot.calls), 1)
        self.assertEqual(self.sleeps, [])

    def test_non_client_error_is_502(self):
        self.iot.errors = [ConnectionError("endpoint unreachable")]
        status, body = self.call(url_event())
        self.assertEqual(status, 502)
        self.assertEqual(body["code"], "ConnectionError")
        self.assertEqual(len(self.iot.calls), 1)

    def test_resource_already_exists_is_200(self):
        self.iot.errors = [FakeClientError("ResourceAlreadyExistsException")]
        status, body = self.call(url_event())
        self.assertEqual(status, 200)
        self.assertEqual(body, {"attached": True, "policyName": POLICY, "identityId": CALLER})
        self.assertEqual(len(self.iot.calls), 1)

    def test_throttling_then_success_is_200(self):
        self.iot.errors = [
            FakeClientError("ThrottlingException", "Rate exceeded"),
            FakeClientError("ThrottlingException", "Rate exceeded"),
        ]
        status, body = self.call(url_event())
        self.assertEqual(status, 200)
        self.assertEqual(body["identityId"], CALLER)
        self.assertEqual(self.iot.calls, [{"policyName": POLICY, "target": CALLER}] * 3)
        self.assertEqual(len(self.sleeps), 2)
        self.assertTrue(all(0 < s <= attach_policy.MAX_BACKOFF_SECONDS for s in self.sleeps))
        self.assertLess(self.sleeps[0], self.sleeps[1] * 1.5)

    def test_persistent_throttling_is_bounded_and_502(self):
        self.iot.errors = [FakeClientError("ThrottlingException", "Rate exceeded")] * 10
        status, body = self.call(url_event())
        self.assertEqual(status, 502)
        self.assertEqual(body["code"], "ThrottlingException")
        self.assertEqual(len(self.iot.calls), attach_policy.MAX_ATTEMPTS)
        self.assertEqual(len(self.sleeps), attach_policy.MAX_ATTEMPTS - 1)
        self.assertLessEqual(attach_policy.MAX_ATTEMPTS, 5)

    def test_no_retry_when_lambda_time_is_short(self):
        self.iot.errors = [FakeClientError("ThrottlingException", "Rate exceeded")]
        status, body = self.call(url_event(), FakeContext(remaining_ms=1000))
        self.assertEqual(status, 502)
        self.assertEqual(len(self.iot.calls), 1)
        self.assertEqual(self.sleeps, [])


class ClientFactoryTest(unittest.TestCase):
    def test_clients_are_created_lazily_once_per_service(self):
        created = []

        def factory(service):
            created.append(service)
            return object()

        with mock.patch.object(attach_policy, "_clients", {}), mock.patch.object(
            attach_policy, "make_client", factory
        ):
            first = attach_policy.get_client("iot")
            second = attach_policy.get_client("iot")
            attach_policy.get_client("cognito-identity")
        self.assertIs(first, second)
        self.assertEqual(created, ["iot", "cognito-identity"])


if __name__ == "__main__":
    unittest.main()
