/**
 * clopt: neural-network optimizers as OpenCL kernels with PyTorch {@code torch.optim} semantics.
 *
 * <p>The public surface: {@link org.clopt.Device} and {@link org.clopt.DeviceSelector} choose and
 * own an OpenCL device; the hyperparameter classes ({@link org.clopt.Sgd}, {@link org.clopt.Adam}
 * ...), all {@link org.clopt.OptimizerConfig}s, describe an algorithm; {@link org.clopt.Optimizer}
 * holds parameters, gradients and state and runs the step, on the device or on the CPU
 * reference; {@link org.clopt.Conformance} compares the two. Everything else is internal.
 */
package org.clopt;
