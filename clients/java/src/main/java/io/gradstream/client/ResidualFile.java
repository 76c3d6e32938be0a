package io.gradstream.client;

import io.gradstream.core.shard.TensorLayout;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The saved form of a worker's error-feedback residuals: magic {@code GSEF}, format 1, the model id, the number of
 * tensors, then per tensor its name, shard count and per shard a flag and (when set) its length and float32 values
 * (big-endian, as {@link DataOutputStream} writes). Reading checks every length against the model's layout, so a
 * file of another model or sharding is refused before anything changes.
 */
final class ResidualFile {
    private static final int MAGIC = 0x47534546; // "GSEF"
    private static final int FORMAT = 1;

    private ResidualFile() {}

    static void write(OutputStream out, String modelId, Map<String, TensorLayout> layouts, Map<String, float[][]> res)
            throws IOException {
        DataOutputStream d = new DataOutputStream(out);
        d.writeInt(MAGIC);
        d.writeInt(FORMAT);
        d.writeUTF(modelId);
        Map<String, float[][]> sorted = new TreeMap<>(res); // the same residuals give the same bytes
        d.writeInt(sorted.size());
        for (Map.Entry<String, float[][]> e : sorted.entrySet()) {
            d.writeUTF(e.getKey());
            d.writeInt(e.getValue().length);
            for (float[] shard : e.getValue()) {
                d.writeBoolean(shard != null);
                if (shard != null) {
                    d.writeInt(shard.length);
                    for (float v : shard) {
                        d.writeFloat(v);
                    }
                }
            }
        }
        d.flush();
    }

    static Map<String, float[][]> read(InputStream in, String modelId, Map<String, TensorLayout> layouts)
            throws IOException {
        DataInputStream d = new DataInputStream(in);
        try {
            if (d.readInt() != MAGIC) {
                throw new IOException("not a gradstream residual file (no GSEF magic)");
            }
            int format = d.readInt();
            if (format != FORMAT) {
                throw new IOException("residual file format " + format + ", this client reads " + FORMAT);
            }
            String model = d.readUTF();
            if (!model.equals(modelId)) {
                throw new IOException(
                        "the residuals are of model '" + model + "', this publisher's is '" + modelId + "'");
            }
            int tensors = d.readInt();
            if (tensors < 0 || tensors > layouts.size()) {
                throw new IOException("residual file lists " + tensors + " tensors, the model has " + layouts.size());
            }
            Map<String, float[][]> out = new HashMap<>();
            for (int t = 0; t < tensors; t++) {
                String name = d.readUTF();
                TensorLayout layout = layouts.get(name);
                if (layout == null) {
                    throw new IOException("the model has no tensor '" + name + "'");
                }
                int shards = d.readInt();
                if (shards != layout.shardCount()) {
                    throw new IOException(
                            "tensor " + name + " has " + layout.shardCount() + " shards, the file " + shards);
                }
                float[][] perShard = new float[shards][];
                for (int s = 0; s < shards; s++) {
                    if (!d.readBoolean()) {
                        continue;
                    }
                    int length = d.readInt();
                    if (length != layout.shardLength(s)) {
                        throw new IOException("shard " + s + " of " + name + " has " + layout.shardLength(s)
                                + " elements, the file " + length);
                    }
                    float[] values = new float[length];
                    for (int i = 0; i < length; i++) {
                        values[i] = d.readFloat();
                    }
                    perShard[s] = values;
                }
                out.put(name, perShard);
            }
            return out; // the stream may go on with the worker's other checkpoint data
        } catch (EOFException e) {
            throw new IOException("residual file ends early", e);
        }
    }
}
