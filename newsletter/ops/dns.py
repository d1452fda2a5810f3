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
from newsletter.errors import NewsletterError, SettingsError

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


def loopback_only(host: str) -> bool:
    """Whether ``host`` names this machine only (``localhost``, ``127.0.0.1``, ``::1``):
    an SPF mechanism for it allows nothing the world sees."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _spf(settings: Settings, domain: str) -> DnsRecord:
    note = "sending through a provider? use its include: instead"
    host = settings.smtp_host
    if settings.delivery != "smtp":
        return DnsRecord(domain, "TXT", "v=spf1 mx ~all", note)
    if loopback_only(host):
        return DnsRecord(
            domain,
            "TXT",
            "v=spf1 mx ~all",
            f"SMTP_HOST={host} is this machine's loopback, meaningless to the world: add"
            " ip4:/ip6: with the public address your relay sends from (or its include:)",
        )
    return DnsRecord(domain, "TXT", f"v=spf1 mx {spf_mechanism(host)} ~all", note)


def dns_records(settings: Settings, problems: list[str] | None = None) -> list[DnsRecord]:
    """SPF, DKIM (when configured) and DMARC for the From domain.

    When DKIM_PRIVATE_KEY_PATH cannot be read or is no usable key: with ``problems``, its
    reason is appended there and the other records are still returned; without,
    ``SettingsError`` (or the key's ``NewsletterError``) is raised."""
    domain = settings.dkim_domain or settings.sender_address.rpartition("@")[2]
    records = [_spf(settings, domain)]
    path = settings.dkim_private_key_path
    if settings.dkim_selector and path is not None:
        try:
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
        except NewsletterError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
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
