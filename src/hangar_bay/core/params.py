"""One value per one-value parameter: a query parameter (or form field) that takes one
value and is given twice is a 422 naming it, never a silent pick of one of the two.

FastAPI alone keeps the last of ``?days=1&days=2``; the browse API refuses it
(``ContractFilters.from_multi``), and every other route should answer the same way, in
the same shape: ``{"error": "validation_error", "detail": [{"loc": ["query", "days"],
"msg": REPEATED_MESSAGE, "type": "repeated"}]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator

# The browse API's wording (contracts/schemas.py), so every route says it alike.
REPEATED_MESSAGE = "given more than once; this parameter takes one value"
REPEATED_TYPE = "repeated"

_SEQUENCES = (list, set, frozenset, tuple)


def _takes_many(annotation: Any) -> bool:
    """Whether a parameter annotated ``annotation`` accepts repeats (a list, set...)."""
    origin = get_origin(annotation)
    if origin in _SEQUENCES or annotation in _SEQUENCES:
        return True
    if origin is Annotated:
        return _takes_many(get_args(annotation)[0])
    if origin is Union or type(annotation).__name__ == "UnionType":
        return any(_takes_many(arg) for arg in get_args(annotation) if arg is not type(None))
    return isinstance(origin, type) and issubclass(origin, Sequence) and origin is not str


def _one_value_names(dependant: Dependant) -> frozenset[str]:
    """The query parameters (by name in the URL) of ``dependant`` and everything it
    depends on that take one value."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            if not _takes_many(field.field_info.annotation):
                names.add(field.alias)
        pending.extend(current.dependencies)
    return frozenset(names)


# Worked out once per route and kept on it (routes are not hashable, so no mapping):
# a route's parameters do not change after start-up.
_NAMES_ATTRIBUTE = "_hangar_one_value_names"


def repeated_errors(where: str, names: Iterable[str], values: Any) -> list[dict[str, Any]]:
    """FastAPI-style error items for each of ``names`` given more than once in
    ``values`` (a multi-dict: query parameters or a form), ``loc`` ``[where, name]``."""
    errors: list[dict[str, Any]] = []
    for name in names:
        given = values.getlist(name)
        if len(given) > 1:
            errors.append(
                {
                    "loc": (where, name),
                    "msg": REPEATED_MESSAGE,
                    "type": REPEATED_TYPE,
                    "input": list(given),
                }
            )
    return errors


def repeated_problems(form: Any, *names: str) -> list[str]:
    """A form page's 422 problems, ``"<field>: given more than once; ..."``, for each of
    ``names`` that ``form`` (a multi-dict: Starlette's ``FormData``) holds more than
    once; empty when each came at most once."""
    return [f"{error['loc'][1]}: {error['msg']}" for error in repeated_errors("form", names, form)]


async def one_value_each(request: Request) -> None:
    """A dependency: 422 (``RequestValidationError``, ``loc`` ``["query", <name>]``)
    when a query parameter of the matched route that takes one value is given more than
    once. Parameters typed as lists may repeat. Declare it after the session/auth
    dependencies so a visitor still gets the 401 first, as for any other bad value."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    names: frozenset[str] | None = getattr(route, _NAMES_ATTRIBUTE, None)
    if names is None:
        names = _one_value_names(dependant)
        setattr(route, _NAMES_ATTRIBUTE, names)
    errors = repeated_errors("query", sorted(names), request.query_params)
    if errors:
        raise RequestValidationError(errors)


OneValueEach = Annotated[None, Depends(one_value_each)]


def whole_number(value: Any) -> Any:
    """For path ids: the text of a whole number as it came in the URL, digits only.

    FastAPI's lax integer parsing would also take ``"1.0"``, ``"1_000"`` and ``"+1"``
    for id 1; the pages refuse those, and so does the API (422 naming the id)."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("expected a positive whole number")
    return value


# Put after ``Path(...)`` in a path id's ``Annotated``: before it, FastAPI documents
# Path's bounds as bare ``ge``/``le`` keys, which JSON Schema ignores, so the document
# would allow the ids the API refuses (schemathesis found ``-402``).
WholeNumber = BeforeValidator(whole_number)
