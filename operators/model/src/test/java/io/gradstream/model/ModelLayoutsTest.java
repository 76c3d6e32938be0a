package io.gradstream.model;

import static io.gradstream.model.ModelRecords.SMALL;
import static io.gradstream.model.ModelRecords.spec;
import static io.gradstream.model.ModelRecords.tensor;
import static io.gradstream.model.ModelRecords.withModelBounds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.InitRule;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacySpec;
import io.gradstream.schemas.TensorSpec;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How a spec is cut into shards, and every size bound checked before a layout exists. */
class ModelLayoutsTest {

    private static ModelSpec model(int shardSize, TensorSpec... tensors) {
        return spec(InitRule.ZEROS, shardSize, tensors);
    }

    @Test
    void aNormalSpecIsCutInShards() {
        Map<String, TensorLayout> layouts =
                ModelLayouts.of(model(64, tensor("w", 10, 10), tensor("b", 3), tensor("e", 4, 8, 2)), SMALL);
        assertThat(layouts).containsOnlyKeys("w", "b", "e");
        assertThat(layouts.keySet()).containsExactly("w", "b", "e"); // the spec's order

        TensorLayout w = layouts.get("w");
        assertThat(w).isEqualTo(new TensorLayout("w", new int[] {10, 10}, 64));
        assertThat(w.elements()).isEqualTo(100);
        assertThat(w.shardCount()).isEqualTo(2);
        assertThat(w.shardLength(0)).isEqualTo(64);
        assertThat(w.shardLength(1)).isEqualTo(36);
        assertThat(w.shardOffset(1)).isEqualTo(64);

        TensorLayout b = layouts.get("b");
        assertThat(b.shardCount()).isEqualTo(1);
        assertThat(b.shardLength(0)).isEqualTo(3);

        TensorLayout e = layouts.get("e");
        assertThat(e.shape()).containsExactly(4, 8, 2);
        assertThat(e.shardCount()).isEqualTo(1);
        assertThat(e.shardLength(0)).isEqualTo(64);

        assertThatThrownBy(() -> layouts.put("x", w)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void exactMultiplesOfTheShardSizeHaveNoShortShard() {
        TensorLayout t = ModelLayouts.of(model(8, tensor("t", 4, 8)), SMALL).get("t");
        assertThat(t.shardCount()).isEqualTo(4);
        for (int s = 0; s < 4; s++) {
            assertThat(t.shardLength(s)).isEqualTo(8);
        }
    }

    @Test
    void theDefaultLimitsAllowAModelOfDefaultShards() {
        Map<String, TensorLayout> layouts = ModelLayouts.of(model(65536, tensor("emb", 50_000, 512)));
        assertThat(layouts.get("emb").shardCount()).isEqualTo((50_000 * 512 + 65535) / 65536);
    }

    @Test
    void limitsAreInclusive() {
        // 1024 elements in 16 shards of 64: every bound of SMALL reached exactly.
        Map<String, TensorLayout> layouts = ModelLayouts.of(
                model(SMALL.shardElements(), tensor("w", 960), tensor("x".repeat(SMALL.nameLength()), 64)), SMALL);
        assertThat(layouts.values().stream().mapToInt(TensorLayout::shardCount).sum())
                .isEqualTo(SMALL.modelShards());
        assertThat(layouts.values().stream().mapToLong(TensorLayout::elements).sum())
                .isEqualTo(SMALL.modelElements());
    }

    @Test
    void aShardSizeAboveShardElementsIsRefused() {
        assertThatThrownBy(() -> ModelLayouts.of(model(SMALL.shardElements() + 1, tensor("w", 3)), SMALL))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gradstream.limits.shard-elements = " + SMALL.shardElements());
        assertThatThrownBy(() -> ModelLayouts.of(model(Limits.MAX_SHARD_ELEMENTS + 1, tensor("w", 3))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gradstream.limits.shard-elements");
    }

    @Test
    void aModelAboveModelElementsIsRefused() {
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("w", 960), tensor("b", 65)), SMALL))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gradstream.limits.model-elements = " + SMALL.modelElements())
                .hasMessageContaining("tensor b");
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("w", 1025)), SMALL))
                .hasMessageContaining("gradstream.limits.model-elements");
    }

    @Test
    void aModelAboveModelShardsIsRefused() {
        assertThatThrownBy(() -> ModelLayouts.of(model(1, tensor("w", 10), tensor("b", 7)), SMALL))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gradstream.limits.model-shards = " + SMALL.modelShards())
                .hasMessageContaining("tensor b");
        // 2^31 - 1 shards of one element, with room for the elements: refused by the shard count.
        Limits roomy = withModelBounds(Limits.DEFAULT, Limits.MAX_SHARD_ELEMENTS, 1 << 16, 1L << 40);
        assertThatThrownBy(() -> ModelLayouts.of(model(1, tensor("w", Integer.MAX_VALUE)), roomy))
                .hasMessageContaining("gradstream.limits.model-shards");
    }

    @Test
    void aTensorNameLongerThanNameLengthIsRefused() {
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("x".repeat(SMALL.nameLength() + 1), 3)), SMALL))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gradstream.limits.name-length = " + SMALL.nameLength());
    }

    @Test
    void shapesWhoseProductOverflowsAreRefusedUnderTheDefaultLimits() {
        int max = Integer.MAX_VALUE;
        for (TensorSpec t : List.of(
                tensor("t", 65536, 65536),
                tensor("t", max, max, max),
                tensor("t", 1 << 20, 1 << 20, 1 << 24),
                tensor("t", 1 << 30, 1 << 30, 1 << 30, 8))) {
            assertThatThrownBy(() -> ModelLayouts.of(model(65536, t)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("gradstream.limits.model-elements");
        }
    }

    @Test
    void shapesWhoseProductOverflowsAreRefusedUnderTheLargestModelElements() {
        Limits roomy = withModelBounds(Limits.DEFAULT, Limits.MAX_SHARD_ELEMENTS, 1 << 16, 1L << 40);
        int shardSize = Limits.MAX_SHARD_ELEMENTS;
        assertThatThrownBy(() -> ModelLayouts.of(model(shardSize, tensor("t", 1 << 20, 1 << 20, 1 << 24)), roomy))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gradstream.limits.model-elements");
        assertThatThrownBy(() -> ModelLayouts.of(
                        model(shardSize, tensor("t", 1 << 20, 1 << 20, (1 << 23) + 1), tensor("u", 1 << 30, 1 << 10)),
                        roomy))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gradstream.limits.model-elements");
    }

    @Test
    void duplicateTensorNamesAreRefused() {
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("w", 3), tensor("b", 2), tensor("w", 3)), SMALL))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tensor w is listed twice");
    }

    @Test
    void malformedSpecsAreRefused() {
        assertThatThrownBy(() -> ModelLayouts.of(model(64), SMALL)).hasMessageContaining("no tensors");
        assertThatThrownBy(() -> ModelLayouts.of(model(0, tensor("w", 3)), SMALL))
                .hasMessageContaining("shardSize must be > 0");
        assertThatThrownBy(() -> ModelLayouts.of(model(-5, tensor("w", 3)), SMALL))
                .hasMessageContaining("shardSize must be > 0");
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("w", 3, -1)), SMALL))
                .hasMessageContaining("non-positive dimension");
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("w", 0)), SMALL))
                .hasMessageContaining("non-positive dimension");
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("w")), SMALL))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("shape");
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("a/b", 3)), SMALL))
                .hasMessageContaining("must not contain '/'");
        assertThatThrownBy(() -> ModelLayouts.of(model(64, tensor("", 3)), SMALL))
                .hasMessageContaining("must not be empty");
    }

    @Test
    void clipThresholdsSplitTheClipNormOverEveryShard() {
        ModelSpec spec = ModelSpec.newBuilder(model(64, tensor("w", 10, 10), tensor("b", 3)))
                .setPrivacy(PrivacySpec.newBuilder()
                        .setClipNorm(2.0)
                        .setNoiseMultiplier(1.0)
                        .setDelta(1e-5)
                        .setExpectedPerStep(2.0)
                        .setPopulationSize(1000L)
                        .setSeedEnv("SEED")
                        .build())
                .build();
        Map<String, double[]> c = ModelLayouts.clipThresholds(spec);
        assertThat(c).containsOnlyKeys("w", "b");
        assertThat(c.get("w")).hasSize(2);
        assertThat(c.get("b")).hasSize(1);
        // C_s = C sqrt(length_s / 103): the shards' squares add up to C^2.
        assertThat(c.get("w")[0]).isCloseTo(2.0 * Math.sqrt(64 / 103.0), within(1e-12));
        assertThat(c.get("w")[1]).isCloseTo(2.0 * Math.sqrt(36 / 103.0), within(1e-12));
        double sum = 0;
        for (double[] shards : c.values()) {
            for (double s : shards) {
                sum += s * s;
            }
        }
        assertThat(sum).isCloseTo(4.0, within(1e-12));
        assertThatThrownBy(() -> ModelLayouts.clipThresholds(model(64, tensor("w", 3))))
                .hasMessageContaining("no privacy");
    }
}
