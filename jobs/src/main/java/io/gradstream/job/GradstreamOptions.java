package io.gradstream.job;

import static org.apache.flink.configuration.ConfigOptions.key;

import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.MemorySize;

/**
 * Every configuration key the gradstream job reads, typed, with defaults and descriptions, in one place. They are
 * ordinary Flink configuration keys: set them in a cluster's {@code config.yaml}, with {@code -D key=value} on
 * {@code gradstream local}, or as {@code --key value} arguments of the job's main class.
 */
public final class GradstreamOptions {
    private GradstreamOptions() {}

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = key("gradstream.kafka.bootstrap-servers")
            .stringType()
            .defaultValue("127.0.0.1:9092")
            .withDescription("Kafka brokers to read gradients and commands from and write parameters to.");

    public static final ConfigOption<String> GROUP_ID = key("gradstream.kafka.group-id")
            .stringType()
            .defaultValue("gradstream")
            .withDescription("Consumer group of the job's Kafka sources (offsets are also kept in checkpoints).");

    public static final ConfigOption<String> CONTROL_TOPIC = key("gradstream.topics.control")
            .stringType()
            .defaultValue("control")
            .withDescription("Topic of ControlCommand records.");

    public static final ConfigOption<String> GRADIENTS_TOPIC = key("gradstream.topics.gradients")
            .stringType()
            .defaultValue("gradients")
            .withDescription("Topic of GradientBatch records.");

    public static final ConfigOption<String> PARAMETERS_TOPIC = key("gradstream.topics.parameters")
            .stringType()
            .defaultValue("parameters")
            .withDescription("Compacted topic the job publishes ParameterUpdate records to.");

    public static final ConfigOption<String> REJECTED_TOPIC = key("gradstream.topics.rejected")
            .stringType()
            .defaultValue("rejected")
            .withDescription("Dead-letter topic of RejectedRecord records.");

    public static final ConfigOption<String> STATUS_TOPIC = key("gradstream.topics.status")
            .stringType()
            .defaultValue("status")
            .withDescription("Topic of StatusEvent records: model-wide events such as a spent privacy budget.");

    public static final ConfigOption<String> DELIVERY = key("gradstream.delivery")
            .stringType()
            .defaultValue("AT_LEAST_ONCE")
            .withDescription("Delivery of parameters and rejections: AT_LEAST_ONCE (consumers keep the highest "
                    + "version, so duplicates are harmless) or EXACTLY_ONCE (Kafka transactions committed with each "
                    + "checkpoint; consumers read with isolation.level=read_committed, one checkpoint interval "
                    + "later). The optimizer state is exactly-once either way.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = key("gradstream.kafka.transactional-id-prefix")
            .stringType()
            .defaultValue("gradstream")
            .withDescription("Prefix of the Kafka transactional ids used with EXACTLY_ONCE; unique per job.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = key("gradstream.kafka.transaction-timeout")
            .durationType()
            .defaultValue(Duration.ofMinutes(10))
            .withDescription("transaction.timeout.ms of the producers; must not exceed the broker's "
                    + "transaction.max.timeout.ms (15 min by default) and must exceed the checkpoint interval.");

    public static final ConfigOption<Duration> UNKNOWN_MODEL_GRACE = key("gradstream.unknown-model-grace")
            .durationType()
            .defaultValue(Duration.ofSeconds(60))
            .withDescription("How long gradients for a model that has not been created wait before they are "
                    + "rejected as UNKNOWN_MODEL (gradients and commands are read concurrently).");

    public static final ConfigOption<Integer> MAX_WAITING_PER_SHARD = key("gradstream.max-waiting-per-shard")
            .intType()
            .defaultValue(1000)
            .withDescription("How many such waiting gradients one shard holds at most.");

    public static final ConfigOption<Integer> MAX_PARALLELISM = key("gradstream.max-parallelism")
            .intType()
            .defaultValue(128)
            .withDescription("Max parallelism (number of key groups) of the shard optimizer, pinned so that a "
                    + "savepoint restores at any parallelism from 1 to this value. Keyed state is stored per key "
                    + "group: a savepoint taken with one value cannot be restored with another, so choose it "
                    + "once, above the largest parallelism the job will ever need (128 is what Flink picks for "
                    + "parallelism <= 85, so savepoints of earlier releases keep restoring). At most 32768.");

    public static final ConfigOption<String> BACKEND = key("gradstream.backend")
            .stringType()
            .defaultValue("cpu")
            .withDescription("Where the optimizer loops run: cpu, or opencl (an OpenCL device through JOCL, steps "
                    + "batched per launch, the CPU as fallback behind a circuit breaker; without a usable device "
                    + "the job runs on the CPU).");

    public static final ConfigOption<String> OPENCL_PLATFORM = key("gradstream.backend.opencl.platform")
            .stringType()
            .noDefaultValue()
            .withDescription("OpenCL platform: an index, or part of its name such as NVIDIA or Portable (default: "
                    + "the first).");

    public static final ConfigOption<String> OPENCL_DEVICE_TYPE = key("gradstream.backend.opencl.device-type")
            .stringType()
            .noDefaultValue()
            .withDescription("OpenCL device type: cpu, gpu or all (default: all).");

    public static final ConfigOption<String> OPENCL_DEVICE = key("gradstream.backend.opencl.device")
            .stringType()
            .noDefaultValue()
            .withDescription("Index of the device among the platform's devices of that type (default: 0).");

    public static final ConfigOption<MemorySize> OPENCL_RESIDENT_STATE = key("gradstream.backend.opencl.resident-state")
            .memoryType()
            .defaultValue(MemorySize.ZERO)
            .withDescription("Device memory per subtask for optimizer slots (Adam's moments, momentum) kept on the "
                    + "OpenCL device between steps, so a step moves only parameters and gradient; written back to "
                    + "keyed state before every checkpoint barrier; 0 (default): every step moves its slots both ways. "
                    + "A device failure that loses slots not yet written back fails the task, which restarts from "
                    + "the last checkpoint.");

    public static final ConfigOption<Integer> OPENCL_BREAKER_FAILURES =
            key("gradstream.backend.opencl.breaker.failures")
                    .intType()
                    .defaultValue(3)
                    .withDescription("Device failures within the breaker's window that send batches to the CPU.");

    public static final ConfigOption<Duration> OPENCL_BREAKER_WINDOW = key("gradstream.backend.opencl.breaker.window")
            .durationType()
            .defaultValue(Duration.ofSeconds(60))
            .withDescription("The window in which device failures count towards opening the breaker.");

    public static final ConfigOption<Duration> OPENCL_BREAKER_COOL_DOWN =
            key("gradstream.backend.opencl.breaker.cool-down")
                    .durationType()
                    .defaultValue(Duration.ofSeconds(30))
                    .withDescription(
                            "How long an open breaker keeps batches on the CPU before it tries the device again.");

    public static final ConfigOption<Integer> BATCH_SHARDS = key("gradstream.backend.batch-shards")
            .intType()
            .defaultValue(0)
            .withDescription("Most completed shard steps run as one backend call (one kernel launch); 0 picks 1 "
                    + "for cpu (each step as it completes) and 64 for opencl.");

    public static final ConfigOption<Duration> BATCH_DELAY = key("gradstream.backend.batch-delay")
            .durationType()
            .defaultValue(Duration.ofMillis(2))
            .withDescription("Longest a completed step waits for its batch to fill; checkpoints flush at once.");

    public static final ConfigOption<Double> PRIVACY_DRIFT_FACTOR = key("gradstream.privacy.drift-factor")
            .doubleType()
            .defaultValue(2.0)
            .withDescription("A private model's status topic gets an event (once per crossing) when a step's "
                    + "contributions (examples, for per-example privacy) are more than this factor above or below "
                    + "what its accountant assumes (sample rate x population): epsilon then rests on a wrong "
                    + "sampling assumption. The gauge samplingRatio shows the last observed / expected.");

    public static final ConfigOption<MemorySize> LIMIT_RECORD_BYTES = key("gradstream.limits.record-bytes")
            .memoryType()
            .defaultValue(MemorySize.parse("16mb"))
            .withDescription("Largest gradient or control record the job decodes; larger ones are rejected as "
                    + "TOO_LARGE unread.");

    public static final ConfigOption<MemorySize> LIMIT_REJECTED_VALUE_BYTES =
            key("gradstream.limits.rejected-value-bytes")
                    .memoryType()
                    .defaultValue(MemorySize.parse("1mb"))
                    .withDescription(
                            "Most bytes of a refused record's value kept on the rejected topic; a longer value is "
                                    + "cut to this prefix and its length and SHA-256 are named in the detail.");

    public static final ConfigOption<Integer> LIMIT_SHARD_ELEMENTS = key("gradstream.limits.shard-elements")
            .intType()
            .defaultValue(io.gradstream.model.Limits.MAX_SHARD_ELEMENTS)
            .withDescription("Most elements in one shard (a CREATE's shardSize), so that a shard's update fits one "
                    + "16 MiB Kafka record; this default is also the largest allowed value.");

    public static final ConfigOption<Integer> LIMIT_MODEL_SHARDS = key("gradstream.limits.model-shards")
            .intType()
            .defaultValue(65_536)
            .withDescription("Most shards in one model.");

    public static final ConfigOption<Long> LIMIT_MODEL_ELEMENTS = key("gradstream.limits.model-elements")
            .longType()
            .defaultValue(1L << 28)
            .withDescription("Most elements in one model, all tensors together.");

    public static final ConfigOption<Integer> LIMIT_MODELS = key("gradstream.limits.models")
            .intType()
            .defaultValue(1000)
            .withDescription("Most models that exist at once.");

    public static final ConfigOption<Integer> LIMIT_SYNC_WORKERS = key("gradstream.limits.sync-workers")
            .intType()
            .defaultValue(10_000)
            .withDescription("Most workers a SYNC step may wait for.");

    public static final ConfigOption<Long> LIMIT_EXAMPLES = key("gradstream.limits.examples")
            .longType()
            .defaultValue(1L << 24)
            .withDescription("Largest numExamples of one contribution (2^24 keeps counts exact in float32).");

    public static final ConfigOption<Long> LIMIT_WORKER_STEP_WINDOW = key("gradstream.limits.worker-step-window")
            .longType()
            .defaultValue(1_000_000L)
            .withDescription("How far a workerStep may run ahead of the worker's last accepted step (or the shard's "
                    + "version, if larger); beyond it the record is rejected as OUT_OF_RANGE, so one wild value "
                    + "cannot lock a worker out of a shard.");

    public static final ConfigOption<Integer> LIMIT_NAME_LENGTH = key("gradstream.limits.name-length")
            .intType()
            .defaultValue(256)
            .withDescription("Longest model, tensor or worker id, in characters.");

    public static final ConfigOption<MemorySize> LIMIT_WAITING_BYTES_PER_SHARD =
            key("gradstream.limits.waiting-bytes-per-shard")
                    .memoryType()
                    .defaultValue(MemorySize.parse("32mb"))
                    .withDescription("Bytes of gradients one shard holds while their model does not exist yet.");

    public static final ConfigOption<MemorySize> LIMIT_WAITING_BYTES = key("gradstream.limits.waiting-bytes")
            .memoryType()
            .defaultValue(MemorySize.parse("128mb"))
            .withDescription("Bytes of such waiting gradients one subtask holds in all.");

    /** All options, for documentation and {@code --help}. */
    public static final List<ConfigOption<?>> ALL = List.of(
            BOOTSTRAP_SERVERS,
            GROUP_ID,
            CONTROL_TOPIC,
            GRADIENTS_TOPIC,
            PARAMETERS_TOPIC,
            REJECTED_TOPIC,
            STATUS_TOPIC,
            DELIVERY,
            TRANSACTIONAL_ID_PREFIX,
            TRANSACTION_TIMEOUT,
            UNKNOWN_MODEL_GRACE,
            MAX_WAITING_PER_SHARD,
            MAX_PARALLELISM,
            PRIVACY_DRIFT_FACTOR,
            BACKEND,
            OPENCL_PLATFORM,
            OPENCL_DEVICE_TYPE,
            OPENCL_DEVICE,
            OPENCL_RESIDENT_STATE,
            OPENCL_BREAKER_FAILURES,
            OPENCL_BREAKER_WINDOW,
            OPENCL_BREAKER_COOL_DOWN,
            BATCH_SHARDS,
            BATCH_DELAY,
            LIMIT_RECORD_BYTES,
            LIMIT_REJECTED_VALUE_BYTES,
            LIMIT_SHARD_ELEMENTS,
            LIMIT_MODEL_SHARDS,
            LIMIT_MODEL_ELEMENTS,
            LIMIT_MODELS,
            LIMIT_SYNC_WORKERS,
            LIMIT_EXAMPLES,
            LIMIT_WORKER_STEP_WINDOW,
            LIMIT_NAME_LENGTH,
            LIMIT_WAITING_BYTES_PER_SHARD,
            LIMIT_WAITING_BYTES);
}
