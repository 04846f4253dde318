"""Verifying the service's pushes and join callbacks (Standard Webhooks) in a receiver, e.g. a serverless function.

The service signs ``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256 under the queue's ``whsec_...``
secret; the ``standardwebhooks`` package verifies the same headers, so either works.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Iterable, Mapping, Union

__all__ = ["verify_webhook", "WebhookVerificationError"]


class WebhookVerificationError(Exception):
    """The request is not a valid, recent message signed with the given secret."""


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:  # plain dicts are case-sensitive; HTTP headers are not
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    if not value:
        raise WebhookVerificationError(f"missing {name} header")
    return value


def verify_webhook(
    secret: Union[str, Iterable[str]],
    headers: Mapping[str, str],
    body: Union[str, bytes],
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> Any:
    """Checks the signature and timestamp of a request and returns its parsed JSON body.

    ``secret`` may be a list, for a receiver switching secrets during a rotation; ``body`` must be the raw body.
    Raises WebhookVerificationError.
    """
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not timestamp.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not a number of seconds")
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise WebhookVerificationError(f"webhook-timestamp is more than {tolerance:g} s from now")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    signed = f"{msg_id}.{timestamp}.{text}".encode("utf-8")
    given = [s[3:] for s in signatures.split(" ") if s.startswith("v1,")]
    for s in [secret] if isinstance(secret, str) else list(secret):
        key = base64.b64decode(s[len("whsec_"):] if s.startswith("whsec_") else s)
        expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")
        if any(hmac.compare_digest(expected, g) for g in given):
            return json.loads(text)
    raise WebhookVerificationError("no signature matches this secret")
