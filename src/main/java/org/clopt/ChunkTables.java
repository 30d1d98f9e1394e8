package org.clopt;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * reduce.cl's chunk table and tensor ends for one layout of tensors, on the device, with room
 * for the per-chunk partial results: what the gradient norm and the per-tensor steps read. Made
 * again only when the layout ({@link #key}) changes.
 */
final class ChunkTables implements AutoCloseable {
    /** The layout these tables describe, compared with {@link Objects#deepEquals}. */
    final Object key;
    final int chunkCount;
    /** (first element, count) per chunk, as uint2. */
    final DeviceBuffer chunks;
    /** One past each tensor's last chunk. */
    final DeviceBuffer tensorEnds;
    /** {@code quantities} floats per chunk. */
    final DeviceBuffer partials;

    private ChunkTables(Device device, Object key, int[][] tables, int quantities, String what) {
        this.key = key;
        this.chunkCount = tables[0].length / 2;
        Closer made = new Closer();
        try {
            chunks = made.add(DeviceBuffer.of(device, tables[0], what + " chunks"));
            tensorEnds = made.add(DeviceBuffer.of(device, tables[1], what + " tensor ends"));
            partials = made.add(DeviceBuffer.allocate(device, 4L * Math.max(1, chunkCount * quantities),
                    what + " partial results"));
        } catch (RuntimeException e) {
            made.closeQuietlyAfter(e);
            throw e;
        }
    }

    /**
     * The tables for {@code key}: {@code current} itself if it was made for an equal key, else
     * new ones of {@code tables} ({@link SetKernels#chunks}, computed only then), and
     * {@code current} closed.
     */
    static ChunkTables of(ChunkTables current, Device device, Object key, Supplier<int[][]> tables,
                          int quantities, String what) {
        if (current != null && Objects.deepEquals(current.key, key)) {
            return current;
        }
        if (current != null) {
            current.close();
        }
        return new ChunkTables(device, key, tables.get(), quantities, what);
    }

    @Override
    public void close() {
        Closer all = new Closer();
        all.add(chunks);
        all.add(tensorEnds);
        all.add(partials);
        all.close();
    }
}
