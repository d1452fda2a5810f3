"""The DNS records an operator publishes so that the digests are trusted. Pure (reads the key).

SPF names the servers allowed to send for the From domain, DKIM publishes the public
half of ``DKIM_PRIVATE_KEY_PATH`` (derived with ``cryptography``), and DMARC tells
receivers what to do with mail that fails both, and where to report it.
"""

from __future__ import annotations

import base64
import ipaddress
import textwrap
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from newsletter.config import Settings
from newsletter.errors import SettingsError

KEY_SETTING = "NEWSLETTER_DKIM_PRIVATE_KEY_PATH"


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One record to publish: owner ``name``, ``type`` (TXT), ``value`` and a ``note``;
    ``str()`` is its zone-file line."""

    name: str
    type: str
    value: str
    note: str = ""

    def __str__(self) -> str:
        text = f'{self.name}. {self.type} "{self.value}"'
        return f"{text}  ; {self.note}" if self.note else text


def dkim_public_value(private_pem: bytes) -> str:
    """The DKIM TXT value (``v=DKIM1; k=...; p=...``) for a PEM private key."""
    try:
        key = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SettingsError(KEY_SETTING, f"not a usable PEM private key ({exc})") from None
    if isinstance(key, rsa.RSAPrivateKey):
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode('ascii')}"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return f"v=DKIM1; k=ed25519; p={base64.b64encode(raw).decode('ascii')}"
    raise SettingsError(KEY_SETTING, f"DKIM needs an RSA or Ed25519 key, not {type(key).__name__}")


def split_txt(value: str, size: int = 255) -> str:
    """A TXT value longer than 255 bytes as the quoted strings DNS servers expect."""
    return '" "'.join(textwrap.wrap(value, size, break_on_hyphens=False, break_long_words=True))


def spf_mechanism(host: str) -> str:
    """The SPF mechanism that allows ``host`` to send: ``ip4:``/``ip6:`` for an address,
    ``a:`` for a name (RFC 7208 sections 5.3 and 5.6; ``a:`` takes a domain, not an IP)."""
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return f"a:{host}"
    return f"ip{address.version}:{address}"


def dns_records(settings: Settings) -> list[DnsRecord]:
    """SPF, DKIM (when configured) and DMARC for the From domain.

    Raises ``SettingsError`` when DKIM_PRIVATE_KEY_PATH cannot be read or is no usable key."""
    domain = settings.dkim_domain or settings.sender_address.rpartition("@")[2]
    spf_host = f" {spf_mechanism(settings.smtp_host)}" if settings.delivery == "smtp" else ""
    records = [
        DnsRecord(
            domain,
            "TXT",
            f"v=spf1 mx{spf_host} ~all",
            "sending through a provider? use its include: instead",
        )
    ]
    path = settings.dkim_private_key_path
    if settings.dkim_selector and path is not None:
        try:
            pem = path.read_bytes()
        except OSError as exc:
            raise SettingsError(KEY_SETTING, f"cannot read {path}: {exc.strerror}") from None
        records.append(
            DnsRecord(
                f"{settings.dkim_selector}._domainkey.{domain}",
                "TXT",
                split_txt(dkim_public_value(pem)),
            )
        )
    report_to = settings.alert_email or f"postmaster@{domain}"
    records.append(
        DnsRecord(
            f"_dmarc.{domain}",
            "TXT",
            f"v=DMARC1; p=none; rua=mailto:{report_to}",
            "move to p=quarantine once the reports show SPF and DKIM pass",
        )
    )
    return records
