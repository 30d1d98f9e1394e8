package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The bench command's contract: fields, sizes and bad input. Speed is not asserted here. */
class BenchCommandTest {

    static String[] run(int expectedCode, String... args) {
        Cli.Result r = Cli.run(expectedCode, args);
        return new String[] {r.out(), r.err()};
    }

    @Test
    void jsonHasOneObjectPerOptimizerWithTheContractFields() {
        String[] r = run(0, "bench", "--size", "4099", "--repetitions", "3", "--json");
        List<String> lines = r[0].strip().lines().toList();
        assertEquals(org.clopt.Algorithms.NAMES.size(), lines.size(), r[0]);
        for (String line : lines) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            for (String key : new String[] {"optimizer", "n", "tensors", "device", "median_ms", "gbps",
                "roofline_gbps", "roofline_fraction", "reference_median_ms"}) {
                assertTrue(o.has(key), key + " missing in " + line);
            }
            assertEquals(4099, o.get("n").getAsInt());
            assertEquals(1, o.get("tensors").getAsInt());
            assertTrue(o.get("median_ms").getAsDouble() > 0, line);
            double expected = o.get("gbps").getAsDouble() / o.get("roofline_gbps").getAsDouble();
            assertEquals(expected, o.get("roofline_fraction").getAsDouble(), 0.01, line);
        }
        JsonObject adam = JsonParser.parseString(lines.get(6)).getAsJsonObject();
        assertEquals("adam", adam.get("optimizer").getAsString());
        assertEquals(28, adam.get("bytes_per_element").getAsInt());
    }

    @Test
    void optionsChangeTheBytesCounted() {
        String[] r = run(0, "bench", "--optimizer", "adam", "--set", "amsgrad=true", "--size", "1000",
                "--repetitions", "3", "--json");
        JsonObject o = JsonParser.parseString(r[0].strip()).getAsJsonObject();
        assertEquals(36, o.get("bytes_per_element").getAsInt());
        String[] split = run(0, "bench", "--optimizer", "nadam", "--size", "10000", "--tensors", "7",
                "--repetitions", "3", "--json");
        assertEquals(7, JsonParser.parseString(split[0].strip()).getAsJsonObject().get("tensors").getAsInt());
        String[] table = run(0, "bench", "--optimizer", "rmsprop", "--set", "centered=true", "--size", "1000",
                "--repetitions", "3");
        assertTrue(table[0].contains("roofline y += a*x") && table[0].contains("rmsprop"), table[0]);
    }

    @Test
    void clippingIsTimedBesideTheStepAndProgressEndsOnce() {
        String[] r = run(0, "bench", "--optimizer", "adam", "--size", "5000", "--tensors", "3", "--repetitions", "3",
                "--clip-grad-norm", "0.5", "--json");
        JsonObject o = JsonParser.parseString(r[0].strip()).getAsJsonObject();
        for (String key : new String[] {"clip_step_median_ms", "clip_step_ratio", "clip_step_ratio_of_bytes",
            "norm_median_ms", "norm_gbps", "norm_roofline_fraction", "norm_roofline_read_fraction"}) {
            assertTrue(o.has(key), key + " missing in " + r[0]);
        }
        assertEquals(32.0 / 28, o.get("clip_step_ratio_of_bytes").getAsDouble(), 1e-4);
        String[] table = run(0, "bench", "--optimizer", "sgd", "--size", "1000", "--repetitions", "3",
                "--clip-grad-norm", "1", "--norm-type", "inf");
        assertTrue(table[0].contains("clip_grad_norm_(max_norm=1.0, norm_type=inf)"), table[0]);
        // Not a terminal here: plain progress lines, the final one once.
        assertEquals(1, table[1].lines().filter(l -> l.contains("100%")).count(), table[1]);
    }

    @Test
    void hostGradientsAreTimedAsRatiosToTheStep() {
        String[] r = run(0, "bench", "--optimizer", "adam", "--size", "5000", "--tensors", "3", "--repetitions", "3",
                "--host-gradients", "--json");
        JsonObject o = JsonParser.parseString(r[0].strip()).getAsJsonObject();
        for (String key : new String[] {"on_device_median_ms", "write_gradients_median_ms", "write_gradients_ratio",
            "gradient_buffer_median_ms", "gradient_buffer_ratio", "mapped_only_median_ms", "mapped_only_ratio"}) {
            assertTrue(o.has(key), key + " missing in " + r[0]);
        }
        assertEquals(3, o.get("tensors").getAsInt());
    }

    @Test
    void sweepTimesEverySizeBesideTheRooflineAndPlotsIt(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws java.io.IOException {
        java.nio.file.Path png = dir.resolve("sweep.png");
        String[] r = run(0, "bench", "--optimizer", "sgd,adam", "--sweep", "--sweep-range", "10:12",
                "--repetitions", "3", "--json", "--plot", png.toString());
        java.util.List<String> lines = r[0].strip().lines().toList();
        assertEquals(6, lines.size(), r[0]);
        com.google.gson.JsonObject first = com.google.gson.JsonParser.parseString(lines.get(0)).getAsJsonObject();
        for (String key : new String[] {"optimizer", "n", "median_ms", "gbps", "roofline_gbps", "roofline_fraction",
            "cache_bound", "bytes_per_element"}) {
            assertTrue(first.has(key), key + " missing: " + lines.get(0));
        }
        assertEquals(1024, first.get("n").getAsInt());
        assertEquals("adam", com.google.gson.JsonParser.parseString(lines.get(5)).getAsJsonObject()
                .get("optimizer").getAsString());
        byte[] bytes = java.nio.file.Files.readAllBytes(png);
        assertTrue(bytes.length > 1000 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', "not a PNG");
        String[] table = run(0, "bench", "--optimizer", "sgd", "--sweep", "--sweep-range", "10:11",
                "--repetitions", "3");
        assertTrue(table[0].contains("cache-bound") && table[0].contains("sgd") && table[0].contains("2048"), table[0]);
    }

    @Test
    void precisionsAreTimedWithTheirOwnBytes() {
        String[] r = run(0, "bench", "--optimizer", "adam,lamb", "--size", "5000", "--repetitions", "3",
                "--precision", "fp32,bf16,bf16-no-master", "--grad-scaler", "--json");
        java.util.Map<String, Integer> bytes = new java.util.LinkedHashMap<>();
        for (String line : r[0].strip().lines().toList()) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            bytes.put(o.get("optimizer").getAsString() + " " + o.get("precision").getAsString(),
                    o.get("bytes_per_element").getAsInt());
        }
        // Adam: 28 with master weights, 22 without; the scaler's check reads the gradients again.
        assertEquals(java.util.Map.ofEntries(java.util.Map.entry("adam fp32", 28), java.util.Map.entry("adam bf16", 28),
                java.util.Map.entry("adam bf16-no-master", 22), java.util.Map.entry("adam fp32+scaler", 32),
                java.util.Map.entry("adam bf16+scaler", 30), java.util.Map.entry("adam bf16-no-master+scaler", 24),
                java.util.Map.entry("lamb fp32", 48), java.util.Map.entry("lamb bf16", 48),
                java.util.Map.entry("lamb bf16-no-master", 40), java.util.Map.entry("lamb fp32+scaler", 52),
                java.util.Map.entry("lamb bf16+scaler", 50), java.util.Map.entry("lamb bf16-no-master+scaler", 42)),
                bytes);
    }

    @Test
    void stateTypesAreTimedWithTheirOwnBytes() {
        String[] r = run(0, "bench", "--optimizer", "adam,momentum", "--size", "5000", "--repetitions", "3",
                "--state-dtype", "fp32,bf16,int8", "--json");
        java.util.Map<String, String> bytes = new java.util.LinkedHashMap<>();
        for (String line : r[0].strip().lines().toList()) {
            JsonObject o = JsonParser.parseString(line).getAsJsonObject();
            assertTrue(o.get("median_ms").getAsDouble() > 0, line);
            bytes.put(o.get("optimizer").getAsString() + " " + o.get("state_dtype").getAsString(),
                    o.get("bytes_per_element").getAsInt() + "/" + o.get("state_bytes_per_element").getAsInt());
        }
        assertEquals(java.util.Map.of("adam fp32", "28/8", "adam bf16", "20/4", "adam int8", "16/2",
                "momentum fp32", "20/4", "momentum bf16", "16/2", "momentum int8", "14/1"), bytes);
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        for (String[] args : new String[][] {
            {"bench", "--state-dtype", "int8", "--optimizer", "asgd"},
            {"bench", "--state-dtype", "int8", "--set", "state_dtype=bf16"},
            {"bench", "--tensors", "0"},
            {"bench", "--size", "10", "--tensors", "11"},
            {"bench", "--size", "0"},
            {"bench", "--optimizer", "adamx"},
            {"bench", "--set", "lr=-1"},
            {"bench", "--repetitions", "1"},
            {"bench", "--host-gradients", "--precision", "bf16"},
            {"bench", "--host-gradients", "--sweep"},
            {"bench", "--plot", "x.png"},
            {"bench", "--sweep", "--sweep-range", "12:10"},
            {"bench", "--sweep", "--sweep-range", "ten"},
            {"bench", "--sweep", "--precision", "bf16"},
            {"bench", "--precision", "fp8"},
            {"bench", "--grad-scaler"},
        }) {
            String[] r = run(2, args);
            assertEquals(1, r[1].strip().lines().count(), r[1]);
        }
    }
}
