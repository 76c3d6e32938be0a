package io.gradstream.cli;

import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobSettings;
import io.gradstream.ops.doctor.Check;
import io.gradstream.ops.doctor.Doctor;
import io.gradstream.ops.doctor.JobThresholds;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.TimeUtils;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code gradstream doctor}: checks the machine, Kafka, Flink, the job configuration and the running job's health, one
 * verdict per check.
 */
@Command(
        name = "doctor",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Checks what gradstream needs: Java >= 17, memory, the job configuration, Kafka (reachable; "
                    + "the job's topics exist, parameters compacted) and Flink's REST API (reachable, version, free "
                    + "slots).",
            "Then the health of the running job, the newest one named --job-name: job restarts (Flink's "
                    + "numRestarts; FAIL while RESTARTING or FAILING), checkpoint (age of the last completed one), "
                    + "consumer lag (records the group gradstream.kafka.group-id is behind on the gradients and "
                    + "control topics) and rejections (records written to the rejected topic per input record, "
                    + "lately). Pass the job's own --config/--set, so that topics and group match.",
            "Prints OK, WARN or FAIL with a reason per check, then a summary; exits with 1 if any check failed.",
            "Durations: 90s, 5 min, 1 h; percentages: 5 or 5%%."
        })
final class DoctorCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "HOST:PORT",
            description = "Kafka brokers (default: the job configuration's, else 127.0.0.1:9092).")
    String bootstrapServers;

    @Mixin
    ClusterOptions cluster;

    @Option(
            names = "--skip",
            paramLabel = "CHECK",
            split = ",",
            description = "Leave out checks by name (java, memory, kafka, kafka topics, flink, job restarts, ...).")
    Set<String> skip = new LinkedHashSet<>();

    @Option(
            names = "--job-name",
            defaultValue = Doctor.DEFAULT_JOB_NAME,
            paramLabel = "NAME",
            description = "Name of the Flink job the job checks look at (default: ${DEFAULT-VALUE}).")
    String jobName;

    @Option(
            names = "--max-restarts",
            defaultValue = "3",
            paramLabel = "N",
            description = "job restarts: WARN from 1 restart, FAIL from N (default: ${DEFAULT-VALUE}).")
    int maxRestarts;

    @Option(
            names = "--checkpoint-warn",
            defaultValue = "5 min",
            paramLabel = "DURATION",
            converter = DurationConverter.class,
            description = "checkpoint: WARN when the last completed "
                    + "checkpoint is this old, or none completed this long after the start (default: 5 min).")
    Duration checkpointWarn;

    @Option(
            names = "--checkpoint-fail",
            defaultValue = "15 min",
            paramLabel = "DURATION",
            converter = DurationConverter.class,
            description = "checkpoint: FAIL from this age (default: 15 min).")
    Duration checkpointFail;

    @Option(
            names = "--lag-warn",
            defaultValue = "100000",
            paramLabel = "RECORDS",
            description = "consumer lag: WARN from this many records behind (default: ${DEFAULT-VALUE}).")
    long lagWarn;

    @Option(
            names = "--lag-fail",
            defaultValue = "1000000",
            paramLabel = "RECORDS",
            description = "consumer lag: FAIL from this many records behind (default: ${DEFAULT-VALUE}).")
    long lagFail;

    @Option(
            names = "--rejection-warn",
            defaultValue = "5",
            paramLabel = "PERCENT",
            converter = PercentConverter.class,
            description = "rejections: WARN from this share of input records rejected (default: 5%%).")
    double rejectionWarn;

    @Option(
            names = "--rejection-fail",
            defaultValue = "50",
            paramLabel = "PERCENT",
            converter = PercentConverter.class,
            description = "rejections: FAIL from this share (default: 50%%).")
    double rejectionFail;

    @Option(
            names = "--rejection-window",
            defaultValue = "5 min",
            paramLabel = "DURATION",
            converter = DurationConverter.class,
            description = "rejections: count the records of this last period (default: 5 min).")
    Duration rejectionWindow;

    /** The thresholds of the job checks, from the options. */
    JobThresholds thresholds() {
        return new JobThresholds(
                maxRestarts,
                checkpointWarn,
                checkpointFail,
                lagWarn,
                lagFail,
                rejectionWarn,
                rejectionFail,
                rejectionWindow);
    }

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        JobThresholds thresholds;
        try {
            thresholds = thresholds();
        } catch (IllegalArgumentException e) {
            spec.commandLine().getErr().println("gradstream doctor: " + e.getMessage());
            return 2;
        }
        List<Doctor.Finding> findings = new ArrayList<>();
        JobSettings settings = null;
        String source = cluster.config == null ? "defaults" : cluster.config.toString();
        try {
            Configuration c = cluster.jobConfiguration();
            if (bootstrapServers != null) {
                c.set(GradstreamOptions.BOOTSTRAP_SERVERS, bootstrapServers);
            }
            settings = JobSettings.from(c);
            findings.add(new Doctor.Finding(
                    "job config",
                    Check.Result.ok(
                            source + ": delivery " + settings.delivery() + ", Kafka " + settings.bootstrapServers())));
        } catch (Exception e) {
            findings.add(new Doctor.Finding("job config", Check.Result.fail(source + ": " + e.getMessage())));
        }
        List<Check> checks = new ArrayList<>(Doctor.standardChecks(new Doctor.Target(
                settings != null ? settings : JobSettings.from(new Configuration()),
                cluster.flinkUrl,
                jobName,
                thresholds)));
        // Without valid settings the Kafka checks have no topics to look at; the others still run.
        boolean noSettings = settings == null;
        checks.removeIf(ch -> skip.contains(ch.name()) || noSettings && Doctor.needsSettings(ch.name()));
        findings.addAll(Doctor.run(checks));
        findings.removeIf(f -> skip.contains(f.check()));
        Doctor.format(findings).forEach(out::println);
        out.flush();
        return Doctor.exitStatus(findings);
    }

    /** Flink's duration syntax, as in the job configuration: {@code 90s}, {@code 5 min}, {@code 1 h}. */
    static final class DurationConverter implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            try {
                return TimeUtils.parseDuration(value);
            } catch (IllegalArgumentException | NullPointerException e) {
                throw new TypeConversionException("'" + value + "' is not a duration (e.g. 90s, 5 min, 1 h)");
            }
        }
    }

    /** A percentage, with or without the sign: {@code 5}, {@code 2.5%}. */
    static final class PercentConverter implements ITypeConverter<Double> {
        @Override
        public Double convert(String value) {
            String v = value.strip();
            try {
                return Double.parseDouble(
                        v.endsWith("%") ? v.substring(0, v.length() - 1).strip() : v);
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + value + "' is not a percentage (e.g. 5 or 5%)");
            }
        }
    }
}
