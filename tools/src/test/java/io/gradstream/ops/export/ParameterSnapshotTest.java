package io.gradstream.ops.export;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.Encodings;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.ParameterUpdate;
import io.gradstream.schemas.TensorPayload;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reassembly of tensors from shard records, and the refusals: no model, missing shards, mixed versions, a version the
 * topic no longer holds. Atomic writing leaves nothing on failure.
 */
class ParameterSnapshotTest {
    static final Map<String, TensorLayout> LAYOUTS = new LinkedHashMap<>();

    static {
        LAYOUTS.put("w", new TensorLayout("w", new int[] {3, 3}, 4)); // shards of 4, 4, 1
        LAYOUTS.put("b", new TensorLayout("b", new int[] {3}, 4));
    }

    /** Shard {@code s} of {@code tensor} at {@code version}: element i is version * 100 + offset + i. */
    static ParameterUpdate update(String model, String tensor, int s, long version, Encoding encoding) {
        TensorLayout l = LAYOUTS.get(tensor);
        int n = l.shardLength(s);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = version * 100 + l.shardOffset(s) + i;
        }
        var codec = Encodings.encoder(encoding);
        byte[] bytes = new byte[codec.maxEncodedSize(n)];
        int len = codec.encode(v, 0, n, ByteBuffer.wrap(bytes));
        return ParameterUpdate.newBuilder()
                .setModelId(model)
                .setTensor(tensor)
                .setShard(s)
                .setVersion(version)
                .setPayload(new TensorPayload(encoding, n, ByteBuffer.wrap(bytes, 0, len)))
                .build();
    }

    static void all(ParameterSnapshot p, long version) {
        for (int s = 0; s < 3; s++) {
            p.accept(update("m", "w", s, version, s == 1 ? Encoding.FP16 : Encoding.FP32));
        }
        p.accept(update("m", "b", 0, version, Encoding.FP32));
    }

    @Test
    void theNewestVersionOfEveryShardIsReassembled() {
        ParameterSnapshot p = new ParameterSnapshot("m", LAYOUTS, null);
        all(p, 2);
        all(p, 1); // older versions arriving later (a replay) do not win
        p.accept(update("other", "w", 0, 9, Encoding.FP32));
        ParameterSnapshot.Snapshot s = p.take(false);
        assertThat(s.version()).isEqualTo(2);
        assertThat(s.tensors().keySet()).containsExactly("b", "w");
        assertThat(s.tensors().get("w").shape()).containsExactly(3, 3);
        assertThat(s.tensors().get("w").values()).containsExactly(200, 201, 202, 203, 204, 205, 206, 207, 208);
        assertThat(s.tensors().get("b").values()).containsExactly(200, 201, 202);
    }

    @Test
    void mixedVersionsAreRefusedUnlessAskedFor() {
        ParameterSnapshot p = new ParameterSnapshot("m", LAYOUTS, null);
        all(p, 4);
        p.accept(update("m", "w", 2, 5, Encoding.FP32));
        assertThatThrownBy(() -> p.take(false))
                .isInstanceOf(ParameterSnapshot.RefusedException.class)
                .hasMessageContaining("different versions (4 to 5)")
                .hasMessageContaining("versions every shard holds: 4");
        ParameterSnapshot.Snapshot s = p.take(true);
        assertThat(s.version()).isEqualTo(-1);
        assertThat(s.versions().get("w")).containsExactly(4, 4, 5);
        assertThat(s.tensors().get("w").values()[8]).isEqualTo(508);
    }

    @Test
    void aVersionIsExportedOnlyWhereEveryShardStillHoldsIt() {
        ParameterSnapshot at4 = new ParameterSnapshot("m", LAYOUTS, 4L);
        all(at4, 4);
        all(at4, 5);
        assertThat(at4.take(false).tensors().get("b").values()).containsExactly(400, 401, 402);

        // Compaction removed version 4 of shard w/1.
        ParameterSnapshot gone = new ParameterSnapshot("m", LAYOUTS, 4L);
        all(gone, 5);
        gone.accept(update("m", "w", 0, 4, Encoding.FP32));
        gone.accept(update("m", "w", 2, 4, Encoding.FP32));
        gone.accept(update("m", "b", 0, 4, Encoding.FP32));
        assertThatThrownBy(() -> gone.take(false))
                .isInstanceOf(ParameterSnapshot.RefusedException.class)
                .hasMessageContaining("version 4 of model m is not on the topic for every shard: w/1 (holds 5)")
                .hasMessageContaining("versions every shard holds: 5");
    }

    @Test
    void unknownModelsAndMissingShardsAreRefused() {
        ParameterSnapshot none = new ParameterSnapshot("m", LAYOUTS, null);
        none.accept(update("other", "w", 0, 1, Encoding.FP32));
        assertThatThrownBy(() -> none.take(false)).hasMessageContaining("model m has no parameters on the topic");
        ParameterSnapshot partial = new ParameterSnapshot("m", LAYOUTS, null);
        partial.accept(update("m", "w", 0, 1, Encoding.FP32));
        assertThatThrownBy(() -> partial.take(false))
                .hasMessageContaining(
                        "shards without parameters yet: b/0 (holds no version), w/1 (holds no version), w/2 (holds no "
                                + "version)");
    }

    @Test
    void aDeltaStreamIsExportedFromItsFullSnapshotsOnly() {
        ParameterSnapshot p = new ParameterSnapshot("m", LAYOUTS, null);
        all(p, 0);
        p.accept(delta("w", 1, 1));
        p.accept(delta("w", 1, 2));
        assertThatThrownBy(() -> p.take(false))
                .isInstanceOf(ParameterSnapshot.RefusedException.class)
                .hasMessageContaining(
                        "newest full snapshot of model m is version 0, but its delta stream has reached " + "version 2")
                .hasMessageContaining("gradstream model snapshot m")
                .hasMessageContaining("--version 0");
        ParameterSnapshot at0 = new ParameterSnapshot("m", LAYOUTS, 0L);
        all(at0, 0);
        at0.accept(delta("w", 1, 1));
        assertThat(at0.take(false).tensors().get("w").values()[4]).isEqualTo(4);
        // A SNAPSHOT command's full updates make the newest version exportable.
        all(p, 2);
        assertThat(p.take(false).version()).isEqualTo(2);
        // Compaction may leave only deltas.
        ParameterSnapshot onlyDeltas = new ParameterSnapshot("m", LAYOUTS, null);
        onlyDeltas.accept(delta("b", 0, 7));
        assertThatThrownBy(() -> onlyDeltas.take(false)).hasMessageContaining("no full snapshot on the topic");
    }

    /** A DELTA update of a shard (its payload is never read as parameters). */
    static ParameterUpdate delta(String tensor, int shard, long version) {
        ParameterUpdate u = update("m", tensor, shard, version, Encoding.FP32);
        u.setKind(io.gradstream.schemas.UpdateKind.DELTA);
        u.setBaseVersion(version - 1);
        return u;
    }

    @Test
    void aFailedWriteLeavesNothing(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("model.safetensors");
        assertThatThrownBy(() -> Exporter.writeAtomically(out, s -> {
                    s.write(new byte[1 << 20]);
                    throw new IOException("disk full");
                }))
                .hasMessage("disk full");
        assertThat(dir).isEmptyDirectory();
        Files.writeString(out, "old");
        assertThatThrownBy(() -> Exporter.writeAtomically(out, s -> {
                    throw new IOException("broken");
                }))
                .hasMessage("broken");
        assertThat(Files.readString(out)).isEqualTo("old");
        assertThat(Files.list(dir)).containsExactly(out);
        assertThat(Exporter.writeAtomically(out, s -> s.write(new byte[] {1, 2, 3})))
                .isEqualTo(3);
        assertThat(Files.readAllBytes(out)).containsExactly(1, 2, 3);
        assertThat(Files.list(dir)).containsExactly(out);
    }
}
