package org.clopt;

/** The device could not hold what was asked for; the message says how much and what it allows. */
public class DeviceMemoryException extends OpenClException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with this message, OpenCL status code and cause.
     *
     * @param message how much was asked for and what the device allows
     * @param status the OpenCL status code, such as {@code CL_MEM_OBJECT_ALLOCATION_FAILURE}
     * @param cause the underlying failure, or null
     */
    public DeviceMemoryException(String message, int status, Throwable cause) {
        super(message, status, cause);
    }
}
