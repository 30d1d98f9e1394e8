package org.clopt;

import java.util.Objects;

/**
 * Sums a range of a device buffer with the reduction clopt's gradient clipping uses
 * ({@code kernels/reduce.cl}): one read of the data at the memory's speed, a result that depends
 * on the data alone (never on the work-group size, the device or the run), and one float read
 * back. For a loss that a kernel of your own writes per element or per sample.
 *
 * <pre>{@code
 * try (Reduction reduction = Reduction.open(device)) {
 *     float total = reduction.sum(losses, 0, count);
 * }
 * }</pre>
 *
 * <p>Not thread-safe. Close it to release its kernels and buffers.
 */
public final class Reduction implements AutoCloseable {
    private final Device device;
    private final SetKernels.Cl kernels;
    private boolean closed;

    private Reduction(Device device) {
        this.device = device;
        this.kernels = new SetKernels.Cl(device);
    }

    /**
     * A reduction on {@code device}.
     *
     * @param device the device whose buffers it sums
     * @return the reduction, to close when done
     */
    public static Reduction open(Device device) {
        return new Reduction(Objects.requireNonNull(device, "device"));
    }

    /**
     * The sum of floats [from, from + count) of {@code buffer}: enqueued after the work queued
     * before it, and waited for.
     *
     * @param buffer a buffer of the device's context
     * @param from the first float to add
     * @param count the number of floats, &gt;= 0
     * @return the sum, in float (compensated where partial sums are combined)
     * @throws IllegalArgumentException for a range outside the buffer or the buffer of another
     *     device
     */
    public float sum(DeviceBuffer buffer, long from, int count) {
        Objects.requireNonNull(buffer, "buffer");
        if (buffer.device() != device) {
            throw new IllegalArgumentException(buffer.what() + " belongs to another Device than the reduction");
        }
        if (from < 0 || count < 0 || 4 * (from + count) > buffer.bytes() || from + count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("invalid range [" + from + ", " + (from + count) + ") of "
                    + buffer + " (" + buffer.bytes() / 4 + " floats)");
        }
        if (closed) {
            throw new IllegalStateException("this reduction is closed");
        }
        device.ensureOpen();
        return kernels.sum(buffer.handle(), (int) from, count);
    }

    /** Releases the kernels and buffers. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            kernels.close();
        }
    }
}
