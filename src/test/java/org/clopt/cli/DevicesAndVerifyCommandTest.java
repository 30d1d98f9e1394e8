package org.clopt.cli;

import static org.clopt.cli.Cli.rejected;
import static org.clopt.cli.Cli.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.clopt.Dtype;
import org.clopt.Precision;
import org.clopt.tools.Conformance;
import org.junit.jupiter.api.Test;

/**
 * {@code devices} lists the runtime's devices and marks the default one; {@code verify} runs the
 * conformance check and reports one line per option set; bad input exits 2 with one line.
 */
class DevicesAndVerifyCommandTest {
    @Test
    void devicesListsAtLeastOneAndMarksTheDefault() {
        Cli.Result r = run("devices");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
        List<String> lines = r.lines();
        assertTrue(lines.get(0).contains("P:D") && lines.get(0).contains("PLATFORM: DEVICE"), r.out());
        List<String> devices = lines.stream().filter(l -> l.matches("[* ] +\\d+:\\d+ .*")).toList();
        assertFalse(devices.isEmpty(), r.out());
        assertEquals(1, devices.stream().filter(l -> l.startsWith("*")).count(), r.out());
        assertTrue(lines.get(lines.size() - 2).startsWith("* used by default"), r.out());
        assertTrue(lines.get(lines.size() - 1).startsWith("work-group sizes on the default device: "), r.out());
    }

    @Test
    void devicesJsonIsOneObjectPerLine() {
        Cli.Result r = run("devices", "--json");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.lines();
        assertFalse(lines.isEmpty(), r.out());
        int selected = 0;
        for (String line : lines) {
            assertTrue(line.startsWith("{\"") && line.endsWith("}"), line);
            for (String key : new String[] {"index", "platform_index", "device_index", "platform",
                "name", "type", "version", "compute_units", "global_memory_bytes",
                "max_allocation_bytes", "fp64", "fp16", "correctly_rounded_divide_sqrt", "host_unified_memory",
                "selected"}) {
                assertTrue(line.contains("\"" + key + "\":"), key + " missing from " + line);
            }
            assertTrue(line.matches(".*\"type\":\"(GPU|CPU|ACCELERATOR|OTHER)\".*"), line);
            selected += line.contains("\"selected\":true") ? 1 : 0;
        }
        assertEquals(1, selected, r.out());
    }

    @Test
    void verifyPassesOnSmallSizes() {
        Cli.Result r = run("verify", "--sizes", "1,3,1023", "--steps", "3");
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals("", r.err());
        List<String> lines = r.lines();
        List<Conformance.OptionSet> sets = Conformance.optionSets();
        List<String> pass = lines.stream().filter(l -> l.startsWith("PASS  ")).toList();
        assertEquals(sets.size(), pass.size(), r.out());
        for (int i = 0; i < sets.size(); i++) {
            assertTrue(pass.get(i).startsWith("PASS  " + sets.get(i) + ": worst ulp param "), pass.get(i));
            assertTrue(pass.get(i).endsWith(String.format(java.util.Locale.ROOT, " (allowed %.0f)",
                    Conformance.allowedUlps(sets.get(i).config().algorithm()))), pass.get(i));
            for (String state : sets.get(i).config().stateKeys(sets.get(i).shape().of(3))) {
                assertTrue(pass.get(i).contains(", " + state + " "), state + " missing: " + pass.get(i));
            }
        }
        assertFalse(r.out().contains("FAIL"), r.out());
        assertTrue(lines.contains(sets.size() + " passed, 0 failed"), r.out());
        assertTrue(lines.get(lines.size() - 1).startsWith("on ")
                && lines.get(lines.size() - 1).contains(": " + 9 * sets.size() + " checks"), r.out());
    }

    @Test
    void verifyChecksSixteenBitPrecisions() {
        Cli.Result r = run("verify", "--sizes", "3,1023", "--steps", "2", "--precision", "bf16,fp16-no-master");
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> pass = r.lines().stream().filter(l -> l.startsWith("PASS  ")).toList();
        // adafactor runs in fp32 only: verify leaves it out of 16-bit modes.
        long expected = Conformance.optionSets().stream().filter(o -> Precision.of(Dtype.BF16).supports(o.config()))
                .count() + Conformance.optionSets().stream()
                .filter(o -> Precision.of(Dtype.FP16).withMasterWeights(false).supports(o.config())).count();
        assertEquals(expected, pass.size(), r.out());
        for (String line : pass) {
            assertTrue(line.contains(" [bf16]: worst ulp param (16-bit steps) ")
                    || line.contains(" [fp16-no-master]: worst ulp param (16-bit steps) "), line);
            assertEquals(line.contains("[bf16]"), line.contains(", master "), line);
        }
        assertTrue(r.lines().contains(pass.size() + " passed, 0 failed"), r.out());
    }

    @Test
    void verifyRejectsBadInput() {
        rejected(run("verify", "--precision", "fp8"), "--precision", "fp8");
        rejected(run("verify", "--sizes", "1,abc"), "--sizes", "abc");
        rejected(run("verify", "--sizes", "3,0"), "--sizes", "0");
        rejected(run("verify", "--sizes", "-5"), "--sizes", "-5");
        rejected(run("verify", "--steps", "0"), "--steps", "0");
        rejected(run("verify", "--sizes", "1", "--device-name", "no-such-device"), "no-such-device");
        rejected(run("verify", "--sizes", "1", "--device-name", "99999999999:0"),
                "--device-name", "99999999999:0");
        rejected(run("devices", "--bogus"), "--bogus");
    }

    @Test
    void helpDescribesBoth() {
        Cli.Result top = run("--help");
        assertTrue(top.out().contains("devices") && top.out().contains("verify"), top.out());
        Cli.Result v = run("verify", "--help");
        assertEquals(0, v.code());
        for (String s : new String[] {"--sizes", "--steps", "--device-name", "1,3,1023,4097,1048576"}) {
            assertTrue(v.out().contains(s), s + " missing from: " + v.out());
        }
        // verify's defaults are the test suite's (help wraps lines, so compare words).
        String help = v.out().replaceAll("\\s+", " ");
        String sizes = Conformance.DEFAULT_SIZES.stream().map(String::valueOf)
                .collect(java.util.stream.Collectors.joining(","));
        assertTrue(help.contains("(default: " + sizes + ")"), v.out());
        assertTrue(help.contains("(default: " + Conformance.DEFAULT_STEPS + ")"), v.out());
        Cli.Result d = run("devices", "--help");
        assertEquals(0, d.code());
        assertTrue(d.out().contains("--json"), d.out());
    }
}
