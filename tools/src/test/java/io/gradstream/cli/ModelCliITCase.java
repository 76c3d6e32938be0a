package io.gradstream.cli;

import static io.gradstream.cli.CliRuns.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.client.GradientPublisher;
import io.gradstream.client.ParameterSubscriber;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.job.JobSettings;
import io.gradstream.kafka.KafkaClients;
import io.gradstream.kafka.SecureKafka;
import io.gradstream.local.LocalGradstream;
import io.gradstream.model.ModelLayouts;
import io.gradstream.ops.model.SpecFiles;
import io.gradstream.schemas.Encoding;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code gradstream model} and {@code gradstream export} against a real broker and job ({@code gradstream local}): an
 * invalid spec is refused before anything is sent; a model created from a spec file trains, is paused (its gradients
 * refused as PAUSED), updated (the new lr shows in the steps), resumed, listed and shown; its parameters are exported
 * in both formats, at the newest version and an older one, and read back by independent readers (a Java reader here,
 * numpy in python3) equal to the parameters on the topic; unknown models and versions write nothing; delete ends it.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ModelCliITCase {
    static final Duration WAIT = Duration.ofSeconds(60);

    @Test
    void aModelsLifeFromTheCommandLine(@TempDir Path dir) throws Exception {
        try (LocalGradstream local = LocalGradstream.start(
                new LocalGradstream.Options(null, 0, 0, 1, 2, dir.resolve("work"), new Configuration()))) {
            JobSettings s = local.settings();
            String[] kafka = {"--bootstrap-servers", s.bootstrapServers()};
            String model = "cli-" + UUID.randomUUID().toString().substring(0, 8);

            // An invalid spec (torch refuses a negative lr) is refused with the reason; nothing reaches control.
            Path bad = Files.writeString(dir.resolve("bad.yaml"), spec(model).replace("lr: 0.1", "lr: -0.1"));
            var refused = cli(args("model", "create", "--spec", bad.toString(), kafka));
            assertThat(refused.status()).as(refused.err()).isEqualTo(2);
            assertThat(refused.err()).contains(bad.toString()).contains("lr").contains("-0.1");
            Path typo = Files.writeString(dir.resolve("typo.yaml"), spec(model).replace("shardSize", "shard_size"));
            var typoRun = cli(args("model", "create", "--spec", typo.toString(), kafka));
            assertThat(typoRun.status()).isEqualTo(2);
            assertThat(typoRun.err()).contains(typo + ": shard_size: unknown field");
            var none = cli(args("model", "list", kafka));
            assertThat(none.out()).as(none.err()).contains("no models");

            Path specFile = Files.writeString(dir.resolve("model.yaml"), spec(model));
            var created = cli(args("model", "create", "--spec", specFile.toString(), kafka));
            assertThat(created.status()).as(created.err()).isZero();
            assertThat(created.out()).contains("model " + model + ": CREATE sent to control");
            var again = cli(args("model", "create", "--spec", specFile.toString(), kafka));
            assertThat(again.out()).as(again.err()).contains("exists with this spec and these workers; nothing sent");

            Map<String, TensorLayout> layouts =
                    ModelLayouts.of(SpecFiles.read(specFile).spec());
            try (var producer = new KafkaProducer<>(
                            s.kafka().clientConfig(), new ByteArraySerializer(), new ByteArraySerializer());
                    var consumer = parametersConsumer(s)) {
                var worker = new GradientPublisher(producer, s.gradientsTopic(), model, layouts, "w0", Encoding.FP32);
                var params = new ParameterSubscriber(consumer, model, layouts);
                assertThat(params.awaitVersion(0, WAIT)).isTrue();
                Trainer t = new Trainer(worker, params, layouts);
                t.step(); // version 1
                Map<String, float[]> atVersion1 = t.copy();
                t.step();
                t.step(); // version 3

                var paused = cli(args("model", "pause", model, kafka));
                assertThat(paused.status()).as(paused.err()).isZero();
                assertThat(waitForRejection(model, "PAUSED", t, kafka))
                        .as("a paused model refuses gradients")
                        .isTrue();

                var updated = cli(args("model", "update", model, "lr=0.5", kafka));
                assertThat(updated.status()).as(updated.err()).isZero();
                var badUpdate = cli(args("model", "update", model, "lr=-1", kafka));
                assertThat(badUpdate.status()).isEqualTo(2);
                assertThat(badUpdate.err()).contains("lr");
                var resumed = cli(args("model", "resume", model, kafka));
                assertThat(resumed.status()).as(resumed.err()).isZero();
                params.poll(Duration.ofMillis(500)); // anything applied before the pause took effect
                long before = params.minVersion();
                float w0 = params.tensor("W")[0];
                t.step();
                // SGD: one step moves by lr * gradient (gradient 1.0 for W[0]), with the updated lr.
                assertThat(params.tensor("W")[0]).isCloseTo(w0 - 0.5f, org.assertj.core.data.Offset.offset(1e-6f));
                t.step();
                long version = params.minVersion();
                assertThat(version).isEqualTo(before + 2);

                var list = cli(args("model", "list", kafka));
                assertThat(list.out()).as(list.err()).containsPattern(model + " +ACTIVE +SGD +2 +18 +no ");
                var status = cli(args("model", "status", model, kafka));
                System.out.println(list.out() + status.out());
                assertThat(status.status()).as(status.err()).isZero();
                assertThat(status.out())
                        .contains("model " + model + ": ACTIVE, SGD, SYNC aggregation of 1 worker")
                        .contains("1 update(s)")
                        .contains("tensor W: version " + version + " over 4/4 shards")
                        .contains("tensor b: version " + version + " over 1/1 shards")
                        .contains("epsilon spent: not private")
                        .contains("last update: 20")
                        .containsPattern("rejections: [1-9][0-9]* in the last [0-9]+ records of rejected \\(PAUSED");

                Map<String, float[]> latest = t.copy();
                Path st = dir.resolve("model.safetensors");
                Path npz = dir.resolve("model.npz");
                var e1 = cli(args("export", model, "--format", "safetensors", "--output", st.toString(), kafka));
                assertThat(e1.status()).as(e1.err()).isZero();
                assertThat(e1.out()).contains("version " + version + ": 2 tensors, 18 parameters");
                var e2 = cli(args("export", model, "--format", "npz", "--output", npz.toString(), kafka));
                assertThat(e2.status()).as(e2.err()).isZero();
                IndependentReaders.assertSafetensors(st, model, version, layouts, latest);
                IndependentReaders.assertNpz(npz, layouts, latest);
                IndependentReaders.assertWithNumpy(st, npz, model, version, layouts, latest);

                // An older version is still on the (not yet compacted) topic; one that never existed is refused.
                Path old = dir.resolve("v1.npz");
                var e3 = cli(
                        args("export", model, "--format", "npz", "--output", old.toString(), "--version", "1", kafka));
                assertThat(e3.status()).as(e3.err()).isZero();
                IndependentReaders.assertNpz(old, layouts, atVersion1);
                Path never = dir.resolve("never.safetensors");
                var e4 = cli(args(
                        "export",
                        model,
                        "--format",
                        "safetensors",
                        "--output",
                        never.toString(),
                        "--version",
                        "999",
                        kafka));
                assertThat(e4.status()).isEqualTo(1);
                assertThat(e4.err())
                        .contains("version 999 of model " + model + " is not on the topic for every shard")
                        .contains("nothing written");
                var e5 = cli(args("export", "no-such-model", "--format", "npz", "--output", never.toString(), kafka));
                assertThat(e5.status()).isEqualTo(1);
                assertThat(e5.err()).contains("model no-such-model does not exist");
                var e6 = cli(args("export", model, "--format", "npz", "--output", npz.toString(), kafka));
                assertThat(e6.status())
                        .as("an existing file is not replaced without --force")
                        .isEqualTo(1);
                assertThat(never).doesNotExist();
                try (var files = Files.list(dir)) {
                    assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".part")))
                            .isEmpty();
                }
            }

            deltaStream(s, kafka, dir);

            var deleted = cli(args("model", "delete", model, kafka));
            assertThat(deleted.status()).as(deleted.err()).isZero();
            assertThat(cli(args("model", "list", kafka)).out()).containsPattern(model + " +DELETED");
            var pauseDeleted = cli(args("model", "pause", model, kafka));
            assertThat(pauseDeleted.status()).isEqualTo(1);
            assertThat(pauseDeleted.err()).contains("model " + model + " was deleted; nothing sent");
            var unknown = cli(args("model", "status", "no-such-model", kafka));
            assertThat(unknown.status()).isEqualTo(1);
        }
    }

    /**
     * With {@code gradstream local --secure}: the operator creates, pauses and resumes a model without reading
     * control (noted, sent unchecked) and sees its status with a worker's file for the parameters; only the admin
     * lists; a worker exports with the model's spec file for the layout.
     */
    @Test
    void theSecureDeploymentsPrincipals(@TempDir Path dir) throws Exception {
        try (LocalGradstream local = LocalGradstream.start(
                new LocalGradstream.Options(null, 0, 0, 1, 1, dir.resolve("work"), new Configuration(), 0, true))) {
            var kafka = local.secure();
            String bootstrap = local.settings().bootstrapServers();
            String operator = kafka.clientConfig(SecureKafka.OPERATOR).toString();
            String worker = kafka.clientConfig(SecureKafka.WORKER).toString();
            String admin = kafka.clientConfig(SecureKafka.ADMIN).toString();
            String model = "secure-" + UUID.randomUUID().toString().substring(0, 8);
            Path specFile = Files.writeString(dir.resolve("model.yaml"), spec(model));
            String[] asOperator = {"--bootstrap-servers", bootstrap, "--kafka-config", operator};

            var created = cli(args("model", "create", "--spec", specFile.toString(), asOperator));
            assertThat(created.status()).as(created.err()).isZero();
            // The operator may write control but not read it: once it holds records, commands go unchecked, noted.
            var paused = cli(args("model", "pause", model, asOperator));
            assertThat(paused.status()).as(paused.err()).isZero();
            assertThat(paused.out())
                    .contains("note: not checked against the control topic (this principal may not read topic "
                            + "control");
            assertThat(cli(args("model", "resume", model, asOperator)).status()).isZero();

            var denied = cli(args("model", "list", asOperator));
            assertThat(denied.status()).isEqualTo(1);
            assertThat(denied.err()).contains("may not read topic control");
            var list = cli(args("model", "list", "--bootstrap-servers", bootstrap, "--kafka-config", admin));
            assertThat(list.out()).as(list.err()).containsPattern(model + " +ACTIVE");

            Map<String, TensorLayout> layouts =
                    ModelLayouts.of(SpecFiles.read(specFile).spec());
            Map<String, Object> workerClient =
                    KafkaClients.config(bootstrap, kafka.clientProperties(SecureKafka.WORKER));
            Map<String, float[]> initial = new HashMap<>();
            try (var consumer =
                    parametersConsumer(workerClient, local.settings().parametersTopic())) {
                var params = new ParameterSubscriber(consumer, model, layouts);
                assertThat(params.awaitVersion(0, WAIT)).isTrue();
                layouts.keySet().forEach(n -> initial.put(n, params.tensor(n).clone()));
            }
            var status = cli(args("model", "status", model, "--parameters-config", worker, asOperator));
            assertThat(status.status()).as(status.err()).isZero();
            assertThat(status.out())
                    .contains("model " + model + ":")
                    .contains("tensor W: version 0 over 4/4 shards")
                    .contains("note: state unknown: this principal may not read topic control");

            Path st = dir.resolve("initial.safetensors");
            String[] asWorker = {"--bootstrap-servers", bootstrap, "--kafka-config", worker};
            var noSpec = cli(args("export", model, "--format", "safetensors", "--output", st.toString(), asWorker));
            assertThat(noSpec.status()).isEqualTo(1);
            assertThat(noSpec.err()).contains("pass the admin's --kafka-config, or --spec FILE");
            var exported = cli(args(
                    "export",
                    model,
                    "--format",
                    "safetensors",
                    "--output",
                    st.toString(),
                    "--spec",
                    specFile.toString(),
                    asWorker));
            assertThat(exported.status()).as(exported.err()).isZero();
            IndependentReaders.assertSafetensors(st, model, 0, layouts, initial);
        }
    }

    /**
     * A model that publishes an INT8 delta stream: its newest version is not exported from deltas; after a pause and a
     * SNAPSHOT it is, equal to what a subscriber that applies the deltas and the snapshot holds.
     */
    static void deltaStream(JobSettings s, String[] kafka, Path dir) throws Exception {
        String model = "delta-" + UUID.randomUUID().toString().substring(0, 8);
        Path specFile = Files.writeString(
                dir.resolve("delta.yaml"),
                spec(model) + "compression: {deltaEncoding: INT8_BLOCK, snapshotEvery: 1000}\n");
        var created = cli(args("model", "create", "--spec", specFile.toString(), kafka));
        assertThat(created.status()).as(created.err()).isZero();
        Map<String, TensorLayout> layouts =
                ModelLayouts.of(SpecFiles.read(specFile).spec());
        try (var producer = new KafkaProducer<>(
                        s.kafka().clientConfig(), new ByteArraySerializer(), new ByteArraySerializer());
                var consumer = parametersConsumer(s)) {
            var worker = new GradientPublisher(producer, s.gradientsTopic(), model, layouts, "w0", Encoding.FP32);
            var params = new ParameterSubscriber(consumer, model, layouts);
            assertThat(params.awaitVersion(0, WAIT)).isTrue();
            Trainer t = new Trainer(worker, params, layouts);
            t.step();
            t.step();
        }
        Path out = dir.resolve("delta.safetensors");
        var stale = cli(args("export", model, "--format", "safetensors", "--output", out.toString(), kafka));
        assertThat(stale.status()).isEqualTo(1);
        assertThat(stale.err())
                .contains("newest full snapshot of model " + model + " is version 0")
                .contains("delta stream has reached version 2");
        assertThat(out).doesNotExist();
        assertThat(cli(args("model", "status", model, kafka)).out())
                .contains("tensor W: version 2 over 4/4 shards")
                .contains("delta stream: newest full snapshots at versions 0..0");

        assertThat(cli(args("model", "pause", model, kafka)).status()).isZero();
        var snapshot = cli(args("model", "snapshot", model, kafka));
        assertThat(snapshot.status()).as(snapshot.err()).isZero();
        long deadline = System.nanoTime() + WAIT.toNanos();
        CliRuns.CliRun exported;
        do {
            Thread.sleep(300);
            exported = cli(args("export", model, "--format", "safetensors", "--output", out.toString(), kafka));
        } while (exported.status() != 0 && System.nanoTime() < deadline);
        assertThat(exported.status()).as(exported.err()).isZero();
        assertThat(exported.out()).contains("version 2");
        Map<String, float[]> expected = new HashMap<>();
        try (var consumer = parametersConsumer(s)) {
            var params = new ParameterSubscriber(consumer, model, layouts);
            var end = consumer.endOffsets(consumer.assignment());
            while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
                params.poll(Duration.ofMillis(200));
            }
            assertThat(params.minVersion()).isEqualTo(2);
            layouts.keySet().forEach(n -> expected.put(n, params.tensor(n).clone()));
        }
        IndependentReaders.assertSafetensors(out, model, 2, layouts, expected);
        var noDeltas = cli(args("model", "snapshot", "no-such-model", kafka));
        assertThat(noDeltas.status()).isEqualTo(1);
    }

    static String spec(String model) {
        return """
                modelId: %s
                tensors:
                  - {name: W, shape: [3, 5]}
                  - {name: b, shape: [3]}
                shardSize: 4
                optimizer: SGD
                hyperparameters: {lr: 0.1}
                aggregation: {mode: SYNC, workers: 1}
                init: {rule: NORMAL, seed: 3, std: 0.1}
                """.formatted(model);
    }

    /** One worker stepping the model: gradients g_i = 1 + i / 10 on the newest version, then waits for the step. */
    static final class Trainer {
        private final GradientPublisher worker;
        private final ParameterSubscriber params;
        private final Map<String, TensorLayout> layouts;
        private long workerStep;

        Trainer(GradientPublisher worker, ParameterSubscriber params, Map<String, TensorLayout> layouts) {
            this.worker = worker;
            this.params = params;
            this.layouts = layouts;
        }

        void publish() {
            long base = params.minVersion();
            workerStep++;
            layouts.forEach((name, l) -> {
                float[] g = new float[(int) l.elements()];
                for (int i = 0; i < g.length; i++) {
                    g[i] = 1 + i / 10f;
                }
                worker.publish(name, g, workerStep, shard -> base, 1, Double.NaN);
            });
            worker.flush();
        }

        void step() {
            long target = params.minVersion() + 1;
            publish();
            assertThat(params.awaitVersion(target, WAIT))
                    .as("version " + target)
                    .isTrue();
        }

        Map<String, float[]> copy() {
            Map<String, float[]> m = new HashMap<>();
            layouts.keySet().forEach(n -> m.put(n, params.tensor(n).clone()));
            return m;
        }
    }

    /** Publishes gradients until {@code model status} counts a rejection with {@code reason}. */
    static boolean waitForRejection(String model, String reason, Trainer t, String[] kafka) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            t.publish();
            Thread.sleep(500);
            var status = cli(args("model", "status", model, kafka));
            if (status.out().matches("(?s).*rejections: .*" + reason + ".*")) {
                return true;
            }
        }
        return false;
    }

    static KafkaConsumer<byte[], byte[]> parametersConsumer(JobSettings s) {
        return parametersConsumer(s.kafka().clientConfig(), s.parametersTopic());
    }

    static KafkaConsumer<byte[], byte[]> parametersConsumer(Map<String, Object> client, String topic) {
        Map<String, Object> c = new HashMap<>(client);
        c.put("isolation.level", "read_committed");
        var consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
        List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                .map(p -> new TopicPartition(topic, p.partition()))
                .toList();
        consumer.assign(parts);
        consumer.seekToBeginning(parts);
        return consumer;
    }

    static String[] args(Object... parts) {
        return Arrays.stream(parts)
                .flatMap(p -> p instanceof String[] a ? Arrays.stream(a) : java.util.stream.Stream.of((String) p))
                .toArray(String[]::new);
    }
}
