package io.gradstream.operators;

import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.privacy.Accountant;
import io.gradstream.core.privacy.PrivacyLedger;
import io.gradstream.core.privacy.RdpAccountant;
import io.gradstream.core.privacy.ftrl.FtrlShardState;
import io.gradstream.core.privacy.ftrl.TreeLedger;
import io.gradstream.core.shard.PendingStep;
import io.gradstream.core.shard.ShardState;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Flink serializer of a shard's keyed state in a compact versioned binary form: float arrays are written as raw
 * little-endian blocks (4 bytes per element, no per-element call), so an Adam shard checkpoints at 12 bytes per
 * parameter plus a few dozen bytes (16 with a delta stream's copy). Holds a scratch buffer: {@link #duplicate()} gives
 * each thread its own.
 */
public final class ShardStateSerializer extends TypeSerializer<ShardState> {
    private static final long serialVersionUID = 1L;
    /**
     * 2 added the privacy ledger and the earliest publish time of a pending step; 3 the subscribers' copy of a model
     * with a delta stream ({@link ShardState#published()}); 4 the ledger's accountant; 5 a DP-FTRL model's tree state
     * and tree ledger. Formats 1 to 4 are still read (an empty ledger, no earliest time, no copy: the shard's next
     * update is a full snapshot; a ledger of RDP, the only accountant before 4; no tree before 5).
     */
    private static final int FORMAT = 5;

    /** The accountants' codes in format 4; fixed, whatever order the enum takes. */
    private static final Accountant[] ACCOUNTANTS = {Accountant.RDP, Accountant.PRV};

    private static final VarHandle FLOATS =
            MethodHandles.byteArrayViewVarHandle(float[].class, ByteOrder.LITTLE_ENDIAN);

    private transient byte[] scratch;

    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public TypeSerializer<ShardState> duplicate() {
        return new ShardStateSerializer();
    }

    @Override
    public ShardState createInstance() {
        return ShardState.initial(new float[0]);
    }

    @Override
    public ShardState copy(ShardState from) {
        PendingStep p = from.pending();
        PendingStep pending = PendingStep.restore(
                p.weightedSum() == null ? null : p.weightedSum().clone(),
                p.examples(),
                p.lossSum(),
                p.lossExamples(),
                p.latestPublishedAtMs(),
                p.earliestPublishedAtMs(),
                p.workers());
        ShardState copy = new ShardState(
                from.params().clone(),
                from.optimizer().copy(),
                from.version(),
                pending,
                new HashMap<>(from.workerWatermarks()),
                from.ledger());
        copy.published(from.published() == null ? null : from.published().clone());
        copy.ftrl(from.ftrl() == null ? null : from.ftrl().copy(), from.treeLedger());
        return copy;
    }

    @Override
    public ShardState copy(ShardState from, ShardState reuse) {
        return copy(from);
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(ShardState s, DataOutputView out) throws IOException {
        out.writeInt(FORMAT);
        out.writeLong(s.version());
        writeFloats(s.params(), out);
        OptimizerState o = s.optimizer();
        out.writeLong(o.step());
        out.writeInt(o.tensors().size());
        for (Map.Entry<String, float[]> e : o.tensors().entrySet()) {
            out.writeUTF(e.getKey());
            writeFloats(e.getValue(), out);
        }
        out.writeInt(o.scalars().size());
        for (Map.Entry<String, Double> e : o.scalars().entrySet()) {
            out.writeUTF(e.getKey());
            out.writeDouble(e.getValue());
        }
        PendingStep p = s.pending();
        out.writeBoolean(p.weightedSum() != null);
        if (p.weightedSum() != null) {
            writeFloats(p.weightedSum(), out);
        }
        out.writeLong(p.examples());
        out.writeDouble(p.lossSum());
        out.writeLong(p.lossExamples());
        out.writeLong(p.latestPublishedAtMs());
        out.writeLong(p.earliestPublishedAtMs());
        out.writeInt(p.workers().size());
        for (String w : p.workers()) {
            out.writeUTF(w);
        }
        out.writeInt(s.workerWatermarks().size());
        for (Map.Entry<String, Long> e : s.workerWatermarks().entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue());
        }
        out.writeInt(s.ledger().phases().size());
        for (RdpAccountant.Phase phase : s.ledger().phases()) {
            out.writeDouble(phase.noiseMultiplier());
            out.writeDouble(phase.sampleRate());
            out.writeLong(phase.steps());
        }
        out.writeBoolean(s.published() != null);
        if (s.published() != null) {
            writeFloats(s.published(), out);
        }
        out.writeByte(accountantCode(s.ledger().accountant()));
        out.writeBoolean(s.ftrl() != null);
        if (s.ftrl() != null) {
            s.ftrl().writeTo(out);
        }
        TreeLedger t = s.treeLedger();
        out.writeInt(t.completed().size());
        for (TreeLedger.Trees trees : t.completed()) {
            out.writeDouble(trees.noiseMultiplier());
            out.writeLong(trees.stepsPerTree());
            out.writeLong(trees.count());
        }
        out.writeDouble(t.currentNoiseMultiplier());
        out.writeLong(t.currentSteps());
    }

    private static int accountantCode(Accountant a) {
        for (int i = 0; i < ACCOUNTANTS.length; i++) {
            if (ACCOUNTANTS[i] == a) {
                return i;
            }
        }
        throw new IllegalStateException("no format-4 code for accountant " + a);
    }

    @Override
    public ShardState deserialize(DataInputView in) throws IOException {
        int format = in.readInt();
        if (format < 1 || format > FORMAT) {
            throw new IOException("unknown shard state format " + format + " (this build reads " + FORMAT + ")");
        }
        long version = in.readLong();
        float[] params = readFloats(in);
        OptimizerState o = new OptimizerState();
        o.setStep(in.readLong());
        int tensors = in.readInt();
        for (int i = 0; i < tensors; i++) {
            String name = in.readUTF();
            o.putTensor(name, readFloats(in));
        }
        int scalars = in.readInt();
        for (int i = 0; i < scalars; i++) {
            String name = in.readUTF();
            o.putScalar(name, in.readDouble());
        }
        float[] sum = in.readBoolean() ? readFloats(in) : null;
        long examples = in.readLong();
        double lossSum = in.readDouble();
        long lossExamples = in.readLong();
        long latest = in.readLong();
        long earliest = format >= 2 ? in.readLong() : 0;
        int workers = in.readInt();
        Set<String> ws = new LinkedHashSet<>();
        for (int i = 0; i < workers; i++) {
            ws.add(in.readUTF());
        }
        int marks = in.readInt();
        Map<String, Long> watermarks = new HashMap<>();
        for (int i = 0; i < marks; i++) {
            String w = in.readUTF();
            watermarks.put(w, in.readLong());
        }
        PrivacyLedger ledger = PrivacyLedger.EMPTY;
        if (format >= 2) {
            int phases = in.readInt();
            List<RdpAccountant.Phase> list = new ArrayList<>(phases);
            for (int i = 0; i < phases; i++) {
                list.add(new RdpAccountant.Phase(in.readDouble(), in.readDouble(), in.readLong()));
            }
            ledger = PrivacyLedger.of(list);
        }
        float[] published = format >= 3 && in.readBoolean() ? readFloats(in) : null;
        if (format >= 4) {
            int code = in.readUnsignedByte();
            if (code >= ACCOUNTANTS.length) {
                throw new IOException("corrupt shard state: accountant code " + code);
            }
            ledger = PrivacyLedger.of(ledger.phases(), ACCOUNTANTS[code]);
        }
        ShardState state = new ShardState(
                params,
                o,
                version,
                PendingStep.restore(sum, examples, lossSum, lossExamples, latest, earliest, ws),
                watermarks,
                ledger);
        if (published != null && published.length != params.length) {
            throw new IOException("corrupt shard state: published copy of " + published.length + " elements for "
                    + params.length + " parameters");
        }
        state.published(published);
        if (format >= 5) {
            FtrlShardState ftrl = in.readBoolean() ? FtrlShardState.readFrom(in, params.length) : null;
            if (ftrl != null && ftrl.size() != params.length) {
                throw new IOException("corrupt shard state: DP-FTRL state of " + ftrl.size() + " elements for "
                        + params.length + " parameters");
            }
            int n = in.readInt();
            if (n < 0) {
                throw new IOException("corrupt shard state: " + n + " tree groups");
            }
            List<TreeLedger.Trees> trees = new ArrayList<>(Math.min(n, 1024));
            try {
                for (int i = 0; i < n; i++) {
                    trees.add(new TreeLedger.Trees(in.readDouble(), in.readLong(), in.readLong()));
                }
                state.ftrl(ftrl, new TreeLedger(trees, in.readDouble(), in.readLong()));
            } catch (IllegalArgumentException e) {
                throw new IOException("corrupt shard state: " + e.getMessage(), e);
            }
        }
        return state;
    }

    @Override
    public ShardState deserialize(ShardState reuse, DataInputView in) throws IOException {
        return deserialize(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    private void writeFloats(float[] values, DataOutputView out) throws IOException {
        out.writeInt(values.length);
        byte[] buf = buffer(values.length);
        for (int i = 0; i < values.length; i++) {
            FLOATS.set(buf, 4 * i, values[i]);
        }
        out.write(buf, 0, 4 * values.length);
    }

    private float[] readFloats(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            throw new IOException("corrupt shard state: negative array length " + n);
        }
        byte[] buf = buffer(n);
        in.readFully(buf, 0, 4 * n);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) FLOATS.get(buf, 4 * i);
        }
        return values;
    }

    private byte[] buffer(int floats) {
        if (scratch == null || scratch.length < 4 * floats) {
            scratch = new byte[Math.max(4 * floats, 1024)];
        }
        return scratch;
    }

    @Override
    public boolean equals(Object obj) {
        return obj instanceof ShardStateSerializer;
    }

    @Override
    public int hashCode() {
        return ShardStateSerializer.class.hashCode();
    }

    @Override
    public TypeSerializerSnapshot<ShardState> snapshotConfiguration() {
        return new Snapshot();
    }

    /** The serializer's configuration snapshot; the binary format carries its own version. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<ShardState> {
        public Snapshot() {
            super(ShardStateSerializer::new);
        }
    }
}
