package io.gradstream.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.kafka.EmbeddedKafka;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;

/** The pipeline benchmark's copy loops and their topic preparation, on an embedded broker. */
class KafkaCopyLoopITCase {
    private static final int PARTITIONS = 4;

    @Test
    void copyLoopsCopyEveryRecordOfTheBacklogIntoTopicsThatTookAWriteFirst() throws Exception {
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            Map<String, Object> client = Map.of("bootstrap.servers", kafka.bootstrapServers());

            // A topic created a moment ago: awaitWritable returns once each partition acknowledged one empty record.
            String fresh = "fresh-" + System.nanoTime();
            KafkaCopyLoop.createTopics(client, PARTITIONS, fresh);
            KafkaCopyLoop.awaitWritable(client, fresh, PARTITIONS);
            assertThat(endOffsets(client, fresh)).containsExactly(1L, 1L, 1L, 1L);

            byte[][] payloads = {new byte[4096], new byte[4096], new byte[4096]};
            int records = 300;
            String in = KafkaCopyLoop.createInput(client, "m", payloads, records, PARTITIONS);
            assertThat(endOffsets(client, in).stream()
                            .mapToLong(Long::longValue)
                            .sum())
                    .isEqualTo(records);
            Duration max = Duration.ofMinutes(2);
            KafkaCopyLoop.Copy single = KafkaCopyLoop.copyLoop(client, in, records, PARTITIONS, max);
            KafkaCopyLoop.Copy pipelined = KafkaCopyLoop.pipelinedCopyLoop(client, in, records, PARTITIONS, max);
            for (KafkaCopyLoop.Copy c : List.of(single, pipelined)) {
                assertThat(c.records()).isEqualTo(records);
                assertThat(c.megabytesPerSecond()).isPositive();
                // The clock's window: the last three quarters of the records, without the empty probes.
                assertThat(c.bytes())
                        .isBetween((long) (records - records / 4) * 4096, (long) (records - records / 4) * 5000);
            }
        }
    }

    private static List<Long> endOffsets(Map<String, Object> client, String topic) {
        Properties p = new Properties();
        p.putAll(client);
        try (var c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> tps = IntStream.range(0, PARTITIONS)
                    .mapToObj(i -> new TopicPartition(topic, i))
                    .toList();
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
            return tps.stream().map(end::get).toList();
        }
    }
}
