package io.gradstream.clients;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.gradstream.core.codec.PayloadCodec;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.model.Encodings;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;

/**
 * Holds the Python client (clients/python) to the Java side's bytes without running Python: its bundled schemas are
 * the repository's, and its partitioner and codec vectors (computed by the client, tests/vectors) are what Kafka's
 * default partitioner and the job's codecs compute.
 */
class PythonClientContractTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void theBundledSchemasAreTheRepositorys() throws IOException {
        Path source = PythonClient.root().resolve("schemas/src/main/avro");
        Path bundled = PythonClient.root().resolve("clients/python/gradstream/schemas");
        List<String> names = avscFiles(source);
        assertThat(names).contains("GradientBatch.avsc", "ParameterUpdate.avsc", "ControlCommand.avsc");
        assertThat(avscFiles(bundled))
                .as("the Python client's schemas: cp schemas/src/main/avro/*.avsc clients/python/gradstream/schemas/")
                .isEqualTo(names);
        for (String name : names) {
            assertThat(Files.readAllBytes(bundled.resolve(name)))
                    .as(name + " differs: cp schemas/src/main/avro/*.avsc clients/python/gradstream/schemas/")
                    .isEqualTo(Files.readAllBytes(source.resolve(name)));
        }
    }

    @Test
    void thePartitionsAreKafkasDefault() throws IOException {
        JsonNode vectors = vectors("murmur2.json");
        assertThat(vectors.size()).isGreaterThan(10);
        for (JsonNode v : vectors) {
            byte[] key = v.get("key").asText().getBytes(StandardCharsets.UTF_8);
            assertThat(Utils.murmur2(key))
                    .as(v.get("key").asText())
                    .isEqualTo(v.get("murmur2").asInt());
            v.get("partitions")
                    .fields()
                    .forEachRemaining(
                            e -> assertThat(BuiltInPartitioner.partitionForKey(key, Integer.parseInt(e.getKey())))
                                    .as("partition of %s among %s", v.get("key").asText(), e.getKey())
                                    .isEqualTo(e.getValue().asInt()));
        }
    }

    @Test
    void theCodecVectorsAreTheJobsBytes() throws IOException {
        JsonNode vectors = vectors("codecs.json");
        assertThat(vectors.size()).isGreaterThanOrEqualTo(5);
        for (JsonNode v : vectors) {
            String encoding = v.get("encoding").asText();
            float[] input = floats(v.get("input"));
            PayloadCodec codec = encoding.equals("TOPK")
                    ? PayloadCodecs.topK(v.get("k").asInt())
                    : Encodings.encoder(io.gradstream.schemas.Encoding.valueOf(encoding));
            ByteBuffer out = ByteBuffer.allocate(codec.maxEncodedSize(input.length));
            int n = codec.encode(input, 0, input.length, out);
            String label = encoding + " of " + input.length + " elements";
            assertThat(HexFormat.of().formatHex(out.array(), 0, n))
                    .as(label)
                    .isEqualTo(v.get("bytes").asText());
            float[] decoded = new float[input.length];
            Encodings.decoder(io.gradstream.schemas.Encoding.valueOf(encoding))
                    .decode(
                            ByteBuffer.wrap(
                                    HexFormat.of().parseHex(v.get("bytes").asText())),
                            decoded,
                            0,
                            decoded.length);
            assertThat(decoded).as(label + ", decoded").isEqualTo(floats(v.get("decoded")));
        }
    }

    private static JsonNode vectors(String file) throws IOException {
        return JSON.readTree(PythonClient.root()
                .resolve("clients/python/tests/vectors")
                .resolve(file)
                .toFile());
    }

    private static float[] floats(JsonNode hexBits) {
        float[] f = new float[hexBits.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = Float.intBitsToFloat(Integer.parseUnsignedInt(hexBits.get(i).asText(), 16));
        }
        return f;
    }

    private static List<String> avscFiles(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".avsc"))
                    .sorted()
                    .toList();
        }
    }
}
