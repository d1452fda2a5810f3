"""Delivery: one seam, ``Transport.send(message) -> SendResult``.

``open_transport(settings)`` gives the SMTP pool (``DELIVERY=smtp``) or the local
Maildir outbox (``DELIVERY=maildir``); both DKIM-sign when DKIM is configured.
The send loop (``newsletter.outbox.send``) owns the ledger, retries and pacing.
"""

from __future__ import annotations

from types import TracebackType
from typing import Final, Literal, Protocol

from newsletter.config import Settings
from newsletter.deliver.dkim import DkimSigner
from newsletter.deliver.maildir import MaildirTransport
from newsletter.deliver.smtp import SmtpTransport
from newsletter.models import DataHook, Message, RecipientResult, SendResult

__all__ = [
    "FROM_SETTINGS",
    "DataHook",
    "DkimSigner",
    "MaildirTransport",
    "RecipientResult",
    "SendResult",
    "SmtpTransport",
    "Transport",
    "open_transport",
]


class Transport(Protocol):
    """The delivery seam: ``send(message) -> SendResult``, used with ``async with``.

    Implemented by ``SmtpTransport`` (a pool of SMTP connections) and ``MaildirTransport``.
    ``send`` never raises for a refusal or a lost connection: the ``SendResult`` says what
    happened (``models.DeliveryOutcome``); ``DeliveryError`` means nothing went out (no
    connection or login)."""

    async def __aenter__(self) -> Transport: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def send(
        self, message: Message, *, on_data: DataHook | None = None, then: Message | None = None
    ) -> SendResult:
        """Send ``message``; ``on_data`` is awaited at the last moment before the server can
        have it (``models.DataHook``): False abandons it, unsent. ``then``: the message the
        caller sends next (SMTP may send its envelope with this one's final dot); a hint,
        which the caller keeps by sending it next."""
        ...


# ``open_transport``'s default: read the DKIM key from the settings' file now.
FROM_SETTINGS: Final = "from settings"


def open_transport(
    settings: Settings, dkim_signer: DkimSigner | Literal["from settings"] | None = FROM_SETTINGS
) -> Transport:
    """The transport ``settings.delivery`` names; use it with ``async with``.

    ``dkim_signer``: the caller's DKIM signer (None: do not sign). A caller that opens many
    transports (one per message, or per helper process) loads it once with
    ``DkimSigner.from_settings`` and passes it, so the key file is read once, never in a
    sending loop; by default it is loaded here. ``SettingsError`` for a bad DKIM setup."""
    if isinstance(dkim_signer, str):
        dkim_signer = DkimSigner.from_settings(settings)
    if settings.delivery == "maildir":
        return MaildirTransport(settings.outbox_dir, dkim_signer)
    return SmtpTransport(settings, dkim_signer=dkim_signer)
