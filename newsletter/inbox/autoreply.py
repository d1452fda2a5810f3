"""Is this message an automatic answer? Such a message never executes a command.

RFC 3834 asks responders to say ``Auto-Submitted: auto-replied``; many do not. A message
is taken as automatic when any of these hold (one is enough):

- ``Auto-Submitted`` with any value but ``no`` (RFC 3834 section 5);
- ``Precedence: bulk | junk | list | auto_reply`` (the pre-RFC 3834 convention);
- ``X-Autoreply``, ``X-Autorespond`` (vacation programs, cPanel, Zimbra);
- ``X-Auto-Response-Suppress`` or ``X-MS-Exchange-Inbox-Rules-Loop`` (Microsoft Exchange
  and Outlook put them on out-of-office answers and rule-made mail);
- a null ``Return-Path: <>`` (RFC 3834 section 3.3 asks auto-responses to be sent with a
  null envelope sender; the delivering server records it there);
- a subject that begins like the vacation answers of the common mail systems, in English,
  German, French, Spanish, Italian, Dutch, Portuguese, the Scandinavian languages,
  Polish, Chinese and Japanese (``Out of Office:``, ``Automatic reply:``, ``Auto:``,
  ``Abwesenheitsnotiz``, ``Réponse automatique``, ``Respuesta automática``, ...).
"""

from __future__ import annotations

import re
from email.message import EmailMessage

_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_MARK_HEADERS = (
    "X-Autoreply",
    "X-Autorespond",
    "X-Auto-Response-Suppress",
    "X-MS-Exchange-Inbox-Rules-Loop",
)
_SUBJECT = re.compile(
    r"""^\s*(?:
        out\ of\ (?:the\ )?office | automatic\ reply | auto[-\ ]?reply | autoresponse
      | auto-?response | auto\s*: | on\ vacation | vacation\ (?:reply|message|notice)
      | away\ from\ (?:the\ )?office
      | abwesenheit | automatische\ antwort | außer\ haus | ausser\ haus
      | réponse\ automatique | reponse\ automatique | absence\ du\ bureau | absent\ du\ bureau
      | respuesta\ automática | respuesta\ automatica | fuera\ de\ la\ oficina
      | risposta\ automatica | fuori\ sede | fuori\ ufficio
      | automatisch\ antwoord | afwezig
      | resposta\ automática | resposta\ automatica | ausente\ do\ escritório
      | autosvar | frånvaro | fraværende | automatisk\ svar
      | automatyczna\ odpowiedź | poza\ biurem
      | 自动回复 | 自動回覆 | 自動返信
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def is_auto_reply(message: EmailMessage) -> bool:
    """True when ``message`` says, in any of the ways listed above, that no person wrote it."""
    if str(message.get("Auto-Submitted", "no")).strip().lower() != "no":
        return True
    if str(message.get("Precedence", "")).strip().lower() in _PRECEDENCE:
        return True
    if any(message.get(name) is not None for name in _MARK_HEADERS):
        return True
    if any(str(path).strip() == "<>" for path in message.get_all("Return-Path", [])):
        return True
    return bool(_SUBJECT.match(" ".join(str(message.get("Subject", "")).split())))
