"""``newsletter serve`` as an operator starts it: a busy port or a bad proxy setting is one
line on stderr and exit status 2 (README "Commands"), never a page of uvicorn output with
status 3 ("waiting"); behind a proxy the client address (rate limits) comes from
X-Forwarded-For only from the trusted proxy, and a prefix the client wrote is not
believed."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.forms import csrf_of
from tests.support.ports import free_port
from tests.support.smtp import SmtpSink
from tests.web.servers import newsletter_serve, serve_env

SERVE = [sys.executable, "-m", "newsletter", "--env-file", "/dev/null", "serve"]


def _serve_once(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_a_busy_port_is_one_line_and_exit_2(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = _serve_once(
            serve_env(tmp_path, smtp_sink, port),
            tmp_path,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        )
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: "), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr + done.stdout


def test_an_unknown_host_is_one_line_and_exit_2(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    port = free_port()
    env = serve_env(tmp_path, smtp_sink, port)
    done = _serve_once(env, tmp_path, "--host", "no-such-host.invalid", "--port", str(port))
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stderr.startswith("error: cannot listen on no-such-host.invalid:")
    assert done.stderr.count("\n") == 1


def test_a_malformed_forwarded_allow_ips_is_refused(tmp_path: Path, smtp_sink: SmtpSink) -> None:
    """uvicorn takes "10.0.0.300" as a literal that never matches: the proxy would not be
    trusted, every reader would share the proxy's address, and the per-IP sign-up limit
    would lock everyone out."""
    port = free_port()
    env = serve_env(tmp_path, smtp_sink, port)
    for bad in ("10.0.0.300", "10.0.0.0/33", "127.0.0.1,proxy!"):
        done = _serve_once(
            env, tmp_path, "--port", str(port), "--proxy-headers", "--forwarded-allow-ips", bad
        )
        assert done.returncode == 2, (bad, done.returncode, done.stderr)
        assert "--forwarded-allow-ips" in done.stderr and done.stderr.count("\n") == 1, done.stderr


async def test_behind_a_proxy_the_limit_counts_the_forwarded_client(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    port = free_port()
    env = serve_env(tmp_path, smtp_sink, port)
    env["NEWSLETTER_SUBSCRIBE_LIMIT_PER_IP"] = "2"
    command_env = {**env}
    with newsletter_serve(command_env, port, tmp_path, "--proxy-headers") as base:
        async with httpx.AsyncClient(base_url=base) as http:

            async def sign_up(n: int, forwarded: str) -> int:
                form = await http.get("/subscribe")
                answer = await http.post(
                    "/subscribe",
                    data={"email": f"r{n}@example.org", "topics": "graphs", "csrf": csrf_of(form)},
                    headers={"X-Forwarded-For": forwarded},
                )
                return answer.status_code

            # two readers behind the proxy, two sign-ups each: all accepted
            codes = [await sign_up(n, f"198.51.100.{n % 2 + 1}") for n in range(4)]
            assert codes == [200, 200, 200, 200]
            # the third from one address is over its limit, whatever prefix it forges
            assert await sign_up(5, "203.0.113.9, 198.51.100.1") == 429
            assert await sign_up(6, "198.51.100.3") == 200
