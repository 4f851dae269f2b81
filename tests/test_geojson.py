"""The GeoJSON writer (wlcc/geojson.py) against RFC 7946's rules."""

from __future__ import annotations

import json

import pytest

from wlcc.geojson import dumps, feature, feature_collection, point


def test_a_point_is_longitude_then_latitude() -> None:
    # Palembang: about 2.99 S, 104.76 E. Longitude first (RFC 7946 3.1.1).
    assert point(104.7568, -2.9909) == {"type": "Point", "coordinates": [104.7568, -2.9909]}


def test_positions_are_rounded_to_the_places_asked() -> None:
    assert point(104.75681234, -2.99091234)["coordinates"] == [104.756812, -2.990912]
    assert point(104.75681234, -2.99091234, places=3)["coordinates"] == [104.757, -2.991]


@pytest.mark.parametrize(
    "lon, lat", [(181.0, 0.0), (-180.5, 0.0), (0.0, 90.1), (0.0, -91.0), (float("nan"), 0.0)]
)
def test_positions_outside_wgs84_are_refused(lon: float, lat: float) -> None:
    with pytest.raises(ValueError):
        point(lon, lat)


def test_a_feature_without_a_place_has_a_null_geometry() -> None:
    made = feature(None, {"code": "AL-7K3Q9"}, id="AL-7K3Q9")
    assert made == {
        "type": "Feature",
        "id": "AL-7K3Q9",
        "geometry": None,
        "properties": {"code": "AL-7K3Q9"},
    }


def test_a_feature_id_is_a_string_or_a_number() -> None:
    assert feature(None, None, id=7)["id"] == 7
    assert "id" not in feature(None, None)
    with pytest.raises(ValueError):
        feature(None, None, id=True)


def test_the_collection_is_valid_json_with_no_crs() -> None:
    collection = feature_collection(
        [
            feature(point(104.75, -2.99), {"kelurahan": "23 Ilir", "n": 1}, id="AL-1"),
            feature(None, {"kelurahan": "19 Ilir", "n": 2}, id="AL-2"),
        ]
    )
    text = dumps(collection)
    parsed = json.loads(text)
    assert parsed == collection
    assert parsed["type"] == "FeatureCollection"
    assert "crs" not in parsed
    assert parsed["features"][0]["geometry"]["coordinates"] == [104.75, -2.99]
    # One feature per line.
    assert len(text.strip().splitlines()) == 4


def test_an_empty_collection() -> None:
    text = dumps(feature_collection([]))
    assert json.loads(text) == {"type": "FeatureCollection", "features": []}


def test_text_stays_utf8_and_nan_is_refused() -> None:
    text = dumps(feature_collection([feature(None, {"alamat": "Jl. Kebon Jahé"})]))
    assert "Jahé" in text
    with pytest.raises(ValueError):
        dumps(feature_collection([feature(None, {"x": float("nan")})]))
