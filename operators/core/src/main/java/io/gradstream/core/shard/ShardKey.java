package io.gradstream.core.shard;

/**
 * The unit of keyed state and of Kafka keys: one shard of one tensor of one model, written {@code model/tensor/shard}.
 * Model and tensor names therefore may not contain {@code /}.
 */
public record ShardKey(String model, String tensor, int shard) {

    public ShardKey {
        requireName("model", model);
        requireName("tensor", tensor);
        if (shard < 0) {
            throw new IllegalArgumentException("shard index must be >= 0, got " + shard);
        }
    }

    /** Checks a model or tensor name: non-empty, no {@code /}, no control characters. */
    public static void requireName(String what, String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException(what + " name must not be empty");
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '/' || Character.isISOControl(c)) {
                throw new IllegalArgumentException(
                        what + " name '" + name + "' must not contain '/' or control " + "characters");
            }
        }
    }

    /** Parses {@code model/tensor/shard}. */
    public static ShardKey parse(String text) {
        int a = text.indexOf('/');
        int b = text.lastIndexOf('/');
        if (a <= 0 || b == a) {
            throw new IllegalArgumentException("shard key '" + text + "' is not model/tensor/shard");
        }
        try {
            return new ShardKey(
                    text.substring(0, a), text.substring(a + 1, b), Integer.parseInt(text.substring(b + 1)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("shard key '" + text + "' has no numeric shard index", e);
        }
    }

    @Override
    public String toString() {
        return model + "/" + tensor + "/" + shard;
    }
}
