package org.clopt;

/**
 * The Java heap cannot hold what was asked for (the CPU reference path's arrays); the message
 * says how much was needed and what the heap allows, and {@code -Xmx} raises the limit.
 */
public class HostMemoryException extends CloptException {
    private static final long serialVersionUID = 1L;

    /**
     * An exception with this message and cause.
     *
     * @param message how much was needed and what the heap allows
     * @param cause the {@link OutOfMemoryError}
     */
    public HostMemoryException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The exception for {@code bytes} of {@code what} that the heap could not give. */
    static HostMemoryException of(String what, long bytes, OutOfMemoryError cause) {
        return new HostMemoryException(what + " needs " + Device.mib(bytes) + " of Java heap, more than "
                + "is free of the " + Device.mib(Runtime.getRuntime().maxMemory())
                + " it may use (raise it with -Xmx)", cause);
    }
}
