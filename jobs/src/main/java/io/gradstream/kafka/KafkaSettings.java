package io.gradstream.kafka;

import java.time.Duration;
import java.util.Objects;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * What {@link KafkaIo} needs to read and write the job's topics: the brokers, the consumer group, the topics and the
 * delivery guarantee with its transaction settings. Validated where it is built ({@code JobSettings}).
 */
public record KafkaSettings(
        String bootstrapServers,
        String groupId,
        String controlTopic,
        String gradientsTopic,
        String parametersTopic,
        String rejectedTopic,
        String statusTopic,
        DeliveryGuarantee delivery,
        String transactionalIdPrefix,
        Duration transactionTimeout) {

    public KafkaSettings {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers must not be null");
        Objects.requireNonNull(delivery, "delivery must not be null");
        Objects.requireNonNull(transactionTimeout, "transactionTimeout must not be null");
    }
}
