package io.gradstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

/**
 * Control records have no schema id, and the control log keeps every CREATE for good: a field appended to
 * ControlCommand ({@code workers}) must leave the records written before it readable, and nothing else readable.
 */
class AppendedFieldsTest {
    private final AvroRecords<ControlCommand> avro = new AvroRecords<>(ControlCommand.class);

    private static ControlCommand create(Map<String, WorkerKey> workers) {
        return ControlCommand.newBuilder()
                .setModelId("m")
                .setType(CommandType.CREATE)
                .setSpec(ModelSpec.newBuilder()
                        .setTensors(List.of(TensorSpec.newBuilder()
                                .setName("w")
                                .setShape(List.of(4))
                                .build()))
                        .setOptimizer("SGD")
                        .setHyperparameters(Map.of("lr", 0.1))
                        .setAggregation(AggregationSpec.newBuilder().build())
                        .setInit(InitSpec.newBuilder().build())
                        .build())
                .setIssuedAtMs(1234)
                .setWorkers(workers)
                .build();
    }

    /**
     * {@code create(null)} as the code before the workers field wrote it: encoded with the gradstream-schemas jar of
     * the commit before this field was appended (its ControlCommand ends with issuedAtMs), not derived from today's
     * schema, so the test does not check the derivation against itself.
     */
    private static final String WRITTEN_BEFORE_WORKERS =
            "026d0002020277020800008080080653474402046c72009a9999999999b93f"
                    + "00000002000000007b14ae47e17a843f9a9999999999a9bf9a9999999999a93f00000000a413";

    @Test
    void theEarlierSchemaIsTodaysWithoutTheAppendedField() {
        List<Schema> earlier = AvroRecords.earlierSchemas(ControlCommand.getClassSchema());
        assertThat(earlier).hasSize(3);
        assertThat(earlier.get(0).getFields())
                .extracting(Schema.Field::name)
                .containsExactly(
                        "modelId",
                        "type",
                        "spec",
                        "hyperparameters",
                        "lrSchedule",
                        "issuedAtMs",
                        "workers",
                        "compression");
        assertThat(earlier.get(1).getFields())
                .extracting(Schema.Field::name)
                .containsExactly("modelId", "type", "spec", "hyperparameters", "lrSchedule", "issuedAtMs", "workers");
        assertThat(earlier.get(2).getFields())
                .extracting(Schema.Field::name)
                .containsExactly("modelId", "type", "spec", "hyperparameters", "lrSchedule", "issuedAtMs");
        assertThat(AvroRecords.earlierSchemas(GradientBatch.getClassSchema())).isEmpty();
    }

    @Test
    void aCommandWrittenBeforeTheWorkersFieldDecodesWithNoWorkerList() throws IOException {
        byte[] old = HexFormat.of().parseHex(WRITTEN_BEFORE_WORKERS);
        ControlCommand read = avro.decode(old);
        assertThat(read.getWorkers()).isNull();
        assertThat(read).isEqualTo(create(null));
        // Today's writer appends three bytes: the union branches of workers, compression and privacyAccounting = null.
        byte[] today = avro.encode(create(null));
        assertThat(today).hasSize(old.length + 3).startsWith(old).endsWith(0, 0, 0);
        // The item budget still applies to old records: they hold 3 items (the tensor, its dimension, lr).
        assertThatThrownBy(() -> new AvroRecords<>(ControlCommand.class, 2).decode(old))
                .isInstanceOf(AvroRecords.TooManyItemsException.class);
    }

    @Test
    void aCommandWithWorkersRoundTrips() throws IOException {
        ControlCommand c = create(Map.of(
                "w0", WorkerKey.newBuilder().setKeyFile("/keys/w0").build(),
                "w1", WorkerKey.newBuilder().setKeyEnv("W1_KEY").build()));
        ControlCommand read = avro.decode(avro.encode(c));
        assertThat(read).isEqualTo(c);
        assertThat(read.getWorkers().get("w1").getKeyEnv()).isEqualTo("W1_KEY");
    }

    @Test
    void bytesThatEndAnywhereButBeforeTheAppendedFieldAreRefused() throws IOException {
        byte[] full = avro.encode(
                create(Map.of("w0", WorkerKey.newBuilder().setKeyFile("/k").build())));
        byte[] old = avro.encode(create(null));
        int boundary = old.length - 3; // where release 0.1.0's record ends
        int boundary020 = full.length - 2; // where release 0.2.0's record ends (before compression = null)
        int boundary030 = full.length - 1; // where release 0.3.0's record ends (before privacyAccounting = null)
        for (int n = 0; n < full.length; n++) {
            byte[] cut = Arrays.copyOf(full, n);
            if (n == boundary) {
                assertThat(avro.decode(cut).getWorkers()).isNull();
            } else if (n == boundary020) {
                assertThat(avro.decode(cut).getWorkers()).containsKey("w0");
                assertThat(avro.decode(cut).getCompression()).isNull();
            } else if (n == boundary030) {
                assertThat(avro.decode(cut).getWorkers()).containsKey("w0");
                assertThat(avro.decode(cut).getPrivacyAccounting()).isNull();
            } else {
                assertThatThrownBy(() -> avro.decode(cut))
                        .as("%d of %d bytes", n, full.length)
                        .isInstanceOf(IOException.class);
            }
        }
        // An old record with a byte more is neither schema's record.
        byte[] longer = Arrays.copyOf(HexFormat.of().parseHex(WRITTEN_BEFORE_WORKERS), boundary + 1);
        longer[boundary] = 2; // the map branch, and then nothing
        assertThatThrownBy(() -> avro.decode(longer)).isInstanceOf(IOException.class);
    }

    @Test
    void onlyTrailingFieldsWithDefaultsMayBeMarked() {
        Schema noDefault = new Schema.Parser()
                .parse("{\"type\": \"record\", \"name\": \"R\", \"fields\": [{\"name\": \"a\", \"type\": \"int\"},"
                        + " {\"name\": \"b\", \"type\": \"int\", \"since\": \"2\"}]}");
        assertThatThrownBy(() -> AvroRecords.earlierSchemas(noDefault))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("R.b")
                .hasMessageContaining("no default");
        Schema notTrailing = new Schema.Parser()
                .parse("{\"type\": \"record\", \"name\": \"S\", \"fields\": [{\"name\": \"a\", \"type\": \"int\","
                        + " \"default\": 0, \"since\": \"2\"}, {\"name\": \"b\", \"type\": \"int\"}]}");
        assertThatThrownBy(() -> AvroRecords.earlierSchemas(notTrailing))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not at the end");
        Schema twoReleases = new Schema.Parser()
                .parse("{\"type\": \"record\", \"name\": \"T\", \"fields\": [{\"name\": \"a\", \"type\": \"int\"},"
                        + " {\"name\": \"b\", \"type\": \"int\", \"default\": 0, \"since\": \"2\"},"
                        + " {\"name\": \"c\", \"type\": \"int\", \"default\": 0, \"since\": \"3\"},"
                        + " {\"name\": \"d\", \"type\": \"int\", \"default\": 0, \"since\": \"3\"}]}");
        assertThat(AvroRecords.earlierSchemas(twoReleases))
                .extracting(s -> s.getFields().size())
                .containsExactly(2, 1);
    }
}
