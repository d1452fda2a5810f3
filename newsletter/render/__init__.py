"""Render: MJML + Jinja2 templates -> one ``Message`` per subscriber (see ``renderer``)."""

from newsletter.render.renderer import NOTICE_KINDS, Renderer

__all__ = ["NOTICE_KINDS", "Renderer"]
