package org.clopt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Per-tensor scalar state (ASGD's eta and mu, NAdam's mu_product): the float32 values PyTorch
 * keeps, created at a tensor's first step from the configuration of that step, and runs of
 * tensors that share a step count but not their scalar state launched apart.
 */
class ScalarStateTest extends OnDevice {
    static final OptimizerConfig ASGD = Asgd.builder().lr(0.05).lambd(0.1).alpha(0.5).t0(2.5).build();

    /**
     * eta and mu after steps 1..7 of {@code torch.optim.ASGD(lr=0.05, lambd=0.1, alpha=0.5,
     * t0=2.5)}, as the bits of its float32 state tensors (torch 1.13, whose single-tensor path is
     * upstream's): float32(0.05 / (1 + 0.1*0.05*t)^0.5) and float32(1 / max(1, t - 2.5)).
     */
    static final int[] TORCH_ETA = {1028409912, 1028376731, 1028343796, 1028311103, 1028278650, 1028246434,
        1028214451};
    static final int[] TORCH_MU = {1065353216, 1065353216, 1065353216, 1059760811, 1053609165, 1049774373,
        1046711865};

    static float[] values(int n, SplittableRandom random) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return v;
    }

    @Test
    void asgdKeepsEtaAndMuAsPyTorchsFloat32() {
        try (Optimizer kernel = Optimizer.create(device, ASGD, 5);
             Optimizer reference = Optimizer.reference(ASGD, 5)) {
            for (Optimizer opt : new Optimizer[] {kernel, reference}) {
                Map<String, Float> initial = opt.stateDict().params().get(0).scalarState();
                assertEquals(List.of("eta", "mu"), List.copyOf(initial.keySet()));
                assertEquals(0.05f, initial.get("eta"));
                assertEquals(1f, initial.get("mu"));
                SplittableRandom random = new SplittableRandom(3);
                opt.writeParameters(values(5, random));
                for (int t = 0; t < TORCH_ETA.length; t++) {
                    opt.writeGradients(values(5, random));
                    opt.step();
                    Map<String, Float> s = opt.stateDict().params().get(0).scalarState();
                    assertEquals(TORCH_ETA[t], Float.floatToRawIntBits(s.get("eta")), "eta after step " + (t + 1));
                    assertEquals(TORCH_MU[t], Float.floatToRawIntBits(s.get("mu")), "mu after step " + (t + 1));
                }
            }
        }
    }

    /** As PyTorch creates state at the first step, eta starts at the lr of that step. */
    @Test
    void etaStartsAtTheLrOfTheFirstStep() {
        OptimizerConfig later = ASGD.with("lr", 0.02);
        try (Optimizer changed = Optimizer.create(device, ASGD, 5);
             Optimizer direct = Optimizer.create(device, later, 5);
             Optimizer fresh = Optimizer.reference(ASGD, 5);
             Optimizer loaded = Optimizer.reference(ASGD, 5)) {
            changed.setConfig(later);
            // A snapshot taken before any step leaves eta to the first step too.
            loaded.loadStateDict(fresh.stateDict());
            loaded.setConfig(later);
            assertEquals(0.02f, changed.stateDict().params().get(0).scalarState().get("eta"));
            SplittableRandom random = new SplittableRandom(5);
            float[] p0 = values(5, random);
            for (Optimizer opt : new Optimizer[] {changed, direct, loaded}) {
                opt.writeParameters(p0);
            }
            for (int t = 1; t <= 4; t++) {
                float[] g = values(5, random);
                for (Optimizer opt : new Optimizer[] {changed, direct, loaded}) {
                    opt.writeGradients(g);
                    opt.step();
                }
            }
            float[] expected = new float[5];
            direct.readParameters(expected);
            for (Optimizer opt : new Optimizer[] {changed, loaded}) {
                float[] p = new float[5];
                opt.readParameters(p);
                assertArrayEquals(expected, p);
                assertEquals(direct.stateDict().params().get(0).scalarState(),
                        opt.stateDict().params().get(0).scalarState());
            }
        }
    }

    /**
     * Two tensors of one group at the same step count with different eta (one took its first
     * step at another lr) are stepped apart, each as its own optimizer: one launch would give
     * both the same eta.
     */
    @Test
    void tensorsWithEqualStepsButOtherScalarStateRunApart() {
        OptimizerConfig[] lrs = {ASGD, ASGD.with("lr", 0.02), ASGD.with("lr", 0.02)};
        for (boolean onDevice : new boolean[] {true, false}) {
            ParameterSet.Builder b = ParameterSet.builder().group(ASGD).tensor("a", 4).tensor("b", 3);
            try (ParameterSet set = onDevice ? b.build(device) : b.buildReference();
                 Optimizer a = Optimizer.reference(ASGD, 4);
                 Optimizer c = Optimizer.reference(ASGD, 3)) {
                SplittableRandom random = new SplittableRandom(9);
                float[] pa = values(4, random);
                float[] pb = values(3, random);
                set.writeParameters("a", pa);
                set.writeParameters("b", pb);
                a.writeParameters(pa);
                c.writeParameters(pb);
                for (int step = 1; step <= 3; step++) {
                    set.setConfig(0, lrs[step - 1]);
                    a.setConfig(lrs[step - 1]);
                    c.setConfig(lrs[step - 1]);
                    // Step 1: only a; step 2: only b; step 3: both, each at its second step.
                    float[] ga = values(4, random);
                    float[] gb = values(3, random);
                    if (step != 2) {
                        set.writeGradients("a", ga);
                        a.writeGradients(ga);
                        a.step();
                    } else {
                        set.clearGradient("a");
                    }
                    if (step != 1) {
                        set.writeGradients("b", gb);
                        c.writeGradients(gb);
                        c.step();
                    } else {
                        set.clearGradient("b");
                    }
                    set.step();
                }
                assertEquals(2, set.stepCount("a"));
                assertEquals(2, set.stepCount("b"));
                for (Object[] t : new Object[][] {{"a", a}, {"b", c}}) {
                    String name = (String) t[0];
                    Optimizer own = (Optimizer) t[1];
                    float[] expected = new float[set.size(name)];
                    float[] actual = new float[set.size(name)];
                    own.readParameters(expected);
                    set.readParameters(name, actual);
                    assertArrayEquals(expected, actual, name);
                    own.readState("ax", expected);
                    set.readState(name, "ax", actual);
                    assertArrayEquals(expected, actual, name + " ax");
                }
                List<StateDict.Param> params = set.stateDict().params();
                assertEquals(a.stateDict().params().get(0).scalarState(), params.get(0).scalarState());
                assertEquals(c.stateDict().params().get(0).scalarState(), params.get(1).scalarState());
            }
        }
    }
}
