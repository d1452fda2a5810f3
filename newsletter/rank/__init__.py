"""Ranking: an edition's papers, per subscriber profile, into email sections.

``Ranker(papers, ...)`` is built once per edition; ``rank(profile, feedback)`` and
``rank_many(profiles, feedbacks)`` return ``tuple[Section, ...]`` per subscriber.
"""

from newsletter.rank.features import Weights
from newsletter.rank.ranker import Ranker

__all__ = ["Ranker", "Weights"]
