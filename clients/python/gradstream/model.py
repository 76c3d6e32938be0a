"""A model on gradstream, made from a torch module: its CREATE, its explicit initial values, its workers."""

import math
import os
import time

import numpy as np

from . import codecs, records
from .kafka import kafka_settings
from .signing import HEADER, key_from_text, read_key, sign
from .spec import Sync, Topics, TensorLayout, check_name, model_spec
from .transport import ParameterFollower, Sender

__all__ = ["Model", "load_signing_key"]


def load_signing_key(key):
    """A worker key from bytes, text, or a path (``os.PathLike``) to a key file; None stays None."""
    if key is None:
        return None
    if isinstance(key, os.PathLike):
        return read_key(key)
    return key_from_text(key)


def _float32_parameters(module):
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    if not params:
        raise ValueError("the module has no trainable parameters (named_parameters() with requires_grad)")
    for name, p in params:
        check_name("tensor name", name)
        if str(p.dtype) != "torch.float32":
            raise ValueError(f"parameter {name!r} is {p.dtype}; gradstream trains float32 parameters "
                             "(call module.float() first)")
        if p.numel() == 0:
            raise ValueError(f"parameter {name!r} has shape {tuple(p.shape)}: no elements")
    return params


ACCOUNTANTS = ("PRV", "RDP")


def privacy_accounting(accountant="PRV"):
    """The CREATE's ``privacyAccounting`` of a DP-SGD model accounted with ``accountant`` ("PRV" or "RDP", any case).
    A CREATE without it is accounted with RDP (models created before release 0.4.0)."""
    name = str(accountant).upper()
    if name not in ACCOUNTANTS:
        raise ValueError(f"accountant must be one of {', '.join(ACCOUNTANTS)}, got {accountant!r}")
    return {"accountant": name, "mechanism": "DP_SGD"}


class Model:
    """A model's spec and connection settings. :meth:`from_torch` makes one from a torch module; :meth:`create`
    sends its CREATE, :meth:`initialize` its explicit initial values, :meth:`worker` returns a worker that trains it.

    ``kafka`` is a dict of librdkafka settings (``bootstrap.servers``, ``security.protocol``, ``sasl.*``,
    ``ssl.*``: see :func:`gradstream.kafka_settings` for a Java ``.properties`` file); every Kafka client of the
    model and its workers uses it unless a call gives its own."""

    def __init__(self, model_id, layouts, spec, kafka=None, topics=None, module=None, authorised_workers=None,
                 privacy_accounting=None):
        self.model_id = check_name("model id", model_id)
        self.layouts = layouts
        self.spec = spec
        self.kafka = dict(kafka) if kafka is not None else kafka_settings()
        self.topics = topics or Topics()
        self.module = module
        self.authorised_workers = authorised_workers
        self.privacy_accounting = privacy_accounting

    @classmethod
    def from_torch(cls, module, model_id, optimizer="adam", lr=1e-3, shard_size=65536, aggregation=Sync(), *,
                   kafka=None, topics=None, create=True, lr_schedule=None, output_encoding="FP32",
                   authorised_workers=None, privacy=None, accountant="PRV", init_worker="init", init_signing_key=None,
                   **hyperparameters):
        """A model with the module's trainable parameters (torch's names and shapes; a scalar is shape [1]), the
        optimizer ``optimizer`` (torch's name, any case) with ``lr`` and further ``hyperparameters`` (torch names,
        e.g. ``betas=(0.9, 0.999)``), ``shard_size`` elements per shard and ``aggregation`` (``Sync(workers=2)`` or
        ``Async(max_staleness=4)``). Its init rule is EXPLICIT: with ``create`` (the default) it sends the CREATE
        and then the module's values as INIT records (as worker ``init_worker``, signed with ``init_signing_key``
        when the model names its workers).

        ``authorised_workers`` (worker id -> path of its key file on the task managers, or ``{"keyEnv": VAR}``)
        makes the model admit only those workers, each signing its records (README, Authorised workers);
        ``privacy`` is a ``PrivacySpec`` dict (README, Differential privacy), accounted with ``accountant``: "PRV"
        (Opacus' default, the default here) or "RDP"."""
        params = _float32_parameters(module)
        layouts = {n: TensorLayout(n, tuple(p.shape) or (1,), shard_size) for n, p in params}
        for layout in layouts.values():
            if layout.elements > 2**31 - 1:
                raise ValueError(f"parameter {layout.name!r} has {layout.elements} elements; at most 2^31 - 1")
        spec = model_spec(layouts, optimizer, {"lr": lr, **hyperparameters}, shard_size, aggregation,
                          lr_schedule=lr_schedule, output_encoding=output_encoding, privacy=privacy)
        model = cls(model_id, layouts, spec, kafka=kafka, topics=topics, module=module,
                    authorised_workers=_worker_list(authorised_workers),
                    privacy_accounting=privacy_accounting(accountant) if privacy else None)
        if create and model.authorised_workers is not None and (init_worker not in model.authorised_workers
                                                                or init_signing_key is None):
            raise ValueError(f"a model with authorised_workers admits only their signed INIT records: give "
                             f"init_worker= one of {sorted(model.authorised_workers)} and its init_signing_key= "
                             f"(got init_worker={init_worker!r})")
        if create:
            model.create()
            model.initialize(worker_id=init_worker, signing_key=init_signing_key)
        return model

    @property
    def private_examples(self):
        """Whether workers send sums of clipped examples (privacy unit EXAMPLE), which allows numExamples = 0."""
        p = self.spec.get("privacy")
        return bool(p) and p.get("unit") == "EXAMPLE"

    def create(self, kafka=None):
        """Sends the CREATE (key: the model id) to the control topic and waits until Kafka has it. Repeating the same
        CREATE is harmless; one with another spec for an existing model is refused by the job (INVALID_COMMAND)."""
        command = {"modelId": self.model_id, "type": "CREATE", "spec": self.spec,
                   "issuedAtMs": int(time.time() * 1000), "workers": self.authorised_workers,
                   "privacyAccounting": self.privacy_accounting}
        sender = Sender(kafka or self.kafka)
        sender.send(self.topics.control, self.model_id.encode("utf-8"), records.encode("ControlCommand", command))
        sender.flush()

    def initialize(self, worker_id="init", signing_key=None, kafka=None, values=None):
        """Sends every shard's initial values as INIT records: ``values`` (name -> array), else the module's.
        INIT records count only before a shard's first step; later ones are refused (ALREADY_INITIALIZED) and change
        nothing, so a second process that initialises the same model is harmless."""
        check_name("worker id", worker_id)
        key = load_signing_key(signing_key)
        if values is None:
            if self.module is None:
                raise ValueError("initialize() needs values= or a model made by from_torch")
            values = {n: p.detach().cpu().numpy() for n, p in _float32_parameters(self.module)}
        sender = Sender(kafka or self.kafka)
        for name, layout in self.layouts.items():
            if name not in values:
                raise ValueError(f"initial values of tensor {name!r} are missing")
            v = np.asarray(values[name], dtype=np.float32).reshape(-1)
            if v.size != layout.elements:
                raise ValueError(f"initial values of {name!r} have {v.size} elements, the tensor has "
                                 f"{layout.elements} (shape {list(layout.shape)})")
            _require_finite(f"initial value of {name!r}", v)
            for s in range(layout.shard_count):
                batch = {"modelId": self.model_id, "tensor": name, "shard": s, "workerId": worker_id,
                         "workerStep": 0, "baseVersion": 0, "numExamples": 1, "kind": "INIT",
                         "payload": {"encoding": "FP32", "elementCount": layout.shard(s).stop - layout.shard(s).start,
                                     "data": codecs.encode("FP32", v[layout.shard(s)])}}
                send_batch(sender, self.topics.gradients, batch, key)
        sender.flush()

    def worker(self, worker_id, module=None, encoding="FP32", topk=None, error_feedback=True, signing_key=None,
               kafka=None, timeout=60):
        """A worker ``worker_id`` that trains ``module`` (default: the module the model was made from) through the
        service; it waits up to ``timeout`` seconds for the model's parameters and loads them into the module."""
        from .worker import Worker
        return Worker(self, worker_id, module if module is not None else self.module, encoding=encoding, topk=topk,
                      error_feedback=error_feedback, signing_key=signing_key, kafka=kafka, timeout=timeout)

    def parameters(self, timeout=30, kafka=None):
        """The newest published values of every tensor (name -> float32 array of its shape) and their versions
        (name -> array of shard versions)."""
        follower = ParameterFollower(self.model_id, self.layouts, kafka or self.kafka, self.topics.parameters)
        try:
            behind = follower.wait_for(0, timeout)
            if behind:
                raise TimeoutError(f"model {self.model_id}: no parameters of shard {behind[0][0]}/{behind[0][1]} "
                                   f"after {timeout} s (was the model created and initialised?)")
            follower.catch_up(timeout)
            values = {n: follower.values[n].reshape(self.layouts[n].shape).copy() for n in self.layouts}
            return values, {n: v.copy() for n, v in follower.versions.items()}
        finally:
            follower.close()


def _worker_list(workers):
    if workers is None:
        return None
    out = {}
    for worker_id, ref in dict(workers).items():
        check_name("worker id", worker_id)
        if isinstance(ref, (str, os.PathLike)):
            ref = {"keyFile": os.fspath(ref)}
        if not isinstance(ref, dict) or set(ref) - {"keyFile", "keyEnv"} or len(ref) != 1:
            raise ValueError(f"authorised worker {worker_id!r} needs a key file path or exactly one of "
                             f"{{'keyFile': path}} / {{'keyEnv': VAR}}, got {ref!r}")
        out[worker_id] = {"keyFile": ref.get("keyFile"), "keyEnv": ref.get("keyEnv")}
    return out


def _require_finite(what, v):
    bad = ~np.isfinite(v)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{what} element {i} is {v[i]}: values must be finite")


def send_batch(sender, topic, batch, key):
    """Sends one GradientBatch under its shard key model/tensor/shard (which the job requires to equal the value's
    fields), signed when ``key`` is a worker key."""
    record_key = f"{batch['modelId']}/{batch['tensor']}/{batch['shard']}".encode("utf-8")
    value = records.encode("GradientBatch", batch)
    headers = [(HEADER, sign(key, record_key, value))] if key is not None else None
    sender.send(topic, record_key, value, headers)


def check_examples(model, num_examples):
    """numExamples as the job accepts it: 1..2^24, or 0..2^24 for a model whose workers send clipped example sums."""
    low = 0 if model.private_examples else 1
    if isinstance(num_examples, bool) or not isinstance(num_examples, (int, np.integer)) \
            or not low <= num_examples <= (1 << 24):
        raise ValueError(f"num_examples must be an integer in {low}..{1 << 24} (gradstream.limits.examples), "
                         f"got {num_examples!r}")
    return int(num_examples)


def check_loss(loss):
    if loss is None:
        return None
    loss = float(loss)
    if not math.isfinite(loss):
        raise ValueError(f"loss must be finite (or None), got {loss}")
    return loss
