"""Reading /metrics the way Prometheus does (prometheus_client's parser), for the ops tests."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 if there is none)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def has(text: str, name: str, **labels: str) -> bool:
    return any(sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
               for family in text_string_to_metric_families(text) for sample in family.samples)
