package io.gradstream.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.TensorLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ShardPlacementTest {
    private static final int M = 128;

    /** Shards per subtask when ordinals 0..n-1 are placed from {@code offset}. */
    private static int[] perSubtask(int offset, int n, int p) {
        int[] count = new int[p];
        for (int j = 0; j < n; j++) {
            count[ShardPlacement.subtask(ShardPlacement.keyGroup(offset, j, n, M), p, M)]++;
        }
        return count;
    }

    @Test
    void everySubtaskHoldsWithinOneRunOfKeyGroupsShareForEveryParallelismAndShardCount() {
        for (int offset : new int[] {0, 1, 77, 127}) {
            for (int p = 1; p <= M; p++) {
                int longRun = (M + p - 1) / p;
                int shortRun = M / p;
                for (int n = 1; n <= 512; n++) {
                    int[] count = perSubtask(offset, n, p);
                    int max = 0;
                    int min = Integer.MAX_VALUE;
                    for (int c : count) {
                        max = Math.max(max, c);
                        min = Math.min(min, c);
                    }
                    // A run of L key groups holds floor(L*n/M) or ceil(L*n/M) shards (see the class comment).
                    assertThat(max)
                            .as("offset %d p %d n %d", offset, p, n)
                            .isLessThanOrEqualTo((longRun * n + M - 1) / M);
                    assertThat(min).as("offset %d p %d n %d", offset, p, n).isGreaterThanOrEqualTo(shortRun * n / M);
                    if (M % p == 0) {
                        // Then max/mean <= ceil(n/p)/(n/p): at most one shard above the mean.
                        assertThat(max).isLessThanOrEqualTo((n + p - 1) / p);
                        assertThat(min).isGreaterThanOrEqualTo(n / p);
                    }
                }
            }
        }
    }

    @Test
    void sixteenAndSixtyFourShardsAreExactlyEvenOnTwoFourAndEightSubtasks() {
        for (int n : new int[] {16, 64}) {
            for (int p : new int[] {2, 4, 8}) {
                int[] count = perSubtask(ShardPlacement.offset("model-" + n, M), n, p);
                assertThat(count).containsOnly(n / p);
            }
        }
    }

    @Test
    void ordinalsRunOverTensorsInSpecOrder() {
        Map<String, TensorLayout> layouts = new LinkedHashMap<>();
        layouts.put("w", new TensorLayout("w", new int[] {10, 10}, 25)); // 4 shards
        layouts.put("b", new TensorLayout("b", new int[] {10}, 25)); // 1 shard
        layouts.put("v", new TensorLayout("v", new int[] {70}, 25)); // 3 shards
        ShardPlacement placement = ShardPlacement.of("m", layouts, M);
        assertThat(placement.shards()).isEqualTo(8);
        int offset = ShardPlacement.offset("m", M);
        assertThat(placement.keyGroup("w", 0)).isEqualTo(offset);
        assertThat(placement.keyGroup("b", 0)).isEqualTo(ShardPlacement.keyGroup(offset, 4, 8, M));
        assertThat(placement.keyGroup("v", 2)).isEqualTo(ShardPlacement.keyGroup(offset, 7, 8, M));
        assertThat(placement.keyGroup("v", 3)).isEqualTo(-1);
        assertThat(placement.keyGroup("x", 0)).isEqualTo(-1);
        assertThat(placement.keyGroup("w", -1)).isEqualTo(-1);
        assertThat(ShardPlacement.decode("m", placement.encode(), M)).isEqualTo(placement);
        assertThat(ShardPlacement.decode("m", placement.encode(), M).keyGroup("v", 2))
                .isEqualTo(placement.keyGroup("v", 2));
    }

    @Test
    void placedKeysParseToTheirShard() {
        assertThat(ShardPlacement.key("m/t/3", 0)).isEqualTo("m/t/3");
        assertThat(ShardPlacement.key("m/t/3", 41)).isEqualTo("m/t/3#41");
        assertThat(ShardPlacement.parse("m/t/3#41")).isEqualTo(new ShardKey("m", "t", 3));
        assertThat(ShardPlacement.parse("m#x/t#y/3")).isEqualTo(new ShardKey("m#x", "t#y", 3));
        assertThat(ShardPlacement.parse("m#x/t#y/3#5")).isEqualTo(new ShardKey("m#x", "t#y", 3));
        assertThatThrownBy(() -> ShardPlacement.parse("m/t/#5")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ShardPlacement.parse("m/t")).isInstanceOf(IllegalArgumentException.class);
    }
}
