"""The partitioner is Kafka's Java default (vectors checked against Utils.murmur2 by tools' PythonClientContractTest)."""

import json
import os

import pytest

from gradstream import murmur2, partition_for

with open(os.path.join(os.path.dirname(__file__), "vectors", "murmur2.json")) as f:
    VECTORS = json.load(f)


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: v["key"][:20] or "empty")
def test_matches_the_vectors(v):
    assert murmur2(v["key"].encode("utf-8")) == v["murmur2"]
    for n, p in v["partitions"].items():
        assert partition_for(v["key"], int(n)) == p


def test_every_tail_length_is_covered_and_partitions_are_checked():
    assert {len(v["key"]) % 4 for v in VECTORS} == {0, 1, 2, 3}
    assert any(v["murmur2"] < 0 for v in VECTORS)
    with pytest.raises(ValueError, match="partitions must be >= 1, got 0"):
        partition_for("m/w/0", 0)
