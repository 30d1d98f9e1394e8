/**
 * File formats, each with its own checked exception for a malformed file: {@link
 * org.clopt.io.Npy} reads and writes NumPy {@code .npy} float32 arrays ({@link
 * org.clopt.io.Npy.NpyFormatException}), {@link org.clopt.io.SafeTensors} reads and writes the
 * safetensors container that checkpoints use ({@link org.clopt.io.SafeTensors.FormatException}),
 * and {@link org.clopt.io.AtomicFile} replaces a file so that a crash leaves the old one or the
 * complete new one.
 *
 * <p>This package depends on nothing else in clopt (only on the JDK and Gson), so the formats
 * can be read, tested and reused without OpenCL.
 */
package org.clopt.io;
