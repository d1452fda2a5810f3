"""The Renderer: templates compiled once, then one ``Message`` per subscriber.

renderer = Renderer(settings, links)          # raises TemplateError before any send
plain = Renderer(settings, links, assembled=False)  # every digest through Jinja whole
msg = renderer.digest(edition, subscriber, sections, now=now)
msg = renderer.notice("welcome", to, subscriber=subscriber, context={}, now=now)
html = renderer.web_page(edition, sections)   # the "view in browser" page
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2
from markupsafe import Markup, escape

from newsletter.config import Settings
from newsletter.errors import TemplateError
from newsletter.links import Links
from newsletter.models import Edition, Message, RankedItem, Section, Subscriber
from newsletter.render import budget, views
from newsletter.render.assemble import split_item_loop
from newsletter.render.clean import short_line
from newsletter.render.compile import (
    compile_mjml,
    find_template,
    jinja_environment,
    load_jinja,
    mjml_template,
    template_dirs,
)
from newsletter.render.mime import (
    QpCache,
    address,
    build_message,
    sender_address,
    stored_address,
)
from newsletter.render.paths import DigestPaths
from newsletter.render.skeleton import split_skeleton
from newsletter.render.stand_in import StandIns
from newsletter.text import one_line
from newsletter.tokens import MAX_AGE

log = logging.getLogger(__name__)

RESUBSCRIBE_DAYS = (MAX_AGE["resubscribe"] or 0) // 86400
MAX_REASONS = 20_000  # distinct reasons kept per edition (each a line or two of text)
MAX_SECTION_VIEWS = 4_000  # sections kept per edition under a stand-in token
NOTICE_KINDS = ("confirmation", "welcome", "goodbye", "alert")
NOTICE_SUBJECTS = {
    "confirmation": "Confirm your subscription to {list_name}",
    "welcome": "Welcome to {list_name}",
    "goodbye": "You are unsubscribed from {list_name}",
    "alert": "[{list_name}] {summary}",
}
NOTICE_HEADINGS = {
    "confirmation": "Confirm your subscription",
    "welcome": "You are subscribed",
    "goodbye": "You are unsubscribed",
    "alert": "Operator alert",
}


class Renderer:
    """Renders emails and pages from the templates: MJML compiled once per template, Jinja2
    per subscriber, then one ``Message`` (``render.mime``). Raises ``TemplateError`` for a
    missing or broken template, when built.

    ``assembled`` (the default): a digest's paper cards are rendered once per edition and
    each email is assembled from them (``render.assemble``), the same bytes as the plain
    path (``assembled=False``: Jinja renders every email whole), which the first digest of
    every edition is compared with.

    ``notices`` (the default): the notice templates (``NOTICE_KINDS``) are compiled and
    checked when built too; ``notices=False`` (``newsletter run``, ``send``): only the
    digest's, each notice's on its first ``notice()`` (MJML compiles in about 0.05 s a
    template here; a daily run sends an alert at most), so a broken notice template
    raises ``TemplateError`` there instead. ``compile_notices()`` checks them all."""

    def __init__(
        self, settings: Settings, links: Links, *, assembled: bool = True, notices: bool = True
    ) -> None:
        self.settings = settings
        self.links = links
        dirs = template_dirs(settings.templates_dir)
        self._html_env = jinja_environment(dirs, autoescape=True)
        self._text_env = jinja_environment(dirs, autoescape=False)
        self._html: dict[str, jinja2.Template] = {}
        self._text: dict[str, jinja2.Template] = {}
        self._html["digest"], html_source = mjml_template(dirs, "digest.mjml.j2", self._html_env)
        self._text["digest"] = load_jinja(self._text_env, dirs, "digest.txt.j2")
        sources = (
            (self._html_env, html_source),
            (self._text_env, find_template(dirs, "digest.txt.j2").text),
        )
        html_cards, text_cards = (
            split_item_loop(env, text) if assembled else None for env, text in sources
        )
        skeletons = (
            None if html_cards is None else split_skeleton(*sources[0], html_cards),
            None if text_cards is None else split_skeleton(*sources[1], text_cards),
        )
        self._digest = DigestPaths(
            self._html["digest"], self._text["digest"], html_cards, text_cards, skeletons
        )
        if assembled and not self._digest.assembled:
            log.info("digest templates without a plain item loop: each rendered whole")
        self._dirs = dirs
        if notices:
            self.compile_notices()
        self._sender = sender_address(settings.from_address)
        self._domain = self._sender.domain
        slug = re.sub(r"[^a-z0-9]+", "-", settings.list_name.lower()).strip("-") or "list"
        self._list_id = f"{one_line(settings.list_name, 80)} <{slug}.{self._domain}>"
        self._slug = slug[:60]
        self._edition_key: tuple[int, dt.date] | None = None
        self._paper_views: dict[str, views.PaperView] = {}
        self._qp = QpCache()
        # (reason, matched terms) -> the reason as HTML and as text, for one edition
        self._reasons: dict[tuple[str, tuple[str, ...]], tuple[Markup, str]] = {}
        self._section_views: dict[tuple[Any, ...], views.SectionView] = {}
        self._stand_ins = StandIns()
        log.debug("templates compiled (%s)", ", ".join(str(d) for d in dirs))

    def compile_notices(self) -> None:
        """Compile every notice template now (``TemplateError`` for a missing or broken one)."""
        for kind in NOTICE_KINDS:
            self._notice_templates(kind)

    def _notice_templates(self, kind: str) -> tuple[jinja2.Template, jinja2.Template]:
        """``kind``'s HTML and text templates, compiled on first use."""
        if kind not in self._html:
            html = compile_mjml(self._dirs, f"{kind}.mjml.j2", self._html_env)
            text = load_jinja(self._text_env, self._dirs, f"{kind}.txt.j2")
            self._html[kind], self._text[kind] = html, text
        return self._html[kind], self._text[kind]

    # -- per edition ---------------------------------------------------------------------

    def _views_for(self, edition: Edition) -> dict[str, views.PaperView]:
        key = (edition.id, edition.date)
        if key != self._edition_key:
            self._paper_views = {p.arxiv_id: views.paper_view(p) for p in edition.papers}
            self._edition_key = key
            self._qp.clear()
            self._reasons.clear()
            self._section_views.clear()
            self._digest.new_edition()
        return self._paper_views

    def _sections(
        self, edition: Edition, sections: Sequence[Section], token: str, *, keep: bool = False
    ) -> list[views.SectionView]:
        """The sections as the templates show them; ``token``: the email's edition token
        (its feedback links hang on it), "" for no reader (no feedback links). ``keep``:
        ``token`` is a stand-in (``render.stand_in``) that other emails share, so each
        section's view is kept for the edition and given again (the same object, which
        ``render.kept_sections`` recognises) to readers with the same section at the same
        place."""
        paper_views = self._views_for(edition)
        kept = self._section_views
        number = 0
        out = []
        for section in sections:
            key: tuple[Any, ...] | None = None
            if keep:
                key = (token, number, section.title, section.topic, section.empty_note)
                key += tuple([(i.paper.arxiv_id, i.reason, i.matched_terms) for i in section.items])
                known = kept.get(key)
                if known is not None:
                    out.append(known)
                    number += len(section.items)
                    continue
            items = []
            shared = True  # every paper's view is the edition's (else not kept)
            for item in section.items:
                number += 1
                paper = item.paper
                view = paper_views.get(paper.arxiv_id)
                if view is None:
                    view, shared = views.paper_view(paper), False
                items.append(self._item_view(item, view, number, token))
            section_view = views.SectionView(
                title=short_line(section.title, 80),
                topic=section.topic,
                empty_note=section.empty_note,
                items=tuple(items),
            )
            if key is not None and shared and len(kept) < MAX_SECTION_VIEWS:
                kept[key] = section_view
            out.append(section_view)
        return out

    def _item_view(
        self, item: RankedItem, view: views.PaperView, number: int, token: str
    ) -> views.ItemView:
        key = (item.reason, item.matched_terms)
        reason = self._reasons.get(key)
        if reason is None:  # readers of one topic share its reasons
            text_reason = views.reason_of(item)
            reason = (escape(text_reason), text_reason)
            if len(self._reasons) < MAX_REASONS:
                self._reasons[key] = reason
        feedback = self.links.feedback_url
        arxiv_id = item.paper.arxiv_id
        return views.ItemView(
            paper=view,
            number=number,
            reason=reason[0],
            text_reason=reason[1],
            more_url=feedback(token, arxiv_id, +1) if token else None,
            less_url=feedback(token, arxiv_id, -1) if token else None,
        )

    # -- shared context ------------------------------------------------------------------

    def _base_context(self, subscriber: Subscriber | None, topics: Sequence[str]) -> dict[str, Any]:
        settings, links = self.settings, self.links
        personal = subscriber is not None
        return {
            "list_name": settings.list_name,
            "topics": [short_line(t, 60) for t in topics],
            "unsubscribe_url": None if subscriber is None else links.unsubscribe(subscriber),
            "preferences_url": None if subscriber is None else links.preferences(subscriber),
            "subscribe_url": None if personal else links.subscribe(),
            "archive_url": links.archive_index(),
            "postal_address": short_line(settings.postal_address, 200),
            "contact": links.reply_address,
            "reply_hint": (
                "Reply to this email with a line like “topics: graph neural networks; "
                "protein design” to change your topics."
            )
            if personal
            else "",
            "view_url": None,
            "more_count": 0,  # papers left out by the size budget (``render.budget``)
            "more_url": None,
        }

    def _render(self, kind: str, context: Mapping[str, Any]) -> tuple[str, str]:
        try:
            if kind == "digest":
                return self._digest.render(context)
            html, text = self._notice_templates(kind)
            return html.render(context), text.render(context)
        except jinja2.TemplateError as exc:  # e.g. an override uses a variable we lack
            raise TemplateError(f"{kind}.mjml.j2 / {kind}.txt.j2", None, str(exc)) from exc

    # -- the public interface ------------------------------------------------------------

    def digest(
        self,
        edition: Edition,
        subscriber: Subscriber,
        sections: Sequence[Section],
        *,
        now: dt.datetime,
    ) -> Message:
        """The digest email of ``edition`` for ``subscriber`` with the ranked ``sections``,
        dated ``now``; raises ``TemplateError`` when a template fails and ``DeliveryError``
        for an invalid address. Its Message-ID is stable for (edition, subscriber)."""
        to = stored_address(subscriber.email, subscriber.name)
        sid = subscriber.id
        token = self.links.edition_token(subscriber, edition.date)  # one signature per email
        fake = self._stand_ins.of(token) if self._digest.assembled else token
        context = self._digest_context(edition, subscriber, sections, fake, keep=fake != token)
        subject = context["subject"]
        section_views = context["sections"]
        html, text = self._render("digest", context)
        encoded = self._digest.encode(html, text, self._qp.encode)
        if len(encoded[0]) > budget.HTML_BUDGET:  # a stand-in is as long as its token
            html, text = self._within_budget(context, section_views)
            encoded = self._digest.encode(html, text, self._qp.encode)
        if fake != token:  # the reader's token in place of the stand-in
            swap = self._stand_ins.swap_qp
            encoded = (
                swap(encoded[0], html.count(fake), fake, token),
                swap(encoded[1], text.count(fake), fake, token),
            )
            html, text = html.replace(fake, token), text.replace(fake, token)
        msg_id = self.links.message_id("digest", f"{edition.id}:{edition.date}:{sid}", self._domain)
        return self._message(
            subscriber,
            to,
            subject,
            msg_id,
            now,
            text,
            html,
            list_headers=True,
            encoded=((html, encoded[0]), (text, encoded[1])),
            unsubscribe_url=context["unsubscribe_url"],
            edition_date=edition.date,
        )

    def _digest_context(
        self,
        edition: Edition,
        subscriber: Subscriber,
        sections: Sequence[Section],
        token: str | None = None,
        *,
        keep: bool = False,
    ) -> dict[str, Any]:
        """The digest's template context, its links under ``token`` (the reader's edition
        token by default); ``keep``: ``token`` is a stand-in (``render.stand_in``) that
        other emails share, so sections are kept (``_sections``)."""
        weekly = subscriber.frequency == "weekly"
        subject = views.subject_line(self.settings.list_name, edition.date, sections, weekly=weekly)
        context = self._base_context(subscriber, subscriber.topics)
        day = views.day_label(edition.date)
        token = token or self.links.edition_token(subscriber, edition.date)
        view_url = self.links.edition_view(token)
        context.update(
            subject=subject,
            preheader=views.preheader(sections),
            heading=f"The week to {day}" if weekly else day,
            sections=self._sections(edition, sections, token, keep=keep),
            view_url=view_url,
            more_url=view_url,
            footer_reason=(
                f"You get this email because {subscriber.email} subscribed to "
                f"{self.settings.list_name}"
                + (
                    f" with the topics: {', '.join(context['topics'])}."
                    if context["topics"]
                    else "."
                )
            ),
        )
        return context

    def personal_page(
        self, edition: Edition, subscriber: Subscriber, sections: Sequence[Section]
    ) -> str:
        """The HTML of ``subscriber``'s digest of ``edition`` as a web page (the personal
        web view): the email's sections, reasons and feedback links, whole (no size
        budget) and without its "View in browser" link to itself."""
        context = self._digest_context(edition, subscriber, sections)
        context["view_url"] = None
        return self._render("digest", context)[0]

    def _within_budget(
        self, context: dict[str, Any], sections: list[views.SectionView]
    ) -> tuple[str, str]:
        """HTML and text of a digest too large for ``budget.HTML_BUDGET``, cut to fit
        (later papers short, then "N more papers for you today")."""

        def size(cut: budget.Cut) -> int:
            context.update(sections=budget.apply(sections, cut), more_count=cut.hidden)
            return self._digest.html_size(context)

        cut = budget.fit(budget.count_items(sections), size)
        context.update(sections=budget.apply(sections, cut), more_count=cut.hidden)
        log.debug("digest over the size budget: %s", cut)
        return self._render("digest", context)

    def notice(
        self,
        kind: str,
        to: str,
        *,
        subscriber: Subscriber | None,
        context: Mapping[str, Any],
        now: dt.datetime,
    ) -> Message:
        """A notice email of ``kind`` (``NOTICE_KINDS``: confirmation, welcome, goodbye,
        alert) to ``to``, with the template ``context``; ``ValueError`` for an unknown kind."""
        if kind not in NOTICE_KINDS:
            raise ValueError(f"unknown notice kind {kind!r} (known: {', '.join(NOTICE_KINDS)})")
        recipient = address(to)
        topics = context.get("topics", ())
        values = self._base_context(subscriber, topics)
        if kind == "goodbye":
            values["unsubscribe_url"] = None
            values["preferences_url"] = None
            values["subscribe_url"] = self.links.subscribe()
            if subscriber is not None:
                values["resubscribe_url"] = self.links.resubscribe(subscriber, now=now)
                values["resubscribe_days"] = RESUBSCRIBE_DAYS
        if kind == "confirmation":
            # not subscribed yet: nothing to unsubscribe from or to manage
            values["unsubscribe_url"] = None
            values["preferences_url"] = None
            if subscriber is not None:
                values["confirm_url"] = self.links.confirm(subscriber, now=now)
        values.update({k: v for k, v in context.items() if k != "topics"})
        summary = one_line(str(context.get("summary", "")), 100)
        subject = NOTICE_SUBJECTS[kind].format(list_name=self.settings.list_name, summary=summary)
        values.setdefault("summary", summary)
        values.update(
            subject=one_line(subject, 140),
            preheader=one_line(subject, 140),
            heading=NOTICE_HEADINGS[kind],
            footer_reason=values.get("footer_reason")
            or (
                f"This message about your {self.settings.list_name} subscription was sent to {to}."
                if kind != "alert"
                else f"You get operator alerts because ALERT_EMAIL is {to}."
            ),
        )
        if kind != "welcome":
            values["reply_hint"] = ""
        html, text = self._render(kind, values)
        key = f"{kind}:{to}:{subscriber.id if subscriber else 0}:{now.isoformat()}"
        msg_id = self.links.message_id(kind, key, self._domain)
        return self._message(
            subscriber,
            recipient,
            subject,
            msg_id,
            now,
            text,
            html,
            list_headers=kind == "welcome" and subscriber is not None,
            campaign=kind,
        )

    def web_page(self, edition: Edition, sections: Sequence[Section]) -> str:
        """The edition's page for the web archive: no personal links, no feedback links;
        its own links relative (``index.html``, ``../subscribe``) so the archive folder works
        from disk and behind any ``BASE_URL``."""
        context = self._base_context(None, ())
        context.update(
            archive_url="index.html",
            subscribe_url="../subscribe",
            subject=f"{self.settings.list_name}: {views.day_label(edition.date)}",
            preheader=views.preheader(sections),
            heading=views.day_label(edition.date),
            sections=self._sections(edition, sections, ""),
            footer_reason=(
                f"This is the web version of the {self.settings.list_name} edition of "
                f"{views.day_label(edition.date)}."
            ),
        )
        return self._render("digest", context)[0]

    # -- assembly ------------------------------------------------------------------------

    def quiet_headers(self, campaign: str) -> dict[str, str]:
        """The headers of list mail that ask responders to stay quiet: ``Precedence: bulk``
        (RFC 3834 §3.1.8 asks responders to honour it), ``X-Auto-Response-Suppress: OOF,
        AutoReply`` (Microsoft Exchange) and ``Feedback-ID`` (Gmail's feedback loop:
        ``campaign:list:sender``)."""
        return {
            "Precedence": "bulk",
            "X-Auto-Response-Suppress": "OOF, AutoReply",
            "Feedback-ID": f"{campaign}:{self._slug}:{self._domain}",
        }

    def _message(
        self,
        subscriber: Subscriber | None,
        to: Any,
        subject: str,
        msg_id: str,
        now: dt.datetime,
        text: str,
        html: str,
        *,
        list_headers: bool,
        campaign: str = "digest",
        encoded: Sequence[tuple[str, bytes]] = (),
        unsubscribe_url: str | None = None,
        edition_date: dt.date | None = None,
    ) -> Message:
        """The ``Message``; ``encoded``: ``(part, its quoted-printable)`` already made;
        ``unsubscribe_url``: the reader's, already signed for the body."""
        headers = {"List-Id": self._list_id}
        if list_headers and subscriber is not None:
            headers.update(self.quiet_headers(campaign))
            unsubscribe = unsubscribe_url or self.links.unsubscribe(subscriber)
            mailto = self.links.mailto("unsubscribe", subscriber)
            headers["List-Unsubscribe"] = f"<{unsubscribe}>, <{mailto}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            headers["Reply-To"] = self.links.command_address("reply", subscriber)
        data = build_message(
            sender=self._sender,
            to=to,
            subject=subject,
            msg_id=msg_id,
            date=now,
            text=text,
            html=html,
            extra_headers=headers,
            encode=_reusing(encoded, self._qp.encode) if encoded else self._qp.encode,
        )
        return Message(
            subscriber_id=subscriber.id if subscriber is not None else 0,
            to=to.addr_spec,
            sender=self._sender.addr_spec,
            message_id=msg_id,
            subject=short_line(subject, 200),
            data=data,
            html=html,
            text=text,
            return_path=self.links.return_path(subscriber)
            if self.settings.uses_verp and subscriber is not None
            else "",
            edition_date=edition_date,
        )


def _reusing(
    done: Sequence[tuple[str, bytes]], encode: Callable[[str], bytes]
) -> Callable[[str], bytes]:
    """``encode``, except that a part in ``done`` (the same object) gives its encoding."""

    def encoded(text: str) -> bytes:
        for content, data in done:
            if text is content:
                return data
        return encode(text)

    return encoded
