package org.clopt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Several threads on one optimizer or set: no native crash, no lost step, a clear error after close. */
class ThreadsTest {

    @Test
    void threadsAreSerialisedAndACloseRacingAStepIsClean() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                ThreadsChild.class.getName()).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        child.waitFor(120, TimeUnit.SECONDS);
        assertEquals(0, child.exitValue(), output);
        String closed = "close during steps: IllegalStateException: this parameter set is closed";
        assertEquals(List.of("device optimizer steps 2000", closed, "device set steps 2000 2000", closed,
                "reference optimizer steps 2000", closed, "reference set steps 2000 2000", closed),
                output.lines().toList(), output);
    }
}
