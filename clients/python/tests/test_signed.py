"""A model that names its workers admits the signed records of its worker and refuses the rest as UNAUTHORIZED."""

import secrets

import pytest
import torch

import gradstream
from conftest import rejections


def test_only_the_signed_worker_contributes(service, model_id, tmp_path):
    key = tmp_path / "w0.key"
    key.write_text(secrets.token_hex(32) + "\n")  # a fresh key per run; the job reads the same file
    other = tmp_path / "other.key"
    other.write_text(secrets.token_hex(32))
    net = torch.nn.Linear(3, 2)
    # The INIT records must be signed too: the model's own worker sends them.
    model = gradstream.Model.from_torch(net, model_id, optimizer="sgd", lr=0.1, kafka=service,
                                        authorised_workers={"w0": str(key)}, init_worker="w0",
                                        init_signing_key=key)
    assert model.authorised_workers == {"w0": {"keyFile": str(key), "keyEnv": None}}
    worker = model.worker("w0", signing_key=key)
    net(torch.ones(1, 3)).sum().backward()
    assert worker.step(num_examples=2) == 1

    impostor = model.worker("w0", module=torch.nn.Linear(3, 2), signing_key=other)  # the right id, another key
    unlisted = model.worker("w9", module=torch.nn.Linear(3, 2))  # unsigned
    for w in (impostor, unlisted):
        w.module(torch.ones(1, 3)).sum().backward()
        w.step(num_examples=1, wait=False)
    refused = rejections(service, model_id, count=4)
    assert len(refused) == 4 and {r["reason"] for r in refused} == {"UNAUTHORIZED"}, refused
    assert any("w9" in r["detail"] for r in refused)
    _, versions = model.parameters(kafka=service)
    assert all((v == 1).all() for v in versions.values())  # neither moved the model
    with pytest.raises(ValueError, match="16 to 1024 bytes"):
        model.worker("w0", signing_key=b"short")
    for w in (worker, impostor, unlisted):
        w.close()
