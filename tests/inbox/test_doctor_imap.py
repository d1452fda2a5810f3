"""``doctor``'s IMAP check goes through the inbox reader's own ``Mailbox``: against a real
Dovecot it opens a folder whose name needs quoting, and a wrong password or folder fails."""

from __future__ import annotations

import imaplib

from pydantic import SecretStr

from newsletter.config import Settings
from newsletter.ops.doctor import check_imap
from tests.inbox.dovecot import Dovecot

FOLDER = 'Paper Replies "2026"'


def _with_folder(dovecot: Dovecot) -> None:
    with imaplib.IMAP4(dovecot.host, dovecot.port) as imap:
        imap.login(dovecot.username, dovecot.password)
        imap.create('"Paper Replies \\"2026\\""')


async def test_a_folder_name_with_spaces_and_quotes_opens(
    mailbox: Dovecot, settings: Settings
) -> None:
    _with_folder(mailbox)
    check = await check_imap(settings.model_copy(update={"imap_folder": FOLDER}))
    assert check.status == "ok", check.line
    assert check.detail == (f"{mailbox.host}:{mailbox.port} (none): login ok, {FOLDER} readable")


async def test_a_wrong_password_or_folder_fails_with_the_fix(
    mailbox: Dovecot, settings: Settings
) -> None:
    wrong = await check_imap(settings.model_copy(update={"imap_password": SecretStr("not it")}))
    missing = await check_imap(settings.model_copy(update={"imap_folder": "No Such Folder"}))
    assert (wrong.status, missing.status) == ("FAIL", "FAIL")
    assert wrong.detail.startswith(f"{mailbox.host}:{mailbox.port}: ")
    assert "cannot open folder 'No Such Folder'" in missing.detail
    assert "IMAP_FOLDER" in missing.fix
