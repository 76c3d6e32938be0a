package io.gradstream.core.optim;

import java.util.Objects;

/**
 * One tensor slot of an optimizer's state: torch's name for it and the value torch fills it with when it creates it
 * on the first step. An optimizer lists its slots in a fixed order ({@link Optimizer#slots()}), the order in which an
 * accelerator binds them to its kernel.
 */
public record Slot(String name, float initialValue) {
    public static final Slot EXP_AVG = zeros("exp_avg");
    public static final Slot EXP_AVG_SQ = zeros("exp_avg_sq");
    public static final Slot MAX_EXP_AVG_SQ = zeros("max_exp_avg_sq");
    public static final Slot EXP_INF = zeros("exp_inf");
    public static final Slot MOMENTUM_BUFFER = zeros("momentum_buffer");
    public static final Slot SQUARE_AVG = zeros("square_avg");
    public static final Slot GRAD_AVG = zeros("grad_avg");

    public Slot {
        Objects.requireNonNull(name, "name must not be null");
    }

    /** A slot that starts at zero, as most of torch's buffers do ({@code torch.zeros_like(p)}). */
    public static Slot zeros(String name) {
        return new Slot(name, 0f);
    }
}
