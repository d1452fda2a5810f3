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
