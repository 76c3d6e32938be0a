#!/usr/bin/env python3
"""The Python twin of ``gradstream local --demo``: worker threads train softmax regression (a torch ``nn.Linear``) on
the UCI handwritten digits through a running gradstream, each on its own slice of the data; the service averages
their gradients (SYNC) and applies Adam.

    ./gradstream local                         # in another terminal: Kafka + the job
    python3 clients/python/examples/digits.py  # --steps 200 --workers 2 --bootstrap-servers 127.0.0.1:9092

Data: the demo's own copy (tools/src/main/resources/datasets/digits.csv.gz), else scikit-learn's (python3-sklearn).
"""

import argparse
import copy
import gzip
import os
import sys
import threading
import uuid

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import gradstream
except ImportError:  # run from the repository without installing the package
    sys.path.insert(0, os.path.dirname(HERE))
    import gradstream

DATA = os.path.join(HERE, os.pardir, os.pardir, os.pardir, "tools", "src", "main", "resources", "datasets",
                    "digits.csv.gz")


def load_digits():
    """1797 8x8 images with pixels scaled to [0, 1], and their labels 0..9."""
    if os.path.isfile(DATA):
        with gzip.open(DATA, "rt", encoding="ascii") as f:
            rows = np.loadtxt(f, delimiter=",", dtype=np.float32)
        return rows[:, :64] / 16, rows[:, 64].astype(np.int64)
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        sys.exit(f"digits.py: no data: {DATA} is missing and scikit-learn is not installed "
                 "(apt-get install python3-sklearn)")
    d = sklearn_digits()
    return (d.data / 16).astype(np.float32), d.target.astype(np.int64)


def evaluate(net, x, y):
    with torch.no_grad():
        logits = net(x)
        return (torch.nn.functional.cross_entropy(logits, y).item(),
                (logits.argmax(1) == y).float().mean().item())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap-servers", help="Kafka (default: $GRADSTREAM_KAFKA_BOOTSTRAP_SERVERS or "
                                               "127.0.0.1:9092)")
    p.add_argument("--kafka-config", help="a Java client .properties file (e.g. credentials/worker.properties)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    args = p.parse_args()
    if min(args.steps, args.workers, args.batch) < 1:
        p.error("--steps, --workers and --batch must be >= 1")
    torch.set_num_threads(1)
    x_all, y_all = load_digits()
    x, y = torch.from_numpy(x_all), torch.from_numpy(y_all)
    kafka = gradstream.kafka_settings(args.kafka_config, bootstrap_servers=args.bootstrap_servers)

    net = torch.nn.Linear(64, 10)
    torch.nn.init.zeros_(net.weight)  # the Java demo's start: every class equally likely, loss ln 10
    torch.nn.init.zeros_(net.bias)
    first_loss, first_acc = evaluate(net, x, y)
    model_id = "digits-py-" + uuid.uuid4().hex[:8]
    model = gradstream.Model.from_torch(net, model_id, optimizer="adam", lr=args.lr, shard_size=256,
                                        aggregation=gradstream.Sync(workers=args.workers), kafka=kafka)
    print(f"demo: model {model_id} (softmax regression, 650 parameters), {args.workers} workers, {args.steps} steps",
          flush=True)

    losses = np.zeros((args.workers, args.steps))
    failures = []

    def work(w):
        try:
            module = copy.deepcopy(net)
            rows = np.arange(len(y_all))[np.arange(len(y_all)) % args.workers == w]  # this worker's slice
            rng = np.random.default_rng(1000 + w)
            with model.worker(f"worker-{w}", module=module) as worker:
                for t in range(args.steps):
                    batch = torch.from_numpy(rng.choice(rows, args.batch))
                    module.zero_grad()
                    loss = torch.nn.functional.cross_entropy(module(x[batch]), y[batch])
                    loss.backward()
                    losses[w, t] = loss.item()  # before the step, which returns once every worker published
                    worker.step(num_examples=args.batch, loss=loss.item())
                    if w == 0 and ((t + 1) % 10 == 0 or t == 0 or t + 1 == args.steps):
                        print(f"step {t + 1:4d}/{args.steps}  loss {losses[:, t].mean():.4f}", flush=True)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            failures.append(f"worker {w}: {e}")

    threads = [threading.Thread(target=work, args=(w,), daemon=True) for w in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        sys.exit("digits.py: " + "; ".join(failures))
    values, _ = model.parameters()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(torch.from_numpy(values[name]))
    last_loss, last_acc = evaluate(net, x, y)
    print(f"demo: accuracy {first_acc:.3f} -> {last_acc:.3f}")
    print(f"demo: loss {first_loss:.4f} -> {last_loss:.4f} over {args.steps} steps")
    return 0 if last_loss < first_loss else 1


if __name__ == "__main__":
    sys.exit(main())
