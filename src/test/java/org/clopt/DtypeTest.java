package org.clopt;

import static org.jocl.CL.CL_TRUE;
import static org.jocl.CL.clCreateKernel;
import static org.jocl.CL.clEnqueueReadBuffer;
import static org.jocl.CL.clEnqueueWriteBuffer;
import static org.jocl.CL.clReleaseProgram;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.IntUnaryOperator;
import org.clopt.io.Npy;
import org.jocl.Pointer;
import org.jocl.cl_program;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Dtype} against the kernels' conversions of {@code common.cl}, run on the device bit for
 * bit ({@code dtype_test.cl} wraps each in a kernel), and against PyTorch's conversions recorded
 * by {@code scripts/dtype_golden.py}. Floats cross to and from the device as their int bits, so
 * that no NaN payload depends on how Java or JOCL move a float.
 */
class DtypeTest extends OnDevice {
    private static cl_program program;

    @BeforeAll
    static void buildConversions() throws IOException {
        // One program, common.cl then the test's kernels, as the host compiles an algorithm.
        String source = text("/org/clopt/kernels/common.cl") + "\n" + text("/org/clopt/dtype_test.cl");
        program = device.build("dtype_test.cl", source, "");
    }

    @AfterAll
    static void releaseConversions() {
        if (program != null) {
            clReleaseProgram(program);
        }
    }

    // ---- against the kernels ----

    @Test
    void widensEvery16BitPatternAsTheKernels() {
        short[] all = new short[1 << 16];
        for (int i = 0; i < all.length; i++) {
            all[i] = (short) i;
        }
        for (String name : new String[] {"bf16_widen", "fp16_widen", "fp16_widen16"}) {
            Dtype dtype = name.startsWith("bf16") ? Dtype.BF16 : Dtype.FP16;
            int[] onDevice = widen(name, all);
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < all.length; i++) {
                int java = Float.floatToRawIntBits(dtype.fromBits(all[i]));
                if (java != onDevice[i] && wrong.size() < 10) {
                    wrong.add(String.format("%04x: Java %08x, kernel %08x", i, java, onDevice[i]));
                }
            }
            assertTrue(wrong.isEmpty(), dtype + " widening differs: " + wrong);
        }
    }

    @Test
    void roundsTheBoundariesToNearestAsTheKernels() throws IOException, URISyntaxException {
        assertNearestMatchesKernels("boundaries", boundaries());
    }

    @Test
    void roundsRandomFloatsToNearestAsTheKernels() {
        SplittableRandom random = new SplittableRandom(16);
        int[] bits = new int[3 << 20];
        for (int i = 0; i < bits.length; i++) {
            bits[i] = random.nextInt();
        }
        assertNearestMatchesKernels("random bit patterns", bits);
        int[] inRange = new int[1 << 20];
        for (int i = 0; i < inRange.length; i++) {
            // Magnitudes from below fp16's smallest subnormal to past its overflow, log-uniform.
            float magnitude = (float) Math.pow(2, random.nextDouble(-26, 16.5));
            inRange[i] = Float.floatToRawIntBits(random.nextBoolean() ? -magnitude : magnitude);
        }
        assertNearestMatchesKernels("random floats in fp16's range", inRange);
    }

    @Test
    void roundsStochasticallyAsTheKernels() throws IOException, URISyntaxException {
        SplittableRandom random = new SplittableRandom(17);
        int[] boundaries = boundaries();
        int[] bits = new int[boundaries.length + (1 << 18)];
        System.arraycopy(boundaries, 0, bits, 0, boundaries.length);
        for (int i = boundaries.length; i < bits.length; i++) {
            bits[i] = random.nextInt();
        }
        int[] keys = {0, 1, 0x9E3779B9, -1, random.nextInt(), Dtype.roundingKey(42, 7)};
        int[] offsets = {0, 0, 12345, -bits.length / 2, random.nextInt(), 0};
        for (int k = 0; k < keys.length; k++) {
            int key = keys[k];
            int offset = offsets[k];
            short[] onDevice = stochastic(bits, key, offset);
            assertSameBits("stochastic bf16, key " + Integer.toHexString(key), bits,
                    i -> Dtype.BF16.toBitsStochastic(Float.intBitsToFloat(bits[i]),
                            Dtype.random(key, i + offset)), onDevice);
        }
    }

    @Test
    void randomBitsAreTheKernels() {
        SplittableRandom random = new SplittableRandom(18);
        int n = 1 << 18;
        int[] keys = new int[n];
        int[] indices = new int[n];
        for (int i = 0; i < n; i++) {
            keys[i] = i < 256 ? i - 128 : random.nextInt();
            // Small indices, indices near the 32-bit wrap, and anything.
            indices[i] = i % 3 == 0 ? i : i % 3 == 1 ? -i : random.nextInt();
        }
        int[] onDevice = new int[n];
        try (Kernel kernel = kernel("random_bits");
             DeviceBuffer k = DeviceBuffer.of(device, keys, "keys");
             DeviceBuffer x = DeviceBuffer.of(device, indices, "indices");
             DeviceBuffer out = DeviceBuffer.allocate(device, 4L * n, "random")) {
            kernel.arg(0, k).arg(1, x).arg(2, out).launch(0, n);
            read(out, Pointer.to(onDevice), 4L * n);
        }
        for (int i = 0; i < n; i++) {
            if (Dtype.random(keys[i], indices[i]) != onDevice[i]) {
                throw new AssertionError(String.format("clopt_random(%08x, %08x): Java %08x, kernel %08x",
                        keys[i], indices[i], Dtype.random(keys[i], indices[i]), onDevice[i]));
            }
        }
    }

    /**
     * The NaNs of fp16, which IEEE 754 leaves to the implementation; common.cl's conversions
     * (as POCL's vstore_half_rte and vload_half) store the sign and set every other bit,
     * whatever the payload, and widen keeping sign and payload with the quiet bit set. Every
     * payload bit alone, and a sweep of payloads.
     */
    @Test
    void fp16NansAreThoseOfTheKernels() {
        List<Integer> nans = new ArrayList<>();
        for (int bit = 0; bit < 23; bit++) {
            nans.add(0x7F800000 | 1 << bit);
        }
        for (int payload = 1; payload < 1 << 23; payload += 61) {
            nans.add(0x7F800000 | payload);
        }
        int[] bits = new int[2 * nans.size()];
        for (int i = 0; i < nans.size(); i++) {
            bits[2 * i] = nans.get(i);
            bits[2 * i + 1] = nans.get(i) | 0x80000000;
        }
        short[] onDevice = nearest("fp16_nearest", bits);
        for (int i = 0; i < bits.length; i++) {
            short expected = (short) (bits[i] < 0 ? 0xFFFF : 0x7FFF);
            if (onDevice[i] != expected || Dtype.FP16.toBits(Float.intBitsToFloat(bits[i])) != expected) {
                throw new AssertionError(String.format("fp16 of NaN %08x: kernel %04x, Java %04x, expected %04x",
                        bits[i], onDevice[i], Dtype.FP16.toBits(Float.intBitsToFloat(bits[i])), expected));
            }
        }
        // A signalling fp16 NaN widens to a quiet fp32 NaN with the same sign and payload.
        assertEquals(0x7FC02000, Float.floatToRawIntBits(Dtype.FP16.fromBits((short) 0x7C01)));
        assertEquals(0xFFC00000 | 0x3FF << 13, Float.floatToRawIntBits(Dtype.FP16.fromBits((short) 0xFFFF)));
    }

    // ---- against PyTorch ----

    @Test
    void roundsAsPyTorch() throws IOException, URISyntaxException {
        Path file = Path.of(DtypeTest.class.getResource("/org/clopt/golden/dtype/conversions.npy").toURI());
        Npy.Array golden = Npy.read(file);
        assertEquals(6, golden.shape()[1]);
        float[] rows = golden.floats();
        int n = (int) golden.shape()[0];
        int nans = 0;
        for (int r = 0; r < n; r++) {
            int bits = ((int) rows[6 * r] << 16) | (int) rows[6 * r + 1];
            float x = Float.intBitsToFloat(bits);
            short bf16 = Dtype.BF16.toBits(x);
            short fp16 = Dtype.FP16.toBits(x);
            String what = String.format("row %d, x = %08x (%s)", r, bits, x);
            // c10::BFloat16(float) and c10::Half(float), PyTorch's scalar conversions.
            assertEquals((short) rows[6 * r + 4], bf16, "bf16 (c10::BFloat16) of " + what);
            if (Float.isNaN(x)) {
                nans++;
                // NaN bits differ legitimately: PyTorch's vectorized tensor conversion gives bf16
                // 0xFFFF for every NaN (its scalar path 0x7FC0, checked above), and both of its
                // fp16 paths give 0x7E00 with the sign where POCL's vstore_half_rte gives 0x7FFF
                // with the sign. Only NaN-ness, and fp16's sign, are compared.
                assertTrue(isNan(Dtype.BF16, (short) rows[6 * r + 2]) && isNan(Dtype.BF16, bf16), "bf16 of " + what);
                for (int column : new int[] {3, 5}) {
                    short torch = (short) rows[6 * r + column];
                    assertTrue(isNan(Dtype.FP16, torch) && isNan(Dtype.FP16, fp16), "fp16 of " + what);
                    assertEquals(torch < 0, fp16 < 0, "fp16 sign of " + what);
                }
            } else {
                assertEquals((short) rows[6 * r + 2], bf16, "bf16 of " + what);
                assertEquals((short) rows[6 * r + 3], fp16, "fp16 of " + what);
                assertEquals((short) rows[6 * r + 5], fp16, "fp16 (c10::Half) of " + what);
            }
        }
        assertTrue(n > 4000 && nans >= 18, n + " rows, " + nans + " NaNs");
    }

    // ---- stochastic rounding ----

    @Test
    void stochasticRoundingIsUnbiased() {
        int n = 1 << 20;
        // x's low 16 bits are its distance above the bf16 below, in 2^-16 of the gap to the next.
        int[] lows = {1, 0x1999, 0x4000, 0x8000, 0xE666, 0xFFFF};
        int[] highs = {0x3F80, 0xBF80, 0x0001, 0x7F7E};
        int[] keys = {Dtype.roundingKey(0, 0), Dtype.roundingKey(1, 1000)};
        for (int high : highs) {
            for (int low : lows) {
                int bits = (high << 16) | low;
                int[] x = new int[n];
                Arrays.fill(x, bits);
                for (int key : keys) {
                    short[] onDevice = stochastic(x, key, 0);
                    int up = 0;
                    for (int i = 0; i < n; i++) {
                        short java = Dtype.BF16.toBitsStochastic(Float.intBitsToFloat(bits), Dtype.random(key, i));
                        if (java != onDevice[i] || (java != (short) high && java != (short) (high + 1))) {
                            throw new AssertionError(String.format("%08x at index %d: Java %04x, kernel %04x",
                                    bits, i, java, onDevice[i]));
                        }
                        up += java == (short) high ? 0 : 1;
                    }
                    double p = low / 65536.0;
                    double sd = Math.sqrt(p * (1 - p) / n);
                    assertEquals(p, up / (double) n, 5 * sd + 1e-9,
                            String.format("fraction of %08x rounded away from zero, key %08x", bits, key));
                }
            }
        }
    }

    @Test
    void stochasticRoundingLeavesRepresentableValuesInfinitiesAndNansAlone() {
        SplittableRandom random = new SplittableRandom(19);
        int[] every = new int[1 << 16];
        for (int b = 0; b < every.length; b++) {
            every[b] = b << 16;
        }
        for (int trial = 0; trial < 8; trial++) {
            int key = random.nextInt();
            short[] onDevice = stochastic(every, key, 0);
            for (int b = 0; b < every.length; b++) {
                float x = Dtype.BF16.fromBits((short) b);
                short expected = Float.isNaN(x) ? Dtype.BF16_NAN : (short) b;
                assertEquals(expected, Dtype.BF16.toBitsStochastic(x, Dtype.random(key, b)),
                        String.format("bf16 %04x, key %08x", b, key));
                assertEquals(expected, onDevice[b], String.format("bf16 %04x, key %08x, on the device", b, key));
            }
            assertEquals((short) 0x7F80, Dtype.BF16.toBitsStochastic(Float.POSITIVE_INFINITY, random.nextInt()));
            assertEquals((short) 0xFF80, Dtype.BF16.toBitsStochastic(Float.NEGATIVE_INFINITY, random.nextInt()));
            for (int nan : new int[] {0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF80FFFF, 0x7FFFFFFF}) {
                assertEquals(Dtype.BF16_NAN, Dtype.BF16.toBitsStochastic(Float.intBitsToFloat(nan), random.nextInt()));
            }
        }
        // The largest finite bf16 never rounds up into infinity, whatever the bits.
        assertEquals((short) 0x7F7F, Dtype.BF16.toBitsStochastic(Dtype.BF16.fromBits((short) 0x7F7F), -1));
    }

    // ---- values spelled out ----

    @Test
    void roundsTheValuesOneExpects() {
        assertEquals(1f, Dtype.BF16.round(1.00390625f)); // a tie, kept half even
        assertEquals(1.015625f, Dtype.BF16.round(1.01171875f)); // a tie, kept half odd: up
        assertEquals(Float.POSITIVE_INFINITY, Dtype.BF16.round(Float.MAX_VALUE));
        assertEquals((short) 0x7FC0, Dtype.BF16.toBits(Float.intBitsToFloat(0xFF80FFFF)));
        assertEquals(65504f, Dtype.FP16.round(65519.996f));
        assertEquals(Float.POSITIVE_INFINITY, Dtype.FP16.round(65520f));
        assertEquals(Float.NEGATIVE_INFINITY, Dtype.FP16.round(-1e10f));
        assertEquals(0x1p-14f, Dtype.FP16.round(0x1.ffcp-15f)); // tie between subnormal and normal
        assertEquals((short) 0x0001, Dtype.FP16.toBits(0x1p-24f));
        assertEquals((short) 0x0000, Dtype.FP16.toBits(0x1p-25f)); // tie to even zero
        assertEquals((short) 0x0001, Dtype.FP16.toBits(Math.nextUp(0x1p-25f)));
        assertEquals((short) 0x0002, Dtype.FP16.toBits(0x1.8p-24f));
        assertEquals((short) 0x8000, Dtype.FP16.toBits(-0f));
        assertEquals((short) 0x8000, Dtype.FP16.toBits(-0x1p-30f));
        assertEquals(0x1p-24f, Dtype.FP16.fromBits((short) 1));
        assertEquals(-65504f, Dtype.FP16.fromBits((short) 0xFBFF));
        float x = 0.1f;
        assertEquals(Float.floatToRawIntBits(x), Float.floatToRawIntBits(Dtype.FP32.round(x)));
        assertTrue(Float.isNaN(Dtype.FP32.round(Float.NaN)));
    }

    @Test
    void namesAndSizes() {
        for (Dtype d : Dtype.values()) {
            assertSame(d, Dtype.parse(d.cliName()));
            assertSame(d, Dtype.ofSafetensors(d.safetensorsName()));
        }
        assertEquals("bf16", Dtype.BF16.cliName());
        assertEquals("F16", Dtype.FP16.safetensorsName());
        assertEquals(4, Dtype.FP32.bytes());
        assertEquals(2, Dtype.BF16.bytes());
        assertEquals(2, Dtype.FP16.bytes());
    }

    @Test
    void badNamesAreRefusedWithTheValueAndTheAllowedOnes() {
        for (String bad : new String[] {"FP16", "float16", "", " bf16", "F32"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dtype.parse(bad));
            assertEquals("invalid dtype: '" + bad + "' (must be fp32, bf16 or fp16)", e.getMessage());
        }
        for (String bad : new String[] {"f16", "BF16 ", "fp32", "F64", "I8"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dtype.ofSafetensors(bad));
            assertEquals("invalid safetensors dtype: '" + bad + "' (must be F32, BF16 or F16)", e.getMessage());
        }
    }

    @Test
    void fp32HasNo16BitFormAndOnlyBf16RoundsStochastically() {
        assertEquals("fp32 has no 16-bit form",
                assertThrows(IllegalStateException.class, () -> Dtype.FP32.toBits(1f)).getMessage());
        assertThrows(IllegalStateException.class, () -> Dtype.FP32.fromBits((short) 0));
        assertThrows(IllegalStateException.class, () -> Dtype.FP16.toBitsStochastic(1f, 0));
        assertThrows(IllegalStateException.class, () -> Dtype.FP32.toBitsStochastic(1f, 0));
    }

    @Test
    void roundingKeysAreSplitmix64() {
        // splitmix64 seeded with 0 first returns 0xE220A8397B1DCDAF: the key of seed 0, step 1.
        assertEquals(0x7B1DCDAF, Dtype.roundingKey(0, 1));
        assertEquals(Dtype.roundingKey(5, 3), Dtype.roundingKey(5, 3));
        Set<Integer> keys = new HashSet<>();
        for (long step = 0; step < 10000; step++) {
            keys.add(Dtype.roundingKey(1234, step));
            keys.add(Dtype.roundingKey(1235, step));
        }
        assertTrue(keys.size() > 19990, keys.size() + " distinct keys of 20000");
    }

    // ---- helpers ----

    /**
     * Every boundary of both roundings: for each bf16 and each finite fp16 value, the tie above
     * it and one float ulp either side; the specials; and the inputs of the PyTorch golden file.
     */
    private static int[] boundaries() throws IOException, URISyntaxException {
        List<Integer> b = new ArrayList<>();
        for (int h = 0; h < 1 << 16; h++) {
            int tie = (h << 16) | 0x8000;
            b.add(tie - 1);
            b.add(tie);
            b.add(tie + 1);
        }
        for (int h = 0; h < 0x7C00; h++) {
            // The tie between h and the next fp16 (65536 past the largest finite): exact in fp32.
            double next = h == 0x7BFF ? 65536 : Dtype.FP16.fromBits((short) (h + 1));
            int tie = Float.floatToRawIntBits((float) ((Dtype.FP16.fromBits((short) h) + next) / 2));
            for (int sign : new int[] {0, 0x80000000}) {
                b.add(sign | (tie - 1));
                b.add(sign | tie);
                b.add(sign | (tie + 1));
                b.add(sign | Float.floatToRawIntBits(Dtype.FP16.fromBits((short) h)));
            }
        }
        for (int special : new int[] {0, 1, 0x007FFFFF, 0x00800000, 0x7F7FFFFF, 0x7F800000, 0x7F800001,
            0x7F801FFF, 0x7F802000, 0x7F80FFFF, 0x7FC00000, 0x7FFFFFFF, 0x33000000, 0x32FFFFFF}) {
            b.add(special);
            b.add(special | 0x80000000);
        }
        Path file = Path.of(DtypeTest.class.getResource("/org/clopt/golden/dtype/conversions.npy").toURI());
        float[] rows = Npy.read(file).floats();
        for (int r = 0; r < rows.length; r += 6) {
            b.add(((int) rows[r] << 16) | (int) rows[r + 1]);
        }
        return b.stream().mapToInt(Integer::intValue).toArray();
    }

    private static void assertNearestMatchesKernels(String what, int[] bits) {
        // The scalar and the 16-lane kernels (the latter on the inputs padded to a whole row).
        int[] padded = java.util.Arrays.copyOf(bits, (bits.length + 15) / 16 * 16);
        for (String lanes : new String[] {"", "16"}) {
            int[] in = lanes.isEmpty() ? bits : padded;
            assertSameBits("bf16 of " + what + " " + lanes, in, i -> Dtype.BF16.toBits(Float.intBitsToFloat(in[i])),
                    nearest("bf16_nearest" + lanes, in));
            assertSameBits("fp16 of " + what + " " + lanes, in, i -> Dtype.FP16.toBits(Float.intBitsToFloat(in[i])),
                    nearest("fp16_nearest" + lanes, in));
        }
    }

    private static void assertSameBits(String what, int[] inputs, IntUnaryOperator java, short[] onDevice) {
        List<String> wrong = new ArrayList<>();
        int count = 0;
        for (int i = 0; i < inputs.length; i++) {
            short expected = (short) java.applyAsInt(i);
            if (expected != onDevice[i]) {
                count++;
                if (wrong.size() < 10) {
                    wrong.add(String.format("%08x: Java %04x, kernel %04x", inputs[i], expected, onDevice[i]));
                }
            }
        }
        assertEquals(0, count, what + ": " + count + " of " + inputs.length + " differ, e.g. " + wrong);
    }

    private static Kernel kernel(String name) {
        return Kernel.wrap(device, name, Cl.call("clCreateKernel " + name, () -> clCreateKernel(program, name, null)));
    }

    private static int[] widen(String name, short[] bits) {
        int[] out = new int[bits.length];
        try (Kernel kernel = kernel(name);
             DeviceBuffer in = DeviceBuffer.allocate(device, 2L * bits.length, "16-bit values");
             DeviceBuffer result = DeviceBuffer.allocate(device, 4L * bits.length, "widened")) {
            Cl.run("writing 16-bit values", () -> clEnqueueWriteBuffer(device.queue(), in.handle(), CL_TRUE,
                    0, 2L * bits.length, Pointer.to(bits), 0, null, null));
            kernel.arg(0, in).arg(1, result).launch(0, name.endsWith("16") ? bits.length / 16 : bits.length);
            read(result, Pointer.to(out), 4L * out.length);
        }
        return out;
    }

    private static short[] nearest(String name, int[] bits) {
        short[] out = new short[bits.length];
        try (Kernel kernel = kernel(name);
             DeviceBuffer in = DeviceBuffer.of(device, bits, "float bits");
             DeviceBuffer result = DeviceBuffer.allocate(device, 2L * bits.length, "rounded")) {
            kernel.arg(0, in).arg(1, result).launch(0, name.endsWith("16") ? bits.length / 16 : bits.length);
            read(result, Pointer.to(out), 2L * out.length);
        }
        return out;
    }

    private static short[] stochastic(int[] bits, int key, int indexOffset) {
        short[] out = new short[bits.length];
        try (Kernel kernel = kernel("bf16_stochastic");
             DeviceBuffer in = DeviceBuffer.of(device, bits, "float bits");
             DeviceBuffer result = DeviceBuffer.allocate(device, 2L * bits.length, "rounded")) {
            kernel.arg(0, in).arg(1, result).arg(2, key).arg(3, indexOffset).launch(0, bits.length);
            read(result, Pointer.to(out), 2L * out.length);
        }
        return out;
    }

    private static void read(DeviceBuffer buffer, Pointer to, long bytes) {
        Cl.run("reading results", () -> clEnqueueReadBuffer(device.queue(), buffer.handle(), CL_TRUE,
                0, bytes, to, 0, null, null));
    }

    private static boolean isNan(Dtype dtype, short bits) {
        return Float.isNaN(dtype.fromBits(bits));
    }

    private static String text(String resource) throws IOException {
        try (InputStream in = DtypeTest.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("missing from the classpath: " + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
