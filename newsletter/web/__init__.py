"""The subscription web app: subscribe, confirm, unsubscribe, preferences, feedback, archive."""

from newsletter.web.app import create_app

__all__ = ["create_app"]
