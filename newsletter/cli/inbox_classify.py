"""``newsletter inbox classify FILE.eml...``: what the classifier makes of saved messages.

One JSON object per file on stdout, every one with the same keys: ``file``, ``kind``,
``recipients``, ``status`` and ``reason`` (``null`` when unknown). Characters a terminal
would act on or hide (bidi overrides, controls) are written as JSON ``\\uXXXX`` escapes
(``text.json_line``), in file names and addresses alike. Operators use it to answer "why was this reader suppressed?" from
the message the mailbox kept. A file that cannot be read (or classified) is a one-line error on
stderr; the other files are still printed and the exit status is 2. ``excerpt`` bounds what
is parsed (MIME depth, header length), so hostile nesting or a 3 MB Subject is classified,
not an error.
"""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.inbox.classify import classify as classify_message
from newsletter.inbox.classify.excerpt import parse
from newsletter.text import json_line, visible

MAX_BYTES = 20 * 1024 * 1024


@click.command("classify")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def classify(files: tuple[Path, ...]) -> None:
    """Classify saved messages (.eml): hard/soft bounce, warning, complaint, auto-reply, reply."""
    unreadable = 0
    for path in files:
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            click.echo(f"error: {visible(path)}: {visible(exc.strerror or exc)}", err=True)
            unreadable += 1
            continue
        if len(raw) > MAX_BYTES:
            click.echo(f"error: {visible(path)}: larger than {MAX_BYTES} bytes", err=True)
            unreadable += 1
            continue
        try:
            found = classify_message(parse(raw))
        except Exception as exc:  # one unreadable message must not hide the files after it
            click.echo(f"error: {visible(path)}: cannot classify: {type(exc).__name__}", err=True)
            unreadable += 1
            continue
        row: dict[str, object] = {
            "file": str(path),
            "kind": found.kind,
            "recipients": list(found.recipients),
            "status": found.status or None,
            "reason": found.reason or None,
        }
        click.echo(json_line(row))
    if unreadable:
        raise SystemExit(2)
