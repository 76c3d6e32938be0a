"""The service the tests train against: the one tools' PythonClientITCase started (its address in the environment),
else a ``./gradstream local`` started here on free ports and stopped at the end."""

import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from gradstream import kafka_settings, records
from gradstream.transport import ParameterFollower  # noqa: F401 - imported so a broken install fails early

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))


class LocalService:
    """``./gradstream local`` in a child process, on free ports; its Kafka address is read from what it prints."""

    def __init__(self, *args):
        self.proc = subprocess.Popen([os.path.join(REPO, "gradstream"), "local", "--kafka-port", "0", "--web-port",
                                      "0", "--prometheus-port", "none", *args], cwd=REPO, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.bootstrap = None
        self.work_dir = None
        deadline = time.monotonic() + 600  # the launcher builds the project on first use
        for line in self.proc.stdout:
            self.lines.append(line)
            m = re.match(r"\s*Kafka:\s+(\S+)", line)
            if m:
                self.bootstrap = m.group(1)
            m = re.match(r"\s*work folder:\s+(\S+)", line)
            if m:
                self.work_dir = m.group(1)
            if self.bootstrap and self.work_dir or time.monotonic() > deadline:
                break
        if not self.bootstrap:
            self.stop()
            raise RuntimeError("gradstream local did not start:\n" + "".join(self.lines[-40:]))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # what Ctrl-C's shutdown hook runs; scripts ignore SIGINT
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="session")
def service():
    """librdkafka settings of a plaintext gradstream."""
    bootstrap = os.environ.get("GRADSTREAM_TEST_BOOTSTRAP")
    if bootstrap:
        yield kafka_settings(bootstrap_servers=bootstrap)
        return
    local = LocalService()
    try:
        yield kafka_settings(bootstrap_servers=local.bootstrap)
    finally:
        local.stop()


@pytest.fixture(scope="session")
def secure_service(tmp_path_factory):
    """(bootstrap servers, work folder) of a gradstream local --secure: credentials/ and tls/ are in the folder."""
    bootstrap = os.environ.get("GRADSTREAM_TEST_SECURE_BOOTSTRAP")
    if bootstrap:
        yield bootstrap, os.environ["GRADSTREAM_TEST_SECURE_WORKDIR"]
        return
    work = tmp_path_factory.mktemp("secure") / "work"
    local = LocalService("--secure", "--work-dir", str(work))
    try:
        yield local.bootstrap, str(work)
    finally:
        local.stop()


@pytest.fixture
def model_id():
    """A fresh model id per test, so that tests never see each other's shards."""
    return "py-" + uuid.uuid4().hex[:10]


def rejections(settings, model_id, count=1, timeout=60, topic="rejected"):
    """The RejectedRecords of ``model_id`` on the rejected topic, once at least ``count`` arrived (or at timeout)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
    c = Consumer({**settings, "group.id": "worker-test-" + uuid.uuid4().hex, "enable.auto.commit": False})
    try:
        parts = c.list_topics(topic, timeout=30).topics[topic].partitions
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in parts])
        found = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            for msg in c.consume(100, 0.2):
                if msg.error() is None:
                    r = records.decode("RejectedRecord", msg.value())
                    if r["modelId"] == model_id:
                        found.append(r)
        return found
    finally:
        c.close()
