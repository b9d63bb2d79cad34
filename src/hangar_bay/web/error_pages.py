"""The friendly HTML error page, for :mod:`hangar_bay.core.errors` to render.

Pages (and browsers on unknown paths) get this instead of the API's JSON error; the
status code is the same either way.
"""

from __future__ import annotations

from hangar_bay.web.router import templates


def render_error_page(status_code: int, title: str, problems: list[str]) -> bytes:
    """A complete HTML page naming what went wrong; ``problems`` are shown as a list."""
    template = templates.get_template("error.html")
    return template.render(
        title=title, problems=problems, back="/", status_code=status_code
    ).encode()
