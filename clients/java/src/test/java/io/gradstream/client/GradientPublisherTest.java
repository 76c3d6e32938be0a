package io.gradstream.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.TensorPayload;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/** The records a publisher builds: unsigned, or with one header the job verifies with the worker's key. */
class GradientPublisherTest {
    private static final String KEY_TEXT = "worker-key-0123456789abcdef\n"; // as in a key file

    private static GradientPublisher publisher(byte[] key) {
        // The producer is never used by record(); no broker is needed to check what would be sent.
        return new GradientPublisher(
                null, "gradients", "m", Map.of("w", new TensorLayout("w", new int[] {4}, 4)), "a", Encoding.FP32, key);
    }

    private static GradientBatch batch() {
        return GradientBatch.newBuilder()
                .setModelId("m")
                .setTensor("w")
                .setShard(0)
                .setWorkerId("a")
                .setWorkerStep(1)
                .setBaseVersion(0)
                .setNumExamples(1)
                .setKind(GradientKind.GRADIENT)
                .setPayload(new TensorPayload(Encoding.FP32, 4, ByteBuffer.wrap(new byte[16])))
                .build();
    }

    @Test
    void aSigningPublisherAddsOneHeaderThatVerifiesWithTheTrimmedKey() {
        ProducerRecord<byte[], byte[]> r =
                publisher(KEY_TEXT.getBytes(StandardCharsets.US_ASCII)).record(batch());
        assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo("m/w/0");
        Header[] headers = r.headers().toArray();
        assertThat(headers).singleElement().satisfies(h -> {
            assertThat(h.key()).isEqualTo(RecordSignature.HEADER);
            assertThat(h.value()).hasSize(RecordSignature.BYTES);
            byte[] key = KEY_TEXT.trim().getBytes(StandardCharsets.US_ASCII);
            assertThat(RecordSignature.verify(key, r.key(), r.value(), h.value()))
                    .isTrue();
        });
    }

    @Test
    void anUnsignedPublisherAddsNoHeaderAndShortKeysAreRefused() {
        assertThat(publisher(null).record(batch()).headers().toArray()).isEmpty();
        assertThatThrownBy(() -> publisher("short\n".getBytes(StandardCharsets.US_ASCII)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("got 5");
    }
}
