package io.gradstream.kafka;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * What {@link KafkaIo} needs to read and write the job's topics: the brokers, the consumer group, the topics, the
 * delivery guarantee with its transaction settings, and the Kafka client properties that pass through to every client
 * (security settings; secrets as config provider references only, see {@link KafkaClients}). Validated where it is
 * built ({@code JobSettings}).
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
        Duration transactionTimeout,
        Map<String, String> clientProperties) {

    public KafkaSettings {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers must not be null");
        Objects.requireNonNull(delivery, "delivery must not be null");
        Objects.requireNonNull(transactionTimeout, "transactionTimeout must not be null");
        KafkaClients.validate(clientProperties);
        // Sorted and immutable: the sources and sinks carry a copy in the job graph.
        clientProperties = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(clientProperties));
    }

    /**
     * {@code bootstrap.servers} and the passthrough properties: the base configuration of every Kafka client that
     * talks to these brokers, as a fresh map the caller adds its client's own settings to.
     */
    public Map<String, Object> clientConfig() {
        return KafkaClients.config(bootstrapServers, clientProperties);
    }
}
