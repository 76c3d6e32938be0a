package io.gradstream.ops.export;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.Test;

/** The byte layouts of the export formats, checked byte by byte against the formats' definitions and numpy's bytes. */
class TensorFilesTest {

    static ParameterSnapshot.Snapshot snapshot() {
        Map<String, ParameterSnapshot.Tensor> t = new TreeMap<>();
        t.put("w", new ParameterSnapshot.Tensor(new int[] {2, 3}, new float[] {1, -2, 3.5f, Float.MIN_VALUE, 0, -0f}));
        t.put("b", new ParameterSnapshot.Tensor(new int[] {5}, new float[] {0.1f, 0.2f, 0.3f, 1e30f, -1e-30f}));
        return new ParameterSnapshot.Snapshot("m-1", 7, t, Map.of("b", new long[] {7}, "w", new long[] {7, 7}));
    }

    @Test
    void safetensorsLayout() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TensorFiles.safetensors(snapshot(), bytes);
        ByteBuffer b = ByteBuffer.wrap(bytes.toByteArray()).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong(0);
        assertThat(n % 8).as("header padded to 8 bytes").isZero();
        String header = new String(bytes.toByteArray(), 8, (int) n, StandardCharsets.UTF_8);
        assertThat(header).startsWith("{\"__metadata__\":");
        assertThat(header.strip()).endsWith("}");
        assertThat(header.substring(header.strip().length())).matches(" *");
        JsonNode h = new ObjectMapper().readTree(header);
        assertThat(h.path("__metadata__").path("model").asText()).isEqualTo("m-1");
        assertThat(h.path("__metadata__").path("version").asText()).isEqualTo("7");
        assertThat(h.path("__metadata__").path("format").asText()).isEqualTo("pt");
        // Tensors in name order, data contiguous from offset 0.
        assertThat(h.path("b").path("dtype").asText()).isEqualTo("F32");
        assertThat(h.path("b").path("shape").toString()).isEqualTo("[5]");
        assertThat(h.path("b").path("data_offsets").toString()).isEqualTo("[0,20]");
        assertThat(h.path("w").path("shape").toString()).isEqualTo("[2,3]");
        assertThat(h.path("w").path("data_offsets").toString()).isEqualTo("[20,44]");
        assertThat(bytes.size()).isEqualTo(8 + n + 44);
        int data = 8 + (int) n;
        assertThat(b.getFloat(data + 12)).isEqualTo(1e30f);
        assertThat(b.getFloat(data + 20)).isEqualTo(1f);
        assertThat(Float.floatToRawIntBits(b.getFloat(data + 20 + 12))).isEqualTo(1);
        assertThat(Float.floatToRawIntBits(b.getFloat(data + 20 + 20))).isEqualTo(0x80000000);
    }

    @Test
    void mixedVersionsAreRecordedPerShard() throws Exception {
        var s = snapshot();
        Map<String, long[]> v = new LinkedHashMap<>();
        v.put("b", new long[] {7});
        v.put("w", new long[] {7, 8});
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TensorFiles.safetensors(new ParameterSnapshot.Snapshot("m-1", -1, s.tensors(), v), bytes);
        long n = ByteBuffer.wrap(bytes.toByteArray())
                .order(ByteOrder.LITTLE_ENDIAN)
                .getLong(0);
        JsonNode meta = new ObjectMapper()
                .readTree(new String(bytes.toByteArray(), 8, (int) n, StandardCharsets.UTF_8))
                .path("__metadata__");
        assertThat(meta.path("version").asText()).isEqualTo("mixed");
        assertThat(meta.path("shard_versions").asText()).isEqualTo("{\"b\":[7],\"w\":[7,8]}");
    }

    @Test
    void npyHeadersAreNumpysBytes() {
        // numpy 2.4: np.save(io.BytesIO(), np.zeros(shape, '<f4')) up to the data.
        assertThat(new String(TensorFiles.npyHeader(new int[] {2, 3}), StandardCharsets.ISO_8859_1))
                .isEqualTo("\u0093NUMPY\u0001\u0000v\u0000{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
                        + " ".repeat(58) + "\n");
        assertThat(new String(TensorFiles.npyHeader(new int[] {5}), StandardCharsets.ISO_8859_1))
                .isEqualTo("\u0093NUMPY\u0001\u0000v\u0000{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }"
                        + " ".repeat(60) + "\n");
        assertThat(TensorFiles.npyHeader(new int[] {3, 4, 5})).hasSize(128);
        assertThat(TensorFiles.npyHeader(new int[] {123456789, 4}).length % 64).isZero();
    }

    @Test
    void npzLayout() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        TensorFiles.npz(snapshot(), bytes);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipInputStream zip = new ZipInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            for (ZipEntry e = zip.getNextEntry(); e != null; e = zip.getNextEntry()) {
                assertThat(e.getMethod()).as("stored, as numpy.savez").isEqualTo(ZipEntry.STORED);
                entries.put(e.getName(), zip.readAllBytes());
            }
        }
        assertThat(entries).containsOnlyKeys("b.npy", "w.npy");
        assertThat(entries.keySet()).containsExactly("b.npy", "w.npy");
        byte[] w = entries.get("w.npy");
        assertThat(Arrays.copyOf(w, 128)).isEqualTo(TensorFiles.npyHeader(new int[] {2, 3}));
        ByteBuffer data = ByteBuffer.wrap(w, 128, w.length - 128).slice().order(ByteOrder.LITTLE_ENDIAN);
        assertThat(data.remaining()).isEqualTo(24);
        assertThat(data.getFloat(8)).isEqualTo(3.5f);
        // The same parameters give the same bytes.
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        TensorFiles.npz(snapshot(), again);
        assertThat(again.toByteArray()).isEqualTo(bytes.toByteArray());
    }
}
