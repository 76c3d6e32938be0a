"""The records on gradstream's topics: the bundled .avsc schemas, parsed in dependency order, and raw Avro binary.

On the wire every record is raw Avro binary with no header and no schema registry, exactly what the job's
``AvroRecords`` writes and reads, so these functions are all a producer or consumer in Python needs.
"""

import io
import json
import re
from importlib import resources

import avro.io
import avro.name
import avro.schema

__all__ = ["SCHEMA_FILES", "schema", "encode", "decode", "load_order"]

_COMPLEX = {"record", "enum", "fixed", "array", "map"}
_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _named_types(node, namespace, out):
    """Collects the full names of the types a schema defines (records, enums, fixed), recursively."""
    if isinstance(node, dict):
        ns = node.get("namespace", namespace)
        if node.get("type") in ("record", "enum", "fixed") and "name" in node:
            name = node["name"]
            out.add(name if "." in name else f"{ns}.{name}")
        for v in node.values():
            _named_types(v, ns, out)
    elif isinstance(node, list):
        for v in node:
            _named_types(v, namespace, out)


def _referenced_types(node, namespace, out):
    """Collects the full names of the named types a schema refers to by name (a string in a type position)."""
    if isinstance(node, str):
        if node not in _PRIMITIVES:
            out.add(node if "." in node else f"{namespace}.{node}")
    elif isinstance(node, list):
        for v in node:
            _referenced_types(v, namespace, out)
    elif isinstance(node, dict):
        ns = node.get("namespace", namespace)
        for key in ("type", "items", "values"):
            if key in node and not (key == "type" and node[key] in _COMPLEX):
                _referenced_types(node[key], ns, out)
        for field in node.get("fields", []):
            _referenced_types(field.get("type"), ns, out)


def load_order(texts):
    """The file names of ``texts`` (name -> JSON text) ordered so that every file comes after the files defining the
    types it refers to: the .avsc files reference each other across files (a GradientBatch holds a TensorPayload,
    which holds an Encoding), and Avro's Python parser needs a type defined before it is used."""
    defines, needs = {}, {}
    for name, text in texts.items():
        doc = json.loads(text)
        ns = doc.get("namespace", "") if isinstance(doc, dict) else ""
        d, r = set(), set()
        _named_types(doc, ns, d)
        _referenced_types(doc, ns, r)
        defines[name], needs[name] = d, r - d
    owner = {t: name for name, ts in defines.items() for t in ts}
    order, done = [], set()

    def visit(name, path):
        if name in done:
            return
        if name in path:
            raise ValueError("the schemas refer to each other in a cycle: " + " -> ".join(path + [name]))
        for t in sorted(needs[name]):
            if t not in owner:
                raise ValueError(f"{name} refers to type {t}, which no bundled schema defines")
            visit(owner[t], path + [name])
        done.add(name)
        order.append(name)

    for name in sorted(texts):
        visit(name, [])
    return order


def _bundled_texts():
    folder = resources.files("gradstream") / "schemas"
    return {p.name: p.read_text(encoding="utf-8") for p in folder.iterdir() if p.name.endswith(".avsc")}


def _parse_all():
    texts = _bundled_texts()
    names = avro.name.Names()
    parsed = {}
    for file in load_order(texts):
        s = avro.schema.make_avsc_object(json.loads(texts[file]), names)
        parsed[re.sub(r"\.avsc$", "", file)] = s
    return parsed


_SCHEMAS = _parse_all()
SCHEMA_FILES = tuple(sorted(f"{n}.avsc" for n in _SCHEMAS))
_WRITERS = {n: avro.io.DatumWriter(s) for n, s in _SCHEMAS.items()}
_READERS = {n: avro.io.DatumReader(s) for n, s in _SCHEMAS.items()}


def schema(record):
    """The parsed schema of ``record`` ("GradientBatch", "ControlCommand", ...)."""
    try:
        return _SCHEMAS[record]
    except KeyError:
        raise ValueError(f"no schema named {record!r}; the bundled ones are {sorted(_SCHEMAS)}") from None


def _fill(s, datum):
    """``datum`` with every missing record field set to its schema default, at every depth: Avro's Python writer
    does not apply defaults itself."""
    if isinstance(s, avro.schema.RecordSchema) and isinstance(datum, dict):
        out = {}
        for f in s.fields:
            if f.name in datum:
                out[f.name] = _fill(f.type, datum[f.name])
            elif f.has_default:
                out[f.name] = _fill(f.type, _default(f.type, f.default))
            else:
                raise ValueError(f"{s.name}.{f.name} is required (it has no default)")
        unknown = set(datum) - {f.name for f in s.fields}
        if unknown:
            raise ValueError(f"{s.name} has no field(s) {sorted(unknown)}")
        return out
    if isinstance(s, avro.schema.UnionSchema) and isinstance(datum, dict):
        records = [b for b in s.schemas if isinstance(b, avro.schema.RecordSchema)]
        return _fill(records[0], datum) if len(records) == 1 else datum
    if isinstance(s, avro.schema.ArraySchema) and isinstance(datum, (list, tuple)):
        return [_fill(s.items, v) for v in datum]
    if isinstance(s, avro.schema.MapSchema) and isinstance(datum, dict):
        return {k: _fill(s.values, v) for k, v in datum.items()}
    return datum


def _default(s, value):
    """A field default from its JSON form: Avro writes bytes defaults as strings of code points 0-255."""
    if isinstance(s, avro.schema.PrimitiveSchema) and s.type == "bytes" and isinstance(value, str):
        return value.encode("latin-1")
    return value


def encode(record, datum):
    """Raw Avro binary of ``datum`` (a dict of the record's fields; missing ones take their schema defaults) as
    ``record``."""
    s = schema(record)
    buf = io.BytesIO()
    _WRITERS[record].write(_fill(s, datum), avro.io.BinaryEncoder(buf))
    return buf.getvalue()


def decode(record, data):
    """The dict that raw Avro binary ``data`` of ``record`` holds. Bytes after the record's last field are ignored,
    so records with fields appended later (schemas/README.md, rule 5) stay readable; a record written before fields
    marked ``since`` were appended ends where they begin, and they take their defaults (as the job's AvroRecords)."""
    s = schema(record)
    stream = io.BytesIO(data)
    decoder = avro.io.BinaryDecoder(stream)
    reader = _READERS[record]
    out = {}
    for f in s.fields:
        if stream.tell() == len(data) and f.get_prop("since") is not None:
            out[f.name] = _default(f.type, f.default)
        else:
            out[f.name] = reader.read_data(f.type, f.type, decoder)
    return out
