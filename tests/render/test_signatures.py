"""One signed token per email for its feedback links (issue 18): the signatures a digest
costs do not grow with its papers, and the edition token reads back as what was signed."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass, field

import pytest

from newsletter.config import Settings
from newsletter.errors import TokenError
from newsletter.links import Links, holder
from newsletter.models import Edition, Subscriber
from newsletter.render import Renderer
from newsletter.tokens import Holder, Signer
from tests.render.editions import BASE_URL, NOW, split_sections


@dataclass(frozen=True)
class CountingSigner(Signer):
    """A ``Signer`` that counts what it signs, by purpose."""

    counts: collections.Counter[str] = field(default_factory=collections.Counter)

    def sign(
        self, purpose: str, holder: Holder | None, data: bytes = b"", *, now: float | None = None
    ) -> str:
        self.counts[purpose] += 1
        return super().sign(purpose, holder, data, now=now)


def _signatures(settings: Settings, edition: Edition, reader: Subscriber, papers: int) -> int:
    signer = CountingSigner((b"test-secret",))
    renderer = Renderer(settings, Links(BASE_URL, signer, "papers@example.org"))
    sections = split_sections(list(edition.papers[:papers]), reader.topics)
    renderer.digest(edition, reader, sections, now=NOW)
    assert signer.counts["feedback"] == 0 and signer.counts["edition"] == 1
    return sum(signer.counts.values())


def test_signatures_per_digest_do_not_grow_with_its_papers(
    settings: Settings, largest_day: Edition, subscriber: Subscriber
) -> None:
    few = _signatures(settings, largest_day, subscriber, 3)
    many = _signatures(settings, largest_day, subscriber, 29)
    assert few == many
    # unsubscribe, preferences, the edition token (the view link and the feedback links
    # hang on it), Reply-To and the List-Unsubscribe mailto (both reply tokens); before
    # issue 18, 2 more per paper and one for the view link.
    assert many == 5


def test_edition_token_reads_back_reader_date_paper_and_signal(
    links: Links, subscriber: Subscriber
) -> None:
    day = dt.date(2026, 8, 18)
    token = links.edition_token(subscriber, day)
    assert len(token) <= 40
    find = {subscriber.id: subscriber}.get
    for arxiv_id in ("2608.15265", "hep-th/9901001"):
        for signal, word in ((1, "more"), (-1, "less")):
            url = links.feedback_url(token, arxiv_id, signal)
            assert url == f"{BASE_URL}/feedback/{token}/{word}/{arxiv_id}"
            assert links.edition_feedback_for(token, word, arxiv_id, find, NOW) == (
                subscriber,
                day,
                arxiv_id,
                signal,
            )


@pytest.mark.parametrize("word", ["", "More", "plus", "+1"])
def test_edition_token_refuses_other_signal_words(
    links: Links, subscriber: Subscriber, word: str
) -> None:
    token = links.edition_token(subscriber, dt.date(2026, 8, 18))
    with pytest.raises(TokenError):
        links.edition_feedback_for(token, word, "2608.15265", {subscriber.id: subscriber}.get, NOW)


def test_tokens_of_other_purposes_and_readers_are_not_edition_tokens(
    links: Links, subscriber: Subscriber
) -> None:
    day = dt.date(2026, 8, 18)
    other = Subscriber(subscriber.id + 1, "bob@example.org", token_nonce="bob-nonce")
    find = {subscriber.id: subscriber, other.id: other}.get
    # the "view" token of emails before issue 18 signs the same reader and date
    view = links.signer.sign("view", holder(subscriber), day.isoformat().encode("ascii"))
    old = links.feedback(subscriber, "2608.15265", 1).rsplit("/", 1)[1]
    same_id_other_nonce = Subscriber(subscriber.id, subscriber.email, token_nonce="another")
    for token in (view, old, links.edition_token(same_id_other_nonce, day)):
        with pytest.raises(TokenError):
            links.edition_feedback_for(token, "more", "2608.15265", find, NOW)
