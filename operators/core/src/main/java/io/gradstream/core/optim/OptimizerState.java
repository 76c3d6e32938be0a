package io.gradstream.core.optim;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The optimizer state of one parameter shard under torch's slot names ({@code step}, {@code exp_avg},
 * {@code exp_avg_sq}, {@code momentum_buffer}, {@code mu_product}, ...), so that a torch {@code state_dict} entry maps
 * in and out one to one. Tensor slots are float32 arrays of the shard's length; {@code step} counts applied steps.
 */
public final class OptimizerState {
    public static final String STEP = "step";

    private long step;
    private final Map<String, float[]> tensors = new LinkedHashMap<>();
    private final Map<String, Double> scalars = new LinkedHashMap<>();

    public long step() {
        return step;
    }

    public void setStep(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        this.step = step;
    }

    /** Increments and returns the step counter, as torch does at the start of every step. */
    long advance() {
        return ++step;
    }

    /** The tensor slot {@code name}, or null when it does not exist (yet), like torch's lazily created buffers. */
    public float[] tensor(String name) {
        return tensors.get(name);
    }

    public void putTensor(String name, float[] values) {
        tensors.put(name, values);
    }

    /** The slot {@code name}, created filled with {@code initial} when absent. */
    float[] tensorOrFill(String name, int length, float initial) {
        float[] t = tensors.get(name);
        if (t == null) {
            t = new float[length];
            if (initial != 0f) {
                java.util.Arrays.fill(t, initial);
            }
            tensors.put(name, t);
        } else if (t.length != length) {
            throw new IllegalArgumentException("state slot " + name + " has " + t.length
                    + " elements but the parameters have " + length);
        }
        return t;
    }

    public Double scalar(String name) {
        return scalars.get(name);
    }

    public void putScalar(String name, double value) {
        scalars.put(name, value);
    }

    public Map<String, float[]> tensors() {
        return Collections.unmodifiableMap(tensors);
    }

    public Map<String, Double> scalars() {
        return Collections.unmodifiableMap(scalars);
    }

    /** A deep copy (for snapshots and for running the same step on two backends). */
    public OptimizerState copy() {
        OptimizerState c = new OptimizerState();
        c.step = step;
        tensors.forEach((k, v) -> c.tensors.put(k, v.clone()));
        c.scalars.putAll(scalars);
        return c;
    }

    /** Bytes held by tensor slots: what checkpointing this state costs per shard, besides a few scalars. */
    public long tensorBytes() {
        long b = 0;
        for (float[] t : tensors.values()) {
            b += 4L * t.length;
        }
        return b;
    }
}
