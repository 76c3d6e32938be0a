"""A model's specification (the ``ModelSpec`` of its CREATE), checked here with the job's rules so that a mistake is
an exception with the field and value, not a rejected command."""

import math
import numbers
from dataclasses import dataclass

__all__ = ["Sync", "Async", "Topics", "TensorLayout", "OPTIMIZERS", "check_name", "model_spec", "MAX_SHARD_ELEMENTS"]

# The job's default limits (README, Configuration): names of at most 256 characters, at most 4177920 elements per
# shard (an FP32 update must fit a 16 MiB record), at most 10000 workers per SYNC step, numExamples at most 2^24.
NAME_LENGTH = 256
MAX_SHARD_ELEMENTS = 4177920
MAX_SYNC_WORKERS = 10000
MAX_EXAMPLES = 1 << 24

OPTIMIZERS = {n.lower(): n for n in
              ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "LAMB", "Lion")}


@dataclass(frozen=True)
class Sync:
    """SYNC aggregation: a shard steps once ``workers`` distinct workers contributed to its version (or after
    ``timeout_ms`` since the first contribution, with what arrived; 0 waits for all)."""
    workers: int = 1
    timeout_ms: int = 0

    def record(self):
        _int_in("aggregation workers", self.workers, 1, MAX_SYNC_WORKERS)
        _int_in("aggregation timeout_ms", self.timeout_ms, 0, 2**63 - 1)
        return {"mode": "SYNC", "workers": self.workers, "timeoutMs": self.timeout_ms, "maxStaleness": 0}


@dataclass(frozen=True)
class Async:
    """ASYNC aggregation: every contribution at most ``max_staleness`` versions behind the shard is applied."""
    max_staleness: int = 0

    def record(self):
        _int_in("aggregation max_staleness", self.max_staleness, 0, 2**31 - 1)
        return {"mode": "ASYNC", "workers": 1, "timeoutMs": 0, "maxStaleness": self.max_staleness}


@dataclass(frozen=True)
class Topics:
    """The job's topic names (``gradstream.topics.*``)."""
    control: str = "control"
    gradients: str = "gradients"
    parameters: str = "parameters"
    rejected: str = "rejected"
    status: str = "status"


@dataclass(frozen=True)
class TensorLayout:
    """How a tensor is flattened (row-major) and cut into shards of at most ``shard_size`` elements; the last shard
    holds the rest (the job's ``TensorLayout``)."""
    name: str
    shape: tuple
    shard_size: int

    @property
    def elements(self):
        return math.prod(self.shape)

    @property
    def shard_count(self):
        return -(-self.elements // self.shard_size)

    def shard(self, s):
        """The slice of the flattened tensor that shard ``s`` holds."""
        start = s * self.shard_size
        return slice(start, min(start + self.shard_size, self.elements))


def _int_in(field, value, low, high):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        raise ValueError(f"{field} must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def check_name(what, name):
    """A model, tensor or worker id as the job accepts it: 1 to 256 characters, no '/' (the key separator), no
    control characters."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} must be a non-empty string, got {name!r}")
    if len(name) > NAME_LENGTH:
        raise ValueError(f"{what} {name[:40]!r}... has {len(name)} characters; at most {NAME_LENGTH}")
    if "/" in name or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name):
        raise ValueError(f"{what} {name!r} must not contain '/' or control characters")
    return name


def _hyperparameter(name, value):
    """A hyperparameter as the spec's map holds it: double, boolean, string or array of doubles."""
    if isinstance(value, bool) or isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):
        if not math.isfinite(value):
            raise ValueError(f"hyperparameter {name} must be finite, got {value!r}")
        return float(value)
    if isinstance(value, (list, tuple)) and all(isinstance(v, numbers.Real) and not isinstance(v, bool)
                                                 for v in value):
        if not all(math.isfinite(v) for v in value):
            raise ValueError(f"hyperparameter {name} must be finite, got {value!r}")
        return [float(v) for v in value]
    raise ValueError(f"hyperparameter {name} must be a number, a boolean, a string or a list of numbers, "
                     f"got {value!r}")


def model_spec(layouts, optimizer, hyperparameters, shard_size, aggregation, lr_schedule=None,
               output_encoding="FP32", privacy=None, explicit_init=True):
    """The ``ModelSpec`` record (a dict) of a model with ``layouts`` (name -> TensorLayout)."""
    opt = OPTIMIZERS.get(str(optimizer).lower())
    if opt is None:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS.values())}, got {optimizer!r}")
    _int_in("shard_size", shard_size, 1, MAX_SHARD_ELEMENTS)
    if isinstance(aggregation, str):
        mode = aggregation.lower()
        if mode not in ("sync", "async"):
            raise ValueError(f"aggregation must be Sync(...), Async(...), 'sync' or 'async', got {aggregation!r}")
        aggregation = Sync() if mode == "sync" else Async()
    if not isinstance(aggregation, (Sync, Async)):
        raise ValueError(f"aggregation must be Sync(...), Async(...), 'sync' or 'async', got {aggregation!r}")
    lr = hyperparameters.get("lr")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr >= 0):
        raise ValueError(f"lr must be a number >= 0, got {lr!r}")
    encoding = str(output_encoding).upper()
    if encoding not in ("FP32", "FP16", "BF16", "INT8_BLOCK"):
        raise ValueError(f"output_encoding must be FP32, FP16, BF16 or INT8_BLOCK, got {output_encoding!r}")
    spec = {
        "tensors": [{"name": l.name, "shape": list(l.shape)} for l in layouts.values()],
        "shardSize": shard_size,
        "optimizer": opt,
        "hyperparameters": {k: _hyperparameter(k, v) for k, v in hyperparameters.items()},
        "lrSchedule": None,
        "aggregation": aggregation.record(),
        "init": {"rule": "EXPLICIT" if explicit_init else "ZEROS"},
        "outputEncoding": encoding,
        "privacy": privacy,
    }
    if lr_schedule is not None:
        if not isinstance(lr_schedule, dict) or "name" not in lr_schedule:
            raise ValueError("lr_schedule must be a dict like {'name': 'StepLR', 'hyperparameters': {'step_size': 10,"
                             f" 'gamma': 0.5}}, got {lr_schedule!r}")
        spec["lrSchedule"] = {
            "name": lr_schedule["name"],
            "hyperparameters": {k: _hyperparameter(k, v) for k, v in lr_schedule.get("hyperparameters", {}).items()},
            "children": [{"name": c["name"],
                          "hyperparameters": {k: _hyperparameter(k, v)
                                              for k, v in c.get("hyperparameters", {}).items()}}
                         for c in lr_schedule.get("children", [])],
        }
    return spec
