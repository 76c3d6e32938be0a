package io.gradstream.ops.doctor;

import io.gradstream.job.JobSettings;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs {@link Check}s one after the other and reports a verdict per check and a summary; the exit status is 1 when any
 * check failed. {@link #standardChecks} is the list {@code gradstream doctor} runs.
 */
public final class Doctor {
    private Doctor() {}

    /**
     * What the standard checks look at: {@code settings} are the job's, already validated; the running job is the
     * newest one named {@code jobName} on the Flink cluster at {@code flinkUrl}.
     */
    public record Target(JobSettings settings, String flinkUrl, String jobName, JobThresholds thresholds) {
        public Target(JobSettings settings, String flinkUrl) {
            this(settings, flinkUrl, DEFAULT_JOB_NAME, JobThresholds.DEFAULTS);
        }
    }

    /** The name {@code GradstreamJob} and {@code gradstream local} run the job under. */
    public static final String DEFAULT_JOB_NAME = "gradstream";

    /** Checks that read the job's settings (topics, group), left out when those are invalid. */
    public static boolean needsSettings(String check) {
        return check.startsWith("kafka") || check.equals("consumer lag") || check.equals("rejections");
    }

    /** One line of the report. */
    public record Finding(String check, Check.Result result) {}

    /**
     * The checks of {@code gradstream doctor}, in the order they run; {@code --skip NAME} leaves any of them out by
     * name.
     */
    public static List<Check> standardChecks(Target t) {
        List<Check> checks = new ArrayList<>();
        checks.add(Checks.java(Runtime.version()));
        checks.add(Checks.memory(Runtime.getRuntime().maxMemory(), Checks.physicalMemory()));
        checks.add(Checks.opencl(t.settings().backend(), io.gradstream.opencl.ClContext::devices));
        KafkaChecks kafka = KafkaChecks.create(t.settings());
        checks.addAll(kafka.checks());
        checks.add(Checks.flink(t.flinkUrl()));
        checks.addAll(JobChecks.of(t.flinkUrl(), t.jobName(), t.thresholds()));
        checks.addAll(JobKafkaChecks.of(t.settings(), t.thresholds(), kafka::unreachable));
        return checks;
    }

    /** Runs every check; a check that throws is a FAIL with the exception's message. */
    public static List<Finding> run(List<Check> checks) {
        List<Finding> findings = new ArrayList<>();
        for (Check c : checks) {
            Check.Result r;
            try {
                r = c.run();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                r = Check.Result.fail("interrupted");
            } catch (Exception e) {
                r = Check.Result.fail(e.getMessage() == null ? e.toString() : e.getMessage());
            }
            findings.add(new Finding(c.name(), r));
        }
        return findings;
    }

    /** One line per finding ({@code OK    kafka          reason}), then {@code N OK, N WARN, N FAIL}. */
    public static List<String> format(List<Finding> findings) {
        int width = findings.stream().mapToInt(f -> f.check().length()).max().orElse(0);
        List<String> lines = new ArrayList<>();
        Map<Check.Status, Integer> counts = new EnumMap<>(Check.Status.class);
        for (Check.Status s : Check.Status.values()) {
            counts.put(s, 0);
        }
        for (Finding f : findings) {
            // One line per check: a multi-line reason would break the columns that scripts grep.
            String detail = f.result().detail().strip().replaceAll("\\s*\\n\\s*", "; ");
            lines.add(String.format(
                    Locale.ROOT, "%-4s  %-" + width + "s  %s", f.result().status(), f.check(), detail));
            counts.merge(f.result().status(), 1, Integer::sum);
        }
        lines.add(String.format(
                Locale.ROOT,
                "%d OK, %d WARN, %d FAIL",
                counts.get(Check.Status.OK),
                counts.get(Check.Status.WARN),
                counts.get(Check.Status.FAIL)));
        return lines;
    }

    /** 1 if any check failed, else 0 (warnings do not fail). */
    public static int exitStatus(List<Finding> findings) {
        return findings.stream().anyMatch(f -> f.result().status() == Check.Status.FAIL) ? 1 : 0;
    }
}
