package org.clopt;

/** Base of every failure clopt reports that is not an argument error. */
public class CloptException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CloptException(String message) {
        super(message);
    }

    public CloptException(String message, Throwable cause) {
        super(message, cause);
    }
}
