package io.gradstream.ops.model;

import io.gradstream.model.Compression;
import io.gradstream.model.Limits;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.WorkerKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The models as the control topic tells them: each model id's commands replayed in their partition's order with the
 * job's rules ({@code io.gradstream.model.ControlLog}): a CREATE starts a model unless one exists (the same spec,
 * workers and compression are a no-op, others are refused), UPDATE merges hyperparameters and replaces the schedule or
 * worker list, PAUSE, RESUME and DELETE apply to a model that exists, SNAPSHOT to one with a delta stream; commands the
 * job would refuse (undecodable, keyed under another id, an invalid spec, compression outside a CREATE) change
 * nothing. Deleted models are kept, marked, until their id is created again.
 */
public final class ControlHistory {

    /** A model's state. */
    public enum State {
        ACTIVE,
        PAUSED,
        DELETED
    }

    /**
     * A model: its current spec (hyperparameters and schedule after the updates), its worker list (null: any worker),
     * the Kafka timestamps of its CREATE and last applied command, how many updates it took, and its privacy accounting
     * settings (null: DP-SGD with RDP).
     */
    public record Model(
            String id,
            State state,
            ModelSpec spec,
            Map<String, WorkerKey> workers,
            CompressionSpec compression,
            long createdAtMs,
            long changedAtMs,
            int updates,
            PrivacyAccountingSpec privacyAccounting) {
        Model with(State s, long at) {
            return new Model(id, s, spec, workers, compression, createdAtMs, at, updates, privacyAccounting);
        }

        /** Whether the model publishes a delta stream (DELTA updates between full snapshots). */
        public boolean hasDeltaStream() {
            return Compression.of(compression).hasDeltaStream();
        }
    }

    private final Limits limits;
    private final AvroRecords<ControlCommand> avro;
    private final Map<String, Model> models = new TreeMap<>();
    private long refused;

    public ControlHistory(Limits limits) {
        this.limits = limits;
        this.avro = new AvroRecords<>(ControlCommand.class, limits.controlItems());
    }

    /** Reads the whole control topic of {@code target} (bounded) and replays it. */
    public static ControlHistory read(ModelTarget target, TopicReader.Bounds bounds) {
        ControlHistory h = new ControlHistory(target.limits());
        TopicReader.Outcome o = TopicReader.read(
                target.client(), target.topics().control(), bounds, r -> h.accept(r.key(), r.value(), r.timestamp()));
        if (!o.complete()) {
            throw new TopicReader.TopicException(
                    "read only " + o.records() + " records of topic "
                            + target.topics().control() + " within the bounds (" + bounds.maxRecords() + " records, "
                            + bounds.maxTime() + ")",
                    false,
                    null);
        }
        return h;
    }

    /** Applies one control record as the job would. */
    public void accept(byte[] key, byte[] value, long timestamp) {
        ControlCommand c;
        try {
            if (value == null || value.length > limits.recordBytes()) {
                refused++;
                return;
            }
            c = avro.decode(value);
        } catch (IOException e) {
            refused++;
            return;
        }
        String id = c.getModelId();
        if (key == null || !id.equals(new String(key, StandardCharsets.UTF_8))) {
            refused++;
            return;
        }
        Model m = models.get(id);
        boolean exists = m != null && m.state() != State.DELETED;
        if ((c.getCompression() != null || c.getPrivacyAccounting() != null) && c.getType() != CommandType.CREATE) {
            refused++; // compression and privacy accounting are fixed by the CREATE
            return;
        }
        switch (c.getType()) {
            case CREATE -> {
                if (exists
                        || c.getSpec() == null
                        || !valid(id, c.getSpec(), c.getWorkers(), c.getCompression(), c.getPrivacyAccounting())) {
                    // A repeated CREATE with the same spec, workers and settings is a no-op; any other is refused.
                    refused += exists
                                    && c.getSpec() != null
                                    && c.getSpec().equals(m.spec())
                                    && Objects.equals(c.getWorkers(), m.workers())
                                    && Objects.equals(c.getCompression(), m.compression())
                                    && Objects.equals(c.getPrivacyAccounting(), m.privacyAccounting())
                            ? 0
                            : 1;
                    return;
                }
                models.put(
                        id,
                        new Model(
                                id,
                                State.ACTIVE,
                                c.getSpec(),
                                c.getWorkers(),
                                c.getCompression(),
                                timestamp,
                                timestamp,
                                0,
                                c.getPrivacyAccounting()));
            }
            case SNAPSHOT -> {
                if (!exists || !m.hasDeltaStream()) {
                    refused++;
                }
            }
            case UPDATE_HYPERPARAMETERS -> {
                if (!exists) {
                    refused++;
                    return;
                }
                ModelSpec next = updated(m.spec(), c);
                Map<String, WorkerKey> workers = c.getWorkers() != null ? c.getWorkers() : m.workers();
                if (!valid(id, next, workers, m.compression(), m.privacyAccounting())) {
                    refused++;
                    return;
                }
                models.put(
                        id,
                        new Model(
                                id,
                                m.state(),
                                next,
                                workers,
                                m.compression(),
                                m.createdAtMs(),
                                timestamp,
                                m.updates() + 1,
                                m.privacyAccounting()));
            }
            case PAUSE, RESUME, DELETE -> {
                if (!exists) {
                    refused++;
                    return;
                }
                State s = switch (c.getType()) {
                    case PAUSE -> State.PAUSED;
                    case RESUME -> State.ACTIVE;
                    default -> State.DELETED;
                };
                models.put(id, m.with(s, timestamp));
            }
        }
    }

    /** The spec an UPDATE makes of {@code current}: hyperparameters merged, the schedule replaced when it names one. */
    public static ModelSpec updated(ModelSpec current, ControlCommand update) {
        Map<String, Object> merged = new LinkedHashMap<>(current.getHyperparameters());
        merged.putAll(update.getHyperparameters());
        ModelSpec.Builder next = ModelSpec.newBuilder(current).setHyperparameters(merged);
        if (update.getLrSchedule() != null) {
            next.setLrSchedule(update.getLrSchedule());
        }
        return next.build();
    }

    private boolean valid(
            String id,
            ModelSpec spec,
            Map<String, WorkerKey> workers,
            CompressionSpec compression,
            PrivacyAccountingSpec accounting) {
        try {
            SpecCheck.check(id, spec, workers, compression, accounting, limits);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** Every model id that was ever created, deleted ones included, by id. */
    public Map<String, Model> models() {
        return Collections.unmodifiableMap(models);
    }

    /** The model with this id, deleted or not; null when it was never created. */
    public Model model(String id) {
        return models.get(id);
    }

    /** Commands the job refused or ignored. */
    public long refused() {
        return refused;
    }
}
