"""What personal pages cost on top of the shared browse page cache.

Pages are cached as a visitor sees them; a logged-in pilot's response gets the account
pieces (header, "Save this search") swapped for theirs and a fresh ETag over the result
(``hangar_bay.accounts.fragments.personalise``). This times that step alone, for a
visitor (nothing to do) and for a pilot, on a page of about the default page's size
(84 KB).

    .venv/bin/python bench/accounts_pages.py [--calls 2000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import time

from starlette.requests import Request

from hangar_bay.accounts.deps import Auth
from hangar_bay.accounts.fragments import personalise
from hangar_bay.contracts.http import etag_for
from hangar_bay.models import User
from hangar_bay.web.router import templates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "query_string": b"group_id=419&sort=price",
        "headers": [],
        "state": {},
    }
    request = Request(scope)
    body = (
        b"<html><header><!--hb:account--><a>Log in</a><!--/hb:account--></header>"
        + b"<tr><td>row</td></tr>" * 4000
        + b"<!--hb:save-search--><a>Log in to save</a><!--/hb:save-search--></html>"
    )
    etag = etag_for(body)
    user = User(id=1, character_id=91000001, character_name="Pilot", owner_hash="x")
    pilot = Auth(user=user, session_id="s", csrf_token="t" * 43)
    for label, auth in (("visitor", None), ("pilot", pilot)):
        runs = []
        for _ in range(args.runs):
            start = time.perf_counter()
            for _ in range(args.calls):
                personalise(templates, request, auth, body, etag, save_query="group_id=419")
            runs.append((time.perf_counter() - start) / args.calls * 1e6)
        print(
            f"{label}: {len(body)} B page, µs per response "
            f"min/median/max {min(runs):.0f}/{statistics.median(runs):.0f}/{max(runs):.0f}"
        )


if __name__ == "__main__":
    main()
