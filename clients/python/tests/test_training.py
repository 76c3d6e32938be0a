"""Training through the service: two workers equal torch on their example-weighted mean gradient, every encoding
arrives as the client encoded it (error feedback included), and asynchronous workers do not wait."""

import copy
import threading
import time

import numpy as np
import pytest
import torch

import gradstream
from gradstream import codecs


def _relative_error(actual, expected):
    return float(np.max(np.abs(actual - expected)) / max(np.max(np.abs(expected)), 1e-30))


def test_two_workers_train_as_torch_on_their_averaged_gradients(service, model_id):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    reference = copy.deepcopy(net)
    # shard_size 7 cuts every tensor into several shards, the last one shorter.
    model = gradstream.Model.from_torch(net, model_id, optimizer="adam", lr=0.05, shard_size=7,
                                        aggregation=gradstream.Sync(workers=2), kafka=service, betas=(0.9, 0.99))
    assert model.spec["hyperparameters"] == {"lr": 0.05, "betas": [0.9, 0.99]}
    nets = [copy.deepcopy(net), copy.deepcopy(net)]
    workers = [model.worker(f"w{i}", module=nets[i]) for i in range(2)]
    optimizer = torch.optim.Adam(reference.parameters(), lr=0.05, betas=(0.9, 0.99))
    sizes = [3, 5]  # different batch sizes: the mean is weighted by examples
    g = torch.Generator().manual_seed(1)
    for step in range(6):
        batches = [(torch.randn(n, 5, generator=g), torch.randint(0, 3, (n,), generator=g)) for n in sizes]
        for module, (x, y) in zip(nets, batches):
            module.zero_grad()
            torch.nn.functional.cross_entropy(module(x), y).backward()
        errors = []

        def run(w, n):
            try:
                w.step(num_examples=n, loss=0.5)
            except Exception as e:  # noqa: BLE001 - re-raised below on the test's thread
                errors.append(e)
        threads = [threading.Thread(target=run, args=(w, n)) for w, n in zip(workers, sizes)]
        [t.start() for t in threads]
        [t.join(120) for t in threads]
        assert not errors, errors
        assert all(w.version == step + 1 for w in workers)
        # The reference: each worker's gradient on the same parameters, weighted and summed in float32 as the
        # service does (fl32(n1 g1) + fl32(n2 g2)) / fl32(n1 + n2), then torch's Adam.
        grads = []
        for x, y in batches:
            reference.zero_grad()
            torch.nn.functional.cross_entropy(reference(x), y).backward()
            grads.append([p.grad.clone() for p in reference.parameters()])
        for p, g1, g2 in zip(reference.parameters(), *grads):
            p.grad = (g1 * sizes[0] + g2 * sizes[1]) / float(sum(sizes))
        optimizer.step()
        for (name, p), q in zip(nets[0].named_parameters(), reference.parameters()):
            assert _relative_error(p.detach().numpy(), q.detach().numpy()) <= 1e-6, (step, name)
    values, versions = model.parameters(kafka=service)
    assert all((v == 6).all() for v in versions.values())
    for name, q in reference.named_parameters():
        assert _relative_error(values[name], q.detach().numpy()) <= 1e-6, name
        assert torch.equal(dict(nets[1].named_parameters())[name], dict(nets[0].named_parameters())[name])
    [w.close() for w in workers]


@pytest.mark.parametrize("encoding,topk", [("FP16", None), ("BF16", None), ("INT8_BLOCK", None), ("TOPK", 0.1),
                                           ("TOPK", 7)])
def test_every_encoding_arrives_as_the_client_encoded_it(service, model_id, encoding, topk):
    torch.manual_seed(2)
    net = torch.nn.Linear(40, 10)  # 400 + 10 elements: shards of 300 and 100 (an INT8 block boundary inside)
    model = gradstream.Model.from_torch(net, model_id, optimizer="sgd", lr=0.5, shard_size=300, kafka=service)
    worker = model.worker("w0", encoding=encoding, topk=topk)
    feedback = {}
    for step in range(2):
        before = {n: p.detach().numpy().reshape(-1).copy() for n, p in net.named_parameters()}
        grads = {n: (torch.randn(p.shape) * 3).float() for n, p in net.named_parameters()}
        for n, p in net.named_parameters():
            p.grad = grads[n].clone()
        assert worker.step(num_examples=4) == step + 1
        for name, p in net.named_parameters():
            layout = model.layouts[name]
            expected = before[name].copy()
            for s in range(layout.shard_count):
                part = layout.shard(s)
                k = topk if not isinstance(topk, float) else int(np.ceil(topk * (part.stop - part.start)))
                ef = feedback.setdefault((name, s), codecs.ErrorFeedback(encoding, k))
                sent = codecs.decode(encoding, ef.compress(grads[name].numpy().reshape(-1)[part]),
                                     part.stop - part.start)
                # SGD with lr 0.5 (a power of two): the service's step is exactly p - 0.5 * decoded.
                expected[part] = expected[part] - np.float32(0.5) * sent
            assert np.array_equal(p.detach().numpy().reshape(-1), expected), (encoding, step, name)
    worker.close()


def test_asynchronous_workers_publish_without_waiting(service, model_id):
    net = torch.nn.Linear(3, 2)
    model = gradstream.Model.from_torch(net, model_id, optimizer="sgd", lr=0.1,
                                        aggregation=gradstream.Async(max_staleness=2), kafka=service)
    worker = model.worker("w0")
    for _ in range(3):
        net.zero_grad()
        net(torch.ones(1, 3)).sum().backward()
        worker.step(num_examples=1, wait=False)
    deadline = time.monotonic() + 60
    while worker.pull(timeout=5) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert worker.version == 3
    # Every step used the same gradient (the bias's is 1 each): three steps of lr 0.1 from the initial value.
    values, _ = model.parameters(kafka=service)
    assert np.allclose(values["bias"], dict(net.named_parameters())["bias"].detach().numpy())
    worker.close()
