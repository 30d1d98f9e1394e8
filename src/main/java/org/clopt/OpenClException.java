package org.clopt;

/** An OpenCL call failed; the message names the call and the status code. */
public class OpenClException extends CloptException {
    private static final long serialVersionUID = 1L;
    private final int status;

    public OpenClException(String message, int status, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    /** The OpenCL status code, for example -5 for CL_OUT_OF_RESOURCES. */
    public int status() {
        return status;
    }
}
