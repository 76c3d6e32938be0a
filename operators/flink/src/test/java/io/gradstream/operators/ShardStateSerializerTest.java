package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.privacy.PrivacyLedger;
import io.gradstream.core.shard.AggregationPolicy;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

class ShardStateSerializerTest {

    private static ShardState adamShard(int n, boolean pending) {
        SplittableRandom rnd = new SplittableRandom(1);
        float[] p = new float[n];
        for (int i = 0; i < n; i++) {
            p[i] = (float) rnd.nextGaussian();
        }
        ShardState s = ShardState.initial(p);
        var adam = Optimizers.create("Adam", Map.of());
        AggregationPolicy sync = AggregationPolicy.sync(2);
        for (int t = 0; t < 3; t++) {
            for (String w : new String[] {"a", "b"}) {
                float[] g = new float[n];
                for (int i = 0; i < n; i++) {
                    g[i] = (float) rnd.nextGaussian();
                }
                ShardStepper.offer(s, new Contribution(w, t + 1, t, 4, g, 0.5, 0), sync, adam);
            }
        }
        if (pending) {
            ShardStepper.offer(s, new Contribution("a", 9, 3, 4, new float[n], Double.NaN, 0), sync, adam);
        }
        return s;
    }

    @Test
    void anAdamShardCheckpointsInAtMost13BytesPerParameter() throws Exception {
        int n = 65536;
        ShardState s = adamShard(n, false);
        DataOutputSerializer out = new DataOutputSerializer(1024);
        new ShardStateSerializer().serialize(s, out);
        double perParameter = (double) out.length() / n;
        assertThat(perParameter).isLessThanOrEqualTo(13.0).isGreaterThanOrEqualTo(12.0);
    }

    @Test
    void anAdamShardWithADeltaStreamCheckpointsInAtMost17BytesPerParameter() throws Exception {
        int n = 65536;
        ShardState s = adamShard(n, false);
        float[] published = s.params().clone();
        published[7] = 42f;
        s.published(published);
        ShardStateSerializer ser = new ShardStateSerializer();
        DataOutputSerializer out = new DataOutputSerializer(1024);
        ser.serialize(s, out);
        double perParameter = (double) out.length() / n;
        assertThat(perParameter).isLessThanOrEqualTo(17.0).isGreaterThanOrEqualTo(16.0);
        ShardState back = ser.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.published()).containsExactly(published);
        assertThat(back.params()).containsExactly(s.params());
        ShardState copy = ser.copy(s);
        copy.published()[0] = -1f;
        assertThat(s.published()[0]).isNotEqualTo(-1f);
    }

    @Test
    void formatTwoStillReadsWithoutACopy() throws Exception {
        // A checkpoint of format 2, as the serializer before delta streams wrote it: params {1.5, -2} at version 3,
        // no slots, no pending sum, one ledger phase.
        DataOutputSerializer v2 = new DataOutputSerializer(64);
        v2.writeInt(2);
        v2.writeLong(3);
        v2.writeInt(2);
        v2.write(new byte[] {0, 0, (byte) 0xC0, 0x3F, 0, 0, 0, (byte) 0xC0});
        v2.writeLong(3);
        v2.writeInt(0); // slots
        v2.writeInt(0); // scalars
        v2.writeBoolean(false); // no pending sum
        v2.writeLong(0);
        v2.writeDouble(0);
        v2.writeLong(0);
        v2.writeLong(0);
        v2.writeLong(0); // earliest
        v2.writeInt(0); // pending workers
        v2.writeInt(0); // watermarks
        v2.writeInt(1); // ledger phases
        v2.writeDouble(1.1);
        v2.writeDouble(0.01);
        v2.writeLong(3);
        ShardState restored = new ShardStateSerializer().deserialize(new DataInputDeserializer(v2.getCopyOfBuffer()));
        assertThat(restored.params()).containsExactly(1.5f, -2f);
        assertThat(restored.ledger().steps()).isEqualTo(3);
        assertThat(restored.published()).isNull();
    }

    @Test
    void roundTripIsExactIncludingAPendingStep() throws Exception {
        ShardState s = adamShard(1000, true);
        ShardStateSerializer ser = new ShardStateSerializer();
        DataOutputSerializer out = new DataOutputSerializer(1024);
        ser.serialize(s, out);
        ShardState back = ser.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.params()).containsExactly(s.params());
        assertThat(back.version()).isEqualTo(3);
        assertThat(back.optimizer().step()).isEqualTo(3);
        assertThat(back.optimizer().tensor("exp_avg_sq"))
                .containsExactly(s.optimizer().tensor("exp_avg_sq"));
        assertThat(back.pending().workers()).containsExactly("a");
        assertThat(back.pending().weightedSum()).containsExactly(s.pending().weightedSum());
        assertThat(back.workerWatermarks()).isEqualTo(s.workerWatermarks());
        ShardState copy = ser.copy(s);
        copy.params()[0] = 42f;
        assertThat(s.params()[0]).isNotEqualTo(42f);
        DataOutputSerializer corrupt = new DataOutputSerializer(8);
        corrupt.writeInt(99);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> ser.deserialize(new DataInputDeserializer(corrupt.getCopyOfBuffer())))
                .hasMessageContaining("format 99");
    }

    @Test
    void thePrivacyLedgerTravelsWithTheParametersAndFormatOneStillReads() throws Exception {
        ShardState s = adamShard(8, false);
        PrivacyLedger ledger =
                PrivacyLedger.EMPTY.plusStep(1.1, 0.01).plusStep(1.1, 0.01).plusStep(2.0, 0.02);
        ShardState withLedger =
                new ShardState(s.params(), s.optimizer(), s.version(), s.pending(), s.workerWatermarks(), ledger);
        ShardStateSerializer ser = new ShardStateSerializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        ser.serialize(withLedger, out);
        byte[] bytes = out.getCopyOfBuffer();
        ShardState back = ser.deserialize(new DataInputDeserializer(bytes));
        assertThat(back.ledger()).isEqualTo(ledger);
        assertThat(back.ledger().phases()).hasSize(2);
        assertThat(ser.copy(withLedger).ledger()).isEqualTo(ledger);

        // A checkpoint of format 1, as the serializer before the ledger wrote it: params {1.5, -2} at version 3,
        // an Adam step count of 3, a pending contribution from worker a, a watermark of b.
        DataOutputSerializer v1 = new DataOutputSerializer(64);
        v1.writeInt(1);
        v1.writeLong(3);
        v1.writeInt(2);
        v1.write(new byte[] {0, 0, (byte) 0xC0, 0x3F, 0, 0, 0, (byte) 0xC0}); // 1.5f, -2f little-endian
        v1.writeLong(3);
        v1.writeInt(0); // slots
        v1.writeInt(0); // scalars
        v1.writeBoolean(false); // no pending sum
        v1.writeLong(4);
        v1.writeDouble(0.5);
        v1.writeLong(4);
        v1.writeLong(1234);
        v1.writeInt(1);
        v1.writeUTF("a");
        v1.writeInt(1);
        v1.writeUTF("b");
        v1.writeLong(7);
        ShardState restored = ser.deserialize(new DataInputDeserializer(v1.getCopyOfBuffer()));
        assertThat(restored.params()).containsExactly(1.5f, -2f);
        assertThat(restored.version()).isEqualTo(3);
        assertThat(restored.pending().workers()).containsExactly("a");
        assertThat(restored.pending().latestPublishedAtMs()).isEqualTo(1234);
        assertThat(restored.pending().earliestPublishedAtMs()).isZero();
        assertThat(restored.workerWatermarks()).containsEntry("b", 7L);
        assertThat(restored.ledger()).isEqualTo(PrivacyLedger.EMPTY);
    }

    @Test
    void theLedgersAccountantTravelsAndFormatThreeReadsAsRdp() throws Exception {
        ShardState s = adamShard(4, false);
        PrivacyLedger prv = PrivacyLedger.EMPTY.plusStep(1.1, 0.01).accountedWith(Accountant.PRV);
        ShardState withLedger =
                new ShardState(s.params(), s.optimizer(), s.version(), s.pending(), s.workerWatermarks(), prv);
        ShardStateSerializer ser = new ShardStateSerializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        ser.serialize(withLedger, out);
        assertThat(ser.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()))
                        .ledger())
                .isEqualTo(prv);

        // Format 3, as the serializer before accountants wrote it: params {1.5, -2} at version 3, a ledger of two
        // steps at (1.1, 0.01), no subscribers' copy.
        DataOutputSerializer v3 = new DataOutputSerializer(64);
        v3.writeInt(3);
        v3.writeLong(3);
        v3.writeInt(2);
        v3.write(new byte[] {0, 0, (byte) 0xC0, 0x3F, 0, 0, 0, (byte) 0xC0});
        v3.writeLong(3);
        v3.writeInt(0); // slots
        v3.writeInt(0); // scalars
        v3.writeBoolean(false); // no pending sum
        v3.writeLong(0);
        v3.writeDouble(0);
        v3.writeLong(0);
        v3.writeLong(0);
        v3.writeLong(0); // earliest
        v3.writeInt(0); // pending workers
        v3.writeInt(0); // watermarks
        v3.writeInt(1); // ledger phases
        v3.writeDouble(1.1);
        v3.writeDouble(0.01);
        v3.writeLong(2);
        v3.writeBoolean(false); // no published copy
        ShardState restored = ser.deserialize(new DataInputDeserializer(v3.getCopyOfBuffer()));
        assertThat(restored.params()).containsExactly(1.5f, -2f);
        assertThat(restored.ledger().accountant()).isEqualTo(Accountant.RDP);
        assertThat(restored.ledger().steps()).isEqualTo(2);

        byte[] bad = out.getCopyOfBuffer();
        bad[bad.length - 1] = 9;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ser.deserialize(new DataInputDeserializer(bad)))
                .hasMessageContaining("accountant code 9");
    }
}
