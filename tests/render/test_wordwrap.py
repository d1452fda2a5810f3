"""The footer's wordwrap (``render.compile``): the greedy fill of simple texts and the
skeleton's printed values remembered from one email to the next give what Jinja gives."""

from __future__ import annotations

import random

import jinja2
from markupsafe import Markup

from newsletter.render.assemble import split_item_loop
from newsletter.render.compile import _greedy, jinja_environment
from newsletter.render.skeleton import split_skeleton


def test_greedy_fill_is_textwraps_on_simple_texts() -> None:
    plain = jinja2.Environment(keep_trailing_newline=True)
    wrap = plain.from_string("{{ s | wordwrap(w) }}")
    rng = random.Random(72)
    words = ["a", "ab", "reader7@example.org", "topics:", "x" * 20, "\ue000" * 9, "(b),", "~!"]
    greedy = 0
    for _ in range(4000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 30)))
        if rng.random() < 0.1:  # not simple: Jinja's own wrap
            text = rng.choice(["-", "  ", "\t", "é", "\n", " "]).join([text, text])
        width = rng.randint(1, 80)
        ours = _greedy(text, width, "\n")
        if ours is not None:
            greedy += 1
            assert ours == wrap.render(s=text, w=width), (text, width)
        assert jinja_environment([], autoescape=False).from_string("{{ s | wordwrap(w) }}").render(
            s=text, w=width
        ) == wrap.render(s=text, w=width)
    assert greedy > 2000


def test_a_value_like_the_last_emails_prints_as_jinja_prints_it() -> None:
    # A hole remembers its last value and how it printed: the same text as Markup or as
    # str, or another text, must print as Jinja prints it each time.
    env = jinja_environment([], autoescape=True)
    source = (
        "{{ x }}\n{% for s in sections %}{{ s.title }}\n"
        "{% for item in s.items %}{{ item.number }}\n{% endfor %}{% endfor %}"
    )
    cards = split_item_loop(env, source)
    assert cards is not None
    skeleton = split_skeleton(env, source, cards)
    assert skeleton is not None
    whole = env.from_string(source)
    for x in ["a&b", Markup("a&b"), "a&b", "a&b", Markup("<i>"), "<i>", 5, "5", Markup("5")]:
        runs = skeleton.render({"x": x, "sections": []})
        assert runs is not None
        assert "".join(plan.fill(values) for plan, values in runs) == whole.render(x=x, sections=[])
