package io.gradstream.opencl;

import org.jocl.CL;
import org.jocl.CLException;

/**
 * A failure of the OpenCL runtime or device (build failure, lost device, out of resources or memory, no platform),
 * with the OpenCL status code where there is one; what {@link ResilientBackend} falls back on.
 */
public final class OpenClException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** {@code CL_PLATFORM_NOT_FOUND_KHR} from cl_khr_icd: the ICD loader found no platform at all. */
    public static final int PLATFORM_NOT_FOUND_KHR = -1001;

    private final int status;

    public OpenClException(int status, String message) {
        super(message + (status != 0 ? " (" + statusName(status) + ")" : ""));
        this.status = status;
    }

    public OpenClException(int status, String message, Throwable cause) {
        super(
                message
                        + (status != 0 ? " (" + statusName(status) + ")" : "")
                        + (cause.getMessage() == null || cause.getMessage().equals(statusName(status))
                                ? ""
                                : ": " + cause.getMessage()),
                cause);
        this.status = status;
    }

    /** Wraps a JOCL exception, keeping its status and saying what was being done. */
    static OpenClException wrap(String doing, CLException e) {
        return new OpenClException(e.getStatus(), doing, e);
    }

    /** The OpenCL status code, e.g. {@code -5} for CL_OUT_OF_RESOURCES; 0 when the failure has none. */
    public int status() {
        return status;
    }

    static String statusName(int status) {
        if (status == PLATFORM_NOT_FOUND_KHR) {
            return "CL_PLATFORM_NOT_FOUND_KHR";
        }
        try {
            return CL.stringFor_errorCode(status);
        } catch (LinkageError e) {
            return "status " + status;
        }
    }
}
