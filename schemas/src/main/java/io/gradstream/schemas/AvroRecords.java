package io.gradstream.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecordBase;

/**
 * Raw Avro binary (no header, no registry) for one record type, as on gradstream's topics: the same bytes that
 * flink-avro's {@code AvroSerializationSchema.forSpecific} writes. Not thread-safe (reuses its encoder/decoder).
 */
public final class AvroRecords<T extends SpecificRecordBase> {
    private final SpecificDatumReader<T> reader;
    private final SpecificDatumWriter<T> writer;
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
    }

    /**
     * Decodes one record. No length or count the bytes declare can allocate more than the bytes hold
     * ({@link BoundedDecoder}), so hostile input costs at most a few times its own size.
     *
     * @throws IOException when the bytes are not a record of this type (truncated, garbage, trailing bytes, a length
     *     or count beyond the record); {@link TooManyItemsException} when it has more items than {@code maxItems}
     */
    public T decode(byte[] bytes) throws IOException {
        if (bytes == null) {
            throw new IOException("no value");
        }
        BoundedDecoder decoder = new BoundedDecoder(bytes, maxItems);
        T record;
        try {
            record = reader.read(null, decoder);
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
        buffer.reset();
        encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
        try {
            writer.write(record, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return buffer.toByteArray();
    }
}
