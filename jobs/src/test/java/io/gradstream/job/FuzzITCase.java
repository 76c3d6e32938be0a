package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.core.auth.RecordSignature;
import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.operators.RawRecord;
import io.gradstream.operators.Records;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.Future;
import org.apache.flink.client.program.ClusterClient;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.InjectClusterClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Fuzzes every input path of the real job (embedded Kafka, Flink MiniCluster, exactly-once output) with seeded
 * hostile records interleaved with three models' training (one admits only its signed workers): every hostile record
 * must land on {@code rejected} with a fitting reason, every valid one must be applied, the job must never restart and
 * must keep checkpointing, and the trained parameters must be bit-identical to the local kernels' run without the
 * hostile records.
 * {@code -Dgradstream.fuzz.seed=N} replays a run.
 */
class FuzzITCase {
    private static final int HOSTILE_GRADIENTS = 10_000;
    private static final int HOSTILE_CONTROL = 1_000;
    private static final long SEED = Long.getLong("gradstream.fuzz.seed", new SplittableRandom().nextLong());
    private static final String REPLAY = "fuzz seed " + SEED + " (replay: -Dgradstream.fuzz.seed=" + SEED + ")";
    private static EmbeddedKafka kafka;

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(metricsEvery(Duration.ofMillis(500)))
            .build());

    private static Configuration metricsEvery(Duration interval) {
        Configuration c = TestClusters.keepFilesInTarget();
        c.setString("metrics.fetcher.update-interval", interval.toMillis() + " ms");
        return c;
    }

    @BeforeAll
    static void startKafka() throws Exception {
        kafka = EmbeddedKafka.start();
        TestClusters.createTopics(kafka.bootstrapServers(), Map.of());
    }

    @AfterAll
    static void stopKafka() throws Exception {
        kafka.close();
    }

    /** One record as sent: where it landed, and what it is (null: a valid record that must be applied). */
    private record Sent(String topic, Future<RecordMetadata> at, HostileRecords.Hostile hostile) {}

    @Test
    void everyHostileRecordIsRefusedWhileTheModelsTrainUndisturbed(@InjectClusterClient ClusterClient<?> cluster)
            throws Exception {
        System.out.println("FuzzITCase: " + REPLAY);
        try {
            fuzz(cluster.getWebInterfaceURL());
        } catch (Throwable t) {
            // Whatever failed -- an assertion, a timeout, an exception -- the seed is what replays it.
            throw new AssertionError(REPLAY + ": " + t.getMessage(), t);
        }
    }

    private void fuzz(String rest) throws Exception {
        long started = System.currentTimeMillis();
        Workload sync = new Workload("m", "Adam", Map.of("lr", 0.01, "weight_decay", 0.01), true, 90, 40, 2, 6, SEED);
        Workload async = new Workload("a", "SGD", Map.of("lr", 0.05, "momentum", 0.9), false, 50, 25, 2, 5, SEED + 1);
        // A model that admits only its two workers, with signed gradients; hostile records get its workers wrong.
        byte[][] keys = {
            "fuzz-worker-0-key-0123456789abcdef".getBytes(StandardCharsets.US_ASCII),
            "fuzz-worker-1-key-fedcba9876543210".getBytes(StandardCharsets.US_ASCII)
        };
        Path keyDir = Files.createDirectories(Path.of("target", "fuzz-keys").toAbsolutePath());
        Workload signed =
                new Workload("s", "SGD", Map.of("lr", 0.05), true, 20, 8, 2, 4, SEED + 2).authorise(keyDir, keys);
        // A model that accepts only TOPK gradients (sent with error feedback) and publishes a TOPK delta stream.
        Workload compressed = new Workload(
                "z",
                "Adam",
                Map.of("lr", 0.01),
                true,
                60,
                24,
                2,
                4,
                SEED + 3,
                "topk:0.25",
                KafkaRecoveryITCase.deltaStream("topk", 2));
        // A private model with DP-FTRL: its tree state and tree ledger in keyed state, hostile traffic all around it.
        Path secret = Files.writeString(keyDir.resolve("ftrl-seed"), "fuzz-dp-ftrl-secret-0123456789abcdef");
        Workload ftrl = Workload.dpFtrl("f", 40, 16, 2, 7, 3, secret, SEED + 4);
        List<Workload> valid = List.of(sync, async, signed, compressed, ftrl);
        HostileRecords hostile =
                new HostileRecords(SEED, List.of(sync, async), signed, keys).withCompressed(compressed);

        Configuration conf = new Configuration();
        conf.set(GradstreamOptions.BOOTSTRAP_SERVERS, kafka.bootstrapServers());
        conf.set(GradstreamOptions.DELIVERY, "EXACTLY_ONCE");
        conf.set(GradstreamOptions.GROUP_ID, "fuzz");
        conf.set(GradstreamOptions.TRANSACTIONAL_ID_PREFIX, "fuzz");
        conf.set(GradstreamOptions.UNKNOWN_MODEL_GRACE, Duration.ofSeconds(1));
        conf.setString("execution.checkpointing.interval", "500 ms");
        // A crash loop must show as restarts, not end the job: the test counts them.
        conf.setString("restart-strategy.type", "fixed-delay");
        conf.setString("restart-strategy.fixed-delay.attempts", "1000");
        conf.setString("restart-strategy.fixed-delay.delay", "100 ms");
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(JobConfig.withDefaults(conf));
        env.setParallelism(2);
        JobClient job = GradstreamJob.kafka(JobSettings.from(conf)).start(env, "fuzz test");
        String jobUrl = rest + "/jobs/" + job.getJobID();
        try (KafkaProducer<byte[], byte[]> producer = producer()) {
            // The valid CREATEs first and alone: a hostile CREATE of the same id must find the model there.
            List<Sent> sent = new ArrayList<>();
            for (Workload w : valid) {
                sent.add(new Sent(
                        "control", producer.send(new ProducerRecord<>("control", w.create.key, w.create.value)), null));
            }
            producer.flush();
            // The private model's noise is keyed by where its CREATE landed.
            RecordMetadata ftrlCreate = sent.get(valid.indexOf(ftrl)).at().get();
            ftrl.expectAt(ftrlCreate.topic() + "-" + ftrlCreate.partition() + "@" + ftrlCreate.offset());
            awaitVersionZero(valid);
            long created = System.currentTimeMillis();
            // Checkpoints triggered while the job's tasks start may be declined; none may fail from here on.
            int failedBefore =
                    get(jobUrl + "/checkpoints").path("counts").path("failed").asInt();

            List<Sent> plan = send(producer, hostile, valid, new SplittableRandom(SEED ^ 0x5eed));
            sent.addAll(plan);
            producer.flush();
            long allSent = System.currentTimeMillis();

            // Where every record landed: topic-partition@offset, as the rejected records name their source.
            Map<String, HostileRecords.Hostile> hostileAt = new HashMap<>();
            Map<String, Integer> sentPerTopic = new TreeMap<>();
            Map<String, Integer> validPerTopic = new TreeMap<>();
            for (Sent s : sent) {
                RecordMetadata md = s.at().get();
                sentPerTopic.merge(s.topic(), 1, Integer::sum);
                if (s.hostile() == null) {
                    validPerTopic.merge(s.topic(), 1, Integer::sum);
                } else {
                    hostileAt.put(md.topic() + "-" + md.partition() + "@" + md.offset(), s.hostile());
                }
            }
            System.out.printf(
                    "FuzzITCase: job and models ready after %d ms; sent %s (valid %s) in %d ms%n",
                    created - started, sentPerTopic, validPerTopic, allSent - created);

            Observed seen = observe(jobUrl, valid, hostileAt.size());
            long observedAt = System.currentTimeMillis();
            System.out.printf(
                    "FuzzITCase: every output read %d ms after the last record was sent%n", observedAt - allSent);

            // Every rejection names a hostile record, once, with a reason that fits it.
            Map<String, Integer> rejectedPerTopic = new TreeMap<>();
            Set<String> refused = new HashSet<>();
            Map<RejectReason, Integer> reasons = new EnumMap<>(RejectReason.class);
            for (RejectedRecord r : seen.rejected) {
                String at = r.getSourceTopic() + "-" + r.getPartition() + "@" + r.getOffset();
                HostileRecords.Hostile h = hostileAt.get(at);
                assertThat(h)
                        .as("%s: rejected %s is a valid record (%s: %s)", REPLAY, at, r.getReason(), r.getDetail())
                        .isNotNull();
                assertThat(refused.add(at))
                        .as("%s: %s rejected twice", REPLAY, at)
                        .isTrue();
                assertThat(h.reasons())
                        .as("%s: %s, %s, refused as %s: %s", REPLAY, at, h, r.getReason(), r.getDetail())
                        .contains(r.getReason());
                rejectedPerTopic.merge(r.getSourceTopic(), 1, Integer::sum);
                reasons.merge(r.getReason(), 1, Integer::sum);
            }
            System.out.println("FuzzITCase: rejected by reason " + reasons);
            Map<String, HostileRecords.Hostile> missing = new TreeMap<>(hostileAt);
            missing.keySet().removeAll(refused);
            assertThat(missing.size())
                    .as(
                            "%s: hostile records not on rejected (of %d), the first: %s; models created "
                                    + "by them: %s",
                            REPLAY,
                            hostileAt.size(),
                            missing.entrySet().stream().limit(20).toList(),
                            seen.updates.keySet().stream()
                                    .filter(k -> valid.stream().noneMatch(w -> k.startsWith(w.model + "/")))
                                    .toList())
                    .isZero();

            // Per topic: applied + rejected = sent. A gradient is applied when a step counts it; a valid control
            // record (a CREATE, or the same CREATE again) when it is not refused.
            Map<String, Integer> accounted = new TreeMap<>(rejectedPerTopic);
            accounted.merge("gradients", (int) seen.contributions, Integer::sum);
            accounted.merge("control", validPerTopic.get("control"), Integer::sum);
            assertThat(accounted).as("%s: applied + rejected per topic", REPLAY).isEqualTo(sentPerTopic);
            int validGradients =
                    valid.stream().mapToInt(w -> w.gradients.size()).sum();
            assertThat(seen.contributions)
                    .as("%s: contributions applied", REPLAY)
                    .isEqualTo(validGradients);

            // Bit-identical to the kernels applied locally to the valid records alone, each version published once.
            for (Workload w : valid) {
                for (int s = 0; s < w.shards(); s++) {
                    List<ParameterUpdate> ups = seen.updates.getOrDefault(w.model + "/" + s, List.of());
                    List<Long> versions = ups.stream()
                            .map(ParameterUpdate::getVersion)
                            .sorted()
                            .toList();
                    assertThat(versions)
                            .as("%s: versions of %s/w/%d, each once", REPLAY, w.model, s)
                            .isEqualTo(java.util.stream.LongStream.rangeClosed(0, w.steps)
                                    .boxed()
                                    .toList());
                    ParameterUpdate last = ups.stream()
                            .filter(u -> u.getVersion() == w.steps)
                            .findFirst()
                            .orElseThrow();
                    assertThat(Records.values(last))
                            .as("%s: parameters of %s/w/%d", REPLAY, w.model, s)
                            .containsExactly(w.expected[s]);
                }
            }
            // The delta stream too, update by update.
            Map<Integer, List<ParameterUpdate>> deltaStream = new HashMap<>();
            for (int s = 0; s < compressed.shards(); s++) {
                deltaStream.put(s, seen.updates.get(compressed.model + "/" + s));
            }
            PipelineEquivalenceITCase.assertEveryUpdateAsComputed(deltaStream, compressed);

            // Still healthy: never restarted, running, and checkpointing after all of it.
            assertThat(restarts(jobUrl))
                    .as("%s: job restarts; exceptions: %s", REPLAY, exceptions(jobUrl))
                    .isZero();
            assertThat(job.getJobStatus().get().toString())
                    .as("%s: job status", REPLAY)
                    .isEqualTo("RUNNING");
            System.out.println("FuzzITCase: numRestarts " + get(jobUrl + "/metrics?get=numRestarts"));
            JsonNode checkpoint = awaitCheckpointAfter(jobUrl, observedAt);
            assertThat(checkpoint
                            .path("latest")
                            .path("completed")
                            .path("trigger_timestamp")
                            .asLong())
                    .as(
                            "%s: a checkpoint triggered after every record was handled completes; %s",
                            REPLAY, checkpoint.path("counts"))
                    .isGreaterThan(observedAt);
            System.out.println("FuzzITCase: checkpoints " + checkpoint.path("counts"));
            assertThat(checkpoint.path("counts").path("failed").asInt())
                    .as(
                            "%s: checkpoints failed after the " + "models were created: %s",
                            REPLAY, checkpoint.path("latest").path("failed"))
                    .isEqualTo(failedBefore);
            System.out.printf("FuzzITCase: %s passed in %d ms%n", REPLAY, System.currentTimeMillis() - started);
        } finally {
            // Kafka stops after this test: the job's transactional producers must be gone by then.
            job.cancel().get();
            long deadline = System.currentTimeMillis() + 30_000;
            while (!job.getJobStatus().get().isTerminalState() && System.currentTimeMillis() < deadline) {
                Thread.sleep(100);
            }
        }
    }

    /**
     * Sends the valid gradients of every workload in order, interleaved at random with hostile gradients, replays of
     * valid gradients already sent, and hostile control records; near-limit records go at random points.
     */
    private static List<Sent> send(
            KafkaProducer<byte[], byte[]> producer,
            HostileRecords hostile,
            List<Workload> valid,
            SplittableRandom rnd) {
        List<Sent> out = new ArrayList<>();
        List<ArrayDeque<RawRecord>> queues = new ArrayList<>();
        for (Workload w : valid) {
            queues.add(new ArrayDeque<>(w.gradients));
        }
        List<RawRecord> sentValid = new ArrayList<>();
        List<HostileRecords.Hostile> oversize = new ArrayList<>();
        oversize.addAll(hostile.oversizeGradients());
        oversize.addAll(hostile.oversizeControl());
        int gradientsLeft = HOSTILE_GRADIENTS;
        int controlLeft = HOSTILE_CONTROL;
        int replaysOfCreates = 4;
        while (true) {
            int validLeft = queues.stream().mapToInt(ArrayDeque::size).sum();
            int total = validLeft + gradientsLeft + controlLeft + oversize.size() + replaysOfCreates;
            if (total == 0) {
                return out;
            }
            int pick = rnd.nextInt(total);
            if (pick < validLeft) {
                for (ArrayDeque<RawRecord> q : queues) {
                    if (pick < q.size()) {
                        RawRecord r = q.poll();
                        sentValid.add(r);
                        List<byte[]> signature = r.signature == null ? List.of() : List.of(r.signature);
                        out.add(new Sent(
                                "gradients", producer.send(record("gradients", r.key, r.value, signature)), null));
                        break;
                    }
                    pick -= q.size();
                }
            } else if ((pick -= validLeft) < gradientsLeft) {
                gradientsLeft--;
                // Replays go to the same key and partition after their original, so they are duplicates.
                HostileRecords.Hostile h = !sentValid.isEmpty() && rnd.nextInt(30) == 0
                        ? hostile.replay(sentValid.get(rnd.nextInt(sentValid.size())))
                        : hostile.gradient();
                out.add(new Sent(
                        "gradients", producer.send(record("gradients", h.key(), h.value(), h.signatures())), h));
            } else if ((pick -= gradientsLeft) < controlLeft) {
                controlLeft--;
                HostileRecords.Hostile h = hostile.control();
                out.add(new Sent("control", producer.send(new ProducerRecord<>("control", h.key(), h.value())), h));
            } else if ((pick -= controlLeft) < oversize.size()) {
                HostileRecords.Hostile h = oversize.remove(pick);
                String topic = h.kind().startsWith("CREATE") ? "control" : "gradients";
                out.add(new Sent(topic, producer.send(record(topic, h.key(), h.value(), h.signatures())), h));
            } else {
                // The same CREATE again is a no-op, neither applied twice nor refused.
                replaysOfCreates--;
                Workload w = valid.get(rnd.nextInt(valid.size()));
                out.add(new Sent(
                        "control", producer.send(new ProducerRecord<>("control", w.create.key, w.create.value)), null));
            }
        }
    }

    /** A record with one {@code gradstream-signature} header per given value. */
    private static ProducerRecord<byte[], byte[]> record(
            String topic, byte[] key, byte[] value, List<byte[]> signatures) {
        List<Header> headers = new ArrayList<>();
        for (byte[] s : signatures) {
            headers.add(new RecordHeader(RecordSignature.HEADER, s));
        }
        return new ProducerRecord<>(topic, null, key, value, headers);
    }

    private static KafkaProducer<byte[], byte[]> producer() {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("max.request.size", String.valueOf(17 << 20)); // the broker's 16 MiB decides
        p.put("buffer.memory", String.valueOf(96 << 20));
        p.put("batch.size", String.valueOf(256 << 10));
        p.put("linger.ms", "5");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    /** Waits until every shard of the valid models is published at version 0: their CREATEs are in place. */
    private static void awaitVersionZero(List<Workload> valid) throws Exception {
        AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);
        int shards = valid.stream().mapToInt(Workload::shards).sum();
        Set<String> seen = new HashSet<>();
        long deadline = System.currentTimeMillis() + 30_000;
        try (var c = consumer("parameters")) {
            while (seen.size() < shards) {
                assertThat(System.currentTimeMillis())
                        .as("%s: version 0 of every shard within 30 s, got %s", REPLAY, seen)
                        .isLessThan(deadline);
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                    ParameterUpdate u = avro.decode(r.value());
                    seen.add(u.getModelId() + "/" + u.getShard());
                }
            }
        }
    }

    /** What the job wrote: rejections, parameter updates per model/shard, and the contributions they applied. */
    private static final class Observed {
        final List<RejectedRecord> rejected = new ArrayList<>();
        final Map<String, List<ParameterUpdate>> updates = new HashMap<>();
        long contributions;
    }

    /**
     * Reads rejected and parameters (read_committed) until every hostile record is refused and every valid shard has
     * its last version, failing early when the job restarts; then one more second, so a record too many shows up.
     */
    private static Observed observe(String jobUrl, List<Workload> valid, int hostile) throws Exception {
        AvroRecords<ParameterUpdate> params = new AvroRecords<>(ParameterUpdate.class);
        AvroRecords<RejectedRecord> rejects = new AvroRecords<>(RejectedRecord.class);
        Observed seen = new Observed();
        long deadline = System.currentTimeMillis() + 60_000;
        long nextHealthCheck = 0;
        try (var pc = consumer("parameters");
                var rc = consumer("rejected")) {
            long quietUntil = Long.MAX_VALUE;
            while (System.currentTimeMillis() < quietUntil) {
                for (ConsumerRecord<byte[], byte[]> r : pc.poll(Duration.ofMillis(50))) {
                    ParameterUpdate u = params.decode(r.value());
                    seen.updates
                            .computeIfAbsent(u.getModelId() + "/" + u.getShard(), k -> new ArrayList<>())
                            .add(u);
                    seen.contributions += u.getContributions();
                }
                for (ConsumerRecord<byte[], byte[]> r : rc.poll(Duration.ofMillis(50))) {
                    seen.rejected.add(rejects.decode(r.value()));
                }
                long now = System.currentTimeMillis();
                if (now >= nextHealthCheck) {
                    nextHealthCheck = now + 1000;
                    assertThat(restarts(jobUrl))
                            .as("%s: job restarts; exceptions: %s", REPLAY, exceptions(jobUrl))
                            .isZero();
                }
                boolean done = seen.rejected.size() >= hostile
                        && valid.stream().allMatch(w -> {
                            for (int s = 0; s < w.shards(); s++) {
                                List<ParameterUpdate> ups = seen.updates.get(w.model + "/" + s);
                                if (ups == null || ups.stream().noneMatch(u -> u.getVersion() == w.steps)) {
                                    return false;
                                }
                            }
                            return true;
                        });
                if (done && quietUntil == Long.MAX_VALUE) {
                    quietUntil = now + 1000;
                }
                if (now > deadline) {
                    // Not there in time: the assertions below name what is missing.
                    System.out.printf(
                            "FuzzITCase: gave up waiting after 60 s: %d rejected of %d hostile%n",
                            seen.rejected.size(), hostile);
                    break;
                }
            }
        }
        return seen;
    }

    /** Reads {@code topic} from its start with read_committed, as the job's downstream consumers do. */
    private static KafkaConsumer<byte[], byte[]> consumer(String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", kafka.bootstrapServers());
        p.put("isolation.level", "read_committed");
        p.put("auto.offset.reset", "earliest");
        p.put("enable.auto.commit", "false");
        p.put("group.id", "fuzz-" + topic + "-" + UUID.randomUUID());
        p.put("max.partition.fetch.bytes", String.valueOf(16 << 20));
        KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        c.subscribe(List.of(topic));
        return c;
    }

    /**
     * How often the job restarted: its numRestarts metric (Flink's REST API), and at least 1 when its status history
     * has a RESTARTING time or its exception history an entry (the metric is fetched periodically, so it may lag).
     */
    private static long restarts(String jobUrl) throws Exception {
        JsonNode metric = get(jobUrl + "/metrics?get=numRestarts");
        long restarts = metric.path(0).path("id").asText().equals("numRestarts")
                ? metric.path(0).path("value").asLong()
                : 0;
        boolean restarting = get(jobUrl).path("timestamps").path("RESTARTING").asLong() > 0;
        boolean failed = !get(jobUrl + "/exceptions")
                .path("exceptionHistory")
                .path("entries")
                .isEmpty();
        return restarting || failed ? Math.max(1, restarts) : restarts;
    }

    private static String exceptions(String jobUrl) {
        try {
            String text = get(jobUrl + "/exceptions").toString();
            return text.length() > 4000 ? text.substring(0, 4000) + "..." : text;
        } catch (Exception e) {
            return "(unavailable: " + e + ")";
        }
    }

    /** The job's checkpoint statistics once one triggered after {@code after} has completed (or after 20 s). */
    private static JsonNode awaitCheckpointAfter(String jobUrl, long after) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        JsonNode stats = get(jobUrl + "/checkpoints");
        while (stats.path("latest").path("completed").path("trigger_timestamp").asLong() <= after
                && System.currentTimeMillis() < deadline) {
            Thread.sleep(200);
            stats = get(jobUrl + "/checkpoints");
        }
        return stats;
    }

    private static JsonNode get(String url) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
        return new ObjectMapper().readTree(r.body());
    }
}
