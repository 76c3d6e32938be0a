package io.gradstream.operators;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.model.ControlLog;
import io.gradstream.model.GradientAdmission;
import io.gradstream.model.Limits;
import io.gradstream.model.ModelConfig;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.WorkerKey;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.state.BroadcastState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.OperatorStateStore;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;

/**
 * The models a shard-operator subtask knows: the broadcast state every subtask holds the same copy of (specs, paused
 * models, incarnations, worker lists, compression and privacy accounting settings), written by the control commands, and the
 * {@link ModelConfig} bound from each spec, cached.
 */
final class ModelCatalog implements ControlLog.Models {
    static final MapStateDescriptor<String, ModelSpec> MODELS =
            new MapStateDescriptor<>("models", Types.STRING, new AvroTypeInfo<>(ModelSpec.class));
    static final MapStateDescriptor<String, Boolean> PAUSED =
            new MapStateDescriptor<>("paused", Types.STRING, Types.BOOLEAN);
    /** Where each model's CREATE was read (its incarnation), which keys its DP noise. */
    static final MapStateDescriptor<String, String> INCARNATIONS =
            new MapStateDescriptor<>("incarnations", Types.STRING, Types.STRING);
    /**
     * The workers each model admits (worker id to where its key is); a model without an entry admits any worker. A
     * state of its own, so savepoints from before it restore with none.
     */
    static final MapStateDescriptor<String, Map<String, WorkerKey>> WORKERS = new MapStateDescriptor<>(
            "workers", Types.STRING, Types.MAP(Types.STRING, new AvroTypeInfo<>(WorkerKey.class)));
    /**
     * Each model's compression settings as its CREATE gave them; a model without an entry has none. A state of its
     * own (as {@link #WORKERS}), so savepoints from before it restore with none.
     */
    static final MapStateDescriptor<String, CompressionSpec> COMPRESSION =
            new MapStateDescriptor<>("compression", Types.STRING, new AvroTypeInfo<>(CompressionSpec.class));

    /**
     * Each private model's mechanism and accountant as its CREATE gave them; a model without an entry is DP-SGD with
     * RDP. A state of its own (as {@link #WORKERS}), so savepoints from before it restore with none.
     */
    static final MapStateDescriptor<String, PrivacyAccountingSpec> PRIVACY_ACCOUNTING = new MapStateDescriptor<>(
            "privacy-accounting", Types.STRING, new AvroTypeInfo<>(PrivacyAccountingSpec.class));

    private final BroadcastState<String, ModelSpec> models;
    private final BroadcastState<String, Boolean> paused;
    private final BroadcastState<String, String> incarnations;
    private final BroadcastState<String, Map<String, WorkerKey>> workers;
    private final BroadcastState<String, CompressionSpec> compression;
    private final BroadcastState<String, PrivacyAccountingSpec> accounting;
    private final Limits limits;
    private final Map<String, ModelConfig> configs = new HashMap<>();

    ModelCatalog(OperatorStateStore store, Limits limits) throws Exception {
        this.models = store.getBroadcastState(MODELS);
        this.paused = store.getBroadcastState(PAUSED);
        this.incarnations = store.getBroadcastState(INCARNATIONS);
        this.workers = store.getBroadcastState(WORKERS);
        this.compression = store.getBroadcastState(COMPRESSION);
        this.accounting = store.getBroadcastState(PRIVACY_ACCOUNTING);
        this.limits = limits;
    }

    boolean known(String model) throws Exception {
        return model != null && models.get(model) != null;
    }

    boolean paused(String model) throws Exception {
        return Boolean.TRUE.equals(paused.get(model));
    }

    /** A parsed record checked against its model, and the model's configuration when it has one here. */
    record Admitted(GradientAdmission.Admission admission, ModelConfig config) {}

    /**
     * Admits a record of a known model: refused while the model is paused or cannot be configured here, or when the
     * model names its workers and {@code envelope} is not one of theirs, signed.
     */
    Admitted admit(GradientAdmission admission, GradientAdmission.Parsed parsed, GradientAdmission.Envelope envelope)
            throws Exception {
        String model = parsed.key().model();
        if (paused(model)) {
            return refused(RejectCode.PAUSED, "model " + model + " is paused", model);
        }
        ModelConfig config;
        try {
            config = config(model);
        } catch (IllegalArgumentException e) {
            return refused(
                    RejectCode.OTHER,
                    "model " + model + " cannot be configured on this task: " + e.getMessage(),
                    model);
        }
        return new Admitted(admission.admit(parsed, config, envelope), config);
    }

    private static Admitted refused(RejectCode code, String detail, String model) {
        return new Admitted(new GradientAdmission.Refused(code, detail, model), null);
    }

    /**
     * The model's configuration, built once per subtask, spec and worker list (so worker keys are read then, not per
     * record).
     *
     * @throws IllegalArgumentException when it cannot be built here although it was accepted at CREATE, e.g. a task
     *     manager without the DP secret after a restore
     */
    ModelConfig config(String model) throws Exception {
        ModelSpec spec = models.get(model);
        Map<String, WorkerKey> list = workers.get(model);
        CompressionSpec settings = compression.get(model);
        PrivacyAccountingSpec dp = accounting.get(model);
        ModelConfig c = configs.get(model);
        if (c == null
                || (c.spec() != spec && !c.spec().equals(spec))
                || (c.workerList() != list && !Objects.equals(c.workerList(), list))
                || (c.compressionSpec() != settings && !Objects.equals(c.compressionSpec(), settings))
                || (c.privacyAccounting() != dp && !Objects.equals(c.privacyAccounting(), dp))) {
            // After a restore, or when another subtask's broadcast state is newer than this cache.
            c = ModelConfig.of(model, spec, incarnations.get(model), limits, System::getenv, list, settings, dp);
            configs.put(model, c);
        }
        return c;
    }

    /** The model's configuration, or null when it cannot be built here (see {@link #config}). */
    ModelConfig configOrNull(String model) throws Exception {
        try {
            return config(model);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** Records what a control command changed; the keyed side of a change (shards, outputs) is the operator's. */
    void apply(ControlLog.Change change) throws Exception {
        String model = change.model();
        if (change instanceof ControlLog.Created c) {
            models.put(model, c.spec());
            incarnations.put(model, c.incarnation());
            paused.remove(model);
            putWorkers(model, c.config().workerList());
            if (c.config().compressionSpec() == null) {
                compression.remove(model);
            } else {
                compression.put(model, c.config().compressionSpec());
            }
            if (c.config().privacyAccounting() == null) {
                accounting.remove(model);
            } else {
                accounting.put(model, c.config().privacyAccounting());
            }
            configs.put(model, c.config());
        } else if (change instanceof ControlLog.Updated u) {
            models.put(model, u.spec());
            putWorkers(model, u.config().workerList());
            configs.put(model, u.config());
        } else if (change instanceof ControlLog.Paused) {
            paused.put(model, true);
        } else if (change instanceof ControlLog.Resumed) {
            paused.remove(model);
        } else if (change instanceof ControlLog.Deleted) {
            models.remove(model);
            paused.remove(model);
            incarnations.remove(model);
            workers.remove(model);
            compression.remove(model);
            accounting.remove(model);
            configs.remove(model);
        }
    }

    private void putWorkers(String model, Map<String, WorkerKey> list) throws Exception {
        if (list == null) {
            workers.remove(model);
        } else {
            workers.put(model, list);
        }
    }

    @Override
    public Map<String, WorkerKey> workers(String model) throws Exception {
        return workers.get(model);
    }

    @Override
    public CompressionSpec compression(String model) throws Exception {
        return compression.get(model);
    }

    @Override
    public PrivacyAccountingSpec privacyAccounting(String model) throws Exception {
        return accounting.get(model);
    }

    @Override
    public ModelSpec spec(String model) throws Exception {
        return models.get(model);
    }

    @Override
    public String incarnation(String model) throws Exception {
        return incarnations.get(model);
    }

    @Override
    public int count() throws Exception {
        int n = 0;
        for (var ignored : models.entries()) {
            n++;
        }
        return n;
    }
}
