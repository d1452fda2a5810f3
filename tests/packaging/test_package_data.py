"""Installs from a wheel (pipx, pip install .) must carry the templates and the sample day."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import newsletter
from newsletter.render.compile import BUILTIN_TEMPLATES

ROOT = Path(__file__).resolve().parents[2]


def test_builtin_templates_are_the_top_level_folder() -> None:
    assert BUILTIN_TEMPLATES.resolve() == (ROOT / "templates").resolve()
    assert (Path(newsletter.__file__).parent / "templates").is_symlink()


def test_package_data_patterns_cover_every_template_and_data_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["newsletter"]
    package = Path(newsletter.__file__).parent
    shipped = [
        f"{folder}/{path.relative_to((package / folder).resolve()).as_posix()}"
        for folder in ("templates", "data")
        for path in (package / folder).resolve().rglob("*")
        if path.is_file()
    ]
    assert any(name.startswith("templates/web/") for name in shipped)

    def covered(name: str) -> bool:
        return any(
            fnmatch.fnmatchcase(name, p) and name.count("/") == p.count("/") for p in patterns
        )

    assert [name for name in shipped if not covered(name)] == []
