"""The bundled schemas are the repository's, parsed in dependency order, and records round-trip as the job writes them."""

import json
import os

import pytest

from gradstream import records

SOURCE = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, "schemas", "src", "main", "avro")
BUNDLED = os.path.join(os.path.dirname(__file__), os.pardir, "gradstream", "schemas")


@pytest.mark.skipif(not os.path.isdir(SOURCE), reason="not in the gradstream repository")
def test_bundled_schemas_are_the_repositorys():
    source = sorted(f for f in os.listdir(SOURCE) if f.endswith(".avsc"))
    assert sorted(records.SCHEMA_FILES) == source, "cp schemas/src/main/avro/*.avsc clients/python/gradstream/schemas/"
    for f in source:
        with open(os.path.join(SOURCE, f), "rb") as a, open(os.path.join(BUNDLED, f), "rb") as b:
            assert a.read() == b.read(), f"{f} differs: cp schemas/src/main/avro/*.avsc clients/python/gradstream/schemas/"


def test_every_schema_comes_after_the_ones_it_uses():
    order = records.load_order({f: open(os.path.join(BUNDLED, f)).read() for f in records.SCHEMA_FILES})
    assert order.index("Encoding.avsc") < order.index("TensorPayload.avsc") < order.index("GradientBatch.avsc")
    assert order.index("ScheduleSpec.avsc") < order.index("ModelSpec.avsc") < order.index("ControlCommand.avsc")
    assert order.index("TensorPayload.avsc") < order.index("ParameterUpdate.avsc")


def test_a_cycle_or_a_missing_type_is_named():
    a = json.dumps({"type": "record", "name": "A", "namespace": "x", "fields": [{"name": "b", "type": "B"}]})
    b = json.dumps({"type": "record", "name": "B", "namespace": "x", "fields": [{"name": "a", "type": "A"}]})
    with pytest.raises(ValueError, match="cycle"):
        records.load_order({"A.avsc": a, "B.avsc": b})
    with pytest.raises(ValueError, match="x.B, which no bundled schema defines"):
        records.load_order({"A.avsc": a})


def test_a_gradient_batch_is_raw_avro_with_defaults_filled():
    value = records.encode("GradientBatch", {
        "modelId": "m", "tensor": "w", "shard": 2, "workerId": "w0", "workerStep": 1, "baseVersion": 0,
        "payload": {"encoding": "FP16", "elementCount": 1, "data": b"\x00\x3c"}})
    # Avro binary: strings and bytes are a zig-zag length and the bytes; ints and longs zig-zag varints; enums the
    # symbol's index (FP16 = 1); the union loss is branch 0 (null); kind GRADIENT = 0; publishedAtMs 0.
    assert value.hex() == "026d" "0277" "04" "047730" "02" "00" "02" "02" "02" "04003c" "00" "00" "00"
    back = records.decode("GradientBatch", value)
    assert back["numExamples"] == 1 and back["kind"] == "GRADIENT" and back["payload"]["data"] == b"\x00\x3c"


def test_bytes_appended_by_a_newer_writer_are_ignored():
    update = {"modelId": "m", "tensor": "w", "shard": 0, "version": 3,
              "payload": {"encoding": "FP32", "elementCount": 0, "data": b""}}
    value = records.encode("ParameterUpdate", update)
    assert records.decode("ParameterUpdate", value + b"\x02\x06")["version"] == 3


def test_unknown_fields_and_missing_required_ones_are_refused():
    with pytest.raises(ValueError, match="no field"):
        records.encode("StatusEvent", {"modelId": "m", "type": "OTHER", "colour": "red"})
    with pytest.raises(ValueError, match="modelId is required"):
        records.encode("StatusEvent", {"type": "OTHER"})
    with pytest.raises(ValueError, match="no schema named 'Nope'"):
        records.encode("Nope", {})


# A CREATE as release 0.3.0 wrote it (ControlCommand ending with compression): the Java PrivacyAccountingFieldsTest's.
WRITTEN_BY_030 = ("026d0002020277020800008080080653474402046c72009a9999999999b93f"
                  "00000002000000007b14ae47e17a843f9a9999999999a9bf9a9999999999a93f00000000a413"
                  "00020002067b14ae47e17a843fc801")


def test_a_create_of_030_decodes_without_privacy_accounting_and_new_ones_carry_it():
    old = records.decode("ControlCommand", bytes.fromhex(WRITTEN_BY_030))
    assert old["privacyAccounting"] is None and old["compression"]["deltaEncoding"] == "INT8_BLOCK"
    # Today's writer adds the null branch of privacyAccounting, one byte.
    assert records.encode("ControlCommand", old) == bytes.fromhex(WRITTEN_BY_030) + b"\x00"
    from gradstream.model import privacy_accounting
    command = dict(old, privacyAccounting=privacy_accounting("prv"))
    back = records.decode("ControlCommand", records.encode("ControlCommand", command))
    assert back["privacyAccounting"] == {"accountant": "PRV", "mechanism": "DP_SGD", "stepsPerRestart": None,
                                         "efficientTree": True}
    with pytest.raises(ValueError, match="accountant must be one of PRV, RDP"):
        privacy_accounting("tree")
