"""How the web app and the reply mailbox send their few emails.

``Send`` is the seam: an async callable taking one ``Message``. ``transport_sender`` sends
through the delivery package (``newsletter.deliver.open_transport``), one connection per
message: these emails are rare and must not hold a connection open between requests.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from newsletter.config import Settings
from newsletter.deliver import DkimSigner, open_transport
from newsletter.errors import DeliveryError
from newsletter.models import Message

log = logging.getLogger(__name__)

Send = Callable[[Message], Awaitable[None]]


def transport_sender(settings: Settings) -> Send:
    """A ``Send`` that opens a transport per message (these emails are rare) and raises
    ``DeliveryError`` unless the server accepted it. The DKIM key is read once, here
    (``SettingsError`` for a bad DKIM setup)."""
    dkim_signer = DkimSigner.from_settings(settings)

    async def send(message: Message) -> None:
        async with open_transport(settings, dkim_signer) as transport:
            result = await transport.send(message)
        if result.state != "sent":
            raise DeliveryError(message.to, f"{result.state}: {result.code} {result.text}")
        log.info("sent %r to subscriber #%s", message.subject, message.subscriber_id)

    return send
