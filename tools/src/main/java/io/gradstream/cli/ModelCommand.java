package io.gradstream.cli;

import io.gradstream.ops.model.ControlHistory;
import io.gradstream.ops.model.ControlSender;
import io.gradstream.ops.model.ModelTarget;
import io.gradstream.ops.model.TopicReader;
import io.gradstream.schemas.ControlCommand;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code gradstream model}: creates, changes, lists and inspects models through the job's Kafka topics. */
@Command(
        name = "model",
        mixinStandardHelpOptions = true,
        description = {
            "Manages models through the job's topics, against any Kafka cluster: create (from a YAML or JSON spec "
                    + "file), update, pause, resume, delete, snapshot, list, status.",
            "Commands go to the control topic keyed by the model id; the job applies them, or refuses them on the "
                    + "rejected topic with the reason ('gradstream model status MODEL' counts them). A spec is checked "
                    + "with the job's own rules before anything is sent.",
            "Principals of 'gradstream local --secure' (files in <work folder>/credentials/): operator.properties "
                    + "may write control and read rejected and status (create, update, pause, resume, delete); "
                    + "list and status read control, which takes admin.properties; parameters are read by "
                    + "worker.properties or admin.properties.",
            "Exit status: 0 done, 1 refused or failed (unknown model, Kafka error), 2 invalid input."
        },
        subcommands = {
            ModelChangeCommands.Create.class,
            ModelChangeCommands.Update.class,
            ModelChangeCommands.Pause.class,
            ModelChangeCommands.Resume.class,
            ModelChangeCommands.Delete.class,
            ModelChangeCommands.Snapshot.class,
            ModelQueryCommands.ListModels.class,
            ModelQueryCommands.Status.class
        })
final class ModelCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** What the control topic says of a model before a command is sent. */
    sealed interface Known permits Exists, Absent, Unreadable {}

    /** The model as the control topic has it (deleted or not). */
    record Exists(ControlHistory.Model model) implements Known {}

    /** The model was never created. */
    record Absent() implements Known {}

    /** This principal may not read the control topic, so the command is sent unchecked. */
    record Unreadable(String reason) implements Known {}

    /**
     * Looks the model up on the control topic. A principal that may write but not read control (the operator of
     * {@code gradstream local --secure}) gets {@link Unreadable}; any other failure to read is thrown.
     */
    static Known lookUp(ModelTarget target, String model, KafkaOptions kafka) {
        try {
            ControlHistory.Model m = ControlHistory.read(target, kafka.bounds()).model(model);
            return m == null ? new Absent() : new Exists(m);
        } catch (TopicReader.TopicException e) {
            if (e.unauthorised()) {
                return new Unreadable(e.getMessage());
            }
            throw e;
        }
    }

    /** Sends {@code command} and says where it went. */
    static int send(ModelTarget target, ControlCommand command, PrintWriter out) {
        var meta = ControlSender.send(target, command);
        out.printf(
                "model %s: %s sent to %s (partition %d, offset %d); the job refuses what it cannot apply on %s "
                        + "(gradstream model status %s)%n",
                command.getModelId(),
                command.getType(),
                target.topics().control(),
                meta.partition(),
                meta.offset(),
                target.topics().rejected(),
                command.getModelId());
        out.flush();
        return 0;
    }

    /** Runs a command body, turning the refusals of bad input (2) and of Kafka (1) into messages and exit statuses. */
    static int guarded(String name, CommandLine.Model.CommandSpec spec, Body body) {
        PrintWriter err = spec.commandLine().getErr();
        try {
            return body.run(spec.commandLine().getOut());
        } catch (IllegalArgumentException | java.io.IOException e) {
            err.println("gradstream model " + name + ": " + e.getMessage());
            return 2;
        } catch (TopicReader.TopicException | IllegalStateException e) {
            err.println("gradstream model " + name + ": " + e.getMessage());
            return 1;
        } finally {
            err.flush();
        }
    }

    /** A command's work. */
    @FunctionalInterface
    interface Body {
        int run(PrintWriter out) throws java.io.IOException;
    }
}
