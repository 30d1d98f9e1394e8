package org.clopt;

/** Base of every failure clopt reports that is not an argument error. */
public class CloptException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with this message.
     *
     * @param message what went wrong
     */
    public CloptException(String message) {
        super(message);
    }

    /**
     * An exception with this message and cause.
     *
     * @param message what went wrong
     * @param cause the underlying failure
     */
    public CloptException(String message, Throwable cause) {
        super(message, cause);
    }
}
