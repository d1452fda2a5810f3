"""Start-up: a send imports dkimpy only when DKIM is configured (it is loaded before the
helpers fork, so they share it; ``test_send_processes`` checks they import nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from newsletter import pipeline
from newsletter.config import Settings
from newsletter.deliver import DkimSigner
before = "dkim" in sys.modules
signer = DkimSigner.from_settings(Settings(_env_file=None, **{settings}))
print(before, "dkim" in sys.modules, signer is not None)
"""


def probe(settings: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(settings=settings)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_without_dkim_settings_dkimpy_is_never_imported() -> None:
    assert probe("{}") == "False False False"


def test_with_dkim_settings_it_is_imported_when_the_signer_is_made(tmp_path: Path) -> None:
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "1024"], check=True, capture_output=True)
    settings = {
        "dkim_selector": "sel",
        "dkim_domain": "example.org",
        "dkim_private_key_path": str(key),
    }
    assert probe(repr(settings)) == "False True True"


RESOLVE = """
import asyncio, importlib, socket, sys
from newsletter.outbox import forked
for name in forked.PRELOAD:
    importlib.import_module(name)
before = set(sys.modules)
async def resolve():
    await asyncio.get_running_loop().getaddrinfo("localhost", 25)
asyncio.run(resolve())
print(sorted(set(sys.modules) - before))
"""


def test_resolving_a_host_name_imports_nothing_the_helpers_preload_lacks() -> None:
    """Before: a helper that resolved SMTP_HOST by name imported encodings.idna and
    stringprep after the fork (found by an outside tester: "helper 1 imported 2
    module(s) after the fork")."""
    done = subprocess.run(
        [sys.executable, "-c", RESOLVE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
