"""The reason by the rules of the mailbox provider whose server refused: Google, Microsoft,
Yahoo, Orange / La Poste (sisimai's ``Sisimai::Rhost``, v5.1.0p3). Pure; data in
``rhost_table``.

sisimai asks these rules first when the reason is not yet known or is one it checks again
(lib/Sisimai/Fact.pm, REASON): ``Rhost->find || Reason->get``. The provider is found by the
remote host (``Remote-MTA``, or the host the notice names: Postfix's "host X said", Sendmail's
"while talking to X", Exim's "host X [address]") or by the recipient's domain appearing in
one of the provider's host names (``outlook.com`` in ``.prod.outlook.com``).
"""

from __future__ import annotations

import re

from newsletter.deliver.reasons import status_reason
from newsletter.inbox.classify.rhost_table import (
    FRANCE_PTT_CODES,
    FRANCE_PTT_MESSAGES,
    GOOGLE,
    MICROSOFT,
    PROVIDERS,
    YAHOO_INC,
)

_NAMED_HOST = re.compile(
    r"\bhost\s+\[?([a-z0-9][a-z0-9.-]+\.[a-z]{2,})\]?\s*(?:\[[^\]]*\]\s*)?said:"
    r"|while\s+talking\s+to\s+([a-z0-9][a-z0-9.-]+\.[a-z]{2,})\.?:"
    r"|^\s*host\s+([a-z0-9][a-z0-9.-]+\.[a-z]{2,})\s+\[",
    re.IGNORECASE | re.MULTILINE,
)
_FRANCE_PTT_CODE = re.compile(r"\b(LPN|LPNAAA|OFR|OUK)(_[0-9]{3}|[0-9]{3}[-_][0-9]{3})\b", re.I)


def named_host(text: str) -> str:
    """The remote host a notice's text names ('' when none), lower case."""
    found = _NAMED_HOST.search(text)
    return next((g for g in found.groups() if g), "").lower() if found else ""


def provider(remote_host: str, recipient: str) -> str:
    """The provider (``PROVIDERS`` key) of the remote host or the recipient's domain, or ''.
    The domain is one of the provider's host names or ends one after a dot (``outlook.com``
    in ``.prod.outlook.com``; never ``mail.com`` in ``.ymail.com``)."""
    host = remote_host.lower()
    domain = recipient.rpartition("@")[2].lower().strip(".")
    for name, hosts in PROVIDERS.items():
        if host and any(h in host for h in hosts):
            return name
        if domain and any(f".{h.lstrip('.')}".endswith(f".{domain}") for h in hosts):
            return name
    return ""


def rhost_reason(remote_host: str, recipient: str, status: str, reply: str, diagnostic: str) -> str:
    """The reason by the provider's own rules ('' when they say none)."""
    if not diagnostic:
        return ""
    name = provider(remote_host, recipient)
    text = diagnostic.lower()
    if name == "google":
        return _google(status, reply, text)
    if name == "microsoft":
        return _microsoft(status, text)
    if name == "yahooinc":
        return next((r for r, phrases in YAHOO_INC.items() if any(p in text for p in phrases)), "")
    if name == "franceptt":
        return _france_ptt(diagnostic, text)
    return ""


def _valid_status(status: str) -> bool:
    return bool(status_reason(status)) or bool(re.fullmatch(r"[245]\.[0-7]\.\d{1,3}", status))


def _google(status: str, reply: str, text: str) -> str:
    if not (reply[:1] in "245" and len(reply) == 3 and _valid_status(status)):
        return ""
    reply_tail, status_tail = reply[1:3], status[2:]
    for reason, rules in GOOGLE.items():
        for code, enhanced, phrase in rules:
            if phrase in text and code.find(reply_tail) > 0 and enhanced.find(status_tail) > 1:
                return reason
    return ""


def _microsoft(status: str, text: str) -> str:
    if not _valid_status(status):
        return ""
    last = int(status.rsplit(".", 1)[1])
    for reason, rules in MICROSOFT.items():
        for code, lowest, highest, phrase in rules:
            if lowest == highest:
                if status != code:
                    continue
            elif code not in status or not lowest <= last <= highest:
                continue
            if phrase in text:
                return reason
    return ""


def _france_ptt(diagnostic: str, text: str) -> str:
    found = _FRANCE_PTT_CODE.search(diagnostic)
    if found:
        number = (found.group(1) + found.group(2))[-3:]
        return FRANCE_PTT_CODES.get(number, "") or "undefined"
    return next(
        (r for r, phrases in FRANCE_PTT_MESSAGES.items() if any(p in text for p in phrases)), ""
    )
