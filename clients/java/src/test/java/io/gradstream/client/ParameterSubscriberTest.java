package io.gradstream.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.shard.ParameterDeltas;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.TensorPayload;
import io.gradstream.schemas.UpdateKind;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A subscriber rebuilds a shard from a full snapshot and the deltas after it, bit for bit as the job's copy; it never
 * adds a delta to another version than its base: after a missed delta the shard waits for the next full snapshot.
 */
class ParameterSubscriberTest {
    private static final Map<String, TensorLayout> LAYOUT = Map.of("w", new TensorLayout("w", new int[] {32}, 32));
    private final AvroRecords<ParameterUpdate> avro = new AvroRecords<>(ParameterUpdate.class);

    /** The job's side: its copy of the parameters and the updates it publishes (full every 5 versions). */
    private static final class Job {
        final float[] params = new float[32];
        float[] published = new float[32];
        final ParameterDeltas deltas = new ParameterDeltas();
        final PayloadCodec topK = PayloadCodecs.topK(4);
        final SplittableRandom rnd = new SplittableRandom(7);
        long version;

        ParameterUpdate step() {
            for (int i = 0; i < params.length; i++) {
                params[i] += (float) rnd.nextGaussian();
            }
            version++;
            return version % 5 == 0 ? full() : delta();
        }

        ParameterUpdate full() {
            published = params.clone();
            return update(
                    UpdateKind.FULL, -1, Encoding.FP32, PayloadCodecs.fp32().encode(params));
        }

        ParameterUpdate delta() {
            ByteBuffer dst = ByteBuffer.allocate(topK.maxEncodedSize(32));
            int n = deltas.encode(params, published, topK, dst);
            return update(UpdateKind.DELTA, version - 1, Encoding.TOPK, java.util.Arrays.copyOf(dst.array(), n));
        }

        ParameterUpdate update(UpdateKind kind, long base, Encoding encoding, byte[] data) {
            return ParameterUpdate.newBuilder()
                    .setModelId("m")
                    .setTensor("w")
                    .setShard(0)
                    .setVersion(version)
                    .setPayload(new TensorPayload(encoding, 32, ByteBuffer.wrap(data)))
                    .setKind(kind)
                    .setBaseVersion(base)
                    .build();
        }
    }

    private ParameterSubscriber subscriber() {
        return new ParameterSubscriber(null, "m", LAYOUT);
    }

    private byte[] bytes(ParameterUpdate u) {
        return avro.encodeCompact(u);
    }

    @Test
    void snapshotAndDeltasRebuildTheJobsCopyBitForBit() {
        Job job = new Job();
        ParameterSubscriber sub = subscriber();
        assertThat(sub.accept(bytes(job.full()))).isEqualTo(1); // version 0
        for (int t = 0; t < 12; t++) {
            ParameterUpdate u = job.step();
            assertThat(sub.accept(bytes(u))).isEqualTo(1);
            // A duplicate delta is ignored; a duplicate full update replaces the shard with the same values.
            assertThat(sub.accept(bytes(u))).as("a duplicate").isEqualTo(u.getKind() == UpdateKind.FULL ? 1 : 0);
            assertThat(sub.tensor("w")).as("v%d", job.version).containsExactly(job.published);
        }
        assertThat(sub.version("w", 0)).isEqualTo(12);
        assertThat(sub.deltasApplied()).isEqualTo(10);
        assertThat(sub.gaps()).isZero();
    }

    @Test
    void aMissedDeltaIsNeverAppliedToAnotherBaseAndTheNextSnapshotResumes() {
        Job job = new Job();
        ParameterSubscriber sub = subscriber();
        sub.accept(bytes(job.full()));
        sub.accept(bytes(job.step())); // v1
        job.step(); // v2: missed
        float[] atOne = sub.tensor("w").clone();
        // v3 and v4 are deltas whose bases (2, 3) the shard never reaches: held, then given up.
        assertThat(sub.accept(bytes(job.step()))).isZero();
        assertThat(sub.accept(bytes(job.step()))).isZero();
        assertThat(sub.version("w", 0)).isEqualTo(1);
        assertThat(sub.tensor("w")).containsExactly(atOne);
        ParameterUpdate v5 = job.step();
        assertThat(v5.getKind()).isEqualTo(UpdateKind.FULL);
        assertThat(sub.accept(bytes(v5))).isEqualTo(1);
        assertThat(sub.gaps()).isEqualTo(2); // the held deltas of v3 and v4, dropped at the snapshot
        assertThat(sub.tensor("w")).containsExactly(job.published);
        sub.accept(bytes(job.step())); // v6 builds on the snapshot
        assertThat(sub.tensor("w")).containsExactly(job.published);
        assertThat(sub.version("w", 0)).isEqualTo(6);
    }

    @Test
    void aLateSubscriberHoldsNothingUntilItsFirstSnapshot() {
        Job job = new Job();
        job.full();
        for (int t = 0; t < 20; t++) {
            job.step(); // v1..v20, read by others before this subscriber started
        }
        ParameterSubscriber sub = subscriber();
        int applied = 0;
        for (int t = 0; t < 5; t++) {
            applied += sub.accept(bytes(job.step())); // v21..v24 deltas, then v25 full
        }
        assertThat(applied).isEqualTo(1);
        assertThat(sub.gaps()).isEqualTo(4);
        assertThat(sub.version("w", 0)).isEqualTo(25);
        assertThat(sub.tensor("w")).containsExactly(job.published);
        sub.accept(bytes(job.step()));
        assertThat(sub.tensor("w")).containsExactly(job.published);
    }

    @Test
    void deltasThatOvertakeTheirBaseWaitForIt() {
        // Version 0 comes from another producer than the steps (the CREATE handler): it may arrive after them.
        Job job = new Job();
        ParameterUpdate v0 = job.full();
        List<ParameterUpdate> steps = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            steps.add(job.step());
        }
        ParameterSubscriber sub = subscriber();
        for (ParameterUpdate u : steps) {
            assertThat(sub.accept(bytes(u))).isZero();
        }
        assertThat(sub.minVersion()).isEqualTo(-1);
        assertThat(sub.accept(bytes(v0))).isEqualTo(4);
        assertThat(sub.version("w", 0)).isEqualTo(3);
        assertThat(sub.tensor("w")).containsExactly(job.published);
        assertThat(sub.gaps()).isZero();
    }

    @Test
    void aFullSnapshotAtTheShardsOwnVersionReplacesIt() {
        // A SNAPSHOT command publishes the version the shard has and resets the job's copy to the parameters.
        Job job = new Job();
        ParameterSubscriber sub = subscriber();
        sub.accept(bytes(job.full()));
        sub.accept(bytes(job.step()));
        sub.accept(bytes(job.step()));
        assertThat(sub.tensor("w")).isNotEqualTo(job.params);
        assertThat(sub.accept(bytes(job.full()))).isEqualTo(1);
        assertThat(sub.tensor("w")).containsExactly(job.params);
        sub.accept(bytes(job.step()));
        assertThat(sub.tensor("w")).containsExactly(job.published);
        // Garbage and updates of other models are ignored.
        assertThat(sub.accept(new byte[] {1, 2, 3})).isZero();
        assertThat(sub.accept(bytes(
                        ParameterUpdate.newBuilder(job.full()).setModelId("x").build())))
                .isZero();
    }
}
