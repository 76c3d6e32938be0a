package io.gradstream.model;

import io.gradstream.core.shard.RejectCode;
import io.gradstream.schemas.AvroRecords;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.CompressionSpec;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ModelSpec;
import io.gradstream.schemas.PrivacyAccountingSpec;
import io.gradstream.schemas.WorkerKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * The meaning of a control record against the models that exist: a {@link Change} to apply, nothing to do, or why
 * it is refused. Every check a CREATE needs, the configured {@link Limits} included, runs here before anything is
 * allocated or changed, so the caller only applies the change. Not thread-safe (keeps a decoder).
 */
public final class ControlLog {

    /** What a command does. */
    public sealed interface Change permits Created, Updated, Paused, Resumed, Deleted, Snapshot, NoOp, Invalid {
        String model();
    }

    /**
     * A new model; {@code incarnation} is where its CREATE was read, which keys its DP noise. Its worker list, if any,
     * is {@code config.workerList()}, its compression settings {@code config.compressionSpec()}.
     */
    public record Created(String model, ModelSpec spec, ModelConfig config, String incarnation) implements Change {}

    /**
     * New hyperparameters, schedule or worker list ({@code config.workerList()}) for an existing model (its incarnation
     * is unchanged).
     */
    public record Updated(String model, ModelSpec spec, ModelConfig config) implements Change {}

    public record Paused(String model) implements Change {}

    public record Resumed(String model) implements Change {}

    public record Deleted(String model) implements Change {}

    /** Every shard of a model with a delta stream publishes its full parameters now. */
    public record Snapshot(String model) implements Change {}

    /** Nothing changes, e.g. the same CREATE again after a producer retry. */
    public record NoOp(String model) implements Change {}

    /** Refused with a reason; {@code model} is null when the record could not be read. */
    public record Invalid(RejectCode code, String detail, String model) implements Change {}

    /** The models that exist and their incarnations, as the operator's broadcast state holds them. */
    public interface Models {
        ModelSpec spec(String model) throws Exception;

        /** Where the model's CREATE was read, or null for a model from before incarnations. */
        String incarnation(String model) throws Exception;

        int count() throws Exception;

        /** The workers the model admits (worker id to where its key is), or null when it admits any worker. */
        default Map<String, WorkerKey> workers(String model) throws Exception {
            return null;
        }

        /** The model's compression settings as its CREATE gave them, or null. */
        default CompressionSpec compression(String model) throws Exception {
            return null;
        }

        /** The private model's mechanism and accountant as its CREATE gave them, or null. */
        default PrivacyAccountingSpec privacyAccounting(String model) throws Exception {
            return null;
        }
    }

    private final Limits limits;
    private final Function<String, String> environment;
    private final AvroRecords<ControlCommand> avro;

    /** @param environment where a private model's {@code seedEnv} is looked up ({@code System::getenv}) */
    public ControlLog(Limits limits, Function<String, String> environment) {
        this.limits = limits;
        this.environment = environment;
        this.avro = new AvroRecords<>(ControlCommand.class, limits.controlItems());
    }

    /**
     * A command read without its record key (every key is accepted).
     *
     * @param value the control record's bytes
     * @param incarnation where the record was read ({@code topic-partition@offset}): deterministic on replay
     */
    public Change read(byte[] value, String incarnation, Models models) throws Exception {
        return read(value, incarnation, models, null, false);
    }

    /**
     * A command read with its record key, which must be the command's model id (UTF-8), as a gradient's key must be
     * its shard: the key decides the partition and so the order of a model's commands, and a command filed under
     * another model's key (or none) is refused before it can change anything.
     */
    public Change read(byte[] key, byte[] value, String incarnation, Models models) throws Exception {
        return read(value, incarnation, models, key, true);
    }

    private Change read(byte[] value, String incarnation, Models models, byte[] key, boolean keyed) throws Exception {
        if (value != null && value.length > limits.recordBytes()) {
            return new Invalid(
                    RejectCode.TOO_LARGE,
                    "record of " + value.length + " bytes is above " + "gradstream.limits.record-bytes = "
                            + limits.recordBytes(),
                    null);
        }
        ControlCommand cmd;
        try {
            cmd = avro.decode(value);
        } catch (AvroRecords.TooManyItemsException e) {
            return new Invalid(
                    RejectCode.TOO_LARGE,
                    e.getMessage() + " (8 x gradstream.limits.model-shards + 4096 = " + limits.controlItems() + ")",
                    null);
        } catch (IOException e) {
            return new Invalid(RejectCode.UNDECODABLE, "not a ControlCommand: " + e.getMessage(), null);
        }
        String model = cmd.getModelId();
        try {
            limits.requireName("model", model);
        } catch (IllegalArgumentException e) {
            return new Invalid(
                    RejectCode.INVALID_COMMAND, cmd.getType() + ": " + GradientAdmission.shorten(e.getMessage()), null);
        }
        if (keyed && (key == null || !model.equals(new String(key, StandardCharsets.UTF_8)))) {
            return new Invalid(
                    RejectCode.INVALID_COMMAND,
                    cmd.getType() + " " + model + ": the record key "
                            + (key == null
                                    ? "is missing"
                                    : "'" + GradientAdmission.shorten(new String(key, StandardCharsets.UTF_8))
                                            + "' is not the model id")
                            + "; a command is keyed by its model id",
                    null);
        }
        if (cmd.getCompression() != null && cmd.getType() != CommandType.CREATE) {
            return new Invalid(
                    RejectCode.INVALID_COMMAND,
                    cmd.getType() + " " + model + ": compression is fixed by the model's CREATE; DELETE and CREATE "
                            + "the model to change it",
                    model);
        }
        if (cmd.getPrivacyAccounting() != null && cmd.getType() != CommandType.CREATE) {
            return new Invalid(
                    RejectCode.INVALID_COMMAND,
                    cmd.getType() + " " + model + ": privacyAccounting is fixed by the model's CREATE; a model's "
                            + "accountant and mechanism never change",
                    model);
        }
        try {
            return switch (cmd.getType()) {
                case CREATE -> create(model, cmd, incarnation, models);
                case UPDATE_HYPERPARAMETERS -> update(model, cmd, models);
                case PAUSE -> {
                    require(model, models);
                    yield new Paused(model);
                }
                case RESUME -> {
                    require(model, models);
                    yield new Resumed(model);
                }
                case DELETE -> {
                    require(model, models);
                    yield new Deleted(model);
                }
                case SNAPSHOT -> {
                    require(model, models);
                    if (!Compression.of(models.compression(model)).hasDeltaStream()) {
                        throw new IllegalArgumentException("model " + model + " has no delta stream; every update "
                                + "it publishes is a full snapshot");
                    }
                    yield new Snapshot(model);
                }
            };
        } catch (IllegalArgumentException e) {
            return new Invalid(
                    RejectCode.INVALID_COMMAND,
                    cmd.getType() + " " + model + ": " + GradientAdmission.shorten(String.valueOf(e.getMessage())),
                    model);
        }
    }

    private Change create(String model, ControlCommand cmd, String incarnation, Models models) throws Exception {
        ModelSpec spec = cmd.getSpec();
        Map<String, WorkerKey> workers = cmd.getWorkers();
        ModelSpec existing = models.spec(model);
        if (existing != null) {
            if (!existing.equals(spec)) {
                throw new IllegalArgumentException("model " + model + " exists with another spec; use "
                        + "UPDATE_HYPERPARAMETERS, or DELETE it first");
            }
            if (!Objects.equals(models.workers(model), workers)) {
                throw new IllegalArgumentException("model " + model + " exists with another worker list; use "
                        + "UPDATE_HYPERPARAMETERS with workers, or DELETE it first");
            }
            if (!Objects.equals(models.compression(model), cmd.getCompression())) {
                throw new IllegalArgumentException(
                        "model " + model + " exists with other compression settings; " + "DELETE it first");
            }
            if (!Objects.equals(models.privacyAccounting(model), cmd.getPrivacyAccounting())) {
                throw new IllegalArgumentException(
                        "model " + model + " exists with other privacyAccounting settings; DELETE it first");
            }
            return new NoOp(model);
        }
        if (models.count() >= limits.models()) {
            throw new IllegalArgumentException(models.count() + " models exist, gradstream.limits.models = "
                    + limits.models() + "; DELETE one first");
        }
        return new Created(
                model,
                spec,
                ModelConfig.of(
                        model,
                        spec,
                        incarnation,
                        limits,
                        environment,
                        workers,
                        cmd.getCompression(),
                        cmd.getPrivacyAccounting()),
                incarnation);
    }

    private Change update(String model, ControlCommand cmd, Models models) throws Exception {
        ModelSpec current = require(model, models);
        Map<String, Object> merged = new LinkedHashMap<>(current.getHyperparameters());
        merged.putAll(cmd.getHyperparameters());
        ModelSpec.Builder next = ModelSpec.newBuilder(current).setHyperparameters(merged);
        if (cmd.getLrSchedule() != null) {
            next.setLrSchedule(cmd.getLrSchedule());
        }
        ModelSpec spec = next.build();
        // A new worker list replaces the model's (a worker added, a key rotated); none keeps it.
        Map<String, WorkerKey> workers = cmd.getWorkers() != null ? cmd.getWorkers() : models.workers(model);
        // Validates the whole new spec before anything changes.
        return new Updated(
                model,
                spec,
                ModelConfig.of(
                        model,
                        spec,
                        models.incarnation(model),
                        limits,
                        environment,
                        workers,
                        models.compression(model),
                        models.privacyAccounting(model)));
    }

    private static ModelSpec require(String model, Models models) throws Exception {
        ModelSpec spec = models.spec(model);
        if (spec == null) {
            throw new IllegalArgumentException("no model '" + model + "'");
        }
        return spec;
    }
}
