package io.gradstream.cli;

import io.gradstream.job.GradstreamJob;
import io.gradstream.job.JobSettings;
import io.gradstream.ops.FlinkRest;
import io.gradstream.ops.FlinkRestException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradstream submit}: uploads the job jar to a running Flink cluster through its REST API and runs it. */
@Command(
        name = "submit",
        mixinStandardHelpOptions = true,
        description = {
            "Uploads the gradstream job jar to a Flink cluster (its REST API, the one behind the Web UI) "
                    + "and runs it; prints the job id and its Web UI page.",
            "Job options (gradstream.* keys, see README, or Flink keys) come from --config and --set and are "
                    + "checked here before anything is uploaded."
        })
final class SubmitCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Option(
            names = "--jar",
            paramLabel = "FILE",
            description = "The job jar (default: the cluster jar "
                    + "gradstream-jobs*-cluster.jar beside the CLI's own jar, built by mvn -pl tools -am package).")
    Path jar;

    @Option(
            names = "--entry-class",
            defaultValue = "io.gradstream.job.GradstreamJob",
            paramLabel = "CLASS",
            description = "Main class in the jar (default: ${DEFAULT-VALUE}).")
    String entryClass;

    @Option(names = "--parallelism", paramLabel = "N", description = "Job parallelism (default: the cluster's).")
    Integer parallelism;

    @Option(names = "--savepoint", paramLabel = "PATH", description = "Restore from this savepoint or checkpoint.")
    String savepoint;

    @Option(
            names = "--allow-non-restored-state",
            description = "With --savepoint: skip state that maps to no operator of the job.")
    boolean allowNonRestoredState;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        if (parallelism != null && parallelism < 1) {
            err.println("gradstream submit: --parallelism must be >= 1");
            return 2;
        }
        if (allowNonRestoredState && savepoint == null) {
            err.println("gradstream submit: --allow-non-restored-state needs --savepoint");
            return 2;
        }
        List<String> args;
        FlinkRest flink;
        Path jarFile;
        try {
            args = programArgs();
            flink = new FlinkRest(cluster.flinkUrl);
            jarFile = jar != null ? jar : defaultJar();
            if (!Files.isRegularFile(jarFile)) {
                throw new IllegalArgumentException("no jar at " + jarFile);
            }
        } catch (IllegalArgumentException | IOException e) {
            err.println("gradstream submit: " + e.getMessage());
            return 2;
        }
        try {
            String version = flink.get("config").path("flink-version").asText("?");
            out.println("gradstream submit: uploading " + jarFile.getFileName() + " (" + Files.size(jarFile) / (1 << 20)
                    + " MiB) to Flink " + version + " at " + flink.url());
            out.flush();
            String jarId = flink.uploadJar(jarFile);
            String jobId = flink.runJar(
                    jarId, new FlinkRest.RunRequest(entryClass, args, parallelism, savepoint, allowNonRestoredState));
            out.println("job id:  " + jobId);
            out.println("Web UI:  " + flink.jobPage(jobId));
            out.flush();
            return 0;
        } catch (FlinkRestException | IOException e) {
            err.println("gradstream submit: " + e.getMessage());
            return 1;
        }
    }

    /** --config then --set as {@code --key value} pairs, the form {@link GradstreamJob#main} reads. */
    private List<String> programArgs() throws IOException {
        Configuration c = cluster.jobConfiguration();
        JobSettings.from(c); // refuse invalid settings here rather than in a failing job on the cluster
        List<String> args = new ArrayList<>();
        c.toMap().forEach((k, v) -> {
            args.add("--" + k);
            args.add(v);
        });
        return args;
    }

    /** The shaded cluster jar in the folder of the jar this CLI runs from (jobs/target/). */
    static Path defaultJar() throws IOException {
        Path here;
        try {
            here = Path.of(SubmitCommand.class
                    .getProtectionDomain()
                    .getCodeSource()
                    .getLocation()
                    .toURI());
        } catch (java.net.URISyntaxException | SecurityException e) {
            throw new IOException("cannot locate the CLI's jar; give --jar", e);
        }
        Path dir = here.getParent(); // tools/target/ from tools/target/gradstream.jar or tools/target/classes
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("gradstream-jobs.*-cluster\\.jar"))
                    .findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("no cluster jar "
                            + "(gradstream-jobs*-cluster.jar) in " + dir + ": build it with mvn -B -pl tools -am "
                            + "package, or give --jar"));
        }
    }
}
