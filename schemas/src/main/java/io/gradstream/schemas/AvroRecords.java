package io.gradstream.schemas;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Raw Avro binary (no header, no registry) for one record type, as on gradstream's topics: the same bytes that
 * flink-avro's {@code AvroSerializationSchema.forSpecific} writes. Records written before trailing fields marked
 * {@value #APPENDED} were added still decode (see {@link #decode}). Not thread-safe (reuses its encoder/decoder).
 */
public final class AvroRecords<T extends SpecificRecordBase> {
    /**
     * The field property that marks a field appended at the end of a record after a release (its value names the
     * release that added it, e.g. {@code "since": "0.2.0"}). Raw binary carries no writer schema, so a record written
     * before such a field ends exactly where the field begins; it is read as that earlier schema, the field taking
     * its default. Only trailing fields may carry it, and each needs a default.
     */
    public static final String APPENDED = "since";

    private final SpecificDatumReader<T> reader;
    /** Readers of records written before the appended fields, the most recent schema first. */
    private final List<SpecificDatumReader<T>> earlier;

    private final SpecificDatumWriter<T> writer;
    /**
     * Writers of the earlier schemas, the oldest first, each with the number of fields it writes: a record whose later
     * fields all hold their defaults is written as the oldest that can hold it ({@link #encodeCompact}).
     */
    private final List<Map.Entry<Integer, SpecificDatumWriter<T>>> earlierWriters = new ArrayList<>();

    private final long maxItems;
    private BinaryEncoder encoder;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();

    /** A record's array and map items (each an object on the heap) exceed the decoder's budget. */
    public static final class TooManyItemsException extends IOException {
        private static final long serialVersionUID = 1L;

        TooManyItemsException(String message) {
            super(message);
        }
    }

    public AvroRecords(Class<T> type) {
        this(type, Long.MAX_VALUE);
    }

    /**
     * @param maxItems most array and map items one decoded record may hold, over all its collections: an item of a
     *     byte or two on the wire is an object of about a hundred bytes on the heap, so the record's size alone
     *     bounds a decoded record only to some fifty times that size
     */
    public AvroRecords(Class<T> type, long maxItems) {
        if (maxItems < 0) {
            throw new IllegalArgumentException("maxItems must be >= 0, got " + maxItems);
        }
        this.reader = new SpecificDatumReader<>(type);
        this.writer = new SpecificDatumWriter<>(type);
        this.maxItems = maxItems;
        this.earlier = new ArrayList<>();
        Schema current = reader.getSchema();
        for (Schema older : earlierSchemas(current)) {
            earlier.add(new SpecificDatumReader<>(older, current));
            // A specific record is written by field position, so a schema that is a prefix writes the prefix.
            earlierWriters.add(0, Map.entry(older.getFields().size(), new SpecificDatumWriter<>(older)));
        }
    }

    /**
     * The schemas {@code current} had before its trailing {@link #APPENDED} fields were added, the most recent first:
     * one per release that appended fields (consecutive trailing fields with the same marker were added together).
     *
     * @throws IllegalStateException when a marked field has no default or is followed by an unmarked one
     */
    public static List<Schema> earlierSchemas(Schema current) {
        List<Schema.Field> fields = current.getFields();
        List<Schema> out = new ArrayList<>();
        int end = fields.size();
        while (end > 0 && fields.get(end - 1).getProp(APPENDED) != null) {
            String release = fields.get(end - 1).getProp(APPENDED);
            while (end > 0 && release.equals(fields.get(end - 1).getProp(APPENDED))) {
                Schema.Field f = fields.get(end - 1);
                if (!f.hasDefaultValue()) {
                    throw new IllegalStateException(current.getName() + "." + f.name() + " is marked " + APPENDED
                            + " but has no default, so records written before it cannot be read");
                }
                end--;
            }
            List<Schema.Field> kept = new ArrayList<>();
            for (Schema.Field f : fields.subList(0, end)) {
                kept.add(new Schema.Field(f, f.schema()));
            }
            out.add(Schema.createRecord(
                    current.getName(), current.getDoc(), current.getNamespace(), current.isError(), kept));
        }
        for (Schema.Field f : fields.subList(0, end)) {
            if (f.getProp(APPENDED) != null) {
                throw new IllegalStateException(current.getName() + "." + f.name() + " is marked " + APPENDED
                        + " but is not at the end of the record");
            }
        }
        return out;
    }

    /**
     * Decodes one record. No length or count the bytes declare can allocate more than the bytes hold
     * ({@link BoundedDecoder}), so hostile input costs at most a few times its own size.
     *
     * <p>When the bytes end before the current schema does, they are tried as each earlier schema of
     * {@link #earlierSchemas}: a record written before fields were appended ends exactly where they begin, decodes as
     * that schema to its last byte, and reads the appended fields as their defaults. Bytes that end anywhere else
     * (inside a field, or inside an appended one) are refused as before.
     *
     * @throws IOException when the bytes are not a record of this type (truncated, garbage, trailing bytes, a length
     *     or count beyond the record); {@link TooManyItemsException} when it has more items than {@code maxItems}
     */
    public T decode(byte[] bytes) throws IOException {
        if (bytes == null) {
            throw new IOException("no value");
        }
        try {
            return decode(reader, bytes);
        } catch (EOFException e) {
            for (SpecificDatumReader<T> older : earlier) {
                try {
                    return decode(older, bytes);
                } catch (IOException ignored) {
                    // Not a record of that schema either; the current schema's error says what is wrong.
                }
            }
            throw e;
        }
    }

    private T decode(SpecificDatumReader<T> with, byte[] bytes) throws IOException {
        BoundedDecoder decoder = new BoundedDecoder(bytes, maxItems);
        T record;
        try {
            record = with.read(null, decoder);
        } catch (RuntimeException e) {
            // Avro reports some malformed input (negative lengths, bad union index) as runtime exceptions.
            throw new IOException(e.getClass().getSimpleName() + ": " + e.getMessage(), e);
        }
        if (!decoder.isEnd()) {
            throw new IOException("trailing bytes after a " + record.getSchema().getName());
        }
        return record;
    }

    public byte[] encode(T record) {
        return encode(record, writer);
    }

    /**
     * Encodes {@code record} as the oldest schema of {@link #earlierSchemas} whose omitted {@value #APPENDED} fields
     * all hold their defaults, else as today's: the bytes an older writer wrote for it, so that a reader of that
     * release, which refuses trailing bytes, still reads it; a record that uses an appended field carries it (and such
     * a reader skips it rather than misreading it). Today's {@link #decode} reads both.
     */
    public byte[] encodeCompact(T record) {
        Schema schema = record.getSchema();
        List<Schema.Field> fields = schema.getFields();
        for (Map.Entry<Integer, SpecificDatumWriter<T>> w : earlierWriters) {
            boolean defaults = true;
            for (Schema.Field f : fields.subList(w.getKey(), fields.size())) {
                Object value = record.get(f.pos());
                Object dflt = SpecificData.get().getDefaultValue(f);
                if (SpecificData.get().compare(value, dflt, f.schema()) != 0) {
                    defaults = false;
                    break;
                }
            }
            if (defaults) {
                return encode(record, w.getValue());
            }
        }
        return encode(record, writer);
    }

    private byte[] encode(T record, SpecificDatumWriter<T> with) {
        buffer.reset();
        encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
        try {
            with.write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buffer.toByteArray();
    }
}
