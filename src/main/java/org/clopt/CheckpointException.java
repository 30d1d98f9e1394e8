package org.clopt;

/**
 * A checkpoint could not be read, is corrupt, or does not fit the parameter set it is loaded
 * into. The message names the file and the first problem found; nothing was changed.
 */
public class CheckpointException extends CloptException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with this message.
     *
     * @param message the file and what is wrong
     */
    public CheckpointException(String message) {
        super(message);
    }

    /**
     * An exception with this message and cause.
     *
     * @param message the file and what is wrong
     * @param cause the underlying failure
     */
    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
