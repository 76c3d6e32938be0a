package io.gradstream.ops.doctor;

import com.fasterxml.jackson.databind.JsonNode;
import io.gradstream.ops.FlinkRest;
import java.lang.management.ManagementFactory;
import java.util.Locale;

/** The checks of the machine and of the Flink cluster; Kafka's are in {@link KafkaChecks}. */
public final class Checks {
    private Checks() {}

    static final int MIN_JAVA = 17;
    static final long MIN_HEAP = 1L << 30;

    /** Java {@value #MIN_JAVA} or newer (the project's release level). */
    public static Check java(Runtime.Version version) {
        return Check.of("java", () -> {
            String what = System.getProperty("java.vm.name", "Java") + " " + version;
            return version.feature() >= MIN_JAVA
                    ? Check.Result.ok(what)
                    : Check.Result.fail(what + ": gradstream needs Java " + MIN_JAVA + " or newer");
        });
    }

    /**
     * At least 1 GiB of heap (Kafka, a MiniCluster and the demo share one JVM in local mode), and a heap that fits
     * in physical memory; {@code physical} is 0 when unknown.
     */
    public static Check memory(long maxHeap, long physical) {
        return Check.of("memory", () -> {
            String what = "max heap " + gib(maxHeap) + (physical > 0 ? " of " + gib(physical) + " physical" : "");
            if (physical > 0 && maxHeap > physical) {
                return Check.Result.fail(what + ": the heap may outgrow physical memory; lower -Xmx");
            }
            if (maxHeap < MIN_HEAP) {
                return Check.Result.warn(what + ": gradstream local wants >= 1 GiB (GRADSTREAM_JAVA_OPTS=-Xmx2g)");
            }
            return Check.Result.ok(what);
        });
    }

    /**
     * Lists the OpenCL platforms and devices. Without any that is fine for the cpu backend (WARN: the job cannot
     * offload) and a FAIL for {@code gradstream.backend: opencl}, whose device must also be among them.
     */
    public static Check opencl(
            io.gradstream.operators.BackendSettings backend,
            java.util.function.Supplier<java.util.List<io.gradstream.opencl.ClDevice>> devices) {
        return Check.of("opencl", () -> {
            boolean wanted = backend.kind() == io.gradstream.operators.BackendSettings.Kind.OPENCL;
            java.util.List<io.gradstream.opencl.ClDevice> found;
            try {
                found = devices.get();
            } catch (RuntimeException e) {
                // No runtime, no loader, or refused here (no signal chaining): the exception says which.
                String why = "OpenCL unavailable (" + e.getMessage() + ")";
                return wanted
                        ? Check.Result.fail(why + " but gradstream.backend is opencl")
                        : Check.Result.warn(why + "; steps run on the CPU");
            }
            if (found.isEmpty()) {
                String why = "no OpenCL platform (install a driver, or pocl-opencl-icd for a CPU device)";
                return wanted
                        ? Check.Result.fail(why + " but gradstream.backend is opencl")
                        : Check.Result.warn(why + "; steps run on the CPU");
            }
            java.util.List<String> names = new java.util.ArrayList<>();
            for (io.gradstream.opencl.ClDevice d : found) {
                names.add(d.platform() + ": " + d.name() + " (" + d.version() + ", " + gib(d.globalMemBytes())
                        + (d.fp64() ? ", fp64" : "") + ")");
            }
            String list = found.size() + " device(s): " + String.join("; ", names);
            if (wanted) {
                java.util.Optional<String> reason = io.gradstream.opencl.ClContext.unavailableReason(
                        io.gradstream.opencl.ClConfig.fromMap(backend.opencl()));
                if (reason.isPresent()) {
                    return Check.Result.fail("the configured device does not open: " + reason.get() + "; " + list);
                }
            }
            return Check.Result.ok(list);
        });
    }

    /** Physical memory of this machine in bytes, 0 when the JVM cannot tell. */
    static long physicalMemory() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return 0;
    }

    /** Flink's REST API answers {@code /overview}, its version is 2.x, and it has free task slots. */
    public static Check flink(String url) {
        return Check.of("flink", () -> {
            FlinkRest rest = new FlinkRest(url);
            JsonNode o = rest.get("overview");
            String version = o.path("flink-version").asText("?");
            int tms = o.path("taskmanagers").asInt();
            int total = o.path("slots-total").asInt();
            int free = o.path("slots-available").asInt();
            String what = String.format(
                    Locale.ROOT,
                    "Flink %s at %s: %d task manager(s), %d of %d slots free, " + "%d job(s) running",
                    version,
                    rest.url(),
                    tms,
                    free,
                    total,
                    o.path("jobs-running").asInt());
            if (!version.startsWith("2.")) {
                return Check.Result.fail(what + "; gradstream is built for Flink 2.2");
            }
            if (tms == 0 || free == 0) {
                return Check.Result.warn(what + "; a new job needs free slots");
            }
            return Check.Result.ok(what);
        });
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
