package io.gradstream.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code gradstream} command line: one entry point, one subcommand per task. */
@Command(
        name = "gradstream",
        mixinStandardHelpOptions = true,
        versionProvider = GradstreamCli.Version.class,
        description = "A streaming optimizer service: gradients from Kafka, optimizer state in Flink, "
                + "parameters back to Kafka.",
        subcommands = {
            LocalCommand.class,
            SubmitCommand.class,
            StopCommand.class,
            CapacityCommand.class,
            DoctorCommand.class,
            ConformanceCommand.class,
            BenchCommand.class,
            PrivacyCommand.class,
            AuditCommand.class,
            ModelCommand.class,
            ExportCommand.class,
            CommandLine.HelpCommand.class
        })
public final class GradstreamCli implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit status (tests call this instead of {@link #main}). */
    public static int execute(String... args) {
        return new CommandLine(new GradstreamCli()).execute(args);
    }

    /** Runs the command line writing to {@code out} and {@code err}; returns its exit status. */
    public static int execute(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cl = new CommandLine(new GradstreamCli());
        cl.setOut(out);
        cl.setErr(err);
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = GradstreamCli.class.getPackage().getImplementationVersion();
            return new String[] {"gradstream " + (v == null ? "(development build)" : v)};
        }
    }
}
