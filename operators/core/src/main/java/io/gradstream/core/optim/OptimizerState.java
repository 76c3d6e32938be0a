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

    /** The tensor of {@code slot}, created as torch creates it when absent. */
    float[] tensorOrFill(Slot slot, int length) {
        return tensorOrFill(slot.name(), length, slot.initialValue());
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
            throw new IllegalArgumentException(
                    "state slot " + name + " has " + t.length + " elements but the parameters have " + length);
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

    /**
     * This state as one parameter's entry of a torch {@code optimizer.state_dict()["state"]}: {@code step} as a
     * Long, tensor slots as float[] (copies), scalar slots such as {@code mu_product} as Double.
     */
    public Map<String, Object> toStateDict() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(STEP, step);
        tensors.forEach((k, v) -> m.put(k, v.clone()));
        m.putAll(scalars);
        return m;
    }

    /**
     * The inverse of {@link #toStateDict()}: accepts what a torch state entry holds once converted to Java --
     * {@code step} as any whole number, tensors as float[], double[] or a list of numbers, scalars as numbers;
     * {@code null} entries (torch's lazily created {@code momentum_buffer = None}) are left out.
     *
     * @throws IllegalArgumentException naming the slot when a value has another type, or step is not a whole number
     */
    public static OptimizerState fromStateDict(Map<String, ?> entry) {
        OptimizerState s = new OptimizerState();
        for (Map.Entry<String, ?> e : entry.entrySet()) {
            String name = e.getKey();
            Object v = e.getValue();
            if (v == null) {
                continue;
            }
            if (name.equals(STEP)) {
                if (!(v instanceof Number n) || n.doubleValue() != Math.rint(n.doubleValue())) {
                    throw new IllegalArgumentException("state slot step must be a whole number, got " + v);
                }
                s.setStep(n.longValue());
            } else if (v instanceof float[] f) {
                s.tensors.put(name, f.clone());
            } else if (v instanceof double[] d) {
                float[] f = new float[d.length];
                for (int i = 0; i < d.length; i++) {
                    f[i] = (float) d[i];
                }
                s.tensors.put(name, f);
            } else if (v instanceof java.util.List<?> list) {
                float[] f = new float[list.size()];
                for (int i = 0; i < f.length; i++) {
                    if (!(list.get(i) instanceof Number n)) {
                        throw new IllegalArgumentException(
                                "state slot " + name + "[" + i + "] is not a number: " + list.get(i));
                    }
                    f[i] = n.floatValue();
                }
                s.tensors.put(name, f);
            } else if (v instanceof Number n) {
                s.scalars.put(name, n.doubleValue());
            } else {
                throw new IllegalArgumentException("state slot " + name + " has unsupported type "
                        + v.getClass().getSimpleName());
            }
        }
        return s;
    }

    /** A deep copy (for snapshots and for running the same step on two backends). */
    public OptimizerState copy() {
        OptimizerState c = new OptimizerState();
        c.step = step;
        tensors.forEach((k, v) -> c.tensors.put(k, v.clone()));
        c.scalars.putAll(scalars);
        return c;
    }

    /**
     * Goes back to an earlier content: {@code step}, the slot values in {@code slots} (copied into this state's own
     * arrays; slots created since are removed) and {@code scalars}.
     */
    public void restore(long step, Map<String, float[]> slots, Map<String, Double> scalars) {
        this.step = step;
        tensors.keySet().retainAll(slots.keySet());
        slots.forEach((name, values) -> System.arraycopy(values, 0, tensors.get(name), 0, values.length));
        this.scalars.clear();
        this.scalars.putAll(scalars);
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
