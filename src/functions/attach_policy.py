"""Attach the IoT policy to the calling Cognito identity
(handler: ``attach_policy.handler``).

Deployed behind a Lambda function URL with ``AWS_IAM`` auth: only callers
holding credentials allowed ``lambda:InvokeFunctionUrl`` (the identity pool's
authenticated role) reach it at all. The function URL does NOT tell us which
Cognito identity signed the request: for function URLs AWS documents
``requestContext.authorizer.iam.cognitoIdentity`` as "not used" (null or
excluded; Lambda developer guide, "Invoking Lambda function URLs", request
payload). So the caller proves who it is with its user-pool ID token, sent as
the JSON body ``{"idToken": "<JWT>"}``, and this function asks Cognito for the
identity of that token with ``GetId(IdentityPoolId, Logins={provider: token})``.
Cognito verifies the token (signature, issuer, audience = an app client of the
pool's provider, expiry) before it answers: an invalid or expired token is
``NotAuthorizedException`` (Amazon Cognito Identity API reference, GetId;
GetId is a public API and needs no IAM permission). The identity id is never
read from the body, query string or headers: a request naming another
identity id attaches the policy to the token's identity, never to the named one.

Environment:
    IDENTITY_POOL_ID    the Cognito identity pool callers belong to.
    USER_POOL_PROVIDER  the pool's login provider,
                        ``cognito-idp.<region>.amazonaws.com/<user-pool-id>``.
    IOT_POLICY_NAME     the IoT policy attached to the caller's identity id.

Responses (JSON):
    200 {"attached": true, "policyName": ..., "identityId": ...}
    401 {"error": ...}  no ID token in the body (or the body is not JSON)
    403 {"error": ...}  Cognito rejected the token (invalid, expired, another
                        pool), or answered an identity id of the wrong form
    405 {"error": ...}  method other than POST
    500 {"error": ...}  the function itself is misconfigured
    502 {"error": ..., "code": ..., "message": ...}  a Cognito or IoT call failed

``AttachPolicy`` is idempotent; ``ResourceAlreadyExistsException`` is also
treated as success. Throttling is retried a bounded number of times with a
short backoff (both calls); every other AWS error is returned at once.
"""

import base64
import json
import logging
import os
import random
import re
import time

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# Loose identity id check: "<region>:<uuid>".
IDENTITY_ID_RE = re.compile(
    r"^[A-Za-z0-9-]+:"
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

ALREADY_ATTACHED_CODES = frozenset({"ResourceAlreadyExistsException"})
# GetId's answer to a token Cognito does not accept (bad signature, expired,
# another pool's, or a login provider the identity pool does not have).
REJECTED_TOKEN_CODES = frozenset({"NotAuthorizedException", "InvalidParameterException"})
# A JWT from Cognito is a few kilobytes; anything far larger is not one.
MAX_TOKEN_LENGTH = 16384
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailableException",
    }
)

# Total attempts for a throttled call (1 initial + 2 retries) and the backoff
# base in seconds: sleeps are ~0.2s then ~0.4s (plus jitter), bounded by
# MAX_BACKOFF_SECONDS and by the Lambda's remaining time.
MAX_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 1.0
# Do not start another attempt with less than this much invocation time left.
MIN_REMAINING_MS_FOR_RETRY = 7000

# Test hooks: put fake clients in ``_clients`` (or replace ``make_client``)
# and replace ``_sleep`` to avoid real waiting.
_clients = {}
_sleep = time.sleep


def make_client(service):
    """Create a boto3 client (imported lazily; boto3 ships with Lambda)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=5,
        # Retries are handled (and bounded) by this module.
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.client(service, config=config)


def get_client(service):
    if service not in _clients:
        _clients[service] = make_client(service)
    return _clients[service]


def _response(status, body):
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, sort_keys=True),
        "isBase64Encoded": False,
    }


def _error(status, error, **extra):
    body = {"error": error}
    body.update(extra)
    return _response(status, body)


def _as_dict(value):
    return value if isinstance(value, dict) else {}


def id_token_of(event):
    """Return ``(token, None)`` or ``(None, reason)``: the ID token of the
    JSON body ``{"idToken": ...}`` (base64-decoded first when the function URL
    says the body is)."""
    event = _as_dict(event)
    body = event.get("body")
    if isinstance(body, str) and event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, "the body is not base64-encoded UTF-8"
    try:
        data = json.loads(body) if isinstance(body, str) and body.strip() else {}
    except ValueError:
        return None, 'the body is not JSON; send {"idToken": "<your user pool ID token>"}'
    token = _as_dict(data).get("idToken")
    if not isinstance(token, str) or not token.strip():
        return None, 'no ID token; send {"idToken": "<your user pool ID token>"}'
    if len(token) > MAX_TOKEN_LENGTH:
        return None, "the ID token is too long"
    return token.strip(), None


def _error_code_and_message(exc):
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = _as_dict(response.get("Error"))
        code = err.get("Code") or type(exc).__name__
        message = err.get("Message") or str(exc)
        return str(code), str(message)
    return type(exc).__name__, str(exc)


def _remaining_ms(context):
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if callable(getter):
        try:
            return int(getter())
        except Exception:
            return None
    return None


def call(operation, context, fn):
    """Run ``fn()``, retrying throttling a bounded number of times.

    Returns ``(result, None, None)`` or ``(None, code, message)``.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn(), None, None
        except Exception as exc:
            code, message = _error_code_and_message(exc)
            if code not in THROTTLING_CODES or attempt >= MAX_ATTEMPTS:
                return None, code, message
            delay = min(
                MAX_BACKOFF_SECONDS,
                BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)) * (1 + random.random() * 0.5),
            )
            remaining = _remaining_ms(context)
            if remaining is not None and remaining - delay * 1000 < MIN_REMAINING_MS_FOR_RETRY:
                return None, code, message
            logger.warning(
                json.dumps(
                    {
                        "event": "throttled",
                        "operation": operation,
                        "code": code,
                        "attempt": attempt,
                        "retryInSeconds": round(delay, 3),
                    },
                    sort_keys=True,
                )
            )
            _sleep(delay)


def identity_of(token, context=None):
    """The identity id Cognito answers for ``token``.

    Returns ``(identity_id, None, None)``, or ``(None, status, body)`` for the
    response to give.
    """
    pool = os.environ["IDENTITY_POOL_ID"]
    provider = os.environ["USER_POOL_PROVIDER"]
    client = get_client("cognito-identity")
    answer, code, message = call(
        "GetId",
        context,
        lambda: client.get_id(IdentityPoolId=pool, Logins={provider: token}),
    )
    if answer is None:
        if code in REJECTED_TOKEN_CODES:
            return None, 403, {"error": "Cognito did not accept the ID token", "code": code}
        return None, 502, {"error": "failed to get the identity", "code": code, "message": message}
    identity_id = _as_dict(answer).get("IdentityId")
    if not isinstance(identity_id, str) or not IDENTITY_ID_RE.match(identity_id):
        return None, 403, {"error": "Cognito answered an identity id of the wrong form"}
    return identity_id, None, None


def attach(identity_id, policy_name, context=None):
    """Attach ``policy_name`` to ``identity_id``.

    Returns ``(True, None, None)`` on success or ``(False, code, message)``.
    """
    client = get_client("iot")
    done, code, message = call(
        "AttachPolicy",
        context,
        lambda: client.attach_policy(policyName=policy_name, target=identity_id) or True,
    )
    if done is not None or code in ALREADY_ATTACHED_CODES:
        return True, None, None
    return False, code, message


def handler(event, context):
    required = ("IDENTITY_POOL_ID", "USER_POOL_PROVIDER", "IOT_POLICY_NAME")
    missing = [n for n in required if not os.environ.get(n)]
    if missing:
        logger.error(json.dumps({"event": "misconfigured", "missing": missing}))
        return _error(500, "function is misconfigured")

    method = _as_dict(_as_dict(_as_dict(event).get("requestContext")).get("http")).get("method")
    if not isinstance(method, str) or method.upper() != "POST":
        logger.info(json.dumps({"event": "rejected", "status": 405, "method": str(method)[:16]}))
        return _error(405, "method not allowed; use POST")

    token, reason = id_token_of(event)
    if token is None:
        logger.info(json.dumps({"event": "rejected", "status": 401, "reason": reason}))
        return _error(401, reason)

    identity_id, status, body = identity_of(token, context)
    if identity_id is None:
        logger.info(json.dumps({"event": "rejected", "status": status, **body}, sort_keys=True))
        return _response(status, body)

    policy_name = os.environ["IOT_POLICY_NAME"]
    ok, code, message = attach(identity_id, policy_name, context)
    if not ok:
        logger.error(
            json.dumps(
                {
                    "event": "attach_policy_failed",
                    "identityId": identity_id,
                    "policyName": policy_name,
                    "code": code,
                    "message": message,
                },
                sort_keys=True,
            )
        )
        return _error(502, "failed to attach IoT policy", code=code, message=message)

    logger.info(
        json.dumps(
            {"event": "attached", "identityId": identity_id, "policyName": policy_name},
            sort_keys=True,
        )
    )
    return _response(
        200, {"attached": True, "policyName": policy_name, "identityId": identity_id}
    )
