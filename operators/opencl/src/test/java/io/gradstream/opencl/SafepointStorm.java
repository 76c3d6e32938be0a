package io.gradstream.opencl;

/**
 * Child-JVM main of {@link SignalChainingITCase}: builds one new OpenCL program per round (each build has POCL
 * register LLVM's signal handlers again) and then forces a safepoint while busy threads run compiled loops, so that
 * several threads take the JVM's safepoint-poll SIGSEGV at once. Exit 0 and "survived N rounds" when the JVM lived
 * through all rounds, 3 with the refusal when {@link ClContext#open} will not touch OpenCL.
 */
public final class SafepointStorm {
    private static volatile boolean stop;
    private static volatile long sink;

    private SafepointStorm() {}

    public static void main(String[] args) {
        int rounds = Integer.parseInt(args[0]);
        ClContext ctx;
        try {
            // Program "pN" adds N: a new source, so a new build, every round.
            ctx = ClContext.open(
                    OpenClTesting.config(),
                    program -> "kernel void k(global float* x) {" + " x[get_global_id(0)] += " + program.substring(1)
                            + ".0f; }");
        } catch (OpenClException e) {
            System.out.println(e.getMessage());
            System.exit(3);
            return;
        }
        for (int t = 0; t < 2 * Runtime.getRuntime().availableProcessors(); t++) {
            Thread spinner = new Thread(SafepointStorm::spin, "spinner-" + t);
            spinner.setDaemon(true);
            spinner.start();
        }
        for (int r = 0; r < rounds; r++) {
            ctx.kernel("p" + r, "k");
            System.gc();
        }
        stop = true;
        ctx.close();
        System.out.println("survived " + rounds + " rounds");
        System.exit(0);
    }

    private static void spin() {
        long s = 0;
        for (int i = 0; !stop; i++) {
            s += i * 31L;
            if ((i & 0xFFFFF) == 0) {
                sink = s;
            }
        }
    }
}
