package org.clopt;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code torch.optim.NAdam}: Adam with Nesterov momentum and a momentum schedule.
 *
 * <pre>
 * mu_product = 1
 * for t = 1, 2, ...
 *   g = -grad if maximize else grad
 *   if decoupled_weight_decay:  p = p * (1 - lr * weight_decay)
 *   elif weight_decay != 0:     g = g + weight_decay * p
 *   mu_t    = b1 * (1 - 0.5 * 0.96^(t * momentum_decay))
 *   mu_next = b1 * (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
 *   mu_product = mu_product * mu_t
 *   m = b1 * m + (1 - b1) * g
 *   v = b2 * v + (1 - b2) * g * g
 *   denom = sqrt(v) / sqrt(1 - b2^t) + eps
 *   p = p - lr * (1 - mu_t) / (1 - mu_product) * g / denom
 *   p = p - lr * mu_next / (1 - mu_product * mu_next) * m / denom
 * </pre>
 *
 * <p>The update is PyTorch's current one (its multi-tensor path in 1.13). The single-tensor path
 * of PyTorch 1.13 multiplies one mu too many into the second step size; clopt does not copy that.
 * mu_product is kept in float, as PyTorch keeps it, and the step scalars are computed from it in
 * double. maximize and decoupled_weight_decay follow newer PyTorch releases.
 *
 * <p>State: {@code exp_avg} m, {@code exp_avg_sq} v, plus the scalar {@code mu_product}.
 * Defaults: lr 2e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 0, momentum_decay 4e-3.
 */
public final class NAdam extends OptimizerConfig {
    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final double momentumDecay;
    private final boolean decoupledWeightDecay;
    private final boolean maximize;

    private NAdam(Builder b) {
        lr = Check.atLeastZero("lr", b.lr);
        beta1 = Check.unitOpen("betas[0]", b.beta1);
        beta2 = Check.unitOpen("betas[1]", b.beta2);
        eps = Check.atLeastZero("eps", b.eps);
        weightDecay = Check.atLeastZero("weight_decay", b.weightDecay);
        momentumDecay = Check.atLeastZero("momentum_decay", b.momentumDecay);
        decoupledWeightDecay = b.decoupledWeightDecay;
        maximize = b.maximize;
    }

    public static Builder builder() {
        return new Builder();
    }

    static NAdam from(Settings s) {
        double[] betas = s.pair("betas", 0.9, 0.999);
        return builder()
                .lr(s.number("lr", 2e-3))
                .betas(betas[0], betas[1])
                .eps(s.number("eps", 1e-8))
                .weightDecay(s.number("weight_decay", 0.0))
                .momentumDecay(s.number("momentum_decay", 4e-3))
                .decoupledWeightDecay(s.flag("decoupled_weight_decay", false))
                .maximize(s.flag("maximize", false))
                .build();
    }

    public double lr() {
        return lr;
    }

    public double beta1() {
        return beta1;
    }

    public double beta2() {
        return beta2;
    }

    public double eps() {
        return eps;
    }

    public double weightDecay() {
        return weightDecay;
    }

    public double momentumDecay() {
        return momentumDecay;
    }

    public boolean decoupledWeightDecay() {
        return decoupledWeightDecay;
    }

    public boolean maximize() {
        return maximize;
    }

    @Override
    public String algorithm() {
        return "nadam";
    }

    @Override
    public List<String> stateNames() {
        return List.of("exp_avg", "exp_avg_sq");
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("betas", List.of(beta1, beta2));
        m.put("eps", eps);
        m.put("weight_decay", weightDecay);
        m.put("momentum_decay", momentumDecay);
        m.put("decoupled_weight_decay", decoupledWeightDecay);
        m.put("maximize", maximize);
        return m;
    }

    @Override
    String buildOptions() {
        return flag(maximize, "MAXIMIZE");
    }

    private double mu(long t) {
        return beta1 * (1 - 0.5 * Math.pow(0.96, t * momentumDecay));
    }

    @Override
    float nextMuProduct(long t, float muProduct) {
        // float times float is exact in double: this is the correctly rounded float product.
        return (float) (muProduct * (double) (float) mu(t));
    }

    @Override
    float[] scalars(long t, float muProduct) {
        double muT = mu(t);
        double muNext = mu(t + 1);
        double biasCorrection2 = 1 - Math.pow(beta2, t);
        float l2 = decoupledWeightDecay ? 0f : (float) weightDecay;
        float decayFactor = decoupledWeightDecay ? (float) (1 - lr * weightDecay) : 1f;
        return new float[] {l2, decayFactor, (float) beta1, (float) (1 - beta1), (float) beta2,
            (float) (1 - beta2), (float) Math.sqrt(biasCorrection2), (float) eps,
            (float) -(lr * (1 - muT) / (1 - muProduct)),
            (float) -(lr * muNext / (1 - muProduct * muNext))};
    }

    @Override
    void referenceStep(float[] p, float[] grad, float[][] state, float[] s, int from, int to) {
        float l2 = s[0];
        float decayFactor = s[1];
        float b1 = s[2];
        float oneMinusB1 = s[3];
        float b2 = s[4];
        float oneMinusB2 = s[5];
        float bc2Sqrt = s[6];
        float epsF = s[7];
        float negGradStep = s[8];
        float negMomentStep = s[9];
        float[] expAvg = state[0];
        float[] expAvgSq = state[1];
        for (int i = from; i < to; i++) {
            float pi = p[i] * decayFactor;
            float g = prologue(grad[i], pi, maximize, l2);
            float m = expAvg[i] * b1 + oneMinusB1 * g;
            float v = expAvgSq[i] * b2 + oneMinusB2 * g * g;
            expAvg[i] = m;
            expAvgSq[i] = v;
            float denom = (float) Math.sqrt(v) / bc2Sqrt + epsF;
            float q = pi + negGradStep * g / denom;
            p[i] = q + negMomentStep * m / denom;
        }
    }

    /** Builds an {@link NAdam}, starting from PyTorch's defaults. */
    public static final class Builder {
        private double lr = 2e-3;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double weightDecay;
        private double momentumDecay = 4e-3;
        private boolean decoupledWeightDecay;
        private boolean maximize;

        private Builder() {
        }

        public Builder lr(double value) {
            lr = value;
            return this;
        }

        public Builder betas(double first, double second) {
            beta1 = first;
            beta2 = second;
            return this;
        }

        public Builder eps(double value) {
            eps = value;
            return this;
        }

        public Builder weightDecay(double value) {
            weightDecay = value;
            return this;
        }

        public Builder momentumDecay(double value) {
            momentumDecay = value;
            return this;
        }

        public Builder decoupledWeightDecay(boolean value) {
            decoupledWeightDecay = value;
            return this;
        }

        public Builder maximize(boolean value) {
            maximize = value;
            return this;
        }

        /** @throws IllegalArgumentException naming the first invalid hyperparameter */
        public NAdam build() {
            return new NAdam(this);
        }
    }
}
