"""More mail servers' notices in their own words: Courier, qmail, HCL Domino, Lotus Notes,
GMX and Zoho, read as sisimai reads them (lib/Sisimai/Lhost/Courier.pm, qmail.pm,
Domino.pm, Notes.pm, GMX.pm, Zoho.pm, v5.1.0p3, BSD 2-Clause). Pure.

Each reader is chosen by the signs sisimai uses (a From, Subject, Message-ID, Received or
header of that server) and gives what the notice says of the failure before the general
rules run (``lhosts.Hints``): a reason from the server's own messages, and for qmail the SMTP
command from its sentences ("... does not like recipient." is a refusal at RCPT). The text
read is the notice's own, up to where the server starts the returned message. Who failed is
read by the generic rules (``notice.notice_recipients``): these servers all name the address
on a line of its own, or with the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from email.message import Message

from newsletter.inbox.classify import headers
from newsletter.inbox.classify.lhosts import Hints

Table = tuple[tuple[str, tuple[str, ...]], ...]

_COURIER: Table = (
    ("hostunknown", ("No such domain.",)),
    ("systemerror", ("This domain's DNS violates RFC 1035.",)),
    ("networkerror", ("DNS lookup failed.",)),
)
_QMAIL_COMMANDS: Table = (
    ("CONN", (" but greeting failed.",)),
    ("EHLO", (" but my name was rejected.",)),
    ("MAIL", (" but sender was rejected.",)),
    ("RCPT", (" does not like recipient.",)),
    ("DATA", (" failed on DATA command", " failed after I sent the message")),
)
_QMAIL: Table = (
    ("userunknown", ("no mailbox here by that name", "does not like recipient.")),
    ("mailboxfull", ("disk quota exceeded",)),
    ("mesgtoobig", ("Message size exceeds fixed maximum message size:",)),
    ("hostunknown", ("Sorry, I couldn't find any host ",)),
    ("systemfull", (
        "Requested action not taken: mailbox unavailable (not enough free space)",
    )),
    ("systemerror", ("bad interpreter: No such file or directory", "system error", "Unable to")),
    ("notaccept", ("Sorry, I couldn't find a mail exchanger or IP address",)),
    ("networkerror", (
        "Sorry, I wasn't able to establish an SMTP connection",
        "Sorry. Although I'm listed as a best-preference MX or A for that host",
    )),
)  # fmt: skip
_QMAIL_LDAP: Table = (
    ("suspend", ("Mailaddress is administratively disabled", "Mailaddress is administrativley disabled")),
    ("userunknown", ("Sorry, no mailbox here by that name",)),
    ("exceedlimit", ("The message exeeded the maximum size the user accepts",)),
    ("systemerror", (
        "Automatic homedir creator crashed", "Illegal value in LDAP attribute",
        "LDAP attribute is not given but mandatory", "Timeout while performing search on LDAP server",
        "Too many results returned but needs to be unique",
        "Permanent error while executing qmail-forward",
        "Temporary error in automatic homedir creation",
        "Temporary error while executing qmail-forward", "Temporary failure in LDAP lookup",
        "Unable to contact LDAP server", "Unable to login into LDAP server, bad credentials",
    )),
)  # fmt: skip
_QMAIL_ONHOLD = (" does not like recipient.", "this message has been in the queue too long.")
_QMAIL_EXPIRED = "this message has been in the queue too long."
_DOMINO: Table = (
    ("userunknown", (
        "not listed in Domino Directory", "not listed in public Name & Address Book",
        "no se encuentra en el Directorio de Domino", "non répertorié dans l'annuaire Domino",
        "Domino ディレクトリには見つかりません",
    )),
    ("filtered", ("Cannot route mail to user",)),
    ("systemerror", ("Several matches found in Domino Directory",)),
)  # fmt: skip
_NOTES: Table = (
    ("userunknown", ("User not listed in public Name & Address Book", "ディレクトリのリストにありません")),
    ("networkerror", ("Message has exceeded maximum hop count",)),
)  # fmt: skip
_GMX: Table = (("expired", ("delivery retry timeout exceeded",)),)
_ZOHO: Table = (("expired", ("Host not reachable",)),)


def hints(message: Message, body: str) -> Hints | None:
    """What one of these servers' notices says (None when ``message`` is none of theirs).
    ``body``: the notice's human-readable text."""
    for test, read in _READERS:
        if test(message):
            return read(body)
    return None


def _own_text(body: str, *returned_starts: str) -> str:
    cut = len(body)
    for start in returned_starts:
        at = body.find(start)
        cut = min(cut, at) if at >= 0 else cut
    return body[:cut]


def _said(table: Table, text: str) -> str:
    return next((reason for reason, phrases in table if any(p in text for p in phrases)), "")


def is_courier(message: Message) -> bool:
    """Courier.pm: its From, its subjects, or a ``<courier.`` Message-ID."""
    subject = headers.first(message, "Subject")
    return (
        "Courier mail server at " in headers.first(message, "From")
        or "NOTICE: mail delivery status." in subject
        or "WARNING: delayed mail." in subject
        or headers.first(message, "Message-ID").strip().startswith("<courier.")
    )


def _courier(body: str) -> Hints:
    return Hints(reason=_said(_COURIER, body))


def is_qmail(message: Message) -> bool:
    """qmail.pm: Subject "failure notice", or a Received line of qmail's own."""
    if headers.first(message, "Subject").strip() == "failure notice":
        return True
    return any(
        "(qmail " in value and ("invoked for bounce)" in value or "invoked from network)" in value)
        for value in (" ".join(v.split()) for v in headers.values(message, "Received"))
    )


def _qmail(body: str) -> Hints:
    text = " ".join(_own_text(body, "--- Below this line is a copy of the message.").split())
    command = _said(_QMAIL_COMMANDS, text)
    if command in ("EHLO", "HELO"):
        return Hints(reason="blocked", command=command)
    if all(p in text for p in _QMAIL_ONHOLD):
        return Hints(reason="onhold", command=command)
    remote = text.partition("Remote host said:")[2]
    reason = (_said(_QMAIL, remote) if remote else "") or _said(_QMAIL, text)
    reason = reason or _said(_QMAIL_LDAP, text)
    reason = reason or ("expired" if _QMAIL_EXPIRED in text else "")
    return Hints(reason=reason, command=command)


def is_domino(message: Message) -> bool:
    """Domino.pm: a Subject that starts "DELIVERY FAILURE:" (or with an underscore)."""
    return (
        headers.first(message, "Subject")
        .lstrip()
        .startswith(("DELIVERY FAILURE:", "DELIVERY_FAILURE:"))
    )


def _domino(body: str) -> Hints:
    return Hints(reason=_said(_DOMINO, " ".join(body.split())))


def is_notes(message: Message) -> bool:
    """Notes.pm: a Subject that starts "Undeliverable message"."""
    return headers.first(message, "Subject").lstrip().startswith("Undeliverable message")


def _notes(body: str) -> Hints:
    text = " ".join(_own_text(body, "------- Returned Message --------").split())
    return Hints(reason=_said(_NOTES, text))


def _gmx(body: str) -> Hints:
    own = _own_text(body, "--- The header of the original message is following. ---")
    smtp = next((line for line in own.splitlines() if line.startswith("SMTP error ")), "")
    command = next((c for c in ("RCPT", "MAIL", "DATA", "EHLO", "HELO") if c in smtp.upper()), "")
    return Hints(reason=_said(_GMX, " ".join(own.split())), command=command)


def _zoho(body: str) -> Hints:
    own = _own_text(body, "Received: from mail.zoho.com by mx.zohomail.com")
    return Hints(reason=_said(_ZOHO, " ".join(own.split())))


_READERS: tuple[tuple[Callable[[Message], bool], Callable[[str], Hints]], ...] = (
    (is_courier, _courier),
    (is_domino, _domino),
    (is_notes, _notes),
    (lambda m: headers.present(m, "X-GMX-Antispam"), _gmx),
    (lambda m: headers.present(m, "X-ZohoMail"), _zoho),
    (is_qmail, _qmail),
)
