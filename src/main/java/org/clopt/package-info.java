/**
 * clopt: neural-network optimizers as OpenCL kernels with PyTorch {@code torch.optim} semantics.
 * This package is the public API; the engine behind it (the kernel and CPU reference step
 * paths, launch shapes, the JOCL glue, validation helpers) is package-private.
 *
 * <ul>
 *   <li>{@link org.clopt.Device} and {@link org.clopt.DeviceSelector} choose and own an OpenCL
 *       device with its context and queue; {@link org.clopt.DeviceInfo} describes one.
 *   <li>{@link org.clopt.Algorithms} is the registry: one {@link org.clopt.Algorithm} row per
 *       algorithm, with its {@link org.clopt.Hyperparameter} specs (PyTorch key, default,
 *       range). The configuration classes ({@link org.clopt.Sgd}, {@link org.clopt.Adam} ...),
 *       all {@link org.clopt.OptimizerConfig}s, hold an algorithm's hyperparameters, validated
 *       when built, and its update rule.
 *   <li>{@link org.clopt.Optimizer} holds one flat tensor's parameters, gradients and state and
 *       runs the step, on the device or on the CPU reference; {@link org.clopt.ParameterSet}
 *       holds named tensors in parameter groups, as a {@code torch.optim} optimizer does;
 *       {@link org.clopt.StateDict} is a snapshot of its state, and {@link org.clopt.Checkpoint}
 *       encodes one to files and streams under PyTorch's state names.
 *   <li>{@link org.clopt.Kernel} and {@link org.clopt.DeviceBuffer} run kernels of your own
 *       (a model's forward and backward passes) on the same queue as the steps, and
 *       {@link org.clopt.Closer} owns many such resources and closes them in reverse order.
 *   <li>Failures: {@link org.clopt.CloptException} and its subclasses, one per kind (no
 *       OpenCL, out of device or host memory, kernel build failure with its log, any other
 *       OpenCL status, bad checkpoint); argument errors are {@link IllegalArgumentException}s.
 * </ul>
 *
 * <p>Every native resource has one {@link AutoCloseable} owner. Beside this package:
 * {@code org.clopt.io} (file formats), {@code org.clopt.tools} (benchmark and conformance
 * check, on this API only), {@code org.clopt.train} (training workloads) and
 * {@code org.clopt.cli} (the commands).
 */
package org.clopt;
