package org.clopt;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * One owner for several native resources: {@link #add} registers each as it is created, and
 * {@link #close} closes them all in reverse order of creation, even when some fail (the first
 * failure is thrown, later ones attached to it with {@code addSuppressed}).
 *
 * <pre>{@code
 * Closer closer = new Closer();
 * try {
 *     DeviceBuffer x = closer.add(DeviceBuffer.allocate(device, bytes, "x"));
 *     Kernel k = closer.add(Kernel.fromSource(device, source, "k", ""));
 * } catch (RuntimeException e) {
 *     closer.closeQuietlyAfter(e);   // a constructor that fails releases what it made
 *     throw e;
 * }
 * }</pre>
 */
public final class Closer implements AutoCloseable {
    private final Deque<AutoCloseable> resources = new ArrayDeque<>();

    /**
     * Registers {@code resource} (null is ignored) and returns it.
     *
     * @param <T> the resource's type
     * @param resource the resource to close later, or null
     * @return {@code resource}
     */
    public synchronized <T extends AutoCloseable> T add(T resource) {
        if (resource != null) {
            resources.push(resource);
        }
        return resource;
    }

    /** Closes everything registered, last first; idempotent. */
    @Override
    public synchronized void close() {
        RuntimeException first = null;
        while (!resources.isEmpty()) {
            try {
                resources.pop().close();
            } catch (Exception e) {
                RuntimeException r = e instanceof RuntimeException re ? re
                        : new IllegalStateException("closing a resource failed: " + e.getMessage(), e);
                if (first == null) {
                    first = r;
                } else {
                    first.addSuppressed(r);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    /**
     * Closes everything, attaching any failure to {@code cause} instead of throwing it.
     *
     * @param cause the failure being handled, which gets any failure to close as suppressed
     */
    public void closeQuietlyAfter(Throwable cause) {
        java.util.Objects.requireNonNull(cause, "cause");
        try {
            close();
        } catch (RuntimeException e) {
            if (e != cause) { // a resource may rethrow the very failure being handled
                cause.addSuppressed(e);
            }
        }
    }
}
