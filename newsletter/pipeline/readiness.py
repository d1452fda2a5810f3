"""What a run does with what it collected for an edition: freeze it, wait, or stop. Pure.

A source that failed (a stale feed counts as failed) is never "nothing announced":

- a source failed, ``MISSING_SOURCE_POLICY=wait`` and the deadline (``MISSING_SOURCE_WAIT_HOURS``
  after the edition is complete) is still ahead: **wait**, nothing is frozen and the next
  run collects again;
- a source failed otherwise: **freeze** what there is without it (the edition records the
  missing sources, the run says so), or **fail** when there is nothing new to send;
- every source answered and there is something new: **freeze**;
- every source answered, nothing new, and every arXiv source answered empty: **holiday**
  (arXiv announced nothing; no alert);
- every source answered, nothing new otherwise: **nothing** (on a due day, an alert).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from newsletter.config import Settings
from newsletter.pipeline.collect import CollectResult, SourceReport
from newsletter.schedule import has_hf, wait_deadline

Action = Literal["freeze", "wait", "holiday", "nothing", "fail"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """``reason``: one line for the operator; ``missing``: (source, error) of failed sources;
    ``note``: a stage line worth showing even when freezing (a holiday with HF papers)."""

    action: Action
    reason: str = ""
    missing: tuple[tuple[str, str], ...] = ()
    note: str = ""


def _with_errors(failed: tuple[SourceReport, ...], verb: str = "") -> str:
    return " and ".join(f"{r.name}{verb} ({r.error})" for r in failed)


def judge(
    result: CollectResult,
    fresh: int,
    *,
    date: dt.date,
    now: dt.datetime,
    settings: Settings,
    sent_before: Collection[str] = (),
) -> Verdict:
    """The verdict for edition ``date`` at ``now``, given ``fresh`` papers not sent before
    (``sent_before``: the collected ids that earlier editions already had)."""
    failed = result.failed
    missing = tuple((r.name, r.error) for r in failed)
    if failed:
        deadline = wait_deadline(date, settings)
        if settings.missing_source_policy == "wait" and now < deadline:
            them = "it" if len(failed) == 1 else "them"
            return Verdict(
                "wait",
                f"waiting for {_with_errors(failed)}; nothing frozen, the next run tries again;"
                f" from {deadline:%Y-%m-%d %H:%M} UTC the digest goes out without {them}"
                f" (MISSING_SOURCE_POLICY=wait,"
                f" MISSING_SOURCE_WAIT_HOURS={settings.missing_source_wait_hours:g})",
                missing,
            )
        if result.all_failed:
            errors = "; ".join(f"{r.name}: {r.error}" for r in result.reports)
            return Verdict("fail", f"every source failed: {errors}", missing)
        if not fresh:
            return Verdict(
                "fail",
                f"no digest for {date}: {_with_errors(failed, ' failed')} and the other"
                " sources had no new papers",
                missing,
            )
        why = (
            "MISSING_SOURCE_POLICY=send"
            if settings.missing_source_policy == "send"
            else f"still failing at {deadline:%Y-%m-%d %H:%M} UTC (MISSING_SOURCE_WAIT_HOURS="
            f"{settings.missing_source_wait_hours:g})"
        )
        return Verdict("freeze", f"sent without {_with_errors(failed)}: {why}", missing)
    holiday = result.arxiv_holiday_after(sent_before)
    if not fresh:
        if holiday:
            hf = ", and Hugging Face had none" if has_hf(settings) else ""
            return Verdict(
                "holiday",
                f"no digest for {date}: every arXiv source answered and none announced a paper"
                f" (an arXiv holiday){hf}",
            )
        return Verdict("nothing", f"no new papers announced for {date}; no digest sent")
    note = f"collect: arXiv announced nothing for {date} (a holiday)" if holiday else ""
    return Verdict("freeze", note=note)


def missing_lines(missing: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """``("hf_daily: HTTP 503 after 4 attempts",)``: one line per missing source."""
    return tuple(f"{name}: {error}" for name, error in missing)
