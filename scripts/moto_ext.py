#!/usr/bin/env python3
"""iotstack's local AWS emulator: moto 5.2.5 plus the patches below.

Run it through ``scripts/emulator serve --port P`` (or ``start``), which
installs the pinned moto from ``scripts/emulator-requirements.txt`` into a
venv first. This module imports moto, applies every patch (monkeypatching
moto's backends and response classes, before any request is served) and then
hands over to moto's own server, ``moto.server.main``. It refuses to run on a
moto version other than the one the patches were written against.

Patches (each function below has a docstring naming the AWS behaviour it
supplies; "missing" means moto 5.2.5 answers HTTP 500 NotImplementedError):

A. cognito-identity SetIdentityPoolRoles / GetIdentityPoolRoles (missing).
   Roles and RoleMappings are stored on the identity pool, so
   DeleteIdentityPool drops them with it.
B. Tagging.
   - cognito-idp TagResource / UntagResource / ListTagsForResource (missing).
     moto already keeps CreateUserPool's UserPoolTags and returns them from
     DescribeUserPool; the tag calls read and write that same map. Also, moto's
     UpdateUserPool replaces the whole pool config, so an update without
     UserPoolTags dropped the tags: they are now kept (tags are changed with
     UserPoolTags or the tag calls).
   - cognito-identity TagResource / UntagResource / ListTagsForResource
     (missing). moto already keeps IdentityPoolTags and returns them from
     DescribeIdentityPool; the tag calls use that map.
   - iot TagResource / UntagResource / ListTagsForResource (missing), and the
     tags given to CreatePolicy and CreateThingGroup (``tags``) and
     CreateTopicRule (the ``x-amz-tagging`` header) are recorded (moto ignored
     them). Tags go when the policy, thing group or rule is deleted;
     ReplaceTopicRule keeps them. Only policy, thing group and rule ARNs are
     checked to exist; other iot ARNs are taken as given.
C. iot DescribeEndpoint returns a stable address per account, region and
   endpoint type, derived from a hash of the three, so it is also the same
   after a restart or a reset (moto made a new random one on every call).
D. cognito-identity GetId returns the same IdentityId for the same pool and
   logins (provider names plus the token's ``sub`` claim, or the raw token if
   it is not a JWT), as AWS does for the same user; moto issued a new id on
   every call. Also: ids carry the pool's region (moto used us-east-1, the
   region it assumes for these unsigned calls); ListIdentities lists each
   identity once with its Logins and dates; GetId without Logins on a pool
   that does not allow unauthenticated identities raises
   NotAuthorizedException; an unknown pool raises ResourceNotFoundException
   for GetId and ListIdentities (moto: HTTP 500, KeyError); DeleteIdentityPool
   forgets the pool's identities (moto still listed them).
   GetCredentialsForIdentity raises ResourceNotFoundException for an unknown
   identity and InvalidIdentityPoolConfigurationException when the pool has
   no role for it (moto always returned the same fake keys).
E. iot CreateCertificateFromCsr issues a certificate for the CSR's public key
   (moto certified a freshly generated RSA key, so the device's private key
   did not match its certificate). It is signed by a per-process CA. Without
   strict mode it keeps the CSR's subject and moto's issuer (CN=Moto).
F. lambda AddPermission raises ResourceConflictException for a StatementId
   the function's policy already has (moto 5.2.5 added a second statement
   with the same Sid), and stores FunctionUrlAuthType as AWS does, as
   Condition {"StringEquals": {"lambda:FunctionUrlAuthType": ...}} (moto: a
   top-level "FunctionUrlAuthType" key in the statement).
H. iot AttachPolicy / DetachPolicy accept any ``region:uuid`` target as a
   Cognito identity, as AWS does (moto accepted only identity ids it issued),
   so an identity pool id attached by mistake can be reproduced.
G. IAM: AWS managed policies (arn:aws:iam::aws:policy/...) exist, so
   AttachRolePolicy with e.g. service-role/AWSIoTLogging works; moto only
   loads them with MOTO_IAM_LOAD_MANAGED_POLICIES=true, which this module sets
   unless the environment already sets it.
I. iot thing registry versions, as the AWS IoT API reference documents them
   (iotstack's lock is a thing and relies on these): CreateThing for an
   existing name succeeds if the configuration (thing type, attributes,
   billing group) is the same and raises ResourceAlreadyExistsException if it
   differs (moto replaced the thing); UpdateThing and DeleteThing honour
   ``expectedVersion`` with VersionConflictException, and UpdateThing bumps
   the thing's version (moto ignored both); DeleteThing of a thing that does
   not exist succeeds (moto: ResourceNotFoundException).
J. cognito-identity CreateIdentityPool / UpdateIdentityPool keep
   AllowClassicFlow and DescribeIdentityPool returns it once set (moto
   dropped it). cognito-idp UpdateUserPool keeps UsernameConfiguration,
   AliasAttributes and UsernameAttributes, which it does not take (moto
   reset them to its defaults, so a pool looked case sensitive after any
   update).
K. On demand, a request whose answer is lost: POST
   /moto-api/iotstack/lose-answer {"action": "CreateUserPool", "count": 1}
   makes the next such request succeed but answer HTTP 500 InternalFailure,
   so the SDK retries it (a create AWS does not make idempotent duplicates).
N. Test-only bulk seeding: POST /moto-api/iotstack/seed {"account": A,
   "region": R, "prefix": P, "user_pools": N, "identity_pools": N,
   "certificates": N} puts that many other user pools (``P-i-user-pool``),
   identity pools (``P_i_identity_pool``) and ACTIVE certificates (each its
   own self-signed EC certificate) straight into the backends, at once: a
   crowded account in a second, where as many API calls would take minutes.
L. cognito-idp password length: a password is checked against the pool's
   MinimumLength and AWS's maximum of 256 characters (AdminSetUserPassword,
   SignUp: "Maximum length of 256"); moto 5.2.5 refused any password of 99
   characters or more, which AWS accepts.
M. secretsmanager UpdateSecretVersionStage: moving AWSCURRENT to another
   version makes that version the one GetSecretValue answers without a
   VersionId or VersionStage ("If you don't specify either a VersionStage or
   VersionId, then Secrets Manager returns the AWSCURRENT version",
   GetSecretValue API reference). moto 5.2.5 moved the label but kept answering the old value.
O. secretsmanager PutSecretValue is idempotent on its ClientRequestToken: "If a version with
   this value already exists and that version's SecretString or SecretBinary values are the
   same as those in the request then the request is ignored" (PutSecretValue API reference).
   moto 5.2.5 wrote a version still labelled AWSPENDING again, with the request's labels only:
   an SDK retry of a first value whose answer was lost took AWSCURRENT off it.
P. The emulator's own time (no AWS behaviour changes): moto's list of its service folders,
   which its dispatcher made again on every request under a global lock, is made once; the
   user pools' signing key (one key for every pool, as in moto) is imported once, not at
   every CreateUserPool; an error answer no longer lists botocore's services and rebuilds
   its service's error table; a response class's methods are listed once, not per request.

Strict mode (IOTSTACK_EMULATOR_STRICT, or ``--strict[=SPEC]``, read when the
server starts; off by default). moto forgives what AWS does not; each strict
patch makes the emulator behave as the AWS document cited in its function's
docstring says. SPEC: ``1``/``all`` for all of them, or a comma list read left
to right where ``name`` adds one and ``-name`` removes one (``all,-list-lag``;
a list starting with a removal starts from all); an unknown name stops the
server. GET /moto-api/iotstack/strict answers the patches on and settings;
GET /moto-api/iotstack/server the server's process id.

- cert-subject: CreateCertificateFromCsr writes AWS IoT's subject
  ``CN=AWS IoT Certificate`` and issuer ``OU=Amazon Web Services
  O=Amazon.com Inc. L=Seattle ST=Washington C=US`` (one OU attribute, as
  AWS's); nothing of the CSR's subject is kept, its public key is (patch E).
- list-lag: ListSecrets answers the state of IOTSTACK_EMULATOR_LIST_LAG
  seconds ago (default 3): new secrets are missing, deleted ones still
  listed; DescribeSecret and GetSecretValue are current.
- update-resets: UpdateUserPoolClient and UpdateIdentityPool reset every
  setting the request omits to its default (moto kept them), UpdateUserPool
  also MfaConfiguration (moto already reset the rest). Tags are kept.
- sns-pending: email and email-json subscriptions stay pending ("pending
  confirmation" from Subscribe, "PendingConfirmation" in the list calls,
  attribute PendingConfirmation "true") until ConfirmSubscription with the
  token that GET /moto-api/iotstack/sns/confirmations[?endpoint=E] lists (the
  confirmation email's content: TopicArn, Endpoint, Protocol,
  SubscriptionArn, Token); Unsubscribe of a pending one is InvalidParameter.
- guest-scope: credentials of a guest (an identity without logins; GetId
  without Logins on a pool with AllowUnauthenticatedIdentities creates one,
  ListIdentities lists it without Logins) from GetCredentialsForIdentity are
  refused every action AWS's guest session policy
  (AmazonCognitoUnAuthedIdentitiesSessionPolicy) leaves out, Secrets Manager
  included: AccessDeniedException.
- classic-flow: GetOpenIdToken (the basic, classic flow) raises
  InvalidParameterException "Basic (classic) flow is not enabled, please use
  enhanced flow." unless the identity's pool has AllowClassicFlow true, and
  ResourceNotFoundException for an identity no pool issued (moto handed a
  token to any id). Credentials from STS AssumeRoleWithWebIdentity with that
  token are the role's, without the guest session policy.
- role-delay: CreateFunction / UpdateFunctionConfiguration and
  CreateTopicRule / ReplaceTopicRule refuse a role created (or whose trust
  policy changed) less than IOTSTACK_EMULATOR_ROLE_DELAY seconds ago
  (default 2), and one that does not exist or does not trust the service:
  InvalidParameterValueException "The role defined for the function cannot
  be assumed by Lambda." / InvalidRequestException "iot.amazonaws.com is
  unable to assume role (sts:AssumeRole) on resource: <arn>. ...".

Other moto 5.2.5 differences from AWS seen for the calls iotstack makes (not
patched; tests must not rely on AWS's behaviour there):

- iot DescribeEndpoint without endpointType answers the iot:Data-ATS address
  (AWS: the legacy iot:Data one).
- iot GetTopicRule returns ``errorAction: {}`` when none is set, and
  ReplaceTopicRule resets ``createdAt`` (moto deletes and re-creates the rule).
- Without strict mode: iot certificates from CreateCertificateFromCsr keep
  the CSR's subject and are issued by "CN=Moto"; ListSecrets is current;
  UpdateUserPoolClient and UpdateIdentityPool keep what they are not sent
  (and UpdateIdentityPool the old name), UpdateUserPool keeps
  MfaConfiguration; sns Subscribe with the email protocol is confirmed at
  once (the ARN from Subscribe and the list calls, GetTopicAttributes counts
  0 pending and 0 confirmed); guest credentials reach every service; a new
  role is usable at once and IoT takes any role ARN.
- Even in strict mode: no IAM policy is evaluated (only the guest session
  policy's list of actions, by action name; resource policies are stored,
  not enforced); STS AssumeRoleWithWebIdentity takes any token, for any
  role (GetOpenIdToken is checked, strict classic-flow);
  Lambda functions are not run (Invoke needs Docker), so the event a
  function URL passes, where AWS sets
  ``requestContext.authorizer.iam.cognitoIdentity`` to null (Lambda
  developer guide, "Invoking Lambda function URLs"), is not produced here;
  a lost answer happens only when armed (patch J).
- sns CreateTopic for an existing name with different tags succeeds and keeps
  the old tags (AWS: InvalidParameter, topic already exists with different
  tags).
- secretsmanager CreateSecret for a name scheduled for deletion raises
  ResourceExistsException (AWS: InvalidRequestException) unless strict
  ``secret-scheduled``.
- cognito-identity GetId does not check that the Logins providers are
  configured on the pool, nor the tokens; GetCredentialsForIdentity does not
  check Logins, and returns fixed fake keys valid for 90 seconds.
- cognito-identity SetIdentityPoolRoles does not validate role ARNs or the
  Roles keys.
- cognito-idp UpdateUserPool resets every omitted setting to moto's default
  (as AWS documents), including AutoVerifiedAttributes, but not
  MfaConfiguration unless strict (and not what it does not take, patch J).

State lives in memory only; ``POST /moto-api/reset`` clears all of it,
including what these patches keep.

Environment:
  IOTSTACK_EMULATOR_ACCESS_LOG=1   log every request (werkzeug access log).
  IOTSTACK_EMULATOR_STRICT=SPEC    strict mode (above); ``--strict`` wins.
  IOTSTACK_EMULATOR_LIST_LAG=S     list-lag seconds (default 3).
  IOTSTACK_EMULATOR_ROLE_DELAY=S   role-delay seconds (default 2).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import fnmatch
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import Any, Callable
from urllib.parse import parse_qsl, unquote

MOTO_VERSION = "5.2.5"

# Patch G needs this before moto's IAM backend is first built.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

import moto  # noqa: E402

if moto.__version__ != MOTO_VERSION:  # pragma: no cover - guard
    sys.exit(
        f"moto_ext: written for moto {MOTO_VERSION}, found {moto.__version__}; "
        "run `scripts/emulator install`"
    )

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402
from moto import backends as moto_backends  # noqa: E402
from moto.core import errors as moto_core_errors  # noqa: E402
from moto.core import responses as moto_core_responses  # noqa: E402
from moto.core import utils as moto_core_utils  # noqa: E402
from moto.awslambda.exceptions import LambdaClientError  # noqa: E402
from moto.awslambda.exceptions import (  # noqa: E402
    InvalidParameterValueException as LambdaInvalidParameterValue,
)
from moto.awslambda.policy import Policy as LambdaPolicy  # noqa: E402
from moto.awslambda.responses import LambdaResponse  # noqa: E402
from moto.cognitoidentity.exceptions import (  # noqa: E402
    ResourceNotFoundError as IdentityNotFound,
)
from moto.cognitoidentity.models import (  # noqa: E402
    CognitoIdentityBackend,
    CognitoIdentityPool,
    cognitoidentity_backends,
)
from moto.cognitoidentity.responses import CognitoIdentityResponse  # noqa: E402
from moto.cognitoidp.exceptions import (  # noqa: E402
    ResourceNotFoundError as UserPoolNotFound,
)
from moto.cognitoidp.models import (  # noqa: E402
    cognitoidp_backends,
    CognitoIdpBackend,
    CognitoIdpUserPool,
    CognitoIdpUserPoolClient,
)
from moto.cognitoidp import models as cognito_idp_models  # noqa: E402
from moto.cognitoidp.responses import CognitoIdpResponse  # noqa: E402
from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.core.exceptions import _RESTError as XmlRESTError  # noqa: E402
from moto.core.responses import ActionResult, BaseResponse, EmptyResult  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.iam.exceptions import NotFoundException as IAMNotFoundException  # noqa: E402
from moto.iam.models import IAMBackend, iam_backends  # noqa: E402
from moto.iot.exceptions import (  # noqa: E402
    CertificateStateException,
    DeleteConflictException,
    InvalidRequestException,
    ResourceAlreadyExistsException as IotAlreadyExists,
    ResourceNotFoundException as IotNotFound,
    VersionConflictException,
)
from moto.iot.models import FakeCertificate, IoTBackend, iot_backends  # noqa: E402
from moto.iot.responses import IoTResponse  # noqa: E402
from moto.moto_api._internal import mock_random  # noqa: E402
from moto.moto_api._internal import urls as moto_api_urls  # noqa: E402
from moto.moto_api._internal.models import MotoAPIBackend  # noqa: E402
from moto.secretsmanager.exceptions import (  # noqa: E402
    InvalidRequestException as SecretsInvalidRequest,
)
from moto.secretsmanager.exceptions import (  # noqa: E402
    ResourceExistsException as SecretsResourceExists,
)
from moto.secretsmanager.models import (  # noqa: E402
    FakeSecret,
    SecretsManagerBackend,
)
from moto.secretsmanager.models import _matches as secret_matches  # noqa: E402
from moto.secretsmanager.responses import (  # noqa: E402
    SecretsManagerResponse,
)
from moto.secretsmanager.responses import (  # noqa: E402
    _validate_filters as validate_secret_filters,
)
from moto.sns.exceptions import SNSInvalidParameter, SNSNotFoundError  # noqa: E402
from moto.sns.models import sns_backends  # noqa: E402
from moto.sns.responses import SNSResponse  # noqa: E402
from moto.utilities.utils import get_partition  # noqa: E402
from werkzeug.exceptions import HTTPException  # noqa: E402

PATCHED: list[str] = []


def _add(cls: type, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Install the decorated function as ``cls.name``, which must not exist yet
    (so a moto upgrade that implements it is noticed)."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in cls.__dict__:
            raise RuntimeError(f"moto already defines {cls.__name__}.{name}")
        setattr(cls, name, fn)
        PATCHED.append(f"{cls.__name__}.{name}")
        return fn

    return deco


def _wrap(cls: type, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Replace the existing ``cls.name``; the decorated function gets the
    original as its first argument."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        original = cls.__dict__[name]

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(original, *args, **kwargs)

        wrapper.__name__ = name
        wrapper.__doc__ = fn.__doc__
        setattr(cls, name, wrapper)
        PATCHED.append(f"{cls.__name__}.{name}")
        return wrapper

    return deco


def _split_arn(arn: str, service: str) -> tuple[str, str, str]:
    """(region, account, resource) of an ARN of ``service``, or ("", "", "")."""
    parts = (arn or "").split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != service:
        return "", "", ""
    return parts[3], parts[4], parts[5]


def _error_response(self: BaseResponse, err: HTTPException) -> Any:
    """The (status, headers, body) moto's BaseResponse.call_action answers
    for ``err``, for patches that refuse a request before moto sees it."""
    headers: dict[str, Any] = dict(err.get_headers() or [])
    headers["status"] = err.code
    status, out_headers, body = self._transform_response(
        self.response_headers, (err.description, headers)
    )
    out_headers, body = self._enrich_response(out_headers, body)
    return status, out_headers, body


# --- strict mode ---------------------------------------------------------------

# Name -> the AWS behaviour it turns on (see the module docstring).
STRICT_PATCHES: dict[str, str] = {
    "cert-subject": "CreateCertificateFromCsr: AWS's own subject and issuer",
    "list-lag": "ListSecrets lags behind writes",
    "update-resets": "Cognito Update* calls reset every omitted setting",
    "sns-pending": "email subscriptions pending until confirmed",
    "guest-scope": "guest credentials scoped down as in the enhanced flow",
    "classic-flow": "GetOpenIdToken only where the pool allows the basic flow",
    "role-delay": "a new or changed IAM role is not assumable at once",
    "secret-scheduled": "CreateSecret refuses a name scheduled for deletion",
}
STRICT_DEFAULTS = {"list_lag": 3.0, "role_delay": 2.0}
_strict: set[str] = set()
_settings: dict[str, float] = dict(STRICT_DEFAULTS)


def parse_strict(spec: str) -> set[str]:
    """The strict patches a spec turns on. ``""``/``0``/``off``: none;
    ``1``/``all``/``on``: all; otherwise a comma list read left to right,
    ``name`` adds a patch and ``-name`` removes one (a list that starts with a
    removal starts from all). ValueError for an unknown name."""
    items = [i.strip().lower() for i in (spec or "").split(",") if i.strip()]
    if items in ([], ["0"], ["off"], ["false"], ["none"]):
        return set()
    chosen = set(STRICT_PATCHES) if items[0].startswith("-") else set()
    for item in items:
        if item in ("1", "all", "on", "true"):
            chosen |= set(STRICT_PATCHES)
            continue
        name = item[1:] if item.startswith("-") else item
        if name not in STRICT_PATCHES:
            raise ValueError(
                f"unknown strict patch '{name}' (known: {', '.join(STRICT_PATCHES)})"
            )
        if item.startswith("-"):
            chosen.discard(name)
        else:
            chosen.add(name)
    return chosen


def _seconds(env: str, default: float) -> float:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{env} must be a number of seconds, not '{raw}'") from None
    if value < 0:
        raise ValueError(f"{env} must not be negative")
    return value


def configure_strict(spec: str) -> None:
    """Switch the strict patches of ``spec`` on (and every other one off), and
    read their settings from the environment."""
    chosen = parse_strict(spec)
    _settings["list_lag"] = _seconds(
        "IOTSTACK_EMULATOR_LIST_LAG", STRICT_DEFAULTS["list_lag"]
    )
    _settings["role_delay"] = _seconds(
        "IOTSTACK_EMULATOR_ROLE_DELAY", STRICT_DEFAULTS["role_delay"]
    )
    _strict.clear()
    _strict.update(chosen)


def strict(name: str) -> bool:
    """Whether the strict patch ``name`` is on."""
    assert name in STRICT_PATCHES, name
    return name in _strict


def _moto_api(path: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve the decorated ``handler(request) -> (status, body)`` at
    ``/moto-api/iotstack/<path>`` (JSON body), beside moto's own
    ``/moto-api/...`` endpoints."""

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        def handler(request: Any, full_url: str, headers: Any) -> Any:
            status, body = fn(request)
            return status, {"Content-Type": "application/json"}, json.dumps(body)

        handler.__name__ = f"iotstack_{path.replace('/', '_').replace('-', '_')}"
        moto_api_urls.url_paths[f"{{0}}/moto-api/iotstack/{path}$"] = handler
        return fn

    return deco


@_moto_api("server")
def server_status(request: Any) -> tuple[int, Any]:
    """GET /moto-api/iotstack/server: the answering server's process id, so that whoever
    started it knows the port it polls is its own server's and not another's that took the
    port first (a free port picked, then given to the server, can be taken in between)."""
    return 200, {"pid": os.getpid()}


@_moto_api("strict")
def strict_status(request: Any) -> tuple[int, Any]:
    """GET /moto-api/iotstack/strict: the strict patches on, and settings."""
    return 200, {
        "patches": sorted(_strict),
        "list_lag": _settings["list_lag"],
        "role_delay": _settings["role_delay"],
    }


# --- A. cognito-identity SetIdentityPoolRoles / GetIdentityPoolRoles --------


def _identity_pool(backend: CognitoIdentityBackend, pool_id: str) -> Any:
    pool = backend.identity_pools.get(pool_id)
    if pool is None:
        raise IdentityNotFound(pool_id)
    return pool


@_add(CognitoIdentityResponse, "set_identity_pool_roles")
def set_identity_pool_roles(self: CognitoIdentityResponse) -> str:
    """SetIdentityPoolRoles: replaces the pool's Roles map (authenticated /
    unauthenticated role ARNs) and RoleMappings; ResourceNotFoundException for
    an unknown pool. Missing in moto 5.2.5."""
    pool = _identity_pool(self.backend, self._get_param("IdentityPoolId"))
    pool.iotstack_roles = dict(self._get_param("Roles") or {})
    pool.iotstack_role_mappings = dict(self._get_param("RoleMappings") or {})
    return ""


@_add(CognitoIdentityResponse, "get_identity_pool_roles")
def get_identity_pool_roles(self: CognitoIdentityResponse) -> str:
    """GetIdentityPoolRoles: {IdentityPoolId, Roles, RoleMappings} as last set
    (empty maps before any SetIdentityPoolRoles); ResourceNotFoundException
    for an unknown pool. Missing in moto 5.2.5."""
    pool = _identity_pool(self.backend, self._get_param("IdentityPoolId"))
    return json.dumps(
        {
            "IdentityPoolId": pool.identity_pool_id,
            "Roles": getattr(pool, "iotstack_roles", {}),
            "RoleMappings": getattr(pool, "iotstack_role_mappings", {}),
        }
    )


# --- B. tags -----------------------------------------------------------------

# cognito-identity


def _identity_pool_by_arn(self: CognitoIdentityResponse) -> Any:
    arn = self._get_param("ResourceArn")
    region, account, resource = _split_arn(arn, "cognito-identity")
    if not resource.startswith("identitypool/"):
        raise JsonRESTError("InvalidParameterException", f"Invalid ARN: {arn}")
    pool = self.backend.identity_pools.get(resource[len("identitypool/") :])
    if pool is None or (region, account) != (self.region, self.current_account):
        raise IdentityNotFound(arn)
    return pool


@_add(CognitoIdentityResponse, "tag_resource")
def identity_tag_resource(self: CognitoIdentityResponse) -> str:
    """TagResource on an identity pool ARN: adds/overwrites tags in the map
    DescribeIdentityPool returns as IdentityPoolTags. Missing in moto 5.2.5."""
    pool = _identity_pool_by_arn(self)
    pool.tags = {**(pool.tags or {}), **(self._get_param("Tags") or {})}
    return "{}"


@_add(CognitoIdentityResponse, "untag_resource")
def identity_untag_resource(self: CognitoIdentityResponse) -> str:
    """UntagResource on an identity pool ARN. Missing in moto 5.2.5."""
    pool = _identity_pool_by_arn(self)
    drop = set(self._get_param("TagKeys") or [])
    pool.tags = {k: v for k, v in (pool.tags or {}).items() if k not in drop}
    return "{}"


@_add(CognitoIdentityResponse, "list_tags_for_resource")
def identity_list_tags_for_resource(self: CognitoIdentityResponse) -> str:
    """ListTagsForResource on an identity pool ARN: {"Tags": {...}}, including
    the IdentityPoolTags given at creation. Missing in moto 5.2.5."""
    return json.dumps({"Tags": dict(_identity_pool_by_arn(self).tags or {})})


# cognito-idp


def _user_pool_by_arn(self: CognitoIdpResponse) -> Any:
    arn = self._get_param("ResourceArn")
    _, _, resource = _split_arn(arn, "cognito-idp")
    pool = self.backend.user_pools.get(resource.partition("/")[2])
    if pool is None or pool.arn != arn:
        raise UserPoolNotFound(f"User pool {arn} does not exist.")
    return pool


@_add(CognitoIdpResponse, "tag_resource")
def user_pool_tag_resource(self: CognitoIdpResponse) -> ActionResult:
    """TagResource on a user pool ARN: adds/overwrites tags in the map
    DescribeUserPool returns as UserPoolTags. Missing in moto 5.2.5."""
    pool = _user_pool_by_arn(self)
    tags = dict(pool.extended_config.get("UserPoolTags") or {})
    tags.update(self._get_param("Tags") or {})
    pool.extended_config["UserPoolTags"] = tags
    return EmptyResult()


@_add(CognitoIdpResponse, "untag_resource")
def user_pool_untag_resource(self: CognitoIdpResponse) -> ActionResult:
    """UntagResource on a user pool ARN. Missing in moto 5.2.5."""
    pool = _user_pool_by_arn(self)
    drop = set(self._get_param("TagKeys") or [])
    tags = pool.extended_config.get("UserPoolTags") or {}
    pool.extended_config["UserPoolTags"] = {
        k: v for k, v in tags.items() if k not in drop
    }
    return EmptyResult()


@_add(CognitoIdpResponse, "list_tags_for_resource")
def user_pool_list_tags_for_resource(self: CognitoIdpResponse) -> ActionResult:
    """ListTagsForResource on a user pool ARN: {"Tags": {...}}, including the
    UserPoolTags given at CreateUserPool. Missing in moto 5.2.5."""
    pool = _user_pool_by_arn(self)
    return ActionResult({"Tags": dict(pool.extended_config.get("UserPoolTags") or {})})


_USER_POOL_FIXED = ("UsernameConfiguration", "AliasAttributes", "UsernameAttributes")


@_wrap(CognitoIdpUserPool, "update_extended_config")
def user_pool_update_extended_config(
    original: Callable[..., None], self: CognitoIdpUserPool, extended_config: Any
) -> None:
    """UpdateUserPool keeps the pool's tags unless it is given UserPoolTags
    (moto 5.2.5 replaced the whole config and so dropped them)."""
    old_tags = getattr(self, "extended_config", {}).get("UserPoolTags")
    original(self, extended_config)
    if old_tags is not None and "UserPoolTags" not in (extended_config or {}):
        self.extended_config["UserPoolTags"] = old_tags


# iot


def _iot_tags(backend: IoTBackend) -> dict[str, dict[str, str]]:
    store = backend.__dict__.get("iotstack_tags")
    if store is None:
        store = backend.__dict__.setdefault("iotstack_tags", {})
    return store


def _iot_tagged_arn(self: IoTResponse, arn: str) -> str:
    """``arn`` if it names an existing resource of this account and region.
    Policies and topic rules are checked; other resource types are taken as
    they are."""
    backend = self.iot_backend
    region, account, resource = _split_arn(arn, "iot")
    if not resource:
        raise InvalidRequestException(f"Invalid resourceArn: {arn}")
    kind, _, name = resource.partition("/")
    found = (region, account) == (backend.region_name, backend.account_id)
    if kind == "policy":
        found = found and name in backend.policies
    elif kind == "rule":
        found = found and name in backend.rules
    elif kind == "thinggroup":
        found = found and arn in backend.thing_groups
    if not found:
        raise IotNotFound(f"Resource {arn} not found")
    return arn


@_add(IoTResponse, "tag_resource")
def iot_tag_resource(self: IoTResponse) -> ActionResult:
    """TagResource (POST /tags {resourceArn, tags: [{Key, Value}]}).
    Missing in moto 5.2.5."""
    arn = _iot_tagged_arn(self, self._get_param("resourceArn"))
    tags = _iot_tags(self.iot_backend).setdefault(arn, {})
    for tag in self._get_param("tags") or []:
        tags[tag["Key"]] = tag.get("Value", "")
    return EmptyResult()


@_add(IoTResponse, "untag_resource")
def iot_untag_resource(self: IoTResponse) -> ActionResult:
    """UntagResource (POST /untag {resourceArn, tagKeys}). Missing in moto
    5.2.5."""
    arn = _iot_tagged_arn(self, self._get_param("resourceArn"))
    tags = _iot_tags(self.iot_backend).get(arn, {})
    for key in self._get_param("tagKeys") or []:
        tags.pop(key, None)
    return EmptyResult()


@_add(IoTResponse, "list_tags_for_resource")
def iot_list_tags_for_resource(self: IoTResponse) -> ActionResult:
    """ListTagsForResource (GET /tags?resourceArn=...): {"tags": [{Key,
    Value}]}, including tags given at CreatePolicy / CreateTopicRule. Missing
    in moto 5.2.5."""
    arn = _iot_tagged_arn(self, self._get_param("resourceArn"))
    tags = _iot_tags(self.iot_backend).get(arn, {})
    return ActionResult({"tags": [{"Key": k, "Value": v} for k, v in tags.items()]})


@_wrap(IoTResponse, "create_policy")
def iot_create_policy(original: Callable[..., Any], self: IoTResponse) -> Any:
    """CreatePolicy records its ``tags`` (moto 5.2.5 ignored them)."""
    result = original(self)
    tags = self._get_param("tags") or []
    if tags:
        policy = self.iot_backend.policies[self._get_param("policyName")]
        _iot_tags(self.iot_backend)[policy.arn] = {
            t["Key"]: t.get("Value", "") for t in tags
        }
    return result


@_wrap(IoTResponse, "create_thing_group")
def iot_create_thing_group(original: Callable[..., Any], self: IoTResponse) -> Any:
    """CreateThingGroup records its ``tags`` (moto 5.2.5 ignored them)."""
    result = original(self)
    tags = self._get_param("tags") or []
    name = unquote(self.path.split("/thing-groups/")[-1])
    for arn, group in self.iot_backend.thing_groups.items():
        if tags and group.thing_group_name == name:
            _iot_tags(self.iot_backend)[arn] = {t["Key"]: t.get("Value", "") for t in tags}
    return result


@_wrap(IoTBackend, "delete_thing_group")
def iot_delete_thing_group(
    original: Callable[..., Any], self: IoTBackend, thing_group_name: str
) -> Any:
    """DeleteThingGroup drops the group's tags."""
    arns = [
        a for a, g in self.thing_groups.items() if g.thing_group_name == thing_group_name
    ]
    result = original(self, thing_group_name)
    for arn in arns:
        _iot_tags(self).pop(arn, None)
    return result


@_wrap(IoTResponse, "create_topic_rule")
def iot_create_topic_rule(original: Callable[..., Any], self: IoTResponse) -> Any:
    """CreateTopicRule records the tags of its ``x-amz-tagging`` header, a
    URL-encoded query string ``k=v&k2=v2`` (moto 5.2.5 ignored them)."""
    result = original(self)
    header = self.headers.get("x-amz-tagging")
    if header:
        rule = self.iot_backend.rules[self._get_param("ruleName")]
        _iot_tags(self.iot_backend)[rule.arn] = dict(
            parse_qsl(header, keep_blank_values=True)
        )
    return result


@_wrap(IoTResponse, "delete_topic_rule")
def iot_delete_topic_rule(original: Callable[..., Any], self: IoTResponse) -> Any:
    """DeleteTopicRule drops the rule's tags. (Wrapped at the response level:
    moto's ReplaceTopicRule deletes and re-creates the rule in the backend,
    and must keep them.)"""
    rule = self.iot_backend.rules.get(self._get_param("ruleName"))
    result = original(self)
    if rule is not None:
        _iot_tags(self.iot_backend).pop(rule.arn, None)
    return result


@_wrap(IoTBackend, "delete_policy")
def iot_delete_policy(
    original: Callable[..., None], self: IoTBackend, policy_name: str
) -> None:
    """DeletePolicy drops the policy's tags."""
    arn = self.policies[policy_name].arn if policy_name in self.policies else None
    original(self, policy_name)
    if arn:
        _iot_tags(self).pop(arn, None)


@_wrap(IoTBackend, "_validation_delete")
def iot_certificate_delete_check(
    original: Callable[..., None], self: IoTBackend, cert: Any, force_delete: bool = False
) -> None:
    """DeleteCertificate's checks, as AWS makes them, on copies of the attachment tables.
    moto 5.2.5 iterated the tables themselves while the server's other threads changed them
    (a fleet's detaches beside its deletes: "dictionary changed size during iteration",
    answered HTTP 500), and took every policy target for a certificate, failing (HTTP 500) while
    a policy was attached to a thing group. AWS: "A certificate cannot be deleted if it has a
    policy or IoT thing attached to it or if its status is set to ACTIVE" (AWS IoT API
    reference, DeleteCertificate): CertificateStateException for an ACTIVE one,
    DeleteConflictException for one still attached to a thing or to one of its own policies
    (forceDelete lifts the policies' refusal)."""
    if cert.status == "ACTIVE":
        raise CertificateStateException(
            "Certificate must be deactivated (not ACTIVE) before deletion.",
            cert.certificate_id,
        )

    def of_cert(table: dict[Any, Any]) -> list[str]:
        # list() copies the keys in one step under the interpreter's lock.
        keys = list(table)
        return [k[0] for k in keys if k[0].rpartition(":cert/")[2] == cert.certificate_id]

    things = of_cert(self.principal_things)
    if things:
        raise DeleteConflictException(
            f"Things must be detached before deletion (arn: {things[0]})"
        )
    policies = of_cert(self.principal_policies)
    if policies and not force_delete:
        raise DeleteConflictException(
            f"Certificate policies must be detached before deletion (arn: {policies[0]})"
        )


# --- C. iot DescribeEndpoint ------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


@_wrap(IoTBackend, "describe_endpoint")
def iot_describe_endpoint(
    original: Callable[..., Any], self: IoTBackend, endpoint_type: str
) -> Any:
    """DescribeEndpoint: the same address on every call for an account,
    region and endpoint type, e.g. ``<14 lowercase alnum>-ats.iot.<region>.
    amazonaws.com`` for iot:Data-ATS, as AWS keeps an account's endpoint
    (moto 5.2.5 drew a new random prefix on every call)."""
    endpoint = original(self, endpoint_type)  # validates the type
    digest = hashlib.sha256(
        f"{self.account_id}/{self.region_name}/{endpoint_type}".encode()
    ).digest()
    prefix = "".join(_ALNUM[b % len(_ALNUM)] for b in digest[:14])
    label, rest = endpoint.endpoint.split(".", 1)
    suffix = "-ats" if label.endswith("-ats") else ""
    endpoint.endpoint = f"{prefix}{suffix}.{rest}"
    return endpoint


# --- D. cognito-identity GetId / ListIdentities / GetCredentialsForIdentity --


def _login_subject(token: str) -> str:
    """The ``sub`` claim of a JWT, else the token itself."""
    parts = (token or "").split(".")
    if len(parts) == 3:
        try:
            payload = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(payload))
            if isinstance(claims, dict) and isinstance(claims.get("sub"), str):
                return claims["sub"]
        except (binascii.Error, ValueError, UnicodeDecodeError):
            pass
    return token


def _pool_backend(self: CognitoIdentityResponse, pool_id: str) -> Any:
    """Backend of the identity pool's own region (GetId and
    GetCredentialsForIdentity are unsigned, so the request's region is not
    known; the id is prefixed with it)."""
    region = (pool_id or "").partition(":")[0]
    try:
        return cognitoidentity_backends[self.backend.account_id][region]
    except KeyError:
        raise IdentityNotFound(pool_id) from None


_identity_lock = threading.Lock()


@_wrap(CognitoIdentityResponse, "get_id")
def identity_get_id(original: Callable[..., Any], self: CognitoIdentityResponse) -> str:
    """GetId: one IdentityId per (pool, logins) where a login is its provider
    name and the token's ``sub`` claim (or the raw token if it is not a JWT),
    as AWS returns the same identity for the same user; ids carry the pool's
    region; ListIdentities lists each identity once. Without Logins a new
    unauthenticated identity is issued each call, or NotAuthorizedException
    when the pool does not allow them. ResourceNotFoundException for an
    unknown pool. (moto 5.2.5: a new us-east-1 id on every call, HTTP 500 for
    an unknown pool.)"""
    pool_id = self._get_param("IdentityPoolId")
    logins = self._get_param("Logins") or {}
    backend = _pool_backend(self, pool_id)
    pool = _identity_pool(backend, pool_id)
    if not logins and not pool.allow_unauthenticated_identities:
        raise JsonRESTError(
            "NotAuthorizedException",
            "Unauthenticated access is not supported for this identity pool.",
        )
    region = pool_id.partition(":")[0]
    key = (pool_id, tuple(sorted((p, _login_subject(t)) for p, t in logins.items())))
    with _identity_lock:
        index = backend.__dict__.setdefault("iotstack_identity_by_login", {})
        identity_id = index.get(key) if logins else None
        if identity_id is None:
            identity_id = f"{region}:{mock_random.uuid4()}"
            if logins:
                index[key] = identity_id
            now = time.time()
            listing = backend.pools_identities.setdefault(
                pool_id, {"IdentityPoolId": pool_id, "Identities": []}
            )
            entry: dict[str, Any] = {"IdentityId": identity_id}
            if logins:
                entry["Logins"] = sorted(logins)
            entry.update(CreationDate=now, LastModifiedDate=now)
            listing["Identities"].append(entry)
    return json.dumps({"IdentityId": identity_id})


@_wrap(CognitoIdentityResponse, "list_identities")
def identity_list_identities(
    original: Callable[..., Any], self: CognitoIdentityResponse
) -> str:
    """ListIdentities: ResourceNotFoundException for an unknown or deleted
    pool (moto 5.2.5: HTTP 500, or the deleted pool's identities)."""
    _identity_pool(self.backend, self._get_param("IdentityPoolId"))
    return original(self)


@_wrap(CognitoIdentityBackend, "delete_identity_pool")
def identity_delete_identity_pool(
    original: Callable[..., None], self: CognitoIdentityBackend, identity_pool_id: str
) -> None:
    """DeleteIdentityPool also forgets the pool's identities (and with the
    pool object go its roles and tags)."""
    original(self, identity_pool_id)
    self.pools_identities.pop(identity_pool_id, None)
    index = self.__dict__.get("iotstack_identity_by_login", {})
    for key in [k for k in index if k[0] == identity_pool_id]:
        del index[key]


@_wrap(CognitoIdentityResponse, "get_credentials_for_identity")
def identity_get_credentials_for_identity(
    original: Callable[..., Any], self: CognitoIdentityResponse
) -> Any:
    """GetCredentialsForIdentity: ResourceNotFoundException for an identity no
    pool issued, InvalidIdentityPoolConfigurationException when its pool has
    no role for it (authenticated or unauthenticated, after
    SetIdentityPoolRoles), like AWS; otherwise moto's fake credentials."""
    identity_id = self._get_param("IdentityId")
    backend = _pool_backend(self, identity_id)
    found = _find_identity(backend, identity_id)
    if found is None:
        raise IdentityNotFound(f"Identity '{identity_id}' not found.")
    pool_id, entry = found
    pool = _identity_pool(backend, pool_id)
    kind = "authenticated" if entry.get("Logins") else "unauthenticated"
    if not getattr(pool, "iotstack_roles", {}).get(kind):
        raise JsonRESTError(
            "InvalidIdentityPoolConfigurationException",
            "Invalid identity pool configuration. "
            "Check assigned IAM roles for this pool.",
        )
    return original(self)


def _find_identity(
    backend: CognitoIdentityBackend, identity_id: str
) -> tuple[str, dict[str, Any]] | None:
    """(pool id, ListIdentities entry) of an identity a pool issued."""
    for pool_id, listing in backend.pools_identities.items():
        for entry in listing["Identities"]:
            if entry["IdentityId"] == identity_id:
                return pool_id, entry
    return None


# --- E. iot CreateCertificateFromCsr -----------------------------------------

_ca: dict[str, Any] = {}
_ca_lock = threading.Lock()


def _ca_key() -> rsa.RSAPrivateKey:
    with _ca_lock:
        if "key" not in _ca:
            _ca["key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _ca["key"]


# AWS IoT's issuer for certificates it creates: one OU attribute holding the
# whole text, as `openssl x509 -issuer` prints it on a certificate from
# CreateCertificateFromCsr or CreateKeysAndCertificate.
AWS_IOT_ISSUER = x509.Name(
    [
        x509.NameAttribute(
            x509.NameOID.ORGANIZATIONAL_UNIT_NAME,
            "Amazon Web Services O=Amazon.com Inc. L=Seattle ST=Washington C=US",
        )
    ]
)
AWS_IOT_SUBJECT = x509.Name(
    [x509.NameAttribute(x509.NameOID.COMMON_NAME, "AWS IoT Certificate")]
)
MOTO_ISSUER = x509.Name(
    [
        x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Moto"),
        x509.NameAttribute(x509.NameOID.ORGANIZATIONAL_UNIT_NAME, "Server CA 1B"),
        x509.NameAttribute(x509.NameOID.COMMON_NAME, "Moto"),
    ]
)


@_wrap(IoTBackend, "create_certificate_from_csr")
def iot_create_certificate_from_csr(
    original: Callable[..., Any], self: IoTBackend, csr: str, set_as_active: bool
) -> Any:
    """CreateCertificateFromCsr: the certificate certifies the CSR's public
    key, so it pairs with the private key that signed the CSR, as in AWS
    (moto 5.2.5 certified a new random key). Subject: the CSR's; issuer as in
    moto (CN=Moto).

    Strict ``cert-subject`` (AWS IoT API Reference, CreateCertificateFromCsr:
    "Creates an X.509 certificate using the specified certificate signing
    request"; AWS CLI reference, create-keys-and-certificate: "AWS IoT issues
    a default subject name for the certificate (for example, AWS IoT
    Certificate)"): the subject is ``CN=AWS IoT Certificate`` and the issuer
    AWS IoT's ``OU=Amazon Web Services O=Amazon.com Inc. L=Seattle
    ST=Washington C=US``; nothing of the CSR but its public key is kept, and
    the certificate is valid until 2049-12-31 23:59:59 UTC as AWS's are."""
    request = x509.load_pem_x509_csr(csr.encode("utf-8"))
    now = utcnow()
    if strict("cert-subject"):
        subject, issuer = AWS_IOT_SUBJECT, AWS_IOT_ISSUER
        not_after = datetime(2049, 12, 31, 23, 59, 59)
    else:
        subject, issuer = request.subject, MOTO_ISSUER
        not_after = now + timedelta(days=365)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(request.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .sign(_ca_key(), hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("utf-8")
    return self.register_certificate(
        pem, ca_certificate_pem=None, set_as_active=set_as_active, status="INACTIVE"
    )


# --- F. lambda AddPermission ------------------------------------------------


@_wrap(LambdaPolicy, "add_statement")
def lambda_add_statement(
    original: Callable[..., Any], self: LambdaPolicy, raw: str, qualifier: Any = None
) -> Any:
    """AddPermission: ResourceConflictException when the StatementId is
    already in the policy, and FunctionUrlAuthType stored as the condition
    ``StringEquals lambda:FunctionUrlAuthType``, both as in AWS (moto 5.2.5
    kept duplicate Sids and a top-level FunctionUrlAuthType key)."""
    sid = json.loads(raw).get("StatementId")
    if sid and any(st.get("Sid") == sid for st in self.statements):
        raise LambdaClientError(
            "ResourceConflictException",
            f"The statement id ({sid}) provided already exists. Please provide "
            "a new statement id, or remove the existing statement.",
        )
    statement, revision = original(self, raw, qualifier)
    auth_type = statement.pop("FunctionUrlAuthType", None)
    if auth_type is not None:
        condition = statement.setdefault("Condition", {})
        condition.setdefault("StringEquals", {})["lambda:FunctionUrlAuthType"] = (
            auth_type
        )
    return statement, revision


# --- H. iot AttachPolicy targets -------------------------------------------

_IDENTITY_ID = re.compile(
    r"^[a-z]{2}(-[a-z]+)+-\d:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


@_wrap(IoTBackend, "_get_principal")
def iot_get_principal(original: Callable[..., Any], self: IoTBackend, principal_arn: str) -> Any:
    """AttachPolicy / DetachPolicy targets: AWS accepts any id of the form
    ``region:uuid`` as a Cognito identity target (which is how an identity pool
    id ends up attached by mistake); moto 5.2.5 accepted only identity ids it
    had issued itself."""
    try:
        return original(self, principal_arn)
    except IotNotFound:
        if _IDENTITY_ID.match(principal_arn or ""):
            return {"IdentityId": principal_arn}
        raise


# --- I. iot thing registry versions -----------------------------------------


# The server answers requests on several threads: each check-then-write below
# runs under this lock so that it is atomic, as AWS's registry is.
_things_lock = threading.RLock()


def _thing_named(backend: IoTBackend, name: str) -> Any:
    return next((t for t in backend.things.values() if t.thing_name == name), None)


def _expected_version(self: IoTResponse, thing: Any) -> None:
    expected = self._get_param("expectedVersion")
    if expected is not None and int(expected) != thing.version:
        raise VersionConflictException(thing.thing_name)


@_wrap(IoTResponse, "create_thing")
def iot_create_thing(original: Callable[..., Any], self: IoTResponse) -> Any:
    """CreateThing: "If this call is made multiple times using the same thing
    name and configuration, the call will succeed. If this call is made with
    the same thing name but different configuration a
    ResourceAlreadyExistsException is thrown." (AWS IoT API reference,
    CreateThing). moto 5.2.5 replaced the existing thing."""
    with _things_lock:
        return _create_thing(original, self)


def _create_thing(original: Callable[..., Any], self: IoTResponse) -> Any:
    name = self._get_param("thingName")
    thing = _thing_named(self.iot_backend, name)
    if thing is None:
        return original(self)
    payload = self._get_param("attributePayload") or {}
    same = (
        (payload.get("attributes") or {}) == (thing.attributes or {})
        and self._get_param("thingTypeName")
        == (thing.thing_type.thing_type_name if thing.thing_type else None)
        and self._get_param("billingGroupName") == thing.billing_group_name
    )
    if not same:
        raise IotAlreadyExists(
            f"Thing {name} already exists in account with different attributes",
            thing.thing_id,
            thing.arn,
        )
    return ActionResult(
        {"thingName": thing.thing_name, "thingArn": thing.arn, "thingId": thing.thing_id}
    )


@_wrap(IoTResponse, "update_thing")
def iot_update_thing(original: Callable[..., Any], self: IoTResponse) -> Any:
    """UpdateThing: rejected with VersionConflictException when
    ``expectedVersion`` is not the thing's version; a successful update gives
    the record a new version (AWS IoT API reference, UpdateThing and
    DescribeThing ``version``). moto 5.2.5 did neither."""
    with _things_lock:
        thing = self.iot_backend.describe_thing(self._get_param("thingName"))
        _expected_version(self, thing)
        result = original(self)
        thing.version += 1
        return result


@_wrap(IoTResponse, "delete_thing")
def iot_delete_thing(original: Callable[..., Any], self: IoTResponse) -> Any:
    """DeleteThing: rejected with VersionConflictException when
    ``expectedVersion`` is not the thing's version, and "returns successfully
    with no error if the deletion is successful or you specify a thing that
    doesn't exist" (AWS IoT API reference, DeleteThing). moto 5.2.5 ignored
    the version and raised ResourceNotFoundException."""
    with _things_lock:
        thing = _thing_named(self.iot_backend, self._get_param("thingName"))
        if thing is None:
            return EmptyResult()
        _expected_version(self, thing)
        return original(self)

# --- strict: list-lag (secretsmanager ListSecrets) ----------------------------

# Secrets Manager calls that change what ListSecrets shows.
_SECRET_WRITES = (
    "create_secret",
    "update_secret",
    "put_secret_value",
    "delete_secret",
    "restore_secret",
    "rotate_secret",
    "cancel_rotate_secret",
    "tag_resource",
    "untag_resource",
    "put_resource_policy",
    "delete_resource_policy",
    "update_secret_version_stage",
    "replicate_secret_to_regions",
    "remove_regions_from_replication",
)
_secrets_lock = threading.Lock()


def _secrets_snapshot(backend: SecretsManagerBackend) -> dict[str, Any]:
    """A copy of the backend's secrets as ListSecrets would list them now."""
    snapshot: dict[str, Any] = {}
    for name, secret in backend.secrets.items():
        view = copy.copy(secret)
        if isinstance(secret, FakeSecret):
            view.tags = copy.deepcopy(secret.tags)
            view.versions = copy.deepcopy(secret.versions)
            view.replicas = list(secret.replicas)
        snapshot[name] = view
    return snapshot


def _record_secret_write(name: str) -> None:
    @_wrap(SecretsManagerResponse, name)
    def write(original: Callable[..., Any], self: SecretsManagerResponse) -> Any:
        if not strict("list-lag"):
            return original(self)
        backend = self.backend
        with _secrets_lock:
            timeline = backend.__dict__.setdefault("iotstack_list_timeline", [])
            if not timeline:
                timeline.append((float("-inf"), _secrets_snapshot(backend)))
            result = original(self)
            timeline.append((time.monotonic(), _secrets_snapshot(backend)))
        return result


for _name in _SECRET_WRITES:
    _record_secret_write(_name)


@_wrap(SecretsManagerResponse, "list_secrets")
def secrets_list_secrets(
    original: Callable[..., Any], self: SecretsManagerResponse
) -> Any:
    """Strict ``list-lag`` (AWS Secrets Manager API Reference, ListSecrets:
    "All Secrets Manager operations are eventually consistent. ListSecrets
    might not reflect changes from the last five minutes. You can get more
    recent information for a specific secret by calling DescribeSecret."):
    ListSecrets answers with the secrets as they were
    IOTSTACK_EMULATOR_LIST_LAG seconds ago (default 3): a new secret is not
    listed yet, a deleted one (scheduled or forced) still is, and tags or
    descriptions changed since then show their old values. DescribeSecret,
    GetSecretValue and every other call see the current state."""
    if not strict("list-lag"):
        return original(self)
    backend = self.backend
    cutoff = time.monotonic() - _settings["list_lag"]
    with _secrets_lock:
        timeline = backend.__dict__.get("iotstack_list_timeline")
        if not timeline:
            return original(self)
        seen = max(i for i, (t, _) in enumerate(timeline) if t <= cutoff)
        del timeline[:seen]
        secrets = list(timeline[0][1].values())
    filters = self._get_param("Filters", if_none=[])
    validate_secret_filters(filters)
    include_deleted = self._get_param("IncludePlannedDeletion", if_none=False)
    listed = [
        secret.to_dict()
        for secret in secrets
        if (include_deleted or not getattr(secret, "deleted_date", None))
        and secret_matches(secret, filters)
    ]
    page, next_token = backend._get_secret_values_page_and_next_token(
        listed, self._get_int_param("MaxResults"), self._get_param("NextToken")
    )
    return json.dumps({"SecretList": page, "NextToken": next_token})


# --- J. AllowClassicFlow, and strict: update-resets (cognito Update*) ---------


@_wrap(CognitoIdpUserPool, "update_extended_config")
def user_pool_update_mfa(
    original: Callable[..., None], self: CognitoIdpUserPool, extended_config: Any
) -> None:
    """Strict ``update-resets`` (Amazon Cognito user pools API Reference,
    UpdateUserPool: "If you don't provide a value for an attribute, Amazon
    Cognito sets it to its default value"): moto 5.2.5 already replaces the
    pool's whole configuration on UpdateUserPool except MfaConfiguration,
    which it kept; it now falls back to its default, OFF. (Tags are kept as
    patch B describes; they are changed with UserPoolTags or the tag calls.)"""
    # Settings UpdateUserPool does not take, which AWS keeps (developer guide, "Updating user
    # pool and app client configuration", "Settings you can't change": sign-in options,
    # username case sensitivity); moto 5.2.5 reset them to its defaults on every update.
    before = getattr(self, "extended_config", None) or {}
    fixed = {k: before[k] for k in _USER_POOL_FIXED if k in before}
    original(self, extended_config)
    self.extended_config.update(fixed)
    if strict("update-resets") and hasattr(self, "mfa_config"):
        # hasattr: False while CreateUserPool builds the pool.
        self.mfa_config = (extended_config or {}).get("MfaConfiguration") or "OFF"


@_wrap(CognitoIdpBackend, "update_user_pool_client")
def user_pool_client_update_resets(
    original: Callable[..., Any],
    self: CognitoIdpBackend,
    user_pool_id: str,
    client_id: str,
    extended_config: dict[str, Any],
) -> Any:
    """Strict ``update-resets`` (Amazon Cognito user pools API Reference,
    UpdateUserPoolClient: "If you don't provide a value for an attribute,
    Amazon Cognito sets it to its default value"; developer guide, "Updating
    user pool and app client configuration"): every setting the request omits
    gets the value a new client created without it has (moto 5.2.5 kept the
    old value: callback URLs, token validities, auth flows, ... survived an
    update that did not send them). The client's id, secret and, when not
    sent, its name are kept."""
    client = original(self, user_pool_id, client_id, extended_config)
    if strict("update-resets"):
        fresh = CognitoIdpUserPoolClient(user_pool_id, client.generate_secret, None)
        config = dict(fresh.extended_config)
        if "ClientName" in client.extended_config:
            config["ClientName"] = client.extended_config["ClientName"]
        config.update(extended_config or {})
        client.extended_config = config
    return client


@_wrap(CognitoIdentityResponse, "create_identity_pool")
def identity_create_identity_pool(
    original: Callable[..., Any], self: CognitoIdentityResponse
) -> Any:
    """CreateIdentityPool keeps AllowClassicFlow (moto 5.2.5 dropped it);
    DescribeIdentityPool returns it once set."""
    result = original(self)
    classic = self._get_bool_param("AllowClassicFlow")
    if classic is not None:
        pool = self.backend.identity_pools[json.loads(result)["IdentityPoolId"]]
        pool.iotstack_allow_classic_flow = classic
        result = pool.to_json()
    return result


@_wrap(CognitoIdentityPool, "to_json")
def identity_pool_to_json(original: Callable[..., str], self: CognitoIdentityPool) -> str:
    """Identity pools as JSON, with AllowClassicFlow once it was set."""
    out = original(self)
    if hasattr(self, "iotstack_allow_classic_flow"):
        out = json.dumps(
            {**json.loads(out), "AllowClassicFlow": self.iotstack_allow_classic_flow}
        )
    return out


@_wrap(CognitoIdentityResponse, "update_identity_pool")
def identity_update_identity_pool(
    original: Callable[..., Any], self: CognitoIdentityResponse
) -> Any:
    """UpdateIdentityPool also stores AllowClassicFlow (kept when omitted, as
    moto keeps every omitted setting).

    Strict ``update-resets`` (Amazon Cognito Federated Identities API
    Reference, UpdateIdentityPool: "If you don't provide a value for a
    parameter, Amazon Cognito sets it to its default value"): the name is the
    one sent (moto 5.2.5 kept the old one), and SupportedLoginProviders,
    OpenIdConnectProviderARNs, CognitoIdentityProviders, SamlProviderARNs and
    AllowClassicFlow the request omits are reset to empty / false. Kept:
    DeveloperProviderName (AWS: it cannot be changed once set) and the tags
    (changed with IdentityPoolTags or the tag calls)."""
    result = original(self)
    pool = _identity_pool(self.backend, self._get_param("IdentityPoolId"))
    classic = self._get_bool_param("AllowClassicFlow")
    if classic is not None:
        pool.iotstack_allow_classic_flow = classic
    if strict("update-resets"):
        pool.identity_pool_name = self._get_param("IdentityPoolName")
        pool.supported_login_providers = self._get_param("SupportedLoginProviders") or {}
        pool.open_id_connect_provider_arns = (
            self._get_param("OpenIdConnectProviderARNs") or []
        )
        pool.cognito_identity_providers = (
            self._get_param("CognitoIdentityProviders") or []
        )
        pool.saml_provider_arns = self._get_param("SamlProviderARNs") or []
        if classic is None and hasattr(pool, "iotstack_allow_classic_flow"):
            pool.iotstack_allow_classic_flow = False
    if classic is not None or strict("update-resets"):
        result = pool.to_json()
    return result


# --- strict: sns-pending (email subscriptions) ---------------------------------

_PENDING_PROTOCOLS = ("email", "email-json")


def _is_pending(subscription: Any) -> bool:
    return subscription.attributes.get("PendingConfirmation") is True


@_wrap(SNSResponse, "subscribe")
def sns_subscribe(original: Callable[..., Any], self: SNSResponse) -> Any:
    """Strict ``sns-pending`` (Amazon SNS API Reference, Subscribe:
    SubscriptionArn is "The ARN of the subscription if it is confirmed, or the
    string "pending confirmation" if the subscription requires confirmation.
    However, if the API request parameter ReturnSubscriptionArn is true, then
    the value is always the subscription ARN"; GetSubscriptionAttributes:
    "PendingConfirmation – true if the subscription hasn't been confirmed. To
    confirm a pending subscription, call the ConfirmSubscription action with a
    confirmation token"): a new email or email-json subscription is pending
    until ConfirmSubscription is called with its token (which
    GET /moto-api/iotstack/sns/confirmations hands out, as the confirmation
    email would). Subscribing again to a pending one answers "pending
    confirmation" again. (moto 5.2.5 confirmed every subscription at once.)"""
    protocol = self._get_param("Protocol")
    if not strict("sns-pending") or protocol not in _PENDING_PROTOCOLS:
        return original(self)
    topic_arn, endpoint = self._get_param("TopicArn"), self._get_param("Endpoint")
    known = self.backend._find_subscription(topic_arn, endpoint, protocol)
    result = original(self)
    subscription = self.backend._find_subscription(topic_arn, endpoint, protocol)
    if subscription is None:
        return result
    if known is None:
        subscription.attributes["PendingConfirmation"] = True
        subscription.attributes["ConfirmationWasAuthenticated"] = False
        subscription.iotstack_token = secrets.token_hex(64)
    if _is_pending(subscription) and not self._get_bool_param("ReturnSubscriptionArn"):
        return ActionResult({"SubscriptionArn": "pending confirmation"})
    return result


def _listed_subscriptions(subscriptions: list[Any]) -> list[dict[str, str]]:
    return [
        {
            "SubscriptionArn": "PendingConfirmation" if _is_pending(s) else s.arn,
            "Owner": s.owner,
            "Protocol": s.protocol,
            "Endpoint": s.endpoint,
            "TopicArn": s.topic_arn,
        }
        for s in subscriptions
    ]


@_wrap(SNSResponse, "list_subscriptions")
def sns_list_subscriptions(original: Callable[..., Any], self: SNSResponse) -> Any:
    """Strict ``sns-pending``: a pending subscription is listed with
    SubscriptionArn "PendingConfirmation", as AWS lists it."""
    if not strict("sns-pending"):
        return original(self)
    subscriptions, next_token = self.backend.list_subscriptions(
        next_token=self._get_param("NextToken")
    )
    return ActionResult(
        {"Subscriptions": _listed_subscriptions(subscriptions), "NextToken": next_token}
    )


@_wrap(SNSResponse, "list_subscriptions_by_topic")
def sns_list_subscriptions_by_topic(
    original: Callable[..., Any], self: SNSResponse
) -> Any:
    """Strict ``sns-pending``: as ListSubscriptions."""
    if not strict("sns-pending"):
        return original(self)
    subscriptions, next_token = self.backend.list_subscriptions_by_topic(
        self._get_param("TopicArn"), next_token=self._get_param("NextToken")
    )
    return ActionResult(
        {"Subscriptions": _listed_subscriptions(subscriptions), "NextToken": next_token}
    )


@_wrap(SNSResponse, "unsubscribe")
def sns_unsubscribe(original: Callable[..., Any], self: SNSResponse) -> Any:
    """Strict ``sns-pending`` (Amazon SNS Developer Guide, "Deleting an Amazon
    SNS subscription and topic": "You can't delete a subscription that's
    pending confirmation. Amazon SNS automatically deletes unconfirmed
    subscriptions after 48 hours"; API Reference, Unsubscribe, errors:
    InvalidParameter): Unsubscribe of a pending subscription fails with
    InvalidParameter, whether it is given the listed "PendingConfirmation"
    (AWS: "Invalid parameter: SubscriptionArn Reason: An ARN must have at
    least 6 elements, not 1", as AWS Knowledge Center quotes it) or the
    subscription's ARN from ReturnSubscriptionArn (the message is ours).
    (moto 5.2.5 deleted it, and ignored a value that is no ARN.)"""
    if not strict("sns-pending"):
        return original(self)
    arn = self._get_param("SubscriptionArn") or ""
    parts = arn.split(":")
    if len(parts) < 6:
        raise SNSInvalidParameter(
            "Invalid parameter: SubscriptionArn Reason: An ARN must have at least "
            f"6 elements, not {len(parts)}"
        )
    subscription = self.backend.subscriptions.get(arn)
    if subscription is not None and _is_pending(subscription):
        raise SNSInvalidParameter(
            "Invalid parameter: SubscriptionArn Reason: the subscription is pending "
            "confirmation and cannot be deleted"
        )
    return original(self)


@_wrap(SNSResponse, "confirm_subscription")
def sns_confirm_subscription(original: Callable[..., Any], self: SNSResponse) -> Any:
    """Strict ``sns-pending`` (Amazon SNS API Reference, ConfirmSubscription:
    "Verifies an endpoint owner's intent to receive messages by validating
    the token sent to the endpoint by an earlier Subscribe action. If the
    token is valid, the action creates a new subscription and returns its
    Amazon Resource Name (ARN)"): the token of a subscription of the topic
    confirms it and answers its ARN; any other token is InvalidParameter.
    ConfirmationWasAuthenticated is AuthenticateOnUnsubscribe. (moto 5.2.5
    answered a made-up ARN for any token.)"""
    if not strict("sns-pending"):
        return original(self)
    topic_arn, token = self._get_param("TopicArn"), self._get_param("Token")
    if topic_arn not in self.backend.topics:
        raise SNSNotFoundError("Topic does not exist")
    for subscription in list(self.backend.subscriptions.values()):
        if subscription.topic_arn == topic_arn and token and (
            getattr(subscription, "iotstack_token", None) == token
        ):
            if _is_pending(subscription):
                subscription.attributes["PendingConfirmation"] = False
                subscription.attributes["ConfirmationWasAuthenticated"] = (
                    self._get_bool_param("AuthenticateOnUnsubscribe") or False
                )
            return ActionResult({"SubscriptionArn": subscription.arn})
    raise SNSInvalidParameter("Invalid parameter: Token")


@_wrap(SNSResponse, "get_topic_attributes")
def sns_get_topic_attributes(original: Callable[..., Any], self: SNSResponse) -> Any:
    """Strict ``sns-pending``: SubscriptionsPending and SubscriptionsConfirmed
    count the topic's subscriptions (moto 5.2.5: always 0)."""
    if strict("sns-pending"):
        topic = self.backend.get_topic(self._get_param("TopicArn"))
        subscriptions = self.backend._get_topic_subscriptions(topic)
        pending = sum(1 for s in subscriptions if _is_pending(s))
        topic.subscriptions_pending = pending
        topic.subscriptions_confimed = len(subscriptions) - pending
    return original(self)


def _all_backends(backend_dict: Any) -> list[Any]:
    found = []
    for account in list(backend_dict.keys()):
        regions = backend_dict[account]
        for region in list(regions.keys()):
            found.append(regions[region])
    return found


@_moto_api("sns/confirmations")
def sns_confirmations(request: Any) -> tuple[int, Any]:
    """GET /moto-api/iotstack/sns/confirmations[?endpoint=E]: the
    subscriptions pending confirmation, each {TopicArn, Endpoint, Protocol,
    SubscriptionArn, Token}: what the confirmation email carries. Confirm one
    with sns ConfirmSubscription(TopicArn, Token)."""
    wanted = request.args.get("endpoint")
    pending = []
    for backend in _all_backends(sns_backends):
        for subscription in list(backend.subscriptions.values()):
            if _is_pending(subscription) and wanted in (None, subscription.endpoint):
                pending.append(
                    {
                        "TopicArn": subscription.topic_arn,
                        "Endpoint": subscription.endpoint,
                        "Protocol": subscription.protocol,
                        "SubscriptionArn": subscription.arn,
                        "Token": subscription.iotstack_token,
                    }
                )
    return 200, {"Confirmations": pending}


# --- strict: guest-scope (cognito-identity guest credentials) ------------------

# AWS managed policy AmazonCognitoUnAuthedIdentitiesSessionPolicy (v3): the
# actions a guest's enhanced-flow credentials can ever be allowed.
GUEST_SESSION_ACTIONS = (
    "rum:PutRumEvents",
    "sagemaker:InvokeEndpoint",
    "polly:*",
    "comprehend:*",
    "translate:*",
    "transcribe:*",
    "rekognition:*",
    "mobiletargeting:*",
    "firehose:*",
    "personalize:*",
    "geo:GetMap*",
    "geo:SearchPlaceIndex*",
    "geo:GetPlace",
    "geo:CalculateRoute*",
    "geo:*Geofence",
    "geo:*Geofences",
    "geo:*DevicePosition*",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptTo",
    "kms:ReEncryptFrom",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:GenerateDataKeyWithoutPlaintext",
)
# Signing names whose IAM action prefix differs.
_IAM_PREFIX = {"iotdata": "iot", "monitoring": "cloudwatch", "email": "ses"}
# access key id -> (account, role ARN) of guest credentials handed out.
_guest_keys: dict[str, tuple[str, str]] = {}
_guest_lock = threading.Lock()


def _guest_allows(action: str) -> bool:
    return any(
        fnmatch.fnmatchcase(action.lower(), allowed.lower())
        for allowed in GUEST_SESSION_ACTIONS
    )


@_wrap(CognitoIdentityResponse, "get_credentials_for_identity")
def identity_guest_credentials(
    original: Callable[..., Any], self: CognitoIdentityResponse
) -> Any:
    """Strict ``guest-scope`` (Amazon Cognito developer guide, "Identity pools
    authentication flow" and AWS managed policy
    AmazonCognitoUnAuthedIdentitiesSessionPolicy: "Cognito Identity Service
    will automatically include it as a scoped down policy when creating
    credentials" for unauthenticated identities in the enhanced flow): the
    credentials GetCredentialsForIdentity gives a guest (an identity without
    logins) carry their own access key id, and a request signed with one is
    refused with AccessDeniedException (AccessDenied, for SNS
    AuthorizationError, in query-protocol services) unless its action is in
    that session policy. It has no
    Secrets Manager, IoT, Lambda or Cognito action, so a guest cannot read a
    secret in the enhanced flow whatever its role allows. Authenticated
    identities' credentials are not checked (moto enforces no IAM policy)."""
    result = original(self)
    if not strict("guest-scope"):
        return result
    identity_id = self._get_param("IdentityId")
    backend = _pool_backend(self, identity_id)
    found = _find_identity(backend, identity_id)
    if found is None or found[1].get("Logins"):
        return result
    pool = _identity_pool(backend, found[0])
    body = json.loads(result)
    key = "ASIA" + "".join(secrets.choice(_ALNUM.upper()) for _ in range(16))
    body["Credentials"]["AccessKeyId"] = key
    with _guest_lock:
        _guest_keys[key] = (
            backend.account_id,
            getattr(pool, "iotstack_roles", {}).get("unauthenticated", ""),
        )
    return json.dumps(body)


@_wrap(CognitoIdentityResponse, "get_open_id_token")
def identity_classic_flow(
    original: Callable[..., Any], self: CognitoIdentityResponse
) -> Any:
    """Strict ``classic-flow`` (Amazon Cognito developer guide, "Identity pools
    authentication flow": the basic (classic) flow is GetId, GetOpenIdToken,
    then STS AssumeRoleWithWebIdentity, and an identity pool allows it only
    when AllowClassicFlow is set; Amazon Cognito Federated Identities API
    Reference, CreateIdentityPool/UpdateIdentityPool AllowClassicFlow "Enables
    or disables the Basic (Classic) authentication flow"): GetOpenIdToken for
    an identity of a pool without AllowClassicFlow true raises
    InvalidParameterException with AWS's message, and for an identity no pool
    issued ResourceNotFoundException. The token is exchanged with STS for the
    role's own credentials: the guest session policy of the enhanced flow
    (guest-scope) does not apply to them ("IAM roles": the scope-down policy is
    applied to credentials GetCredentialsForIdentity vends)."""
    if not strict("classic-flow"):
        return original(self)
    identity_id = self._get_param("IdentityId")
    backend = _pool_backend(self, identity_id)
    found = _find_identity(backend, identity_id)
    if found is None:
        raise IdentityNotFound(f"Identity '{identity_id}' not found.")
    pool = _identity_pool(backend, found[0])
    if getattr(pool, "iotstack_allow_classic_flow", False) is not True:
        raise JsonRESTError(
            "InvalidParameterException",
            "Basic (classic) flow is not enabled, please use enhanced flow.",
        )
    return original(self)


_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/[^/]*/[^/]*/([^/]+)/")


@_wrap(BaseResponse, "call_action")
def guest_scope_down(original: Callable[..., Any], self: BaseResponse) -> Any:
    """Strict ``guest-scope``: refuses what a guest's session policy leaves
    out (see identity_guest_credentials)."""
    if not _guest_keys or not strict("guest-scope"):
        return original(self)
    match = _CREDENTIAL.search(self.headers.get("Authorization") or "")
    guest = _guest_keys.get(match.group(1)) if match else None
    if guest is None:
        return original(self)
    service = match.group(2)
    action = f"{_IAM_PREFIX.get(service, service)}:{self._get_action()}"
    if _guest_allows(action):
        return original(self)
    account, role_arn = guest
    role_name = role_arn.rpartition("/")[2] or "unauthenticated"
    message = (
        f"User: arn:aws:sts::{account}:assumed-role/{role_name}/"
        f"CognitoIdentityCredentials is not authorized to perform: {action} "
        f"because no session policy allows the {action} action"
    )
    content_type = self.headers.get("Content-Type") or ""
    err: HTTPException
    if content_type.startswith("application/x-www-form-urlencoded"):
        # Query-protocol services: SNS names it AuthorizationError.
        code = "AuthorizationError" if service == "sns" else "AccessDenied"
        err = XmlRESTError(code, message)
        err.code = 403
    else:
        err = JsonRESTError("AccessDeniedException", message)
    return _error_response(self, err)


# --- strict: role-delay (Lambda and IoT assuming a new role) ------------------


@_wrap(IAMBackend, "create_role")
def iam_create_role(
    original: Callable[..., Any], self: IAMBackend, *args: Any, **kwargs: Any
) -> Any:
    """Records when the role was created (for strict ``role-delay``)."""
    role = original(self, *args, **kwargs)
    role.iotstack_changed = time.monotonic()
    return role


@_wrap(IAMBackend, "update_assume_role_policy")
def iam_update_assume_role_policy(
    original: Callable[..., Any], self: IAMBackend, role_name: str, policy_document: str
) -> Any:
    """Records when the role's trust policy changed (for strict
    ``role-delay``)."""
    result = original(self, role_name, policy_document)
    self.get_role(role_name).iotstack_changed = time.monotonic()
    return result


def _assumable(account_id: str, region: str, role_arn: str, service: str) -> bool:
    """Whether ``service`` (e.g. lambda.amazonaws.com) can assume the role
    now: it exists, was created or had its trust policy changed at least
    IOTSTACK_EMULATOR_ROLE_DELAY seconds ago, and its trust policy allows the
    service sts:AssumeRole (conditions are not evaluated)."""
    try:
        role = iam_backends[account_id][get_partition(region)].get_role_by_arn(role_arn)
    except IAMNotFoundException:
        return False
    changed = getattr(role, "iotstack_changed", None)
    if changed is not None and time.monotonic() - changed < _settings["role_delay"]:
        return False
    try:
        trust = json.loads(unquote(role.assume_role_policy_document or "{}"))
    except ValueError:
        return False
    statements = trust.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        principals = (st.get("Principal") or {}) if isinstance(st, dict) else {}
        services = principals.get("Service", []) if isinstance(principals, dict) else []
        actions = st.get("Action", [])
        services = [services] if isinstance(services, str) else services
        actions = [actions] if isinstance(actions, str) else actions
        if (
            st.get("Effect") == "Allow"
            and service in services
            and any(fnmatch.fnmatchcase("sts:AssumeRole", a) for a in actions)
        ):
            return True
    return False


def _lambda_role_check(self: LambdaResponse) -> None:
    role = (self.json_body or {}).get("Role")
    if role and strict("role-delay") and not _assumable(
        self.current_account, self.region, role, "lambda.amazonaws.com"
    ):
        raise LambdaInvalidParameterValue(
            "The role defined for the function cannot be assumed by Lambda."
        )


@_wrap(LambdaResponse, "create_function")
def lambda_create_function(original: Callable[..., Any], self: LambdaResponse) -> Any:
    """Strict ``role-delay`` (AWS Lambda API Reference, CreateFunction /
    UpdateFunctionConfiguration, InvalidParameterValueException: "if you
    provided an IAM role for AWS Lambda to assume ... that AWS Lambda is
    unable to assume you will get this exception"; IAM User Guide,
    troubleshooting, "Changes that I make are not always immediately
    visible"): CreateFunction and UpdateFunctionConfiguration with a role
    created (or whose trust policy changed) less than
    IOTSTACK_EMULATOR_ROLE_DELAY seconds ago (default 2), or whose trust
    policy does not let lambda.amazonaws.com sts:AssumeRole, fail with
    InvalidParameterValueException "The role defined for the function cannot
    be assumed by Lambda." (moto 5.2.5 only checked that the role exists.)"""
    _lambda_role_check(self)
    return original(self)


@_wrap(LambdaResponse, "update_function_configuration")
def lambda_update_function_configuration(
    original: Callable[..., Any], self: LambdaResponse
) -> Any:
    """Strict ``role-delay``: as CreateFunction, when a Role is sent."""
    _lambda_role_check(self)
    return original(self)


def _role_arns(value: Any) -> list[str]:
    """Every ``roleArn`` in a topic rule payload (actions and errorAction)."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "roleArn" and isinstance(v, str)]
        for v in value.values():
            found.extend(_role_arns(v))
        return found
    if isinstance(value, list):
        return [arn for v in value for arn in _role_arns(v)]
    return []


def _iot_role_check(self: IoTResponse) -> None:
    if not strict("role-delay"):
        return
    backend = self.iot_backend
    payload = [self._get_param("actions"), self._get_param("errorAction")]
    for arn in _role_arns(payload):
        region, account = backend.region_name, backend.account_id
        if not _assumable(account, region, arn, "iot.amazonaws.com"):
            raise InvalidRequestException(
                f"iot.amazonaws.com is unable to assume role (sts:AssumeRole) on "
                f"resource: {arn}. If the role was just created or updated, please "
                "try again in a few seconds."
            )


@_wrap(IoTResponse, "create_topic_rule")
def iot_create_topic_rule_role(original: Callable[..., Any], self: IoTResponse) -> Any:
    """Strict ``role-delay`` (AWS IoT developer guide, "Granting an AWS IoT
    rule the access it requires": "AWS IoT assumes this role when
    implementing a rule"; IAM User Guide, "Changes that I make are not always
    immediately visible"): CreateTopicRule and ReplaceTopicRule whose payload
    names a role (``roleArn`` of any action or of errorAction) that does not
    exist, was created or had its trust policy changed less than
    IOTSTACK_EMULATOR_ROLE_DELAY seconds ago, or does not trust
    iot.amazonaws.com, fail with InvalidRequestException "iot.amazonaws.com is
    unable to assume role (sts:AssumeRole) on resource: <arn>. If the role was
    just created or updated, please try again in a few seconds." (AWS IoT
    probes the role on create and replace, even for a disabled rule; moto
    5.2.5 accepted any role.)"""
    _iot_role_check(self)
    return original(self)


@_wrap(IoTResponse, "replace_topic_rule")
def iot_replace_topic_rule_role(original: Callable[..., Any], self: IoTResponse) -> Any:
    """Strict ``role-delay``: as CreateTopicRule."""
    _iot_role_check(self)
    return original(self)


# --- L. cognito-idp password length -----------------------------------------

# AWS's longest password (Amazon Cognito user pools API reference,
# AdminSetUserPassword / SignUp, Password: "Maximum length of 256").
_PASSWORD_MAX = 256


# The special characters a password may use for RequireSymbols (Amazon Cognito
# developer guide, "Password policies").
_PASSWORD_SYMBOLS = set("^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ")


@_wrap(CognitoIdpBackend, "_validate_password")
def cognito_validate_password(
    original: Callable[..., Any], self: CognitoIdpBackend, user_pool_id: str, password: str
) -> None:
    """A password is checked as AWS checks it: at least the pool's
    MinimumLength, at most 256 characters, and the classes the policy
    requires (moto 5.2.5 refused 99 characters or more, a limit no pool can
    set)."""
    from moto.cognitoidp.exceptions import InvalidPasswordException

    policy = (
        self.describe_user_pool(user_pool_id)
        .extended_config.get("Policies", {})
        .get("PasswordPolicy", {})
    )
    ok = policy.get("MinimumLength", 8) <= len(password) <= _PASSWORD_MAX
    for key, present in (
        ("RequireUppercase", any(c.isupper() for c in password)),
        ("RequireLowercase", any(c.islower() for c in password)),
        ("RequireNumbers", any(c.isdigit() for c in password)),
        ("RequireSymbols", any(c in _PASSWORD_SYMBOLS for c in password)),
    ):
        ok = ok and (present or not policy.get(key, True))
    if not ok:
        raise InvalidPasswordException()


# --- strict: secret-scheduled (secretsmanager CreateSecret) ---------------------


@_wrap(SecretsManagerBackend, "create_secret")
def secrets_create_secret(
    original: Callable[..., Any], self: SecretsManagerBackend, name: str, *args: Any, **kwargs: Any
) -> Any:
    """Strict ``secret-scheduled``: CreateSecret of a name a secret scheduled
    for deletion still holds fails with InvalidRequestException ("A parameter
    value is not valid for the current state of the resource. Possible
    causes: The secret is scheduled for deletion.", Secrets Manager API
    Reference, CreateSecret, Errors); moto 5.2.5 answers
    ResourceExistsException."""
    held = self.secrets.get(name) if strict("secret-scheduled") else None
    if held is not None and held.is_deleted():
        raise SecretsInvalidRequest(
            "You can't create this secret because a secret with this name is "
            "already scheduled for deletion."
        )
    return original(self, name, *args, **kwargs)


# --- M. secretsmanager UpdateSecretVersionStage moves the current value --------


@_wrap(SecretsManagerBackend, "update_secret_version_stage")
def secrets_update_secret_version_stage(
    original: Callable[..., Any],
    self: SecretsManagerBackend,
    secret_id: str,
    version_stage: str,
    remove_from_version_id: str,
    move_to_version_id: str,
) -> Any:
    """GetSecretValue without a VersionId or VersionStage answers the version
    labelled AWSCURRENT ("If you don't specify either a VersionStage or
    VersionId, then Secrets Manager returns the AWSCURRENT version",
    GetSecretValue API reference), so
    moving that label moves what it answers (moto 5.2.5 kept answering the
    version that was current before)."""
    result = original(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    if version_stage == "AWSCURRENT" and move_to_version_id:
        self.secrets[secret_id].set_default_version_id(move_to_version_id)
    return result


# --- O. secretsmanager PutSecretValue is idempotent on its token -----------------


@_wrap(SecretsManagerBackend, "put_secret_value")
def secrets_put_secret_value(
    original: Callable[..., Any],
    self: SecretsManagerBackend,
    secret_id: str,
    secret_string: Any,
    secret_binary: Any,
    client_request_token: str,
    version_stages: list[str],
    *args: Any,
    **kwargs: Any,
) -> Any:
    """A request whose ClientRequestToken names a version with the same value
    is ignored ("the request is ignored. The operation is idempotent",
    PutSecretValue API reference, ClientRequestToken), and one with another
    value fails ("you can't modify a secret version"); moto 5.2.5 rewrote a
    version still labelled AWSPENDING with the request's value and labels."""
    secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
    versions = getattr(secret, "versions", None) or {}
    same = versions.get(client_request_token)
    if same is not None:
        if (same.get("secret_string"), same.get("secret_binary")) != (secret_string, secret_binary):
            # "the request fails because you can't modify a secret version"
            raise SecretsResourceExists(
                f"You can't use ClientRequestToken {client_request_token} because that value "
                f"is already in use for a version of secret {secret.arn}."
            )
        return secret.to_short_dict(include_version_stages=True, version_id=client_request_token)
    return original(
        self,
        secret_id,
        secret_string,
        secret_binary,
        client_request_token,
        version_stages,
        *args,
        **kwargs,
    )


# --- P. the emulator's own time ------------------------------------------------
#
# Not AWS behaviour: two costs of moto 5.2.5's server that every request or every user pool
# pays, measured with a sampling profiler during `scripts/bench` (moto answers one request at
# a time, so its CPU is time every caller waits for).

_MOTO_MODULES = tuple(moto_backends.list_of_moto_modules())


def _list_of_moto_modules() -> tuple[str, ...]:
    """moto's service folders, listed once. moto's dispatcher asks for them on every request
    (``host in backends.list_of_moto_modules()``), which listed moto's ~250 folders and
    stat-ed each one, under the dispatcher's global lock: about a fifth of moto's CPU in a
    benchmark run. The installed moto does not change while the server runs."""
    return _MOTO_MODULES


moto_backends.list_of_moto_modules = _list_of_moto_modules
PATCHED.append("backends.list_of_moto_modules")


class _PoolSigningKey(cognito_idp_models.jwk.RSAKey):
    """moto's user pool signing key, imported once. Every CognitoIdpUserPool imports the same
    ``cognitoidp/resources/jwks-private.json`` (one key for every pool, as moto always did);
    the file has no primes, so each import recovers them (about 0.1 s of CPU per
    CreateUserPool). The imported key is kept, per file content, and shared."""

    _keys: dict[str, Any] = {}
    _lock = threading.Lock()

    @classmethod
    def import_key(cls, value: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if args or kwargs or not isinstance(value, dict):
            return super().import_key(value, *args, **kwargs)
        content = json.dumps(value, sort_keys=True)
        with cls._lock:
            key = cls._keys.get(content)
            if key is None:
                key = cls._keys[content] = super().import_key(value)
            return key


class _PoolJwk:
    """``joserfc.jwk`` as moto's cognitoidp module sees it, with the key import above."""

    RSAKey = _PoolSigningKey

    def __getattr__(self, name: str) -> Any:
        return getattr(_JWK, name)


_JWK = cognito_idp_models.jwk
cognito_idp_models.jwk = _PoolJwk()
PATCHED.append("CognitoIdpUserPool.json_web_key")


# An error answer looked its service's name up by building a botocore session and listing
# every service botocore knows (reading its data folders), and built the service's table of
# error codes again: a tenth of moto's CPU in a benchmark run, where a cold apply's reads of
# what does not exist yet answer 404. Both depend only on the installed packages.
moto_core_utils.service_name_from_moto_package_name = functools.cache(
    moto_core_utils.service_name_from_moto_package_name
)
PATCHED.append("utils.service_name_from_moto_package_name")


class _SharedErrorLookups(moto_core_errors.ErrorLookupFactory):
    """moto's ErrorLookupFactory, its tables kept for every error answer (moto made a new
    factory, and so new tables, for each)."""

    _shared: dict[str, Any] = {}

    def __init__(self) -> None:
        self._error_lut_cache = _SharedErrorLookups._shared


moto_core_errors.ErrorLookupFactory = _SharedErrorLookups  # type: ignore[misc]
PATCHED.append("errors.ErrorLookupFactory")

_METHOD_NAMES: dict[type, frozenset[str]] = {}


def _method_names_from_class(clazz: type) -> frozenset[str]:
    """The methods of a response class, listed once per class (moto ran inspect.getmembers
    on the class for every request). Every patch is applied before the first request."""
    names = _METHOD_NAMES.get(clazz)
    if names is None:
        names = _METHOD_NAMES[clazz] = frozenset(moto_core_utils.method_names_from_class(clazz))
    return names


moto_core_responses.method_names_from_class = _method_names_from_class
PATCHED.append("responses.method_names_from_class")


# --- K. lost answers (on demand) ----------------------------------------------

def _seed_certificates(count: int, prefix: str) -> list[str]:
    """``count`` distinct self-signed certificates (PEM), of one EC key: cheap to make."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = utcnow()
    pems = []
    for i in range(count):
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, f"{prefix}-{i}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
        pems.append(cert.public_bytes(serialization.Encoding.PEM).decode())
    return pems


@_moto_api("seed")
def seed(request: Any) -> tuple[int, Any]:
    """POST /moto-api/iotstack/seed {"account", "region", "prefix",
    "user_pools", "identity_pools", "certificates"}: other resources put
    straight into the backends, for tests of what a crowded account costs
    (patch N). Answers how many of each there now are."""
    try:
        body = json.loads(request.get_data() or b"{}")
        account, region = str(body["account"]), str(body["region"])
        prefix = str(body.get("prefix", "other"))
        counts = {k: int(body.get(k, 0)) for k in ("user_pools", "identity_pools", "certificates")}
    except (KeyError, TypeError, ValueError):
        return 400, {"message": 'expected {"account", "region", "user_pools": N, ...}'}
    idp = cognitoidp_backends[account][region]
    # Each pool imports moto's one signing key again (a tenth of a second): imported once here.
    signing = cognito_idp_models.jwk.RSAKey
    original = signing.import_key
    imported: dict[str, Any] = {}

    def import_once(data: Any, *args: Any, **kwargs: Any) -> Any:
        key = json.dumps(data, sort_keys=True, default=str) + repr((args, kwargs))
        if key not in imported:
            imported[key] = original(data, *args, **kwargs)
        return imported[key]

    signing.import_key = import_once  # type: ignore[method-assign]
    try:
        for i in range(counts["user_pools"]):
            idp.create_user_pool(f"{prefix}-{i}-user-pool", {})
    finally:
        signing.import_key = original  # type: ignore[method-assign]
    identity = cognitoidentity_backends[account][region]
    for i in range(counts["identity_pools"]):
        identity.create_identity_pool(
            f"{prefix}_{i}_identity_pool", False, {}, "", [], [], [], {}
        )
    iot = iot_backends[account][region]
    for pem in _seed_certificates(counts["certificates"], prefix):
        cert = FakeCertificate(pem, "ACTIVE", account, region)
        iot.certificates[cert.certificate_id] = cert
    return 200, {
        "user_pools": len(idp.user_pools),
        "identity_pools": len(identity.identity_pools),
        "certificates": len(iot.certificates),
    }


# action name -> how many more of its requests lose their answer.
_lost_answers: dict[str, int] = {}
_lost_lock = threading.Lock()


@_moto_api("lose-answer")
def lose_answer(request: Any) -> tuple[int, Any]:
    """POST /moto-api/iotstack/lose-answer {"action": "CreateUserPool",
    "count": 1}: the next ``count`` requests of that action (any service) are
    carried out, then answered with HTTP 500 InternalFailure, as when AWS did
    the work but the answer never arrived; an SDK retries them, and creates
    that AWS does not make idempotent duplicate. GET lists what is armed;
    POST with count 0 disarms."""
    if request.method == "POST":
        try:
            body = json.loads(request.get_data() or b"{}")
            action, count = str(body["action"]), int(body.get("count", 1))
        except (KeyError, TypeError, ValueError):
            return 400, {"message": 'expected {"action": "<Action>", "count": N}'}
        with _lost_lock:
            if count > 0:
                _lost_answers[action] = count
            else:
                _lost_answers.pop(action, None)
    with _lost_lock:
        return 200, {"armed": dict(_lost_answers)}


@_wrap(BaseResponse, "call_action")
def lose_armed_answers(original: Callable[..., Any], self: BaseResponse) -> Any:
    """Loses the answer of requests armed with /moto-api/iotstack/lose-answer
    (only a failed request passes its answer on)."""
    if not _lost_answers:
        return original(self)
    action = self._get_action()
    with _lost_lock:
        armed = _lost_answers.get(action, 0)
    if not armed:
        return original(self)
    result = original(self)
    if not (200 <= int(result[0]) < 300):
        return result
    with _lost_lock:
        left = _lost_answers.get(action, 0) - 1
        if left > 0:
            _lost_answers[action] = left
        else:
            _lost_answers.pop(action, None)
    message = f"The answer to {action} was lost (it was carried out)."
    content_type = self.headers.get("Content-Type") or ""
    err: HTTPException
    if content_type.startswith("application/x-www-form-urlencoded"):
        err = XmlRESTError("InternalFailure", message)
    else:
        err = JsonRESTError("InternalFailure", message)
    err.code = 500
    return _error_response(self, err)


@_wrap(MotoAPIBackend, "reset")
def moto_api_reset(original: Callable[..., None], self: MotoAPIBackend) -> None:
    """POST /moto-api/reset also forgets the guest credentials handed out
    (strict guest-scope) and the armed lost answers (J)."""
    original(self)
    with _guest_lock:
        _guest_keys.clear()
    with _lost_lock:
        _lost_answers.clear()


# --- server ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument(
        "--strict",
        nargs="?",
        const="all",
        metavar="SPEC",
        help="strict mode (default: IOTSTACK_EMULATOR_STRICT); SPEC as there, "
        "'all' without one",
    )
    args = parser.parse_args(argv)
    spec = args.strict if args.strict is not None else os.environ.get(
        "IOTSTACK_EMULATOR_STRICT", ""
    )
    try:
        configure_strict(spec)
    except ValueError as err:
        parser.error(str(err))

    if os.environ.get("IOTSTACK_EMULATOR_ACCESS_LOG") != "1":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    mode = "strict: " + ", ".join(sorted(_strict)) if _strict else "not strict"
    print(
        f"iotstack emulator: moto {moto.__version__} with {len(PATCHED)} patches "
        f"({mode}) on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )

    from moto.server import main as moto_server_main

    moto_server_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
