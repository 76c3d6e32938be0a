package io.gradstream.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

/** The configured bounds validate themselves, naming the configuration key of any bad value. */
class LimitsTest {

    private static final Limits D = Limits.DEFAULT;

    /** For each configuration key, the default limits with that one value replaced. */
    private static Map<String, LongFunction<Limits>> withOne() {
        Map<String, LongFunction<Limits>> m = new LinkedHashMap<>();
        m.put(
                "record-bytes",
                v -> new Limits(
                        (int) v,
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "rejected-value-bytes",
                v -> new Limits(
                        D.recordBytes(),
                        (int) v,
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "shard-elements",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        (int) v,
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "model-shards",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        (int) v,
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "model-elements",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        v,
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "models",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        (int) v,
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "sync-workers",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        (int) v,
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "examples",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        v,
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "worker-step-window",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        v,
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "name-length",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        (int) v,
                        D.waitingBytesPerShard(),
                        D.waitingBytes()));
        m.put(
                "waiting-bytes-per-shard",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        v,
                        D.waitingBytes()));
        m.put(
                "waiting-bytes",
                v -> new Limits(
                        D.recordBytes(),
                        D.rejectedValueBytes(),
                        D.shardElements(),
                        D.modelShards(),
                        D.modelElements(),
                        D.models(),
                        D.syncWorkers(),
                        D.examples(),
                        D.workerStepWindow(),
                        D.nameLength(),
                        D.waitingBytesPerShard(),
                        v));
        return m;
    }

    @Test
    void everyValueMustBePositive() {
        Map<String, LongFunction<Limits>> all = withOne();
        assertThat(all).hasSize(Limits.class.getRecordComponents().length);
        all.forEach((key, limits) -> {
            for (long bad : new long[] {0, -1, Integer.MIN_VALUE}) {
                assertThatThrownBy(() -> limits.apply(bad))
                        .as(key + " = " + bad)
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("gradstream.limits." + key + " must be > 0, got " + bad);
            }
            assertThatCode(() -> limits.apply(1)).as(key + " = 1").doesNotThrowAnyException();
        });
        assertThatThrownBy(() -> withOne().get("examples").apply(Long.MIN_VALUE))
                .hasMessageContaining("gradstream.limits.examples");
    }

    @Test
    void theDefaultsAreTheDocumentedOnes() {
        assertThat(D.recordBytes()).isEqualTo(Limits.MAX_REQUEST_BYTES);
        assertThat(D.shardElements()).isEqualTo(Limits.MAX_SHARD_ELEMENTS);
        assertThat(D.examples()).isEqualTo(1L << 24);
        assertThat(D.nameLength()).isEqualTo(256);
        // 2^24 is the largest count that every float32 weight holds exactly.
        assertThat((long) (float) D.examples()).isEqualTo(D.examples());
        assertThat((long) (float) (D.examples() + 1)).isNotEqualTo(D.examples() + 1);
    }

    @Test
    void theLargestShardsFP32UpdateFitsARecord() {
        assertThat(Limits.MAX_REQUEST_BYTES).isEqualTo(16 << 20);
        assertThat(4L * Limits.MAX_SHARD_ELEMENTS + Limits.UPDATE_OVERHEAD_BYTES)
                .isLessThanOrEqualTo(Limits.MAX_REQUEST_BYTES);
        assertThat(4L * (Limits.MAX_SHARD_ELEMENTS + 1) + Limits.UPDATE_OVERHEAD_BYTES)
                .isGreaterThan(Limits.MAX_REQUEST_BYTES);
    }

    @Test
    void shardElementsAboveTheRecordSizeAreRefused() {
        LongFunction<Limits> limits = withOne().get("shard-elements");
        assertThat(limits.apply(Limits.MAX_SHARD_ELEMENTS).shardElements()).isEqualTo(Limits.MAX_SHARD_ELEMENTS);
        for (long bad : new long[] {Limits.MAX_SHARD_ELEMENTS + 1L, Integer.MAX_VALUE}) {
            assertThatThrownBy(() -> limits.apply(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(
                            "gradstream.limits.shard-elements must be at most " + Limits.MAX_SHARD_ELEMENTS)
                    .hasMessageContaining("got " + bad);
        }
    }

    @Test
    void rejectedValueBytesMustLeaveRoomForTheRestOfTheRecord() {
        LongFunction<Limits> limits = withOne().get("rejected-value-bytes");
        int largest = Limits.MAX_REQUEST_BYTES - Limits.UPDATE_OVERHEAD_BYTES;
        assertThat(limits.apply(largest).rejectedValueBytes()).isEqualTo(largest);
        for (long bad : new long[] {largest + 1L, Limits.MAX_REQUEST_BYTES, Integer.MAX_VALUE}) {
            assertThatThrownBy(() -> limits.apply(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("gradstream.limits.rejected-value-bytes")
                    .hasMessageContaining("at most " + largest)
                    .hasMessageContaining("got " + bad);
        }
    }

    @Test
    void modelElementsAreAtMostTwoToTheForty() {
        LongFunction<Limits> limits = withOne().get("model-elements");
        assertThat(limits.apply(1L << 40).modelElements()).isEqualTo(1L << 40);
        assertThatThrownBy(() -> limits.apply((1L << 40) + 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gradstream.limits.model-elements must be at most 2^40");
        assertThatThrownBy(() -> limits.apply(Long.MAX_VALUE)).hasMessageContaining("gradstream.limits.model-elements");
    }

    @Test
    void requireNameChecksCharactersAndLength() {
        Limits limits = withOne().get("name-length").apply(4);
        assertThatCode(() -> limits.requireName("model", "abcd")).doesNotThrowAnyException();
        assertThatCode(() -> limits.requireName("model", "a")).doesNotThrowAnyException();
        assertThatThrownBy(() -> limits.requireName("model", "abcde"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("model name has 5 characters, more than gradstream.limits.name-length = 4");
        assertThatThrownBy(() -> limits.requireName("tensor", "a/b")).hasMessageContaining("'/'");
        assertThatThrownBy(() -> limits.requireName("tensor", "a\u0085")).hasMessageContaining("control");
        assertThatThrownBy(() -> limits.requireName("tensor", "")).hasMessageContaining("must not be empty");
        assertThatThrownBy(() -> limits.requireName("tensor", null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void limitsSurviveJavaSerialization() throws Exception {
        Limits limits = ModelRecords.SMALL;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(limits);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertThat(in.readObject()).isEqualTo(limits);
        }
    }
}
