"""Accounts (F004-F006): EVE SSO login, server-side sessions, CSRF, saved searches and
watchlists.

* :mod:`.deps` — the FastAPI dependencies every authenticated route uses
  (``current_user``, ``optional_user``, ``require_csrf``);
* :mod:`.sessions` — the ``hangar_session`` cookie and its table;
* :mod:`.sso` — OAuth 2.0 authorization code flow against EVE SSO and token validation;
* :mod:`.service` — users (one row per character and owner hash), saved searches,
  watch entries;
* :mod:`.router` (JSON and ``/auth``) and :mod:`.pages` (``/me`` and its forms);
* :mod:`.testing` — log a pilot in from a test without the browser.
"""
