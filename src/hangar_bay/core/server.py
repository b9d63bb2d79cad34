"""The HTTP server's own edge: uvicorn's httptools protocol, answering an overlong URL
with a 414 in the error format.

The HTTP parser gives up on a request line longer than its own limit (about 80 KB)
before the app sees it, and uvicorn then answered a plain-text 400. URLs longer than
``HANGAR_MAX_URL_LENGTH`` but under the parser's limit reach the middleware, which
answers 414 itself; this covers the ones that never get that far.
"""

from __future__ import annotations

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from hangar_bay.core.errors import error_body

_BODY = orjson.dumps(error_body("uri_too_long", "the URL is too long"))


class HangarHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a 414 for a URL the parser refused."""

    # Set per server by protocol_for(); a URL at least this long that fails to parse
    # was refused for its length.
    max_url_length = 8192

    def send_400_response(self, msg: str) -> None:
        url = getattr(self, "url", b"")
        if len(url) < self.max_url_length:
            super().send_400_response(msg)
            return
        status = STATUS_LINE.get(414) or b"HTTP/1.1 414 URI Too Long\r\n"
        content = [status]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(_BODY)).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                _BODY,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


def protocol_for(max_url_length: int) -> type[HangarHttpProtocol]:
    return type("HangarHttpProtocol", (HangarHttpProtocol,), {"max_url_length": max_url_length})
