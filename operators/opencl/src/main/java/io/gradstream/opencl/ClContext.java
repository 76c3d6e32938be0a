package io.gradstream.opencl;

import static org.jocl.CL.CL_CONTEXT_PLATFORM;
import static org.jocl.CL.CL_INVALID_BUFFER_SIZE;
import static org.jocl.CL.CL_INVALID_CONTEXT;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_PROGRAM_BUILD_LOG;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_platform_id;
import org.jocl.cl_program;

/**
 * One OpenCL context, command queue, program cache and grow-only buffer pool on one device, owned by one operator
 * subtask: opened in its {@code open()}, released in its {@code close()}. Not thread-safe; never shared statically.
 */
public final class ClContext implements AutoCloseable {
    /**
     * Elements per chunk of the concatenated shard layout, and the work-group size of the elementwise kernels: every
     * shard starts on a chunk boundary, so a work-group never spans two shards.
     */
    static final int CHUNK = 256;

    private final ClDevice device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_device_id deviceId;
    private final Function<String, String> sources;
    private final Map<String, cl_program> programs = new HashMap<>();
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    private final Map<String, cl_mem> buffers = new HashMap<>();
    private final Map<String, Long> capacities = new HashMap<>();
    /** Buffers handed out by {@link #allocate}, released by their owner or with the context. */
    private final Map<cl_mem, Long> owned = new java.util.IdentityHashMap<>();

    private long allocationPaddingForTest;
    private boolean open = true;

    private ClContext(
            ClDevice device,
            cl_context context,
            cl_command_queue queue,
            cl_device_id deviceId,
            Function<String, String> sources) {
        this.device = device;
        this.context = context;
        this.queue = queue;
        this.deviceId = deviceId;
        this.sources = sources;
    }

    /**
     * Opens the device {@code config} selects.
     *
     * @throws OpenClException when there is no OpenCL runtime, platform or matching device, naming what was found,
     *     or when this JVM runs without signal chaining ({@link SignalChaining})
     */
    public static ClContext open(ClConfig config) {
        return open(config, ClContext::resource);
    }

    /** As {@link #open(ClConfig)}, with kernel sources from {@code sources} (program name to source): a test hook. */
    static ClContext open(ClConfig config, Function<String, String> sources) {
        SignalChaining.require();
        try {
            CL.setExceptionsEnabled(true);
            cl_platform_id platform = ClPlatforms.selectPlatform(config);
            cl_device_id deviceId = ClPlatforms.selectDevice(platform, config);
            cl_context_properties props = new cl_context_properties();
            props.addProperty(CL_CONTEXT_PLATFORM, platform);
            cl_context context = CL.clCreateContext(props, 1, new cl_device_id[] {deviceId}, null, null, null);
            cl_command_queue queue;
            try {
                queue = createQueue(context, deviceId);
            } catch (CLException e) {
                CL.clReleaseContext(context);
                throw e;
            }
            return new ClContext(ClPlatforms.describe(platform, deviceId), context, queue, deviceId, sources);
        } catch (CLException e) {
            throw OpenClException.wrap("cannot open OpenCL device " + config, e);
        } catch (LinkageError e) {
            // JOCL's native library or libOpenCL.so itself is missing.
            throw new OpenClException(0, "no OpenCL runtime (JOCL or libOpenCL.so not loadable)", e);
        }
    }

    @SuppressWarnings("deprecation")
    private static cl_command_queue createQueue(cl_context context, cl_device_id device) {
        // The OpenCL 1.2 entry point: every 1.2, 2.x and 3.0 runtime has it, the 2.0 one is optional on 3.0.
        return CL.clCreateCommandQueue(context, device, 0, null);
    }

    /**
     * Every device of every platform, in platform and device order (what {@code gradstream doctor} lists); empty
     * when the ICD loader finds no platform.
     *
     * @throws OpenClException when there is no OpenCL runtime at all, or the driver fails
     */
    public static List<ClDevice> devices() {
        return ClPlatforms.devices();
    }

    /**
     * Why no OpenCL device can be opened here, or empty when one can: lets tests skip with the reason, and a job
     * decide on the CPU backend up front.
     */
    public static Optional<String> unavailableReason(ClConfig config) {
        ClContext probe;
        try {
            probe = open(config);
        } catch (OpenClException e) {
            return Optional.of(e.getMessage());
        }
        probe.close();
        return Optional.empty();
    }

    /** The kernel source {@code <name>.cl} next to this class on the classpath. */
    static String resource(String program) {
        String path = program + ".cl";
        try (InputStream in = ClContext.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new OpenClException(0, "kernel source " + path + " not on the classpath");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + path, e);
        }
    }

    public ClDevice device() {
        return device;
    }

    public boolean isOpen() {
        return open;
    }

    cl_command_queue queue() {
        checkOpen();
        return queue;
    }

    /**
     * The kernel {@code name} of program {@code program}, built once per context: float contraction off, and
     * correctly rounded division and square root where the device offers them, so the float arithmetic is Java's.
     */
    cl_kernel kernel(String program, String name) {
        checkOpen();
        String key = program + "#" + name;
        cl_kernel k = kernels.get(key);
        if (k != null) {
            return k;
        }
        cl_program prog = programs.get(program);
        if (prog == null) {
            prog = build(program);
            programs.put(program, prog);
        }
        try {
            k = CL.clCreateKernel(prog, name, null);
        } catch (CLException e) {
            throw OpenClException.wrap("no kernel '" + name + "' in program " + program, e);
        }
        kernels.put(key, k);
        return k;
    }

    private cl_program build(String program) {
        String source = sources.apply(program);
        cl_program prog = CL.clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        String options = "-DCHUNK=" + CHUNK + (device.fp64() ? " -DHAS_FP64" : "")
                + (device.correctlyRoundedDivideSqrt() ? " -cl-fp32-correctly-rounded-divide-sqrt" : "");
        try {
            CL.clBuildProgram(prog, 1, new cl_device_id[] {deviceId}, options, null, null);
        } catch (CLException e) {
            String log = buildLog(prog);
            CL.clReleaseProgram(prog);
            throw new OpenClException(
                    e.getStatus(),
                    "cannot build OpenCL program " + program + " with '" + options + "'; build log:\n" + log);
        }
        return prog;
    }

    private String buildLog(cl_program prog) {
        try {
            long[] size = new long[1];
            CL.clGetProgramBuildInfo(prog, deviceId, CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] b = new byte[(int) size[0]];
            CL.clGetProgramBuildInfo(prog, deviceId, CL_PROGRAM_BUILD_LOG, b.length, Pointer.to(b), null);
            return ClPlatforms.cString(b);
        } catch (CLException e) {
            return "(no build log: " + e.getMessage() + ")";
        }
    }

    /**
     * The pooled device buffer {@code role} of at least {@code bytes}: reused while large enough, replaced by a
     * larger one otherwise (grow-only, so a steady stream of batches allocates nothing).
     *
     * @throws OpenClException with CL_INVALID_BUFFER_SIZE when one buffer would exceed the device's maximum
     */
    cl_mem buffer(String role, long bytes) {
        checkOpen();
        long want = Math.max(bytes, 4) + allocationPaddingForTest;
        Long have = capacities.get(role);
        if (have != null && have >= want) {
            return buffers.get(role);
        }
        if (want > device.maxAllocBytes()) {
            // Checked here because some drivers allocate lazily and would fail later, at first use.
            throw new OpenClException(
                    CL_INVALID_BUFFER_SIZE,
                    "buffer '" + role + "' of " + want + " bytes exceeds CL_DEVICE_MAX_MEM_ALLOC_SIZE "
                            + device.maxAllocBytes() + " of " + device.name());
        }
        cl_mem old = buffers.remove(role);
        capacities.remove(role);
        if (old != null) {
            CL.clReleaseMemObject(old);
        }
        cl_mem mem = CL.clCreateBuffer(context, CL_MEM_READ_WRITE, want, null, null);
        buffers.put(role, mem);
        capacities.put(role, want);
        return mem;
    }

    /**
     * A device buffer of {@code bytes} that the caller owns until {@link #release}; the context releases what is left
     * when it closes.
     *
     * @throws OpenClException with CL_INVALID_BUFFER_SIZE when it would exceed the device's maximum allocation
     */
    cl_mem allocate(long bytes) {
        checkOpen();
        long want = Math.max(bytes, 4) + allocationPaddingForTest;
        if (want > device.maxAllocBytes()) {
            throw new OpenClException(
                    CL_INVALID_BUFFER_SIZE,
                    "a buffer of " + want + " bytes exceeds CL_DEVICE_MAX_MEM_ALLOC_SIZE " + device.maxAllocBytes()
                            + " of " + device.name());
        }
        cl_mem mem = CL.clCreateBuffer(context, CL_MEM_READ_WRITE, want, null, null);
        owned.put(mem, want);
        return mem;
    }

    /** Releases a buffer from {@link #allocate}; nothing once the context is closed (it released them all). */
    void release(cl_mem mem) {
        if (open && owned.remove(mem) != null) {
            CL.clReleaseMemObject(mem);
        }
    }

    /** Bytes held by pooled device buffers. */
    public long pooledBytes() {
        return capacities.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Test hook: every new buffer request grows by {@code bytes} (forces CL_INVALID_BUFFER_SIZE). */
    void padAllocationsForTest(long bytes) {
        this.allocationPaddingForTest = bytes;
    }

    private void checkOpen() {
        if (!open) {
            // Never hand released handles to the native library: that would crash the JVM, not throw.
            throw new OpenClException(
                    CL_INVALID_CONTEXT,
                    "OpenCL context on " + device.name() + " is released (device lost or context closed)");
        }
    }

    /** Releases buffers, kernels, programs, the queue and the context; idempotent. */
    @Override
    public void close() {
        if (!open) {
            return;
        }
        open = false;
        try {
            buffers.values().forEach(CL::clReleaseMemObject);
            owned.keySet().forEach(CL::clReleaseMemObject);
            kernels.values().forEach(CL::clReleaseKernel);
            programs.values().forEach(CL::clReleaseProgram);
            CL.clReleaseCommandQueue(queue);
            CL.clReleaseContext(context);
        } catch (CLException e) {
            throw OpenClException.wrap("releasing the OpenCL context on " + device.name(), e);
        } finally {
            buffers.clear();
            capacities.clear();
            owned.clear();
            kernels.clear();
            programs.clear();
        }
    }

    @Override
    public String toString() {
        return "ClContext[" + device + (open ? "" : ", released") + "]";
    }
}
