package io.gradstream.core.privacy.ftrl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The dyadic decomposition of a prefix and the injectivity of the node noise keys. */
class TreeNodesTest {

    @Test
    void coveringNodesTileThePrefixExactly() {
        for (long t = 1; t <= 2048; t++) {
            // Walk from the highest set bit down: each node must start right after the previous one ends.
            long next = 1;
            for (int h = TreeNodes.MAX_LEVELS - 1; h >= 0; h--) {
                if ((t >>> h & 1) == 0) {
                    continue;
                }
                long j = TreeNodes.coveringIndex(t, h);
                assertThat(TreeNodes.firstStep(h, j)).isEqualTo(next);
                assertThat(TreeNodes.lastStep(h, j) - TreeNodes.firstStep(h, j) + 1)
                        .isEqualTo(1L << h);
                next = TreeNodes.lastStep(h, j) + 1;
            }
            assertThat(next - 1).as("prefix [1, %d] covered", t).isEqualTo(t);
            assertThat(TreeNodes.nodesInPrefix(t)).isEqualTo(Long.bitCount(t));
        }
        assertThatThrownBy(() -> TreeNodes.coveringIndex(6, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TreeNodes.coveringIndex(0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void nodeVersionsAreDistinctAndAboveEveryDpSgdVersion() {
        Set<Long> seen = new HashSet<>();
        for (int h = 0; h < TreeNodes.MAX_LEVELS; h++) {
            long maxIndex = (TreeNodes.MAX_STEPS_PER_TREE >>> h) - 1;
            Set<Long> indices = new HashSet<>(List.of(0L, 1L, 2L, 3L, 1000L, maxIndex - 1, maxIndex));
            for (long j : indices) {
                if (j < 0 || j > maxIndex) {
                    continue;
                }
                long v = TreeNodes.noiseVersion(h, j);
                assertThat(v).isGreaterThanOrEqualTo(TreeNodes.NODE_VERSION_BIT);
                assertThat(v).isPositive();
                assertThat(seen.add(v)).as("version of (%d, %d) is new", h, j).isTrue();
            }
        }
        // The last step of a full tree still has a key; one beyond does not.
        assertThat(TreeNodes.noiseVersion(0, TreeNodes.MAX_STEPS_PER_TREE - 1)).isPositive();
        assertThatThrownBy(() -> TreeNodes.noiseVersion(0, TreeNodes.MAX_STEPS_PER_TREE))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> TreeNodes.noiseVersion(TreeNodes.MAX_LEVELS, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void treeAndModelNameMapInjectivelyOntoTheModelSlot() {
        // Names that contain the separator and digits: tree 1 of "2/x" must differ from tree 12 of "x" and so on.
        String[] names = {"x", "2/x", "/x", "1/2/x", "m/topic-0@17", ""};
        long[] trees = {0, 1, 2, 12, 21, Long.MAX_VALUE};
        Set<String> seen = new HashSet<>();
        for (String name : names) {
            for (long tree : trees) {
                assertThat(seen.add(TreeNodes.noiseModel(name, tree)))
                        .as("(%s, %d)", name, tree)
                        .isTrue();
            }
        }
        assertThat(TreeNodes.noiseModel("m/inc", 3)).isEqualTo("gradstream/dp-ftrl/v1/tree=3/m/inc");
    }

    @Test
    void honakerWeights() {
        assertThat(TreeNodes.honakerWeight(0)).isEqualTo(1.0);
        assertThat(TreeNodes.honakerWeight(1)).isEqualTo(1 / 1.5);
        assertThat(TreeNodes.honakerWeight(2)).isEqualTo(1 / 1.75);
        assertThat(TreeNodes.honakerWeight(40)).isCloseTo(0.5, org.assertj.core.api.Assertions.within(1e-12));
    }
}
