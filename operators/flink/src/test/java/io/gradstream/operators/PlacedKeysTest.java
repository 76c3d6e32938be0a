package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.ShardPlacement;
import java.util.Arrays;
import java.util.Map;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.junit.jupiter.api.Test;

class PlacedKeysTest {
    private static final int M = 128;

    @Test
    void aPlacedKeyLandsInItsTargetKeyGroupAndParsesToItsShard() {
        PlacedKeys keys = new PlacedKeys(M);
        for (int shard = 0; shard < 300; shard++) {
            String shardKey = "model/layer." + (shard % 7) + "/" + shard;
            int target = (shard * 37) % M;
            String placed = keys.placed(shardKey, target);
            assertThat(KeyGroupRangeAssignment.assignToKeyGroup(placed, M)).isEqualTo(target);
            assertThat(ShardPlacement.parse(placed).toString()).isEqualTo(shardKey);
            assertThat(keys.placed(shardKey, target)).isSameAs(placed);
        }
    }

    /**
     * For 1000 model names of one tensor, the subtasks Flink gives the placed keys hold the model's shards within
     * max/mean 1.0 on 2, 4 and 8 subtasks, where the plain keys' hash placement varies with the name (printed:
     * median, 90th percentile and max of its max/mean over the names).
     */
    @Test
    void placedKeysSpreadEveryModelWhereHashPlacementDependsOnTheName() {
        for (int n : new int[] {16, 64}) {
            for (int p : new int[] {2, 4, 8}) {
                double[] hashed = new double[1000];
                for (int i = 0; i < hashed.length; i++) {
                    String model = "model-" + i;
                    ShardPlacement placement =
                            ShardPlacement.of(model, Map.of("w", new TensorLayout("w", new int[] {n}, 1)), M);
                    int[] placed = new int[p];
                    int[] hash = new int[p];
                    for (int s = 0; s < n; s++) {
                        String key = model + "/w/" + s;
                        String routed = PlacedKeys.find(key, placement.keyGroup("w", s), M);
                        placed[KeyGroupRangeAssignment.assignKeyToParallelOperator(routed, M, p)]++;
                        hash[KeyGroupRangeAssignment.assignKeyToParallelOperator(key, M, p)]++;
                    }
                    assertThat(skew(placed)).as("%s on %d subtasks", model, p).isEqualTo(1.0);
                    hashed[i] = skew(hash);
                }
                Arrays.sort(hashed);
                System.out.printf(
                        "hash placement, %d shards on %d subtasks, 1000 model names: max/mean median %.2f, p90 %.2f,"
                                + " max %.2f%n",
                        n, p, hashed[500], hashed[900], hashed[999]);
            }
        }
    }

    private static double skew(int[] counts) {
        int max = Arrays.stream(counts).max().orElse(0);
        return max / (Arrays.stream(counts).sum() / (double) counts.length);
    }
}
