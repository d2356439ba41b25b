"""Cognito User Pool pre-sign-up trigger (handler: ``presignup.handler``).

A self-service sign-up is auto-confirmed (and its email marked verified) only
when the ``email`` attribute is a plausible address whose domain is on the
allow-list in the ``ALLOWED_DOMAINS`` environment variable.

Environment:
    ALLOWED_DOMAINS  comma-separated domains, e.g. ``example.com, corp.example``.
                     Matching is exact and case-insensitive: ``example.com``
                     does NOT allow ``sub.example.com``. A single trailing dot
                     is ignored on both sides. Empty or unset means no sign-up
                     is auto-confirmed.

Any other sign-up is left unconfirmed (``autoConfirmUser``/``autoVerifyEmail``
set to ``False``) and the event is returned as-is. The trigger never raises
for a bad email: an exception here would block the sign-up with an opaque
error instead of simply leaving it unconfirmed.

Users created by an administrator (``PreSignUp_AdminCreateUser``) pass through
untouched.

One log line is written per invocation. It contains the trigger source, the
email domain and the decision, never the local part of the address.
"""

import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ADMIN_CREATE_TRIGGER = "PreSignUp_AdminCreateUser"

# Longest domain (RFC 1035) we bother to echo into the log line.
_MAX_LOGGED_DOMAIN = 253


def _normalise_domain(domain):
    domain = domain.strip().lower()
    if domain.endswith("."):
        domain = domain[:-1]
    return domain


def allowed_domains(raw=None):
    """Parse the allow-list (from ``raw`` or the ``ALLOWED_DOMAINS`` env var)."""
    if raw is None:
        raw = os.environ.get("ALLOWED_DOMAINS", "")
    domains = set()
    for item in raw.split(","):
        item = _normalise_domain(item)
        if item:
            domains.add(item)
    return frozenset(domains)


def evaluate_email(email, domains):
    """Return ``(confirm, domain, reason)`` for an email address.

    ``domain`` is the normalised domain part when one could be identified
    (for logging only); it is ``None`` when the address has no ``@``.
    """
    if not isinstance(email, str) or not email:
        return False, None, "missing-email"
    if email.count("@") != 1:
        if "@" not in email:
            return False, None, "no-at-sign"
        # Log only what follows the last "@": nothing before it is logged.
        return False, _normalise_domain(email.rsplit("@", 1)[1]), "multiple-at-signs"
    local, _, domain = email.partition("@")
    domain = _normalise_domain(domain)
    if not local.strip():
        return False, domain or None, "empty-local-part"
    if not domain:
        return False, None, "empty-domain"
    if not domains:
        return False, domain, "allow-list-empty"
    if domain not in domains:
        return False, domain, "domain-not-allowed"
    return True, domain, "domain-allowed"


def _log(trigger, domain, decision, reason):
    if isinstance(domain, str) and len(domain) > _MAX_LOGGED_DOMAIN:
        domain = domain[:_MAX_LOGGED_DOMAIN] + "..."
    logger.info(
        json.dumps(
            {
                "trigger": trigger,
                "domain": domain,
                "decision": decision,
                "reason": reason,
            },
            sort_keys=True,
        )
    )


def handler(event, context):
    trigger = event.get("triggerSource") if isinstance(event, dict) else None

    if trigger == ADMIN_CREATE_TRIGGER:
        _log(trigger, None, "passthrough", "admin-create-user")
        return event

    try:
        request = event.get("request") or {}
        attributes = request.get("userAttributes") or {}
        email = attributes.get("email")
        confirm, domain, reason = evaluate_email(email, allowed_domains())
    except Exception as exc:  # never block a sign-up because of a malformed event
        confirm, domain, reason = False, None, "malformed-event:" + type(exc).__name__

    if isinstance(event, dict):
        response = event.get("response")
        if not isinstance(response, dict):
            response = {}
            event["response"] = response
        response["autoConfirmUser"] = bool(confirm)
        response["autoVerifyEmail"] = bool(confirm)

    _log(trigger, domain, "auto-confirm" if confirm else "unconfirmed", reason)
    return event
