package io.gradstream.operators;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.model.ShardPlacement;
import org.apache.flink.runtime.state.KeyGroupRangeAssignment;
import org.junit.jupiter.api.Test;

class PlacedKeysTest {
    @Test
    void aPlacedKeyLandsInItsTargetKeyGroupAndParsesToItsShard() {
        PlacedKeys keys = new PlacedKeys(128);
        for (int shard = 0; shard < 300; shard++) {
            String shardKey = "model/layer." + (shard % 7) + "/" + shard;
            int target = (shard * 37) % 128;
            String placed = keys.placed(shardKey, target);
            assertThat(KeyGroupRangeAssignment.assignToKeyGroup(placed, 128)).isEqualTo(target);
            assertThat(ShardPlacement.parse(placed).toString()).isEqualTo(shardKey);
            assertThat(keys.placed(shardKey, target)).isSameAs(placed);
        }
    }
}
