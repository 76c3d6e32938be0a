package io.gradstream.model;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.core.shard.ShardKey;
import io.gradstream.core.shard.ShardState;
import io.gradstream.core.shard.ShardStepper;
import java.util.function.Function;

/**
 * An admitted contribution offered to its shard's state: a rule-initialised shard starts at version 0 on its first
 * gradient, a shard of an EXPLICIT model waits for its INIT, and {@link ShardStepper#prepare} runs with the model's
 * optimizer scheduled for the shard's version and its privacy. The caller loads and stores the state.
 */
public final class ShardOffer {

    /**
     * What happened, and the state it happened to (a new one for a shard's first gradient; null when refused before
     * there was one). {@code staleness} is the shard's version minus the contribution's base version.
     */
    public record Offered(ShardState state, ShardStepper.Outcome outcome, long staleness) {}

    private ShardOffer() {}

    /**
     * @param state the shard's state, null before its first step or INIT
     * @param fresh a shard at version 0 with the given values (continuing a ledger its key had, see ShardStore)
     */
    public static Offered offer(
            ShardState state, GradientAdmission.Contribute c, ModelConfig config, Function<float[], ShardState> fresh) {
        ShardKey key = c.key();
        if (state == null && config.explicitInit()) {
            return new Offered(
                    null,
                    new ShardStepper.Rejected(
                            RejectCode.NOT_INITIALIZED, "shard " + key + " waits for its INIT values"),
                    0);
        }
        ShardState s = state;
        if (s == null) {
            float[] initial = config.initialValues(key, c.contribution().gradient().length);
            s = fresh.apply(initial);
            if (config.compression().hasDeltaStream()) {
                // Its version 0 went out in full at CREATE: subscribers hold what they decoded from it.
                s.published(UpdateEncoder.publishedAfterSnapshot(initial, config));
            }
        }
        long staleness = s.version() - c.contribution().baseVersion();
        try {
            return new Offered(
                    s,
                    ShardStepper.prepare(
                            s, c.contribution(), config.policy(), config.optimizerAt(s.version()), config.privacy(key)),
                    staleness);
        } catch (IllegalStateException e) {
            // A schedule with a fixed length (OneCycleLR's total_steps) has no learning rate past its end.
            return new Offered(
                    s,
                    new ShardStepper.Rejected(
                            RejectCode.OTHER,
                            "no step " + (s.version() + 1) + " for model " + key.model() + ": " + e.getMessage()),
                    staleness);
        }
    }
}
