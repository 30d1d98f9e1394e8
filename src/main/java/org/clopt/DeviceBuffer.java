package org.clopt;

import static org.jocl.CL.*;

import java.util.Objects;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_mem;

/**
 * A read-write buffer on a {@link Device}, for data of your own next to clopt's (a batch, a
 * model's activations). Transfers are ordered with the device's queue and block until done;
 * closing releases the memory.
 */
public final class DeviceBuffer implements AutoCloseable {
    private final Device device;
    private final cl_mem mem;
    private final long bytes;
    private final String what;
    private boolean closed;

    private DeviceBuffer(Device device, long bytes, String what) {
        this.device = Objects.requireNonNull(device, "device");
        Objects.requireNonNull(what, "what");
        if (bytes <= 0) {
            throw new IllegalArgumentException(what + ": invalid size " + bytes + " bytes (must be > 0)");
        }
        this.mem = device.allocate(bytes, what);
        this.bytes = bytes;
        this.what = what;
    }

    /**
     * An uninitialised buffer of {@code bytes}; {@code what} names it in error messages.
     *
     * @param device the device to allocate on
     * @param bytes the size in bytes, &gt; 0
     * @param what a name for messages
     * @return the buffer, to close when done
     * @throws DeviceMemoryException when the device cannot hold it
     * @throws IllegalArgumentException when {@code bytes} is not positive
     */
    public static DeviceBuffer allocate(Device device, long bytes, String what) {
        return new DeviceBuffer(device, bytes, what);
    }

    /**
     * A buffer holding a copy of {@code values}; an empty array gets a buffer of one float, since
     * OpenCL has no empty buffers.
     *
     * @param device the device to allocate on
     * @param values the values to copy
     * @param what a name for messages
     * @return the buffer, to close when done
     * @throws DeviceMemoryException when the device cannot hold it
     */
    public static DeviceBuffer of(Device device, float[] values, String what) {
        return filled(device, values.length, Pointer.to(values), what);
    }

    /**
     * A buffer holding a copy of {@code values}; an empty array gets a buffer of one int, since
     * OpenCL has no empty buffers.
     *
     * @param device the device to allocate on
     * @param values the values to copy
     * @param what a name for messages
     * @return the buffer, to close when done
     * @throws DeviceMemoryException when the device cannot hold it
     */
    public static DeviceBuffer of(Device device, int[] values, String what) {
        return filled(device, values.length, Pointer.to(values), what);
    }

    private static DeviceBuffer filled(Device device, int count, Pointer values, String what) {
        // An empty array still gets a buffer: OpenCL has no buffers of 0 bytes.
        DeviceBuffer b = allocate(device, 4L * Math.max(1, count), what);
        try {
            b.transfer(true, 0, 4L * count, values);
            return b;
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
    }

    /**
     * The OpenCL handle, for {@link Kernel#arg(int, cl_mem)} or your own calls; owned by this
     * buffer.
     *
     * @return the handle
     * @throws IllegalStateException if the buffer or its device is closed
     */
    public cl_mem handle() {
        ensureOpen();
        return mem;
    }

    /**
     * The buffer's size in bytes.
     *
     * @return the size in bytes
     */
    public long bytes() {
        return bytes;
    }

    Device device() {
        return device;
    }

    /** The name given at creation, for messages. */
    String what() {
        return what;
    }

    boolean isClosed() {
        return closed;
    }

    @Override
    public String toString() {
        return what + " (" + bytes + " bytes" + (closed ? ", closed)" : ")");
    }

    /**
     * Copies {@code values} into the buffer from its start.
     *
     * @param values the floats to write
     * @throws IllegalArgumentException if they do not fit in the buffer
     */
    public void write(float[] values) {
        transfer(true, 0, 4L * values.length, Pointer.to(values));
    }

    /**
     * Copies the buffer's first {@code out.length} floats into {@code out}, after what is enqueued
     * before.
     *
     * @param out where the floats go
     * @throws IllegalArgumentException if it is longer than the buffer
     */
    public void read(float[] out) {
        transfer(false, 0, 4L * out.length, Pointer.to(out));
    }

    /** Copies floats [from, from + out.length) of the buffer into {@code out}. */
    void read(int from, float[] out) {
        transfer(false, 4L * from, 4L * out.length, Pointer.to(out));
    }

    /**
     * Sets every whole float of the buffer to {@code value} (bytes past the last whole float, if
     * any, are left), ordered with the queue like the transfers.
     *
     * @param value the value for every float
     */
    public void fill(float value) {
        ensureOpen();
        long whole = bytes / 4 * 4;
        if (whole == 0) {
            return; // OpenCL rejects a fill of 0 bytes
        }
        Cl.run("filling " + what, () -> clEnqueueFillBuffer(device.queue(), mem,
                Pointer.to(new float[] {value}), Sizeof.cl_float, 0, whole, 0, null, null));
    }

    private void transfer(boolean write, long offset, long count, Pointer host) {
        ensureOpen();
        if (count > bytes - offset) {
            throw new IllegalArgumentException(what + ": " + count + " bytes do not fit in " + bytes);
        }
        if (count == 0) {
            return;
        }
        Cl.run((write ? "writing " : "reading ") + what, () -> {
            if (write) {
                clEnqueueWriteBuffer(device.queue(), mem, CL_TRUE, offset, count, host, 0, null, null);
            } else {
                clEnqueueReadBuffer(device.queue(), mem, CL_TRUE, offset, count, host, 0, null, null);
            }
        });
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(what + " is closed");
        }
        device.ensureOpen();
    }

    /** Releases the memory. Idempotent. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            clReleaseMemObject(mem);
        }
    }
}
