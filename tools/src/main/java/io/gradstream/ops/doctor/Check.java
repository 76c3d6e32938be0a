package io.gradstream.ops.doctor;

/**
 * One thing {@code gradstream doctor} verifies. A check answers with a verdict and a one-line reason; an exception
 * it throws counts as {@link Status#FAIL} with the exception's message. New checks (an OpenCL device check, say) are
 * added in {@link Doctor#standardChecks}.
 */
public interface Check {

    /** Short name shown in the report's second column, e.g. {@code kafka}. */
    String name();

    Result run() throws Exception;

    /** OK: fine; WARN: works but deserves a look; FAIL: gradstream will not work like this. */
    enum Status {
        OK,
        WARN,
        FAIL
    }

    /** A verdict and its one-line reason. */
    record Result(Status status, String detail) {
        public static Result ok(String detail) {
            return new Result(Status.OK, detail);
        }

        public static Result warn(String detail) {
            return new Result(Status.WARN, detail);
        }

        public static Result fail(String detail) {
            return new Result(Status.FAIL, detail);
        }
    }

    /** A check from a name and a body, for checks small enough to be a lambda. */
    static Check of(String name, java.util.concurrent.Callable<Result> body) {
        return new Check() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Result run() throws Exception {
                return body.call();
            }
        };
    }
}
