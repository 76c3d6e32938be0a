package io.gradstream.model;

import static io.gradstream.model.ModelRecords.SMALL;
import static io.gradstream.model.ModelRecords.fp32;
import static io.gradstream.model.ModelRecords.gradient;
import static io.gradstream.model.ModelRecords.spec;
import static io.gradstream.model.ModelRecords.tensor;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.InitRule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Offering an admitted gradient to a shard: who starts the shard, and what the step sees. */
class ShardOfferTest {
    private static final ModelConfig ZEROS =
            ModelConfig.of("m", spec(InitRule.ZEROS, 64, tensor("w", 10, 10)), "control-0@0", SMALL, name -> null);
    private static final ModelConfig EXPLICIT =
            ModelConfig.of("m", spec(InitRule.EXPLICIT, 64, tensor("w", 10, 10)), "control-0@1", SMALL, name -> null);

    private final GradientAdmission admission = new GradientAdmission(SMALL);
    private final List<float[]> started = new ArrayList<>();

    private GradientAdmission.Contribute contribution(ModelConfig config, long baseVersion, float value) {
        return contribution(config, baseVersion, value, 7);
    }

    private GradientAdmission.Contribute contribution(
            ModelConfig config, long baseVersion, float value, long workerStep) {
        float[] g = new float[64];
        Arrays.fill(g, value);
        GradientBatch b = gradient("m", "w", 0, fp32(g))
                .setBaseVersion(baseVersion)
                .setWorkerStep(workerStep)
                .build();
        var parsed = (GradientAdmission.Parsed) admission.decode(ModelRecords.key(b), ModelRecords.bytes(b));
        return (GradientAdmission.Contribute) admission.admit(parsed, config);
    }

    private ShardState fresh(float[] values) {
        started.add(values);
        return ShardState.initial(values);
    }

    @Test
    void aShardOfAnExplicitModelWaitsForItsInitAndNothingIsStarted() {
        ShardOffer.Offered o = ShardOffer.offer(null, contribution(EXPLICIT, 0, 1f), EXPLICIT, this::fresh);

        assertThat(o.outcome()).isInstanceOf(ShardStepper.Rejected.class);
        assertThat(((ShardStepper.Rejected) o.outcome()).code()).isEqualTo(RejectCode.NOT_INITIALIZED);
        assertThat(o.state()).isNull();
        assertThat(started).isEmpty();
    }

    @Test
    void aRuleInitialisedShardStartsFromItsRuleOnItsFirstGradientAndSteps() {
        ShardOffer.Offered o = ShardOffer.offer(null, contribution(ZEROS, 0, 1f), ZEROS, this::fresh);

        assertThat(started).hasSize(1);
        assertThat(started.get(0)).hasSize(64).containsOnly(0f);
        assertThat(o.outcome()).isInstanceOf(ShardStepper.Applied.class);
        assertThat(o.state().version()).isEqualTo(1);
        assertThat(o.staleness()).isZero();
    }

    @Test
    void anExistingShardIsSteppedInPlaceAndItsStalenessReported() {
        ShardState state = ShardState.initial(new float[64]);
        ShardOffer.offer(state, contribution(ZEROS, 0, 1f), ZEROS, this::fresh);
        ShardOffer.Offered stale = ShardOffer.offer(state, contribution(ZEROS, 0, 2f, 8), ZEROS, this::fresh);
        ShardOffer.Offered o = ShardOffer.offer(state, contribution(ZEROS, 1, 2f, 9), ZEROS, this::fresh);

        assertThat(started).isEmpty();
        assertThat(stale.staleness()).isEqualTo(1);
        assertThat(((ShardStepper.Rejected) stale.outcome()).code())
                .as("SYNC steps only the current version")
                .isEqualTo(RejectCode.STALE);
        assertThat(o.state()).isSameAs(state);
        assertThat(o.staleness()).isZero();
        assertThat(state.version()).isEqualTo(2);
    }
}
