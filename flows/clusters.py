"""Which cluster's region a place belongs to: the one with the nearest reference town."""
from __future__ import annotations

from flows.geo import Place, place_distance_km
from flows.model import ClusterInfo
from flows.ports import PlaceDirectory

REGION_RADIUS_KM = 60.0  # farther than this from every reference town: outside all regions


def nearest_cluster(
    place: Place, clusters: list[ClusterInfo], places: PlaceDirectory
) -> tuple[ClusterInfo, float] | None:
    best: tuple[ClusterInfo, float] | None = None
    for cluster in clusters:
        for _, plz in cluster.towns:
            for town in places.lookup(plz)[:1]:
                km = place_distance_km(place, town)
                if best is None or km < best[1]:
                    best = (cluster, km)
    return best
