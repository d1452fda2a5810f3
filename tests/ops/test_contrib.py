"""The systemd units and the crontab example in contrib/ are valid and run ``newsletter run``."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

from tests.conftest import need

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
VENV_SCRIPT = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "newsletter"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((CONTRIB / name).read_text())
    return parser


def verify(folder: Path, *names: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(folder / n) for n in names)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=folder,
    )


def installed_copy(tmp_path: Path, timer_text: str | None = None) -> Path:
    """The units as an operator installs them: /opt/newsletter becomes a real install folder
    (systemd-analyze checks that ExecStart is executable); nothing else changes."""
    app = tmp_path / "app"
    (app / ".venv" / "bin").mkdir(parents=True)
    (app / ".venv" / "bin" / "newsletter").symlink_to(shutil.which("newsletter") or VENV_SCRIPT)
    for name in ("newsletter.service", "newsletter.timer"):
        text = (CONTRIB / name).read_text()
        if name.endswith(".timer") and timer_text is not None:
            text = timer_text
        (tmp_path / name).write_text(text.replace("/opt/newsletter", str(app)))
    return tmp_path


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    need(shutil.which("systemd-analyze"), "systemd-analyze not installed (apt package systemd)")
    need(VENV_SCRIPT.exists() or shutil.which("newsletter"), "newsletter script not installed")
    result = verify(installed_copy(tmp_path), "newsletter.service", "newsletter.timer")
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""


def test_verify_rejects_a_broken_timer(tmp_path: Path) -> None:
    """The check above can fail: a timer without a valid schedule is refused."""
    need(shutil.which("systemd-analyze"), "systemd-analyze not installed (apt package systemd)")
    broken = (CONTRIB / "newsletter.timer").read_text().replace("OnCalendar=", "OnCalendar=soon#")
    result = verify(installed_copy(tmp_path, broken), "newsletter.service", "newsletter.timer")
    assert result.returncode != 0


def test_timer_is_persistent_and_starts_the_daily_run() -> None:
    timer = unit("newsletter.timer")
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "newsletter.service"
    service = unit("newsletter.service")
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["ExecStart"].endswith("/newsletter run")
    assert "3" in service["Service"]["SuccessExitStatus"].split()


def test_crontab_example_runs_newsletter_run_daily() -> None:
    lines = [
        line
        for line in (CONTRIB / "crontab.example").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(lines) == 1
    minute, hour, dom, month, dow, *command = lines[0].split()
    assert re.fullmatch(r"\d+", minute) and re.fullmatch(r"\d+", hour)
    assert (dom, month, dow) == ("*", "*", "*")
    assert " ".join(command).endswith("newsletter run")
