package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.clopt.io.Npy;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What replay reads and writes besides the happy path: only regular files, never blocking on a
 * pipe; links written through; one file per output; outputs written as a set; --set over a
 * loaded state; stdout errors seen.
 */
class ReplayOutputsTest {
    @TempDir
    Path dir;
    Path p0;
    Path grads;
    Path out;

    @BeforeEach
    void files() throws IOException {
        p0 = dir.resolve("p0.npy");
        grads = dir.resolve("grads.npy");
        out = dir.resolve("out.npy");
        Npy.write(p0, new float[] {1, 2, 3}, 3);
        Npy.write(grads, new float[] {0.1f, 0.2f, 0.3f, -0.1f, 0f, 0.5f}, 2, 3);
    }

    String[] replay(String... extra) {
        List<String> args = new ArrayList<>(List.of("replay", "--optimizer", "adam", "--device", "reference",
                "--params", p0.toString(), "--grads", grads.toString()));
        args.addAll(List.of(extra));
        if (!args.contains("--out")) {
            args.addAll(List.of("--out", out.toString()));
        }
        return args.toArray(String[]::new);
    }

    private static void exec(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", command) + ": " + text);
    }

    @Test
    void pipesAndDevicesAreRefusedUpFrontAndNeverReplaced() throws Exception {
        Path fifo = dir.resolve("fifo");
        exec("mkfifo", fifo.toString());
        // A /dev/null of this test's own where mknod is allowed (as root, as in CI); a second
        // pipe otherwise. Either way no system file is at risk.
        Path node = dir.resolve("null");
        Process mknod = new ProcessBuilder("mknod", node.toString(), "c", "1", "3").start();
        if (mknod.waitFor() != 0) {
            exec("mkfifo", node.toString());
        }
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (String flag : new String[] {"--params", "--grads", "--load-state"}) {
                List<String> args = new ArrayList<>(List.of(replay()));
                int at = args.indexOf(flag);
                if (at >= 0) {
                    args.set(at + 1, fifo.toString());
                } else {
                    args.addAll(List.of(flag, fifo.toString()));
                }
                Cli.rejected(Cli.run(args.toArray(String[]::new)), flag, "not a regular file");
            }
            for (Path output : new Path[] {fifo, node}) {
                Cli.rejected(Cli.run(replay("--out", output.toString())), "--out", "not a regular file");
                Cli.rejected(Cli.run(replay("--save-state", output.toString())), "--save-state",
                        "not a regular file");
            }
        });
        assertFalse(Files.isRegularFile(fifo));
        assertFalse(Files.isRegularFile(node));
        assertFalse(Files.exists(out));
    }

    @Test
    void aLinkIsWrittenThroughAndADanglingOneRefused() throws IOException {
        Path real = dir.resolve("real.npy");
        Files.write(real, new byte[] {1});
        Path link = Files.createSymbolicLink(dir.resolve("link.npy"), real);
        Cli.run(0, replay("--out", link.toString()));
        assertTrue(Files.isSymbolicLink(link));
        assertEquals(3, Npy.read(real).floats().length);
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling.npy"), dir.resolve("nowhere"));
        Cli.rejected(Cli.run(replay("--out", dangling.toString())), "--out", "symbolic link to nothing");
    }

    @Test
    void oneFileServesOneOutputAndADirectoryNameIsNotAFile() throws IOException {
        Cli.rejected(Cli.run(replay("--save-state", out.toString())), "--out and --save-state");
        Cli.rejected(Cli.run(replay("--save-state", dir.resolve(".").resolve("out.npy").toString())),
                "--out and --save-state");
        assertFalse(Files.exists(out));
        Path newfile = dir.resolve("newfile");
        Cli.rejected(Cli.run(replay("--out", newfile + "/")), "--out", "names a directory");
        assertFalse(Files.exists(newfile));
    }

    @Test
    void valuesSetOverrideALoadedStateAndTheSummarySaysWhatRan() throws IOException {
        Path state = dir.resolve("state.safetensors");
        Cli.run(0, replay("--save-state", state.toString()));
        Cli.Result r = Cli.run(0, replay("--load-state", state.toString(), "--set", "lr=0"));
        assertArrayEquals(new float[] {1, 2, 3}, Npy.read(out).floats());
        assertTrue(r.err().contains("lr=0.0"), r.err());
        // Without --set the loaded hyperparameters run, as saved.
        Cli.run(0, replay("--set", "lr=0.5", "--save-state", state.toString()));
        r = Cli.run(0, replay("--load-state", state.toString()));
        assertTrue(r.err().contains("lr=0.5"), r.err());
    }

    @Test
    void aFullStdoutIsAFailure() throws Exception {
        assertTrue(new File("/dev/full").exists(), "this test needs /dev/full");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "optimizers").redirectOutput(new File("/dev/full")).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, p.waitFor(), err);
        assertEquals("clopt: cannot write to standard output", err.strip());
    }

    @Test
    void hugeDeclaredShapesFailAtOnceWithoutAllocating() throws Exception {
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            Path empty = dir.resolve("empty.npy");
            Npy.write(empty, new float[0], 0);
            for (long rows : new long[] {Long.MAX_VALUE, 1L << 32, 1_000_000_000L}) {
                Path g = dir.resolve("g" + rows + ".npy");
                Npy.write(g, new float[0], rows, 0);
                Cli.rejected(Cli.run("replay", "--optimizer", "adam", "--params", empty.toString(),
                        "--grads", g.toString(), "--out", out.toString()), "--params", "nothing to replay");
            }
            // A header promising 1.6e9 floats over 12 bytes of data.
            Path liar = dir.resolve("liar.npy");
            byte[] header = ("{'descr': '<f4', 'fortran_order': False, 'shape': (1600000000,), }"
                    + " ".repeat(54) + "\n").getBytes(StandardCharsets.ISO_8859_1);
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(10 + header.length + 12)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0)
                    .putShort((short) header.length).put(header);
            Files.write(liar, b.array());
            Cli.rejected(Cli.run("replay", "--optimizer", "adam", "--params", liar.toString(),
                    "--grads", grads.toString(), "--out", out.toString()), "--params", "data is 12 bytes");
        });
        assertFalse(Files.exists(out));
    }

    @Test
    void aHeapTooSmallIsOneLineAndExitCodeOne() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx48m", "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "bench", "--optimizer", "sgd", "--size", "33554432",
                "--repetitions", "3").start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        p.getInputStream().readAllBytes();
        assertEquals(1, p.waitFor(), err);
        String last = err.strip().lines().reduce((a, b) -> b).orElse("");
        assertTrue(last.contains("heap") && last.contains("-Xmx"), err);
        assertFalse(err.contains("\tat "), err);
    }
}
