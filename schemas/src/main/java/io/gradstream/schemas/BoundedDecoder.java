package io.gradstream.schemas;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.avro.io.Decoder;
import org.apache.avro.util.Utf8;

/**
 * Avro binary decoding of one record held in a byte array, where no declared length can allocate more than the bytes
 * that are actually there: a string or bytes length, and an array or map block count, must fit in what remains of the
 * record before anything is allocated. Avro's own {@code BinaryDecoder} trusts those prefixes (5 bytes declaring a
 * 2 GiB string are an {@code OutOfMemoryError}); its JVM-wide {@code org.apache.avro.limits.*} properties bound them
 * by a constant, not by the record. Every item of gradstream's schemas takes at least one byte, so the count check
 * bounds an array's allocation by the record's size. An item of one or two bytes still becomes an object of about a
 * hundred bytes on the heap, so a budget of items across the whole record ({@code maxItems}) bounds what the decoded
 * record holds.
 */
final class BoundedDecoder extends Decoder {
    private final byte[] buf;
    private int pos;
    private final int end;
    private final long maxItems;
    private long itemsLeft;

    BoundedDecoder(byte[] bytes) {
        this(bytes, Long.MAX_VALUE);
    }

    /** @param maxItems most array and map items in the whole record, over every collection and block */
    BoundedDecoder(byte[] bytes, long maxItems) {
        this.buf = bytes;
        this.pos = 0;
        this.end = bytes.length;
        this.maxItems = maxItems;
        this.itemsLeft = maxItems;
    }

    /** Whether every byte was read. */
    boolean isEnd() {
        return pos == end;
    }

    private int remaining() {
        return end - pos;
    }

    private void need(long n, String what) throws IOException {
        if (n < 0) {
            throw new IOException(what + " has a negative length " + n);
        }
        if (n > remaining()) {
            throw new EOFException(what + " declares " + n + " bytes, " + remaining() + " remain in the record");
        }
    }

    @Override
    public void readNull() {}

    @Override
    public boolean readBoolean() throws IOException {
        need(1, "a boolean");
        int b = buf[pos++];
        if (b != 0 && b != 1) {
            throw new IOException("a boolean byte is " + b);
        }
        return b == 1;
    }

    @Override
    public int readInt() throws IOException {
        long v = readLong();
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw new IOException("an int is out of range: " + v);
        }
        return (int) v;
    }

    @Override
    public long readLong() throws IOException {
        long raw = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            need(1, "a varint");
            int b = buf[pos++] & 0xff;
            if (shift == 63 && (b & 0x7e) != 0) {
                throw new IOException("a varint is longer than 64 bits");
            }
            raw |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return (raw >>> 1) ^ -(raw & 1); // zig-zag
            }
        }
        throw new IOException("a varint is longer than 10 bytes");
    }

    @Override
    public float readFloat() throws IOException {
        need(4, "a float");
        int bits = (buf[pos] & 0xff)
                | (buf[pos + 1] & 0xff) << 8
                | (buf[pos + 2] & 0xff) << 16
                | (buf[pos + 3] & 0xff) << 24;
        pos += 4;
        return Float.intBitsToFloat(bits);
    }

    @Override
    public double readDouble() throws IOException {
        need(8, "a double");
        long bits = 0;
        for (int i = 7; i >= 0; i--) {
            bits = bits << 8 | (buf[pos + i] & 0xff);
        }
        pos += 8;
        return Double.longBitsToDouble(bits);
    }

    private int length(String what) throws IOException {
        long n = readLong();
        need(n, what);
        return (int) n;
    }

    @Override
    public Utf8 readString(Utf8 old) throws IOException {
        int n = length("a string");
        Utf8 result = old != null ? old : new Utf8();
        result.setByteLength(n);
        System.arraycopy(buf, pos, result.getBytes(), 0, n);
        pos += n;
        return result;
    }

    @Override
    public String readString() throws IOException {
        int n = length("a string");
        String s = new String(buf, pos, n, StandardCharsets.UTF_8);
        pos += n;
        return s;
    }

    @Override
    public void skipString() throws IOException {
        pos += length("a string");
    }

    @Override
    public ByteBuffer readBytes(ByteBuffer old) throws IOException {
        int n = length("a bytes field");
        ByteBuffer result = old != null && old.capacity() >= n ? old : ByteBuffer.allocate(n);
        result.clear();
        result.put(buf, pos, n);
        result.flip();
        pos += n;
        return result;
    }

    @Override
    public void skipBytes() throws IOException {
        pos += length("a bytes field");
    }

    @Override
    public void readFixed(byte[] bytes, int start, int length) throws IOException {
        need(length, "a fixed field");
        System.arraycopy(buf, pos, bytes, start, length);
        pos += length;
    }

    @Override
    public void skipFixed(int length) throws IOException {
        need(length, "a fixed field");
        pos += length;
    }

    @Override
    public int readEnum() throws IOException {
        return readInt();
    }

    /**
     * A block's item count: a negative count is followed by the block's size in bytes. Each item takes at least one
     * byte, so a count beyond the remaining bytes cannot be real and is refused before the reader allocates for it.
     */
    private long blockCount(String what) throws IOException {
        long n = readLong();
        if (n < 0) {
            if (n == Long.MIN_VALUE) {
                throw new IOException(what + " block count is out of range");
            }
            n = -n;
            need(readLong(), what + " block");
        }
        if (n > remaining()) {
            throw new EOFException(what + " declares " + n + " items, " + remaining() + " bytes remain in the record");
        }
        if (n > itemsLeft) {
            throw new AvroRecords.TooManyItemsException(
                    "the record has more than " + maxItems + " array and map " + "items");
        }
        itemsLeft -= n;
        return n;
    }

    @Override
    public long readArrayStart() throws IOException {
        return blockCount("an array");
    }

    @Override
    public long arrayNext() throws IOException {
        return blockCount("an array");
    }

    @Override
    public long skipArray() throws IOException {
        return blockCount("an array");
    }

    @Override
    public long readMapStart() throws IOException {
        return blockCount("a map");
    }

    @Override
    public long mapNext() throws IOException {
        return blockCount("a map");
    }

    @Override
    public long skipMap() throws IOException {
        return blockCount("a map");
    }

    @Override
    public int readIndex() throws IOException {
        return readInt();
    }
}
