package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.clopt.io.SafeTensors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code state_dtype=bf16}: the values, bytes, errors and checkpoints of bf16 state. The
 * conformance sets and golden cases check the arithmetic on every algorithm that offers it.
 */
class StateDtypeTest extends OnDevice {
    static final OptimizerConfig ADAM = Adam.builder().lr(0.01).amsgrad(true).set("state_dtype", "bf16").build();

    @Test
    void invalidOrMissingStateDtypeIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("adam", Map.of("state_dtype", "int4")));
        assertEquals("invalid state_dtype: 'int4' (must be one of fp32, bf16, int8)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> OptimizerConfig.of("lamb", Map.of("state_dtype", "bf16")));
        assertTrue(e.getMessage().startsWith("unknown hyperparameter for lamb: 'state_dtype'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Adam.builder().set("state_dtype", 16).build());
        assertTrue(e.getMessage().contains("must be one of fp32, bf16, int8"), e.getMessage());
    }

    @Test
    void bytesFollowTheStateType() {
        assertEquals(20, ADAM.with("amsgrad", false).bytesPerElement());
        assertEquals(24, ADAM.bytesPerElement());
        assertEquals(28, Adam.builder().build().bytesPerElement());
        assertEquals(16, OptimizerConfig.of("momentum", Map.of("state_dtype", "bf16")).bytesPerElement());
        assertEquals(Dtype.BF16, ADAM.stateDtype());
        assertEquals(Dtype.FP32, OptimizerConfig.of("adadelta", Map.of()).stateDtype());
        assertEquals(Dtype.FP32, OptimizerConfig.of("lamb", Map.of()).stateDtype());
    }

    private static ParameterSet stepped(Device on, OptimizerConfig config, int steps) {
        ParameterSet.Builder b = ParameterSet.builder().group(config).tensor("w", 33, 31).tensor("b", 5000);
        ParameterSet set = on == null ? b.buildReference() : b.build(on);
        SplittableRandom random = new SplittableRandom(3);
        for (String name : set.names()) {
            set.writeParameters(name, values(random, set.size(name)));
        }
        for (int s = 0; s < steps; s++) {
            for (String name : set.names()) {
                set.writeGradients(name, values(random, set.size(name)));
            }
            set.step();
        }
        return set;
    }

    @Test
    void theStateHoldsBf16ValuesOnBothPathsAndTheyAgree() {
        try (ParameterSet kernel = stepped(device, ADAM, 3); ParameterSet reference = stepped(null, ADAM, 3)) {
            for (String name : kernel.names()) {
                for (String key : kernel.stateNames(name)) {
                    float[] a = new float[kernel.size(name)];
                    float[] b = new float[a.length];
                    kernel.readState(name, key, a);
                    reference.readState(name, key, b);
                    assertArrayEquals(b, a, name + " " + key);
                    for (float x : a) {
                        assertEquals(Dtype.BF16.round(x), x, name + " " + key + ": not a bf16 value");
                    }
                }
                float[] a = new float[kernel.size(name)];
                float[] b = new float[a.length];
                kernel.readParameters(name, a);
                reference.readParameters(name, b);
                assertArrayEquals(b, a, name);
            }
            // Written state is rounded as it is stored.
            float[] state = new float[5000];
            java.util.Arrays.fill(state, 1 + 0x1p-12f);
            kernel.writeState("b", "exp_avg", state);
            float[] back = new float[5000];
            kernel.readState("b", "exp_avg", back);
            assertEquals(1f, back[0]);
        }
    }

    @Test
    void stateDtypeIsStructural() {
        try (ParameterSet set = stepped(null, ADAM, 1)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> set.setConfig(0, ADAM.with("state_dtype", "fp32")));
            assertTrue(e.getMessage().contains("state_dtype") || e.getMessage().contains("variant"), e.getMessage());
            set.setConfig(0, ADAM.with("lr", 0.001));
        }
    }

    @Test
    void checkpointsKeepBf16StateAsBf16AndResumeBitExact(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("state.safetensors");
        try (ParameterSet set = stepped(device, ADAM, 2)) {
            Checkpoint.save(set, file);
            try (InputStream in = Files.newInputStream(file)) {
                SafeTensors.Contents c = SafeTensors.read(in, Files.size(file));
                assertEquals("BF16", c.header().entries().get("state.0.exp_avg").dtype());
                assertEquals("BF16", c.header().entries().get("state.1.max_exp_avg_sq").dtype());
            }
            try (ParameterSet resumed = ParameterSet.builder().group(ADAM).tensor("w", 33, 31).tensor("b", 5000)
                    .build(device)) {
                Checkpoint.load(resumed, file);
                for (String name : set.names()) {
                    for (String key : set.stateNames(name)) {
                        float[] a = new float[set.size(name)];
                        float[] b = new float[a.length];
                        set.readState(name, key, a);
                        resumed.readState(name, key, b);
                        assertArrayEquals(a, b, name + " " + key);
                    }
                }
            }
            try (ParameterSet fp32 = ParameterSet.builder().group(ADAM.with("state_dtype", "fp32")).tensor("w", 33, 31)
                    .tensor("b", 5000).build(device)) {
                CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.load(fp32, file));
                assertTrue(e.getMessage().contains("state_dtype"), e.getMessage());
            }
        }
    }

    private static float[] values(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() - 0.5);
        }
        return v;
    }
}
