package io.gradstream.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.job.TestClusters;
import io.gradstream.job.Workload;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * Bad input through Kafka and the whole job ({@code gradstream local}'s wiring): every kind of bad gradient lands in
 * the rejected topic with its reason and original bytes, the valid traffic around it is applied as if the bad records
 * were not there, and the counts add up -- every input is applied once or rejected once.
 */
class BadInputITCase {

    @Test
    void everyInputIsAppliedOnceOrRejectedOnce() throws Exception {
        int web;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            web = s.getLocalPort();
        }
        Configuration conf = new Configuration();
        conf.setString("gradstream.unknown-model-grace", "1 s");
        try (LocalGradstream local =
                LocalGradstream.start(new LocalGradstream.Options(null, 0, web, 1, 2, null, conf))) {
            var s = local.settings();
            Workload work = new Workload("SGD", Map.of("lr", 0.1, "momentum", 0.9), true, 30, 16, 2, 4, 9);
            List<RawRecord> bad = new ArrayList<>();
            bad.add(new RawRecord("m/w/0".getBytes(), new byte[] {7, 7, 7}, "", 0, 0)); // UNDECODABLE
            bad.add(Records.gradient("ghost", 0, "a", 1, 0, 1, new float[] {1f})); // UNKNOWN_MODEL
            bad.add(Records.gradient("m", 9, "a", 1, 0, 1, new float[] {1f})); // UNKNOWN_SHARD
            bad.add(Records.gradient("m", 0, "a", 1, 0, 1, new float[] {1f, 2f})); // WRONG_ELEMENT_COUNT
            float[] nan = new float[16];
            nan[3] = Float.NaN;
            bad.add(Records.gradient("m", 0, "z", 1, 0, 1, nan)); // NON_FINITE
            float[] ok = new float[14]; // shard 1 holds elements 16..29
            // Sent after step 1 of shard 1 is applied: computed on version 0, so STALE; then a DUPLICATE of w0's
            // first step.
            RawRecord stale = Records.gradient("m", 1, "late", 1, 0, 1, ok);
            RawRecord duplicate = work.gradients.get(2); // shard 1, worker w0, step 1

            Properties pp = new Properties();
            pp.put("bootstrap.servers", s.bootstrapServers());
            try (var producer =
                    new KafkaProducer<byte[], byte[]>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
                producer.send(new ProducerRecord<>(s.controlTopic(), work.create.key, work.create.value))
                        .get();
                int sent = 0;
                for (RawRecord r : work.gradients) {
                    producer.send(new ProducerRecord<>(s.gradientsTopic(), r.key, r.value));
                    if (++sent == 6) { // shard 1 has reached version 1 only once both workers sent step 1
                        for (RawRecord b : bad) {
                            producer.send(new ProducerRecord<>(s.gradientsTopic(), b.key, b.value));
                        }
                        producer.send(new ProducerRecord<>(s.gradientsTopic(), stale.key, stale.value));
                        producer.send(new ProducerRecord<>(s.gradientsTopic(), duplicate.key, duplicate.value));
                    }
                }
                producer.flush();
            }

            AvroRecords<ParameterUpdate> params = new AvroRecords<>(ParameterUpdate.class);
            AvroRecords<RejectedRecord> rejects = new AvroRecords<>(RejectedRecord.class);
            Map<Integer, ParameterUpdate> latest = new java.util.HashMap<>();
            long applied = 0;
            Map<RejectReason, Integer> reasons = new EnumMap<>(RejectReason.class);
            int rejected = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            try (var pc = TestClusters.readCommitted(s.bootstrapServers(), s.parametersTopic());
                    var rc = TestClusters.readCommitted(s.bootstrapServers(), s.rejectedTopic())) {
                while (System.currentTimeMillis() < deadline
                        && (rejected < bad.size() + 2
                                || latest.size() < work.shards()
                                || latest.values().stream().anyMatch(u -> u.getVersion() < work.steps))) {
                    for (ConsumerRecord<byte[], byte[]> r : pc.poll(Duration.ofMillis(100))) {
                        ParameterUpdate u = params.decode(r.value());
                        applied += u.getContributions();
                        latest.merge(u.getShard(), u, (a, b) -> a.getVersion() >= b.getVersion() ? a : b);
                    }
                    for (ConsumerRecord<byte[], byte[]> r : rc.poll(Duration.ofMillis(100))) {
                        reasons.merge(rejects.decode(r.value()).getReason(), 1, Integer::sum);
                        rejected++;
                    }
                }
            }
            assertThat(reasons)
                    .containsOnly(
                            Map.entry(RejectReason.UNDECODABLE, 1),
                            Map.entry(RejectReason.UNKNOWN_MODEL, 1),
                            Map.entry(RejectReason.UNKNOWN_SHARD, 1),
                            Map.entry(RejectReason.WRONG_ELEMENT_COUNT, 1),
                            Map.entry(RejectReason.NON_FINITE, 1),
                            Map.entry(RejectReason.STALE, 1),
                            Map.entry(RejectReason.DUPLICATE, 1));
            int inputs = work.gradients.size() + bad.size() + 2;
            assertThat(applied + rejected)
                    .as("applied + rejected = every input")
                    .isEqualTo(inputs);
            for (int shard = 0; shard < work.shards(); shard++) {
                assertThat(latest.get(shard).getVersion()).isEqualTo(work.steps);
                assertThat(Records.values(latest.get(shard)))
                        .as("shard %d unaffected", shard)
                        .containsExactly(work.expected[shard]);
            }
        }
    }
}
