package io.gradstream.job;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.kafka.EmbeddedKafka;
import io.gradstream.schemas.ParameterUpdate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * State compatibility across releases: the job restores a savepoint that an earlier release committed under
 * {@code src/test/resources/savepoints/<release>/} (same operator uids, state names and serializer formats), reads
 * the rest of that release's workload from a fresh broker, and ends with every shard bit-identical (payload, version,
 * epsilon, contributions) to the uninterrupted run of that release, with every version after the savepoint published
 * exactly once and the same rejections. See {@link SavepointFixture} for the files and
 * {@link SavepointWorkload} for what the savepoint holds.
 */
class SavepointCompatibilityITCase {

    @RegisterExtension
    static final MiniClusterExtension CLUSTER = new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
            .setNumberTaskManagers(1)
            .setNumberSlotsPerTaskManager(2)
            .setConfiguration(loopback(TestClusters.keepFilesInTarget()))
            .build());

    /** Flink's endpoints on 127.0.0.1 only (the BLOB server would otherwise listen on every interface). */
    private static Configuration loopback(Configuration c) {
        c.setString("rest.bind-address", "127.0.0.1");
        c.setString("rest.address", "127.0.0.1");
        c.setString("jobmanager.bind-host", "127.0.0.1");
        c.setString("taskmanager.bind-host", "127.0.0.1");
        return c;
    }

    /** RocksDB restores the canonical savepoint of the hashmap backend, and at another parallelism. */
    @ParameterizedTest(name = "{0} on {1} at parallelism {2}")
    @CsvSource({"0.1.0, hashmap, 2", "0.1.0, rocksdb, 1"})
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void aSavepointOfAnEarlierReleaseRestoresAndContinuesBitForBit(String release, String stateBackend, int parallelism)
            throws Exception {
        Path dir = fixture(release);
        SavepointFixture.Inputs in = SavepointFixture.read(dir.resolve("inputs.json"), SavepointFixture.Inputs.class);
        SavepointFixture.Golden golden =
                SavepointFixture.read(dir.resolve("golden.json"), SavepointFixture.Golden.class);
        SavepointFixture.writeSeed(in);
        int split = in.savepointAfterStage();
        List<SavepointFixture.StageRecords> phase1 = in.stages().subList(0, split);
        List<SavepointFixture.StageRecords> phase2 =
                in.stages().subList(split, in.stages().size());

        try (EmbeddedKafka kafka = SavepointFixture.startBroker();
                SavepointFixture.Outputs outputs = new SavepointFixture.Outputs(kafka.bootstrapServers())) {
            String bootstrap = kafka.bootstrapServers();
            // The records the savepoint's sources already read: its offsets must point just past them.
            for (SavepointFixture.StageRecords s : phase1) {
                SavepointFixture.publish(bootstrap, s);
            }
            assertThat(SavepointFixture.inputEndOffsets(bootstrap))
                    .as("input offsets at the savepoint")
                    .isEqualTo(new TreeMap<>(in.phase1EndOffsets()));
            SavepointFixture.publish(bootstrap, phase2.get(0));
            JobClient job = SavepointFixture.startJob(
                    bootstrap,
                    stateBackend,
                    parallelism,
                    dir.resolve("savepoint").toUri().toString(),
                    "savepoint " + release + " " + stateBackend);
            try {
                outputs.await(phase2.get(0), job);
                for (SavepointFixture.StageRecords s : phase2.subList(1, phase2.size())) {
                    SavepointFixture.publish(bootstrap, s);
                    outputs.await(s, job);
                }
                // Anything published twice, or too much, would show up now.
                outputs.drain(java.time.Duration.ofSeconds(2));
                SavepointFixture.requireRunning(job);
            } finally {
                SavepointFixture.cancelQuietly(job);
            }
            assertMatchesGolden(golden, outputs);
        }
    }

    private static void assertMatchesGolden(SavepointFixture.Golden golden, SavepointFixture.Outputs outputs) {
        Map<String, SavepointFixture.ShardResult> expected = new TreeMap<>();
        golden.shards().forEach(s -> expected.put(s.key(), s));
        assertThat(outputs.byShard.keySet())
                .as("shards with updates after the restore")
                .isSubsetOf(expected.keySet());
        List<String> differences = new ArrayList<>();
        for (SavepointFixture.ShardResult want : expected.values()) {
            List<Long> versions = outputs.byShard.getOrDefault(want.key(), List.of()).stream()
                    .map(ParameterUpdate::getVersion)
                    .sorted()
                    .toList();
            List<Long> after = LongStream.rangeClosed(want.savepointVersion() + 1, want.version())
                    .boxed()
                    .toList();
            assertThat(versions)
                    .as("versions of %s after the savepoint (at %d), each once", want.key(), want.savepointVersion())
                    .isEqualTo(after);
            if (!versions.isEmpty()) {
                String got = SavepointFixture.ShardResult.of(
                                want.key(), want.savepointVersion(), outputs.latest(want.key()))
                        .describe();
                if (!got.equals(want.describe())) {
                    differences.add("expected " + want.describe() + "\n     got " + got);
                }
            }
        }
        assertThat(differences)
                .as("shards that differ from the uninterrupted run")
                .isEmpty();
        assertThat(outputs.rejected.stream().sorted().toList())
                .as("rejections after the restore")
                .isEqualTo(golden.rejected());
        assertThat(outputs.status.stream().sorted().toList())
                .as("status events after the restore")
                .isEqualTo(golden.status());
    }

    /** The fixture folder as Maven copied it to the test classpath. */
    private static Path fixture(String release) throws Exception {
        var metadata =
                SavepointCompatibilityITCase.class.getResource("/savepoints/" + release + "/savepoint/_metadata");
        assertThat(metadata)
                .as("savepoint fixture of %s on the test classpath", release)
                .isNotNull();
        return Path.of(metadata.toURI()).getParent().getParent();
    }

    /**
     * Not a test: writes the fixture of this build's release into {@code src/test/resources/savepoints/<release>/},
     * only when {@code -Dgradstream.savepoint.generate=<release>} is given (see the README there). A release's
     * fixture is generated once, by that release, and never again.
     */
    @Test
    @EnabledIfSystemProperty(named = "gradstream.savepoint.generate", matches = ".+")
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void generateFixture() throws Exception {
        String release = System.getProperty("gradstream.savepoint.generate");
        Path work = Path.of("target", "savepoint-fixture", "savepoints");
        Files.createDirectories(work);
        SavepointFixture.generate(release, Path.of("src", "test", "resources", "savepoints", release), work);
    }
}
