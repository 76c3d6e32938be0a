package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.privacy.GaussianMechanism;
import io.gradstream.core.privacy.NoiseGenerator;
import io.gradstream.core.privacy.PrivacyLedger;
import io.gradstream.core.privacy.PrivacyPolicy;
import io.gradstream.core.privacy.ftrl.DpFtrl;
import io.gradstream.core.privacy.ftrl.FtrlConfig;
import io.gradstream.core.privacy.ftrl.TreeLedger;
import io.gradstream.core.privacy.ftrl.TreeVariant;
import io.gradstream.core.shard.AggregationPolicy;
import io.gradstream.core.shard.Contribution;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardPrivacy;
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
        // Format 5 appends, after the accountant's byte: no tree (1), no tree groups (4), sigma (8) and steps (8).
        bad[bad.length - 22] = 9;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ser.deserialize(new DataInputDeserializer(bad)))
                .hasMessageContaining("accountant code 9");
    }

    /** A DP-FTRL shard after {@code steps} steps of {@code perTree} steps per tree, with momentum (more state). */
    private static ShardState ftrlShard(int steps, long perTree, ShardState start) {
        PrivacyPolicy p = PrivacyPolicy.builder()
                .clipNorm(1)
                .noiseMultiplier(0.9)
                .delta(1e-5)
                .expectedPerStep(1)
                .populationSize(100)
                .build();
        ShardPrivacy dp = new ShardPrivacy(
                p,
                new GaussianMechanism(
                        new NoiseGenerator(
                                "serializer-test-seed-0123".getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                        0.9),
                0.5,
                new ShardKey("m", "w", 0),
                new ShardPrivacy.ClipCounter(),
                "c-0@1",
                new DpFtrl(new FtrlConfig(TreeVariant.HONAKER, 0.9, false, perTree)));
        SplittableRandom rnd = new SplittableRandom(5);
        var sgd = Optimizers.create("SGD", Map.of("lr", 0.1));
        ShardState s = start;
        long first = s.version();
        for (int t = 0; t < steps; t++) {
            float[] g = new float[s.params().length];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) rnd.nextGaussian();
            }
            ShardStepper.offer(
                    s,
                    new Contribution("a", first + t + 1, first + t, 1, g, Double.NaN, 0),
                    AggregationPolicy.sync(1),
                    sgd,
                    dp);
        }
        return s;
    }

    @Test
    void aDpFtrlShardRoundTripsMidTreeAndContinuesBitIdentically() throws Exception {
        ShardState s = ftrlShard(6, 4, ShardState.initial(new float[] {0.5f, -1f, 2f}));
        assertThat(s.ftrl().stepInTree()).isEqualTo(2);
        assertThat(s.treeLedger().completed()).hasSize(1);
        ShardStateSerializer ser = new ShardStateSerializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        ser.serialize(s, out);
        ShardState back = ser.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
        assertThat(back.ftrl()).isEqualTo(s.ftrl());
        assertThat(back.treeLedger()).isEqualTo(s.treeLedger());
        assertThat(ser.copy(s).ftrl()).isEqualTo(s.ftrl());
        assertThat(ser.copy(s).treeLedger()).isEqualTo(s.treeLedger());

        ShardState a = ftrlShard(5, 4, s);
        ShardState b = ftrlShard(5, 4, back);
        assertThat(b.params()).containsExactly(a.params());
        assertThat(b.ftrl()).isEqualTo(a.ftrl());
        assertThat(b.treeLedger().epsilon(1e-5)).isEqualTo(a.treeLedger().epsilon(1e-5));

        ShardState plain = adamShard(3, false);
        DataOutputSerializer o2 = new DataOutputSerializer(64);
        ser.serialize(plain, o2);
        ShardState plainBack = ser.deserialize(new DataInputDeserializer(o2.getCopyOfBuffer()));
        assertThat(plainBack.ftrl()).isNull();
        assertThat(plainBack.treeLedger()).isEqualTo(TreeLedger.EMPTY);
    }

    @Test
    void formatFourStillReadsWithoutATree() throws Exception {
        // Format 4, as the serializer before DP-FTRL wrote it: params {1.5, -2} at version 3, a PRV ledger of two
        // steps at (1.1, 0.01), no subscribers' copy.
        DataOutputSerializer v4 = new DataOutputSerializer(64);
        v4.writeInt(4);
        v4.writeLong(3);
        v4.writeInt(2);
        v4.write(new byte[] {0, 0, (byte) 0xC0, 0x3F, 0, 0, 0, (byte) 0xC0});
        v4.writeLong(3);
        v4.writeInt(0); // slots
        v4.writeInt(0); // scalars
        v4.writeBoolean(false); // no pending sum
        v4.writeLong(0);
        v4.writeDouble(0);
        v4.writeLong(0);
        v4.writeLong(0);
        v4.writeLong(0); // earliest
        v4.writeInt(0); // pending workers
        v4.writeInt(0); // watermarks
        v4.writeInt(1); // ledger phases
        v4.writeDouble(1.1);
        v4.writeDouble(0.01);
        v4.writeLong(2);
        v4.writeBoolean(false); // no published copy
        v4.writeByte(1); // PRV
        ShardStateSerializer ser = new ShardStateSerializer();
        ShardState restored = ser.deserialize(new DataInputDeserializer(v4.getCopyOfBuffer()));
        assertThat(restored.params()).containsExactly(1.5f, -2f);
        assertThat(restored.version()).isEqualTo(3);
        assertThat(restored.ledger().accountant()).isEqualTo(Accountant.PRV);
        assertThat(restored.ledger().steps()).isEqualTo(2);
        assertThat(restored.ftrl()).isNull();
        assertThat(restored.treeLedger()).isEqualTo(TreeLedger.EMPTY);
    }

    @Test
    void aCorruptTreeLedgerIsAnIoException() throws Exception {
        ShardStateSerializer ser = new ShardStateSerializer();
        DataOutputSerializer out = new DataOutputSerializer(64);
        ser.serialize(adamShard(2, false), out);
        byte[] bad = out.getCopyOfBuffer();
        // current steps 5 with a NaN sigma
        bad[bad.length - 1] = 5;
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> ser.deserialize(new DataInputDeserializer(bad)))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageContaining("corrupt shard state");
    }
}
