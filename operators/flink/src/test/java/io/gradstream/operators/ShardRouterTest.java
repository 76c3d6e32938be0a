package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.shard.ShardKey;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelLayouts;
import io.gradstream.model.ShardPlacement;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.RejectReason;
import io.gradstream.schemas.RejectedRecord;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.apache.flink.streaming.util.TwoInputStreamOperatorTestHarness;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ShardRouterTest {
    private static final long GRACE = 1_000;
    private final List<TwoInputStreamOperatorTestHarness<RawRecord, RawRecord, RawRecord>> open = new ArrayList<>();

    private TwoInputStreamOperatorTestHarness<RawRecord, RawRecord, RawRecord> harness(OperatorSubtaskState from)
            throws Exception {
        var h = new TwoInputStreamOperatorTestHarness<>(new ShardRouter(GRACE, 4, Limits.DEFAULT), 128, 1, 0);
        open.add(h);
        if (from != null) {
            h.initializeState(from);
        }
        h.open();
        return h;
    }

    @AfterEach
    void close() throws Exception {
        for (var h : open) {
            h.close();
        }
    }

    private static ModelSpec spec(int elements) {
        return Records.spec("SGD", Map.of("lr", 0.1), 4, Records.sync(1), elements);
    }

    private static RawRecord gradient(String model, int shard) {
        return Records.gradient(model, shard, "w0", 1, 0, 1, new float[4]);
    }

    private static List<RawRecord> routed(TwoInputStreamOperatorTestHarness<RawRecord, RawRecord, RawRecord> h) {
        List<RawRecord> out = new ArrayList<>();
        for (Object o : h.getOutput()) {
            if (o instanceof StreamRecord<?> r && r.getValue() instanceof RawRecord raw) {
                out.add(raw);
            }
        }
        return out;
    }

    private static List<RejectedRecord> rejected(TwoInputStreamOperatorTestHarness<?, ?, ?> h) {
        List<RejectedRecord> out = new ArrayList<>();
        var side = h.getSideOutput(Rejections.TAG);
        if (side != null) {
            side.forEach(r -> out.add(r.getValue()));
        }
        return out;
    }

    private static void assertPlaced(RawRecord r, ShardPlacement placement) {
        ShardKey key = ShardKey.parse(r.keyString());
        assertThat(ShardPlacement.parse(r.route)).isEqualTo(key);
        assertThat(KeyGroupRangeAssignment.assignToKeyGroup(r.routeKey(), 128))
                .isEqualTo(placement.keyGroup(key.tensor(), key.shard()));
    }

    @Test
    void gradientsBeforeTheirCreateWaitAndThenGoOutPlaced() throws Exception {
        var h = harness(null);
        h.processElement1(new StreamRecord<>(gradient("m", 3)));
        h.processElement1(new StreamRecord<>(gradient("m", 5)));
        assertThat(routed(h)).isEmpty();
        h.processElement2(new StreamRecord<>(Records.create("m", spec(32))));
        ShardPlacement placement = ShardPlacement.of("m", ModelLayouts.of(spec(32)), 128);
        List<RawRecord> out = routed(h);
        assertThat(out).extracting(RawRecord::keyString).containsExactly("m/w/3", "m/w/5");
        out.forEach(r -> assertPlaced(r, placement));
        h.processElement1(new StreamRecord<>(gradient("m", 7)));
        assertPlaced(routed(h).get(2), placement);
        assertThat(rejected(h)).isEmpty();
    }

    @Test
    void malformedKeysAndShardsOutsideTheLayoutKeepTheirOwnKey() throws Exception {
        var h = harness(null);
        h.processElement2(new StreamRecord<>(Records.create("m", spec(32))));
        RawRecord padded = gradient("m", 1);
        padded.key = "m/w/001".getBytes(StandardCharsets.UTF_8); // not canonical: the operator refuses it
        RawRecord salted = gradient("m", 1);
        salted.key = "m/w/1#7".getBytes(StandardCharsets.UTF_8);
        RawRecord none = new RawRecord(null, new byte[] {1}, "gradients", 0, 9);
        h.processElement1(new StreamRecord<>(padded));
        h.processElement1(new StreamRecord<>(salted));
        h.processElement1(new StreamRecord<>(none));
        h.processElement1(new StreamRecord<>(gradient("m", 8))); // the layout has shards 0..7
        assertThat(routed(h)).hasSize(4).allSatisfy(r -> assertThat(r.route).isNull());
    }

    @Test
    void gradientsOfAModelNeverCreatedAreRefusedAfterTheGracePeriodOrWhenTheRouterIsFull() throws Exception {
        var h = harness(null);
        h.setProcessingTime(0);
        for (int s = 0; s < 5; s++) {
            h.processElement1(new StreamRecord<>(gradient("ghost", s)));
        }
        assertThat(rejected(h)).hasSize(1); // holds 4
        h.setProcessingTime(GRACE);
        assertThat(rejected(h))
                .hasSize(5)
                .allSatisfy(r -> assertThat(r.getReason()).isEqualTo(RejectReason.UNKNOWN_MODEL));
        assertThat(routed(h)).isEmpty();
    }

    @Test
    void placementsAndHeldGradientsSurviveASnapshotAndADeleteKeepsThePlacement() throws Exception {
        var h = harness(null);
        h.processElement2(new StreamRecord<>(Records.create("m", spec(32))));
        h.processElement1(new StreamRecord<>(gradient("late", 0)));
        OperatorSubtaskState snapshot = h.snapshot(1, 1);
        var restored = harness(snapshot);
        restored.processElement1(new StreamRecord<>(gradient("m", 2)));
        ShardPlacement placement = ShardPlacement.of("m", ModelLayouts.of(spec(32)), 128);
        assertPlaced(routed(restored).get(0), placement);
        // DELETE and a CREATE with another layout: the shard keeps its key (and the ledger under it).
        restored.processElement2(new StreamRecord<>(Records.command("m", CommandType.DELETE)));
        restored.processElement2(new StreamRecord<>(Records.create("m", spec(400))));
        restored.processElement1(new StreamRecord<>(gradient("m", 2)));
        assertThat(routed(restored).get(1).route).isEqualTo(routed(restored).get(0).route);
        restored.processElement2(new StreamRecord<>(Records.create("late", spec(8))));
        assertThat(routed(restored).get(2).keyString()).isEqualTo("late/w/0");
        assertThat(routed(restored).get(2).route).isNotNull();
    }

    @Test
    void gradientsMarkedForHashPlacementKeepTheirOwnKey() throws Exception {
        var h = harness(null);
        h.processElement2(new StreamRecord<>(Records.create("n", spec(32))));
        RawRecord old = gradient("m", 1); // a model the router never saw: not held
        old.route = PlacementMode.HASH;
        RawRecord known = gradient("n", 1);
        known.route = PlacementMode.HASH;
        h.processElement1(new StreamRecord<>(old));
        h.processElement1(new StreamRecord<>(known));
        assertThat(routed(h)).hasSize(2).allSatisfy(r -> assertThat(r.route).isNull());
    }

    @Test
    void aJobRestoredFromStateWithoutTheDecisionKeepsHashPlacementAndSoDoItsLaterSnapshots() throws Exception {
        var fresh = new OneInputStreamOperatorTestHarness<>(new PlacementMode());
        fresh.open();
        assertThat(((PlacementMode) fresh.getOperator()).balanced()).isTrue();
        var again = new OneInputStreamOperatorTestHarness<>(new PlacementMode());
        again.initializeState(fresh.snapshot(1, 1));
        again.open();
        assertThat(((PlacementMode) again.getOperator()).balanced()).isTrue();

        var old = new OneInputStreamOperatorTestHarness<>(new PlacementMode());
        old.initializeState(OperatorSubtaskState.builder().build());
        old.open();
        old.processElement(new StreamRecord<>(gradient("m", 1)));
        assertThat(((RawRecord) ((StreamRecord<?>) old.getOutput().peek()).getValue()).route)
                .isEqualTo(PlacementMode.HASH);
        var later = new OneInputStreamOperatorTestHarness<>(new PlacementMode());
        later.initializeState(old.snapshot(1, 1));
        later.open();
        assertThat(((PlacementMode) later.getOperator()).balanced()).isFalse();
        for (var h : List.of(fresh, again, old, later)) {
            h.close();
        }
    }
}
