package io.gradstream.cli;

import io.gradstream.ops.model.ControlHistory;
import io.gradstream.ops.model.ControlSender;
import io.gradstream.ops.model.ModelDefinition;
import io.gradstream.ops.model.SpecCheck;
import io.gradstream.ops.model.SpecException;
import io.gradstream.ops.model.SpecFiles;
import io.gradstream.schemas.CommandType;
import io.gradstream.schemas.ControlCommand;
import io.gradstream.schemas.ScheduleSpec;
import io.gradstream.schemas.WorkerKey;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The {@code gradstream model} subcommands that write the control topic: create, update, pause, resume, delete. */
final class ModelChangeCommands {
    private ModelChangeCommands() {}

    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            description = {
                "Creates a model from a spec file (YAML, or JSON when the name ends in .json) with ModelSpec's fields "
                        + "(tensors, shardSize, optimizer, hyperparameters, lrSchedule, aggregation, init, "
                        + "outputEncoding, privacy), its modelId and the workers it admits; see the README, "
                        + "'Managing models'.",
                "The spec is checked with the job's rules first; an invalid one is refused with the field and the "
                        + "reason, and nothing is sent. A model that exists with another spec is refused too (update "
                        + "or delete it); the same spec again sends nothing."
            })
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--spec", required = true, paramLabel = "FILE", description = "The model's spec file.")
        Path specFile;

        @Option(names = "--model-id", paramLabel = "ID", description = "The model id, instead of the file's modelId.")
        String modelId;

        @Option(names = "--dry-run", description = "Check the spec and print it; send nothing.")
        boolean dryRun;

        @Mixin
        KafkaOptions kafka;

        @Override
        public Integer call() {
            return ModelCommand.guarded("create", spec, out -> {
                ModelDefinition d = SpecFiles.read(specFile);
                if (modelId != null) {
                    d = d.withId(modelId);
                }
                var target = kafka.target(null);
                try {
                    SpecCheck.check(
                            d.modelId(),
                            d.spec(),
                            d.workers(),
                            d.compression(),
                            d.privacyAccounting(),
                            target.limits());
                } catch (SpecException e) {
                    throw new SpecException(specFile + ": " + e.field(), reason(e));
                }
                if (dryRun) {
                    out.println("model " + d.modelId() + ": the spec is valid; nothing sent (--dry-run)");
                    out.println(ControlSender.create(d, 0));
                    return 0;
                }
                var known = ModelCommand.lookUp(target, d.modelId(), kafka);
                if (known instanceof ModelCommand.Exists e && e.model().state() != ControlHistory.State.DELETED) {
                    boolean sameWorkers = Objects.equals(e.model().workers(), d.workers());
                    boolean sameCompression = Objects.equals(e.model().compression(), d.compression());
                    boolean sameAccounting = Objects.equals(e.model().privacyAccounting(), d.privacyAccounting());
                    if (e.model().spec().equals(d.spec()) && sameWorkers && sameCompression && sameAccounting) {
                        out.println("model " + d.modelId() + " exists with this spec and these workers; nothing sent");
                        return 0;
                    }
                    spec.commandLine()
                            .getErr()
                            .println("gradstream model create: model " + d.modelId() + " exists with another "
                                    + (!e.model().spec().equals(d.spec())
                                            ? "spec; change it with 'gradstream model update', or delete it first"
                                            : !sameWorkers
                                                    ? "worker list; change it with 'gradstream model update "
                                                            + "--workers', or delete it first"
                                                    : !sameCompression
                                                            ? "compression, which is fixed for its life; delete it "
                                                                    + "first"
                                                            : "privacy accountant or mechanism, which are fixed for "
                                                                    + "its life; delete it first"));
                    return 1;
                }
                note(out, known);
                return ModelCommand.send(target, ControlSender.create(d, System.currentTimeMillis()), out);
            });
        }
    }

    @Command(
            name = "update",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            description = {
                "Changes a model's hyperparameters (torch names: lr=0.01 betas=[0.9,0.99] nesterov=true), its LR "
                        + "schedule (--schedule FILE) or its authorised workers (--workers FILE); what is not named "
                        + "keeps its value. Takes effect at each shard's next step.",
                "Where this principal may read the control topic, the model must exist and the resulting spec is "
                        + "checked with the job's rules before anything is sent."
            })
    static final class Update implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "MODEL", description = "The model id.")
        String model;

        @Parameters(
                index = "1..*",
                paramLabel = "KEY=VALUE",
                description = "Hyperparameters to change; values are read as in a spec file (numbers, true/false, "
                        + "strings, [lists of numbers]).")
        List<String> values = new ArrayList<>();

        @Option(
                names = "--schedule",
                paramLabel = "FILE",
                description = "A new LR schedule: YAML/JSON {name: StepLR, hyperparameters: {step_size: 10}, "
                        + "children: [...]}.")
        Path schedule;

        @Option(
                names = "--workers",
                paramLabel = "FILE",
                description = "A new list of authorised workers, replacing the model's: YAML/JSON {worker-id: "
                        + "{keyFile: PATH} or {keyEnv: NAME}, ...}; {} admits no one.")
        Path workers;

        @Mixin
        KafkaOptions kafka;

        @Override
        public Integer call() {
            return ModelCommand.guarded("update", spec, out -> {
                Map<String, Object> hp = new LinkedHashMap<>();
                for (String kv : values) {
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        throw new SpecException(kv, "expected KEY=VALUE, e.g. lr=0.01");
                    }
                    hp.put(
                            kv.substring(0, eq),
                            SpecFiles.hyperparameterArgument(kv.substring(0, eq), kv.substring(eq + 1)));
                }
                ScheduleSpec s =
                        schedule == null ? null : SpecFiles.schedule(SpecFiles.tree(schedule), schedule.toString());
                Map<String, WorkerKey> w =
                        workers == null ? null : SpecFiles.workers(SpecFiles.tree(workers), workers.toString());
                if (hp.isEmpty() && s == null && w == null) {
                    throw new IllegalArgumentException(
                            "nothing to update: give KEY=VALUE pairs, --schedule or --workers");
                }
                ControlCommand update = ControlSender.update(model, hp, s, w, System.currentTimeMillis());
                var target = kafka.target(null);
                var known = ModelCommand.lookUp(target, model, kafka);
                if (known instanceof ModelCommand.Exists e && e.model().state() != ControlHistory.State.DELETED) {
                    SpecCheck.check(
                            model,
                            ControlHistory.updated(e.model().spec(), update),
                            w != null ? w : e.model().workers(),
                            e.model().compression(),
                            e.model().privacyAccounting(),
                            target.limits());
                } else if (!(known instanceof ModelCommand.Unreadable)) {
                    return absent(spec, "update", model, known);
                }
                note(out, known);
                return ModelCommand.send(target, update, out);
            });
        }
    }

    /** PAUSE, RESUME and DELETE: a model id, checked where the control topic is readable. */
    abstract static class StateChange implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "MODEL", description = "The model id.")
        String model;

        @Mixin
        KafkaOptions kafka;

        abstract CommandType type();

        @Override
        public Integer call() {
            String name = spec.name();
            return ModelCommand.guarded(name, spec, out -> {
                var target = kafka.target(null);
                var known = ModelCommand.lookUp(target, model, kafka);
                if (known instanceof ModelCommand.Absent
                        || known instanceof ModelCommand.Exists e
                                && e.model().state() == ControlHistory.State.DELETED) {
                    return absent(spec, name, model, known);
                }
                if (type() == CommandType.SNAPSHOT
                        && known instanceof ModelCommand.Exists e
                        && !e.model().hasDeltaStream()) {
                    spec.commandLine()
                            .getErr()
                            .println("gradstream model snapshot: model " + model + " has no delta stream: every "
                                    + "update it publishes is a full snapshot; nothing sent");
                    return 1;
                }
                note(out, known);
                return ModelCommand.send(target, ControlSender.of(model, type(), System.currentTimeMillis()), out);
            });
        }
    }

    @Command(
            name = "pause",
            mixinStandardHelpOptions = true,
            description = "Pauses a model: its gradients are refused (PAUSED) until it is resumed; its state is kept.")
    static final class Pause extends StateChange {
        @Override
        CommandType type() {
            return CommandType.PAUSE;
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "Resumes a paused model.")
    static final class Resume extends StateChange {
        @Override
        CommandType type() {
            return CommandType.RESUME;
        }
    }

    @Command(
            name = "snapshot",
            mixinStandardHelpOptions = true,
            description = "Makes every shard of a model with a delta stream publish its full parameters now (a "
                    + "SNAPSHOT command): for a subscriber that missed a delta, or to export the newest version.")
    static final class Snapshot extends StateChange {
        @Override
        CommandType type() {
            return CommandType.SNAPSHOT;
        }
    }

    @Command(
            name = "delete",
            mixinStandardHelpOptions = true,
            description = "Deletes a model and its optimizer state; its last parameters stay on the compacted "
                    + "parameters topic (export them first), and a private model's privacy ledger is kept.")
    static final class Delete extends StateChange {
        @Override
        CommandType type() {
            return CommandType.DELETE;
        }
    }

    private static int absent(CommandSpec spec, String name, String model, ModelCommand.Known known) {
        spec.commandLine()
                .getErr()
                .println("gradstream model " + name + ": model " + model
                        + (known instanceof ModelCommand.Exists ? " was deleted" : " does not exist")
                        + "; nothing sent ('gradstream model list' shows the models)");
        return 1;
    }

    private static void note(PrintWriter out, ModelCommand.Known known) {
        if (known instanceof ModelCommand.Unreadable u) {
            out.println("note: not checked against the control topic (" + u.reason() + "); sending");
        }
    }

    private static String reason(SpecException e) {
        return e.getMessage().substring(e.field().length() + 2);
    }
}
