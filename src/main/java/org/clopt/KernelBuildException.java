package org.clopt;

/** The OpenCL compiler rejected a kernel; the message carries the device's build log. */
public class KernelBuildException extends OpenClException {
    private static final long serialVersionUID = 1L;

    public KernelBuildException(String message, int status, Throwable cause) {
        super(message, status, cause);
    }
}
