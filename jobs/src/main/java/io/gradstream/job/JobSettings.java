package io.gradstream.job;

import io.gradstream.kafka.KafkaClients;
import io.gradstream.kafka.KafkaSettings;
import io.gradstream.model.Limits;
import io.gradstream.opencl.ClConfig;
import io.gradstream.opencl.OpenClBackendFactory;
import io.gradstream.operators.BackendSettings;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * The job's settings, read once from a {@link Configuration} and validated with messages that name the key and the
 * value; everything downstream takes this immutable record instead of raw configuration.
 */
public record JobSettings(
        String bootstrapServers,
        String groupId,
        String controlTopic,
        String gradientsTopic,
        String parametersTopic,
        String rejectedTopic,
        String statusTopic,
        DeliveryGuarantee delivery,
        String transactionalIdPrefix,
        Duration transactionTimeout,
        Duration unknownModelGrace,
        int maxWaitingPerShard,
        BackendSettings backend,
        Limits limits,
        Map<String, String> kafkaClient,
        int maxParallelism,
        double driftFactor) {

    /** gradstream's own gradstream.kafka.* options; every other gradstream.kafka.* key is a Kafka client property. */
    public static final List<String> OWN_KAFKA_KEYS = List.of(
            GradstreamOptions.BOOTSTRAP_SERVERS.key(),
            GradstreamOptions.GROUP_ID.key(),
            GradstreamOptions.TRANSACTIONAL_ID_PREFIX.key(),
            GradstreamOptions.TRANSACTION_TIMEOUT.key());

    private static final Pattern TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    public JobSettings {
        require(
                !bootstrapServers.isBlank(),
                GradstreamOptions.BOOTSTRAP_SERVERS.key(),
                bootstrapServers,
                "must name at least one broker host:port");
        require(!groupId.isBlank(), GradstreamOptions.GROUP_ID.key(), groupId, "must not be empty");
        for (var t : List.of(
                List.of(GradstreamOptions.CONTROL_TOPIC.key(), controlTopic),
                List.of(GradstreamOptions.GRADIENTS_TOPIC.key(), gradientsTopic),
                List.of(GradstreamOptions.PARAMETERS_TOPIC.key(), parametersTopic),
                List.of(GradstreamOptions.REJECTED_TOPIC.key(), rejectedTopic),
                List.of(GradstreamOptions.STATUS_TOPIC.key(), statusTopic))) {
            require(
                    TOPIC.matcher(t.get(1)).matches(),
                    t.get(0),
                    t.get(1),
                    "must be a Kafka topic name (letters, digits, '.', '_', '-')");
        }
        Set<String> distinct =
                new HashSet<>(List.of(controlTopic, gradientsTopic, parametersTopic, rejectedTopic, statusTopic));
        require(
                distinct.size() == 5,
                "gradstream.topics.*",
                controlTopic + ", " + gradientsTopic + ", " + parametersTopic + ", " + rejectedTopic + ", "
                        + statusTopic,
                "the five topics must be different");
        require(
                !transactionalIdPrefix.isBlank(),
                GradstreamOptions.TRANSACTIONAL_ID_PREFIX.key(),
                transactionalIdPrefix,
                "must not be empty");
        require(
                transactionTimeout.toMillis() > 0 && transactionTimeout.compareTo(Duration.ofMinutes(15)) <= 0,
                GradstreamOptions.TRANSACTION_TIMEOUT.key(),
                transactionTimeout,
                "must be positive and at most 15 min (the broker's default transaction.max.timeout.ms)");
        require(
                !unknownModelGrace.isNegative(),
                GradstreamOptions.UNKNOWN_MODEL_GRACE.key(),
                unknownModelGrace,
                "must not be negative");
        require(
                maxWaitingPerShard >= 0,
                GradstreamOptions.MAX_WAITING_PER_SHARD.key(),
                maxWaitingPerShard,
                "must not be negative");
        require(
                maxParallelism >= 1 && maxParallelism <= 32_768,
                GradstreamOptions.MAX_PARALLELISM.key(),
                maxParallelism,
                "must be between 1 and 32768 (Flink's upper bound on key groups)");
        require(
                driftFactor > 1 && Double.isFinite(driftFactor),
                GradstreamOptions.PRIVACY_DRIFT_FACTOR.key(),
                driftFactor,
                "must be finite and > 1");
        KafkaClients.validate(kafkaClient);
        kafkaClient = Map.copyOf(kafkaClient);
    }

    /** The Kafka part, for {@code KafkaIo}. */
    public KafkaSettings kafka() {
        return new KafkaSettings(
                bootstrapServers,
                groupId,
                controlTopic,
                gradientsTopic,
                parametersTopic,
                rejectedTopic,
                statusTopic,
                delivery,
                transactionalIdPrefix,
                transactionTimeout,
                kafkaClient);
    }

    public static JobSettings from(Configuration c) {
        return new JobSettings(
                c.get(GradstreamOptions.BOOTSTRAP_SERVERS),
                c.get(GradstreamOptions.GROUP_ID),
                c.get(GradstreamOptions.CONTROL_TOPIC),
                c.get(GradstreamOptions.GRADIENTS_TOPIC),
                c.get(GradstreamOptions.PARAMETERS_TOPIC),
                c.get(GradstreamOptions.REJECTED_TOPIC),
                c.get(GradstreamOptions.STATUS_TOPIC),
                delivery(c.get(GradstreamOptions.DELIVERY)),
                c.get(GradstreamOptions.TRANSACTIONAL_ID_PREFIX),
                c.get(GradstreamOptions.TRANSACTION_TIMEOUT),
                c.get(GradstreamOptions.UNKNOWN_MODEL_GRACE),
                c.get(GradstreamOptions.MAX_WAITING_PER_SHARD),
                backend(c),
                limits(c),
                KafkaClients.passthrough(c.toMap(), OWN_KAFKA_KEYS),
                c.get(GradstreamOptions.MAX_PARALLELISM),
                c.get(GradstreamOptions.PRIVACY_DRIFT_FACTOR));
    }

    /** The bounds on what producers can make the job hold or do (gradstream.limits.*). */
    static Limits limits(Configuration c) {
        long record = c.get(GradstreamOptions.LIMIT_RECORD_BYTES).getBytes();
        long rejected = c.get(GradstreamOptions.LIMIT_REJECTED_VALUE_BYTES).getBytes();
        require(record <= Integer.MAX_VALUE, GradstreamOptions.LIMIT_RECORD_BYTES.key(), record, "must be below 2 GiB");
        require(
                rejected <= Integer.MAX_VALUE,
                GradstreamOptions.LIMIT_REJECTED_VALUE_BYTES.key(),
                rejected,
                "must be below 2 GiB");
        return new Limits(
                (int) record,
                (int) rejected,
                c.get(GradstreamOptions.LIMIT_SHARD_ELEMENTS),
                c.get(GradstreamOptions.LIMIT_MODEL_SHARDS),
                c.get(GradstreamOptions.LIMIT_MODEL_ELEMENTS),
                c.get(GradstreamOptions.LIMIT_MODELS),
                c.get(GradstreamOptions.LIMIT_SYNC_WORKERS),
                c.get(GradstreamOptions.LIMIT_EXAMPLES),
                c.get(GradstreamOptions.LIMIT_WORKER_STEP_WINDOW),
                c.get(GradstreamOptions.LIMIT_NAME_LENGTH),
                c.get(GradstreamOptions.LIMIT_WAITING_BYTES_PER_SHARD).getBytes(),
                c.get(GradstreamOptions.LIMIT_WAITING_BYTES).getBytes());
    }

    /** The step backend: kind, OpenCL device (checked here, opened on the task managers) and batching. */
    static BackendSettings backend(Configuration c) {
        String kind = c.get(GradstreamOptions.BACKEND).trim().toLowerCase(java.util.Locale.ROOT);
        BackendSettings.Kind k = switch (kind) {
            case "cpu" -> BackendSettings.Kind.CPU;
            case "opencl" -> BackendSettings.Kind.OPENCL;
            default ->
                throw new IllegalArgumentException("Invalid " + GradstreamOptions.BACKEND.key() + ": '"
                        + c.get(GradstreamOptions.BACKEND) + "' (must be cpu or opencl)");
        };
        java.util.Map<String, String> opencl = new java.util.HashMap<>();
        c.getOptional(GradstreamOptions.OPENCL_PLATFORM).ifPresent(v -> opencl.put(ClConfig.PLATFORM, v));
        c.getOptional(GradstreamOptions.OPENCL_DEVICE_TYPE).ifPresent(v -> opencl.put(ClConfig.DEVICE_TYPE, v));
        c.getOptional(GradstreamOptions.OPENCL_DEVICE).ifPresent(v -> opencl.put(ClConfig.DEVICE, v));
        int failures = c.get(GradstreamOptions.OPENCL_BREAKER_FAILURES);
        Duration window = c.get(GradstreamOptions.OPENCL_BREAKER_WINDOW);
        Duration coolDown = c.get(GradstreamOptions.OPENCL_BREAKER_COOL_DOWN);
        require(failures > 0, GradstreamOptions.OPENCL_BREAKER_FAILURES.key(), failures, "must be > 0");
        require(
                window.toMillis() > 0 && window.toMillis() <= Integer.MAX_VALUE,
                GradstreamOptions.OPENCL_BREAKER_WINDOW.key(),
                window,
                "must be positive");
        require(
                coolDown.toMillis() > 0 && coolDown.toMillis() <= Integer.MAX_VALUE,
                GradstreamOptions.OPENCL_BREAKER_COOL_DOWN.key(),
                coolDown,
                "must be positive");
        opencl.put(OpenClBackendFactory.BREAKER_FAILURES, String.valueOf(failures));
        opencl.put(OpenClBackendFactory.BREAKER_WINDOW, String.valueOf(window.toMillis()));
        opencl.put(OpenClBackendFactory.BREAKER_COOL_DOWN, String.valueOf(coolDown.toMillis()));
        try {
            ClConfig.fromMap(opencl);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Invalid gradstream.backend.opencl.*: " + e.getMessage(), e);
        }
        int batch = c.get(GradstreamOptions.BATCH_SHARDS);
        require(batch >= 0, GradstreamOptions.BATCH_SHARDS.key(), batch, "must be >= 0 (0: 1 for cpu, 64 for opencl)");
        Duration delay = c.get(GradstreamOptions.BATCH_DELAY);
        require(!delay.isNegative(), GradstreamOptions.BATCH_DELAY.key(), delay, "must not be negative");
        return new BackendSettings(
                k,
                opencl,
                batch > 0 ? batch : k == BackendSettings.Kind.OPENCL ? 64 : 1,
                delay.toMillis(),
                c.get(GradstreamOptions.OPENCL_RESIDENT_STATE).getBytes());
    }

    /** AT_LEAST_ONCE or EXACTLY_ONCE, in any case, with '-' or '_'. */
    static DeliveryGuarantee delivery(String value) {
        String v = value.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        if (v.equals("AT_LEAST_ONCE")) {
            return DeliveryGuarantee.AT_LEAST_ONCE;
        }
        if (v.equals("EXACTLY_ONCE")) {
            return DeliveryGuarantee.EXACTLY_ONCE;
        }
        throw new IllegalArgumentException("Invalid " + GradstreamOptions.DELIVERY.key() + ": '" + value
                + "' (must be AT_LEAST_ONCE or EXACTLY_ONCE)");
    }

    private static void require(boolean ok, String key, Object value, String requirement) {
        if (!ok) {
            throw new IllegalArgumentException("Invalid " + key + ": '" + value + "' (" + requirement + ")");
        }
    }
}
