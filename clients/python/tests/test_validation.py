"""Bad input raises before anything is sent, with the field and the value."""

import numpy as np
import pytest
import torch

import gradstream


def test_the_spec_is_checked_without_a_broker():
    net = torch.nn.Linear(2, 2)
    offline = {"bootstrap.servers": "127.0.0.1:1"}  # nothing listens there: nothing may be sent

    def make(module=net, model_id="m", **kw):
        return gradstream.Model.from_torch(module, model_id, kafka=offline, create=False, **kw)

    assert make().spec["init"]["rule"] == "EXPLICIT"
    cases = [
        (dict(module=torch.nn.Linear(2, 2).double()), "parameter 'weight' is torch.float64"),
        (dict(model_id="a/b"), "model id 'a/b' must not contain '/'"),
        (dict(model_id=""), "model id must be a non-empty string"),
        (dict(shard_size=0), "shard_size must be an integer in 1..4177920, got 0"),
        (dict(shard_size=5_000_000), "got 5000000"),
        (dict(optimizer="adamm"), "optimizer must be one of SGD, Adam"),
        (dict(lr=float("nan")), "lr must be a number >= 0, got nan"),
        (dict(lr=-1), "lr must be a number >= 0, got -1"),
        (dict(weight_decay=float("inf")), "hyperparameter weight_decay must be finite, got inf"),
        (dict(betas=(0.9, "x")), "hyperparameter betas must be"),
        (dict(aggregation=gradstream.Sync(workers=0)), "aggregation workers must be an integer in 1..10000, got 0"),
        (dict(aggregation=gradstream.Async(max_staleness=-1)), "max_staleness must be an integer"),
        (dict(aggregation="fast"), "aggregation must be Sync(...), Async(...), 'sync' or 'async', got 'fast'"),
        (dict(output_encoding="TOPK"), "output_encoding must be FP32, FP16, BF16 or INT8_BLOCK, got 'TOPK'"),
        (dict(authorised_workers={"w0": {"keyFile": "a", "keyEnv": "B"}}), "exactly one of"),
        (dict(authorised_workers={"w/0": "key"}), "worker id 'w/0'"),
    ]
    with pytest.raises(ValueError, match="give init_worker= one of \\['w0'\\] and its init_signing_key="):
        gradstream.Model.from_torch(net, "m", kafka=offline, authorised_workers={"w0": "/keys/w0"})
    for kwargs, message in cases:
        with pytest.raises(ValueError) as e:
            make(**kwargs)
        assert message in str(e.value), (kwargs, str(e.value))
    frozen = torch.nn.Linear(2, 2)
    for p in frozen.parameters():
        p.requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        make(module=frozen)


def test_a_worker_refuses_bad_gradients_and_counts_and_sends_nothing(service, model_id):
    net = torch.nn.Linear(3, 2)
    model = gradstream.Model.from_torch(net, model_id, optimizer="sgd", lr=0.1, shard_size=4, kafka=service)
    worker = model.worker("w0")
    with pytest.raises(ValueError, match="parameter 'weight' has no gradient: call loss.backward()"):
        worker.step(num_examples=1)
    net(torch.ones(1, 3)).sum().backward()
    for bad, message in [(0, "num_examples must be an integer in 1..16777216 (gradstream.limits.examples), got 0"),
                         (-3, "got -3"), (2**24 + 1, "got 16777217"), (True, "got True"), (2.0, "got 2.0")]:
        with pytest.raises(ValueError) as e:
            worker.step(num_examples=bad)
        assert message in str(e.value)
    with pytest.raises(ValueError, match="loss must be finite"):
        worker.step(num_examples=1, loss=float("inf"))
    net.weight.grad[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"gradient of 'weight' element 5 is nan: gradients must be finite"):
        worker.step(num_examples=1)
    net.weight.grad[1, 2] = 1e6
    fp16 = model.worker("w1", encoding="FP16")
    with pytest.raises(ValueError, match=r"gradient of 'weight' shard 1: FP16 cannot carry 1000000.0 at index 1"):
        fp16.step(num_examples=1)
    with pytest.raises(ValueError, match="gradient of 'bias' has shape \\[3\\], the tensor has \\[2\\]"):
        worker.publish({"weight": np.zeros((2, 3)), "bias": np.zeros(3)}, 1)
    with pytest.raises(ValueError, match="TOPK needs topk"):
        model.worker("w2", encoding="TOPK")
    with pytest.raises(ValueError, match="parameter 'weight' has shape \\[3, 3\\], the model's tensor has \\[2, 3\\]"):
        model.worker("w3", module=torch.nn.Linear(3, 3))
    # Nothing of the refused steps reached the service: every shard is still at its initial version.
    _, versions = model.parameters(kafka=service)
    assert all((v == 0).all() for v in versions.values())
    # A valid step then goes through (SYNC with one worker: version 1).
    net.weight.grad[1, 2] = 0.5
    assert worker.step(num_examples=1) == 1
    worker.close()
    fp16.close()
