package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.model.Limits;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.PrivacySpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batched steps ({@link ShardOptimizerOperator} with a {@link BackendSettings} batch of several shards) publish exactly
 * what the direct path publishes, bit for bit, whether the batch is flushed by size, by its delay, by the shard's next
 * record or by a checkpoint barrier, across a snapshot and restore, and for a private model.
 */
class BatchedStepsTest {
    private final List<KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate>> open =
            new ArrayList<>();

    static KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> harness(
            BackendSettings backend, OperatorSubtaskState restoreFrom) throws Exception {
        return harness(new ShardOptimizerOperator(1_000, 100, backend, Limits.DEFAULT), 1, 0, restoreFrom);
    }

    /**
     * The operator under Flink's two-input harness: gradients keyed by shard on input 1, control commands unkeyed on
     * input 2, as in the job.
     */
    static KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> harness(
            ShardOptimizerOperator op, int parallelism, int subtask, OperatorSubtaskState restoreFrom)
            throws Exception {
        var h = new KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate>(
                op, RawRecord::keyString, null, Types.STRING, 128, parallelism, subtask);
        h.setup();
        if (restoreFrom != null) {
            h.initializeState(restoreFrom);
        }
        h.open();
        return h;
    }

    private KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> open(
            BackendSettings backend, OperatorSubtaskState restoreFrom) throws Exception {
        var h = harness(backend, restoreFrom);
        open.add(h);
        return h;
    }

    @AfterEach
    void close() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    /** Updates by "shard@version", so runs that publish in another order compare equal. */
    static Map<String, float[]> byShardVersion(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ParameterUpdate> h) {
        Map<String, float[]> out = new TreeMap<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r && r.getValue() instanceof ParameterUpdate u) {
                float[] previous =
                        out.put(u.getTensor() + "/" + u.getShard() + "@" + u.getVersion(), Records.values(u));
                assertThat(previous).as("each version once").isNull();
            }
        }
        return out;
    }

    static void assertSameBits(Map<String, float[]> actual, Map<String, float[]> expected) {
        assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((k, v) -> assertThat(actual.get(k)).as(k).containsExactly(v));
    }

    /** Gradients of two workers for {@code steps} SYNC steps over the shards of a 10-element tensor (shards of 4). */
    static List<RawRecord> workload(int steps) {
        SplittableRandom rnd = new SplittableRandom(3);
        List<RawRecord> out = new ArrayList<>();
        for (int t = 0; t < steps; t++) {
            for (int shard = 0; shard < 3; shard++) {
                for (String w : new String[] {"a", "b"}) {
                    float[] g = new float[shard == 2 ? 2 : 4];
                    for (int i = 0; i < g.length; i++) {
                        g[i] = (float) rnd.nextGaussian();
                    }
                    out.add(Records.gradient("m", shard, w, t + 1, t, 1 + rnd.nextInt(8), g));
                }
            }
        }
        return out;
    }

    static final ModelSpec ADAM = Records.spec("Adam", Map.of("lr", 0.01), 4, Records.sync(2), 10);

    @Test
    void batchesPublishWhatDirectStepsPublish() throws Exception {
        List<RawRecord> work = workload(6);
        var direct = open(BackendSettings.cpu(), null);
        direct.processElement2(Records.create("m", ADAM), 0);
        for (RawRecord r : work) {
            direct.processElement1(r, 1);
        }
        Map<String, float[]> expected = byShardVersion(direct);
        assertThat(expected).hasSize(3 * 7);

        // Batches of up to 2 shards flushed by size, and by the next record of a shard already in the batch.
        var batched = open(new BackendSettings(BackendSettings.Kind.CPU, Map.of(), 2, 60_000), null);
        batched.processElement2(Records.create("m", ADAM), 0);
        for (RawRecord r : work) {
            batched.processElement1(r, 1);
        }
        batched.setProcessingTime(120_000); // the delay flushes the rest
        assertSameBits(byShardVersion(batched), expected);
    }

    @Test
    void stepsWaitForTheFlushAndACheckpointBarrierFlushes() throws Exception {
        List<RawRecord> work = workload(4);
        var direct = open(BackendSettings.cpu(), null);
        direct.processElement2(Records.create("m", ADAM), 0);
        work.forEach(r -> process(direct, r));
        Map<String, float[]> expected = byShardVersion(direct);

        var first = open(new BackendSettings(BackendSettings.Kind.CPU, Map.of(), 64, 5), null);
        first.setProcessingTime(0);
        first.processElement2(Records.create("m", ADAM), 0);
        work.subList(0, 6).forEach(r -> process(first, r));
        // Version 1 of every shard is due but waits in the batch (only the three version-0 updates are out).
        assertThat(byShardVersion(first)).hasSize(3);
        first.setProcessingTime(4);
        assertThat(byShardVersion(first)).hasSize(3);
        first.setProcessingTime(5);
        assertThat(byShardVersion(first)).hasSize(6);
        // Step 2 of every shard, then step 3 of shard 0 (its first record flushes step 2) and half of shard 1's.
        work.subList(6, 15).forEach(r -> process(first, r));
        assertThat(byShardVersion(first)).hasSize(9);
        // The snapshot's barrier flushes the batch first, so no half-applied step is checkpointed.
        first.prepareSnapshotPreBarrier(1); // what the task calls before it forwards a barrier
        OperatorSubtaskState snapshot = first.snapshot(1, 10);
        Map<String, float[]> beforeRestore = byShardVersion(first);
        assertThat(beforeRestore).hasSize(10).containsKey("w/0@3");
        var restored = open(new BackendSettings(BackendSettings.Kind.CPU, Map.of(), 64, 5), snapshot);
        work.subList(15, work.size()).forEach(r -> process(restored, r));
        restored.setProcessingTime(1_000);
        Map<String, float[]> all = new TreeMap<>(beforeRestore);
        all.putAll(byShardVersion(restored));
        assertSameBits(all, expected);
    }

    @Test
    void privateModelsBatchTheSameNoisedSteps(@TempDir Path dir) throws Exception {
        Path seed = Files.writeString(dir.resolve("seed"), "batched-steps-test-secret-0123456789");
        ModelSpec spec = ModelSpec.newBuilder(ADAM)
                .setPrivacy(PrivacySpec.newBuilder()
                        .setClipNorm(1.0)
                        .setNoiseMultiplier(1.0)
                        .setDelta(1e-5)
                        .setExpectedPerStep(2.0)
                        .setPopulationSize(1000L)
                        .setSeedFile(seed.toString())
                        .build())
                .build();
        List<RawRecord> work = workload(3);
        var direct = open(BackendSettings.cpu(), null);
        RawRecord create = Records.create("m", spec); // one CREATE: its position keys the noise
        direct.processElement2(create, 0);
        work.forEach(r -> process(direct, r));
        var batched = open(new BackendSettings(BackendSettings.Kind.CPU, Map.of(), 3, 60_000), null);
        batched.processElement2(create, 0);
        work.forEach(r -> process(batched, r));
        batched.setProcessingTime(120_000);
        assertSameBits(byShardVersion(batched), byShardVersion(direct));
    }

    static void process(
            KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> h, RawRecord r) {
        try {
            h.processElement1(r, 1);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
