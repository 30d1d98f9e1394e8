package org.clopt.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.clopt.Dtype;
import org.clopt.GradScaler;
import org.clopt.OptimizerConfig;
import org.clopt.Precision;
import picocli.CommandLine.Option;

/**
 * Mixed precision: the type of the parameters and gradients, fp32 master weights, stochastic
 * rounding, and loss scaling with a GradScaler.
 */
final class PrecisionOptions {
    /** GradScaler's arguments under PyTorch's names, with what each allows. */
    private static final Map<String, String> SCALER_KEYS = Map.of(
            "init_scale", "> 0 and a finite float",
            "growth_factor", "> 1.0 and finite",
            "backoff_factor", "in (0, 1)",
            "growth_interval", "an integer in [1, " + Integer.MAX_VALUE + "]",
            "enabled", "True, False, true or false");
    private static final List<String> SCALER_ORDER = List.of("init_scale", "growth_factor", "backoff_factor",
            "growth_interval", "enabled");
    /** A decimal number as a Python user types it: no hex, no type suffix. */
    private static final String NUMBER = "[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?";

    @Option(names = "--param-dtype", paramLabel = "fp32|bf16|fp16", defaultValue = "fp32",
            description = "The type of the parameters and gradients (default fp32): P0 and every "
                + "gradient row are rounded to it, to nearest even.")
    String paramDtype;

    @Option(names = "--master-weights", paramLabel = "true|false",
            description = "Keep fp32 master weights beside bf16 or fp16 parameters (default true); "
                + "false updates the 16-bit parameters themselves, in fp32, and rounds them back.")
    String masterWeights;

    @Option(names = "--stochastic-rounding", paramLabel = "true|false",
            description = "Round the parameters stochastically (default false): bf16 with "
                + "--master-weights false only; seeded with --seed.")
    String stochasticRounding;

    @Option(names = "--seed", paramLabel = "X",
            description = "The seed of --stochastic-rounding true (default 0): the same seed gives "
                + "the same bits on every device.")
    Long seed;

    @Option(names = "--grad-scaler", paramLabel = "KEY=VALUE,...",
            description = "Loss scaling as torch.cuda.amp.GradScaler, with its arguments under "
                + "PyTorch's names (init_scale, growth_factor, backoff_factor, growth_interval, "
                + "enabled; '' for its defaults), e.g. init_scale=1024,growth_interval=100: GRADS.npy "
                + "then holds scaled gradients. A step whose unscaled gradients hold Inf or NaN is "
                + "skipped; the summary gives the steps skipped and the final scale.")
    String gradScaler;

    /** The checked precision; the probe also refuses an algorithm it does not support. */
    Precision precision(OptimizerConfig config) {
        Dtype dtype;
        try {
            dtype = Dtype.parse(paramDtype);
        } catch (IllegalArgumentException e) {
            throw new BadInputException("--param-dtype " + paramDtype + ": must be fp32, bf16 or fp16", e);
        }
        Boolean master = bool("--master-weights", masterWeights);
        Boolean stochastic = bool("--stochastic-rounding", stochasticRounding);
        if (dtype == Dtype.FP32 && master != null) {
            throw new BadInputException("--master-weights " + masterWeights + ": applies to --param-dtype bf16 or "
                    + "fp16 (fp32 parameters are their own master weights)");
        }
        boolean withMaster = dtype != Dtype.FP32 && (master == null || master);
        boolean rounds = stochastic != null && stochastic;
        if (rounds && dtype != Dtype.BF16) {
            throw new BadInputException("--stochastic-rounding true: applies to --param-dtype bf16, not "
                    + dtype.cliName());
        }
        if (rounds && withMaster) {
            throw new BadInputException("--stochastic-rounding true: rounds bf16 parameters that have no "
                    + "master weights; add --master-weights false");
        }
        if (seed != null && !rounds) {
            throw new BadInputException("--seed " + seed + ": applies only with --stochastic-rounding true");
        }
        Precision precision = Precision.of(dtype).withMasterWeights(withMaster);
        if (rounds) {
            precision = precision.withStochasticRounding(seed == null ? 0 : seed);
        }
        // Precision's own rules: lamb's per-tensor update rounds to nearest only; adafactor keeps master weights.
        String unsupported = precision.unsupportedReason(config);
        if (unsupported != null) {
            boolean byRounding = Precision.of(dtype).withMasterWeights(withMaster).supports(config);
            throw new BadInputException((byRounding ? "--stochastic-rounding true: " : "--param-dtype "
                    + dtype.cliName() + ": ") + config.algorithm() + " with " + precision.shortName() + ": "
                    + unsupported);
        }
        return precision;
    }

    /** The scaler's arguments, checked; null without --grad-scaler. */
    GradScaler.Builder scaler() {
        if (gradScaler == null) {
            return null;
        }
        GradScaler.Builder b = GradScaler.builder();
        Map<String, String> given = new LinkedHashMap<>();
        for (String item : gradScaler.isEmpty() ? new String[0] : gradScaler.split(",", -1)) {
            int eq = item.indexOf('=');
            if (eq < 0) {
                throw new BadInputException("--grad-scaler '" + item + "': each item must be KEY=VALUE (keys: "
                        + String.join(", ", SCALER_ORDER) + ")");
            }
            String key = item.substring(0, eq).strip();
            String value = item.substring(eq + 1).strip();
            if (!SCALER_KEYS.containsKey(key)) {
                throw new BadInputException("--grad-scaler: unknown key '" + key + "' (keys: "
                        + String.join(", ", SCALER_ORDER) + ")");
            }
            if (given.put(key, value) != null) {
                throw new BadInputException("--grad-scaler: " + key + " given twice");
            }
            try {
                switch (key) {
                    case "init_scale" -> b.initScale(number(key, value));
                    case "growth_factor" -> b.growthFactor(number(key, value));
                    case "backoff_factor" -> b.backoffFactor(number(key, value));
                    case "growth_interval" -> b.growthInterval(integer(key, value));
                    default -> b.enabled(switch (value) {
                        case "True", "true" -> true;
                        case "False", "false" -> false;
                        default -> throw invalid(key, value);
                    });
                }
            } catch (IllegalArgumentException e) {
                throw new BadInputException("--grad-scaler: " + e.getMessage(), e);
            }
        }
        return b;
    }

    private static double number(String key, String value) {
        if (!value.matches(NUMBER)) {
            throw invalid(key, value);
        }
        return Double.parseDouble(value);
    }

    private static long integer(String key, String value) {
        if (!value.matches("[+-]?[0-9]+")) {
            throw invalid(key, value);
        }
        try {
            return Long.parseLong(value);
        } catch (NumberFormatException e) {
            throw invalid(key, value);
        }
    }

    private static IllegalArgumentException invalid(String key, String value) {
        return new IllegalArgumentException("invalid " + key + ": '" + value + "' (must be " + SCALER_KEYS.get(key)
                + ")");
    }

    /** true, false, or null when not given. */
    private static Boolean bool(String flag, String value) {
        if (value == null) {
            return null;
        }
        return switch (value) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new BadInputException(flag + " " + value + ": must be true or false");
        };
    }

    /**
     * The modes a {@code --precision MODE,...|all} of bench and verify names, each once, in
     * order: {@link Precision#shortName() short names}, or all of them.
     */
    static List<Precision> modes(List<String> names) {
        List<Precision> list = new java.util.ArrayList<>();
        for (String name : names) {
            try {
                list.addAll(name.equals("all") ? Precision.SHORT_NAMED : List.of(Precision.ofShortName(name)));
            } catch (IllegalArgumentException e) {
                throw new BadInputException("--precision: " + e.getMessage() + " or all", e);
            }
        }
        return list.stream().distinct().toList();
    }
}
