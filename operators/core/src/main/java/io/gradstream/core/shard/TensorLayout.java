package io.gradstream.core.shard;

/**
 * How a tensor is flattened (row-major) and cut into shards of at most {@code shardSize} elements; the last shard
 * holds the rest. Pure arithmetic, shared by the job, the clients and the tests.
 */
public record TensorLayout(String name, int[] shape, int shardSize) {

    public TensorLayout {
        ShardKey.requireName("tensor", name);
        if (shardSize <= 0) {
            throw new IllegalArgumentException("shardSize must be > 0, got " + shardSize);
        }
        if (shape.length == 0) {
            throw new IllegalArgumentException("tensor " + name + " needs a shape (use [1] for a scalar)");
        }
        long n = 1;
        for (int d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException(
                        "tensor " + name + " has a non-positive dimension: " + java.util.Arrays.toString(shape));
            }
            if (n > Integer.MAX_VALUE * (long) shardSize / d) { // checked before multiplying: no overflow
                throw new IllegalArgumentException("tensor " + name + " is too large");
            }
            n *= d;
        }
        shape = shape.clone();
    }

    public long elements() {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    public int shardCount() {
        return (int) ((elements() + shardSize - 1) / shardSize);
    }

    /** Index of the shard's first element in the flattened tensor. */
    public long shardOffset(int shard) {
        checkShard(shard);
        return (long) shard * shardSize;
    }

    public int shardLength(int shard) {
        checkShard(shard);
        return (int) Math.min(shardSize, elements() - (long) shard * shardSize);
    }

    private void checkShard(int shard) {
        if (shard < 0 || shard >= shardCount()) {
            throw new IllegalArgumentException(
                    "tensor " + name + " has shards 0.." + (shardCount() - 1) + ", not " + shard);
        }
    }

    @Override
    public int[] shape() {
        return shape.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorLayout t
                && t.name.equals(name)
                && java.util.Arrays.equals(t.shape, shape)
                && t.shardSize == shardSize;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + java.util.Arrays.hashCode(shape) * 7 + shardSize;
    }

    @Override
    public String toString() {
        return name + java.util.Arrays.toString(shape) + "/" + shardSize;
    }
}
