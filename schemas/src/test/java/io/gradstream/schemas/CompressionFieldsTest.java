package io.gradstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.junit.jupiter.api.Test;

/**
 * The fields release 0.3.0 appended: ControlCommand.compression (control records of 0.1.0 and 0.2.0 still decode) and
 * ParameterUpdate's kind and baseVersion (a full update is written byte for byte as 0.2.0 wrote it, a delta carries
 * them so that a 0.2.0 reader, which refuses trailing bytes, skips it).
 */
class CompressionFieldsTest {
    /**
     * A CREATE with a worker list ({@code w0} keyed by {@code /keys/w0}) as release 0.2.0's gradstream-schemas jar
     * encoded it (ControlCommand ending with workers); the spec is {@link AppendedFieldsTest}'s.
     */
    private static final String WRITTEN_BY_020 = "026d0002020277020800008080080653474402046c72009a9999999999b93f"
            + "00000002000000007b14ae47e17a843f9a9999999999a9bf9a9999999999a93f00000000a413"
            + "020204773002102f6b6579732f77300000";

    /**
     * A ParameterUpdate (m/w/1 at version 7, FP32 {1.5, -2}, 2 contributions, 8 examples, mean loss 0.5, published at
     * 99) as release 0.2.0's jar encoded it.
     */
    private static final String UPDATE_BY_020 = "026d0277020e0004100000c03f000000c0041002000000000000e03f00c601";

    private final AvroRecords<ControlCommand> commands = new AvroRecords<>(ControlCommand.class);
    private final AvroRecords<ParameterUpdate> updates = new AvroRecords<>(ParameterUpdate.class);

    private static ParameterUpdate.Builder update() {
        return ParameterUpdate.newBuilder()
                .setModelId("m")
                .setTensor("w")
                .setShard(1)
                .setVersion(7)
                .setPayload(new TensorPayload(
                        Encoding.FP32, 2, ByteBuffer.wrap(new byte[] {0, 0, (byte) 0xc0, 0x3f, 0, 0, 0, (byte) 0xc0})))
                .setContributions(2)
                .setExamples(8)
                .setMeanLoss(0.5)
                .setLatestPublishedAtMs(99);
    }

    @Test
    void aCommandOfRelease020DecodesWithoutCompression() throws IOException {
        ControlCommand read = commands.decode(HexFormat.of().parseHex(WRITTEN_BY_020));
        assertThat(read.getWorkers()).containsOnlyKeys("w0");
        assertThat(read.getWorkers().get("w0").getKeyFile()).isEqualTo("/keys/w0");
        assertThat(read.getCompression()).isNull();
        assertThat(read.getSpec().getOptimizer()).isEqualTo("SGD");
    }

    @Test
    void aCreateWithCompressionRoundTripsAndTakesDefaults() throws IOException {
        ControlCommand c = ControlCommand.newBuilder(
                        commands.decode(HexFormat.of().parseHex(WRITTEN_BY_020)))
                .setCompression(CompressionSpec.newBuilder()
                        .setInputEncodings(List.of(Encoding.TOPK, Encoding.INT8_BLOCK))
                        .setDeltaEncoding(Encoding.TOPK)
                        .build())
                .build();
        ControlCommand read = commands.decode(commands.encode(c));
        assertThat(read).isEqualTo(c);
        assertThat(read.getCompression().getDeltaTopKFraction()).isEqualTo(0.01);
        assertThat(read.getCompression().getSnapshotEvery()).isEqualTo(100);
        assertThat(CommandType.valueOf("SNAPSHOT").ordinal()).isEqualTo(5); // appended after DELETE
    }

    @Test
    void aFullUpdateIsWrittenAsRelease020WroteIt() throws IOException {
        ParameterUpdate full = update().build();
        assertThat(full.getKind()).isEqualTo(UpdateKind.FULL);
        assertThat(full.getBaseVersion()).isEqualTo(-1);
        byte[] compact = updates.encodeCompact(full);
        assertThat(HexFormat.of().formatHex(compact)).isEqualTo(UPDATE_BY_020);
        assertThat(updates.decode(compact)).isEqualTo(full);
        // The plain encoding carries the appended fields (2 bytes), and decodes the same.
        assertThat(updates.encode(full)).hasSize(compact.length + 2);
        assertThat(updates.decode(updates.encode(full))).isEqualTo(full);
        // An update of release 0.2.0 is a full one.
        assertThat(updates.decode(HexFormat.of().parseHex(UPDATE_BY_020))).isEqualTo(full);
    }

    @Test
    void aDeltaCarriesItsKindAndBaseAndA020ReaderFindsTrailingBytes() throws IOException {
        ParameterUpdate delta =
                update().setKind(UpdateKind.DELTA).setBaseVersion(6).build();
        byte[] bytes = updates.encodeCompact(delta);
        assertThat(bytes).startsWith(HexFormat.of().parseHex(UPDATE_BY_020));
        assertThat(updates.decode(bytes)).isEqualTo(delta);
        // A reader of release 0.2.0's schema stops before the appended fields: bytes are left, which AvroRecords of
        // that release refuses ("trailing bytes"), so a 0.2.0 subscriber never takes a delta for parameters.
        Schema release020 =
                AvroRecords.earlierSchemas(ParameterUpdate.getClassSchema()).get(0);
        BinaryDecoder in = DecoderFactory.get().binaryDecoder(bytes, null);
        GenericRecord old = new GenericDatumReader<GenericRecord>(release020).read(null, in);
        assertThat(old.get("version")).isEqualTo(7L);
        assertThat(in.isEnd()).isFalse();
        // A non-default base alone also keeps the appended fields.
        ParameterUpdate odd = update().setBaseVersion(3).build();
        assertThat(updates.encodeCompact(odd)).hasSize(bytes.length);
        assertThat(updates.decode(updates.encodeCompact(odd))).isEqualTo(odd);
        assertThat(Map.of("kind", delta.getKind())).containsEntry("kind", UpdateKind.DELTA);
    }
}
