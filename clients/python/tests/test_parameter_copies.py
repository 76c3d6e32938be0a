"""The subscriber's rule for FULL and DELTA updates (README "What a subscriber sees, and when"), without Kafka."""
import numpy as np

from gradstream import codecs
from gradstream.spec import TensorLayout
from gradstream.transport import ParameterCopies


def _update(version, values, kind="FULL", base=-1, encoding="FP32"):
    data = codecs.encode(encoding, np.asarray(values, dtype=np.float32))
    return {"modelId": "m", "tensor": "w", "shard": 0, "version": version, "kind": kind, "baseVersion": base,
            "epsilonSpent": None,
            "payload": {"encoding": encoding, "elementCount": len(values), "data": data}}


def _copies():
    return ParameterCopies("m", {"w": TensorLayout("w", (3,), 3)})


def test_a_delta_is_added_in_float32_on_exactly_its_base():
    c = _copies()
    assert c._apply(_update(0, [1.0, 2.0, 3.0])) == 1
    assert c._apply(_update(1, [0.1, -0.2, 0.0], kind="DELTA", base=0)) == 1
    expected = (np.float32([1.0, 2.0, 3.0]) + np.float32([0.1, -0.2, 0.0])).astype(np.float32)
    assert c.values["w"].tobytes() == expected.tobytes()
    assert c.versions["w"][0] == 1


def test_a_delta_on_another_base_is_a_gap_until_the_next_full_snapshot():
    c = _copies()
    c._apply(_update(0, [1.0, 2.0, 3.0]))
    assert c._apply(_update(2, [5.0, 5.0, 5.0], kind="DELTA", base=1)) == 0
    assert c.gaps == 1
    assert c.values["w"].tolist() == [1.0, 2.0, 3.0] and c.versions["w"][0] == 0
    assert c._apply(_update(3, [7.0, 8.0, 9.0])) == 1
    assert c.values["w"].tolist() == [7.0, 8.0, 9.0] and c.versions["w"][0] == 3


def test_repeats_are_ignored_and_a_full_update_at_the_same_version_resets_the_copy():
    c = _copies()
    c._apply(_update(0, [1.0, 2.0, 3.0]))
    c._apply(_update(1, [1.0, 1.0, 1.0], kind="DELTA", base=0))
    assert c._apply(_update(1, [1.0, 1.0, 1.0], kind="DELTA", base=0)) == 0
    assert c.values["w"].tolist() == [2.0, 3.0, 4.0]
    # A SNAPSHOT command publishes the job's copy again at the current version.
    assert c._apply(_update(1, [2.5, 3.0, 4.0])) == 1
    assert c.values["w"].tolist() == [2.5, 3.0, 4.0]
    assert c._apply(_update(0, [0.0, 0.0, 0.0])) == 0
