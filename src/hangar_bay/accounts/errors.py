"""The 422 the accounts API gives for bodies that parse but cannot be accepted (an
unknown ship type, a bad browse parameter, a limit reached), in the same shape as
FastAPI's own validation errors."""

from __future__ import annotations

from pydantic import ValidationError

from hangar_bay.core.errors import HangarError


class Invalid(HangarError):
    status_code = 422
    code = "validation_error"

    def __init__(self, field: str | list[str | int], msg: str, kind: str = "value_error") -> None:
        loc = ["body", *(field if isinstance(field, list) else [field])]
        super().__init__([{"loc": loc, "msg": msg, "type": kind}])
        self.problems = [f"{'.'.join(str(p) for p in loc[1:]) or 'body'}: {msg}"]

    @classmethod
    def from_query(cls, exc: ValidationError) -> Invalid:
        """A browse-parameter error inside a saved search's ``query``, naming the parameter."""
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "query"
        out = cls(["query", name], first["msg"])
        out.detail = [
            {
                "loc": ["body", "query", *(str(p) for p in err["loc"])],
                "msg": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        out.problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'query'}: {err['msg']}"
            for err in exc.errors()
        ]
        return out
