"""CSRF protection for the forms: a signed, expiring token bound to what the form changes.

The token (purpose "csrf", 24 h) names its scope, e.g. ``preferences:42``: a token from one
subscriber's page cannot post another's form, and a forged cross-site form has no token at
all. It needs no cookie, so it also works in mail clients' built-in browsers.
"""

from __future__ import annotations

import datetime as dt

from newsletter.errors import TokenError
from newsletter.tokens import Signer

FIELD = "csrf"


def issue(signer: Signer, scope: str, now: dt.datetime) -> str:
    """A CSRF token for a form that changes ``scope`` (e.g. ``preferences:42``), valid 24 h."""
    return signer.sign("csrf", None, scope.encode("utf-8"), now=now.timestamp())


def valid(signer: Signer, scope: str, token: object, now: dt.datetime) -> bool:
    """Whether ``token`` (the posted field, any type) is a current token for ``scope``;
    never raises."""
    if not isinstance(token, str) or not token:
        return False
    try:
        verified = signer.verify("csrf", token, lambda _: None, now=now.timestamp())
    except TokenError:
        return False
    return verified.data == scope.encode("utf-8")
