package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@code state_dtype=int8}: the code maps, the quantization of a block, the layout of a group's
 * state, and every int8 algorithm's kernel against the CPU reference, bit for bit.
 */
class Int8StateTest extends OnDevice {
    /** Each algorithm that offers int8 state, with the options that change its state arrays. */
    static final List<OptimizerConfig> CONFIGS = List.of(
            OptimizerConfig.of("momentum", Map.of("state_dtype", "int8", "weight_decay", "0.01")),
            OptimizerConfig.of("nesterov", Map.of("state_dtype", "int8")),
            OptimizerConfig.of("rmsprop", Map.of("state_dtype", "int8", "momentum", "0.9")),
            OptimizerConfig.of("rmsprop", Map.of("state_dtype", "int8")),
            OptimizerConfig.of("adagrad", Map.of("state_dtype", "int8", "initial_accumulator_value", "0.1")),
            OptimizerConfig.of("adam", Map.of("state_dtype", "int8", "lr", "0.01")),
            OptimizerConfig.of("adam", Map.of("state_dtype", "int8", "amsgrad", "true", "weight_decay", "0.1")),
            OptimizerConfig.of("adamw", Map.of("state_dtype", "int8", "lr", "0.01")),
            OptimizerConfig.of("nadam", Map.of("state_dtype", "int8")),
            OptimizerConfig.of("radam", Map.of("state_dtype", "int8")),
            OptimizerConfig.of("adamax", Map.of("state_dtype", "int8")),
            OptimizerConfig.of("adadelta", Map.of("state_dtype", "int8")),
            OptimizerConfig.of("lion", Map.of("state_dtype", "int8", "lr", "0.001")));

    /** Tensors below and above min_8bit_size (lowered to 1000 here), block multiples or not. */
    private static final int[][] SHAPES = {{1}, {3}, {1023}, {4097}, {0}, {33, 64}, {256}, {999}};

    @Test
    void theMapsAreBitsandbytesDynamicMaps() throws IOException {
        assertEquals(256, Int8State.SIGNED.length);
        assertEquals(256, Int8State.UNSIGNED.length);
        for (float[] map : new float[][] {Int8State.SIGNED, Int8State.UNSIGNED}) {
            for (int c = 1; c < 256; c++) {
                assertTrue(map[c - 1] < map[c], "ascending at " + c);
            }
            assertEquals(1f, map[255]);
        }
        assertEquals(0f, Int8State.SIGNED[Int8State.SIGNED_ZERO]);
        assertEquals(127, Int8State.SIGNED_ZERO);
        assertEquals(0f, Int8State.UNSIGNED[0]);
        // bitsandbytes' create_dynamic_map as torch computes it (scripts/golden.py), bit for bit.
        try (InputStream in = Int8StateTest.class.getResourceAsStream("golden/int8_maps.txt")) {
            String[] lines = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n");
            float[][] maps = {Int8State.SIGNED, Int8State.UNSIGNED};
            for (int m = 0; m < 2; m++) {
                String[] words = lines[m].trim().split(" ");
                assertEquals(256, words.length);
                for (int c = 0; c < 256; c++) {
                    assertEquals(Integer.parseUnsignedInt(words[c], 16), Float.floatToRawIntBits(maps[m][c]),
                            (m == 0 ? "signed" : "unsigned") + " code " + c);
                }
            }
        }
    }

    @Test
    void everyCodeQuantizesToItself() {
        for (float[] map : new float[][] {Int8State.SIGNED, Int8State.UNSIGNED}) {
            for (int c = 0; c < 256; c++) {
                assertEquals(c, Int8State.quantize(map, map[c], 1f), "code " + c);
                // Times an absmax and back: the code survives the division.
                float a = 3.7f;
                assertEquals(c, Int8State.quantize(map, map[c] * a, Int8State.inverse(a)), "code " + c + " at 3.7");
            }
            // Midway between two codes goes to the lower; just above it to the upper.
            float mid = (map[200] + map[201]) / 2;
            assertEquals(200, Int8State.code(map, mid));
            assertEquals(201, Int8State.code(map, Math.nextUp(mid)));
        }
        // Beyond the ends: the nearest end.
        assertEquals(0, Int8State.code(Int8State.SIGNED, -1f));
        assertEquals(255, Int8State.code(Int8State.SIGNED, 2f));
        assertEquals(0, Int8State.code(Int8State.UNSIGNED, -0.5f));
    }

    @Test
    void blocksOfZerosHugeValuesAndNonFiniteValues() {
        float[] map = Int8State.SIGNED;
        float[] zeros = new float[300];
        byte[] codes = new byte[300];
        float[] absmax = new float[2];
        Int8State.quantizeBlocks(map, zeros, codes, absmax);
        assertArrayEquals(new float[] {0f, 0f}, absmax);
        for (byte c : codes) {
            assertEquals(Int8State.SIGNED_ZERO, c & 0xFF);
        }
        // One huge element: it keeps its value, the small ones of its block become 0.
        float[] huge = new float[300];
        java.util.Arrays.fill(huge, 1e-3f);
        huge[7] = -3e30f;
        Int8State.quantizeBlocks(map, huge, codes, absmax);
        assertEquals(3e30f, absmax[0]);
        assertEquals(-0.99296875f * 3e30f, Int8State.dequantize(map, codes[7], absmax[0]));
        assertEquals(0f, Int8State.dequantize(map, codes[0], absmax[0]));
        // The second block (elements 256..299) is not touched by the first's maximum.
        assertEquals(1e-3f, absmax[1]);
        assertEquals(1e-3f, Int8State.dequantize(map, codes[299], absmax[1]));
        // NaN or an infinity: the block's absmax is NaN and every element reads NaN.
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] v = huge.clone();
            v[3] = bad;
            Int8State.quantizeBlocks(map, v, codes, absmax);
            assertTrue(Float.isNaN(absmax[0]), "absmax with " + bad);
            assertTrue(Float.isNaN(Int8State.dequantize(map, codes[0], absmax[0])));
            assertEquals(1e-3f, absmax[1]);
        }
        // Relative error of a block's values: at most half the gap between codes near 1.
        SplittableRandom random = new SplittableRandom(5);
        float[] v = new float[256];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        float[] one = new float[1];
        Int8State.quantizeBlocks(map, v, codes = new byte[256], one);
        for (int i = 0; i < v.length; i++) {
            assertEquals(v[i], Int8State.dequantize(map, codes[i], one[0]), 0.0071 * one[0], "element " + i);
        }
    }

    @Test
    void theLayoutQuantizesOnlyLargeTensorsAndStartsBlocksAtEachTensor() {
        Int8State.Layout layout = new Int8State.Layout(new int[] {4096, 10, 0, 4097, 4095}, 4096);
        assertArrayEquals(new boolean[] {true, false, false, true, false}, layout.quantized);
        assertEquals(4096 + 4097, layout.codeCount);
        assertEquals(10 + 4095, layout.floatCount);
        assertEquals(16 + 17, layout.absmaxCount);
        assertEquals(16 + 1 + 17 + 16, layout.blockCount());
        // The last block of the 4097-element tensor holds one element.
        int last = 16 + 1 + 16;
        assertArrayEquals(new int[] {4096 + 10 + 4096, 1, 32, 4096 + 4096}, java.util.Arrays.copyOfRange(layout.table,
                4 * last, 4 * last + 4));
        // The fp32 tensor's block: absmax -1, its values after the first fp32 tensor's.
        assertArrayEquals(new int[] {4096, 10, -1, 0}, java.util.Arrays.copyOfRange(layout.table, 64, 68));
        assertArrayEquals(new int[] {16, 34}, layout.blocks(4096, 4096 + 10 + 4097));
        assertEquals(3, layout.tensorAt(4106));
        assertThrows(IllegalArgumentException.class, () -> layout.blocks(1, 4096));
    }

    @Test
    void invalidCombinationsAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("rmsprop", Map.of("state_dtype", "int8", "centered", "true")));
        assertTrue(e.getMessage().startsWith("invalid state_dtype: int8 does not support centered=true"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("adam", Map.of("min_8bit_size", "100")));
        assertEquals("invalid min_8bit_size: 100 applies only with state_dtype=int8 (got state_dtype=fp32)",
                e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("adam", Map.of("state_dtype", "int8", "min_8bit_size", "-1")));
        assertTrue(e.getMessage().contains("min_8bit_size"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("asgd", Map.of("state_dtype", "int8")));
        assertEquals("invalid state_dtype: 'int8' (must be one of fp32, bf16)", e.getMessage());
    }

    @Test
    void bytesPerElement() {
        OptimizerConfig adam = OptimizerConfig.of("adam", Map.of("state_dtype", "int8"));
        assertEquals(2, adam.stateBytesPerElement());
        assertEquals(16, adam.bytesPerElement());
        assertEquals(8, OptimizerConfig.of("adam", Map.of()).stateBytesPerElement());
        assertEquals(Dtype.FP32, adam.stateDtype());
        assertTrue(adam.int8State());
        assertEquals(4096, adam.min8bitSize());
    }

    private static ParameterSet stepped(Device on, OptimizerConfig config, int steps, long seed) {
        ParameterSet.Builder b = ParameterSet.builder().group(config.int8State() ? config.with("min_8bit_size", 1000) : config);
        for (int t = 0; t < SHAPES.length; t++) {
            b.tensor("t" + t, SHAPES[t]);
        }
        ParameterSet set = on == null ? b.buildReference() : b.build(on);
        SplittableRandom random = new SplittableRandom(seed);
        for (String name : set.names()) {
            set.writeParameters(name, values(random, set.size(name), 1));
        }
        for (int s = 0; s < steps; s++) {
            for (String name : set.names()) {
                // Gradients of very different sizes from tensor to tensor and block to block.
                set.writeGradients(name, values(random, set.size(name), Math.pow(10, random.nextInt(-4, 3))));
            }
            set.step();
        }
        return set;
    }

    @Test
    void kernelsAndReferenceAgreeBitForBit() {
        for (OptimizerConfig config : CONFIGS) {
            try (ParameterSet kernel = stepped(device, config, 4, 11);
                 ParameterSet reference = stepped(null, config, 4, 11)) {
                assertSameValues(reference, kernel, config.toString());
            }
        }
    }

    @Test
    void theWorkGroupKernelsOfGpusAgreeToo() {
        // A CPU runs a block per work-item; this runs POCL the way of GPUs, a work-group per block.
        System.setProperty("clopt.int8WorkGroups", "true");
        try {
            for (OptimizerConfig config : List.of(CONFIGS.get(0), CONFIGS.get(2), CONFIGS.get(6), CONFIGS.get(12))) {
                try (ParameterSet kernel = stepped(device, config, 3, 12);
                     ParameterSet reference = stepped(null, config, 3, 12)) {
                    assertSameValues(reference, kernel, config.toString());
                }
            }
        } finally {
            System.clearProperty("clopt.int8WorkGroups");
        }
    }

    @Test
    void theSearchTablesGiveTheNearestCode() {
        // The one-step search against plain nearest-code rounding, at every bucket edge and between.
        SplittableRandom random = new SplittableRandom(8);
        for (float[] map : new float[][] {Int8State.SIGNED, Int8State.UNSIGNED}) {
            for (int n = 0; n < 200_000; n++) {
                float t = n < 2 * Int8State.BUCKETS
                        ? (n % 2 == 0 ? 1 : -1) * Float.intBitsToFloat(0x33800000 + ((n / 2) << 16) + random.nextInt(-1, 2))
                        : (float) (random.nextDouble() * 2.2 - 1.1) * (float) Math.pow(10, -random.nextInt(8));
                int lo = Int8State.search(map, t);
                int hi = Math.min(lo + 1, 255);
                int nearest = map[hi] - t < t - map[lo] ? hi : lo;
                assertEquals(nearest, Int8State.code(map, t), "t = " + t);
            }
        }
    }

    @Test
    void theStateOfLargeTensorsTakes256ValuesPerBlock() {
        OptimizerConfig adam = OptimizerConfig.of("adam", Map.of("state_dtype", "int8", "lr", "0.01"));
        try (ParameterSet set = stepped(device, adam, 3, 2)) {
            // t3 (4097 elements) is quantized: each block's values are codes times one absmax.
            float[] v = new float[4097];
            set.readState("t3", "exp_avg", v);
            for (int b = 0; b * 256 < v.length; b++) {
                float a = 0;
                for (int i = b * 256; i < Math.min(v.length, b * 256 + 256); i++) {
                    a = Math.max(a, Math.abs(v[i]));
                }
                for (int i = b * 256; i < Math.min(v.length, b * 256 + 256); i++) {
                    float q = v[i];
                    float scale = a / 0.99296875f;
                    boolean isCode = false;
                    for (float m : Int8State.SIGNED) {
                        isCode |= m * a == q || m * scale == q;
                    }
                    assertTrue(isCode, "element " + i + " = " + q + " is no code of block " + b);
                }
            }
            // t2 (1023 elements, the others below 1000 too) keeps fp32 state: not on the grid.
            float[] small = new float[999];
            set.readState("t7", "exp_avg_sq", small);
            long distinct = java.util.stream.IntStream.range(0, small.length).mapToObj(i -> small[i]).distinct().count();
            assertTrue(distinct > 900, distinct + " distinct values");
        }
    }

    @Test
    void writtenStateIsQuantizedAsStoredAndReadsBackStable() {
        OptimizerConfig adam = OptimizerConfig.of("adam", Map.of("state_dtype", "int8"));
        try (ParameterSet kernel = stepped(device, adam, 1, 4); ParameterSet reference = stepped(null, adam, 1, 4)) {
            float[] v = values(new SplittableRandom(9), 4097, 0.25);
            for (ParameterSet set : List.of(kernel, reference)) {
                set.writeState("t3", "exp_avg", v);
            }
            float[] a = new float[4097];
            float[] b = new float[4097];
            kernel.readState("t3", "exp_avg", a);
            reference.readState("t3", "exp_avg", b);
            assertArrayEquals(b, a);
            for (int i = 0; i < v.length; i++) {
                assertEquals(v[i], a[i], 0.25 * 0.0071, "element " + i);
            }
            // Writing one element quantizes its block again with the others' values.
            kernel.writeState("t3", "exp_avg", a);
            float[] again = new float[4097];
            kernel.readState("t3", "exp_avg", again);
            for (int i = 0; i < v.length; i++) {
                assertEquals(a[i], again[i], Math.abs(a[i]) * 0.0071 + 1e-9, "element " + i);
            }
        }
    }

    @Test
    void checkpointsKeepCodesMaximaAndMapsAndResumeBitExact(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws IOException {
        OptimizerConfig adam = OptimizerConfig.of("adam", Map.of("state_dtype", "int8", "lr", "0.01"));
        java.nio.file.Path file = dir.resolve("state.safetensors");
        try (ParameterSet set = stepped(device, adam, 2, 6)) {
            Checkpoint.save(set, file);
            try (InputStream in = java.nio.file.Files.newInputStream(file)) {
                var entries = org.clopt.io.SafeTensors.read(in, java.nio.file.Files.size(file)).header().entries();
                // t3 (4097 elements) is quantized: codes, 17 maxima, the map; t2 (1023) too; t0 keeps fp32.
                assertEquals("U8", entries.get("state.3.exp_avg").dtype());
                assertArrayEquals(new long[] {17}, entries.get("state.3.exp_avg.absmax").shape());
                assertArrayEquals(new long[] {256}, entries.get("state.3.exp_avg_sq.qmap").shape());
                assertEquals("F32", entries.get("state.0.exp_avg").dtype());
                assertEquals(null, entries.get("state.0.exp_avg.absmax"));
            }
            try (ParameterSet resumed = stepped(device, adam, 0, 6); ParameterSet reference = stepped(null, adam, 0, 6)) {
                Checkpoint.load(resumed, file);
                Checkpoint.load(reference, file);
                StateDict.Quantized saved = set.stateDict().params().get(3).quantized("exp_avg");
                StateDict.Quantized loaded = resumed.stateDict().params().get(3).quantized("exp_avg");
                assertArrayEquals(saved.codes(), loaded.codes());
                assertArrayEquals(saved.absmax(), loaded.absmax());
                // One more step of each continues the same run, on both paths.
                SplittableRandom random = new SplittableRandom(1);
                for (String name : set.names()) {
                    float[] g = values(random, set.size(name), 1);
                    set.writeGradients(name, g);
                    resumed.writeGradients(name, g);
                    reference.writeGradients(name, g);
                }
                set.step();
                resumed.step();
                reference.step();
                // The checkpoint holds no parameters: the state arrays continue the run.
                for (String name : set.names()) {
                    for (String key : set.stateNames(name)) {
                        float[] a = new float[set.size(name)];
                        float[] b = new float[a.length];
                        float[] c = new float[a.length];
                        set.readState(name, key, a);
                        resumed.readState(name, key, b);
                        reference.readState(name, key, c);
                        assertArrayEquals(a, b, name + " " + key);
                        assertArrayEquals(a, c, name + " " + key);
                    }
                }
            }
            // Into fp32 state: refused, naming the state type.
            try (ParameterSet fp32 = stepped(device, adam.with("state_dtype", "fp32"), 0, 6)) {
                CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(fp32, file));
                assertTrue(e.getMessage().contains("state_dtype"), e.getMessage());
            }
        }
    }

    /** Every tensor's parameters and state arrays of {@code actual} equal {@code expected}'s, bit for bit. */
    private static void assertSameValues(ParameterSet expected, ParameterSet actual, String what) {
        for (String name : actual.names()) {
            float[] a = new float[actual.size(name)];
            float[] b = new float[a.length];
            actual.readParameters(name, a);
            expected.readParameters(name, b);
            assertArrayEquals(b, a, what + " " + name);
            for (String key : actual.stateNames(name)) {
                actual.readState(name, key, a);
                expected.readState(name, key, b);
                assertArrayEquals(b, a, what + " " + name + " " + key);
            }
        }
    }

    private static float[] values(SplittableRandom random, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((random.nextDouble() - 0.5) * scale);
        }
        return v;
    }
}
