"""A training worker in torch's idiom: after ``loss.backward()``, :meth:`Worker.step` publishes the gradients and
loads the next parameters into the module."""

import time

import numpy as np
import torch

from . import codecs
from .model import _float32_parameters, check_examples, check_loss, load_signing_key, send_batch
from .spec import check_name
from .transport import ParameterFollower, Sender

__all__ = ["Worker"]


class Worker:
    """One worker of a model (make it with :meth:`gradstream.Model.worker`). Not thread-safe: one per thread.

    ``encoding`` (FP32, FP16, BF16, INT8_BLOCK or TOPK with ``topk`` = elements kept per shard, or a fraction in
    (0, 1) of each shard) sets how gradients travel; lossy ones keep what they drop in a residual per shard and add it
    to the next gradient (error feedback) unless ``error_feedback=False``. ``signing_key`` (bytes, text or a path to
    the key file) signs every record for a model that names its workers."""

    def __init__(self, model, worker_id, module, encoding="FP32", topk=None, error_feedback=True, signing_key=None,
                 kafka=None, timeout=60):
        if module is None:
            raise ValueError("a worker needs the torch module it trains (module=)")
        self.model = model
        self.worker_id = check_name("worker id", worker_id)
        self.module = module
        self._params = _float32_parameters(module)
        names = [n for n, _ in self._params]
        if names != list(model.layouts):
            raise ValueError(f"the module's parameters {names} are not the model's tensors {list(model.layouts)}")
        for name, p in self._params:
            shape = tuple(p.shape) or (1,)
            if shape != model.layouts[name].shape:
                raise ValueError(f"parameter {name!r} has shape {list(shape)}, the model's tensor has "
                                 f"{list(model.layouts[name].shape)}")
        self.encoding = codecs._name(encoding)
        if self.encoding == "TOPK":
            if topk is None or isinstance(topk, bool) or not (isinstance(topk, int) and topk >= 1
                                                              or isinstance(topk, float) and 0 < topk < 1):
                raise ValueError(f"TOPK needs topk = an integer >= 1 or a fraction in (0, 1), got {topk!r}")
        self.topk = topk
        self.error_feedback = bool(error_feedback) and self.encoding != "FP32"
        self._feedback = {}
        self._key = load_signing_key(signing_key)
        settings = self._settings = kafka or model.kafka
        self._sender = Sender(settings)
        self._follower = ParameterFollower(model.model_id, model.layouts, settings, model.topics.parameters)
        self._step = 0
        self._targets = None
        self._wait_for(0, timeout, "the model's initial parameters (was it created and initialised?)")
        self._load()

    @property
    def versions(self):
        """The version of every shard loaded into the module (tensor name -> array of shard versions)."""
        return {n: v.copy() for n, v in self._loaded.items()}

    @property
    def version(self):
        """The smallest version loaded into the module."""
        return min(int(v.min()) for v in self._loaded.values())

    def step(self, num_examples, loss=None, wait=True, timeout=60):
        """Publishes the module's gradients (``param.grad`` of every trainable parameter, computed on the loaded
        version) as the contribution of ``num_examples`` examples, with the batch's ``loss`` for the metrics; then,
        with ``wait``, waits until every shard has moved past the version the gradients were computed on and loads
        the new parameters into the module. ``wait=False`` returns at once (asynchronous training): parameters that
        have arrived by the next :meth:`step` or :meth:`pull` are loaded then. Returns the loaded version."""
        num_examples = check_examples(self.model, num_examples)
        loss = check_loss(loss)
        gradients = {}
        for name, p in self._params:
            g = p.grad
            if g is None:
                raise ValueError(f"parameter {name!r} has no gradient: call loss.backward() before worker.step() "
                                 "(or set requires_grad=False on it before Model.from_torch)")
            if g.is_sparse:
                raise ValueError(f"parameter {name!r} has a sparse gradient; send dense gradients")
            a = g.detach().to("cpu", torch.float32).numpy().reshape(-1)
            bad = ~np.isfinite(a)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"gradient of {name!r} element {i} is {a[i]}: gradients must be finite "
                                 "(nothing was sent)")
            gradients[name] = a
        self._publish(gradients, num_examples, loss)
        if not wait:
            self._follower.poll(0)
            self._load()
            return self.version
        return self.wait(timeout)

    def publish(self, gradients, num_examples, loss=None):
        """Publishes ``gradients`` (tensor name -> array of the tensor's shape) without a module: the lower-level
        half of :meth:`step`."""
        num_examples = check_examples(self.model, num_examples)
        loss = check_loss(loss)
        flat = {}
        for name, layout in self.model.layouts.items():
            if name not in gradients:
                raise ValueError(f"the gradient of tensor {name!r} is missing")
            a = np.asarray(gradients[name], dtype=np.float32)
            if a.shape != layout.shape and not (a.shape == () and layout.shape == (1,)):
                raise ValueError(f"gradient of {name!r} has shape {list(a.shape)}, the tensor has "
                                 f"{list(layout.shape)}")
            a = a.reshape(-1)
            bad = ~np.isfinite(a)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(f"gradient of {name!r} element {i} is {a[i]}: gradients must be finite")
            flat[name] = a
        self._publish(flat, num_examples, loss)

    def _publish(self, gradients, num_examples, loss):
        # Encode every shard first, so that a gradient the encoding cannot carry sends nothing at all.
        self._follower.poll(0)
        base = self.versions
        step = max(self._step + 1, max(int(v.max()) for v in base.values()) + 1)
        batches = []
        now = int(time.time() * 1000)
        for name, layout in self.model.layouts.items():
            for s in range(layout.shard_count):
                part = layout.shard(s)
                data = self._encode(name, s, gradients[name][part])
                batches.append({"modelId": self.model.model_id, "tensor": name, "shard": s,
                                "workerId": self.worker_id, "workerStep": step, "baseVersion": int(base[name][s]),
                                "numExamples": num_examples, "loss": loss, "kind": "GRADIENT",
                                "publishedAtMs": now,
                                "payload": {"encoding": self.encoding, "elementCount": part.stop - part.start,
                                            "data": data}})
        for b in batches:
            send_batch(self._sender, self.model.topics.gradients, b, self._key)
        self._sender.flush()
        self._step = step
        self._targets = {(b["tensor"], b["shard"]): b["baseVersion"] + 1 for b in batches}

    def _encode(self, name, shard, g):
        k = self.topk
        if self.encoding == "TOPK" and isinstance(k, float):
            k = max(1, int(np.ceil(k * g.size)))
        if self.error_feedback:
            ef = self._feedback.get((name, shard))
            if ef is None:
                ef = self._feedback[(name, shard)] = codecs.ErrorFeedback(self.encoding, k)
            try:
                return ef.compress(g)
            except ValueError as e:
                raise ValueError(f"gradient of {name!r} shard {shard}: {e} (nothing was sent)") from None
        data = codecs.encode(self.encoding, g, k)
        decoded = codecs.decode(self.encoding, data, g.size)
        if not np.all(np.isfinite(decoded)):
            i = int(np.flatnonzero(~np.isfinite(decoded))[0])
            raise ValueError(f"gradient of {name!r} shard {shard} element {i} ({g[i]}) overflows {self.encoding}; "
                             "use BF16 or FP32 (nothing was sent)")
        return data

    def wait(self, timeout=60):
        """Waits until every shard has moved past the version of the last published gradients and loads the
        parameters into the module; returns the loaded version."""
        if self._targets is not None:
            self._wait_for(self._targets, timeout, "the step of its last gradients")
        self._load()
        return self.version

    def pull(self, timeout=30):
        """Loads the newest published parameters into the module; returns the loaded version."""
        self._follower.catch_up(timeout)
        self._load()
        return self.version

    def initialize(self):
        """Sends the module's values as the model's INIT records, as this worker (signed with its key)."""
        self.model.initialize(worker_id=self.worker_id, signing_key=self._key, kafka=self._settings,
                              values={n: p.detach().cpu().numpy() for n, p in self._params})

    def _wait_for(self, targets, timeout, what):
        behind = self._follower.wait_for(targets, timeout)
        if behind:
            name, s, have, want = behind[0]
            mode = self.model.spec["aggregation"]
            hint = (f"a SYNC step waits for {mode['workers']} workers" if mode["mode"] == "SYNC"
                    else "ASYNC steps apply each contribution")
            raise TimeoutError(f"worker {self.worker_id}: shard {self.model.model_id}/{name}/{s} is at version "
                               f"{have}, waiting for {want} ({what}) after {timeout} s; {hint}, and refused "
                               f"records are on the '{self.model.topics.rejected}' topic with the reason")

    def _load(self):
        with torch.no_grad():
            for name, p in self._params:
                p.copy_(torch.from_numpy(self._follower.values[name]).reshape(p.shape))
        self._loaded = {n: v.copy() for n, v in self._follower.versions.items()}

    def close(self):
        self._follower.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
