"""The whole preferences form, gentler exits on the unsubscribe page, feedback undo."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import select

from newsletter.links import Links
from newsletter.models import Message, Paper, Profile, Subscriber
from newsletter.store import editions, subscribers
from newsletter.store.db import Store
from newsletter.store.schema import feedback
from tests.support.clock import FakeClock
from tests.support.forms import csrf_of
from tests.web.helpers import parsed, urls_in


def add(store: Store, clock: FakeClock, status: str = "active") -> Subscriber:
    with store.begin() as conn:
        return subscribers.add(
            conn,
            "ada@example.org",
            now=clock(),
            profile=Profile(topics=("graph neural networks",), exclude=("survey",)),
            status=status,  # type: ignore[arg-type]
        )


def get(store: Store, sid: int) -> Subscriber:
    with store.begin() as conn:
        return subscribers.get(conn, sid)


async def test_every_field_is_shown_saved_and_the_change_told(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock)
    url = links.preferences(sub)
    page = await client.get(url)
    assert 'value="cs.RO"' in page.text and "Robotics" in page.text  # the category list
    assert 'id="category-filter"' in page.text
    assert ">survey</textarea>" in page.text  # exclusions shown
    assert get(store, sub.id) == sub  # a GET changes nothing
    saved = await client.post(
        url,
        data={
            "action": "save",
            "csrf": csrf_of(page),
            "topics": "graph neural networks\nprotein folding",
            "categories": ["cs.RO", "q-bio.BM"],
            "authors": "Yoshua Bengio",
            "exclude": "",
            "frequency": "weekly",
        },
    )
    assert saved.status_code == 200
    after = get(store, sub.id)
    assert after.profile == Profile(
        topics=("graph neural networks", "protein folding"),
        categories=("cs.RO", "q-bio.BM"),
        authors=("Yoshua Bengio",),
        exclude=(),
    )
    assert after.frequency == "weekly"
    for sentence in (
        "Added to topics: protein folding.",
        "Added to categories: cs.RO, q-bio.BM.",
        "Added to followed authors: Yoshua Bengio.",
        "Removed from exclusions: survey.",
        "Frequency: now weekly (was daily).",
    ):
        assert sentence in saved.text, sentence
    assert 'value="cs.RO" checked' in saved.text


async def test_unknown_category_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock)
    url = links.preferences(sub)
    token = csrf_of(await client.get(url))
    answer = await client.post(
        url, data={"action": "save", "csrf": token, "topics": "x", "categories": "cs.NOPE"}
    )
    assert answer.status_code == 400 and "not an arXiv category" in answer.text
    assert "Traceback" not in answer.text
    assert get(store, sub.id).profile == sub.profile


async def test_pause_indefinitely_then_resume(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock)
    url = links.preferences(sub)
    token = csrf_of(await client.get(url))
    paused = await client.post(url, data={"action": "pause_indefinitely", "csrf": token})
    assert paused.status_code == 200 and "Paused until you resume" in paused.text
    after = get(store, sub.id)
    assert (after.status, after.paused_until) == ("paused", None)
    assert not subscribers.is_sendable(after, clock().date() + dt.timedelta(days=400))
    resumed = await client.post(url, data={"action": "resume", "csrf": token})
    assert "Resumed" in resumed.text and get(store, sub.id).status == "active"


async def test_unsubscribed_reader_subscribes_again(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock, status="unsubscribed")
    url = links.preferences(sub)
    page = await client.get(url)
    assert "Subscribe again" in page.text and get(store, sub.id).status == "unsubscribed"
    answer = await client.post(url, data={"action": "resubscribe", "csrf": csrf_of(page)})
    assert answer.status_code == 200 and "Subscribed again" in answer.text
    assert get(store, sub.id).status == "active"
    again = await client.post(url, data={"action": "resubscribe", "csrf": csrf_of(page)})
    assert again.status_code == 400  # already active: refused, said plainly


async def test_bounced_reader_reactivates_by_a_new_confirmation(
    client: httpx.AsyncClient,
    store: Store,
    clock: FakeClock,
    links: Links,
    outbox: list[Message],
) -> None:
    sub = add(store, clock, status="bounced")
    url = links.preferences(sub)
    page = await client.get(url)
    assert "Send me a confirmation email" in page.text
    answer = await client.post(url, data={"action": "reactivate", "csrf": csrf_of(page)})
    assert answer.status_code == 200 and "confirmation email is on its way" in answer.text
    assert get(store, sub.id).status == "bounced"  # not before the address proves itself
    assert [parsed(m)["To"] for m in outbox] == ["ada@example.org"]
    confirm_url = next(u for u in urls_in(outbox[0]) if "/confirm/" in u)
    path = confirm_url[confirm_url.index("/confirm/") :]
    done = await client.post(path)
    assert done.status_code == 200
    after = get(store, sub.id)
    assert after.status == "active"


async def test_unsubscribe_page_offers_weekly_and_pause(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    sub = add(store, clock)
    page = await client.get(links.unsubscribe(sub))
    assert "Switch to weekly" in page.text and "Pause until I resume" in page.text
    pref = links.preferences(sub).removeprefix("http://testserver")
    assert f'action="{links.preferences(sub)}"' in page.text
    weekly = await client.post(pref, data={"action": "weekly", "csrf": csrf_of(page)})
    assert "now weekly" in weekly.text
    after = get(store, sub.id)
    assert (after.status, after.frequency) == ("active", "weekly")
    # RFC 8058 one-click: the same bare POST as before, no cookie, no CSRF field
    one_click = await client.post(links.unsubscribe(sub), data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200 and get(store, sub.id).status == "unsubscribed"
    assert "Subscribe again" in one_click.text and links.preferences(sub) in one_click.text


async def test_feedback_answer_says_what_happened_and_undoes(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    paper = Paper(arxiv_id="2403.15527", title="Graph things", abstract="...")
    with store.begin() as conn:
        sub = subscribers.add(conn, "ada@example.org", now=clock())
        editions.freeze(conn, clock().date(), [paper], sources=["sample"], now=clock())

    def signals() -> list[tuple[int, str, int]]:
        with store.begin() as conn:
            rows = conn.execute(
                select(feedback.c.subscriber_id, feedback.c.arxiv_id, feedback.c.signal)
            ).all()
        return [tuple(r) for r in rows]

    url = links.feedback(sub, paper.arxiv_id, +1)
    done = await client.post(url)
    assert "more papers like this one" in done.text and "Graph things" in done.text
    assert 'value="undo"' in done.text and links.preferences(sub) in done.text
    assert signals() == [(sub.id, "2403.15527", 1)]
    undone = await client.post(url, data={"action": "undo"})
    assert undone.status_code == 200 and "Undone" in undone.text
    assert links.preferences(sub) in undone.text
    assert signals() == []
    # undo of a click that a later, opposite click replaced keeps the later one
    await client.post(links.feedback(sub, paper.arxiv_id, -1))
    await client.post(url, data={"action": "undo"})
    assert signals() == [(sub.id, "2403.15527", -1)]


async def test_a_topic_that_looks_like_a_typo_gets_did_you_mean(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    """Issue 16 item 3 in the form: the topic is saved as written, and the answer names the
    close word of the latest edition's papers."""
    papers = [
        Paper(
            arxiv_id=f"2611.0000{i}",
            title=f"Continual learning without forgetting, part {i}",
            abstract="We study continual learning of language models across tasks.",
        )
        for i in range(3)
    ]
    with store.begin() as conn:
        editions.freeze(conn, clock().date(), papers, sources=["sample"], now=clock())
    sub = add(store, clock)
    url = links.preferences(sub)
    page = await client.get(url)
    form = {"action": "save", "csrf": csrf_of(page), "frequency": "daily", "exclude": ""}
    saved = await client.post(url, data=form | {"topics": "contiual learning"})
    assert saved.status_code == 200
    assert get(store, sub.id).profile.topics == ("contiual learning",)
    assert "Did you mean “continual learning” for “contiual learning”?" in saved.text
    fine = await client.post(
        url, data=form | {"csrf": csrf_of(saved), "topics": "continual learning"}
    )
    assert "Did you mean" not in fine.text


async def test_a_saved_topic_is_embedded_for_the_next_run(
    client: httpx.AsyncClient, store: Store, clock: FakeClock, links: Links
) -> None:
    """Issue 16 speed: the form caches the new topic's vector (``topic_vectors``), so the
    daily run does not embed it; nothing is cached without the semantic extra."""
    from newsletter.rank.embed import DIMENSIONS, MODEL_ID, load_encoder
    from newsletter.store import embeddings as stored

    sub = add(store, clock)
    url = links.preferences(sub)
    page = await client.get(url)
    form = {"action": "save", "csrf": csrf_of(page), "frequency": "daily", "exclude": ""}
    saved = await client.post(url, data=form | {"topics": "Lifelong Learning"})
    assert saved.status_code == 200
    with store.begin() as conn:
        found = stored.load_topics(conn, MODEL_ID, ["lifelong learning"], DIMENSIONS)
    assert set(found) == ({"lifelong learning"} if load_encoder() is not None else set())
