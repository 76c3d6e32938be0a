package io.gradstream.ops.export;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.StringJoiner;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes a {@link ParameterSnapshot.Snapshot} as the files PyTorch and NumPy users load directly, float32 little-endian,
 * tensors in name order:
 *
 * <ul>
 *   <li><b>safetensors</b> (huggingface/safetensors): an unsigned 64-bit little-endian header length N, N bytes of
 *       JSON ({@code {"__metadata__": {...}, "name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}}},
 *       offsets relative to the data that follows, padded with spaces to a multiple of 8), then the tensors' bytes;
 *   <li><b>npz</b> (numpy.savez): a zip archive of stored (uncompressed) {@code name.npy} entries, each in NPY format
 *       1.0: {@code \x93NUMPY}, version 1 0, a 16-bit little-endian header length, and the header dict
 *       {@code {'descr': '<f4', 'fortran_order': False, 'shape': (...), }} padded with spaces and a newline so the data
 *       starts at a multiple of 64 bytes (with numpy's room for the first dimension to grow: numpy.save's bytes).
 * </ul>
 */
public final class TensorFiles {
    /** The export formats. */
    public enum Format {
        SAFETENSORS,
        NPZ
    }

    private static final int CHUNK = 1 << 16;

    private TensorFiles() {}

    public static void write(Format format, ParameterSnapshot.Snapshot snapshot, OutputStream out) throws IOException {
        switch (format) {
            case SAFETENSORS -> safetensors(snapshot, out);
            case NPZ -> npz(snapshot, out);
        }
    }

    /** The safetensors file of {@code snapshot}; {@code __metadata__} names the model and the version. */
    public static void safetensors(ParameterSnapshot.Snapshot snapshot, OutputStream out) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode header = json.createObjectNode();
        ObjectNode meta = header.putObject("__metadata__");
        meta.put("format", "pt");
        meta.put("model", snapshot.modelId());
        meta.put("version", snapshot.version() < 0 ? "mixed" : Long.toString(snapshot.version()));
        if (snapshot.version() < 0) {
            ObjectNode versions = json.createObjectNode();
            snapshot.versions().forEach((name, v) -> {
                var list = versions.putArray(name);
                Arrays.stream(v).forEach(list::add);
            });
            meta.put("shard_versions", json.writeValueAsString(versions));
        }
        long offset = 0;
        for (Map.Entry<String, ParameterSnapshot.Tensor> e : snapshot.tensors().entrySet()) {
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", "F32");
            var shape = t.putArray("shape");
            Arrays.stream(e.getValue().shape()).forEach(shape::add);
            long end = offset + 4L * e.getValue().values().length;
            t.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        byte[] text = json.writeValueAsBytes(header);
        int padded = (text.length + 7) / 8 * 8;
        byte[] head = Arrays.copyOf(text, padded);
        Arrays.fill(head, text.length, padded, (byte) ' ');
        out.write(ByteBuffer.allocate(8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(padded)
                .array());
        out.write(head);
        for (ParameterSnapshot.Tensor t : snapshot.tensors().values()) {
            floats(t.values(), out);
        }
    }

    /** The npz archive of {@code snapshot} (as numpy.savez writes it: one stored {@code name.npy} per tensor). */
    public static void npz(ParameterSnapshot.Snapshot snapshot, OutputStream out) throws IOException {
        ZipOutputStream zip = new ZipOutputStream(new NonClosing(out), StandardCharsets.UTF_8);
        for (Map.Entry<String, ParameterSnapshot.Tensor> e : snapshot.tensors().entrySet()) {
            byte[] header = npyHeader(e.getValue().shape());
            float[] values = e.getValue().values();
            CRC32 crc = new CRC32();
            crc.update(header);
            floats(values, new OutputStream() {
                @Override
                public void write(int b) {
                    crc.update(b);
                }

                @Override
                public void write(byte[] b, int off, int len) {
                    crc.update(b, off, len);
                }
            });
            ZipEntry entry = new ZipEntry(e.getKey() + ".npy");
            entry.setMethod(ZipEntry.STORED);
            long size = header.length + 4L * values.length;
            entry.setSize(size);
            entry.setCompressedSize(size);
            entry.setCrc(crc.getValue());
            // A fixed time: the same parameters give the same bytes.
            entry.setTime(315532800000L + 12L * 3600 * 1000); // 1980-01-01 12:00 UTC, the zip format's first day
            zip.putNextEntry(entry);
            zip.write(header);
            floats(values, zip);
            zip.closeEntry();
        }
        zip.finish();
    }

    /** The NPY 1.0 header of a little-endian float32 C-order array of {@code shape}. */
    static byte[] npyHeader(int[] shape) {
        StringJoiner dims = new StringJoiner(", ", "(", shape.length == 1 ? ",)" : ")");
        for (int d : shape) {
            dims.add(Integer.toString(d));
        }
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + dims + ", }";
        // As numpy does: room for the first dimension to grow to 21 digits, so the header is byte for byte numpy's.
        if (shape.length > 0) {
            dict += " ".repeat(Math.max(0, 21 - Integer.toString(shape[0]).length()));
        }
        int prefix = 6 + 2 + 2;
        int total = (prefix + dict.length() + 1 + 63) / 64 * 64;
        String padded = dict + " ".repeat(total - prefix - dict.length() - 1) + "\n";
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93)
                .put("NUMPY".getBytes(StandardCharsets.US_ASCII))
                .put((byte) 1)
                .put((byte) 0);
        b.putShort((short) (total - prefix));
        b.put(padded.getBytes(StandardCharsets.US_ASCII));
        return b.array();
    }

    /** {@code values} as little-endian float32 bytes, in chunks. */
    static void floats(float[] values, OutputStream out) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i += CHUNK) {
            int n = Math.min(CHUNK, values.length - i);
            chunk.clear();
            chunk.asFloatBuffer().put(values, i, n);
            out.write(chunk.array(), 0, 4 * n);
        }
    }

    /** Lets the zip stream finish without closing the caller's stream. */
    private static final class NonClosing extends java.io.FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            flush();
        }
    }
}
