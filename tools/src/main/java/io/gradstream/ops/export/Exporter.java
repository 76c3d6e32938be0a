package io.gradstream.ops.export;

import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.ModelLayouts;
import io.gradstream.ops.model.ControlHistory;
import io.gradstream.ops.model.ModelTarget;
import io.gradstream.ops.model.ParameterRecords;
import io.gradstream.ops.model.TopicReader;
import io.gradstream.schemas.ModelSpec;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * {@code gradstream export}: one model's parameters from the parameters topic into a safetensors or npz file. The
 * layout comes from the model's CREATE on the control topic, or from its spec file where this principal may not read
 * control; the file is written to a temporary file beside the output and moved into place only when complete, so a
 * refusal or a failure leaves nothing behind.
 */
public final class Exporter {

    /**
     * What to export.
     *
     * @param spec the model's spec when given by the caller (its spec file), else null to read it from control
     * @param version the version to export, or null for the newest
     * @param mixed whether the newest shards may be at different versions
     * @param overwrite whether an existing output file may be replaced
     */
    public record Request(
            String model,
            ModelSpec spec,
            TensorFiles.Format format,
            Path output,
            Long version,
            boolean mixed,
            boolean overwrite) {}

    /** What was written: the snapshot's version (-1 mixed), its tensors and elements, and the file's size. */
    public record Result(long version, int tensors, long elements, long bytes, long records) {}

    private Exporter() {}

    /**
     * Exports as {@code r} asks.
     *
     * @throws ParameterSnapshot.RefusedException when the model or version cannot be exported (nothing is written)
     * @throws TopicReader.TopicException when a topic cannot be read
     */
    public static Result export(ModelTarget target, Request r, TopicReader.Bounds bounds) throws IOException {
        Path out = r.output().toAbsolutePath();
        if (Files.exists(out) && !r.overwrite()) {
            throw new ParameterSnapshot.RefusedException(out + " exists; pass --force to replace it");
        }
        if (!Files.isDirectory(out.getParent())) {
            throw new ParameterSnapshot.RefusedException("the folder " + out.getParent() + " does not exist");
        }
        ModelSpec spec = r.spec() != null ? r.spec() : specFromControl(target, r.model(), bounds);
        Map<String, TensorLayout> layouts = ModelLayouts.of(spec, target.limits());
        ParameterSnapshot collector = new ParameterSnapshot(r.model(), layouts, r.version());
        ParameterRecords records = new ParameterRecords();
        TopicReader.Outcome o = TopicReader.read(
                target.parametersClient(),
                target.topics().parameters(),
                bounds,
                rec -> collector.accept(records.decode(rec.value())));
        if (!o.complete()) {
            throw new ParameterSnapshot.RefusedException("read only " + o.records() + " records of topic "
                    + target.topics().parameters() + " within the bounds (" + bounds.maxRecords() + " records, "
                    + bounds.maxTime() + "): the snapshot could miss newer versions");
        }
        ParameterSnapshot.Snapshot snapshot = collector.take(r.mixed());
        long bytes = writeAtomically(out, stream -> TensorFiles.write(r.format(), snapshot, stream));
        long elements = snapshot.tensors().values().stream()
                .mapToLong(t -> t.values().length)
                .sum();
        return new Result(snapshot.version(), snapshot.tensors().size(), elements, bytes, collector.records());
    }

    /** The spec of the model's newest CREATE (updates applied); a deleted model's parameters can still be exported. */
    static ModelSpec specFromControl(ModelTarget target, String model, TopicReader.Bounds bounds) {
        ControlHistory h;
        try {
            h = ControlHistory.read(target, bounds);
        } catch (TopicReader.TopicException e) {
            throw new TopicReader.TopicException(
                    e.getMessage() + "; the layout of the model's tensors comes from its CREATE there: pass the "
                            + "admin's --kafka-config, or --spec FILE (the model's spec file)",
                    e.unauthorised(),
                    e);
        }
        ControlHistory.Model m = h.model(model);
        if (m == null) {
            throw new ParameterSnapshot.RefusedException("model " + model + " does not exist: no CREATE of it on topic "
                    + target.topics().control());
        }
        return m.spec();
    }

    /** What writes the file's content. */
    @FunctionalInterface
    interface Content {
        void write(OutputStream out) throws IOException;
    }

    /**
     * Writes a temporary file beside {@code out}, forces it to disk and renames it to {@code out}; on any failure the
     * temporary file is removed and {@code out} is untouched.
     *
     * @return the file's size
     */
    static long writeAtomically(Path out, Content content) throws IOException {
        Path tmp = Files.createTempFile(out.getParent(), "." + out.getFileName() + ".", ".part");
        boolean done = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
                    OutputStream s =
                            new BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch), 1 << 16)) {
                content.write(s);
                s.flush();
                ch.force(true);
            }
            long size = Files.size(tmp);
            try {
                Files.move(tmp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING);
            }
            done = true;
            return size;
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
