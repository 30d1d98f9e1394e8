package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The helpers offered for kernels of one's own: {@link Kernel}, {@link DeviceBuffer} and
 * {@link Closer}. Values are checked element by element, and every misuse must end in clopt's
 * exception with a message naming the thing at fault, never in a crash of the runtime.
 */
class KernelTest extends OnDevice {
    /** x = a * x + b: an element launched twice, or not at all, shows in its value. */
    static final String AFFINE = "kernel void affine(global float* x, const float a, const float b) {\n"
            + "    const size_t i = get_global_id(0);\n"
            + "    x[i] = a * x[i] + b;\n"
            + "}\n";
    /** Untouched elements on either side of the launched range. */
    static final int GUARD = 8;

    @ParameterizedTest(name = "n={0}, from={1}")
    @CsvSource({"1, 0", "3, 0", "4097, 0", "1, 5", "3, 5", "4097, 5"})
    void launchCoversExactlyTheRange(int n, int from) {
        int length = from + n + GUARD;
        float[] x = new float[length];
        for (int i = 0; i < length; i++) {
            x[i] = i;
        }
        try (Kernel affine = Kernel.fromSource(device, AFFINE, "affine", "");
             DeviceBuffer buffer = DeviceBuffer.of(device, x, "x")) {
            // 4097 must take whole work-groups and an exact tail for the rule to be exercised.
            assertTrue(affine.localSize() >= 1 && affine.localSize() < 4097 && 4097 % affine.localSize() != 0,
                    "local size " + affine.localSize());
            assertEquals(3, affine.argumentCount());
            affine.arg(0, buffer).arg(1, 2f).arg(2, 1f).launch(from, from + n);
            float[] out = new float[length];
            buffer.read(out);
            for (int i = 0; i < length; i++) {
                float expected = i >= from && i < from + n ? 2f * i + 1f : i;
                assertEquals(expected, out[i], "x[" + i + "]");
            }
        }
    }

    @Test
    void anEmptyRangeLaunchesNothingAndAnInvertedOneIsRefused() {
        try (Kernel affine = Kernel.fromSource(device, AFFINE, "affine", "");
             DeviceBuffer buffer = DeviceBuffer.of(device, new float[] {1, 2, 3}, "x")) {
            affine.arg(0, buffer).arg(1, 2f).arg(2, 1f).launch(2, 2);
            float[] out = new float[3];
            buffer.read(out);
            assertArrayEquals(new float[] {1, 2, 3}, out);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> affine.launch(3, 2));
            assertEquals("invalid range [3, 2) for kernel affine", e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> affine.launch(-1, 2));
        }
    }

    @Test
    void launchesAnNdRange() {
        String source = "kernel void grid(global float* x, const uint width) {\n"
                + "    x[get_global_id(1) * width + get_global_id(0)] = get_global_id(1) * 10 + get_global_id(0);\n"
                + "}\n";
        try (Kernel grid = Kernel.fromSource(device, source, "grid", "");
             DeviceBuffer buffer = DeviceBuffer.allocate(device, 4L * 12, "grid")) {
            grid.arg(0, buffer).arg(1, 4).launch(new long[] {4, 3}, null);
            float[] out = new float[12];
            buffer.read(out);
            assertArrayEquals(new float[] {0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23}, out);
            IllegalArgumentException dims = assertThrows(IllegalArgumentException.class,
                    () -> grid.launch(new long[] {4, 3}, new long[] {4}));
            assertTrue(dims.getMessage().contains("kernel grid") && dims.getMessage().contains("local 1"),
                    dims.getMessage());
            IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                    () -> grid.launch(new long[] {4, 0}, null));
            assertTrue(zero.getMessage().contains("dimension 1 has global size 0"), zero.getMessage());
        }
    }

    @Test
    void aSyntaxErrorShowsTheCompilersLog() {
        String source = "kernel void broken(global float* x) {\n    x[0] = undeclared_thing + 1;\n}\n";
        KernelBuildException e = assertThrows(KernelBuildException.class,
                () -> Kernel.fromSource(device, source, "broken", ""));
        assertTrue(e.getMessage().contains("undeclared_thing"), e.getMessage());
        assertTrue(e.getMessage().contains("the source of broken"), e.getMessage());
        assertEquals(CL.CL_BUILD_PROGRAM_FAILURE, e.status());
    }

    @Test
    void aMissingKernelNameIsAnOpenClError() {
        OpenClException e = assertThrows(OpenClException.class,
                () -> Kernel.fromSource(device, AFFINE, "no_such_kernel", ""));
        assertTrue(e.getMessage().contains("no_such_kernel"), e.getMessage());
        assertEquals(CL.CL_INVALID_KERNEL_NAME, e.status());
    }

    @Test
    void aWrongArgumentIndexIsAnOpenClError() {
        try (Kernel affine = Kernel.fromSource(device, AFFINE, "affine", "")) {
            for (int index : new int[] {3, 100, -1}) {
                OpenClException e = assertThrows(OpenClException.class, () -> affine.arg(index, 1f));
                assertEquals(OpenClException.class, e.getClass());
                assertEquals(CL.CL_INVALID_ARG_INDEX, e.status());
                assertTrue(e.getMessage().startsWith("setting argument " + index + " of kernel affine (it has 3 arguments)"),
                        e.getMessage());
            }
            IllegalArgumentException local = assertThrows(IllegalArgumentException.class, () -> affine.localArg(0, 0));
            assertTrue(local.getMessage().contains("kernel affine"), local.getMessage());
            // The kernel is still usable after the refusals.
            try (DeviceBuffer buffer = DeviceBuffer.of(device, new float[] {1}, "x")) {
                affine.arg(0, buffer).arg(1, 3f).arg(2, 0f).launch(0, 1);
                float[] out = new float[1];
                buffer.read(out);
                assertEquals(3f, out[0]);
            }
        }
    }

    @Test
    void aClosedKernelRefusesUse() {
        Kernel affine = Kernel.fromSource(device, AFFINE, "affine", "");
        affine.close();
        affine.close(); // idempotent
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> affine.arg(1, 1f));
        assertEquals("kernel affine is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> affine.launch(0, 1));
        assertThrows(IllegalStateException.class, () -> affine.launch(new long[] {1}, null));
    }

    @Test
    void aClosedBufferRefusesUseAlsoAsAnArgumentSetBeforeItClosed() {
        try (Kernel affine = Kernel.fromSource(device, AFFINE, "affine", "")) {
            DeviceBuffer buffer = DeviceBuffer.of(device, new float[] {1, 2}, "weights");
            affine.arg(0, buffer).arg(1, 2f).arg(2, 0f);
            buffer.close();
            buffer.close(); // idempotent
            IllegalStateException launch = assertThrows(IllegalStateException.class, () -> affine.launch(0, 2));
            assertEquals("kernel affine: argument 0, weights, was closed after it was set", launch.getMessage());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> buffer.read(new float[2]));
            assertEquals("weights is closed", e.getMessage());
            assertThrows(IllegalStateException.class, () -> buffer.write(new float[2]));
            assertThrows(IllegalStateException.class, () -> buffer.fill(0f));
            assertThrows(IllegalStateException.class, buffer::handle);
            assertThrows(IllegalStateException.class, () -> affine.arg(0, buffer));
            // Setting another argument at that index makes the kernel launchable again.
            try (DeviceBuffer other = DeviceBuffer.of(device, new float[] {1, 2}, "other")) {
                affine.arg(0, other).launch(0, 2);
                float[] out = new float[2];
                other.read(out);
                assertArrayEquals(new float[] {2, 4}, out);
            }
        }
    }

    @Test
    void aBufferOfAnotherDeviceIsRefused() {
        try (Device other = Device.open();
             DeviceBuffer foreign = DeviceBuffer.allocate(other, 16, "foreign");
             Kernel affine = Kernel.fromSource(device, AFFINE, "affine", "")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> affine.arg(0, foreign));
            assertTrue(e.getMessage().startsWith("kernel affine: argument 0, foreign, belongs to another Device"),
                    e.getMessage());
        }
    }

    @Test
    void buffersRoundTripAndFill() {
        float[] values = {1.5f, -0f, Float.NaN, Float.MIN_VALUE, 7f};
        try (DeviceBuffer buffer = DeviceBuffer.of(device, values, "values")) {
            assertEquals(20, buffer.bytes());
            float[] out = new float[5];
            buffer.read(out);
            assertArrayEquals(values, out); // bit patterns: NaN and -0 survive
            buffer.write(new float[] {9f, 8f});
            float[] head = new float[3];
            buffer.read(head);
            assertArrayEquals(new float[] {9f, 8f, Float.NaN}, head);
            buffer.fill(0.25f);
            buffer.read(out);
            assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f, 0.25f, 0.25f}, out);
            IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                    () -> buffer.write(new float[6]));
            assertEquals("values: 24 bytes do not fit in 20", tooMany.getMessage());
            assertThrows(IllegalArgumentException.class, () -> buffer.read(new float[6]));
        }
        try (DeviceBuffer ints = DeviceBuffer.of(device, new int[] {1, -1}, "ints")) {
            float[] bits = new float[2];
            ints.read(bits);
            assertEquals(1, Float.floatToRawIntBits(bits[0]));
            assertEquals(-1, Float.floatToRawIntBits(bits[1]));
        }
        try (DeviceBuffer empty = DeviceBuffer.of(device, new float[0], "empty")) {
            assertEquals(4, empty.bytes());
        }
    }

    @Test
    void invalidAllocationsNameTheBuffer() {
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class,
                () -> DeviceBuffer.allocate(device, 0, "activations"));
        assertEquals("activations: invalid size 0 bytes (must be > 0)", zero.getMessage());
        long tooLarge = device.info().maxAllocationBytes() + 4;
        DeviceMemoryException big = assertThrows(DeviceMemoryException.class,
                () -> DeviceBuffer.allocate(device, tooLarge, "activations"));
        assertTrue(big.getMessage().startsWith("activations needs "), big.getMessage());
    }

    @Test
    void classpathKernelsBuildAfterCommonCl() {
        try (Kernel axpy = Kernel.fromClasspath(device, "tools/axpy", "axpy_step", "");
             DeviceBuffer y = DeviceBuffer.of(device, new float[] {1, 2, 3}, "y");
             DeviceBuffer x = DeviceBuffer.of(device, new float[] {10, 20, 30}, "x")) {
            axpy.arg(0, y).arg(1, x).arg(2, 0.5f).launch(0, 3);
            float[] out = new float[3];
            y.read(out);
            assertArrayEquals(new float[] {6, 12, 18}, out);
        }
        IllegalStateException missing = assertThrows(IllegalStateException.class,
                () -> Kernel.fromClasspath(device, "tools/no_such_file", "k", ""));
        assertTrue(missing.getMessage().contains("no_such_file.cl"), missing.getMessage());
    }

    // ---- Closer ----

    /** A resource that records its closing and may fail. */
    private record Resource(String name, List<String> log, RuntimeException failure) implements AutoCloseable {
        @Override
        public void close() {
            log.add(name);
            if (failure != null) {
                throw failure;
            }
        }
    }

    @Test
    void closerClosesInReverseOrderOnce() {
        List<String> log = new ArrayList<>();
        Closer closer = new Closer();
        Resource a = new Resource("a", log, null);
        assertSame(a, closer.add(a));
        closer.add(new Resource("b", log, null));
        assertNull(closer.add(null));
        closer.add(new Resource("c", log, null));
        closer.close();
        assertEquals(List.of("c", "b", "a"), log);
        closer.close();
        assertEquals(List.of("c", "b", "a"), log);
    }

    @Test
    void closerGoesOnAfterAFailureAndAttachesLaterOnes() {
        List<String> log = new ArrayList<>();
        IllegalStateException first = new IllegalStateException("c failed");
        IllegalStateException second = new IllegalStateException("a failed");
        Closer closer = new Closer();
        closer.add(new Resource("a", log, second));
        closer.add(new Resource("b", log, null));
        closer.add(new Resource("c", log, first));
        IllegalStateException thrown = assertThrows(IllegalStateException.class, closer::close);
        assertSame(first, thrown);
        assertEquals(List.of("c", "b", "a"), log);
        assertArrayEquals(new Throwable[] {second}, thrown.getSuppressed());
    }

    @Test
    void closerWrapsACheckedFailure() {
        Closer closer = new Closer();
        java.io.IOException io = new java.io.IOException("disk gone");
        closer.add(() -> {
            throw io;
        });
        IllegalStateException e = assertThrows(IllegalStateException.class, closer::close);
        assertSame(io, e.getCause());
        assertTrue(e.getMessage().contains("disk gone"), e.getMessage());
    }

    @Test
    void closeQuietlyAfterKeepsTheCauseAndAttachesFailures() {
        List<String> log = new ArrayList<>();
        RuntimeException cause = new RuntimeException("constructor failed");
        IllegalStateException closing = new IllegalStateException("b failed");
        Closer closer = new Closer();
        closer.add(new Resource("a", log, null));
        closer.add(new Resource("b", log, closing));
        closer.add(new Resource("c", log, cause)); // rethrows the very failure being handled
        closer.closeQuietlyAfter(cause);
        assertEquals(List.of("c", "b", "a"), log);
        assertArrayEquals(new Throwable[] {closing}, cause.getSuppressed());

        RuntimeException clean = new RuntimeException("nothing else failed");
        Closer quiet = new Closer();
        quiet.add(new Resource("d", log, null));
        quiet.closeQuietlyAfter(clean);
        assertEquals(List.of("c", "b", "a", "d"), log);
        assertEquals(0, clean.getSuppressed().length);
    }
}
