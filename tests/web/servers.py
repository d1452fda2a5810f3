"""``newsletter serve`` in a subprocess, for end-to-end tests (with the SMTP sink of
``tests.support.smtp``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.smtp import SmtpSink


def serve_env(tmp_path: Path, smtp: SmtpSink, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(
        NEWSLETTER_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}",
        NEWSLETTER_DELIVERY="smtp",
        NEWSLETTER_SMTP_HOST=smtp.host,
        NEWSLETTER_SMTP_PORT=str(smtp.port),
        NEWSLETTER_SMTP_SECURITY="none",
        NEWSLETTER_SECRET_KEY="browser-test-secret-0123456789",
        NEWSLETTER_BASE_URL=f"http://127.0.0.1:{port}",
        NEWSLETTER_ARCHIVE_DIR=str(tmp_path / "archive"),
    )
    return env


@contextmanager
def newsletter_serve(env: dict[str, str], port: int, cwd: Path, *options: str) -> Iterator[str]:
    """Run ``newsletter serve [options]`` on 127.0.0.1:port until /health answers; yield its
    base URL."""
    command = [sys.executable, "-m", "newsletter", "--env-file", "/dev/null", "serve"]
    process = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), *options],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"newsletter serve exited: {output}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("newsletter serve did not answer /health")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
