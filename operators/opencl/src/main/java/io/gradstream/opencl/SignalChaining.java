package io.gradstream.opencl;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Whether this JVM has the JDK's signal chaining (libjsig) loaded, without which OpenCL must not be touched: POCL
 * has LLVM register its crash handlers for SIGSEGV, SIGBUS, SIGFPE... (with SA_RESETHAND) over the JVM's when the
 * platform initialises and again for each program it builds. The JVM raises SIGSEGV routinely (safepoint polls,
 * implicit null checks); the first one after that resets the disposition to the default, and a second thread's
 * SIGSEGV in that window kills the process. libjsig keeps the JVM's handlers installed and chains the driver's.
 */
final class SignalChaining {
    static final String LIBRARY = "libjsig.so";
    private static final Path MAPS = Path.of("/proc/self/maps");

    private static volatile Optional<String> missing;

    private SignalChaining() {}

    /** Throws, before any call into the OpenCL library, when this JVM runs without signal chaining. */
    static void require() {
        Optional<String> why = missing;
        if (why == null) {
            why = missing(MAPS, System.getProperty("java.home"));
            missing = why;
        }
        why.ifPresent(w -> {
            throw new OpenClException(0, w);
        });
    }

    /**
     * Why OpenCL is refused, or empty when {@code maps} (a {@code /proc/<pid>/maps}) lists libjsig, or when there is
     * no such file (not Linux: the hazard is checked where it was found).
     */
    static Optional<String> missing(Path maps, String javaHome) {
        if (!Files.isReadable(maps)) {
            return Optional.empty();
        }
        try (Stream<String> lines = Files.lines(maps)) {
            if (lines.anyMatch(l -> l.endsWith("/" + LIBRARY))) {
                return Optional.empty();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + maps, e);
        }
        return Optional.of("OpenCL refused: this JVM runs without the JDK's signal chaining, and OpenCL drivers such"
                + " as POCL replace the JVM's SIGSEGV handler with LLVM's, after which a routine safepoint can kill"
                + " the process; start java with LD_PRELOAD=" + javaHome + "/lib/" + LIBRARY
                + " (./gradstream, the Maven integration tests and the Docker image do; see docs/opencl.md)");
    }
}
