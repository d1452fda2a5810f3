"""The mailbox providers' own rules (``classify/rhosts.py``, sisimai's Rhost): found by the
remote host or by the recipient's domain, so a notice that names no host is still read by
its provider's words. Notices written here in Yahoo's documented style."""

from __future__ import annotations

import pytest

from newsletter.inbox.classify.rhosts import provider
from tests.inbox.test_classify_notices import notice, parsed

YAHOO_NOTICE = """Sorry, we were unable to deliver your message to the following address.

<{address}>:
Remote host said: 554 delivery error: dd This user doesn't have a {domain} account ({address}) [0] - mta2001.mail.ne1.yahoo.com [BODY]

--- Below this line is a copy of the message.
"""


@pytest.mark.parametrize("address", ["ann@yahoo.com", "ben@aol.com", "cy@ymail.com"])
def test_yahoos_no_such_account_after_data_is_a_hard_userunknown(address: str) -> None:
    domain = address.partition("@")[2]
    body = YAHOO_NOTICE.format(address=address, domain=domain)
    found = parsed(notice("MAILER-DAEMON@yahoo.com", "Failure Notice", body))
    assert (found.kind, found.recipients, found.reason) == ("hard", (address,), "userunknown")


def test_the_same_words_from_a_server_no_provider_rule_covers_stay_judged_at_data() -> None:
    """Elsewhere, sisimai's general rule holds: a "user" refusal after DATA is ``filtered``
    (the server judged the message), a soft bounce."""
    body = YAHOO_NOTICE.format(address="dee@mail.com", domain="mail.com").replace(
        " - mta2001.mail.ne1.yahoo.com", ""
    )
    found = parsed(notice("MAILER-DAEMON@mail.com", "Failure Notice", body))
    assert (found.kind, found.reason) == ("soft", "filtered")


def test_a_domain_is_matched_at_a_dot_never_inside_a_word() -> None:
    assert provider("", "a@yahoo.com") == "yahooinc"
    assert provider("", "a@outlook.com") == "microsoft"
    assert provider("mta5.am0.yahoodns.net", "a@example.net") == "yahooinc"
    assert provider("", "a@mail.com") == ""  # not ".ymail.com"
    assert provider("", "a@hoo.com") == ""
