package org.clopt.cli;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import org.clopt.Device;
import org.clopt.Precision;
import org.clopt.tools.Conformance;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code verify}: the conformance check of every kernel against the CPU reference, on this device. */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Checks every optimizer kernel against the CPU reference on the selected "
            + "OpenCL device, as the test suite does: every option set x every size x dense, "
            + "sparse and special-valued (NaN, infinities, subnormals) gradients, comparing the "
            + "parameters and every state array after each step.",
            "Prints one line per option set with the worst error in ulp per array, the "
                + "allowance and PASS or FAIL (with the first element out of tolerance), then "
                + "'N passed, M failed' and the device. Exit code 0 if all pass, 1 if any fails, "
                + "2 on bad input."},
        sortOptions = false)
final class VerifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    // The defaults are Conformance.DEFAULT_SIZES and DEFAULT_STEPS, written out because
    // annotations need constants; DevicesAndVerifyCommandTest holds them equal.
    @Option(names = "--sizes", split = ",", paramLabel = "N", defaultValue = "1,3,1023,4097,1048576",
            description = "Comma-separated numbers of parameters to check each option set on "
                + "(default: ${DEFAULT-VALUE}). Special-valued gradients run only on sizes below "
                + "1048576.")
    List<Integer> sizes;

    @Option(names = "--steps", paramLabel = "T", defaultValue = "7",
            description = "Optimizer steps per check, each compared (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--precision", paramLabel = "MODE", split = ",", defaultValue = "fp32",
            description = "Check the kernels in these precisions: fp32 (default), bf16, fp16 (with "
                + "master weights), bf16-no-master, fp16-no-master, bf16-stochastic; or all. 16-bit "
                + "parameters are compared in steps of their type.")
    List<String> precisionNames;

    @Mixin
    DeviceOption deviceOption;

    @Override
    public Integer call() {
        List<Integer> checkedSizes = sizes.stream().distinct().collect(Collectors.toList());
        for (int n : checkedSizes) {
            if (n < 1) {
                throw new BadInputException("--sizes " + n + ": every size must be at least 1");
            }
        }
        if (steps < 1) {
            throw new BadInputException("--steps " + steps + ": must be at least 1");
        }
        PrintWriter out = spec.commandLine().getOut();
        List<Conformance.Case> cases = Conformance.cases(checkedSizes, PrecisionOptions.modes(precisionNames));
        // One line per option set and precision; the matrix is ordered by them.
        Map<String, List<Conformance.Case>> bySet = cases.stream().collect(Collectors.groupingBy(
                c -> c.options() + (c.precision().equals(Precision.FP32) ? "" : " [" + c.precision().shortName() + "]"),
                LinkedHashMap::new, Collectors.toList()));
        // A rewritten counter is noise in a log file or a pipe, so only on a terminal.
        Progress progress = new Progress(System.console() != null ? spec.commandLine().getErr() : null,
                cases.size());
        int passed = 0;
        long start = System.nanoTime();
        String device;
        try (Device d = deviceOption.open()) {
            device = d.toString();
            for (Map.Entry<String, List<Conformance.Case>> set : bySet.entrySet()) {
                if (verify(d, set.getKey(), set.getValue(), progress, out)) {
                    passed++;
                }
            }
        } finally {
            // An error message must not land at the end of a half-drawn counter.
            progress.clear();
        }
        int failed = bySet.size() - passed;
        out.println(passed + " passed, " + failed + " failed");
        out.printf(Locale.ROOT, "on %s: %d checks (sizes %s, %d steps) in %.1f s%n", device, cases.size(),
                checkedSizes.stream().map(String::valueOf).collect(Collectors.joining(",")), steps,
                (System.nanoTime() - start) / 1e9);
        out.flush();
        return failed == 0 ? 0 : 1;
    }

    /** Runs one option set's cases, prints its line, says if it passed. */
    private boolean verify(Device device, String options, List<Conformance.Case> cases,
                           Progress progress, PrintWriter out) {
        Map<String, Double> worst = new LinkedHashMap<>();
        double allowed = Conformance.allowedUlps(cases.get(0).options().config().algorithm());
        String failure = null;
        for (Conformance.Case c : cases) {
            progress.next(c.toString());
            // The case's own seed, so a failure here reproduces as ConformanceTest's case of this name.
            Conformance.Result r = Conformance.check(device, c, steps);
            r.maxUlps().forEach((array, ulps) -> worst.merge(array, ulps, Math::max));
            if (failure == null && !r.passed()) {
                failure = "n=" + c.size() + ", " + c.gradients() + ": " + r.firstFailure();
            }
        }
        progress.clear();
        String ulps = worst.entrySet().stream()
                .map(e -> e.getKey() + " " + ulps(e.getValue()))
                .collect(Collectors.joining(", "));
        out.printf(Locale.ROOT, "%s  %s: worst ulp %s (allowed %.0f)%n",
                failure == null ? "PASS" : "FAIL", options, ulps, allowed);
        if (failure != null) {
            out.println("      first failure: " + failure);
        }
        out.flush();
        return failure == null;
    }

    private static String ulps(double u) {
        return Double.isInfinite(u) ? "inf" : String.format(Locale.ROOT, "%.1f", u);
    }

    /** One stderr line rewritten in place with '\r'; does nothing without a terminal. */
    private static final class Progress {
        private final PrintWriter err;
        private final int total;
        private int done;
        private int shown;

        Progress(PrintWriter err, int total) {
            this.err = err;
            this.total = total;
        }

        void next(String what) {
            done++;
            if (err == null) {
                return;
            }
            String line = "verify: " + done + "/" + total + " " + what;
            // A line that wraps cannot be rewritten with '\r'.
            line = line.substring(0, Math.min(line.length(), 79));
            err.print("\r" + line + " ".repeat(Math.max(0, shown - line.length())));
            err.flush();
            shown = line.length();
        }

        void clear() {
            if (err == null || shown == 0) {
                return;
            }
            err.print("\r" + " ".repeat(shown) + "\r");
            err.flush();
            shown = 0;
        }
    }
}
