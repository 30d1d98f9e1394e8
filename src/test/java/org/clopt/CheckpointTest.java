package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import org.clopt.tools.Conformance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Checkpoints: exact resume, strict reading, and nothing changed by a bad file. */
class CheckpointTest extends OnDevice {

    @TempDir
    Path dir;



    static List<Conformance.OptionSet> optionSets() {
        return Conformance.optionSets();
    }

    static ParameterSet.Builder layout(Conformance.OptionSet options) {
        return ParameterSetTest.layout(options.config(), ParameterSetTest.secondGroup(options));
    }

    /** Deterministic gradients for step s, the same for every set built from the layout. */
    static void gradients(ParameterSet set, int step) {
        SplittableRandom random = new SplittableRandom(100 + step);
        for (String name : set.names()) {
            set.writeGradients(name, ParameterSetTest.values(set.size(name), random));
        }
    }

    static void initialize(ParameterSet set) {
        SplittableRandom random = new SplittableRandom(1);
        for (String name : set.names()) {
            set.writeParameters(name, ParameterSetTest.values(set.size(name), random));
        }
    }

    static float[] read(ParameterSet set, String name, String key) {
        float[] out = new float[key == null ? set.size(name)
                : java.util.Arrays.stream(set.stateShape(name, key)).reduce(1, (a, b) -> a * b)];
        if (key == null) {
            set.readParameters(name, out);
        } else {
            set.readState(name, key, out);
        }
        return out;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("optionSets")
    void resumeIsBitExact(Conformance.OptionSet options) {
        Path file = dir.resolve("state.safetensors");
        try (ParameterSet straight = layout(options).build(device);
             ParameterSet first = layout(options).build(device);
             ParameterSet resumed = layout(options).build(device)) {
            initialize(straight);
            initialize(first);
            for (int step = 1; step <= 6; step++) {
                gradients(straight, step);
                straight.step();
            }
            for (int step = 1; step <= 3; step++) {
                gradients(first, step);
                first.step();
            }
            Checkpoint.save(first, file, true);
            Checkpoint.load(resumed, file);
            for (int step = 4; step <= 6; step++) {
                gradients(resumed, step);
                resumed.step();
            }
            for (String name : straight.names()) {
                assertEquals(straight.stepCount(name), resumed.stepCount(name), name);
                assertArrayEquals(read(straight, name, null), read(resumed, name, null), name);
                for (String key : straight.stateNames(name)) {
                    assertArrayEquals(read(straight, name, key), read(resumed, name, key), name + " " + key);
                }
            }
        }
    }

    @Test
    void loadsAcrossDevicesWithinTolerance() {
        Conformance.OptionSet options = Conformance.optionSets().get(21); // nadam, decoupled
        Path file = dir.resolve("reference.safetensors");
        try (ParameterSet reference = layout(options).buildReference();
             ParameterSet onDevice = layout(options).build(device)) {
            initialize(reference);
            for (int step = 1; step <= 3; step++) {
                gradients(reference, step);
                reference.step();
            }
            Checkpoint.save(reference, file, true);
            Checkpoint.load(onDevice, file);
            for (int step = 4; step <= 5; step++) {
                gradients(reference, step);
                reference.step();
                gradients(onDevice, step);
                onDevice.step();
            }
            for (String name : reference.names()) {
                float[] e = read(reference, name, null);
                float[] a = read(onDevice, name, null);
                for (int i = 0; i < e.length; i++) {
                    assertTrue(Conformance.ulps(a[i], e[i], e[i]) <= 8, name + "[" + i + "]");
                }
                assertEquals(5, onDevice.stepCount(name));
            }
        }
    }

    @Test
    void stateOnlyByDefaultAndHyperparametersComeBack() throws IOException {
        Path file = dir.resolve("s.safetensors");
        try (ParameterSet set = ParameterSet.builder().group(Adam.builder().lr(0.5).build())
                .tensor("w", 2, 3).buildReference();
             ParameterSet other = ParameterSet.builder().group(Adam.builder().build())
                .tensor("w", 2, 3).buildReference()) {
            set.writeParameters("w", new float[] {1, 2, 3, 4, 5, 6});
            gradients(set, 1);
            set.step();
            Checkpoint.save(set, file);
            Checkpoint.load(other, file);
            assertArrayEquals(new float[6], read(other, "w", null), "parameters are not in a state-only file");
            assertEquals(0.5, ((Adam) other.config(0)).lr());
            assertEquals(1, other.stepCount("w"));
            String text = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
            assertTrue(text.contains("\"state.0.exp_avg\"") && text.contains("\"state.0.step\"")
                    && !text.contains("param.0"), text.substring(0, 400));
        }
    }

    /**
     * A 16-bit group keeps its precision and master weights through a file: a set rebuilt from
     * it resumes bit for bit, and a set of another precision refuses it, naming both.
     */
    @Test
    void sixteenBitGroupsKeepTheirPrecisionAndMasterWeights() {
        Path file = dir.resolve("half.safetensors");
        OptimizerConfig adam = Adam.builder().lr(0.01).build();
        List<Precision> precisions = List.of(Precision.of(Dtype.BF16),
                Precision.of(Dtype.FP16).withMasterWeights(false),
                Precision.of(Dtype.BF16).withMasterWeights(false).withStochasticRounding(-7));
        for (Precision precision : precisions) {
            try (ParameterSet straight = ParameterSet.builder().group(adam, precision).tensor("w", 5, 7)
                    .group(adam).tensor("b", 7).build(device);
                 ParameterSet first = ParameterSet.builder().group(adam, precision).tensor("w", 5, 7)
                    .group(adam).tensor("b", 7).build(device)) {
                initialize(straight);
                initialize(first);
                for (int step = 1; step <= 4; step++) {
                    gradients(straight, step);
                    straight.step();
                    if (step <= 2) {
                        gradients(first, step);
                        first.step();
                    }
                }
                Checkpoint.save(first, file, true);
                StateDict saved = Checkpoint.read(file);
                assertEquals(List.of(precision, Precision.FP32), saved.precisions());
                try (ParameterSet resumed = ParameterSet.builder(saved).build(device)) {
                    for (int step = 3; step <= 4; step++) {
                        gradients(resumed, step);
                        resumed.step();
                    }
                    assertArrayEquals(read(straight, "w", null), read(resumed, "w", null), precision.toString());
                    assertArrayEquals(read(straight, "w", "exp_avg_sq"), read(resumed, "w", "exp_avg_sq"));
                    if (precision.masterWeights()) {
                        float[] a = new float[35];
                        float[] b = new float[35];
                        straight.readMasterParameters("w", a);
                        resumed.readMasterParameters("w", b);
                        assertArrayEquals(a, b, "master weights");
                    }
                }
                try (ParameterSet fp32 = ParameterSet.builder().group(adam).tensor("w", 5, 7)
                        .group(adam).tensor("b", 7).buildReference()) {
                    CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(fp32, file));
                    assertTrue(e.getMessage().contains("group 0 is " + precision + " in the state but fp32 in the set"),
                            e.getMessage());
                }
            }
        }
    }

    /** A version-4 file's precision is read as strictly as the rest of its metadata. */
    @Test
    void aSavedPrecisionIsReadStrictly() throws IOException {
        String fp32 = "\"precision\":{\"dtype\":\"fp32\",\"master_weights\":false,\"stochastic_rounding\":false,"
                + "\"seed\":0}";
        String[][] cases = {
            {ADAM.replace("}}", "}," + fp32.replace("fp32", "fp8") + "}"), "param_groups[0].precision is invalid: "
                + "invalid dtype: 'fp8'"},
            {ADAM.replace("}}", "}," + fp32.replace("\"master_weights\":false", "\"master_weights\":\"no\"") + "}"),
                "param_groups[0].precision.master_weights must be true or false"},
            {ADAM.replace("}}", "}," + fp32.replace("\"seed\":0", "\"seed\":0.5") + "}"),
                "param_groups[0].precision.seed must be an integer"},
            {ADAM.replace("}}", "}," + fp32.replace(",\"seed\":0", "") + "}"),
                "param_groups[0].precision must have exactly the keys"},
            {ADAM.replace("}}", "}," + fp32.replace("\"stochastic_rounding\":false", "\"stochastic_rounding\":true")
                + "}"), "invalid stochastic_rounding for fp32"},
            {ADAM, "param_groups[0] must have exactly the keys algorithm, hyperparameters, precision"},
            // The master weights such a group keeps are in the file too.
            {ADAM.replace("}}", "}," + fp32.replace("fp32", "bf16").replace("\"master_weights\":false",
                "\"master_weights\":true") + "}"), "missing tensor 'master.0'"},
        };
        for (String[] c : cases) {
            Path file = dir.resolve("v4.safetensors");
            Files.write(file, foreignFile(PARAMS, "[" + c[0] + "]", 4, "4"));
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.read(file));
            assertTrue(e.getMessage().contains(c[1]), c[1] + " not in: " + e.getMessage());
        }
        Path file = dir.resolve("v4.safetensors");
        Files.write(file, foreignFile(PARAMS, "[" + ADAM.replace("}}", "}," + fp32 + "}") + "]", 4, "4"));
        assertEquals(List.of(Precision.FP32), Checkpoint.read(file).precisions());
    }

    /** A small valid checkpoint to mutate. */
    private byte[] validFile(ParameterSet set) throws IOException {
        Path file = dir.resolve("valid.safetensors");
        initialize(set);
        gradients(set, 1);
        set.step();
        Checkpoint.save(set, file, true);
        return Files.readAllBytes(file);
    }

    private static ParameterSet smallSet() {
        return ParameterSet.builder().group(NAdam.builder().build()).tensor("a", 3).tensor("b", 2, 2)
                .buildReference();
    }

    /** Loading {@code bytes} either fails with a CheckpointException and changes nothing, or succeeds. */
    private boolean rejects(byte[] bytes, ParameterSet target) throws IOException {
        return rejects(bytes, target, "b");
    }

    private boolean rejects(byte[] bytes, ParameterSet target, String watched) throws IOException {
        Path file = dir.resolve("mutated.safetensors");
        Files.write(file, bytes);
        float[] before = read(target, watched, "exp_avg");
        long steps = target.stepCount("a");
        try {
            Checkpoint.load(target, file);
            return false;
        } catch (CheckpointException e) {
            assertArrayEquals(before, read(target, watched, "exp_avg"));
            assertEquals(steps, target.stepCount("a"));
            assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
            return true;
        }
    }

    @Test
    void everyTruncationAndEveryDataBitFlipIsRejected() throws IOException {
        try (ParameterSet source = smallSet(); ParameterSet target = smallSet()) {
            byte[] valid = validFile(source);
            assertTrue(!rejects(valid, target), "the valid file loads");
            for (int length = 0; length < valid.length; length++) {
                assertTrue(rejects(java.util.Arrays.copyOf(valid, length), target), "truncated to " + length);
            }
            long headerLength = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            for (int at = (int) (8 + headerLength); at < valid.length; at++) {
                for (int bit = 0; bit < 8; bit += 3) {
                    byte[] flipped = valid.clone();
                    flipped[at] ^= (byte) (1 << bit);
                    assertTrue(rejects(flipped, target), "bit " + bit + " of data byte " + at);
                }
            }
            // The checksum covers the header too: every flip there is caught as well.
            for (int at = 0; at < 8 + headerLength; at++) {
                for (int bit = 0; bit < 8; bit++) {
                    byte[] flipped = valid.clone();
                    flipped[at] ^= (byte) (1 << bit);
                    assertTrue(rejects(flipped, target), "bit " + bit + " of header byte " + at);
                }
            }
        }
    }

    /** A file with this header text and data section. */
    private static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).array();
    }

    @Test
    void malformedHeadersAreRejected() throws IOException {
        try (ParameterSet target = smallSet()) {
            String meta = "\"__metadata__\":{\"format\":\"clopt-optimizer-state\",\"format_version\":\"1\"}";
            List<byte[]> bad = new ArrayList<>();
            bad.add(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
            bad.add(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-1).array());
            bad.add(file("{not json", 0));
            bad.add(new byte[] {4, 0, 0, 0, 0, 0, 0, 0, '{', (byte) 0xC3, 0x28, '}'});
            bad.add(file("{" + meta + ",\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    + "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8));
            bad.add(file("{" + meta + ",\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    + "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8));
            bad.add(file("{" + meta + ",\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8));
            bad.add(file("{" + meta + ",\"x\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4));
            bad.add(file("{" + meta + ",\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8));
            bad.add(file("{" + meta + ",\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12));
            bad.add(file("{" + meta + ",\"x\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
                    + "\"data_offsets\":[0,8]}}", 8));
            bad.add(file("{" + meta + ",\"x\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8));
            bad.add(file("{" + meta + "} trailing", 0));
            for (int k = 0; k < bad.size(); k++) {
                assertTrue(rejects(bad.get(k), target), "case " + k);
            }
        }
    }

    /**
     * A checkpoint as another tool might write it: the safetensors layout and clopt's metadata,
     * without a checksum, here with the given params and param_groups JSON.
     */
    private static byte[] foreignFile(String params, String groups, float stepA, boolean withChecksum) {
        return foreignFile(params, groups, stepA, withChecksum ? "1" : "2");
    }

    /** As above, of this format version; from version 3 on, with no schedulers and no averaging. */
    private static byte[] foreignFile(String params, String groups, float stepA, String version) {
        boolean withChecksum = version.equals("1");
        List<org.clopt.io.SafeTensors.Output> tensors = new ArrayList<>();
        tensors.add(new org.clopt.io.SafeTensors.Output("state.0.step", "I64", new long[0],
                ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, (long) stepA)));
        tensors.add(new org.clopt.io.SafeTensors.Output("state.0.exp_avg", "F32", new long[] {3}, floats(3, 0.5f)));
        tensors.add(new org.clopt.io.SafeTensors.Output("state.0.exp_avg_sq", "F32", new long[] {3}, floats(3, 0.25f)));
        java.util.Map<String, String> meta = new java.util.LinkedHashMap<>();
        meta.put("format", "clopt-optimizer-state");
        meta.put("format_version", version);
        meta.put("params", params);
        meta.put("param_groups", groups);
        if (Integer.parseInt(version) >= 3) {
            meta.put("schedulers", "[]");
            meta.put("averaging", "null");
        }
        if (withChecksum) {
            java.util.zip.CRC32 crc = new java.util.zip.CRC32();
            tensors.forEach(t -> crc.update(t.data().duplicate()));
            meta.put("data_crc32", Long.toString(crc.getValue()));
        }
        byte[] header = org.clopt.io.SafeTensors.header(tensors, meta);
        ByteBuffer file = ByteBuffer.allocate(8 + header.length + 8 + 24).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(header.length).put(header);
        tensors.forEach(t -> file.put(t.data().duplicate()));
        return file.array();
    }

    private static ByteBuffer floats(int n, float value) {
        ByteBuffer b = ByteBuffer.allocate(4 * n).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            b.putFloat(value);
        }
        return b.flip();
    }

    private static final String PARAMS = "[{\"name\":\"a\",\"shape\":[3],\"group\":0}]";
    private static final String ADAM = "{\"algorithm\":\"adam\",\"hyperparameters\":{\"lr\":0.01,"
            + "\"betas\":[0.9,0.999],\"eps\":1e-8,\"weight_decay\":0,\"amsgrad\":false,\"maximize\":false,"
            + "\"decoupled_weight_decay\":false}}";
    /** As a version-1 file has it: before Adam had decoupled_weight_decay. */
    private static final String ADAM_V1 = ADAM.replace(",\"decoupled_weight_decay\":false", "");

    @Test
    void aValidFileWithoutChecksumLoadsAndAVersion1FileToo() throws IOException {
        for (boolean v1 : new boolean[] {false, true}) {
            try (ParameterSet set = ParameterSet.builder().group(Adam.builder().build()).tensor("a", 3)
                    .buildReference()) {
                assertTrue(!rejects(foreignFile(PARAMS, "[" + (v1 ? ADAM_V1 : ADAM) + "]", 4, v1), set, "a"),
                        "v1 " + v1);
                assertEquals(4, set.stepCount("a"));
                assertEquals(0.01, set.config(0).lr());
                assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, read(set, "a", "exp_avg"));
            }
        }
    }

    /** Metadata that a checksum cannot vouch for (there is none) is still read strictly. */
    @Test
    void metadataIsReadStrictlyAndErrorsSpeakClopt() throws IOException {
        String[][] cases = {
            {PARAMS, "[" + ADAM.replace("\"lr\":0.01,", "") + "]", "missing lr"},
            {PARAMS, "[" + ADAM_V1 + "]", "missing decoupled_weight_decay"},
            {PARAMS, "[" + ADAM.replace("\"lr\":0.01", "\"lr\":[0.1]") + "]", "invalid lr"},
            {PARAMS, "[" + ADAM.replace("\"lr\":0.01", "\"lr\":0.01,\"lr\":0.03") + "]", "'lr' twice"},
            {PARAMS, "[" + ADAM.replace("\"lr\":0.01", "lr:0.01") + "]", "not valid JSON"},
            {PARAMS, "[" + ADAM.replace("\"maximize\":false", "\"maximize\":false,\"foreach\":null") + "]",
                "foreach"},
            {PARAMS, "[" + ADAM.replace("\"lr\":0.01", "\"lr\":1e39") + "]", "float32"},
            {PARAMS.replace("[3]", "[3.5]"), "[" + ADAM + "]", "params[0].shape[0] must be an integer"},
            {PARAMS.replace("\"name\":\"a\",", ""), "[" + ADAM + "]", "params[0] must have exactly the keys"},
            {PARAMS.replace("\"group\":0", "\"group\":\"0\""), "[" + ADAM + "]", "params[0].group must be an integer"},
            {"{}", "[" + ADAM + "]", "params must be a JSON array"},
            {PARAMS, "[" + ADAM + "] x", "not valid JSON"},
            {PARAMS, "[" + ADAM.replace("adam", "adamz") + "]", "unknown optimizer"},
        };
        for (String[] c : cases) {
            try (ParameterSet set = ParameterSet.builder().group(Adam.builder().build()).tensor("a", 3)
                    .buildReference()) {
                Path file = dir.resolve("foreign.safetensors");
                Files.write(file, foreignFile(c[0], c[1], 4, false));
                CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(set, file));
                assertTrue(e.getMessage().contains(c[2]), c[2] + " not in: " + e.getMessage());
                assertTrue(!e.getMessage().contains("Exception") && !e.getMessage().contains("gson"), e.getMessage());
                assertEquals(0, set.stepCount("a"));
            }
        }
        // A newer format than this build's is refused, not half read.
        byte[] future = new String(foreignFile(PARAMS, "[" + ADAM + "]", 4, false), StandardCharsets.ISO_8859_1)
                .replace("\"format_version\":\"2\"", "\"format_version\":\"7\"").getBytes(StandardCharsets.ISO_8859_1);
        try (ParameterSet set = ParameterSet.builder().group(Adam.builder().build()).tensor("a", 3)
                .buildReference()) {
            Path file = dir.resolve("future.safetensors");
            Files.write(file, future);
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(set, file));
            assertTrue(e.getMessage().contains("version '7'; expected 'clopt-optimizer-state', version 1 to 6"),
                    e.getMessage());
        }
        byte[] corrupt = foreignFile(PARAMS, "[" + ADAM + "]", 4, true);
        corrupt[corrupt.length - 1] ^= 1;
        try (ParameterSet set = ParameterSet.builder().group(Adam.builder().build()).tensor("a", 3)
                .buildReference()) {
            Path file = dir.resolve("corrupt.safetensors");
            Files.write(file, corrupt);
            CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(set, file));
            assertTrue(e.getMessage().contains("does not match its checksum (data_crc32): the file is corrupt"),
                    e.getMessage());
        }
    }

    @Test
    void aFileForAnotherSetIsRejected() throws IOException {
        Path file = dir.resolve("other.safetensors");
        try (ParameterSet source = smallSet(); ParameterSet target = smallSet()) {
            validFile(source);
            Checkpoint.save(source, file);
            for (ParameterSet.Builder other : List.of(
                    ParameterSet.builder().group(NAdam.builder().build()).tensor("a", 3).tensor("b", 4),
                    ParameterSet.builder().group(NAdam.builder().build()).tensor("a", 3).tensor("c", 2, 2),
                    ParameterSet.builder().group(Adam.builder().build()).tensor("a", 3).tensor("b", 2, 2),
                    ParameterSet.builder().group(NAdam.builder().build()).tensor("a", 3)
                            .group(NAdam.builder().build()).tensor("b", 2, 2))) {
                try (ParameterSet wrong = other.buildReference()) {
                    assertThrows(CheckpointException.class, () -> Checkpoint.load(wrong, file));
                    assertEquals(0, wrong.stepCount("a"));
                }
            }
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> Checkpoint.load(target, dir.resolve("missing.safetensors")));
            assertTrue(e.getMessage().endsWith("no such file"), e.getMessage());
        }
    }

    @Test
    void aKilledWriterNeverLeavesABrokenCheckpoint() throws Exception {
        Path file = dir.resolve("crash.safetensors");
        Random random = new Random(11);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int round = 0; round < 6; round++) {
            Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    CheckpointCrashChild.class.getName(), file.toString())
                    .redirectErrorStream(true).start();
            // Wait until it has saved at least once, then kill it at a random moment.
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (!Files.exists(file) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Thread.sleep(random.nextInt(300));
            child.destroyForcibly().waitFor();
            try (ParameterSet set = CheckpointCrashChild.set()) {
                Checkpoint.load(set, file);
                assertTrue(set.stepCount("w") >= 1);
            }
        }
        try (var files = Files.list(dir)) {
            // Killed writers may leave temporary files; they never replace the checkpoint.
            assertTrue(files.allMatch(p -> p.equals(file) || p.getFileName().toString().endsWith(".tmp")));
        }
    }
}
