"""Kafka client settings for the Python client: librdkafka settings passed through as a dict, and the translation of
a Java client ``.properties`` file (what ``gradstream local --secure`` writes to ``credentials/worker.properties``)
into them."""

import os
import re

__all__ = ["read_properties", "kafka_settings", "DEFAULT_BOOTSTRAP"]

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"

# Java-only settings with no librdkafka meaning: the trust store is replaced by a PEM CA (ssl.ca.location).
_JAVA_ONLY = {"ssl.truststore.type", "ssl.truststore.location", "ssl.truststore.password", "key.serializer",
              "value.serializer", "key.deserializer", "value.deserializer", "config.providers"}
_JAAS = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')


def read_properties(path):
    """The key/value pairs of a Java ``.properties`` file: ``key=value``, ``key: value`` or ``key value`` lines,
    ``#``/``!`` comments, backslash continuations and escapes (``\\\\``, ``\\=``, ``\\:``, ``\\t``, ``\\n``,
    ``\\uXXXX``)."""
    with open(path, encoding="utf-8") as f:
        raw = f.read().splitlines()
    lines, current = [], None
    for line in raw:
        stripped = line.lstrip()
        if current is None and (not stripped or stripped[0] in "#!"):
            continue
        part = stripped if current is not None else line.lstrip()
        trailing = len(part) - len(part.rstrip("\\"))
        if trailing % 2 == 1:  # an odd number of backslashes at the end continues the line
            current = (current or "") + part[:-1]
            continue
        lines.append((current or "") + part)
        current = None
    if current is not None:
        lines.append(current)
    out = {}
    for line in lines:
        key, value = _split(line)
        out[_unescape(key)] = _unescape(value)
    return out


def _split(line):
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c in "=: \t\f":
            break
        i += 1
    key = line[:i]
    rest = line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return key, rest


def _unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[i + 2:i + 6]):
                out.append(chr(int(s[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _resolve(value, where):
    """Resolves Kafka config-provider references ``${file:/path:key}`` (FileConfigProvider) by reading that file."""
    def one(m):
        provider, path, key = m.group(1), m.group(2), m.group(3)
        if provider != "file":
            raise ValueError(f"{where}: cannot resolve ${{{provider}:...}}; only ${{file:/path:key}} references "
                             "are read by the Python client")
        props = read_properties(path)
        if key not in props:
            raise ValueError(f"{where}: {path} has no key {key!r}")
        return props[key]
    return re.sub(r"\$\{(\w+):(.*?):([^:}]+)\}", one, value)


def kafka_settings(properties_file=None, bootstrap_servers=None, ca_location=None, **extra):
    """librdkafka settings for a Kafka cluster: ``bootstrap.servers`` (argument, else the environment's
    ``GRADSTREAM_KAFKA_BOOTSTRAP_SERVERS``, else 127.0.0.1:9092), what a Java client ``.properties`` file says
    translated for librdkafka (``sasl.jaas.config``'s SCRAM/PLAIN username and password become ``sasl.username`` and
    ``sasl.password``; a Java trust store becomes ``ssl.ca.location``: ``ca_location``, or the ``tls/ca.crt`` beside
    the file's ``credentials/`` folder as ``gradstream local --secure`` lays them out), then ``extra`` (librdkafka
    names, with ``_`` for ``.``: ``client_id="w0"``)."""
    settings = {}
    if properties_file is not None:
        props = read_properties(properties_file)
        for key, value in props.items():
            value = _resolve(value, f"{properties_file}: {key}")
            if key.startswith("config.providers"):
                continue
            if key == "sasl.jaas.config":
                fields = dict(_JAAS.findall(value))
                if "username" not in fields or "password" not in fields:
                    raise ValueError(f"{properties_file}: sasl.jaas.config has no username=\"...\" "
                                     "password=\"...\" (librdkafka supports SCRAM and PLAIN logins)")
                settings["sasl.username"] = fields["username"]
                settings["sasl.password"] = fields["password"]
            elif key == "sasl.mechanism":
                settings["sasl.mechanisms"] = value
            elif key == "ssl.endpoint.identification.algorithm":
                settings[key] = value or "none"
            elif key in _JAVA_ONLY:
                continue
            else:
                settings[key] = value
        uses_tls = props.get("security.protocol", "").upper() in ("SSL", "SASL_SSL")
        if uses_tls and ca_location is None and "ssl.truststore.location" in props:
            guess = os.path.join(os.path.dirname(os.path.abspath(properties_file)), os.pardir, "tls", "ca.crt")
            if not os.path.isfile(guess):
                raise ValueError(f"{properties_file} names a Java trust store, which librdkafka cannot read: give "
                                 "ca_location= the CA certificate in PEM (gradstream local --secure: "
                                 "<work folder>/tls/ca.crt)")
            ca_location = os.path.normpath(guess)
    if ca_location is not None:
        settings["ssl.ca.location"] = str(ca_location)
    settings["bootstrap.servers"] = (bootstrap_servers or settings.get("bootstrap.servers")
                                     or os.environ.get("GRADSTREAM_KAFKA_BOOTSTRAP_SERVERS") or DEFAULT_BOOTSTRAP)
    for key, value in extra.items():
        settings[key.replace("_", ".")] = value
    return settings
