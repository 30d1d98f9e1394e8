package org.clopt.schedule;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.clopt.Adam;
import org.clopt.OptimizerConfig;
import org.clopt.ParameterSet;
import org.clopt.Sgd;

/**
 * The cases recorded from PyTorch by scripts/schedules.py, and how to build each on a CPU
 * reference set: through the text specs where it can, the Java API otherwise.
 */
final class GoldenSchedules {
    /** One recorded case: how to build it and what PyTorch gave, per group, at each epoch. */
    record Case(String name, String set, List<String> specs, List<Integer> milestones, String java,
                double[] metrics, List<double[]> lrs, List<double[]> momentums) {
        @Override
        public String toString() {
            return name;
        }

        int steps() {
            return lrs.get(0).length - 1;
        }
    }

    /** The Java side of the cases that need functions or a metric, by their "java" key. */
    static final Map<String, Function<ParameterSet, Object>> JAVA = new LinkedHashMap<>();

    static {
        JAVA.put("LambdaLR pow095", s -> new LambdaLR(s, e -> Py.pow(0.95, e)));
        JAVA.put("LambdaLR doc", s -> new LambdaLR(s, List.of(e -> e / 30, e -> Py.pow(0.95, e))));
        JAVA.put("LambdaLR inverse", s -> new LambdaLR(s, e -> 1.0 / (1.0 + e)));
        JAVA.put("MultiplicativeLR 0.95", s -> new MultiplicativeLR(s, e -> 0.95));
        JAVA.put("MultiplicativeLR lists", s -> new MultiplicativeLR(s, List.of(e -> 0.99, e -> e % 10 != 0 ? 1.0 : 0.5)));
        JAVA.put("CyclicLR scale_fn cycle", s -> CyclicLR.builder().baseLr(0.001).maxLr(0.1).stepSizeUp(40)
                .scaleFn(x -> 1.0 / x).build(s));
        JAVA.put("CyclicLR scale_fn iterations", s -> CyclicLR.builder().baseLr(1e-4).maxLr(1e-3).stepSizeUp(25)
                .stepSizeDown(75).scaleFn(x -> 1.0 / (1.0 + x / 500.0)).scaleMode("iterations").build(s));
        JAVA.put("SequentialLR multiplicative", s -> new SequentialLR(s,
                List.of(new LinearLR(s, 0.2, 1.0, 50), new MultiplicativeLR(s, e -> 0.99)), List.of(50)));
        JAVA.put("SequentialLR chained first", s -> new SequentialLR(s,
                List.of(new ChainedScheduler(s, List.of(new ConstantLR(s, 0.5, 10), new ExponentialLR(s, 0.99))),
                        new CosineAnnealingLR(s, 100)), List.of(200)));
        JAVA.put("ReduceLROnPlateau default", ReduceLROnPlateau::new);
        JAVA.put("ReduceLROnPlateau max abs", s -> ReduceLROnPlateau.builder().mode("max").factor(0.5).patience(3)
                .threshold(0.01).thresholdMode("abs").cooldown(5).minLr(0.001, 0.0005).build(s));
        JAVA.put("ReduceLROnPlateau eps", s -> ReduceLROnPlateau.builder().factor(0.5).patience(0).threshold(0.0)
                .thresholdMode("abs").minLr(1e-4).eps(1e-5).build(s));
        JAVA.put("ReduceLROnPlateau rel cooldown", s -> ReduceLROnPlateau.builder().factor(0.7).patience(2)
                .threshold(0.05).cooldown(2).minLr(1e-3).build(s));
        JAVA.put("ReduceLROnPlateau max rel", s -> ReduceLROnPlateau.builder().mode("max").patience(5)
                .threshold(0.02).build(s));
    }

    private GoldenSchedules() {
    }

    static List<Case> cases() {
        InputStream in = GoldenSchedules.class.getResourceAsStream("schedules.txt");
        if (in == null) {
            throw new IllegalStateException("schedules.txt is missing: run scripts/schedules.py");
        }
        List<Case> cases = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            Map<String, String> fields = new LinkedHashMap<>();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (line.startsWith("#") || line.isBlank()) {
                    continue;
                }
                if (line.equals("end")) {
                    cases.add(toCase(fields));
                    fields.clear();
                    continue;
                }
                int space = line.indexOf(' ');
                fields.put(line.substring(0, space), line.substring(space + 1));
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return cases;
    }

    private static Case toCase(Map<String, String> f) {
        List<double[]> lrs = new ArrayList<>();
        List<double[]> momentums = new ArrayList<>();
        for (int g = 0; f.containsKey("lr" + g); g++) {
            lrs.add(values(f.get("lr" + g)));
            if (f.containsKey("momentum" + g)) {
                momentums.add(values(f.get("momentum" + g)));
            }
        }
        List<String> specs = f.containsKey("spec") ? Arrays.stream(f.get("spec").split(" \\| ")).toList() : null;
        List<Integer> milestones = f.containsKey("milestones")
                ? Arrays.stream(f.get("milestones").split(" ")).map(Integer::valueOf).toList() : null;
        return new Case(f.get("case"), f.get("set"), specs, milestones, f.get("java"),
                f.containsKey("metrics") ? values(f.get("metrics")) : null, lrs, momentums.isEmpty() ? null : momentums);
    }

    /** Python reprs, with "x*n" for n equal values. */
    static double[] values(String text) {
        List<Double> values = new ArrayList<>();
        for (String token : text.split(" ")) {
            int star = token.indexOf('*');
            String repr = star < 0 ? token : token.substring(0, star);
            double v = repr.equals("nan") ? Double.NaN : repr.equals("inf") ? Double.POSITIVE_INFINITY
                    : repr.equals("-inf") ? Double.NEGATIVE_INFINITY : Double.parseDouble(repr);
            int n = star < 0 ? 1 : Integer.parseInt(token.substring(star + 1));
            for (int i = 0; i < n; i++) {
                values.add(v);
            }
        }
        return values.stream().mapToDouble(Double::doubleValue).toArray();
    }

    /** The parameter sets of scripts/schedules.py: SGD with momentum, Adam, two SGD groups. */
    static ParameterSet set(String kind) {
        ParameterSet.Builder b = ParameterSet.builder();
        switch (kind) {
            case "sgd":
                b.group(Sgd.momentumBuilder().lr(0.1).momentum(0.9).build()).tensor("w", 1);
                break;
            case "adam":
                b.group(Adam.builder().lr(1e-3).betas(0.9, 0.999).build()).tensor("w", 1);
                break;
            case "two":
                b.group(Sgd.momentumBuilder().lr(0.1).momentum(0.9).build()).tensor("w", 1)
                        .group(Sgd.momentumBuilder().lr(0.01).momentum(0.8).build()).tensor("v", 1);
                break;
            default:
                throw new IllegalArgumentException(kind);
        }
        return b.buildReference();
    }

    /** The case's scheduler on {@code set}: an LRScheduler or a ReduceLROnPlateau. */
    static Object scheduler(Case c, ParameterSet set) {
        if (c.java() != null) {
            return JAVA.get(c.java()).apply(set);
        }
        return Schedulers.of(set, c.specs(), c.milestones());
    }

    static void step(Object scheduler, Case c, int t) {
        if (scheduler instanceof ReduceLROnPlateau p) {
            p.step(c.metrics()[t]);
        } else {
            ((LRScheduler) scheduler).step();
        }
    }

    static double momentum(OptimizerConfig config) {
        return config.hyperparameters().containsKey("betas") ? config.pair("betas", 0) : config.number("momentum");
    }

    /**
     * Records into {@code into[0][g]} (lr) and {@code into[1][g]} (momentum or betas[0]) each
     * group's values at epoch {@code from}, where the scheduler is, then after each step up to
     * the case's last epoch.
     */
    static double[][][] run(Case c, ParameterSet set, Object scheduler, int from, double[][][] into) {
        for (int t = from; t <= c.steps(); t++) {
            if (t > from) {
                step(scheduler, c, t - 1);
            }
            for (int g = 0; g < set.groupCount(); g++) {
                into[0][g][t] = set.config(g).lr();
                into[1][g][t] = momentum(set.config(g));
            }
            if (scheduler instanceof LRScheduler s && !java.util.Arrays.equals(s.getLastLr(), column(into[0], t))) {
                throw new AssertionError(c + ": getLastLr() " + java.util.Arrays.toString(s.getLastLr())
                        + " is not the groups' lr at epoch " + t);
            }
        }
        return into;
    }

    static double[] column(double[][] rows, int t) {
        double[] c = new double[rows.length];
        for (int g = 0; g < rows.length; g++) {
            c[g] = rows[g][t];
        }
        return c;
    }

    static double[][][] record(Case c) {
        try (ParameterSet set = set(c.set())) {
            return run(c, set, scheduler(c, set), 0, new double[2][set.groupCount()][c.steps() + 1]);
        }
    }
}
