package org.clopt.cli;

import com.google.gson.Gson;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.clopt.Device;
import org.clopt.DeviceInfo;
import org.clopt.DeviceSelector;
import org.clopt.OpenClUnavailableException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code devices}: lists the OpenCL devices and marks the one clopt uses by default. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = {"Lists every OpenCL platform and device the runtime sees, with the facts "
            + "that matter to clopt, and marks with * the device used by default "
            + "($CLOPT_DEVICE, else the first GPU, else the first device).",
            "P:D is the platform and device index that $CLOPT_DEVICE and --device-name accept. "
                + "CR DIV/SQRT: fp32 divide and sqrt can be correctly rounded, which makes the "
                + "kernels match the CPU reference bit for bit.",
            "If $CLOPT_DEVICE matches no device, the list is still printed, then one line on "
                + "stderr says why and the exit code is 2."},
        sortOptions = false)
final class DevicesCommand implements Callable<Integer> {
    private static final Gson GSON = new Gson();

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "One JSON object per device per line, sizes in bytes, "
            + "instead of the table.")
    boolean json;

    @Override
    public Integer call() {
        List<DeviceInfo> devices = Device.list();
        PrintWriter out = spec.commandLine().getOut();
        // Opening the device is the library's own choice, so the mark cannot drift from it;
        // a context and a queue are cheap, nothing is compiled.
        String notSelected = null;
        DeviceInfo selected = null;
        int tuned = 0;
        try (Device device = Device.open()) {
            selected = device.info();
            tuned = org.clopt.LaunchTuning.tunedCount(device);
        } catch (OpenClUnavailableException | IllegalArgumentException e) {
            // A bad $CLOPT_DEVICE is exactly when the list is needed, so print it anyway.
            String env = System.getenv(DeviceSelector.ENVIRONMENT_VARIABLE);
            notSelected = env == null || env.isBlank() ? e.getMessage()
                    : "$" + DeviceSelector.ENVIRONMENT_VARIABLE + " " + env + ": " + e.getMessage();
        }
        if (json) {
            for (DeviceInfo d : devices) {
                out.println(json(d, isSelected(d, selected)));
            }
        } else {
            table(out, devices, selected);
            if (selected != null) {
                // Where the work-group sizes come from: clopt tune's cache, or the rule.
                out.println("work-group sizes on the default device: " + (tuned == 0
                        ? "the rule (4096 on CPUs, 256 elsewhere); clopt tune measures them"
                        : "tuned for " + tuned + " step kernel" + (tuned == 1 ? "" : "s") + " (" + org.clopt.LaunchTuning.cacheFile()
                                + "), the rule for the others"));
            }
        }
        out.flush();
        if (notSelected != null) {
            throw new BadInputException(notSelected);
        }
        return 0;
    }

    private static boolean isSelected(DeviceInfo d, DeviceInfo selected) {
        return selected != null && d.platformIndex() == selected.platformIndex()
                && d.deviceIndex() == selected.deviceIndex();
    }

    private static void table(PrintWriter out, List<DeviceInfo> devices, DeviceInfo selected) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"", "P:D", "TYPE", "OPENCL", "UNITS", "MEMORY", "MAX ALLOC", "FP64",
            "FP16", "CR DIV/SQRT", "HOST MEM", "PLATFORM: DEVICE"});
        for (DeviceInfo d : devices) {
            rows.add(new String[] {isSelected(d, selected) ? "*" : "",
                d.platformIndex() + ":" + d.deviceIndex(), d.type(), openClVersion(d.version()),
                Long.toString(d.computeUnits()), bytes(d.globalMemoryBytes()),
                bytes(d.maxAllocationBytes()), yesNo(d.fp64()), yesNo(d.fp16()),
                yesNo(d.correctlyRoundedDivideSqrt()), d.hostUnifiedMemory() ? "shared" : "apart",
                d.qualifiedName()});
        }
        int[] width = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int c = 0; c < row.length; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < row.length; c++) {
                line.append(c == 0 ? "" : "  ").append(row[c]);
                if (c < row.length - 1) {
                    line.append(" ".repeat(width[c] - row[c].length()));
                }
            }
            out.println(line);
        }
        if (selected != null) {
            String how = System.getenv(DeviceSelector.ENVIRONMENT_VARIABLE);
            out.println("* used by default"
                    + (how == null || how.isBlank() ? " (the first GPU, else the first device)"
                        : " ($" + DeviceSelector.ENVIRONMENT_VARIABLE + "=" + how + ")")
                    + "; $" + DeviceSelector.ENVIRONMENT_VARIABLE
                    + " or --device-name P:D chooses another");
        }
    }

    /** "3.0" from "OpenCL 3.0 PoCL 5.0 ...", the whole string if it has another form. */
    static String openClVersion(String version) {
        String[] parts = version.trim().split("\\s+");
        return parts.length > 1 && parts[0].equals("OpenCL") ? parts[1] : version.trim();
    }

    /** Binary units, as drivers report them: "512 MiB", "15.6 GiB". */
    static String bytes(long bytes) {
        double mib = bytes / 1048576.0;
        return mib < 1024 ? String.format(Locale.ROOT, "%.0f MiB", mib)
                : String.format(Locale.ROOT, "%.1f GiB", mib / 1024);
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

    static String json(DeviceInfo d, boolean selected) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("index", d.platformIndex() + ":" + d.deviceIndex());
        m.put("platform_index", d.platformIndex());
        m.put("device_index", d.deviceIndex());
        m.put("platform", d.platformName());
        m.put("name", d.name());
        m.put("type", d.type());
        m.put("version", d.version());
        m.put("compute_units", d.computeUnits());
        m.put("global_memory_bytes", d.globalMemoryBytes());
        m.put("max_allocation_bytes", d.maxAllocationBytes());
        m.put("fp64", d.fp64());
        m.put("fp16", d.fp16());
        m.put("correctly_rounded_divide_sqrt", d.correctlyRoundedDivideSqrt());
        m.put("host_unified_memory", d.hostUnifiedMemory());
        m.put("selected", selected);
        return GSON.toJson(m);
    }
}
