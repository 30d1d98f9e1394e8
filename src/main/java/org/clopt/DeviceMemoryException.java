package org.clopt;

/** The device could not hold what was asked for; the message says how much and what it allows. */
public class DeviceMemoryException extends OpenClException {
    private static final long serialVersionUID = 1L;

    public DeviceMemoryException(String message, int status, Throwable cause) {
        super(message, status, cause);
    }
}
