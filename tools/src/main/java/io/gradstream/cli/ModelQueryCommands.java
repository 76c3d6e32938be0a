package io.gradstream.cli;

import io.gradstream.core.shard.TensorLayout;
import io.gradstream.model.ModelLayouts;
import io.gradstream.ops.model.ControlHistory;
import io.gradstream.ops.model.ModelStatus;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The {@code gradstream model} subcommands that only read: list and status. */
final class ModelQueryCommands {
    private ModelQueryCommands() {}

    @Command(
            name = "list",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            description = {
                "Lists the models of the control topic (their commands replayed with the job's rules) with their "
                        + "state: ACTIVE, PAUSED or DELETED, the optimizer, tensors, parameters and whether they are "
                        + "private.",
                "Reads the control topic: with 'gradstream local --secure', pass credentials/admin.properties."
            })
    static final class ListModels implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        KafkaOptions kafka;

        @Override
        public Integer call() {
            return ModelCommand.guarded("list", spec, out -> {
                var history = ControlHistory.read(kafka.target(null), kafka.bounds());
                if (history.models().isEmpty()) {
                    out.println("no models");
                    return 0;
                }
                out.printf(
                        "%-24s %-8s %-9s %7s %12s %-7s %s%n",
                        "MODEL", "STATE", "OPTIMIZER", "TENSORS", "PARAMETERS", "PRIVATE", "CHANGED");
                for (ControlHistory.Model m : history.models().values()) {
                    long elements = ModelLayouts.of(m.spec()).values().stream()
                            .mapToLong(TensorLayout::elements)
                            .sum();
                    out.printf(
                            Locale.ROOT,
                            "%-24s %-8s %-9s %7d %12d %-7s %s%n",
                            m.id(),
                            m.state(),
                            m.spec().getOptimizer(),
                            m.spec().getTensors().size(),
                            elements,
                            m.spec().getPrivacy() == null ? "no" : "yes",
                            Instant.ofEpochMilli(m.changedAtMs()));
                }
                return 0;
            });
        }
    }

    @Command(
            name = "status",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            description = {
                "Shows a model: its state and settings (control topic), the versions of each tensor over its shards, "
                        + "epsilon spent and the time of its last update (parameters topic), its rejections among "
                        + "the last records of the rejected topic, and its status events.",
                "Each topic is read bounded (--max-records, --read-timeout); one this principal may not read is "
                        + "reported as a note. With 'gradstream local --secure': --kafka-config "
                        + "credentials/admin.properties reads everything; credentials/operator.properties reads "
                        + "rejected and status, with --parameters-config credentials/worker.properties for the "
                        + "versions.",
                "Exit status 1 when nothing names the model."
            })
    static final class Status implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(index = "0", paramLabel = "MODEL", description = "The model id.")
        String model;

        @Option(
                names = "--parameters-config",
                paramLabel = "FILE",
                description = "Another principal's Kafka client .properties file for the parameters topic (a worker "
                        + "or the admin), where --kafka-config's may not read it.")
        Path parametersConfig;

        @Option(
                names = "--rejected-tail",
                defaultValue = "" + ModelStatus.DEFAULT_REJECTED_TAIL,
                paramLabel = "N",
                description = "Rejections are counted among the last N records of each partition of the rejected "
                        + "topic (default: ${DEFAULT-VALUE}).")
        long rejectedTail;

        @Mixin
        KafkaOptions kafka;

        @Override
        public Integer call() {
            return ModelCommand.guarded("status", spec, out -> {
                if (rejectedTail < 0) {
                    throw new IllegalArgumentException("--rejected-tail must not be negative, got " + rejectedTail);
                }
                ModelStatus s = ModelStatus.read(kafka.target(parametersConfig), model, rejectedTail, kafka.bounds());
                s.lines().forEach(out::println);
                if (!s.known()) {
                    spec.commandLine()
                            .getErr()
                            .println("gradstream model status: nothing names model " + model
                                    + " (no CREATE on control, no parameters)");
                    return 1;
                }
                return 0;
            });
        }
    }
}
