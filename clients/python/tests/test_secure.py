"""A worker on the secured broker of ``gradstream local --secure`` (SASL_SSL with SCRAM, TLS, ACLs), from the Java
client files it writes: the operator creates the model, the worker initialises and trains it, and what the worker
may not do is refused with Kafka's reason."""

import os

import confluent_kafka
import pytest
import torch

import gradstream

pytestmark = pytest.mark.secure


def test_a_worker_trains_over_sasl_ssl_with_the_java_credential_files(secure_service, model_id):
    bootstrap, work = secure_service
    credentials = os.path.join(work, "credentials")
    operator = gradstream.kafka_settings(os.path.join(credentials, "operator.properties"), bootstrap_servers=bootstrap)
    worker_settings = gradstream.kafka_settings(os.path.join(credentials, "worker.properties"),
                                                bootstrap_servers=bootstrap)
    # The Java trust store is replaced by the PEM CA that gradstream local --secure writes beside the credentials.
    assert worker_settings["ssl.ca.location"] == os.path.join(work, "tls", "ca.crt")
    assert worker_settings["security.protocol"] == "SASL_SSL" and worker_settings["sasl.username"] == "worker"
    assert not any(k.startswith("ssl.truststore") for k in worker_settings)

    net = torch.nn.Linear(4, 2)
    model = gradstream.Model.from_torch(net, model_id, optimizer="adam", lr=0.01, kafka=worker_settings,
                                        create=False)
    if confluent_kafka.libversion()[1] < 0x02060100:
        # librdkafka before 2.6.1 (Debian 12 has 2.0.2) sends a SCRAM proof that Kafka 4 brokers refuse
        # (confluentinc/librdkafka#4895). The TLS handshake with the CA found above must still succeed: the error is
        # the SASL step's, and it says what to upgrade.
        with pytest.raises(RuntimeError) as e:
            model.create(kafka=operator)
        assert "SASL authentication error" in str(e.value) and "librdkafka 2.6.1" in str(e.value), str(e.value)
        assert "SSL" not in str(e.value).replace("SASL_SSL", "")
        pytest.skip(f"librdkafka {confluent_kafka.libversion()[0]} cannot authenticate with SCRAM against Kafka 4; "
                    "the secure training run needs librdkafka >= 2.6.1")
    with pytest.raises(RuntimeError, match="(?i)authoriz"):
        model.create()  # the worker principal may not write the control topic
    model.create(kafka=operator)
    model.initialize()
    worker = model.worker("w0")
    net(torch.ones(2, 4)).sum().backward()
    assert worker.step(num_examples=2) == 1
    values, versions = model.parameters()
    assert torch.equal(torch.from_numpy(values["weight"]), net.weight.detach())
    worker.close()
