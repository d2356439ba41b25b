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
OTHER_POOL_ID = "eu-west-1:99999999-2222-4333-8444-555555555555"
POLICY = "iotstack-device-policy"
CALLER = "eu-west-1:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
VICTIM = "eu-west-1:00000000-1111-4222-8333-444444444444"


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


class FakeContext:
    def __init__(self, remaining_ms=30000):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def url_event(method="POST", cognito="default", body=None, query=None, headers=None):
    if cognito == "default":
        cognito = {
            "identityId": CALLER,
            "identityPoolId": POOL_ID,
            "amr": [
                "authenticated",
                "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example",
                "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example:CognitoSignIn:abc",
            ],
        }
    iam = {
        "accessKey": "ASIAEXAMPLE",
        "accountId": "123456789012",
        "callerId": "AROAEXAMPLE:CognitoIdentityCredentials",
        "principalOrgId": None,
        "userArn": "arn:aws:sts::123456789012:assumed-role/auth/CognitoIdentityCredentials",
        "userId": "AROAEXAMPLE:CognitoIdentityCredentials",
    }
    if cognito is not None:
        iam["cognitoIdentity"] = cognito
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": headers or {"content-type": "application/json"},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abc123",
            "authorizer": {"iam": iam},
            "http": {"method": method, "path": "/", "protocol": "HTTP/1.1"},
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = body
    if query is not None:
        event["queryStringParameters"] = query
    return event


class AttachPolicyTest(unittest.TestCase):
    def setUp(self):
        self.env = mock.patch.dict(
            os.environ, {"IDENTITY_POOL_ID": POOL_ID, "IOT_POLICY_NAME": POLICY}
        )
        self.env.start()
        self.addCleanup(self.env.stop)

        self.iot = FakeIot()
        self.sleeps = []
        patches = [
            mock.patch.object(attach_policy, "_iot_client", self.iot),
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

    def test_happy_path_attaches_env_policy_to_trusted_identity(self):
        status, body = self.call(url_event())
        self.assertEqual(status, 200)
        self.assertEqual(body, {"attached": True, "policyName": POLICY, "identityId": CALLER})
        self.assertEqual(self.iot.calls, [{"policyName": POLICY, "target": CALLER}])
        self.assertEqual(self.sleeps, [])

    def test_attaching_twice_is_fine(self):
        self.call(url_event())
        status, body = self.call(url_event())
        self.assertEqual(status, 200)
        self.assertEqual(self.iot.calls, [{"policyName": POLICY, "target": CALLER}] * 2)

    def test_other_identity_in_body_query_headers_is_ignored(self):
        event = url_event(
            body=json.dumps(
                {"identityId": VICTIM, "target": VICTIM, "policyName": "admin-policy"}
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
        status, body = self.call(event)
        self.assertEqual(status, 200)
        self.assertEqual(body["identityId"], CALLER)
        self.assertEqual(body["policyName"], POLICY)
        self.assertEqual(self.iot.calls, [{"policyName": POLICY, "target": CALLER}])

    def test_body_identity_without_trusted_context_is_rejected(self):
        event = url_event(cognito=None, body=json.dumps({"identityId": VICTIM}))
        status, _ = self.call(event)
        self.assertEqual(status, 403)
        self.assertEqual(self.iot.calls, [])

    def test_missing_authorizer_is_403_without_aws_call(self):
        event = url_event()
        del event["requestContext"]["authorizer"]
        status, body = self.call(event)
        self.assertEqual(status, 403)
        self.assertIn("error", body)
        self.assertEqual(self.iot.calls, [])

    def test_missing_request_context_is_403(self):
        status, _ = self.call({"body": json.dumps({"identityId": VICTIM})})
        self.assertEqual(status, 403)
        self.assertEqual(self.iot.calls, [])

    def test_iam_caller_without_cognito_identity_is_403(self):
        status, _ = self.call(url_event(cognito=None))
        self.assertEqual(status, 403)
        self.assertEqual(self.iot.calls, [])

    def test_wrong_identity_pool_is_403(self):
        event = url_event()
        event["requestContext"]["authorizer"]["iam"]["cognitoIdentity"]["identityPoolId"] = (
            OTHER_POOL_ID
        )
        status, body = self.call(event)
        self.assertEqual(status, 403)
        self.assertIn("identity pool", body["error"])
        self.assertEqual(self.iot.calls, [])

    def test_unauthenticated_amr_is_403(self):
        event = url_event()
        event["requestContext"]["authorizer"]["iam"]["cognitoIdentity"]["amr"] = [
            "unauthenticated"
        ]
        status, body = self.call(event)
        self.assertEqual(status, 403)
        self.assertIn("authenticated", body["error"])
        self.assertEqual(self.iot.calls, [])

    def test_missing_amr_is_403(self):
        event = url_event()
        del event["requestContext"]["authorizer"]["iam"]["cognitoIdentity"]["amr"]
        status, _ = self.call(event)
        self.assertEqual(status, 403)
        self.assertEqual(self.iot.calls, [])

    def test_malformed_identity_id_is_403(self):
        for bad in ("not-an-id", "eu-west-1:not-a-uuid", CALLER + "x", "", None):
            event = url_event()
            event["requestContext"]["authorizer"]["iam"]["cognitoIdentity"]["identityId"] = bad
            status, _ = self.call(event)
            self.assertEqual(status, 403, bad)
        self.assertEqual(self.iot.calls, [])

    def test_get_is_405(self):
        status, body = self.call(url_event(method="GET"))
        self.assertEqual(status, 405)
        self.assertIn("error", body)
        self.assertEqual(self.iot.calls, [])

    def test_missing_config_is_500_without_aws_call(self):
        for name in ("IDENTITY_POOL_ID", "IOT_POLICY_NAME"):
            with mock.patch.dict(os.environ, {name: ""}):
                status, _ = self.call(url_event())
            self.assertEqual(status, 500, name)
        self.assertEqual(self.iot.calls, [])

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
    def test_client_is_created_lazily_once(self):
        created = []

        def factory():
            created.append(1)
            return FakeIot()

        with mock.patch.object(attach_policy, "_iot_client", None), mock.patch.object(
            attach_policy, "make_client", factory
        ):
            first = attach_policy.get_client()
            second = attach_policy.get_client()
        self.assertIs(first, second)
        self.assertEqual(created, [1])


if __name__ == "__main__":
    unittest.main()
