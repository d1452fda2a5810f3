"""A real Dovecot IMAP server for tests, with its own config in a temporary folder.

It runs from root like a packaged Dovecot, but every path is under the test's folder:
passwd-file auth, Maildir storage owned by the ``dovecot`` user, 127.0.0.1 only.
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import free_port

DOVECOT = "/usr/sbin/dovecot"
USER = "papers@example.org"
PASSWORD = "imap-test-password"


@dataclass(frozen=True)
class Dovecot:
    host: str
    port: int
    username: str
    password: str
    maildir: Path

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with imaplib.IMAP4(self.host, self.port) as imap:
            imap.login(self.username, self.password)
            imap.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)

    def folder_messages(self, folder: str = "INBOX") -> list[tuple[bytes, bytes]]:
        """(flags, raw message) for every message in ``folder``."""
        found: list[tuple[bytes, bytes]] = []
        with imaplib.IMAP4(self.host, self.port) as imap:
            imap.login(self.username, self.password)
            status, _ = imap.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _, data = imap.uid("SEARCH", "ALL")
            for uid in data[0].split():
                _, parts = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                head = parts[0]
                assert isinstance(head, tuple)
                found.append((head[0], head[1]))
        return found


def dovecot_problem() -> str | None:
    if not Path(DOVECOT).exists():
        return f"Dovecot not installed ({DOVECOT}; apt-get install dovecot-imapd)"
    for user in ("dovecot", "dovenull"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"system user {user!r} missing (installed with dovecot-core)"
    if os.geteuid() != 0:
        return "Dovecot's test instance needs root to switch to the dovecot user"
    return None


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    # Its own folder directly under the temp dir: pytest's tmp_path sits below 0700 folders
    # that the dovecot user cannot enter.
    root = Path(tempfile.mkdtemp(prefix="newsletter-dovecot-"))
    try:
        with _dovecot_in(root) as server:
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def _dovecot_in(root: Path) -> Iterator[Dovecot]:
    port = free_port()
    dovecot_user = pwd.getpwnam("dovecot")
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(exist_ok=True)
    for sub in ("mail", "home"):
        shutil.chown(root / sub, dovecot_user.pw_uid, dovecot_user.pw_gid)
    os.chmod(root, 0o755)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
    config = root / "dovecot.conf"
    config.write_text(
        f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 100
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with imaplib.IMAP4("127.0.0.1", port) as imap:
                    imap.login(USER, PASSWORD)
                break
            except (OSError, imaplib.IMAP4.error):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (
                        (root / "dovecot.log").read_text()
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    raise AssertionError(f"Dovecot did not start: {log[-2000:]}") from None
                time.sleep(0.1)
        yield Dovecot("127.0.0.1", port, USER, PASSWORD, root / "mail" / USER)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
