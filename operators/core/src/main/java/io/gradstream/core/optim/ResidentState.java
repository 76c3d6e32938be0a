package io.gradstream.core.optim;

import java.util.List;
import java.util.function.Predicate;

/**
 * A {@link StepBackend} that keeps shards' optimizer slots (Adam's moments, momentum buffers) between steps, so that a
 * step moves only parameters and gradient. The caller's {@link OptimizerState} stays the source of truth: after a
 * resident step its slot arrays are stale ("dirty" shards) until {@link #writeBack} copies the backend's values in,
 * which must happen before the state is checkpointed or stepped anywhere else.
 *
 * <p>A resident copy is used only while it is tagged with the state's {@code step} count; otherwise the state's own
 * arrays are loaded again. A backend that loses a dirty shard's slots (a device failure) cannot let anyone recompute
 * the step and throws {@link StateLostException}: the caller must fail and restore from its last checkpoint.
 */
public interface ResidentState {

    /** Keys of the shards whose newest slots live only in the backend. */
    List<String> dirtyKeys();

    /**
     * Copies the slots of shard {@code key} into {@code state}'s slot arrays if the backend holds newer ones; the copy
     * stays resident, now clean. Nothing happens for a shard the backend does not hold dirty.
     *
     * @throws StateLostException when the newest slots cannot be read back
     * @throws IllegalStateException when {@code state} is not the state the backend stepped (its step differs)
     */
    void writeBack(String key, OptimizerState state);

    /** Writes back every keyed step of {@code batch} (before it is stepped by someone else, e.g. on the CPU). */
    default void writeBack(List<ShardStep> batch) {
        for (ShardStep s : batch) {
            if (s.key() != null) {
                writeBack(s.key(), s.state());
            }
        }
    }

    /** Forgets the shards whose keys match, dirty or not: their state was deleted. */
    void discard(Predicate<String> keys);

    /** The newest optimizer slots of some shards existed only in the backend and are gone. */
    final class StateLostException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public StateLostException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
