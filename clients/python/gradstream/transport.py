"""The Kafka side of the client: a producer that puts each record in the partition Java's client would choose, and a
follower of the compacted parameters topic that keeps the newest version of every shard of one model."""

import time
import uuid

import numpy as np
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition, libversion

from . import codecs, records
from .partitioner import partition_for

__all__ = ["Sender", "ParameterFollower"]

# A gradient or INIT record may be as large as the job's gradstream.limits.record-bytes (16 MiB by default).
_MAX_RECORD = (16 << 20) + (64 << 10)


def _with_errors(settings):
    """``settings`` with an error callback that keeps librdkafka's connection errors (authentication, TLS), which
    it otherwise only logs, so that a failure to connect can say why."""
    errors = []
    user = settings.get("error_cb")

    def keep(err):
        errors.append((err.code(), err.str()))
        del errors[:-5]
        if user is not None:
            user(err)
    return {**settings, "error_cb": keep}, errors


def scram_hint(settings):
    """Why SCRAM fails with an old librdkafka, where that is the case (else an empty string)."""
    if not str(settings.get("sasl.mechanisms", settings.get("sasl.mechanism", ""))).upper().startswith("SCRAM"):
        return ""
    version = libversion()[1]
    if version >= 0x02060100:
        return ""
    return (f"; note: librdkafka {libversion()[0]} cannot authenticate with SCRAM against Kafka 4 brokers (the bug "
            "was fixed in librdkafka 2.6.1, confluentinc/librdkafka#4895; Debian 12 ships 2.0.2): use "
            "confluent-kafka >= 2.6.1 with its bundled librdkafka")


def _partitions(client, topic, timeout, settings=None, errors=()):
    deadline = time.monotonic() + timeout
    while True:
        try:
            md = client.list_topics(topic, timeout=max(0.1, min(2.0, deadline - time.monotonic())))
            break
        except KafkaException as e:
            client.poll(0.1)  # serves the error callback: librdkafka's reasons (authentication, TLS) arrive there
            fatal = any(code in (KafkaError._AUTHENTICATION, KafkaError._SSL) for code, _ in errors)
            if fatal or time.monotonic() >= deadline:
                why = "; ".join(dict.fromkeys(m for _, m in errors)) or str(e)
                raise RuntimeError(f"cannot reach Kafka at {(settings or {}).get('bootstrap.servers')}: {why}"
                                   + scram_hint(settings or {})) from None
    t = md.topics.get(topic)
    if t is not None and t.error is not None and t.error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
        raise RuntimeError(f"Kafka's ACLs do not let this client's principal use topic '{topic}' "
                           f"({t.error.str()})")
    if t is None or t.error is not None or not t.partitions:
        reason = t.error if t is not None else "no metadata"
        raise RuntimeError(f"topic '{topic}' is not available on {md.orig_broker_name or 'the cluster'} ({reason}); "
                           "is gradstream running (./gradstream local) and are the topic names right?")
    return sorted(t.partitions)


class Sender:
    """A producer of keyed records; the partition of each is Kafka's default for its key (murmur2), computed here."""

    def __init__(self, settings, timeout=30):
        self._settings = settings
        config, self._connect_errors = _with_errors({**settings, "message.max.bytes": _MAX_RECORD, "linger.ms": 1})
        self._producer = Producer(config)
        self._timeout = timeout
        self._counts = {}
        self._errors = []

    def partitions(self, topic):
        if topic not in self._counts:
            self._counts[topic] = len(_partitions(self._producer, topic, self._timeout, self._settings,
                                                  self._connect_errors))
        return self._counts[topic]

    def send(self, topic, key, value, headers=None):
        def delivered(err, msg):
            if err is not None:
                self._errors.append(f"{msg.topic()} key {msg.key().decode('utf-8', 'replace')}: {err.str()}")
        partition = partition_for(key, self.partitions(topic))
        while True:
            try:
                self._producer.produce(topic, value=value, key=key, partition=partition, headers=headers,
                                       on_delivery=delivered)
                break
            except BufferError:  # the local queue is full: let deliveries drain, then retry
                self._producer.poll(0.1)
        self._producer.poll(0)

    def flush(self):
        """Waits until every record is acknowledged; raises with Kafka's reason when one was refused."""
        left = self._producer.flush(self._timeout)
        if self._errors:
            errors, self._errors = self._errors, []
            raise RuntimeError(f"Kafka refused {len(errors)} record(s): " + "; ".join(errors[:3]))
        if left:
            raise TimeoutError(f"{left} record(s) not acknowledged by Kafka after {self._timeout} s")


class ParameterCopies:
    """A model's parameters as its ParameterUpdates tell them, per shard at exactly one version that only grows (the
    README's rule for subscribers, as the Java ``ParameterSubscriber``): a FULL update at or after the shard's version
    replaces its values; a DELTA is added, in float32 element by element as the job adds it, only when its
    ``baseVersion`` is the shard's version. Any other delta is a gap: it is counted and never applied to another
    version; the shard waits for its next FULL snapshot."""

    def __init__(self, model_id, layouts):
        self.model_id = model_id
        self.layouts = layouts
        self.values = {n: np.zeros(l.elements, dtype=np.float32) for n, l in layouts.items()}
        self.versions = {n: np.full(l.shard_count, -1, dtype=np.int64) for n, l in layouts.items()}
        self.epsilon_spent = None
        self.gaps = 0

    def _apply(self, u):
        layout = self.layouts.get(u["tensor"])
        if u["modelId"] != self.model_id or layout is None:
            return 0
        s = u["shard"]
        versions = self.versions[u["tensor"]]
        if not 0 <= s < len(versions):
            return 0
        part = layout.shard(s)
        payload = u["payload"]
        if payload["elementCount"] != part.stop - part.start:
            return 0
        decoded = codecs.decode(payload["encoding"], payload["data"], part.stop - part.start)
        values = self.values[u["tensor"]]
        if u.get("kind", "FULL") == "DELTA":
            if u["version"] <= versions[s]:
                return 0  # already there (at-least-once repeats it)
            if u["baseVersion"] != versions[s]:
                self.gaps += 1
                return 0
            values[part] = (values[part] + decoded.astype(np.float32)).astype(np.float32)
        else:
            if u["version"] < versions[s]:
                return 0
            values[part] = decoded
        versions[s] = u["version"]
        if u.get("epsilonSpent") is not None:
            self.epsilon_spent = max(self.epsilon_spent or 0.0, u["epsilonSpent"])
        return 1


class ParameterFollower(ParameterCopies):
    """Reads the parameters topic from its start (it is compacted: the newest update of every shard is there) and
    keeps the model's parameters by the rule of ``ParameterCopies``; older or repeated versions, as at-least-once
    delivery may bring, are ignored (the Java client's ``ParameterSubscriber``)."""

    def __init__(self, model_id, layouts, settings, topic, group_prefix="worker-", timeout=30):
        super().__init__(model_id, layouts)
        self.topic = topic
        self._prefix = (model_id + "/").encode("utf-8")
        # A group of the workers' prefix: where ACLs guard consumer groups (gradstream local --secure), workers own
        # these. Nothing is committed: every follower reads the compacted topic from its start.
        config, errors = _with_errors(settings)
        self._consumer = Consumer({
            **config,
            "group.id": f"{group_prefix}{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 10,
            "enable.partition.eof": False,
        })
        self._assigned = [TopicPartition(topic, p, OFFSET_BEGINNING)
                          for p in _partitions(self._consumer, topic, timeout, settings, errors)]
        self._consumer.assign(self._assigned)

    def poll(self, timeout):
        """Reads what arrived within ``timeout`` seconds; returns how many shard updates were newer."""
        applied = 0
        # consume() would wait out its whole timeout unless all 500 arrive: wait for the first record only.
        first = self._consumer.poll(timeout)
        batch = [] if first is None else [first] + self._consumer.consume(num_messages=500, timeout=0)
        for msg in batch:
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    continue
                raise RuntimeError(f"reading {self.topic}: {err.str()}")
            key = msg.key()
            if key is None or not key.startswith(self._prefix):
                continue  # another model's shard: not decoded at all
            try:
                u = records.decode("ParameterUpdate", msg.value())
            except Exception:  # noqa: BLE001 - not ours to judge: the topic may carry other producers' data
                continue
            applied += self._apply(u)
        return applied

    def min_version(self):
        return min(int(v.min()) for v in self.versions.values())

    def wait_for(self, targets, timeout):
        """Polls until every shard's version reaches ``targets`` ((tensor, shard) -> version, or one int for all);
        returns the shards still behind (empty when all arrived)."""
        deadline = time.monotonic() + timeout
        while True:
            behind = self._behind(targets)
            if not behind or time.monotonic() > deadline:
                return behind
            self.poll(min(0.1, max(0.0, deadline - time.monotonic())))

    def _behind(self, targets):
        out = []
        for name, v in self.versions.items():
            for s, have in enumerate(v):
                want = targets if isinstance(targets, int) else targets[(name, s)]
                if have < want:
                    out.append((name, s, int(have), want))
        return out

    def catch_up(self, timeout):
        """Reads until the end of every partition as it was when called (so the values are the newest published),
        or until ``timeout``."""
        ends = {}
        for tp in self._assigned:
            _, high = self._consumer.get_watermark_offsets(tp, timeout=timeout)
            ends[tp.partition] = high
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            positions = self._consumer.position([TopicPartition(self.topic, p) for p in ends])
            if all(tp.offset >= ends[tp.partition] or ends[tp.partition] == 0 for tp in positions):
                return True
            self.poll(0.1)
        return False

    def close(self):
        self._consumer.close()
