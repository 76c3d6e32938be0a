package io.gradstream.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs {@code gradstream} commands in the test's JVM and keeps what they printed. */
final class CliRuns {
    private CliRuns() {}

    /** What a {@code gradstream} command printed and returned. */
    record CliRun(int status, String out, String err) {}

    /** Runs a {@code gradstream} command in this JVM. */
    static CliRun cli(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = GradstreamCli.execute(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new CliRun(rc, out.toString(), err.toString());
    }
}
