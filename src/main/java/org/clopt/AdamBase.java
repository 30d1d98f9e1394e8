package org.clopt;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What Adam and AdamW share: hyperparameters, state, per-step scalars and the moment update.
 * They differ only in how weight decay enters (L2 in the gradient versus decoupled).
 */
abstract sealed class AdamBase extends OptimizerConfig permits Adam, AdamW {
    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private final boolean amsgrad;
    private final boolean maximize;

    AdamBase(Builder<?, ?> b) {
        lr = Check.atLeastZero("lr", b.lr);
        beta1 = Check.unitOpen("betas[0]", b.beta1);
        beta2 = Check.unitOpen("betas[1]", b.beta2);
        eps = Check.atLeastZero("eps", b.eps);
        weightDecay = Check.atLeastZero("weight_decay", b.weightDecay);
        amsgrad = b.amsgrad;
        maximize = b.maximize;
    }

    static <B extends Builder<B, ?>> B read(Settings s, B b, double defaultWeightDecay) {
        double[] betas = s.pair("betas", 0.9, 0.999);
        return b.lr(s.number("lr", 1e-3))
                .betas(betas[0], betas[1])
                .eps(s.number("eps", 1e-8))
                .weightDecay(s.number("weight_decay", defaultWeightDecay))
                .amsgrad(s.flag("amsgrad", false))
                .maximize(s.flag("maximize", false));
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

    public boolean amsgrad() {
        return amsgrad;
    }

    public boolean maximize() {
        return maximize;
    }

    @Override
    public List<String> stateNames() {
        return amsgrad ? List.of("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
                : List.of("exp_avg", "exp_avg_sq");
    }

    @Override
    public Map<String, Object> hyperparameters() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lr", lr);
        m.put("betas", List.of(beta1, beta2));
        m.put("eps", eps);
        m.put("weight_decay", weightDecay);
        m.put("amsgrad", amsgrad);
        m.put("maximize", maximize);
        return m;
    }

    @Override
    final String buildOptions() {
        return flag(maximize, "MAXIMIZE") + flag(amsgrad, "AMSGRAD");
    }

    /** Adam: the L2 weight decay; AdamW: the factor 1 - lr * weight_decay. */
    abstract float decayScalar();

    @Override
    final float[] scalars(long t, float muProduct) {
        double biasCorrection1 = 1 - Math.pow(beta1, t);
        double biasCorrection2 = 1 - Math.pow(beta2, t);
        return new float[] {decayScalar(), (float) beta1, (float) (1 - beta1), (float) beta2,
            (float) (1 - beta2), (float) Math.sqrt(biasCorrection2), (float) eps,
            (float) -(lr / biasCorrection1)};
    }

    /**
     * One step where {@code decoupled} says whether s[0] multiplies p (AdamW) or enters the
     * gradient as L2 decay (Adam).
     */
    final void adamStep(boolean decoupled, float[] p, float[] grad, float[][] state, float[] s,
                        int from, int to) {
        float b1 = s[1];
        float oneMinusB1 = s[2];
        float b2 = s[3];
        float oneMinusB2 = s[4];
        float bc2Sqrt = s[5];
        float epsF = s[6];
        float negStepSize = s[7];
        float[] expAvg = state[0];
        float[] expAvgSq = state[1];
        for (int i = from; i < to; i++) {
            float pi = decoupled ? p[i] * s[0] : p[i];
            float g = prologue(grad[i], pi, maximize, decoupled ? 0f : s[0]);
            float m = expAvg[i] * b1 + oneMinusB1 * g;
            float v = expAvgSq[i] * b2 + oneMinusB2 * g * g;
            expAvg[i] = m;
            expAvgSq[i] = v;
            if (amsgrad) {
                v = nanMax(state[2][i], v);
                state[2][i] = v;
            }
            p[i] = pi + negStepSize * m / ((float) Math.sqrt(v) / bc2Sqrt + epsF);
        }
    }

    /** torch.maximum: NaN if either is NaN. */
    static float nanMax(float a, float b) {
        return a > b || Float.isNaN(a) ? a : b;
    }

    /** The builder both share, starting from PyTorch's defaults. */
    public abstract static class Builder<B extends Builder<B, C>, C extends AdamBase> {
        private double lr = 1e-3;
        private double beta1 = 0.9;
        private double beta2 = 0.999;
        private double eps = 1e-8;
        private double weightDecay;
        private boolean amsgrad;
        private boolean maximize;

        Builder(double weightDecay) {
            this.weightDecay = weightDecay;
        }

        abstract B self();

        public B lr(double value) {
            lr = value;
            return self();
        }

        public B betas(double first, double second) {
            beta1 = first;
            beta2 = second;
            return self();
        }

        public B eps(double value) {
            eps = value;
            return self();
        }

        public B weightDecay(double value) {
            weightDecay = value;
            return self();
        }

        public B amsgrad(boolean value) {
            amsgrad = value;
            return self();
        }

        public B maximize(boolean value) {
            maximize = value;
            return self();
        }

        /** @throws IllegalArgumentException naming the first invalid hyperparameter */
        public abstract C build();
    }
}
