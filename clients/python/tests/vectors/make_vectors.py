"""Writes murmur2.json and codecs.json: what the Python client computes for fixed inputs. tools'
PythonClientContractTest checks every entry against Kafka's Utils.murmur2 and the job's codecs
(io.gradstream.core.codec), and tests/test_codecs.py and tests/test_partitioner.py check the client against the files,
so the two implementations are held to the same bytes. Run from clients/python: python3 tests/vectors/make_vectors.py
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))
from gradstream import codecs  # noqa: E402
from gradstream.partitioner import murmur2, partition_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def bits(values):
    return [f"{b:08x}" for b in np.asarray(values, dtype=np.float32).view(np.uint32)]


def from_bits(hexes):
    return np.array([int(h, 16) for h in hexes], dtype=np.uint32).view(np.float32)


keys = ["", "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "digits/W/0", "digits/b/0", "m/w/0",
        "model-1/0.weight/12", "modèle/couche.poids/3", "a/" + "x" * 300 + "/65535"]
with open(os.path.join(HERE, "murmur2.json"), "w") as f:
    json.dump([{"key": k, "murmur2": murmur2(k.encode("utf-8")),
                "partitions": {str(n): partition_for(k, n) for n in (1, 3, 4, 12)}} for k in keys], f, indent=1)
    f.write("\n")

half_inputs = from_bits(["00000000", "80000000", "3f800000", "c0200000", "477fe000", "477fefff", "477ff000",
                         "3dcccccd", "3eaaaaab", "33000000", "33000001", "33c00000", "387fc000", "38800000",
                         "3f808000", "3f818000", "3f80c000", "00000001", "007fffff", "7f7fffff", "ff7fffff",
                         "7f800000", "ff800000", "3a800000", "322bcc77"])
rng = np.random.default_rng(7)
int8_inputs = np.concatenate([rng.standard_normal(256).astype(np.float32) * 3,
                              np.zeros(256, dtype=np.float32),
                              np.array([127, 2.5, -3.5, 0.5, -0.5, 1.5, 126.5, -127, 1e-3], dtype=np.float32),
                              rng.uniform(-1e-30, 1e-30, 40).astype(np.float32)])
topk_inputs = np.array([0.5, -2, 2, 0, 1, -0.5, 3], dtype=np.float32)
cases = [("FP32", rng.standard_normal(9).astype(np.float32), None),
         ("FP16", half_inputs, None), ("BF16", half_inputs, None),
         ("INT8_BLOCK", int8_inputs, None), ("INT8_BLOCK", np.array([0.25, -1.0, 0.0], dtype=np.float32), None),
         ("TOPK", topk_inputs, 3), ("TOPK", topk_inputs, 4), ("TOPK", topk_inputs, 10),
         ("TOPK", np.zeros(5, dtype=np.float32), 2)]
out = []
for encoding, values, k in cases:
    data = codecs.encode(encoding, values, k)
    decoded = codecs.decode(encoding, data, values.size)
    out.append({"encoding": encoding, "k": k, "input": bits(values), "bytes": data.hex(), "decoded": bits(decoded)})
with open(os.path.join(HERE, "codecs.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
