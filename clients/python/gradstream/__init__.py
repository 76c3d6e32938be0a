"""gradstream's Python client: train a torch module through a gradstream service.

    model = gradstream.Model.from_torch(net, "digits", optimizer="adam", lr=0.05,
                                        aggregation=gradstream.Sync(workers=2))
    worker = model.worker("w0")
    loss.backward(); worker.step(num_examples=len(y))

See the README section "Writing a worker in another language" for the records, the key rule, the partitioner,
the encodings and the signing this package implements.
"""

from .codecs import ENCODINGS, ErrorFeedback
from .kafka import kafka_settings, read_properties
from .model import Model, load_signing_key
from .partitioner import murmur2, partition_for
from .signing import sign
from .spec import Async, Sync, TensorLayout, Topics

__all__ = ["Model", "Sync", "Async", "Topics", "TensorLayout", "kafka_settings", "read_properties", "murmur2",
           "partition_for", "sign", "load_signing_key", "ErrorFeedback", "ENCODINGS"]
__version__ = "0.1.0.dev0"
