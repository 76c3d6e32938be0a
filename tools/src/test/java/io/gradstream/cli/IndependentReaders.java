package io.gradstream.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.core.shard.TensorLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Assumptions;

/**
 * Readers of the export formats written from the formats' definitions, sharing no code with the writer: a Java reader
 * of safetensors and npz, and numpy in python3 (skipped where numpy is missing, unless GRADSTREAM_REQUIRE_TOOLS is
 * set). Each compares every tensor's shape and bits with the parameters read from the topic.
 */
final class IndependentReaders {
    private IndependentReaders() {}

    static void assertSafetensors(
            Path file, String model, long version, Map<String, TensorLayout> layouts, Map<String, float[]> expected)
            throws Exception {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong();
        JsonNode header = new ObjectMapper().readTree(new String(b.array(), 8, (int) n, StandardCharsets.UTF_8));
        assertThat(header.path("__metadata__").path("model").asText()).isEqualTo(model);
        assertThat(header.path("__metadata__").path("version").asText()).isEqualTo(Long.toString(version));
        List<String> names = new ArrayList<>();
        header.fieldNames().forEachRemaining(names::add);
        names.remove("__metadata__");
        assertThat(names).containsExactlyInAnyOrderElementsOf(layouts.keySet());
        for (String name : names) {
            JsonNode t = header.path(name);
            assertThat(t.path("dtype").asText()).isEqualTo("F32");
            int[] shape = new int[t.path("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.path("shape").get(i).asInt();
            }
            assertThat(shape).as(name).containsExactly(layouts.get(name).shape());
            int begin = 8 + (int) n + t.path("data_offsets").get(0).asInt();
            int end = 8 + (int) n + t.path("data_offsets").get(1).asInt();
            float[] values = new float[(end - begin) / 4];
            b.position(begin);
            b.asFloatBuffer().get(values);
            assertBits(name, values, expected.get(name));
        }
    }

    private static final Pattern NPY_DICT =
            Pattern.compile("\\{'descr': '<f4', 'fortran_order': False, 'shape': \\(([0-9, ]*)\\), \\} *\n");

    static void assertNpz(Path file, Map<String, TensorLayout> layouts, Map<String, float[]> expected)
            throws Exception {
        try (ZipFile zip = new ZipFile(file.toFile())) {
            List<String> names = new ArrayList<>();
            for (var e : java.util.Collections.list(zip.entries())) {
                assertThat(e.getName()).endsWith(".npy");
                String name = e.getName().substring(0, e.getName().length() - 4);
                names.add(name);
                ByteBuffer b =
                        ByteBuffer.wrap(zip.getInputStream(e).readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
                byte[] magic = new byte[6];
                b.get(magic);
                assertThat(magic).containsExactly(0x93, 'N', 'U', 'M', 'P', 'Y');
                assertThat(b.get()).isEqualTo((byte) 1);
                assertThat(b.get()).isEqualTo((byte) 0);
                int headerLength = Short.toUnsignedInt(b.getShort());
                assertThat((10 + headerLength) % 64).isZero();
                String dict = new String(b.array(), 10, headerLength, StandardCharsets.US_ASCII);
                Matcher m = NPY_DICT.matcher(dict);
                assertThat(m.matches()).as(dict).isTrue();
                int[] shape = Arrays.stream(m.group(1).split(","))
                        .map(String::strip)
                        .filter(x -> !x.isEmpty())
                        .mapToInt(Integer::parseInt)
                        .toArray();
                assertThat(shape).as(name).containsExactly(layouts.get(name).shape());
                b.position(10 + headerLength);
                float[] values = new float[b.remaining() / 4];
                b.asFloatBuffer().get(values);
                assertBits(name, values, expected.get(name));
            }
            assertThat(names).containsExactlyInAnyOrderElementsOf(layouts.keySet());
        }
    }

    /** numpy loads the npz (numpy.load) and the safetensors file (its JSON header, numpy.frombuffer). */
    static void assertWithNumpy(
            Path safetensors,
            Path npz,
            String model,
            long version,
            Map<String, TensorLayout> layouts,
            Map<String, float[]> expected)
            throws Exception {
        requireNumpy();
        String script = """
                import json, struct, sys
                import numpy as np
                out = {}
                with open(sys.argv[1], 'rb') as f:
                    n = struct.unpack('<Q', f.read(8))[0]
                    header = json.loads(f.read(n))
                    data = f.read()
                out['meta'] = header.pop('__metadata__')
                for name, t in header.items():
                    assert t['dtype'] == 'F32'
                    a = np.frombuffer(data[t['data_offsets'][0]:t['data_offsets'][1]], dtype='<f4').reshape(t['shape'])
                    out['safetensors/' + name] = {'shape': list(a.shape), 'bits': a.view('<u4').ravel().tolist()}
                with np.load(sys.argv[2]) as z:
                    for name in z.files:
                        a = z[name]
                        assert a.dtype == np.dtype('<f4'), a.dtype
                        out['npz/' + name] = {'shape': list(a.shape), 'bits': a.view('<u4').ravel().tolist()}
                print(json.dumps(out))
                """;
        Path py = Files.writeString(Files.createTempFile("read-export", ".py"), script);
        try {
            Process p = new ProcessBuilder("python3", py.toString(), safetensors.toString(), npz.toString())
                    .redirectErrorStream(false)
                    .start();
            byte[] stdout = p.getInputStream().readAllBytes();
            String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(stderr).isZero();
            JsonNode out = new ObjectMapper().readTree(stdout);
            assertThat(out.path("meta").path("model").asText()).isEqualTo(model);
            assertThat(out.path("meta").path("version").asText()).isEqualTo(Long.toString(version));
            for (String format : List.of("safetensors/", "npz/")) {
                for (String name : layouts.keySet()) {
                    JsonNode t = out.path(format + name);
                    int[] shape = new int[t.path("shape").size()];
                    for (int i = 0; i < shape.length; i++) {
                        shape[i] = t.path("shape").get(i).asInt();
                    }
                    assertThat(shape)
                            .as(format + name)
                            .containsExactly(layouts.get(name).shape());
                    float[] values = new float[t.path("bits").size()];
                    for (int i = 0; i < values.length; i++) {
                        values[i] =
                                Float.intBitsToFloat((int) t.path("bits").get(i).asLong());
                    }
                    assertBits(format + name, values, expected.get(name));
                }
            }
        } finally {
            Files.deleteIfExists(py);
        }
    }

    private static void requireNumpy() throws Exception {
        boolean present;
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").start();
            present = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (java.io.IOException e) {
            present = false;
        }
        if (!present) {
            String flag = System.getenv("GRADSTREAM_REQUIRE_TOOLS");
            String message = "python3 with numpy is not installed: apt-get install python3-numpy";
            if (flag != null && !flag.isBlank() && !flag.equals("0")) {
                throw new AssertionError(message + " (GRADSTREAM_REQUIRE_TOOLS is set, so this test may not skip)");
            }
            Assumptions.abort(message);
        }
    }

    private static void assertBits(String name, float[] actual, float[] expected) {
        assertThat(actual).as(name).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.floatToRawIntBits(actual[i]))
                    .as(name + "[" + i + "]")
                    .isEqualTo(Float.floatToRawIntBits(expected[i]));
        }
    }
}
