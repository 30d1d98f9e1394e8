package org.clopt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the command line in-process for the tests and checks the bad-input rule. */
final class Cli {
    private Cli() {
    }

    record Result(int code, String out, String err) {
        java.util.List<String> lines() {
            return out.lines().toList();
        }
    }

    static Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        return new Result(code, out.toString(), err.toString());
    }

    /** Runs and asserts the exit code, showing stderr if it differs. */
    static Result run(int expectedCode, String... args) {
        Result r = run(args);
        assertEquals(expectedCode, r.code(), r.err());
        return r;
    }

    /** Exit code 2 and one line on stderr containing every fragment, with no stack trace. */
    static void rejected(Result r, String... fragments) {
        assertEquals(2, r.code(), r.err());
        String[] lines = r.err().strip().split("\n");
        assertEquals(1, lines.length, r.err());
        for (String f : fragments) {
            assertTrue(lines[0].contains(f), "'" + f + "' not in: " + lines[0]);
        }
        assertFalse(r.err().contains("\tat "), "stack trace: " + r.err());
    }
}
