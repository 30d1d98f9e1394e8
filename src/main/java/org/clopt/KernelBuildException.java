package org.clopt;

/** The OpenCL compiler rejected a kernel; the message carries the device's build log. */
public class KernelBuildException extends OpenClException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with this message, OpenCL status code and cause.
     *
     * @param message the kernel, the device and its build log
     * @param status the OpenCL status code, such as {@code CL_BUILD_PROGRAM_FAILURE}
     * @param cause the underlying failure, or null
     */
    public KernelBuildException(String message, int status, Throwable cause) {
        super(message, status, cause);
    }
}
