package io.gradstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Decoding is bounded by the record's own bytes: declared lengths and counts beyond them fail before allocating. */
class AvroRecordsTest {

    /** Avro's zig-zag varint of {@code v}. */
    private static byte[] varint(long v) {
        long z = (v << 1) ^ (v >> 63);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        while ((z & ~0x7FL) != 0) {
            out.write((int) ((z & 0x7F) | 0x80));
            z >>>= 7;
        }
        out.write((int) z);
        return out.toByteArray();
    }

    private static GradientBatch gradient() {
        return GradientBatch.newBuilder()
                .setModelId("m")
                .setTensor("w")
                .setShard(0)
                .setWorkerId("w1")
                .setWorkerStep(3)
                .setBaseVersion(2)
                .setNumExamples(8)
                .setLoss(0.5)
                .setPublishedAtMs(1)
                .setPayload(new TensorPayload(Encoding.FP32, 2, ByteBuffer.wrap(new byte[8])))
                .build();
    }

    @Test
    void roundTripsValidRecords() throws IOException {
        AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
        GradientBatch g = gradient();
        assertThat(avro.decode(avro.encode(g))).isEqualTo(g);
    }

    @Test
    void aStringDeclaringTwoGibibytesFailsWithoutAllocating() {
        // The 5-byte record: the model id declares 2^31 - 1 bytes.
        byte[] bomb = varint(Integer.MAX_VALUE);
        assertThat(bomb).hasSize(5);
        assertThatThrownBy(() -> new AvroRecords<>(GradientBatch.class).decode(bomb))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("declares 2147483647 bytes");
    }

    @Test
    void anArrayDeclaringTwoGibiItemsFailsWithoutAllocating() {
        // A CREATE whose first fields are valid and whose tensor array declares 2^31 - 1 items.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(varint(1)); // modelId length 1
        out.write('m');
        out.writeBytes(varint(0)); // type CREATE
        out.writeBytes(varint(1)); // spec: union branch ModelSpec
        out.writeBytes(varint(Integer.MAX_VALUE)); // tensors: block count
        assertThatThrownBy(() -> new AvroRecords<>(ControlCommand.class).decode(out.toByteArray()))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("items");
    }

    private static ControlCommand createOf(int tensors, int dims) {
        List<TensorSpec> specs = new java.util.ArrayList<>();
        for (int i = 0; i < tensors; i++) {
            specs.add(TensorSpec.newBuilder()
                    .setName("")
                    .setShape(java.util.Collections.nCopies(dims, 1))
                    .build());
        }
        ModelSpec spec = ModelSpec.newBuilder()
                .setTensors(specs)
                .setOptimizer("SGD")
                .setHyperparameters(java.util.Map.of("lr", 0.1))
                .setAggregation(AggregationSpec.newBuilder().build())
                .setInit(InitSpec.newBuilder().build())
                .build();
        return ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.CREATE)
                .setSpec(spec)
                .build();
    }

    @Test
    void theItemBudgetCountsEveryArrayAndMapItemOfTheRecord() throws IOException {
        // 10 tensors, each with 3 dimensions, and one hyperparameter: 10 + 30 + 1 items.
        byte[] bytes = new AvroRecords<>(ControlCommand.class).encode(createOf(10, 3));
        assertThat(new AvroRecords<>(ControlCommand.class, 41)
                        .decode(bytes)
                        .getSpec()
                        .getTensors())
                .hasSize(10);
        assertThatThrownBy(() -> new AvroRecords<>(ControlCommand.class, 40).decode(bytes))
                .isInstanceOf(AvroRecords.TooManyItemsException.class)
                .hasMessageContaining("more than 40");
    }

    @Test
    void millionsOfTwoByteItemsAreRefusedBeforeTheyBecomeObjects() {
        // An empty tensor takes two bytes on the wire (name "", shape []) and some 90 bytes of heap once decoded:
        // 16 MiB of them would be 700 MB. Written as many blocks, so the budget holds across blocks.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(varint(1));
        out.write('m');
        out.writeBytes(varint(0)); // CREATE
        out.writeBytes(varint(1)); // spec present
        for (int block = 0; block < 1000; block++) {
            out.writeBytes(varint(1000));
            out.writeBytes(new byte[2000]);
        }
        out.writeBytes(varint(0));
        assertThatThrownBy(() -> new AvroRecords<>(ControlCommand.class, 100_000).decode(out.toByteArray()))
                .isInstanceOf(AvroRecords.TooManyItemsException.class)
                .hasMessageContaining("more than 100000");
    }

    @Test
    void negativeLengthsTruncationsAndTrailingBytesAreRefused() {
        AvroRecords<GradientBatch> avro = new AvroRecords<>(GradientBatch.class);
        byte[] valid = avro.encode(gradient());
        assertThatThrownBy(() -> avro.decode(varint(-5))).isInstanceOf(IOException.class);
        for (int n = 0; n < valid.length; n++) {
            byte[] cut = java.util.Arrays.copyOf(valid, n);
            assertThatThrownBy(() -> avro.decode(cut)).isInstanceOf(IOException.class);
        }
        byte[] longer = java.util.Arrays.copyOf(valid, valid.length + 1);
        assertThatThrownBy(() -> avro.decode(longer))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("trailing");
    }

    @Test
    void randomBytesNeverEscapeAsAnythingButIOException() {
        Random r = new Random(42);
        AvroRecords<GradientBatch> gradients = new AvroRecords<>(GradientBatch.class);
        AvroRecords<ControlCommand> commands = new AvroRecords<>(ControlCommand.class);
        byte[] valid = gradients.encode(gradient());
        int decoded = 0;
        int refused = 0;
        for (int i = 0; i < 20_000; i++) {
            byte[] b;
            if (i % 2 == 0) {
                b = new byte[r.nextInt(64)];
                r.nextBytes(b);
            } else { // a valid record with one byte flipped
                b = valid.clone();
                b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            }
            for (AvroRecords<?> avro : List.of(gradients, commands)) {
                try {
                    avro.decode(b);
                    decoded++;
                } catch (IOException expected) {
                    refused++;
                }
            }
        }
        // Any other throwable (OutOfMemoryError, an unchecked exception) would have failed the test above.
        assertThat(decoded + refused).isEqualTo(40_000);
        assertThat(refused).isGreaterThan(30_000);
    }
}
