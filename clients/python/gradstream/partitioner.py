"""Kafka's default partitioner of keyed records, as the Java client computes it (``BuiltInPartitioner.partitionForKey``):
``(murmur2(key) & 0x7fffffff) % partitions``. librdkafka's default (``consistent_random``, CRC32) puts keys elsewhere,
so the Python client picks every record's partition itself: one shard's records then share a partition, and its
order, with the Java workers'."""

__all__ = ["murmur2", "partition_for"]

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data):
    """Kafka's ``Utils.murmur2`` of ``data`` (bytes) as a signed 32-bit int: MurmurHash2, seed 0x9747b28c."""
    data = bytes(data)
    length = len(data)
    h = (0x9747B28C ^ length) & _MASK
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = (h * _M) & _MASK
        h ^= k
    tail = length & ~3
    rest = length % 4
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for(key, partitions):
    """The partition of a record with key ``key`` (bytes, or str as UTF-8) among ``partitions``."""
    if partitions < 1:
        raise ValueError(f"partitions must be >= 1, got {partitions}")
    if isinstance(key, str):
        key = key.encode("utf-8")
    return (murmur2(key) & 0x7FFFFFFF) % partitions
