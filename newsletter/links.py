"""Every URL and mailto address the emails carry, and the web app serves.

One place builds them so that the renderer and the web app cannot drift apart.
Paths (under ``BASE_URL``):

    /confirm/{token}          confirm a subscription (token purpose "confirm")
    /unsubscribe/{token}      GET: a page with one button; POST: unsubscribe (RFC 8058)
    /preferences/{token}      change topics, frequency, pause (purpose "preferences")
    /feedback/{token}         "more/less like this" (purpose "feedback", value "SID:ARXIV:+1|-1")
    /archive/                 web versions of past editions; /archive/{date}.html, /archive/feed.xml
    /subscribe                the subscription form
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from email.utils import parseaddr
from urllib.parse import quote

from newsletter.config import Settings
from newsletter.tokens import Signer


@dataclass(frozen=True, slots=True)
class Links:
    base_url: str
    signer: Signer
    reply_address: str  # e.g. "papers@example.org"; commands go to papers+CMD-TOKEN@...

    @classmethod
    def for_settings(cls, settings: Settings, signer: Signer) -> Links:
        """The links of this install: BASE_URL, and replies to REPLY_ADDRESS (or FROM)."""
        reply = reply_address_for(settings.from_address, settings.reply_address)
        return cls(settings.base_url, signer, reply)

    def unsubscribe(self, subscriber_id: int) -> str:
        return f"{self.base_url}/unsubscribe/{self.signer.sign('unsubscribe', str(subscriber_id))}"

    def preferences(self, subscriber_id: int) -> str:
        return f"{self.base_url}/preferences/{self.signer.sign('preferences', str(subscriber_id))}"

    def confirm(self, subscriber_id: int) -> str:
        return f"{self.base_url}/confirm/{self.signer.sign('confirm', str(subscriber_id))}"

    def feedback(self, subscriber_id: int, arxiv_id: str, signal: int) -> str:
        value = f"{subscriber_id}:{arxiv_id}:{'+1' if signal > 0 else '-1'}"
        return f"{self.base_url}/feedback/{self.signer.sign('feedback', value)}"

    def message_id(self, kind: str, key: str, domain: str) -> str:
        """``<kind.ID@domain>``, ID = 26 base32 characters (130 bits) of an HMAC of
        ``(kind, key)`` under the secret key: stable for the same (kind, key), and
        unguessable without the key, so a DSN that quotes one proves it saw our email."""
        mac = self.signer.digest("message-id", f"{kind}\x00{key}".encode())
        return f"<{kind}.{base64.b32encode(mac).decode('ascii').lower()[:26]}@{domain}>"

    def archive_page(self, date: dt.date) -> str:
        return f"{self.base_url}/archive/{date.isoformat()}.html"

    def archive_index(self) -> str:
        return f"{self.base_url}/archive/"

    def subscribe(self) -> str:
        return f"{self.base_url}/subscribe"

    def command_address(self, command: str, subscriber_id: int) -> str:
        """``local+COMMAND-TOKEN@domain``: a reply address that proves who sent the command."""
        local, _, domain = self.reply_address.partition("@")
        token = self.signer.sign("reply", f"{subscriber_id}:{command}")
        return f"{local}+{command}-{token}@{domain}"

    def mailto(self, command: str, subscriber_id: int) -> str:
        address = self.command_address(command, subscriber_id)
        return f"mailto:{address}?subject={quote(command)}"


def reply_address_for(from_address: str, reply_address: str | None) -> str:
    """The mailbox replies go to: ``REPLY_ADDRESS`` or, by default, the From address."""
    return parseaddr(reply_address or from_address)[1]
