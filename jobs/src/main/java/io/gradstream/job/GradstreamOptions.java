package io.gradstream.job;

import static org.apache.flink.configuration.ConfigOptions.key;

import java.time.Duration;
import java.util.List;
import org.apache.flink.configuration.ConfigOption;

/**
 * Every configuration key the gradstream job reads, typed, with defaults and descriptions, in one place. They are
 * ordinary Flink configuration keys: set them in a cluster's {@code config.yaml}, with {@code -D key=value} on
 * {@code gradstream local}, or as {@code --key value} arguments of the job's main class.
 */
public final class GradstreamOptions {
    private GradstreamOptions() {
    }

    public static final ConfigOption<String> BOOTSTRAP_SERVERS = key("gradstream.kafka.bootstrap-servers")
            .stringType().defaultValue("127.0.0.1:9092")
            .withDescription("Kafka brokers to read gradients and commands from and write parameters to.");

    public static final ConfigOption<String> GROUP_ID = key("gradstream.kafka.group-id")
            .stringType().defaultValue("gradstream")
            .withDescription("Consumer group of the job's Kafka sources (offsets are also kept in checkpoints).");

    public static final ConfigOption<String> CONTROL_TOPIC = key("gradstream.topics.control")
            .stringType().defaultValue("control").withDescription("Topic of ControlCommand records.");

    public static final ConfigOption<String> GRADIENTS_TOPIC = key("gradstream.topics.gradients")
            .stringType().defaultValue("gradients").withDescription("Topic of GradientBatch records.");

    public static final ConfigOption<String> PARAMETERS_TOPIC = key("gradstream.topics.parameters")
            .stringType().defaultValue("parameters")
            .withDescription("Compacted topic the job publishes ParameterUpdate records to.");

    public static final ConfigOption<String> REJECTED_TOPIC = key("gradstream.topics.rejected")
            .stringType().defaultValue("rejected")
            .withDescription("Dead-letter topic of RejectedRecord records.");

    public static final ConfigOption<String> STATUS_TOPIC = key("gradstream.topics.status")
            .stringType().defaultValue("status")
            .withDescription("Topic of StatusEvent records: model-wide events such as a spent privacy budget.");

    public static final ConfigOption<String> DELIVERY = key("gradstream.delivery")
            .stringType().defaultValue("AT_LEAST_ONCE")
            .withDescription("Delivery of parameters and rejections: AT_LEAST_ONCE (consumers keep the highest "
                    + "version, so duplicates are harmless) or EXACTLY_ONCE (Kafka transactions committed with each "
                    + "checkpoint; consumers read with isolation.level=read_committed, one checkpoint interval "
                    + "later). The optimizer state is exactly-once either way.");

    public static final ConfigOption<String> TRANSACTIONAL_ID_PREFIX = key("gradstream.kafka.transactional-id-prefix")
            .stringType().defaultValue("gradstream")
            .withDescription("Prefix of the Kafka transactional ids used with EXACTLY_ONCE; unique per job.");

    public static final ConfigOption<Duration> TRANSACTION_TIMEOUT = key("gradstream.kafka.transaction-timeout")
            .durationType().defaultValue(Duration.ofMinutes(10))
            .withDescription("transaction.timeout.ms of the producers; must not exceed the broker's "
                    + "transaction.max.timeout.ms (15 min by default) and must exceed the checkpoint interval.");

    public static final ConfigOption<Duration> UNKNOWN_MODEL_GRACE = key("gradstream.unknown-model-grace")
            .durationType().defaultValue(Duration.ofSeconds(60))
            .withDescription("How long gradients for a model that has not been created wait before they are "
                    + "rejected as UNKNOWN_MODEL (gradients and commands are read concurrently).");

    public static final ConfigOption<Integer> MAX_WAITING_PER_SHARD = key("gradstream.max-waiting-per-shard")
            .intType().defaultValue(1000)
            .withDescription("How many such waiting gradients one shard holds at most.");

    /** All options, for documentation and {@code --help}. */
    public static final List<ConfigOption<?>> ALL = List.of(BOOTSTRAP_SERVERS, GROUP_ID, CONTROL_TOPIC,
            GRADIENTS_TOPIC, PARAMETERS_TOPIC, REJECTED_TOPIC, DELIVERY, TRANSACTIONAL_ID_PREFIX, TRANSACTION_TIMEOUT,
            UNKNOWN_MODEL_GRACE, MAX_WAITING_PER_SHARD);
}
