package org.clopt;

/**
 * The total norm of the gradients was infinite or NaN when clipping was asked to treat that as
 * an error ({@code error_if_nonfinite=True}); nothing was scaled.
 */
public class NonFiniteNormException extends CloptException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with this message.
     *
     * @param message what was found
     */
    public NonFiniteNormException(String message) {
        super(message);
    }
}
