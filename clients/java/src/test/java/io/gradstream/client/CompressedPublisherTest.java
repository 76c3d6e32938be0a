package io.gradstream.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.gradstream.core.auth.RecordSignature;
import io.gradstream.core.codec.PayloadCodecs;
import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.Encodings;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/**
 * A publisher in a lossy encoding: TOPK and INT8_BLOCK payloads per shard, error feedback that sends what one step
 * left out with the next, residuals saved and restored with the worker's checkpoint, and signatures as before.
 */
class CompressedPublisherTest {
    /** w [100] in shards of 40: 40, 40, 20. */
    private static final Map<String, TensorLayout> LAYOUT = Map.of("w", new TensorLayout("w", new int[] {100}, 40));

    private static final String KEY_TEXT = "worker-key-0123456789abcdef\n";

    /** A publisher whose records go to {@code sent} rather than to Kafka. */
    private static GradientPublisher publisher(
            List<ProducerRecord<byte[], byte[]>> sent,
            String model,
            Map<String, TensorLayout> layout,
            GradientEncoding encoding,
            byte[] key) {
        return new GradientPublisher(null, "gradients", model, layout, "a", encoding, key).sendTo(sent::add);
    }

    private static float[] gradient(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] g = new float[100];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) rnd.nextGaussian();
        }
        return g;
    }

    /** The decoded gradient of each shard, in order. */
    private static float[] decoded(List<ProducerRecord<byte[], byte[]>> sent) throws IOException {
        AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
        float[] out = new float[100];
        for (ProducerRecord<byte[], byte[]> r : sent) {
            GradientBatch b = avro.decode(r.value());
            var p = b.getPayload();
            byte[] data = new byte[p.getData().remaining()];
            p.getData().duplicate().get(data);
            float[] shard = Encodings.decoder(p.getEncoding()).decode(data, p.getElementCount());
            System.arraycopy(shard, 0, out, 40 * b.getShard(), shard.length);
        }
        return out;
    }

    @Test
    void topKWithErrorFeedbackSendsWhatItLeftOutLater() throws IOException {
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        var p = publisher(sent, "m", LAYOUT, GradientEncoding.topK(0.1), null);
        float[] g = gradient(1);
        p.publish("w", g, 1, s -> 0, 1, Double.NaN);
        assertThat(sent).hasSize(3);
        AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
        GradientBatch first = avro.decode(sent.get(0).value());
        assertThat(first.getPayload().getEncoding()).isEqualTo(Encoding.TOPK);
        assertThat(first.getPayload().getData().remaining()).isEqualTo(4 + 8 * 4); // k = ceil(0.1 x 40)
        assertThat(avro.decode(sent.get(2).value()).getPayload().getData().remaining())
                .isEqualTo(4 + 8 * 2); // k = ceil(0.1 x 20)
        // Sent + residual = gradient, element by element (TOPK sends exact values, so exactly).
        float[] out = decoded(sent);
        for (int i = 0; i < 100; i++) {
            float residual = p.residual("w", i / 40)[i % 40];
            assertThat(out[i] == 0 ? residual : out[i]).as("element %d", i).isEqualTo(g[i]);
        }
        // Without error feedback the residual is neither kept nor added.
        var plain = publisher(
                new ArrayList<>(), "m", LAYOUT, GradientEncoding.topK(0.1).withErrorFeedback(false), null);
        plain.publish("w", g, 1, s -> 0, 1, Double.NaN);
        assertThat(plain.residual("w", 0)).isNull();

        // Over many steps, error feedback sends the sum of the gradients up to the residual; without it, far less.
        List<ProducerRecord<byte[], byte[]>> fed = new ArrayList<>();
        List<ProducerRecord<byte[], byte[]>> unfed = new ArrayList<>();
        var withEf = publisher(fed, "m", LAYOUT, GradientEncoding.topK(0.1), null);
        var withoutEf = publisher(unfed, "m", LAYOUT, GradientEncoding.topK(0.1).withErrorFeedback(false), null);
        double[] truth = new double[100];
        double[] sumEf = new double[100];
        double[] sumPlain = new double[100];
        float[] bias = gradient(99); // a constant direction every step, plus noise
        for (int t = 0; t < 50; t++) {
            float[] gt = gradient(1000 + t);
            for (int i = 0; i < 100; i++) {
                gt[i] = 0.2f * gt[i] + bias[i];
                truth[i] += gt[i];
            }
            fed.clear();
            unfed.clear();
            withEf.publish("w", gt, t + 1, s -> 0, 1, Double.NaN);
            withoutEf.publish("w", gt, t + 1, s -> 0, 1, Double.NaN);
            float[] a = decoded(fed);
            float[] b = decoded(unfed);
            for (int i = 0; i < 100; i++) {
                sumEf[i] += a[i];
                sumPlain[i] += b[i];
            }
        }
        assertThat(relativeError(sumEf, truth)).isLessThan(0.1);
        assertThat(relativeError(sumPlain, truth)).isGreaterThan(0.5);
    }

    private static double relativeError(double[] got, double[] want) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < got.length; i++) {
            num += (got[i] - want[i]) * (got[i] - want[i]);
            den += want[i] * want[i];
        }
        return Math.sqrt(num / den);
    }

    @Test
    void residualsSurviveTheWorkersCheckpointAndTheRestoredWorkerSendsTheSameBytes() throws IOException {
        List<ProducerRecord<byte[], byte[]>> a = new ArrayList<>();
        var worker = publisher(a, "m", LAYOUT, GradientEncoding.of(Encoding.INT8_BLOCK), null);
        assertThat(worker.encoding().errorFeedback()).isTrue();
        worker.publish("w", gradient(1), 1, s -> 0, 1, Double.NaN);
        worker.publish("w", gradient(2), 2, s -> 1, 1, Double.NaN);
        // The worker's checkpoint: its own data, then the residuals, then more of its own data, in one stream.
        ByteArrayOutputStream checkpoint = new ByteArrayOutputStream();
        checkpoint.write(new byte[] {1, 2, 3});
        worker.saveResiduals(checkpoint);
        checkpoint.write(new byte[] {4, 5});
        byte[] saved = worker.saveResiduals();

        List<ProducerRecord<byte[], byte[]>> b = new ArrayList<>();
        var restored = publisher(b, "m", LAYOUT, GradientEncoding.of(Encoding.INT8_BLOCK), null);
        ByteArrayInputStream in = new ByteArrayInputStream(checkpoint.toByteArray());
        assertThat(in.readNBytes(3)).containsExactly(1, 2, 3);
        restored.restoreResiduals(in);
        assertThat(in.readAllBytes()).containsExactly(4, 5);
        assertThat(restored.residual("w", 2)).containsExactly(worker.residual("w", 2));

        a.clear();
        worker.publish("w", gradient(3), 3, s -> 2, 1, Double.NaN);
        restored.publish("w", gradient(3), 3, s -> 2, 1, Double.NaN);
        for (int s = 0; s < 3; s++) {
            byte[] x = new AvroRecords<>(GradientBatch.class)
                    .decode(a.get(s).value())
                    .getPayload()
                    .getData()
                    .array();
            assertThat(payloadOf(b.get(s))).as("shard %d", s).containsExactly(payloadOf(a.get(s)));
            assertThat(x).isNotEmpty();
        }
        // A worker without the residuals sends other bytes: what the first two steps held back is lost.
        List<ProducerRecord<byte[], byte[]>> c = new ArrayList<>();
        var forgetful = publisher(c, "m", LAYOUT, GradientEncoding.of(Encoding.INT8_BLOCK), null);
        forgetful.publish("w", gradient(3), 3, s -> 2, 1, Double.NaN);
        assertThat(payloadOf(c.get(0))).isNotEqualTo(payloadOf(a.get(0)));

        // Residuals of another model or layout are refused, and nothing changes.
        var other = publisher(new ArrayList<>(), "n", LAYOUT, GradientEncoding.of(Encoding.INT8_BLOCK), null);
        assertThatThrownBy(() -> other.restoreResiduals(saved))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("model 'm'");
        var resharded = publisher(
                new ArrayList<>(),
                "m",
                Map.of("w", new TensorLayout("w", new int[] {100}, 50)),
                GradientEncoding.of(Encoding.INT8_BLOCK),
                null);
        assertThatThrownBy(() -> resharded.restoreResiduals(saved)).hasMessageContaining("shards");
        assertThatThrownBy(() -> restored.restoreResiduals(new byte[] {1, 2, 3, 4}))
                .hasMessageContaining("GSEF");
        assertThatThrownBy(() -> restored.restoreResiduals(java.util.Arrays.copyOf(saved, saved.length - 1)))
                .hasMessageContaining("ends early");
        assertThat(restored.residual("w", 2)).isNotNull();
    }

    private static byte[] payloadOf(ProducerRecord<byte[], byte[]> r) throws IOException {
        ByteBuffer d = new AvroRecords<>(GradientBatch.class)
                .decode(r.value())
                .getPayload()
                .getData();
        byte[] out = new byte[d.remaining()];
        d.duplicate().get(out);
        return out;
    }

    @Test
    void aSigningTopKPublisherSignsWhatItSends() throws IOException {
        List<ProducerRecord<byte[], byte[]>> sent = new ArrayList<>();
        var p = publisher(sent, "m", LAYOUT, GradientEncoding.topK(0.05), KEY_TEXT.getBytes(StandardCharsets.US_ASCII));
        p.publish("w", gradient(4), 1, s -> 0, 1, Double.NaN);
        byte[] key = KEY_TEXT.trim().getBytes(StandardCharsets.US_ASCII);
        assertThat(sent).hasSize(3).allSatisfy(r -> {
            var h = r.headers().lastHeader(RecordSignature.HEADER);
            assertThat(RecordSignature.verify(key, r.key(), r.value(), h.value()))
                    .isTrue();
        });
        // INIT values of a TOPK publisher go out dense (FP32).
        sent.clear();
        p.publishInitialValues("w", gradient(5));
        assertThat(new AvroRecords<>(GradientBatch.class)
                        .decode(sent.get(0).value())
                        .getPayload()
                        .getEncoding())
                .isEqualTo(Encoding.FP32);
        assertThat(PayloadCodecs.fp32().encoding()).isEqualTo(io.gradstream.core.codec.Encoding.FP32);
    }

    @Test
    void encodingsParseFromTheCommandLineForm() {
        assertThat(GradientEncoding.parse("fp32")).isEqualTo(GradientEncoding.of(Encoding.FP32));
        assertThat(GradientEncoding.parse("BF16").encoding()).isEqualTo(Encoding.BF16);
        assertThat(GradientEncoding.parse("fp16").errorFeedback()).isFalse();
        assertThat(GradientEncoding.parse("int8").errorFeedback()).isTrue();
        assertThat(GradientEncoding.parse("topk:0.01")).isEqualTo(GradientEncoding.topK(0.01));
        assertThat(GradientEncoding.parse("topk:0.1:noef").errorFeedback()).isFalse();
        assertThat(GradientEncoding.parse("bf16:ef").errorFeedback()).isTrue();
        for (String s : new String[] {"fp32", "bf16", "int8", "topk:0.01", "topk:0.1:noef", "fp16:ef"}) {
            assertThat(GradientEncoding.parse(GradientEncoding.parse(s).toString()))
                    .isEqualTo(GradientEncoding.parse(s));
        }
        assertThatThrownBy(() -> GradientEncoding.parse("topk")).hasMessageContaining("topk:FRACTION");
        assertThatThrownBy(() -> GradientEncoding.parse("topk:x")).hasMessageContaining("topk:0.01");
        assertThatThrownBy(() -> GradientEncoding.parse("topk:0")).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> GradientEncoding.of(Encoding.TOPK)).hasMessageContaining("topK(f)");
    }
}
