package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.kafka.KafkaClients;
import io.gradstream.kafka.SecureKafka;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.WorkerKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Contributions only from authorised workers, through the real job on the secured broker ({@link SecureKafka}: SASL_SSL,
 * ACLs; the job as principal {@code job}, every gradient from the {@code worker} principal, which Kafka lets write any
 * model's gradients), with exactly-once output: a model names two workers and where their keys are; records of an
 * unlisted worker and records with a forged signature land on {@code rejected} as UNAUTHORIZED and change no
 * parameter, the two workers' signed steps train the model to exactly the local kernels' result, and a signed record
 * sent again is a DUPLICATE.
 */
class WorkerAuthITCase {
    private static final byte[][] KEYS = {
        "worker-0-secret-key-0123456789ab".getBytes(StandardCharsets.US_ASCII),
        "worker-1-secret-key-ba9876543210".getBytes(StandardCharsets.US_ASCII)
    };
    private static final byte[] OUTSIDER_KEY = "outsider-secret-key-000000000000".getBytes(StandardCharsets.US_ASCII);

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(TestClusters.keepFilesInTarget())
            .build());

    private static final AvroRecords<GradientBatch> GRADIENTS = new AvroRecords<>(GradientBatch.class);

    @Test
    void onlyTheAuthorisedWorkersTrainTheModel(@TempDir Path dir) throws Exception {
        // SYNC over two workers: an unauthorised record counted as a contribution would change every step.
        Workload work = new Workload("m", "Adam", Map.of("lr", 0.01), true, 30, 8, 2, 4, 13);
        Map<String, WorkerKey> workers = new HashMap<>();
        for (int w = 0; w < KEYS.length; w++) {
            Path key = Files.write(dir.resolve("w" + w + ".key"), KEYS[w]);
            workers.put(
                    "w" + w, WorkerKey.newBuilder().setKeyFile(key.toString()).build());
        }
        ControlCommand create = ControlCommand.newBuilder(
                        new AvroRecords<>(ControlCommand.class).decode(work.create.value))
                .setWorkers(workers)
                .build();

        List<ProducerRecord<byte[], byte[]>> hostile = new ArrayList<>();
        for (int s = 0; s < work.shards(); s++) {
            int len = work.expected[s].length;
            float[] g = new float[len];
            java.util.Arrays.fill(g, 100f);
            // Signed, but by a worker the model does not list.
            RawRecord outsider = Records.gradient("m", s, "outsider", 1, 0, 1, g);
            hostile.add(record(outsider, RecordSignature.sign(OUTSIDER_KEY, outsider.key, outsider.value)));
            // A listed worker's id with a forged signature, and with the other worker's signature.
            RawRecord forged = Records.gradient("m", s, "w0", 1, 0, 1, g);
            byte[] guess = new byte[RecordSignature.BYTES];
            guess[s] = 1;
            hostile.add(record(forged, guess));
            RawRecord borrowed = Records.gradient("m", s, "w1", 1, 0, 1, g);
            hostile.add(record(borrowed, RecordSignature.sign(KEYS[0], borrowed.key, borrowed.value)));
            // A listed worker's id without a signature.
            hostile.add(record(Records.gradient("m", s, "w0", 1, 0, 1, g), null));
        }

        try (SecureKafka kafka = SecureKafka.start(dir.resolve("kafka"))) {
            String bootstrap = kafka.bootstrapServers();
            TestClusters.createTopics(bootstrap, kafka.clientProperties(SecureKafka.ADMIN));
            JobClient job = start(bootstrap, kafka.clientConfig(SecureKafka.JOB));
            try (KafkaProducer<byte[], byte[]> operator = producer(bootstrap, kafka, SecureKafka.OPERATOR);
                    KafkaProducer<byte[], byte[]> producer = producer(bootstrap, kafka, SecureKafka.WORKER)) {
                operator.send(new ProducerRecord<>(
                                "control", work.create.key, new AvroRecords<>(ControlCommand.class).encode(create)))
                        .get();
                // The hostile records first: admitted, they would join the first step of every shard.
                for (ProducerRecord<byte[], byte[]> r : hostile) {
                    producer.send(r);
                }
                for (RawRecord r : work.gradients) {
                    producer.send(record(r, sign(r)));
                }
                // The first signed record again, after its original was applied.
                RawRecord first = work.gradients.get(0);
                producer.send(record(first, sign(first)));
                producer.flush();

                Map<Integer, ParameterUpdate> latest = TestClusters.latestParameters(
                        TestClusters.readCommitted(
                                bootstrap,
                                kafka.clientProperties(SecureKafka.WORKER),
                                SecureKafka.WORKER_GROUP_PREFIX + "verify",
                                "parameters"),
                        work);
                List<RejectedRecord> rejected = TestClusters.readAll(
                        TestClusters.readCommitted(
                                bootstrap,
                                kafka.clientProperties(SecureKafka.OPERATOR),
                                SecureKafka.OPERATOR_GROUP_PREFIX + "verify",
                                "rejected"),
                        RejectedRecord.class,
                        hostile.size() + 1);

                assertThat(rejected).as("rejections: %s", rejected).hasSize(hostile.size() + 1);
                assertThat(rejected.stream()
                                .filter(r -> r.getReason() == RejectReason.UNAUTHORIZED)
                                .count())
                        .isEqualTo(hostile.size());
                assertThat(rejected)
                        .filteredOn(r -> r.getReason() == RejectReason.DUPLICATE)
                        .singleElement()
                        .satisfies(r -> assertThat(r.getOriginalValue().array()).isEqualTo(first.value));
                assertThat(rejected).allSatisfy(r -> assertThat(r.getDetail()).doesNotContain("secret-key"));
                for (int s = 0; s < work.shards(); s++) {
                    ParameterUpdate u = latest.get(s);
                    assertThat(u).as("shard %d", s).isNotNull();
                    assertThat(u.getVersion()).as("version of shard %d", s).isEqualTo(work.steps);
                    assertThat(Records.values(u))
                            .as("parameters of shard %d", s)
                            .containsExactly(work.expected[s]);
                }
            } finally {
                job.cancel().get();
                long deadline = System.currentTimeMillis() + 30_000;
                while (!job.getJobStatus().get().isTerminalState() && System.currentTimeMillis() < deadline) {
                    Thread.sleep(100);
                }
            }
        }
    }

    /** The worker's signature of a workload record (the worker id is in its value). */
    private static byte[] sign(RawRecord r) throws Exception {
        String worker = GRADIENTS.decode(r.value).getWorkerId();
        return RecordSignature.sign(KEYS[Integer.parseInt(worker.substring(1))], r.key, r.value);
    }

    private static ProducerRecord<byte[], byte[]> record(RawRecord r, byte[] signature) {
        List<Header> headers =
                signature == null ? List.of() : List.of(new RecordHeader(RecordSignature.HEADER, signature));
        return new ProducerRecord<>("gradients", null, r.key, r.value, headers);
    }

    /** The job as principal {@code job}: its secrets reach it as references to its credential file. */
    private static JobClient start(String bootstrap, Path credentials) throws Exception {
        Configuration conf = Configuration.fromMap(KafkaClients.fileReferences(credentials));
        conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, bootstrap);
        conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
        conf.set(GradstreamOptions.UNKNOWN_MODEL_GRACE, Duration.ofSeconds(30));
        conf.setString("execution.checkpointing.interval", "300 ms");
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
        env.setParallelism(2);
        return GradstreamJob.kafka(JobSettings.from(conf)).start(env, "worker auth test");
    }

    private static KafkaProducer<byte[], byte[]> producer(String bootstrap, SecureKafka kafka, String principal) {
        Properties p = KafkaClients.properties(bootstrap, kafka.clientProperties(principal));
        p.put("linger.ms", "5");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }
}
