package io.gradstream.cli;

import io.gradstream.ops.FlinkRest;
import io.gradstream.ops.FlinkRestException;
import io.gradstream.ops.doctor.Doctor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code gradstream stop --savepoint DIR}: stops the running job with a savepoint through Flink's REST API and prints
 * the savepoint's path, from which {@code submit --savepoint} or {@code local --savepoint} continue, at any
 * parallelism up to gradstream.max-parallelism.
 */
@Command(
        name = "stop",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Stops the running gradstream job with a savepoint (Flink's stop-with-savepoint, without draining) and "
                    + "prints the savepoint's path. Continue from it with 'gradstream submit --savepoint PATH' or "
                    + "'gradstream local --savepoint PATH', at the same or another --parallelism (at most "
                    + "gradstream.max-parallelism, 128 by default).",
            "Works on a cluster and on 'gradstream local' alike (give its --web-port's URL). With EXACTLY_ONCE "
                    + "delivery the job commits its last output with the savepoint."
        })
final class StopCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--flink-url",
            defaultValue = "http://127.0.0.1:8081",
            paramLabel = "URL",
            description = "Flink's REST API (default: ${DEFAULT-VALUE}).")
    String flinkUrl;

    @Option(
            names = "--savepoint",
            required = true,
            paramLabel = "DIR",
            description = "Folder (or URI: file://, s3://, ...) the savepoint goes under; the JobManager and "
                    + "TaskManagers write there, so on a cluster it must be storage they share.")
    String savepointDir;

    @Option(
            names = "--job-name",
            defaultValue = Doctor.DEFAULT_JOB_NAME,
            paramLabel = "NAME",
            description = "Stop the newest running job of this name (default: ${DEFAULT-VALUE}).")
    String jobName;

    @Option(names = "--job-id", paramLabel = "ID", description = "Stop this job instead of looking it up by name.")
    String jobId;

    @Option(
            names = "--timeout",
            defaultValue = "10 min",
            paramLabel = "DURATION",
            converter = DoctorCommand.DurationConverter.class,
            description = "How long to wait for the savepoint (default: ${DEFAULT-VALUE}).")
    Duration timeout;

    @Override
    public Integer call() throws InterruptedException {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        FlinkRest flink;
        String target;
        try {
            flink = new FlinkRest(flinkUrl);
            target = targetUri(savepointDir);
        } catch (IllegalArgumentException e) {
            err.println("gradstream stop: " + e.getMessage());
            return 2;
        }
        try {
            String id = jobId;
            if (id == null) {
                id = flink.runningJob(jobName);
                if (id == null) {
                    err.println("gradstream stop: no running job named '" + jobName + "' at " + flink.url()
                            + " (see --job-name, --job-id)");
                    return 1;
                }
            }
            out.println("gradstream stop: stopping job " + id + " with a savepoint under " + target + " ...");
            out.flush();
            String trigger = flink.stopWithSavepoint(id, target);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                String path = flink.savepointStatus(id, trigger);
                if (path != null) {
                    out.println("savepoint: " + path);
                    out.println("continue:  gradstream submit --savepoint " + path + " [--parallelism N]");
                    out.flush();
                    return 0;
                }
                if (System.nanoTime() > deadline) {
                    err.println("gradstream stop: the savepoint of job " + id + " did not complete within " + timeout
                            + "; the job may still stop (see " + flink.jobPage(id) + ")");
                    return 1;
                }
                Thread.sleep(250);
            }
        } catch (FlinkRestException e) {
            err.println("gradstream stop: " + e.getMessage());
            return 1;
        }
    }

    /** A URI as is; a plain path made absolute, as file://, so that it means the same folder to every process. */
    static String targetUri(String dir) {
        if (dir.isBlank()) {
            throw new IllegalArgumentException("--savepoint needs a folder");
        }
        if (dir.matches("[a-zA-Z][a-zA-Z0-9+.-]*://.*")) {
            return dir;
        }
        return Path.of(dir).toAbsolutePath().normalize().toUri().toString();
    }
}
