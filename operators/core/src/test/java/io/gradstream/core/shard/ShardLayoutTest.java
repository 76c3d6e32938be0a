package io.gradstream.core.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ShardLayoutTest {

    @Test
    void tensorsAreCutIntoShardsWithTheRestInTheLast() {
        TensorLayout t = new TensorLayout("w", new int[] {10, 7}, 32);
        assertThat(t.elements()).isEqualTo(70);
        assertThat(t.shardCount()).isEqualTo(3);
        assertThat(t.shardLength(0)).isEqualTo(32);
        assertThat(t.shardLength(2)).isEqualTo(6);
        assertThat(t.shardOffset(2)).isEqualTo(64);
        assertThatThrownBy(() -> t.shardLength(3)).hasMessageContaining("shards 0..2");
        assertThatThrownBy(() -> new TensorLayout("w", new int[] {3, 0}, 8)).hasMessageContaining("non-positive");
        assertThatThrownBy(() -> new TensorLayout("w", new int[] {3}, 0)).hasMessageContaining("shardSize");
    }

    @Test
    void keysRoundTripAndRejectSlashes() {
        ShardKey k = new ShardKey("mnist", "layer1.weight", 12);
        assertThat(k.toString()).isEqualTo("mnist/layer1.weight/12");
        assertThat(ShardKey.parse(k.toString())).isEqualTo(k);
        assertThatThrownBy(() -> new ShardKey("a/b", "w", 0)).hasMessageContaining("'a/b'");
        assertThatThrownBy(() -> ShardKey.parse("a/w/x")).hasMessageContaining("numeric");
        assertThatThrownBy(() -> ShardKey.parse("aw0")).hasMessageContaining("model/tensor/shard");
    }

    @Test
    void initialisationIsAPureFunctionOfSeedAndKey() {
        ShardKey k = new ShardKey("m", "w", 3);
        float[] a = ShardInitializer.initialValues(ShardInitializer.Rule.NORMAL, 7, 0.5, 0, k, 10001);
        float[] b = ShardInitializer.initialValues(ShardInitializer.Rule.NORMAL, 7, 0.5, 0, k, 10001);
        float[] other = ShardInitializer.initialValues(
                ShardInitializer.Rule.NORMAL, 7, 0.5, 0, new ShardKey("m", "w", 4), 10001);
        assertThat(a).containsExactly(b);
        assertThat(a).isNotEqualTo(other);
        double mean = 0;
        double sq = 0;
        for (float x : a) {
            mean += x;
            sq += x * x;
        }
        mean /= a.length;
        double std = Math.sqrt(sq / a.length - mean * mean);
        assertThat(mean).isBetween(-0.03, 0.03);
        assertThat(std).isBetween(0.48, 0.52);
        float[] u = ShardInitializer.initialValues(ShardInitializer.Rule.UNIFORM, 1, -0.1, 0.2, k, 5000);
        for (float x : u) {
            assertThat(x).isBetween(-0.1f, 0.2f);
        }
        assertThat(ShardInitializer.initialValues(ShardInitializer.Rule.ZEROS, 1, 0, 0, k, 4))
                .containsExactly(0f, 0f, 0f, 0f);
        assertThatThrownBy(() -> ShardInitializer.initialValues(ShardInitializer.Rule.UNIFORM, 1, 1, 1, k, 3))
                .hasMessageContaining("low < high");
    }
}
