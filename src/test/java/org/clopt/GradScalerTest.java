package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The loss scaler against GradScaler's decisions (scripts/golden_scaler.py): Inf and NaN
 * injected into one tensor of several, in groups of different precisions; skipped steps change
 * nothing, bit for bit; the device and the CPU reference agree; the state is saved and resumed.
 */
class GradScalerTest extends OnDevice {
    private static JsonObject golden() throws IOException {
        try (InputStream in = GradScalerTest.class.getResourceAsStream("/org/clopt/golden/scaler.json")) {
            return JsonParser.parseReader(new InputStreamReader(in, StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    private static final String[] NAMES = {"a", "b", "c"};

    /** Two groups: bf16 Adam with master weights (a, b), fp16 SGD with momentum without (c). */
    private static ParameterSet build(JsonObject g, boolean onDevice) {
        JsonArray sizes = g.getAsJsonArray("sizes");
        ParameterSet.Builder b = ParameterSet.builder()
                .group(Adam.builder().lr(0.01).build(), Precision.of(Dtype.BF16))
                .tensor("a", sizes.get(0).getAsInt()).tensor("b", sizes.get(1).getAsInt())
                .group(Sgd.builder().lr(0.05).momentum(0.9).build(), Precision.of(Dtype.FP16).withMasterWeights(false))
                .tensor("c", sizes.get(2).getAsInt());
        return onDevice ? b.build(device) : b.buildReference();
    }

    private static GradScaler scaler(JsonObject g, ParameterSet set) {
        return GradScaler.builder().initScale(g.get("init_scale").getAsDouble())
                .growthFactor(g.get("growth_factor").getAsDouble()).backoffFactor(g.get("backoff_factor").getAsDouble())
                .growthInterval(g.get("growth_interval").getAsInt()).build(set);
    }

    /** Everything a skipped step must leave alone, as bits: parameters, master, state, counts. */
    private static List<Object> snapshot(ParameterSet set) {
        List<Object> all = new ArrayList<>();
        for (String name : NAMES) {
            int n = set.size(name);
            float[] p = new float[n];
            set.readParameters(name, p);
            all.add(bits(p));
            if (set.precision(set.group(name)).masterWeights()) {
                set.readMasterParameters(name, p);
                all.add(bits(p));
            }
            for (String key : set.stateNames(name)) {
                set.readState(name, key, p);
                all.add(bits(p));
            }
            all.add(set.stepCount(name));
        }
        return all;
    }

    private static List<Integer> bits(float[] x) {
        List<Integer> list = new ArrayList<>();
        for (float v : x) {
            list.add(Float.floatToRawIntBits(v));
        }
        return list;
    }

    /** Scaled gradients of iteration {@code it}, with the golden run's injected value. */
    private static float[][] gradients(JsonObject g, int it, float scale, SplittableRandom r) {
        float[][] grads = new float[NAMES.length][];
        JsonArray sizes = g.getAsJsonArray("sizes");
        for (int t = 0; t < NAMES.length; t++) {
            grads[t] = new float[sizes.get(t).getAsInt()];
            for (int i = 0; i < grads[t].length; i++) {
                grads[t][i] = (float) ((r.nextDouble() - 0.5) * 0.01) * scale;
            }
        }
        for (JsonElement e : g.getAsJsonArray("inject")) {
            JsonObject inject = e.getAsJsonObject();
            if (inject.get("iteration").getAsInt() == it) {
                grads[inject.get("tensor").getAsInt()][inject.get("element").getAsInt()] =
                        Float.parseFloat(inject.get("value").getAsString().replace("inf", "Infinity")
                                .replace("nan", "NaN"));
            }
        }
        return grads;
    }

    @Test
    void decisionsAndScalesAreGradScalersAndSkippedStepsChangeNothing() throws IOException {
        JsonObject g = golden();
        try (ParameterSet cl = build(g, true); ParameterSet ref = build(g, false)) {
            GradScaler clScaler = scaler(g, cl);
            GradScaler refScaler = scaler(g, ref);
            SplittableRandom r = new SplittableRandom(4);
            for (String name : NAMES) {
                float[] p = new float[cl.size(name)];
                for (int i = 0; i < p.length; i++) {
                    p[i] = (float) (r.nextDouble() - 0.5);
                }
                cl.writeParameters(name, p);
                ref.writeParameters(name, p);
            }
            for (JsonElement e : g.getAsJsonArray("iterations")) {
                JsonObject row = e.getAsJsonObject();
                int it = row.get("iteration").getAsInt();
                assertEquals(row.get("scale").getAsFloat(), clScaler.getScale(), "scale before iteration " + it);
                assertEquals(row.get("scale").getAsFloat(), refScaler.getScale(), "scale before iteration " + it);
                float[][] grads = gradients(g, it, clScaler.getScale(), r);
                for (int t = 0; t < NAMES.length; t++) {
                    cl.writeGradients(NAMES[t], grads[t]);
                    ref.writeGradients(NAMES[t], grads[t]);
                }
                List<Object> before = snapshot(cl);
                boolean skipped = row.get("skipped").getAsBoolean();
                assertEquals(!skipped, clScaler.step(), "iteration " + it);
                assertEquals(!skipped, refScaler.step(), "iteration " + it);
                clScaler.update();
                refScaler.update();
                if (skipped) {
                    assertEquals(before, snapshot(cl), "a skipped step changed the set at iteration " + it);
                }
                assertEquals(snapshot(ref), snapshot(cl), "device and reference at iteration " + it);
            }
            assertEquals(g.get("final_scale").getAsFloat(), clScaler.getScale());
            assertEquals(g.get("final_growth_tracker").getAsInt(), clScaler.getGrowthTracker());
        }
    }

    @Test
    void unscaledStepEqualsAStepOnDividedGradients() {
        // With a power-of-two scale, g * scale * (1 / scale) is g: the scaled run and an unscaled
        // one take the same steps.
        for (boolean onDevice : new boolean[] {true, false}) {
            ParameterSet.Builder b = ParameterSet.builder().group(AdamW.builder().build(), Precision.of(Dtype.FP16))
                    .tensor("w", 1023);
            try (ParameterSet scaled = onDevice ? b.build(device) : b.buildReference();
                 ParameterSet plain = onDevice ? b.build(device) : b.buildReference()) {
                GradScaler scaler = GradScaler.builder().initScale(256).build(scaled);
                SplittableRandom r = new SplittableRandom(8);
                float[] g = new float[1023];
                for (int step = 0; step < 3; step++) {
                    for (int i = 0; i < g.length; i++) {
                        g[i] = Dtype.FP16.round((float) (r.nextDouble() - 0.5) * 1e-3f);
                    }
                    plain.writeGradients("w", g);
                    float[] s = g.clone();
                    for (int i = 0; i < s.length; i++) {
                        s[i] *= scaler.getScale();
                    }
                    scaled.writeGradients("w", s);
                    assertTrue(scaler.step());
                    scaler.update();
                    plain.step();
                }
                float[] a = new float[1023];
                float[] c = new float[1023];
                scaled.readMasterParameters("w", a);
                plain.readMasterParameters("w", c);
                assertArrayEquals(c, a);
            }
        }
    }

    @Test
    void tinyGradientsSurviveTheFusedUnscale() {
        // 2^-30 is 0 in fp16; scaled by 2^16 it is 2^-14, a normal fp16 value, and the step sees
        // 2^-30 again: PyTorch's separate unscale would round it back to fp16's 0.
        try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().lr(1).build(), Precision.of(Dtype.FP16))
                .tensor("w", 1).build(device)) {
            GradScaler scaler = GradScaler.builder().build(set);
            set.writeParameters("w", new float[] {0f});
            set.writeGradients("w", new float[] {0x1p-30f * scaler.getScale()});
            assertTrue(scaler.step());
            float[] master = new float[1];
            set.readMasterParameters("w", master);
            assertEquals(-0x1p-30f, master[0]);
        }
    }

    @Test
    void clippingAfterUnscaleSeesTheUnscaledNorm() {
        try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().lr(1).build(), Precision.of(Dtype.BF16))
                .tensor("w", 2).build(device)) {
            GradScaler scaler = GradScaler.builder().initScale(1024).build(set);
            set.writeGradients("w", new float[] {3f * 1024, 4f * 1024});
            scaler.unscale();
            set.clipGradNorm(1.0);
            assertEquals(5f, set.gradNorm());
            float[] g = new float[2];
            set.readGradients("w", g);
            assertEquals(Dtype.BF16.round(3f * (1f / (5f + 1e-6f))), g[0]);
        }
    }

    @Test
    void stateIsSavedWithTheSetAndResumed() throws IOException {
        JsonObject g = golden();
        ByteArrayOutputStream saved = new ByteArrayOutputStream();
        try (ParameterSet set = build(g, true)) {
            GradScaler scaler = scaler(g, set);
            for (int it = 0; it < 4; it++) {
                for (String name : NAMES) {
                    float[] grad = new float[set.size(name)];
                    grad[0] = it == 2 ? Float.POSITIVE_INFINITY : 1f;
                    set.writeGradients(name, grad);
                }
                scaler.step();
                scaler.update();
            }
            Checkpoint.write(set.stateDict(true), saved);
            try (ParameterSet back = ParameterSet.builder(Checkpoint.read(new ByteArrayInputStream(saved.toByteArray())))
                    .build(device)) {
                GradScaler resumed = GradScaler.builder().build(back);
                assertEquals(scaler.getScale(), resumed.getScale(), "the scale is back before the first step");
                assertEquals(scaler.getGrowthTracker(), resumed.getGrowthTracker());
                assertEquals(scaler.stateDict(), resumed.stateDict());
                assertEquals(snapshot(set), snapshot(back));
                assertEquals(set.precision(0), back.precision(0));
                assertEquals(set.precision(1), back.precision(1));
                for (String name : NAMES) {
                    set.writeGradients(name, new float[set.size(name)]);
                    back.writeGradients(name, new float[set.size(name)]);
                }
                assertTrue(resumed.step());
                assertTrue(scaler.step());
                assertEquals(snapshot(set), snapshot(back), "the resumed run goes on as the original");
            }
        }
    }

    @Test
    void misuseFailsAsPyTorchsDoes() {
        try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().build(), Precision.of(Dtype.FP16))
                .tensor("w", 3).buildReference()) {
            GradScaler scaler = GradScaler.builder().build(set);
            assertThrows(IllegalStateException.class, scaler::update);
            scaler.unscale();
            IllegalStateException e = assertThrows(IllegalStateException.class, scaler::unscale);
            assertTrue(e.getMessage().contains("already"), e.getMessage());
            scaler.step();
            assertThrows(IllegalStateException.class, scaler::step);
            assertThrows(IllegalStateException.class, scaler::unscale);
            scaler.update();
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GradScaler.builder().growthFactor(1.0));
        assertTrue(e.getMessage().contains("growth_factor"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GradScaler.builder().backoffFactor(1.0));
        assertTrue(e.getMessage().contains("backoff_factor"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GradScaler.builder().growthInterval(0));
        assertTrue(e.getMessage().contains("growth_interval"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> GradScaler.builder().initScale(0));
        assertTrue(e.getMessage().contains("init_scale"), e.getMessage());
    }

    @Test
    void disabledScalerOnlySteps() {
        try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().lr(1).build(), Precision.of(Dtype.FP16))
                .tensor("w", 1).buildReference()) {
            GradScaler scaler = GradScaler.builder().enabled(false).build(set);
            assertEquals(1f, scaler.getScale());
            set.writeGradients("w", new float[] {Float.NaN});
            assertTrue(scaler.step());
            scaler.update();
            float[] w = new float[1];
            set.readParameters("w", w);
            assertTrue(Float.isNaN(w[0]), "a disabled scaler does not skip");
            assertFalse(scaler.isEnabled());
            assertEquals(Map.of("type", "GradScaler", "enabled", false), scaler.stateDict());
        }
    }
}
