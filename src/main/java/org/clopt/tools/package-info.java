/**
 * Tools that judge the library from outside, on its public API only: {@link
 * org.clopt.tools.Benchmark} times optimizer steps on a device between profiling markers and
 * beside a memory-roofline kernel, and {@link org.clopt.tools.Conformance} checks every kernel
 * against the CPU reference over one matrix of option sets, sizes and gradient kinds. The
 * {@code bench} and {@code verify} commands and the test suite run them.
 */
package org.clopt.tools;
