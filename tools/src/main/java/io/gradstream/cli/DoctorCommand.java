package io.gradstream.cli;

import io.gradstream.job.GradstreamOptions;
import io.gradstream.job.JobSettings;
import io.gradstream.ops.doctor.Check;
import io.gradstream.ops.doctor.Doctor;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradstream doctor}: checks the machine, Kafka, Flink and the job configuration, one verdict per check. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Checks what gradstream needs: Java >= 17, memory, the job configuration, Kafka (reachable; "
                + "the job's topics exist, parameters compacted) and Flink's REST API (reachable, version, free "
                + "slots).",
            "Prints OK, WARN or FAIL with a reason per check, then a summary; exits with 1 if any check failed."})
final class DoctorCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--bootstrap-servers", paramLabel = "HOST:PORT",
            description = "Kafka brokers (default: the job configuration's, else 127.0.0.1:9092).")
    String bootstrapServers;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--skip", paramLabel = "CHECK", split = ",",
            description = "Leave out checks by name (java, memory, kafka, kafka topics, flink, ...).")
    Set<String> skip = new LinkedHashSet<>();

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        List<Doctor.Finding> findings = new ArrayList<>();
        JobSettings settings = null;
        String source = cluster.config == null ? "defaults" : cluster.config.toString();
        try {
            Configuration c = cluster.jobConfiguration();
            if (bootstrapServers != null) {
                c.set(GradstreamOptions.BOOTSTRAP_SERVERS, bootstrapServers);
            }
            settings = JobSettings.from(c);
            findings.add(new Doctor.Finding("job config", Check.Result.ok(source + ": delivery "
                    + settings.delivery() + ", Kafka " + settings.bootstrapServers())));
        } catch (Exception e) {
            findings.add(new Doctor.Finding("job config", Check.Result.fail(source + ": " + e.getMessage())));
        }
        List<Check> checks = new ArrayList<>(Doctor.standardChecks(new Doctor.Target(
                settings != null ? settings : JobSettings.from(new Configuration()), cluster.flinkUrl)));
        // Without valid settings the Kafka checks have no topics to look at; the others still run.
        boolean noSettings = settings == null;
        checks.removeIf(ch -> skip.contains(ch.name()) || noSettings && ch.name().startsWith("kafka"));
        findings.addAll(Doctor.run(checks));
        findings.removeIf(f -> skip.contains(f.check()));
        Doctor.format(findings).forEach(out::println);
        out.flush();
        return Doctor.exitStatus(findings);
    }
}
