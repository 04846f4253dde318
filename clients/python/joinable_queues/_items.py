"""Items as JSON: JSON's own values as they are, tuples and bytes in a tagged form, and a PriorityQueue's key.

A tuple is ``{"$tuple": [...]}`` and bytes are ``{"$bytes": "<base64>"}``, so a consumer in another language sees
documented JSON and a Python consumer gets back exactly what was put. Anything else is refused at put, never turned
into a different item at get.
"""
from __future__ import annotations

import base64
import json
import math
from typing import Any, Optional

TUPLE = "$tuple"
BYTES = "$bytes"


def _tag(value: dict) -> Optional[str]:
    """The tag of a tagged value: a one-key object, "$tuple" with an array or "$bytes" with a string."""
    if len(value) != 1:
        return None
    key, inner = next(iter(value.items()))
    return key if (key, type(inner)) in ((TUPLE, list), (BYTES, str)) else None


def encode(value: Any, where: str = "item") -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where} is {value}, which JSON cannot carry")
        return value
    if isinstance(value, (list, tuple)):
        items = [encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else {TUPLE: items}
    if isinstance(value, bytes):
        return {BYTES: base64.b64encode(value).decode()}
    if isinstance(value, dict):
        if _tag(value):
            raise TypeError(f"{where} is a dict in the tagged form {{{_tag(value)!r}: ...}}: it would come back as a "
                            "tuple or bytes, not a dict")
        for k in value:
            if not isinstance(k, str):
                raise TypeError(f"{where} has the key {k!r}: JSON object keys are strings")
        return {k: encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    raise TypeError(
        f"{where} is a {type(value).__name__}, not a JSON value (dict, list, str, int, float, bool, None), a tuple "
        "or bytes; pass serializer= to carry other objects"
    )


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        tag = _tag(value)
        if tag == TUPLE:
            return tuple(decode(v) for v in value[TUPLE])
        if tag == BYTES:
            return base64.b64decode(value[BYTES], validate=True)
        return {k: decode(v) for k, v in value.items()}
    return value


# What the service indexes of a priority key (its PutRequest schema): strings of up to 64 UTF-16 code units, arrays
# of up to 8 elements nested two deep, 256 characters of JSON in all.
_KEY_STRING, _KEY_ELEMENTS, _KEY_DEPTH, _KEY_JSON = 64, 8, 2, 256


def priority_key(item: Any) -> Any:
    """The orderable prefix of an item, what Python's comparisons would look at, cut where the service's index ends:
    items equal up to there come out first in, first out. Empty (``[]``) when the item starts with no number or
    string."""
    key = _key(item, 0)
    if key is None:
        return []
    while isinstance(key, list) and len(_utf16(json.dumps(key, ensure_ascii=False))) > 2 * _KEY_JSON:
        key.pop()
    return key


def _utf16(text: str) -> bytes:
    """JavaScript's strings, whose length the service checks, count UTF-16 code units."""
    return text.encode("utf-16-le", "surrogatepass")


def _key(item: Any, depth: int) -> Any:
    if isinstance(item, bool):
        return int(item)
    if isinstance(item, (int, float)):
        return item
    if isinstance(item, str):
        return _utf16(item)[: 2 * _KEY_STRING].decode("utf-16-le", "surrogatepass")
    if isinstance(item, (tuple, list)) and depth < _KEY_DEPTH:
        key = []
        for element in item[:_KEY_ELEMENTS]:
            k = _key(element, depth + 1)
            if k is None:
                break
            key.append(k)
        return key
    return None
