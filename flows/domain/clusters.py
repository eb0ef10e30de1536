"""Which cluster's region a place belongs to.

A place in one of a cluster's districts belongs to it; where regions overlap (Landkreis Bautzen is
in two), the cluster with the smaller region wins, as it is the more specific one. A place outside
every region goes to the cluster with the nearest reference town.
"""
from __future__ import annotations

from flows.core.model import ClusterInfo
from flows.core.ports import PlaceDirectory
from flows.domain.geo import Place, place_distance_km

REGION_RADIUS_KM = 60.0  # farther than this from every reference town: outside all regions


def nearest_cluster(
    place: Place, clusters: list[ClusterInfo], places: PlaceDirectory
) -> tuple[ClusterInfo, float] | None:
    inside = [c for c in clusters if place.district and place.district in c.districts]
    if inside:
        smallest = min(len(c.districts) for c in inside)
        clusters = [c for c in inside if len(c.districts) == smallest]
    best: tuple[ClusterInfo, float] | None = None
    for cluster in clusters:
        for name, plz in cluster.towns:
            town = places.find(plz, name)
            if town is None:
                continue
            km = place_distance_km(place, town)
            if best is None or km < best[1]:
                best = (cluster, km)
    if best is not None and inside:
        return best[0], 0.0  # inside the region, whatever the distance to its reference towns
    return best
