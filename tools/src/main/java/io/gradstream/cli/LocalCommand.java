package io.gradstream.cli;

import io.gradstream.client.GradientEncoding;
import io.gradstream.demo.DemoPrivacy;
import io.gradstream.demo.DigitsDemo;
import io.gradstream.kafka.KafkaClients;
import io.gradstream.kafka.SecureKafka;
import io.gradstream.local.LocalGradstream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code gradstream local}: the whole service on this machine, optionally with demo workers. */
@Command(
        name = "local",
        mixinStandardHelpOptions = true,
        description = {
            "Runs gradstream on this machine: an embedded Kafka broker (unless --bootstrap-servers is given), the "
                    + "topics, and the job on a Flink MiniCluster with the Flink Web UI, all on 127.0.0.1.",
            "Without --demo it serves external workers until Ctrl-C; with --demo, worker threads train softmax "
                    + "regression on the UCI handwritten digits through the service and it exits when done."
        })
final class LocalCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(
            names = "--bootstrap-servers",
            paramLabel = "HOST:PORT",
            description = "Use this Kafka cluster instead of starting an embedded broker.")
    String bootstrapServers;

    @Option(
            names = "--kafka-port",
            defaultValue = "9092",
            description = "Port of the embedded broker on 127.0.0.1 (0 = any free port; default: ${DEFAULT-VALUE}).")
    int kafkaPort;

    @Option(
            names = "--web-port",
            defaultValue = "8081",
            description = "Port of the Flink Web UI (0: any free port; default: " + "${DEFAULT-VALUE}).")
    int webPort;

    @Option(
            names = "--prometheus-port",
            defaultValue = "9249",
            paramLabel = "PORT|none",
            description = "Port of the Prometheus metrics endpoint on 127.0.0.1 (0 or none: no endpoint; default: "
                    + "${DEFAULT-VALUE}).")
    String prometheusPort;

    @Option(
            names = "--parallelism",
            defaultValue = "1",
            description = "Parallelism of the job (default: " + "${DEFAULT-VALUE}).")
    int parallelism;

    @Option(
            names = "--partitions",
            defaultValue = "4",
            description = "Partitions of new gradients/parameters topics (default: ${DEFAULT-VALUE}).")
    int partitions;

    @Option(
            names = "--work-dir",
            paramLabel = "DIR",
            description = "Keep Kafka data and checkpoints here (default: a temporary folder removed at exit).")
    Path workDir;

    @Option(
            names = "-D",
            paramLabel = "KEY=VALUE",
            mapFallbackValue = "",
            description = "A configuration key (gradstream.*, see README, or any Flink key), e.g. "
                    + "-D gradstream.delivery=EXACTLY_ONCE -D state.backend.type=rocksdb.")
    Map<String, String> properties = new java.util.LinkedHashMap<>();

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "A flat 'key: value' file of configuration (gradstream.* and Flink keys); -D flags win.")
    Path config;

    @Option(
            names = "--kafka-config",
            paramLabel = "FILE",
            description = "A Kafka client .properties file for --bootstrap-servers' cluster (security.protocol, "
                    + "sasl.*, ssl.*); the job gets its secrets as references to the file, never as values.")
    Path kafkaConfig;

    @Option(
            names = "--savepoint",
            paramLabel = "PATH",
            description = "Restore the job from this savepoint or retained checkpoint (from 'gradstream stop "
                    + "--savepoint DIR'); --parallelism may differ from the stopped job's.")
    String savepoint;

    @Option(
            names = "--secure",
            description = "Secure the embedded broker: SASL_SSL (SCRAM-SHA-512) with TLS certificates made at start, "
                    + "ACLs, and credential files for the principals job, operator and worker in the work folder; "
                    + "the job runs as 'job'.")
    boolean secure;

    @Option(names = "--demo", description = "Train the demo model with worker threads, print progress, then exit.")
    boolean demo;

    @Option(names = "--steps", defaultValue = "200", description = "Demo steps (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--workers", defaultValue = "2", description = "Demo workers (default: ${DEFAULT-VALUE}).")
    int workers;

    @Option(
            names = "--encoding",
            defaultValue = "fp32",
            paramLabel = "ENCODING",
            description = "Demo gradients in fp32, bf16, fp16, int8 or topk:FRACTION (e.g. topk:0.01); int8 and topk "
                    + "with the workers' error feedback (add :noef to turn it off) and a delta stream of the same "
                    + "encoding for the parameters, bf16 and fp16 with parameters in that encoding "
                    + "(default: ${DEFAULT-VALUE}).")
    String encoding;

    @Option(
            names = "--dp",
            arity = "0..1",
            fallbackValue = "sgd",
            paramLabel = "MECHANISM",
            description = "Train the demo with differential privacy per example, the noise calibrated to reach "
                    + "--epsilon after --steps: sgd (the default: DP-SGD with Adam, workers Poisson-sample at "
                    + "--sample-rate) or ftrl (DP-FTRL with momentum and tree-aggregated noise: no sampling, workers "
                    + "shuffle their slice every epoch and take batches of --sample-rate of it, each example at most "
                    + "once per tree).")
    String dp;

    @Option(
            names = "--epsilon",
            defaultValue = "8",
            description = "With --dp: the privacy budget epsilon (default: " + "${DEFAULT-VALUE}).")
    double epsilon;

    @Option(
            names = "--delta",
            defaultValue = "1e-5",
            description = "With --dp: delta, below 1/1797 examples " + "(default: ${DEFAULT-VALUE}).")
    double delta;

    @Option(
            names = "--clip",
            defaultValue = "1.0",
            description = "With --dp: per-example clip norm C (default: " + "${DEFAULT-VALUE}).")
    double clip;

    @Option(
            names = "--sample-rate",
            defaultValue = "0.1",
            description = "With --dp: probability that an example joins a step; with --dp ftrl: the fraction of each "
                    + "worker's slice in a step's batch (default: ${DEFAULT-VALUE}).")
    double sampleRate;

    @Option(
            names = "--dp-accountant",
            defaultValue = "prv",
            paramLabel = "ACCOUNTANT",
            description = "With --dp: prv (Opacus' default, tighter) or rdp; the noise is calibrated and epsilon "
                    + "accounted with it (default: ${DEFAULT-VALUE}).")
    String dpAccountant;

    @Option(
            names = "--dp-lr",
            defaultValue = "" + DemoPrivacy.FTRL_LEARNING_RATE,
            paramLabel = "RATE",
            description = "With --dp ftrl: FTRL's learning rate (default: ${DEFAULT-VALUE}).")
    double dpLearningRate;

    @Option(
            names = "--dp-seed-file",
            paramLabel = "FILE",
            description = "With --dp: the secret that keys the noise "
                    + "(at least 16 bytes). Default: a fresh random secret in the work folder.")
    Path dpSeedFile;

    @Override
    public Integer call() throws Exception {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        if (parallelism < 1 || partitions < 1 || steps < 1 || workers < 1) {
            err.println("gradstream local: --parallelism, --partitions, --steps and --workers must be >= 1");
            return 2;
        }
        GradientEncoding gradientEncoding;
        try {
            gradientEncoding = GradientEncoding.parse(encoding);
        } catch (IllegalArgumentException e) {
            err.println("gradstream local: --encoding: " + e.getMessage());
            return 2;
        }
        if (!demo && !"fp32".equals(encoding)) {
            err.println("gradstream local: --encoding applies to the demo; add --demo (external workers choose "
                    + "their encoding, and a model's CREATE its compression)");
            return 2;
        }
        io.gradstream.core.privacy.Accountant accountant;
        try {
            accountant = io.gradstream.core.privacy.Accountant.valueOf(
                    dpAccountant.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            err.println("gradstream local: --dp-accountant must be prv or rdp, not '" + dpAccountant + "'");
            return 2;
        }
        DemoPrivacy.Mechanism mechanism = null;
        if (dp != null) {
            switch (dp.strip().toLowerCase(Locale.ROOT)) {
                case "sgd" -> mechanism = DemoPrivacy.Mechanism.DP_SGD;
                case "ftrl" -> mechanism = DemoPrivacy.Mechanism.DP_FTRL;
                default -> {
                    err.println("gradstream local: --dp takes sgd or ftrl, not '" + dp + "'");
                    return 2;
                }
            }
        }
        if (mechanism != DemoPrivacy.Mechanism.DP_FTRL
                && spec.commandLine().getParseResult().hasMatchedOption("--dp-lr")) {
            err.println("gradstream local: --dp-lr is DP-FTRL's learning rate; it applies to --dp ftrl (DP-SGD keeps "
                    + "the demo's Adam)");
            return 2;
        }
        if (dp != null && !demo) {
            err.println("gradstream local: --dp applies to the demo; add --demo (external workers set privacy in "
                    + "their model's spec)");
            return 2;
        }
        int prometheus;
        try {
            prometheus = prometheusPort.equalsIgnoreCase("none") ? 0 : Integer.parseInt(prometheusPort.strip());
        } catch (NumberFormatException e) {
            prometheus = -1;
        }
        if (prometheus < 0 || prometheus > 65535) {
            err.println("gradstream local: --prometheus-port must be a port (1-65535), 0 or none, not '"
                    + prometheusPort + "'");
            return 2;
        }
        if (secure && (bootstrapServers != null || kafkaConfig != null)) {
            err.println("gradstream local: --secure secures the embedded broker; it does not go with "
                    + "--bootstrap-servers or --kafka-config (an existing cluster's settings)");
            return 2;
        }
        Configuration flink;
        try {
            flink = ClusterOptions.layered(config, kafkaConfig, System.getenv(), properties);
        } catch (java.io.IOException | IllegalArgumentException e) {
            err.println("gradstream local: cannot read --config or --kafka-config: " + e.getMessage());
            return 2;
        }
        if (savepoint != null) {
            // Flink's own key: the job graph is restored from it, whatever the parallelism.
            flink.setString("execution.state-recovery.path", savepoint);
        }
        out.println("gradstream local: starting" + (bootstrapServers == null ? " Kafka and" : "") + " Flink ...");
        out.flush();
        LocalGradstream local;
        try {
            local = LocalGradstream.start(new LocalGradstream.Options(
                    bootstrapServers, kafkaPort, webPort, parallelism, partitions, workDir, flink, prometheus, secure));
        } catch (IllegalArgumentException e) {
            err.println("gradstream local: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("gradstream local: could not start: " + rootMessage(e)
                    + (bootstrapServers == null
                            ? " (is port " + kafkaPort + ", " + webPort + " or " + prometheusPort
                                    + " in use? try --kafka-port 0 --web-port 8082 --prometheus-port 9250)"
                            : ""));
            return 1;
        }
        AtomicBoolean closed = new AtomicBoolean();
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable shutdown = () -> {
            if (closed.compareAndSet(false, true)) {
                try {
                    local.close();
                } catch (Exception e) {
                    err.println("gradstream local: error while stopping: " + e.getMessage());
                }
                stopped.countDown();
            }
        };
        Thread hook = new Thread(shutdown, "gradstream-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        var s = local.settings();
        out.println("gradstream local is running");
        out.println("  Flink Web UI:  " + local.webUrl());
        if (local.prometheusUrl() != null) {
            out.println("  Prometheus:    " + local.prometheusUrl());
        }
        out.println("  Kafka:         " + s.bootstrapServers());
        out.println("  topics:        " + s.controlTopic() + " (commands), " + s.gradientsTopic() + " (in), "
                + s.parametersTopic() + " (out, compacted), " + s.rejectedTopic() + " (dead letters), "
                + s.statusTopic() + " (model events)");
        out.println("  delivery:      " + s.delivery());
        if (local.secure() != null) {
            printSecurity(out, local.secure(), s.bootstrapServers());
        }
        out.println("  work folder:   " + local.workDir() + (workDir == null ? " (removed at exit)" : ""));
        out.flush();
        try {
            if (!demo) {
                out.println("Serving workers; Ctrl-C stops.");
                out.flush();
                stopped.await();
                return 0;
            }
            DemoPrivacy privacy = null;
            if (mechanism != null) {
                Path seed = dpSeedFile != null ? dpSeedFile : freshSecret(local.workDir());
                privacy = mechanism == DemoPrivacy.Mechanism.DP_FTRL
                        ? DemoPrivacy.dpFtrl(epsilon, delta, clip, sampleRate, seed, dpLearningRate)
                        : DemoPrivacy.dpSgd(epsilon, delta, clip, sampleRate, seed, accountant);
            }
            DigitsDemo.Clients clients = local.secure() == null
                    ? DigitsDemo.Clients.of(s)
                    : new DigitsDemo.Clients(
                            KafkaClients.config(
                                    s.bootstrapServers(), local.secure().clientProperties(SecureKafka.OPERATOR)),
                            KafkaClients.config(
                                    s.bootstrapServers(), local.secure().clientProperties(SecureKafka.WORKER)),
                            local.secure().clientConfig(SecureKafka.WORKER).resolveSibling("worker-keys"));
            DigitsDemo.Result r = DigitsDemo.run(s, clients, workers, steps, privacy, gradientEncoding, out);
            out.printf(
                    Locale.ROOT,
                    "demo: accuracy %.3f -> %.3f, %.0f gradients/s%n",
                    r.firstAccuracy(),
                    r.lastAccuracy(),
                    r.gradientsPerSecond());
            if (privacy != null) {
                out.printf(
                        Locale.ROOT,
                        "demo: privacy epsilon %.3f (%s) at delta %.0e (target %.2f, noise multiplier " + "%.3f)%n",
                        r.epsilon(),
                        privacy.accountingName(),
                        delta,
                        epsilon,
                        r.noiseMultiplier());
            }
            out.printf(Locale.ROOT, "demo: loss %.4f -> %.4f over %d steps%n", r.firstLoss(), r.lastLoss(), r.steps());
            out.flush();
            return r.lastLoss() < r.firstLoss() ? 0 : 1;
        } catch (IllegalArgumentException e) {
            err.println("gradstream local: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("gradstream local: " + rootMessage(e));
            return 1;
        } finally {
            shutdown.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // Ctrl-C: the hook is running the same shutdown.
            }
        }
    }

    /** Where the credential files are and how a worker and an operator use them. */
    private static void printSecurity(java.io.PrintWriter out, SecureKafka kafka, String bootstrap) {
        out.println("  security:      SASL_SSL (SCRAM-SHA-512) over TLS, ACLs; the job runs as principal 'job'");
        out.println("  credentials:   owner-only Kafka client files (CA certificate: " + kafka.caCertificate() + ")");
        out.println("    worker:      " + kafka.clientConfig(SecureKafka.WORKER)
                + "  (writes gradients, reads parameters; consumer groups " + SecureKafka.WORKER_GROUP_PREFIX + "*)");
        out.println("    operator:    " + kafka.clientConfig(SecureKafka.OPERATOR)
                + "  (writes control, reads status and rejected)");
        out.println("  a worker connects with bootstrap.servers=" + bootstrap + " and the worker file's settings "
                + "(Java: Properties.load; --kafka-config FILE for gradstream's commands); an operator, e.g.:");
        out.println("    ./gradstream doctor --bootstrap-servers " + bootstrap + " --kafka-config "
                + kafka.clientConfig(SecureKafka.OPERATOR));
    }

    /** A random 256-bit secret in a file only this user can read; it goes away with a temporary work folder. */
    private static Path freshSecret(Path dir) throws java.io.IOException {
        byte[] bytes = new byte[32];
        new java.security.SecureRandom().nextBytes(bytes);
        Path file = dir.resolve("dp-seed");
        java.nio.file.Files.writeString(file, java.util.HexFormat.of().formatHex(bytes));
        java.util.Arrays.fill(bytes, (byte) 0);
        try {
            java.nio.file.Files.setPosixFilePermissions(
                    file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException notPosix) {
            // Windows: the work folder's own permissions apply.
        }
        return file;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
    }
}
