"""Email addresses: the one place that says what a valid address is, and its normal form.

Validation is ``email-validator``'s (RFC 5321/5322 syntax, IDNA 2008 domains), with no DNS
lookup (``check_deliverability=False``): the send shows whether mail is accepted. Rules:

- a plain ``local@domain`` only: no display name, comments or quoted local part;
- the local part is ASCII and at most 64 octets (RFC 5321 §4.5.3.1.1), the whole address
  at most 254 (RFC 5321 §4.5.3.1.3 less the angle brackets);
- the domain must have a dot and may be an internationalised (IDN) name: it is kept in its
  ASCII (punycode) form, lower-cased, so ``u@Bücher.example`` is ``u@xn--bcher-kva.example``;
- ``.test`` domains (RFC 2606) are accepted for tests and demos; other special-use names
  (``localhost``, ``.local``, ``.invalid``) are not.

The local part keeps its case: RFC 5321 §2.4 leaves it to the receiving host.

Speed: two thirds of ``validate_email``'s time goes to the domain (UTS-46 mapping, IDNA
encoding), and a list has few domains for many readers. ``_cache_domain_check`` memoises
email-validator's own domain step, a pure function of the domain text and two flags, so
every address still passes through the library's one ``validate_email`` and gets the same
answer, error messages included (tests/test_addresses.py compares both over valid, IDN
and invalid addresses). A domain that fails raises, which is not cached. Measured in
``bench/import_speed.py`` (see the README).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from email.utils import parseaddr
from typing import Any

from email_validator import EmailNotValidError, validate_email

from newsletter.errors import InputError

MAX_LOCAL_OCTETS = 64
MAX_ADDRESS_OCTETS = 254
DOMAINS_REMEMBERED = 16_384  # distinct domains kept; a big list has a few thousand

# Where validate_email looks the domain step up, by name, at each call.
_LIBRARY = importlib.import_module("email_validator.validate_email")
_DOMAIN_STEP = "validate_email_domain_name"


def _cache_domain_check() -> Callable[..., Any] | None:
    """Put a memoised copy of email-validator's domain step where ``validate_email`` calls
    it, once per process; return the cached function (``cache_info()``), or None when
    this version of the library has no such step (then nothing changes, only speed)."""
    step = getattr(_LIBRARY, _DOMAIN_STEP, None)
    if step is None:
        return None
    if hasattr(step, "cached"):  # already installed (a reload of this module)
        return step.cached  # type: ignore[no-any-return]
    cached = functools.lru_cache(maxsize=DOMAINS_REMEMBERED)(step)

    @functools.wraps(step)
    def check(domain: str, *args: Any, **kwargs: Any) -> Any:
        # Whatever arguments this version of the library passes (a new one must not
        # break validation); a copy, so the caller gets a dict of its own, as from the library.
        try:
            return dict(cached(domain, *args, **kwargs))
        except TypeError as exc:  # an argument that cannot be a cache key
            if "unhashable" not in str(exc):
                raise
            return step(domain, *args, **kwargs)

    check.cached = cached  # type: ignore[attr-defined]
    setattr(_LIBRARY, _DOMAIN_STEP, check)
    return cached


domain_checks = _cache_domain_check()


def normalize(address: str) -> str:
    """``address`` (surrounding white space ignored) in its normal form, ``local@domain``.

    Raises ``ValueError`` with a one-line reason when it is not a plain, valid address."""
    value = address.strip()
    if any(c in value for c in "\r\n"):
        raise ValueError("a line break in an address")
    try:
        checked = validate_email(
            value, check_deliverability=False, allow_smtputf8=False, test_environment=True
        )
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
    normal = checked.ascii_email or checked.normalized
    local = normal.rpartition("@")[0]
    if len(local.encode("ascii")) > MAX_LOCAL_OCTETS:
        raise ValueError(f"the part before the @-sign is over {MAX_LOCAL_OCTETS} characters")
    if len(normal.encode("ascii")) > MAX_ADDRESS_OCTETS:
        raise ValueError(f"the address is over {MAX_ADDRESS_OCTETS} characters")
    return normal


def normalize_email(address: str, field: str = "email") -> str:
    """``normalize``, for input from a person: raises ``InputError`` naming ``field``."""
    try:
        return normalize(address)
    except ValueError as exc:
        reason = f"not a valid email address: {address[:80]!r} ({exc})"
        raise InputError(field, address, reason) from None


def from_header(header: str) -> str | None:
    """The normal form of the address in a ``From``/``To`` header value such as
    ``"Ann <ann@example.org>"``; None when it holds no valid address."""
    _, address = parseaddr(header)
    if not address:
        return None
    try:
        return normalize(address)
    except ValueError:
        return None
