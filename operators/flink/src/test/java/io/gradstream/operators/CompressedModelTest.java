package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.shard.ParameterDeltas;
import io.gradstream.core.shard.ShardState;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.UpdateKind;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedTwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A model with compression settings in the operator: gradients in an encoding it does not accept are refused, TOPK
 * gradients are applied, its parameters leave as a TOPK delta stream with a full snapshot every 3 versions and on a
 * SNAPSHOT command, and a subscriber that applies every update holds the job's copy bit for bit, across a snapshot
 * and restore of the operator.
 */
class CompressedModelTest {
    private static final int LENGTH = 12; // shards of 8 and 4
    private static final ModelSpec SPEC = Records.spec("Adam", Map.of("lr", 0.05), 8, Records.async(100), LENGTH);
    private static final CompressionSpec COMPRESSION = CompressionSpec.newBuilder()
            .setInputEncodings(List.of(Encoding.TOPK, Encoding.INT8_BLOCK))
            .setDeltaEncoding(Encoding.TOPK)
            .setDeltaTopKFraction(0.25)
            .setSnapshotEvery(3)
            .build();

    private final List<KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate>> open =
            new ArrayList<>();

    private KeyedTwoInputStreamOperatorTestHarness<String, RawRecord, RawRecord, ParameterUpdate> harness(
            OperatorSubtaskState restoreFrom) throws Exception {
        var h = BatchedStepsTest.harness(BackendSettings.cpu(), restoreFrom);
        open.add(h);
        return h;
    }

    @AfterEach
    void close() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    private static List<ParameterUpdate> updates(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ParameterUpdate> h) {
        List<ParameterUpdate> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r && r.getValue() instanceof ParameterUpdate u) {
                out.add(u);
            }
        }
        return out;
    }

    private static List<RejectReason> rejected(KeyedTwoInputStreamOperatorTestHarness<?, ?, ?, ?> h) {
        List<RejectReason> out = new ArrayList<>();
        var side = h.getSideOutput(Rejections.TAG);
        if (side != null) {
            side.forEach(r -> out.add(((RejectedRecord) r.getValue()).getReason()));
        }
        return out;
    }

    /** Gradient t of shard s, as TOPK of 3 elements (no error feedback needed for this test). */
    private static RawRecord gradient(int s, int t) {
        int n = s == 0 ? 8 : 4;
        SplittableRandom rnd = new SplittableRandom(31L * t + s);
        float[] g = new float[n];
        for (int i = 0; i < n; i++) {
            g[i] = (float) rnd.nextGaussian();
        }
        byte[] data = PayloadCodecs.topK(3).encode(g);
        return Records.gradient("m", s, "a", t, t - 1, 1, new TensorPayload(Encoding.TOPK, n, ByteBuffer.wrap(data)));
    }

    /** What a subscriber holds after applying {@code updates} in order: per shard, the version and values. */
    private static Map<Integer, float[]> follow(List<ParameterUpdate> updates, Map<Integer, Long> versions) {
        Map<Integer, float[]> values = new HashMap<>();
        for (ParameterUpdate u : updates) {
            int s = u.getShard();
            float[] decoded = Records.values(u);
            if (u.getKind() == UpdateKind.FULL) {
                values.put(s, decoded);
            } else {
                assertThat(u.getBaseVersion()).as("base of %s", u).isEqualTo(versions.get(s));
                ParameterDeltas.apply(values.get(s), 0, decoded, decoded.length);
            }
            versions.put(s, u.getVersion());
        }
        return values;
    }

    private static ShardState state(KeyedTwoInputStreamOperatorTestHarness<String, ?, ?, ?> h, int shard)
            throws Exception {
        var op = (ShardOptimizerOperator) h.getOperator();
        op.setCurrentKey("m/w/" + shard);
        return op.getKeyedStateStore().getState(ShardStore.SHARD).value();
    }

    @Test
    void topKGradientsInAndATopKDeltaStreamOutFollowedBitForBitAcrossARestore() throws Exception {
        var straight = harness(null);
        straight.processElement2(Records.create("m", SPEC, COMPRESSION), 0);
        straight.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[8]), 1); // FP32: not accepted
        for (int t = 1; t <= 7; t++) {
            straight.processElement1(gradient(0, t), t);
            straight.processElement1(gradient(1, t), t);
        }
        assertThat(rejected(straight)).containsExactly(RejectReason.ENCODING_NOT_ALLOWED);
        List<ParameterUpdate> all = updates(straight);
        assertThat(all).hasSize(2 * 8);
        for (ParameterUpdate u : all) {
            boolean full = u.getVersion() % 3 == 0;
            assertThat(u.getKind()).as("v%d", u.getVersion()).isEqualTo(full ? UpdateKind.FULL : UpdateKind.DELTA);
            assertThat(u.getPayload().getEncoding()).isEqualTo(full ? Encoding.FP32 : Encoding.TOPK);
        }
        Map<Integer, Long> versions = new HashMap<>();
        Map<Integer, float[]> subscriber = follow(all, versions);
        for (int s = 0; s < 2; s++) {
            ShardState st = state(straight, s);
            assertThat(versions.get(s)).isEqualTo(7);
            assertThat(subscriber.get(s)).as("shard %d", s).containsExactly(st.published());
            assertThat(st.published()).isNotEqualTo(st.params()); // the residual waits for later deltas
        }

        // The same run with a snapshot and restore after version 4: the same updates, bit for bit.
        var first = harness(null);
        first.processElement2(Records.create("m", SPEC, COMPRESSION), 0);
        for (int t = 1; t <= 4; t++) {
            first.processElement1(gradient(0, t), t);
            first.processElement1(gradient(1, t), t);
        }
        OperatorSubtaskState snapshot = first.snapshot(1, 10);
        var restored = harness(snapshot);
        for (int t = 5; t <= 7; t++) {
            restored.processElement1(gradient(0, t), t);
            restored.processElement1(gradient(1, t), t);
        }
        List<ParameterUpdate> resumed = new ArrayList<>(updates(first));
        resumed.addAll(updates(restored));
        assertThat(resumed).isEqualTo(all);

        // SNAPSHOT: both shards publish their parameters in full at their version; the next delta builds on them.
        straight.processElement2(Records.command("m", CommandType.SNAPSHOT), 8);
        List<ParameterUpdate> after = updates(straight).subList(all.size(), all.size() + 2);
        assertThat(after).allSatisfy(u -> {
            assertThat(u.getKind()).isEqualTo(UpdateKind.FULL);
            assertThat(u.getVersion()).isEqualTo(7);
            assertThat(Records.values(u))
                    .containsExactly(state(straight, u.getShard()).params());
        });
        straight.processElement1(gradient(0, 8), 9);
        ParameterUpdate next = updates(straight).get(all.size() + 2);
        assertThat(next.getKind()).isEqualTo(UpdateKind.DELTA);
        assertThat(next.getBaseVersion()).isEqualTo(7);
        Map<Integer, float[]> late = follow(updates(straight).subList(all.size(), all.size() + 3), new HashMap<>());
        assertThat(late.get(0)).containsExactly(state(straight, 0).published());
    }

    @Test
    void aModelWithoutCompressionKeepsNoCopyAndPublishesInFull() throws Exception {
        var h = harness(null);
        h.processElement2(Records.create("m", SPEC), 0);
        h.processElement1(Records.gradient("m", 0, "a", 1, 0, 1, new float[8]), 1);
        h.processElement1(gradient(0, 2), 2);
        assertThat(updates(h)).extracting(ParameterUpdate::getKind).containsOnly(UpdateKind.FULL);
        assertThat(state(h, 0).published()).isNull();
        assertThat(rejected(h)).isEmpty();
        h.processElement2(Records.command("m", CommandType.SNAPSHOT), 3);
        assertThat(updates(h)).hasSize(4); // an INVALID_COMMAND (reported by subtask 0), nothing published
        assertThat(rejected(h)).containsExactly(RejectReason.INVALID_COMMAND);
    }
}
