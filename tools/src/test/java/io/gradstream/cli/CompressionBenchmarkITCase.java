package io.gradstream.cli;

import static io.gradstream.cli.CliRuns.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.Encoding;
import io.gradstream.schemas.GradientBatch;
import io.gradstream.schemas.GradientKind;
import io.gradstream.schemas.TensorPayload;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short {@code gradstream bench compression} end to end (embedded Kafka, the job, real workers): every step of every
 * run is in the CSV, and the byte counts are the real records' — FP32 gradients exactly the bytes of the records the
 * publisher writes, TOPK 1 % ones exactly those with its 4 + 8·k byte payloads — not the accuracy, which a 3-step run
 * cannot show.
 */
class CompressionBenchmarkITCase {
    private static final int STEPS = 3;
    /** The demo model's shards: W (640 floats in 256, 256, 128) and b (10). */
    private static final List<Object[]> SHARDS = List.of(
            new Object[] {"W", 0, 256}, new Object[] {"W", 1, 256}, new Object[] {"W", 2, 128}, new Object[] {"b", 0, 10
            });

    @Test
    void aShortStudyCountsTheRealRecordBytesOfEveryStep(@TempDir Path out) throws Exception {
        CliRuns.CliRun run = cli(
                "bench",
                "compression",
                "--steps",
                String.valueOf(STEPS),
                "--models",
                "digits",
                "--optimizers",
                "adam",
                "--encodings",
                "fp32,topk:0.01",
                "--eval-every",
                "1",
                "--out",
                out.toString());
        assertThat(run.status()).as(run.out() + run.err()).isZero();
        assertThat(run.out()).contains("| digits | adam | fp32 |").contains("| digits | adam | topk:0.01 |");

        List<String> lines = Files.readAllLines(out.resolve("compression.csv"));
        assertThat(lines.get(0))
                .isEqualTo("model,optimizer,run,gradients,error_feedback,parameters,step,batch_loss,loss,accuracy,"
                        + "gradient_bytes,parameter_bytes,cumulative_bytes");
        Map<String, Map<Integer, String[]>> rows = new HashMap<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split(",", -1);
            assertThat(f).hasSize(13);
            assertThat(rows.computeIfAbsent(f[2], k -> new HashMap<>()).put(Integer.parseInt(f[6]), f))
                    .as("one row per run and step")
                    .isNull();
        }
        assertThat(rows.keySet()).containsExactlyInAnyOrder("fp32", "topk:0.01");
        for (var r : rows.values()) {
            assertThat(r.keySet()).containsExactlyInAnyOrder(0, 1, 2, 3);
            long cumulative = 0;
            for (int step = 0; step <= STEPS; step++) {
                String[] f = r.get(step);
                double accuracy = Double.parseDouble(f[9]);
                assertThat(accuracy).isBetween(0.0, 1.0);
                long g = Long.parseLong(f[10]);
                long p = Long.parseLong(f[11]);
                cumulative += g + p;
                assertThat(Long.parseLong(f[12])).isEqualTo(cumulative);
                // Every version reaches the parameters topic, FULL or DELTA: at least the 4 shards' keys.
                assertThat(p).as("parameter bytes of version " + step).isGreaterThan(4 * 10);
            }
        }
        for (int step = 1; step <= STEPS; step++) {
            long fp32 = Long.parseLong(rows.get("fp32").get(step)[10]);
            long topk = Long.parseLong(rows.get("topk:0.01").get(step)[10]);
            assertThat(fp32).as("FP32 gradient bytes of step " + step).isEqualTo(expected("study-000", step, -1));
            assertThat(topk).as("TOPK gradient bytes of step " + step).isEqualTo(expected("study-001", step, 0.01));
            assertThat(topk * 5).isLessThan(fp32);
            // A TOPK 1 % delta is smaller than a full FP32 snapshot at every step between snapshots.
            assertThat(Long.parseLong(rows.get("topk:0.01").get(step)[11]))
                    .isLessThan(Long.parseLong(rows.get("fp32").get(step)[11]) / 4);
        }
        assertThat(rows.get("fp32").get(0)[10]).isEqualTo("0"); // the demo model has no INIT records

        BufferedImage png =
                ImageIO.read(out.resolve("compression-digits-adam.png").toFile());
        assertThat(png.getWidth()).isEqualTo(1000);
        assertThat(png.getHeight()).isGreaterThan(1000);
    }

    /**
     * The bytes (key + value) of the records a publisher writes for one step of the demo model: the same Avro record
     * with a payload of the encoding's length (FP32: 4 bytes per element; TOPK: 4 + 8·⌈fraction·n⌉), a loss and a
     * timestamp of today's width.
     */
    private static long expected(String model, int step, double topk) throws Exception {
        AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
        long total = 0;
        for (Object[] s : SHARDS) {
            int n = (int) s[2];
            int bytes = topk < 0 ? 4 * n : 4 + 8 * (int) Math.ceil(topk * n);
            GradientBatch b = GradientBatch.newBuilder()
                    .setModelId(model)
                    .setTensor((String) s[0])
                    .setShard((int) s[1])
                    .setWorkerId("w0")
                    .setWorkerStep(step)
                    .setBaseVersion(step - 1)
                    .setNumExamples(64)
                    .setPayload(TensorPayload.newBuilder()
                            .setEncoding(topk < 0 ? Encoding.FP32 : Encoding.TOPK)
                            .setElementCount(n)
                            .setData(ByteBuffer.allocate(bytes))
                            .build())
                    .setLoss(1.0)
                    .setKind(GradientKind.GRADIENT)
                    .setPublishedAtMs(System.currentTimeMillis())
                    .build();
            total += (model + "/" + s[0] + "/" + s[1]).getBytes(StandardCharsets.UTF_8).length + avro.encode(b).length;
        }
        return total;
    }

    @Test
    void invalidArgumentsAreRefused() {
        CliRuns.CliRun zero = cli("bench", "compression", "--steps", "0");
        assertThat(zero.status()).isEqualTo(2);
        assertThat(zero.err()).contains("--steps");
        CliRuns.CliRun bad = cli("bench", "compression", "--encodings", "topk:0.01/zstd");
        assertThat(bad.status()).isEqualTo(2);
        assertThat(bad.err()).contains("parameters must be fp32, bf16, fp16, int8 or topk:FRACTION");
    }
}
