package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.clopt.Device;
import org.clopt.LaunchTuning;
import org.clopt.ParameterSet;
import org.clopt.Sgd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tune}: the cache it writes, how sets use it, and what they do when it is stale or broken. */
class TuneCommandTest {
    @TempDir
    Path dir;

    @BeforeEach
    void isolateTheCache() {
        System.setProperty("clopt.cacheDir", dir.toString());
    }

    @AfterEach
    void restoreTheCache() {
        System.clearProperty("clopt.cacheDir");
    }

    private static ParameterSet.WorkGroups sgdWorkGroups(Device device) {
        try (ParameterSet set = ParameterSet.builder().group(Sgd.builder().build()).tensor("w", 10).build(device)) {
            return set.workGroups(0);
        }
    }

    @Test
    void tuningWritesTheCacheAndSetsUseIt() throws IOException {
        Cli.Result r = Cli.run(0, "tune", "--optimizer", "sgd", "--sizes", "4096,65536", "--repetitions", "3", "--json");
        JsonObject row = JsonParser.parseString(r.out().strip()).getAsJsonObject();
        assertEquals("sgd", row.get("optimizer").getAsString());
        long chosen = row.get("chosen").getAsLong();
        long rule = row.get("rule").getAsLong();
        // Every power of two from 32 was timed (the CPU reference agreed with each), and the rule.
        for (String n : new String[] {"4096", "65536"}) {
            JsonObject medians = row.getAsJsonObject("median_ms_by_size").getAsJsonObject(n);
            assertTrue(medians.has("32") && medians.has(Long.toString(rule)), row.toString());
        }
        Path cache = dir.resolve("launch.json");
        assertEquals(cache, LaunchTuning.cacheFile());
        assertTrue(Files.readString(cache).contains("\"local_size\":" + chosen), Files.readString(cache));
        try (Device device = Device.open()) {
            ParameterSet.WorkGroups wg = sgdWorkGroups(device);
            assertEquals(chosen, wg.size());
            assertTrue(wg.tuned());
            assertEquals(rule, wg.rule());
            assertEquals(1, LaunchTuning.tunedCount(device));
            // Another kernel source or driver: the key differs, the rule applies.
            String text = Files.readString(cache).replaceAll("\"key\":\"([^\"]*) \\| [0-9a-f]{16}\"",
                    "\"key\":\"$1 | 0000000000000000\"");
            Files.writeString(cache, text, StandardCharsets.UTF_8);
            Files.setLastModifiedTime(cache, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000));
            wg = sgdWorkGroups(device);
            assertFalse(wg.tuned());
            assertEquals(rule, wg.size());
            // A broken file is no tuning, never an error.
            Files.writeString(cache, "{\"format\": \"clopt-launch-tuning\", \"entries\": [", StandardCharsets.UTF_8);
            Files.setLastModifiedTime(cache, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 10000));
            assertEquals(rule, sgdWorkGroups(device).size());
            assertEquals(0, LaunchTuning.tunedCount(device));
        }
    }

    @Test
    void anExplicitWorkGroupSizeWinsAndIsChecked() {
        try (Device device = Device.open()) {
            try (ParameterSet set = ParameterSet.builder().workGroupSize(64).group(Sgd.builder().build())
                    .tensor("w", 1000).build(device)) {
                assertEquals(64, set.workGroups(0).size());
                assertFalse(set.workGroups(0).tuned());
                set.step();
            }
            long max = sgdWorkGroups(device).max();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ParameterSet.builder().workGroupSize(2 * max).group(Sgd.builder().build()).tensor("w", 10)
                            .build(device));
            assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> ParameterSet.builder().workGroupSize(-1));
    }

    @Test
    void badInputIsOneLineAndExitTwo() {
        Cli.rejected(Cli.run("tune", "--sizes", "0"), "--sizes 0");
        Cli.rejected(Cli.run("tune", "--repetitions", "1"), "--repetitions 1");
        Cli.rejected(Cli.run("tune", "--optimizer", "adafactor"), "adafactor", "nothing to tune");
        Cli.rejected(Cli.run("tune", "--optimizer", "adamx"), "adamx", "unknown");
    }
}
