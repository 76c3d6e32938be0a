package io.gradstream.opencl;

import io.gradstream.core.optim.CpuStepBackend;
import io.gradstream.core.optim.Optimizer;
import io.gradstream.core.optim.OptimizerState;
import io.gradstream.core.optim.Optimizers;
import io.gradstream.core.optim.ShardStep;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * Optimizer steps over a batch of shards on the OpenCL device against the single-thread CPU path of the same run:
 * GB/s (bytes an element's step must move: Adam 28, SGD with momentum 20) device-resident (kernel only, data
 * already on the device), end-to-end (upload, kernel, read-back, commit) and end-to-end with the optimizer slots
 * resident on the device (parameters and gradient up, parameters back), each as a ratio to the CPU.
 * A plain main rather than JMH: device timings need explicit synchronisation (clFinish) around each measured call.
 */
public final class OpenClBenchmark {
    private static final int WARM_UP = 5;
    private static final Map<String, Integer> BYTES = Map.of("Adam", 28, "AdamW", 28, "SGD", 20);

    private OpenClBenchmark() {}

    public static void main(String[] args) {
        List<Long> sizes = List.of(1L << 20, 1L << 22, 1L << 24);
        List<String> optimizers = List.of("Adam", "AdamW", "SGD");
        int shardSize = 1 << 20;
        int iterations = 10;
        ClConfig config = ClConfig.defaults();
        Map<String, String> cl = new java.util.HashMap<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--sizes" ->
                    sizes = Arrays.stream(args[++i].split(","))
                            .map(OpenClBenchmark::parseSize)
                            .toList();
                case "--optimizers" -> optimizers = List.of(args[++i].split(","));
                case "--shard-size" -> shardSize = Math.toIntExact(parseSize(args[++i]));
                case "--iterations" -> iterations = Integer.parseInt(args[++i]);
                case "--platform" -> cl.put(ClConfig.PLATFORM, args[++i]);
                case "--device-type" -> cl.put(ClConfig.DEVICE_TYPE, args[++i]);
                case "--device" -> cl.put(ClConfig.DEVICE, args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: OpenClBenchmark [--sizes 1Mi,16Mi,256Mi] [--optimizers Adam,AdamW,SGD]"
                            + " [--shard-size 1Mi] [--iterations 10] [--platform INDEX|NAME] [--device-type cpu|gpu|all]"
                            + " [--device INDEX]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (try --help)");
            }
        }
        if (!cl.isEmpty()) {
            config = ClConfig.fromMap(cl);
        }
        try (ClContext ctx = ClContext.open(config)) {
            System.out.println("device: " + ctx.device());
            bandwidth(ctx);
            System.out.println("shard size " + label(shardSize) + ", median of " + iterations + " timed steps after >= "
                    + WARM_UP + " warm-up steps and 1 s; CPU = CpuStepBackend, one thread");
            System.out.println();
            System.out.println("| optimizer | params | B/param | CPU 1-thread GB/s | device-resident GB/s "
                    + "| end-to-end GB/s | end-to-end, resident slots GB/s | resident / CPU | end-to-end / CPU "
                    + "| end-to-end, resident slots / CPU |");
            System.out.println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            OpenClStepBackend device = new OpenClStepBackend(ctx);
            for (String name : optimizers) {
                for (long total : sizes) {
                    row(ctx, device, name, total, shardSize, iterations);
                }
            }
        }
    }

    /** The device's copy bandwidth (the bound of a streaming kernel) and the host-to-device transfer rate. */
    private static void bandwidth(ClContext ctx) {
        long bytes = Math.min(256L << 20, ctx.device().maxAllocBytes() / 2);
        cl_mem a = ctx.buffer("bench-a", bytes);
        cl_mem b = ctx.buffer("bench-b", bytes);
        byte[] host = new byte[(int) bytes];
        double copy = median(5, () -> {
            CL.clEnqueueCopyBuffer(ctx.queue(), a, b, 0, 0, bytes, 0, null, null);
            CL.clFinish(ctx.queue());
        });
        double upload = median(
                5,
                () -> CL.clEnqueueWriteBuffer(ctx.queue(), a, CL.CL_TRUE, 0, bytes, Pointer.to(host), 0, null, null));
        double download = median(
                5, () -> CL.clEnqueueReadBuffer(ctx.queue(), b, CL.CL_TRUE, 0, bytes, Pointer.to(host), 0, null, null));
        System.out.printf(
                Locale.ROOT,
                "device copy %.1f GB/s (read + write), host->device %.1f GB/s, "
                        + "device->host %.1f GB/s (%d MiB buffers)%n",
                2 * bytes / copy / 1e9,
                bytes / upload / 1e9,
                bytes / download / 1e9,
                bytes >> 20);
    }

    private static void row(
            ClContext ctx, OpenClStepBackend device, String name, long total, int shardSize, int iterations) {
        Optimizer opt = name.equals("SGD")
                ? Optimizers.create("SGD", Map.of("lr", 0.01, "momentum", 0.9))
                : Optimizers.create(name, Map.of("lr", 1e-3));
        List<ShardStep> batch = new ArrayList<>();
        SplittableRandom rnd = new SplittableRandom(1);
        for (long done = 0; done < total; done += shardSize) {
            int n = (int) Math.min(shardSize, total - done);
            float[] p = new float[n];
            float[] g = new float[n];
            for (int i = 0; i < n; i++) {
                p[i] = (float) rnd.nextGaussian();
                g[i] = (float) (0.5 + rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1);
            }
            batch.add(new ShardStep(opt, p, g, new OptimizerState()));
        }
        // The same arrays serve both paths: only the time matters here, and one copy halves the memory.
        double cpu = median(iterations, () -> CpuStepBackend.INSTANCE.step(batch));
        double e2e = median(iterations, () -> device.step(batch));
        // End-to-end with resident slots: after the first step only parameters and gradient cross the bus.
        List<ShardStep> keyed = new ArrayList<>();
        for (ShardStep s : batch) {
            keyed.add(new ShardStep(opt, s.params(), s.grad(), s.state(), "bench/" + keyed.size()));
        }
        OpenClStepBackend residentSlots = new OpenClStepBackend(ctx, 12L * total + (64L << 20));
        double e2eResident = median(iterations, () -> residentSlots.step(keyed));
        residentSlots.discard(key -> true);
        // Device-resident: relaunch the kernel on the buffers and arguments the last step left on the device.
        cl_kernel k = ctx.kernel(
                "optimizers",
                OptimizerKernels.pack(opt.scalars(batch.get(0).state())).kernel());
        final long global = BatchLayout.of(
                        batch.stream().mapToInt(ShardStep::length).toArray())
                .padded();
        double resident = median(iterations, () -> {
            CL.clEnqueueNDRangeKernel(
                    ctx.queue(), k, 1, null, new long[] {global}, new long[] {ClContext.CHUNK}, 0, null, null);
            CL.clFinish(ctx.queue());
        });
        int bytes = BYTES.getOrDefault(name, 28);
        double gb = (double) bytes * total / 1e9;
        System.out.printf(
                Locale.ROOT,
                "| %s | %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |%n",
                opt.name() + (name.equals("SGD") ? "-momentum" : ""),
                label(total),
                bytes,
                gb / cpu,
                gb / resident,
                gb / e2e,
                gb / e2eResident,
                cpu / resident,
                cpu / e2e,
                cpu / e2eResident);
    }

    /**
     * Median seconds of {@code n} timed runs after at least {@value #WARM_UP} warm-up runs and one second (C2 needs
     * both before the CPU loop runs at full speed).
     */
    private static double median(int n, Runnable r) {
        long warmUntil = System.nanoTime() + 1_000_000_000L;
        for (int i = 0; i < WARM_UP || System.nanoTime() < warmUntil; i++) {
            r.run();
        }
        double[] t = new double[n];
        for (int i = 0; i < n; i++) {
            long start = System.nanoTime();
            r.run();
            t[i] = (System.nanoTime() - start) / 1e9;
        }
        Arrays.sort(t);
        return t[n / 2];
    }

    static long parseSize(String s) {
        String v = s.trim();
        long unit = 1;
        if (v.endsWith("Mi")) {
            unit = 1L << 20;
            v = v.substring(0, v.length() - 2);
        } else if (v.endsWith("Ki")) {
            unit = 1L << 10;
            v = v.substring(0, v.length() - 2);
        }
        return Long.parseLong(v) * unit;
    }

    private static String label(long n) {
        return n % (1L << 20) == 0 ? (n >> 20) + " Mi" : n % 1024 == 0 ? (n >> 10) + " Ki" : Long.toString(n);
    }
}
