"""Docs cannot drift: every command is in the README, every setting in .env.example."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.cli import main
from newsletter.config import Settings, settings_env_names

ROOT = Path(__file__).resolve().parents[1]


def command_paths(group: click.Group, prefix: str = "newsletter") -> list[str]:
    paths = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):  # imports lazily loaded commands (cli.base.COMMANDS)
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
    return paths


def test_every_command_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    paths = command_paths(main)
    assert "newsletter subscribers import" in paths
    assert [path for path in paths if f"`{path}" not in readme] == []


def test_every_setting_is_in_env_example() -> None:
    example = (ROOT / ".env.example").read_text()
    names = settings_env_names(Settings).values()
    assert "NEWSLETTER_FROM" in names
    assert [name for name in names if f"{name}=" not in example] == []


def test_every_command_has_help() -> None:
    from click.testing import CliRunner

    runner = CliRunner()
    for path in command_paths(main):
        result = runner.invoke(main, [*path.split()[1:], "--help"])
        assert result.exit_code == 0, path
        assert "Usage:" in result.stdout


def test_the_lines_a_run_prints_are_the_ones_the_readme_quotes(tmp_path: Path) -> None:
    """README "What it prints" quotes the demo's three stage lines and its outcome line;
    a run prints exactly those (durations aside)."""
    import re

    from click.testing import CliRunner

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("**What it prints.**") :][:700]
    quoted = re.findall(r"`((?:collect|queue|send|edition)[^`]*)`", section.replace("\n", " "))
    assert [q.split(":")[0].split()[0] for q in quoted] == ["collect", "queue", "send", "edition"]

    def seconds(line: str) -> str:
        return re.sub(r" in \d+\.\ds$", " in Ns", line)

    result = CliRunner().invoke(main, ["--env-file", "/dev/null", "demo"])
    assert result.exit_code == 0, result.output
    stages = [
        seconds(line)
        for line in result.stderr.splitlines()
        if line.startswith(("collect:", "queue:", "send:"))
    ]
    assert stages == [seconds(q) for q in quoted[:3]]
    assert result.stdout.splitlines()[0] == quoted[3]
