package io.gradstream.model;

import static io.gradstream.model.ModelRecords.SMALL;
import static io.gradstream.model.ModelRecords.bytes;
import static io.gradstream.model.ModelRecords.fp32;
import static io.gradstream.model.ModelRecords.gradient;
import static io.gradstream.model.ModelRecords.key;
import static io.gradstream.model.ModelRecords.payload;
import static io.gradstream.model.ModelRecords.spec;
import static io.gradstream.model.ModelRecords.tensor;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.privacy.PrivacyLedger;
import io.gradstream.core.shard.ParameterDeltas;
import io.gradstream.core.shard.PendingStep;
import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.UpdateKind;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A model's compression settings: taken by CREATE only and checked there, gradients in an encoding the model does not
 * accept refused with their own reason, and the delta stream's full and delta updates.
 */
class CompressionTest {
    private static final ModelSpec SPEC = spec(InitRule.ZEROS, 64, tensor("w", 100));

    private final ControlLog log = new ControlLog(SMALL, name -> null);

    /** The models that exist, with their compression settings. */
    private static final class Models implements ControlLog.Models {
        final Map<String, ModelSpec> specs = new HashMap<>();
        final Map<String, CompressionSpec> compression = new HashMap<>();

        @Override
        public ModelSpec spec(String model) {
            return specs.get(model);
        }

        @Override
        public String incarnation(String model) {
            return "control-0@0";
        }

        @Override
        public int count() {
            return specs.size();
        }

        @Override
        public CompressionSpec compression(String model) {
            return compression.get(model);
        }

        void apply(ControlLog.Change change) {
            if (change instanceof ControlLog.Created c) {
                specs.put(c.model(), c.spec());
                compression.put(c.model(), c.config().compressionSpec());
            }
        }
    }

    private static CompressionSpec topKDeltas(List<Encoding> in) {
        return CompressionSpec.newBuilder()
                .setInputEncodings(in)
                .setDeltaEncoding(Encoding.TOPK)
                .setDeltaTopKFraction(0.1)
                .setSnapshotEvery(4)
                .build();
    }

    private static byte[] command(CommandType type, CompressionSpec c) {
        return bytes(ControlCommand.newBuilder()
                .setModelId("m")
                .setType(type)
                .setSpec(type == CommandType.CREATE ? SPEC : null)
                .setCompression(c)
                .build());
    }

    private static String invalid(ControlLog.Change change) {
        assertThat(change).isInstanceOf(ControlLog.Invalid.class);
        ControlLog.Invalid i = (ControlLog.Invalid) change;
        assertThat(i.code()).isEqualTo(RejectCode.INVALID_COMMAND);
        return i.detail();
    }

    @Test
    void createTakesTheSettingsAndOtherCommandsMayNotChangeThem() throws Exception {
        Models models = new Models();
        CompressionSpec c = topKDeltas(List.of(Encoding.TOPK));
        ControlLog.Change created = log.read(command(CommandType.CREATE, c), "control-0@1", models);
        assertThat(created).isInstanceOf(ControlLog.Created.class);
        Compression settings = ((ControlLog.Created) created).config().compression();
        assertThat(settings.inputEncodings()).containsExactly(Encoding.TOPK);
        assertThat(settings.deltaEncoding()).isEqualTo(Encoding.TOPK);
        assertThat(settings.snapshotEvery()).isEqualTo(4);
        models.apply(created);

        assertThat(log.read(command(CommandType.CREATE, c), "control-0@2", models))
                .isInstanceOf(ControlLog.NoOp.class);
        assertThat(invalid(log.read(command(CommandType.CREATE, null), "control-0@3", models)))
                .contains("other compression settings");
        assertThat(invalid(log.read(command(CommandType.UPDATE_HYPERPARAMETERS, c), "control-0@4", models)))
                .contains("compression is fixed by the model's CREATE");
        assertThat(log.read(command(CommandType.SNAPSHOT, null), "control-0@5", models))
                .isEqualTo(new ControlLog.Snapshot("m"));
        // An update keeps the settings.
        ControlLog.Change updated = log.read(
                bytes(ControlCommand.newBuilder()
                        .setModelId("m")
                        .setType(CommandType.UPDATE_HYPERPARAMETERS)
                        .setHyperparameters(Map.of("lr", 0.5))
                        .build()),
                "control-0@6",
                models);
        assertThat(((ControlLog.Updated) updated).config().compression()).isEqualTo(settings);

        Models plain = new Models();
        plain.apply(log.read(command(CommandType.CREATE, null), "control-0@7", plain));
        assertThat(invalid(log.read(command(CommandType.SNAPSHOT, null), "control-0@8", plain)))
                .contains("has no delta stream");
        assertThat(invalid(log.read(command(CommandType.SNAPSHOT, null), "control-0@9", new Models())))
                .contains("no model 'm'");
    }

    @Test
    void invalidSettingsAreRefusedNamingTheField() throws Exception {
        Map<CompressionSpec, String> bad = Map.of(
                CompressionSpec.newBuilder().setInputEncodings(List.of()).build(), "inputEncodings is empty",
                CompressionSpec.newBuilder().setDeltaEncoding(Encoding.FP32).build(), "deltaEncoding FP32",
                CompressionSpec.newBuilder().setDeltaTopKFraction(0).build(), "deltaTopKFraction",
                CompressionSpec.newBuilder().setDeltaTopKFraction(Double.NaN).build(), "deltaTopKFraction",
                CompressionSpec.newBuilder().setDeltaTopKFraction(1.5).build(), "deltaTopKFraction",
                CompressionSpec.newBuilder().setSnapshotEvery(0).build(), "snapshotEvery",
                CompressionSpec.newBuilder().setSnapshotEvery(2_000_000).build(), "snapshotEvery");
        for (var e : bad.entrySet()) {
            assertThat(invalid(log.read(command(CommandType.CREATE, e.getKey()), "control-0@1", new Models())))
                    .as("%s", e.getKey())
                    .contains(e.getValue());
        }
        assertThat(Compression.topK(0.1, 30)).isEqualTo(3);
        assertThat(Compression.topK(0.001, 30)).isEqualTo(1);
        assertThat(Compression.topK(1, 30)).isEqualTo(30);
    }

    @Test
    void aGradientInAnEncodingTheModelDoesNotAcceptIsRefusedWithItsOwnReason() {
        ModelConfig config = ModelConfig.of(
                "m", SPEC, "control-0@0", SMALL, n -> null, null, topKDeltas(List.of(Encoding.TOPK, Encoding.BF16)));
        GradientAdmission admission = new GradientAdmission(SMALL);
        float[] g = new float[64];
        g[3] = 1;
        GradientBatch fp32 = gradient("m", "w", 0, fp32(g)).build();
        GradientBatch topk = gradient(
                        "m",
                        "w",
                        0,
                        payload(Encoding.TOPK, 64, PayloadCodecs.topK(2).encode(g)))
                .build();
        var refused = admission.admit((GradientAdmission.Parsed) admission.decode(key(fp32), bytes(fp32)), config);
        assertThat(refused).isInstanceOf(GradientAdmission.Refused.class);
        assertThat(((GradientAdmission.Refused) refused).code()).isEqualTo(RejectCode.ENCODING_NOT_ALLOWED);
        assertThat(((GradientAdmission.Refused) refused).detail())
                .contains("FP32")
                .contains("TOPK");
        assertThat(admission.admit((GradientAdmission.Parsed) admission.decode(key(topk), bytes(topk)), config))
                .isInstanceOf(GradientAdmission.Contribute.class);
        // A TOPK payload that does not decode is still UNDECODABLE: the encoding is accepted, the bytes are not.
        byte[] broken = PayloadCodecs.topK(2).encode(g);
        broken[4] = 99; // the first index, beyond the shard
        GradientBatch bad =
                gradient("m", "w", 0, payload(Encoding.TOPK, 64, broken)).build();
        var undecodable = admission.admit((GradientAdmission.Parsed) admission.decode(key(bad), bytes(bad)), config);
        assertThat(((GradientAdmission.Refused) undecodable).code()).isEqualTo(RejectCode.UNDECODABLE);
        // INIT values are not gradients: any encoding.
        GradientBatch init =
                gradient("m", "w", 0, fp32(g)).setKind(GradientKind.INIT).build();
        assertThat(admission.admit((GradientAdmission.Parsed) admission.decode(key(init), bytes(init)), config))
                .isInstanceOf(GradientAdmission.Refused.class)
                .extracting(r -> ((GradientAdmission.Refused) r).code())
                .isEqualTo(RejectCode.ALREADY_INITIALIZED); // the rule-initialised model refuses INIT, not FP32
    }

    @Test
    void theDeltaStreamSendsDeltasBetweenSnapshotsAndASubscriberFollowsBitForBit() {
        ModelConfig config = ModelConfig.of("m", SPEC, "control-0@0", SMALL, n -> null, null, topKDeltas(null));
        ShardKey key = new ShardKey("m", "w", 0);
        float[] params = new float[64];
        // Version 0 went out in full at CREATE.
        float[] published = UpdateEncoder.publishedAfterSnapshot(params, config);
        float[] subscriber = params.clone();
        UpdateEncoder encoder = new UpdateEncoder();
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(1);
        ShardState state = null;
        for (int v = 1; v <= 9; v++) {
            for (int i = 0; i < 64; i++) {
                params[i] += (float) rnd.nextGaussian(); // a step
            }
            state = new ShardState(params, new OptimizerState(), v, new PendingStep(), Map.of(), PrivacyLedger.EMPTY);
            state.published(published);
            ParameterUpdate u = encoder.encode(key, state, config, null);
            published = state.published();
            assertThat(u.getVersion()).isEqualTo(v);
            if (v % 4 == 0) {
                assertThat(u.getKind()).as("v%d", v).isEqualTo(UpdateKind.FULL);
                assertThat(u.getBaseVersion()).isEqualTo(-1);
                assertThat(u.getPayload().getEncoding()).isEqualTo(Encoding.FP32);
                subscriber = Encodings.decoder(Encoding.FP32).decode(array(u), 64);
                assertThat(published).containsExactly(params);
            } else {
                assertThat(u.getKind()).as("v%d", v).isEqualTo(UpdateKind.DELTA);
                assertThat(u.getBaseVersion()).isEqualTo(v - 1);
                assertThat(u.getPayload().getEncoding()).isEqualTo(Encoding.TOPK);
                assertThat(u.getPayload().getData().remaining()).isEqualTo(4 + 8 * 7); // k = ceil(0.1 x 64)
                ParameterDeltas.apply(
                        subscriber, 0, Encodings.decoder(Encoding.TOPK).decode(array(u), 64), 64);
                assertThat(published).isNotEqualTo(params); // 7 of 64 changes sent: the rest waits in the residual
            }
            assertThat(subscriber).as("v%d", v).containsExactly(published);
        }
        // A forced snapshot (a SNAPSHOT command) at the current version resets the copy to the parameters.
        ParameterUpdate forced = encoder.encode(key, state, config, null, true);
        assertThat(forced.getKind()).isEqualTo(UpdateKind.FULL);
        assertThat(forced.getVersion()).isEqualTo(9);
        assertThat(state.published()).containsExactly(params);
        // A shard whose copy is unknown (restored from a release before delta streams) sends a full snapshot.
        state.published(null);
        assertThat(encoder.encode(key, state, config, null).getKind()).isEqualTo(UpdateKind.FULL);
        assertThat(state.published()).containsExactly(params);
        // A model without a delta stream publishes full updates and keeps no copy.
        ShardState plain = ShardState.initial(new float[64]);
        ParameterUpdate full = encoder.encode(key, plain, ModelConfig.of("m", SPEC), null);
        assertThat(full.getKind()).isEqualTo(UpdateKind.FULL);
        assertThat(plain.published()).isNull();
    }

    private static byte[] array(ParameterUpdate u) {
        var d = u.getPayload().getData().duplicate();
        byte[] b = new byte[d.remaining()];
        d.get(b);
        return b;
    }
}
