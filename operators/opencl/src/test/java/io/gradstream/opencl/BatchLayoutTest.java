package io.gradstream.opencl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The concatenated layout of a launch, without a device. */
class BatchLayoutTest {
    private static final int C = ClContext.CHUNK;

    @Test
    void shardsStartOnChunkBoundariesAndOwnWholeChunks() {
        BatchLayout l = BatchLayout.of(1, C, 0, C + 1, 37);
        assertThat(l.count()).isEqualTo(5);
        assertThat(new int[] {l.offset(0), l.offset(1), l.offset(2), l.offset(3), l.offset(4)})
                .containsExactly(0, C, 2 * C, 2 * C, 4 * C);
        assertThat(l.ends()).containsExactly(1, 2 * C, 2 * C, 3 * C + 1, 4 * C + 37);
        assertThat(l.padded()).isEqualTo(5 * C);
        assertThat(l.chunks()).isEqualTo(5);
        assertThat(l.chunkShard()).containsExactly(0, 1, 3, 3, 4);
        assertThat(l.length(3)).isEqualTo(C + 1);
    }

    @Test
    void anEmptyShardHasNoChunks() {
        BatchLayout l = BatchLayout.of(C, 0, 5);
        assertThat(l.firstChunk(1)).isEqualTo(1);
        assertThat(l.endChunk(1)).isEqualTo(1);
        assertThat(l.firstChunk(2)).isEqualTo(1);
        assertThat(l.endChunk(2)).isEqualTo(2);
    }

    @Test
    void anEmptyLaunchStillHasAChunkShardEntryForItsBuffer() {
        BatchLayout l = BatchLayout.of(0, 0);
        assertThat(l.padded()).isZero();
        assertThat(l.chunks()).isZero();
        assertThat(l.chunkShard()).hasSize(1);
    }

    @Test
    void aBatchBeyondOneLaunchIsRejectedWithItsSize() {
        assertThatThrownBy(() -> BatchLayout.of(1 << 30, 1 << 30, 1))
                .isInstanceOf(OpenClException.class)
                .hasMessageContaining("a batch of " + ((2L << 30) + C) + " elements exceeds one launch")
                .extracting(e -> ((OpenClException) e).status())
                .isEqualTo(-61) /* CL_INVALID_BUFFER_SIZE */;
    }

    @Test
    void negativeLengthsAreRejected() {
        assertThatThrownBy(() -> BatchLayout.of(3, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void paddedLengthRoundsUpToWholeChunks() {
        assertThat(BatchLayout.paddedLength(0)).isZero();
        assertThat(BatchLayout.paddedLength(1)).isEqualTo(C);
        assertThat(BatchLayout.paddedLength(C)).isEqualTo(C);
        assertThat(BatchLayout.paddedLength(Integer.MAX_VALUE)).isEqualTo(1L << 31);
    }
}
