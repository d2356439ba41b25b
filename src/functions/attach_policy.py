"""Attach the IoT policy to the calling Cognito identity
(handler: ``attach_policy.handler``).

Deployed behind a Lambda function URL with ``AWS_IAM`` auth. The caller signs
the request (SigV4) with the temporary credentials of its Cognito identity, so
the function URL hands us payload format 2.0 with the verified caller in
``event["requestContext"]["authorizer"]["iam"]["cognitoIdentity"]``.

The identity id is taken ONLY from that trusted request context. The request
body, query string and headers are never read: a body (or parameter, or
header) naming another identity id has no effect, the policy is always
attached to the identity that signed the request.

Environment:
    IDENTITY_POOL_ID  the Cognito identity pool callers must belong to.
    IOT_POLICY_NAME   the IoT policy attached to the caller's identity id.

Responses (JSON):
    200 {"attached": true, "policyName": ..., "identityId": ...}
    403 {"error": ...}  no Cognito identity, wrong identity pool, not an
                        authenticated identity, or malformed identity id
    405 {"error": ...}  method other than POST
    500 {"error": ...}  the function itself is misconfigured
    502 {"error": ..., "code": ..., "message": ...}  AWS IoT call failed

``AttachPolicy`` is idempotent; ``ResourceAlreadyExistsException`` is also
treated as success. Throttling is retried a bounded number of times with a
short backoff; every other AWS error is returned as 502 immediately.
"""

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

# Test hooks: assign a fake client to ``_iot_client`` (or replace
# ``make_client``) and replace ``_sleep`` to avoid real waiting.
_iot_client = None
_sleep = time.sleep


def make_client():
    """Create the boto3 IoT client (imported lazily; boto3 ships with Lambda)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=5,
        # Retries are handled (and bounded) by this module.
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return boto3.client("iot", config=config)


def get_client():
    global _iot_client
    if _iot_client is None:
        _iot_client = make_client()
    return _iot_client


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


def trusted_identity(event):
    """Return ``(identity_id, None)`` or ``(None, reason)``.

    Reads only ``requestContext.authorizer.iam.cognitoIdentity``, which the
    function URL fills in from the verified SigV4 signature.
    """
    request_context = _as_dict(_as_dict(event).get("requestContext"))
    iam = _as_dict(_as_dict(request_context.get("authorizer")).get("iam"))
    cognito = iam.get("cognitoIdentity")
    if not isinstance(cognito, dict) or not cognito:
        return None, "caller is not a Cognito identity"

    expected_pool = os.environ.get("IDENTITY_POOL_ID", "")
    if not expected_pool or cognito.get("identityPoolId") != expected_pool:
        return None, "caller is not from the expected identity pool"

    amr = cognito.get("amr")
    if isinstance(amr, str):
        amr = [amr]
    if not isinstance(amr, (list, tuple)) or "authenticated" not in amr:
        return None, "caller is not an authenticated identity"

    identity_id = cognito.get("identityId")
    if not isinstance(identity_id, str) or not IDENTITY_ID_RE.match(identity_id):
        return None, "caller identity id is malformed"
    return identity_id, None


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


def attach(identity_id, policy_name, context=None):
    """Attach ``policy_name`` to ``identity_id``.

    Returns ``(True, None, None)`` on success or ``(False, code, message)``.
    """
    client = get_client()
    attempt = 0
    while True:
        attempt += 1
        try:
            client.attach_policy(policyName=policy_name, target=identity_id)
            return True, None, None
        except Exception as exc:
            code, message = _error_code_and_message(exc)
            if code in ALREADY_ATTACHED_CODES:
                return True, None, None
            if code not in THROTTLING_CODES or attempt >= MAX_ATTEMPTS:
                return False, code, message
            delay = min(
                MAX_BACKOFF_SECONDS,
                BACKOFF_BASE_SECONDS * (2 ** (attempt - 1)) * (1 + random.random() * 0.5),
            )
            remaining = _remaining_ms(context)
            if remaining is not None and remaining - delay * 1000 < MIN_REMAINING_MS_FOR_RETRY:
                return False, code, message
            logger.warning(
                json.dumps(
                    {
                        "event": "attach_policy_throttled",
                        "code": code,
                        "attempt": attempt,
                        "retryInSeconds": round(delay, 3),
                    },
                    sort_keys=True,
                )
            )
            _sleep(delay)


def handler(event, context):
    missing = [n for n in ("IDENTITY_POOL_ID", "IOT_POLICY_NAME") if not os.environ.get(n)]
    if missing:
        logger.error(json.dumps({"event": "misconfigured", "missing": missing}))
        return _error(500, "function is misconfigured")

    identity_id, reason = trusted_identity(event)
    if identity_id is None:
        logger.info(json.dumps({"event": "rejected", "status": 403, "reason": reason}))
        return _error(403, reason)

    method = _as_dict(_as_dict(_as_dict(event).get("requestContext")).get("http")).get("method")
    if not isinstance(method, str) or method.upper() != "POST":
        logger.info(json.dumps({"event": "rejected", "status": 405, "method": str(method)[:16]}))
        return _error(405, "method not allowed; use POST")

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
