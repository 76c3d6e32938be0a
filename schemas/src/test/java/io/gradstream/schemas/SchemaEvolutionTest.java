package io.gradstream.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecordBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Readers of the current schemas must read every record written with the previous release's schemas (snapshots in
 * {@code src/test/resources/released/VERSION}): checked with Avro's compatibility rules and by decoding random
 * records written with the old schema into today's generated classes.
 */
class SchemaEvolutionTest {
    private static final String PREVIOUS = "0.1.0";
    private static final List<Class<? extends SpecificRecordBase>> RECORDS = List.of(
            ControlCommand.class,
            GradientBatch.class,
            ParameterUpdate.class,
            RejectedRecord.class,
            TensorPayload.class);

    static Map<String, Schema> released(String version) throws IOException {
        Schema.Parser parser = new Schema.Parser();
        Map<String, Schema> byName = new HashMap<>();
        String dir = "/released/" + version + "/";
        for (String file : read(dir + "ORDER").split("\n")) {
            if (!file.isBlank()) {
                Schema s = parser.parse(read(dir + file.trim()));
                byName.put(s.getFullName(), s);
            }
        }
        return byName;
    }

    private static String read(String resource) throws IOException {
        try (InputStream in = SchemaEvolutionTest.class.getResourceAsStream(resource)) {
            assertThat(in).as(resource).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static Schema current(Class<? extends SpecificRecordBase> type) {
        try {
            return (Schema) type.getField("SCHEMA$").get(null);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void currentReadersAreCompatibleWithThePreviousRelease() throws IOException {
        Map<String, Schema> previous = released(PREVIOUS);
        for (Class<? extends SpecificRecordBase> type : RECORDS) {
            Schema writer = previous.get(current(type).getFullName());
            assertThat(writer)
                    .as("%s in release %s", type.getSimpleName(), PREVIOUS)
                    .isNotNull();
            SchemaCompatibility.SchemaPairCompatibility c =
                    SchemaCompatibility.checkReaderWriterCompatibility(current(type), writer);
            assertThat(c.getType())
                    .as(type.getSimpleName() + ": " + c.getDescription())
                    .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE);
        }
    }

    @Test
    void randomRecordsWrittenWithThePreviousReleaseDecodeIntoTodaysClasses() throws IOException {
        Map<String, Schema> previous = released(PREVIOUS);
        Random rnd = new Random(11);
        for (Class<? extends SpecificRecordBase> type : RECORDS) {
            Schema writer = previous.get(current(type).getFullName());
            for (int i = 0; i < 20; i++) {
                GenericData.Record old = (GenericData.Record) RandomRecords.generate(writer, rnd, 0);
                SpecificRecordBase decoded = decode(encode(old, writer), writer, current(type));
                assertSameOnWriterFields(decoded, old, type.getSimpleName());
            }
        }
    }

    /** The rule the snapshots protect: a field added with a default reads as that default from old records. */
    @Test
    void aFieldAddedWithADefaultReadsAsItsDefault() throws IOException {
        Schema now = GradientBatch.getClassSchema();
        Schema older = withoutFields(now, "publishedAtMs", "kind", "loss");
        GenericData.Record old = (GenericData.Record) RandomRecords.generate(older, new Random(5), 0);
        GradientBatch read = (GradientBatch) decode(encode(old, older), older, now);
        assertThat(read.getPublishedAtMs()).isZero();
        assertThat(read.getKind()).isEqualTo(GradientKind.GRADIENT);
        assertThat(read.getLoss()).isNull();
        assertThat(read.getWorkerId()).isEqualTo(old.get("workerId").toString());
    }

    /** The check can fail: changing a field's type or adding one without a default is refused. */
    @ParameterizedTest
    @ValueSource(strings = {"typeChange", "noDefault"})
    void incompatibleChangesAreDetected(String change) {
        Schema now = GradientBatch.getClassSchema();
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : now.getFields()) {
            if (change.equals("typeChange") && f.name().equals("shard")) {
                fields.add(new Schema.Field("shard", Schema.create(Schema.Type.STRING), f.doc(), (Object) null));
            } else {
                fields.add(new Schema.Field(f, f.schema()));
            }
        }
        if (change.equals("noDefault")) {
            fields.add(new Schema.Field("priority", Schema.create(Schema.Type.INT), "new", (Object) null));
        }
        Schema next = Schema.createRecord(now.getName(), now.getDoc(), now.getNamespace(), false, fields);
        assertThat(SchemaCompatibility.checkReaderWriterCompatibility(next, now).getType())
                .isEqualTo(SchemaCompatibility.SchemaCompatibilityType.INCOMPATIBLE);
    }

    /**
     * Every field the old writer had reads back with its value, nested records included; fields added since (with
     * their defaults) are not compared.
     */
    private static void assertSameOnWriterFields(Object decoded, Object old, String path) {
        if (old instanceof GenericRecord o && decoded instanceof IndexedRecord d) {
            for (Schema.Field f : o.getSchema().getFields()) {
                Schema.Field now = d.getSchema().getField(f.name());
                if (now != null) {
                    assertSameOnWriterFields(d.get(now.pos()), o.get(f.name()), path + "." + f.name());
                }
            }
        } else if (old instanceof List<?> o && decoded instanceof List<?> d) {
            assertThat(d).as(path).hasSameSizeAs(o);
            for (int i = 0; i < o.size(); i++) {
                assertSameOnWriterFields(d.get(i), o.get(i), path + "[" + i + "]");
            }
        } else {
            assertThat(RandomRecords.normalize(decoded)).as(path).isEqualTo(RandomRecords.normalize(old));
        }
    }

    private static Schema withoutFields(Schema s, String... names) {
        List<String> drop = List.of(names);
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : s.getFields()) {
            if (!drop.contains(f.name())) {
                fields.add(new Schema.Field(f, f.schema()));
            }
        }
        return Schema.createRecord(s.getName(), s.getDoc(), s.getNamespace(), false, fields);
    }

    private static byte[] encode(GenericData.Record r, Schema writer) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        BinaryEncoder enc = EncoderFactory.get().binaryEncoder(out, null);
        new GenericDatumWriter<GenericData.Record>(writer).write(r, enc);
        enc.flush();
        return out.toByteArray();
    }

    private static SpecificRecordBase decode(byte[] bytes, Schema writer, Schema reader) throws IOException {
        SpecificDatumReader<SpecificRecordBase> r = new SpecificDatumReader<>(writer, reader);
        return r.read(
                null, DecoderFactory.get().binaryDecoder(ByteBuffer.wrap(bytes).array(), null));
    }
}
