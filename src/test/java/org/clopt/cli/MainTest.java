package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.clopt.CheckpointException;
import org.clopt.DeviceMemoryException;
import org.clopt.HostMemoryException;
import org.clopt.KernelBuildException;
import org.clopt.OpenClException;
import org.clopt.OpenClUnavailableException;
import org.junit.jupiter.api.Test;

/** Exit codes say whose the failure is, and --version says which build this is. */
class MainTest {

    @Test
    void badInputIsTwoAndEveryRuntimeFailureIsOne() {
        assertEquals(2, Main.exitCode(new BadInputException("--size -1: must be at least 1")));
        assertEquals(2, Main.exitCode(new IllegalArgumentException("invalid lr: -1.0")));
        assertEquals(2, Main.exitCode(new OpenClUnavailableException("no OpenCL platform found")));
        assertEquals(1, Main.exitCode(new KernelBuildException("building kernels/adam.cl failed", -11, null)));
        assertEquals(1, Main.exitCode(new OpenClException("clEnqueueNDRangeKernel failed", -5, null)));
        assertEquals(1, Main.exitCode(new DeviceMemoryException("out of device memory", -4, null)));
        assertEquals(1, Main.exitCode(new HostMemoryException("out of heap", null)));
        assertEquals(1, Main.exitCode(new CheckpointException("cannot write the checkpoint")));
        assertEquals(1, Main.exitCode(new IOException("No space left on device")));
        assertEquals(1, Main.exitCode(new IllegalStateException("unexpected")));
    }

    @Test
    void versionIsTheProjectVersion() throws IOException {
        Matcher m = Pattern.compile("<artifactId>clopt</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(Files.readString(Path.of("pom.xml")));
        assertTrue(m.find());
        assertEquals("clopt " + m.group(1), Cli.run(0, "--version").out().strip());
    }

    @Test
    void aBuildLogStaysOffTheOneLineUnlessDebugging() {
        KernelBuildException e = new KernelBuildException("building kernels/x.cl failed: CL_BUILD_PROGRAM_FAILURE\n"
                + "<source>:3:1: error: use of undeclared identifier 'q'", -11, null);
        assertEquals("building kernels/x.cl failed: CL_BUILD_PROGRAM_FAILURE (set CLOPT_DEBUG=1 for the details)",
                Main.message(e, 1, false));
        assertTrue(Main.message(e, 1, true).contains("undeclared identifier 'q'"));
        assertEquals("internal error: java.lang.IllegalStateException: boom",
                Main.message(new IllegalStateException("boom"), 1, false));
    }
}
