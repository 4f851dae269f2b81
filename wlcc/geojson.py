"""GeoJSON (RFC 7946) for the complaint exports: points, features, a feature collection.

Pure functions, no storage. What RFC 7946 asks and this follows:

* positions are ``[longitude, latitude]`` in that order (section 3.1.1), WGS 84 decimal
  degrees, no ``crs`` member (the CRS is always WGS 84, section 4);
* a Feature has ``"type": "Feature"``, a ``geometry`` (``null`` for a feature without a
  place: section 3.2), ``properties`` (an object or ``null``) and optionally an ``id``
  (a string or a number);
* precision: six decimal places are about 10 cm, more than a phone's pin knows (section
  11.2 recommends not going beyond it), so positions are rounded to ``places`` (6 unless told).

``dumps`` writes the collection as UTF-8 JSON text (non-ASCII kept as is, which RFC 8259
allows), one feature per line so a large export stays readable and diffable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["dumps", "feature", "feature_collection", "point"]


def point(lon: float, lat: float, *, places: int = 6) -> dict[str, Any]:
    """A Point geometry at (``lon``, ``lat``); a ValueError outside WGS 84's ranges."""
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError("a position needs finite numbers")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside -180..180")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude {lat} is outside -90..90")
    return {"type": "Point", "coordinates": [round(lon, places), round(lat, places)]}


def feature(
    geometry: Mapping[str, Any] | None,
    properties: Mapping[str, Any] | None,
    *,
    id: str | int | None = None,
) -> dict[str, Any]:
    """One Feature; ``geometry`` None for a feature without a place."""
    result: dict[str, Any] = {"type": "Feature"}
    if id is not None:
        if isinstance(id, bool) or not isinstance(id, str | int):
            raise ValueError("a feature id is a string or a number")
        result["id"] = id
    result["geometry"] = dict(geometry) if geometry is not None else None
    result["properties"] = dict(properties) if properties is not None else None
    return result


def feature_collection(features: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [dict(f) for f in features]}


def dumps(collection: Mapping[str, Any]) -> str:
    """The collection as JSON text, one feature per line (a valid JSON document)."""
    features = list(collection.get("features", []))
    head = {k: v for k, v in collection.items() if k != "features"}
    opening = json.dumps(head, ensure_ascii=False)[:-1]  # without its closing brace
    if not features:
        return f'{opening}, "features": []}}\n'
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, allow_nan=False) for f in features)
    return f'{opening}, "features": [\n{lines}\n]}}\n'
