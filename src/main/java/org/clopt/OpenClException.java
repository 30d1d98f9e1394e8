package org.clopt;

/** An OpenCL call failed; the message names the call and the status code. */
public class OpenClException extends CloptException {
    private static final long serialVersionUID = 1L;
    /** The OpenCL status code. */
    private final int status;

    /**
     * An exception with this message, OpenCL status code and cause.
     *
     * @param message the call that failed and its status
     * @param status the OpenCL status code
     * @param cause the underlying failure, or null
     */
    public OpenClException(String message, int status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /**
     * The OpenCL status code, for example -5 for CL_OUT_OF_RESOURCES.
     *
     * @return the status code
     */
    public int status() {
        return status;
    }
}
