/**
 * Training on the device, for the {@code train} command: the workloads ({@link
 * org.clopt.train.Workload}: an MLP on the bundled digits, and the Rosenbrock function), whose
 * forward and backward passes are {@link org.clopt.Kernel}s writing gradients straight into a
 * {@link org.clopt.ParameterSet}; the loop ({@link org.clopt.train.Trainer}) that runs one
 * workload with one optimizer; and {@link org.clopt.train.LossReport}, the recorded values as
 * CSV and the figure of panels as PNG and SVG.
 */
package org.clopt.train;
