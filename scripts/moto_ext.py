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
     tags given to CreatePolicy (``tags``) and CreateTopicRule (the
     ``x-amz-tagging`` header) are recorded (moto ignored them). Tags go when
     the policy or rule is deleted; ReplaceTopicRule keeps them. Only policy
     and rule ARNs are checked to exist; other iot ARNs are taken as given.
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
   did not match its certificate). It is signed by a per-process CA.
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

Other moto 5.2.5 differences from AWS seen for the calls iotstack makes (not
patched; tests must not rely on AWS's behaviour there):

- iot DescribeEndpoint without endpointType answers the iot:Data-ATS address
  (AWS: the legacy iot:Data one).
- iot GetTopicRule returns ``errorAction: {}`` when none is set, and
  ReplaceTopicRule resets ``createdAt`` (moto deletes and re-creates the rule).
- iot certificates from CreateCertificateFromCsr keep the CSR's subject and
  are issued by "CN=Moto"; AWS uses its own subject and issuer.
- sns Subscribe with the email protocol is confirmed at once: it always
  returns the subscription ARN (AWS: "pending confirmation" unless
  ReturnSubscriptionArn is true), ListSubscriptionsByTopic shows the ARN and
  GetTopicAttributes counts 0 pending and 0 confirmed subscriptions.
- sns CreateTopic for an existing name with different tags succeeds and keeps
  the old tags (AWS: InvalidParameter, topic already exists with different
  tags).
- secretsmanager CreateSecret for a name scheduled for deletion raises
  ResourceExistsException (AWS: InvalidRequestException).
- cognito-identity GetId does not check that the Logins providers are
  configured on the pool, nor the tokens; GetCredentialsForIdentity does not
  check Logins, and returns fixed fake keys valid for 90 seconds.
- cognito-identity SetIdentityPoolRoles does not validate role ARNs or the
  Roles keys.
- cognito-idp UpdateUserPool resets every omitted setting to moto's default
  (as AWS documents), including AutoVerifiedAttributes.

State lives in memory only; ``POST /moto-api/reset`` clears all of it,
including what these patches keep.

Environment:
  IOTSTACK_EMULATOR_ACCESS_LOG=1   log every request (werkzeug access log).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import logging
import os
import sys
import threading
import time
from datetime import timedelta
from typing import Any, Callable
from urllib.parse import parse_qsl

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
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from moto.awslambda.exceptions import LambdaClientError  # noqa: E402
from moto.awslambda.policy import Policy as LambdaPolicy  # noqa: E402
from moto.cognitoidentity.exceptions import (  # noqa: E402
    ResourceNotFoundError as IdentityNotFound,
)
from moto.cognitoidentity.models import (  # noqa: E402
    CognitoIdentityBackend,
    cognitoidentity_backends,
)
from moto.cognitoidentity.responses import CognitoIdentityResponse  # noqa: E402
from moto.cognitoidp.exceptions import (  # noqa: E402
    ResourceNotFoundError as UserPoolNotFound,
)
from moto.cognitoidp.models import CognitoIdpUserPool  # noqa: E402
from moto.cognitoidp.responses import CognitoIdpResponse  # noqa: E402
from moto.core.exceptions import JsonRESTError  # noqa: E402
from moto.core.responses import ActionResult, EmptyResult  # noqa: E402
from moto.core.utils import utcnow  # noqa: E402
from moto.iot.exceptions import (  # noqa: E402
    InvalidRequestException,
    ResourceAlreadyExistsException as IotAlreadyExists,
    ResourceNotFoundException as IotNotFound,
    VersionConflictException,
)
from moto.iot.models import IoTBackend  # noqa: E402
from moto.iot.responses import IoTResponse  # noqa: E402
from moto.moto_api._internal import mock_random  # noqa: E402

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
    for pool_id, listing in backend.pools_identities.items():
        for entry in listing["Identities"]:
            if entry["IdentityId"] == identity_id:
                pool = _identity_pool(backend, pool_id)
                kind = "authenticated" if entry.get("Logins") else "unauthenticated"
                if not getattr(pool, "iotstack_roles", {}).get(kind):
                    raise JsonRESTError(
                        "InvalidIdentityPoolConfigurationException",
                        "Invalid identity pool configuration. "
                        "Check assigned IAM roles for this pool.",
                    )
                return original(self)
    raise IdentityNotFound(f"Identity '{identity_id}' not found.")


# --- E. iot CreateCertificateFromCsr -----------------------------------------

_ca: dict[str, Any] = {}
_ca_lock = threading.Lock()


def _ca_key() -> rsa.RSAPrivateKey:
    with _ca_lock:
        if "key" not in _ca:
            _ca["key"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return _ca["key"]


@_wrap(IoTBackend, "create_certificate_from_csr")
def iot_create_certificate_from_csr(
    original: Callable[..., Any], self: IoTBackend, csr: str, set_as_active: bool
) -> Any:
    """CreateCertificateFromCsr: the certificate certifies the CSR's public
    key, so it pairs with the private key that signed the CSR, as in AWS
    (moto 5.2.5 certified a new random key). Issuer as in moto (CN=Moto)."""
    request = x509.load_pem_x509_csr(csr.encode("utf-8"))
    issuer = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Moto"),
            x509.NameAttribute(x509.NameOID.ORGANIZATIONAL_UNIT_NAME, "Server CA 1B"),
            x509.NameAttribute(x509.NameOID.COMMON_NAME, "Moto"),
        ]
    )
    now = utcnow()
    cert = (
        x509.CertificateBuilder()
        .subject_name(request.subject)
        .issuer_name(issuer)
        .public_key(request.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
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

_IDENTITY_ID = __import__("re").compile(
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


# --- server ------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)

    if os.environ.get("IOTSTACK_EMULATOR_ACCESS_LOG") != "1":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(
        f"iotstack emulator: moto {moto.__version__} with {len(PATCHED)} patches "
        f"on http://{args.host}:{args.port}",
        file=sys.stderr,
        flush=True,
    )

    from moto.server import main as moto_server_main

    moto_server_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
